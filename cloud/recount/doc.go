// Package recount counts stored images again with another counter: a
// model file goes into the blob store (processed/models/<sha256>.onnx,
// PutModel), the images' count jobs are queued again asking for it
// (db.QueueRecount), and every worker, on any machine, builds that counter
// from the store (Counters, a worker.Counters). Each new count keeps its
// model's SHA-256; the counts it replaces stay in the count history.
//
// Counters is safe for concurrent use; Close closes the counters it built.
package recount
