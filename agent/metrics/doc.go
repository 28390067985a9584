// Package metrics serves the agent's Prometheus metrics: what the pipeline
// did (frames read, kept, skipped; items put or refused because the outbox
// was full), the outbox (items, bytes, its bound, the age of the oldest
// item, evictions, dead letters, and an estimate of the seconds until it is
// full at the current rates), the publisher (items acked, rejected, sent
// again, in flight; connection and reconnects; ack latency), and the
// process's own memory and Go runtime.
//
// Everything is read at scrape time from the parts' own counters (the
// Sources), so nothing is added to the capture path; only the fill
// estimate keeps state, a few samples of the outbox's bytes taken by Run.
// A Metrics is safe for concurrent use; Serve runs the HTTP endpoint until
// its context ends.
package metrics
