// Package compat accepts the earlier pipeline's message so that existing
// producers keep working:
//
//	{"image": "<base64>", "image_metadata": {"image_name": "..."}}
//
// on an MQTT topic (MQTT.Run) and from a RabbitMQ queue (AMQP.Run, AMQP
// 0-9-1). Each message becomes an item of device "compat" and goes through
// the same ingest.Saver as the items from devices.
//
// The item id is the SHA-256 of the image bytes (hex), and the objects are
// keyed by it ("compat/<sha256>/image.jpg"), never by the name the producer
// sent: the name is kept, cleaned (base name, safe characters, at most 128
// bytes), as the image's Source. A redelivered message therefore lands on
// the same keys and row.
//
// A message is acknowledged only after it is stored (AMQP: basic.ack; MQTT:
// the PUBACK, with paho's automatic acks off). A poison message (bad JSON,
// bad base64, not an image, too large) is rejected for good: on AMQP it is
// rejected without requeue and RabbitMQ moves it to the dead-letter queue
// "<queue>.dead" (the queue is declared with x-dead-letter-exchange); on
// MQTT it is acknowledged, logged and counted. Transient failures (object
// store or database down) are retried with backoff and never acknowledged
// while they last.
package compat
