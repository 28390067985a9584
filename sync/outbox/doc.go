// Package outbox is the device's durable queue of items: a bbolt file in
// which every captured item waits until the cloud has acknowledged that it
// stored it.
//
// # Lifecycle
//
// Open the file, Put items as they are captured, hand Next's records to the
// publisher, and Ack (stored) or Reject (refused for good; the record moves
// to the dead letters, which DeadLetters lists and Replay puts back) each
// one when the cloud answers. Records never leave on their own. Close when
// done. All methods are safe for concurrent use.
//
// # Durability
//
// Put returns only after the transaction holding its item is fsynced; bbolt
// is never used with NoSync. Options.Sync chooses how:
//
//   - SyncAlways: one transaction and one fsync per Put. Concurrent Puts
//     wait in turn for the single bbolt writer; throughput is bounded by
//     the disk's fsync rate.
//   - SyncBatch (default): a group-commit loop collects the Puts that arrive
//     within BatchWindow of the first (at most MaxBatch) and writes them in
//     one transaction with one fsync. Every Put still returns only after its
//     own item is on disk, so a power cut loses nothing that Put confirmed,
//     exactly as with SyncAlways. What it risks is latency, not data: a lone
//     Put waits up to BatchWindow longer, and the items of one batch commit
//     or fail together (a disk error fails every Put of the batch).
//
// Either way a crash can lose only items whose Put had not returned; the
// caller must treat those as not stored (a repeated Put of the same id is a
// no-op, so retrying is safe).
//
// A Cursor given to Put is stored in the same transaction as the item, so a
// folder or file source that resumes from Cursor after a crash neither skips
// nor repeats an item.
//
// # Bound and eviction policy
//
// The bytes of waiting items are bounded by Options.MaxBytes. When a Put
// would exceed it, the outbox first drops the image bytes of the oldest
// waiting items, oldest first, keeping their small record (metadata, mask
// and results) flagged Record.ImageEvicted and wire.Meta.ImageEvicted, until
// the new item fits. If even dropping every remaining image cannot make
// room, Put refuses the new item with ErrFull and changes nothing: records
// are never dropped silently. Every eviction is counted (Stats.Evictions)
// and logged at Warn with the item id. Dead letters are outside the bound
// (they are few; Replay brings one back under it). The file itself does not
// shrink: bbolt reuses freed pages.
//
// # Records
//
// An item is stored as the wire frames the publisher sends (frames of at
// most Options.ChunkSize bytes, chunk 0 with its metadata), with the
// SHA-256 of its body computed once, at Put, and a CRC-32C over the
// record. NextSkip, the publisher's read, hands out the frames with one
// copy out of the file and the CRC check, no SHA-256: the receiver checks
// every item's SHA-256 and the cloud's signed receipt names it, so the
// end-to-end check covers the item. A record whose CRC (or, for the
// earlier format, SHA-256) fails was damaged on the disk: the read logs it
// at Error with the item id, moves it to the dead letters with the reason
// and counts it (Stats.Damaged), and goes on. Next and DeadLetters also
// decode the items. A file written by the earlier release (format 1: each
// item one frame of any size) opens as it is; its records are read, checked
// against their SHA-256 and chunked when sent, and new records are stored
// as frames beside them.
//
// # Start-up cost and corruption
//
// Items are keyed by item id (a ULID, sorted by capture time), so Next seeks
// with a cursor, and the counters of Stats live in a meta bucket updated in
// the same transactions: Open, Stats and the first Next cost the same with
// 10 or 100,000 items waiting. A file that bbolt cannot open, that panics
// bbolt, or that fails tx.Check (files up to 64 MiB; larger ones get the
// cheap checks only) is renamed to path+".corrupt-<timestamp>", the error
// is logged, and a fresh outbox is started.
package outbox
