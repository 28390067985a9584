// Package outbox is the device's durable queue of items: a bbolt file.
package outbox
