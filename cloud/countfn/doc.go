// Package countfn is the counting worker as an AWS Lambda function: it
// takes the notifications that S3 sends when an object is created in the
// raw bucket (directly, through SQS or SNS, or as EventBridge "Object
// Created" events), claims the count job of the image each one names,
// and counts it with the same worker.Pool code as the in-process workers
// of canopy-cloud serve, so that the annotated image, the mask and the
// database row are the same whichever ran. A scheduled event sweeps the
// job queue instead, for the jobs that no notification brought (an event
// that arrived before its row and ran out of retries, rows restored by
// canopy-cloud reconcile).
//
// Redelivery is harmless: an image already counted is not counted again,
// one whose job another worker holds is left to it (the event fails, so
// that it is retried later), and one whose objects are there before its row
// fails the event too, to be retried once the receiver has written the row.
//
// A Handler holds no per-invocation state; Invoke is safe for concurrent
// use if the Jobs and Processor it was given are.
package countfn
