// Package encode turns a selected frame and its forest mask into a
// wire.Item: the frame as JPEG, the mask as PNG, and the metadata (a ULID
// item id, the device id, a per-device sequence number kept in the state
// directory, the capture time and whether the clock could be trusted, GPS,
// forest share, segmenter and model, scan, address, tree type, source).
//
// An Encoder is used by one goroutine at a time. Close records the last
// sequence number; it is idempotent.
package encode
