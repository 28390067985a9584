// Package worker runs the counting workers: each claims a count job from
// the database with a lease, fetches the raw image from the blob store,
// counts its trees with a count.Counter, writes the annotated image and the
// mask to the processed bucket and records the count (or the failure).
// Process does the same for a job claimed elsewhere (cloud/countfn, the
// AWS Lambda function, claims the job of the image an S3 event names).
//
// A counted photo marks its scan changed; the Registrar (register.go)
// then registers the scan's photos to each other by their content
// (package cloud/register), incrementally: only new photos' keypoints
// are found and only pairs not matched before are matched, and the
// scan's merged trees, figures and mosaic are recorded. Pool and
// Registrar each have Run(ctx), and any number of them may share a
// PostgreSQL database.
package worker
