// Package worker runs the counting workers: each claims a count job from
// the database with a lease, fetches the raw image from the blob store,
// counts its trees with a count.Counter, writes the annotated image and the
// mask to the processed bucket and records the count (or the failure).
// Process does the same for a job claimed elsewhere (cloud/countfn, the
// AWS Lambda function, claims the job of the image an S3 event names).
package worker
