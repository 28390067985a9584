// Package blob stores objects (raw images, masks, annotated images) in named
// buckets under keys derived from the device, the capture date and the item
// id, never from a name that a client sent.
//
// Store is the contract. Two implementations: Local, a folder with the S3 key
// layout DIR/<bucket>/<key> (the embedded default), and S3, any S3 API (AWS,
// MinIO, versitygw) through aws-sdk-go-v2. Both are safe for concurrent use
// and need no Close. The conformance suite is in package blobtest.
//
// A Put is durable when it returns (Local: temp file, fsync, rename, fsync of
// the folder) and idempotent: writing the same key again replaces the object
// whole, so a redelivered item lands on the same object.
package blob
