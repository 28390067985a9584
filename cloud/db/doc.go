// Package db is the cloud's database, on PostgreSQL (pgx) or on an
// embedded SQLite file (modernc.org/sqlite, pure Go). One DB holds every
// table, each group in a file of its own: images and their counts (with
// the counts they replaced: history), the counting job queue, scans and
// their registration, devices, identities (credentials) and API tokens,
// the audit trail, rollouts and desired state, the chunks of items staged
// between receivers, retention and purges, and artifacts (the models
// devices fetch).
//
// Open runs the versioned migrations embedded in the binary
// (migrations/<dialect>/NNNN_name.sql) in one transaction, recorded in
// schema_migrations; running them twice is a no-op, and on PostgreSQL an
// advisory lock makes processes that start together take turns.
//
// Every method is safe for concurrent use. PutImage is idempotent on the
// item id; the job queue (ClaimJob, CompleteJob, FailJob) hands each job to
// one worker at a time, with a lease after which a silent worker's job is
// taken again (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one writer, BEGIN
// IMMEDIATE). Times are stored in UTC to the microsecond.
//
// The conformance suite, run against both dialects, is in package dbtest.
package db
