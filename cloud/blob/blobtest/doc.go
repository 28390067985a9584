// Package blobtest is the conformance suite of blob.Store, run against every
// implementation (Local in a temporary folder, S3 against the real S3 server
// of $CANOPY_TEST_S3_ENDPOINT with buckets of its own), and helpers that make
// such test stores for other packages' tests.
package blobtest
