package telemetry

import "errors"

// ErrTruncated is returned (wrapped) by LogReader.Next when a log ends in
// the middle of a record: the records before it are good.
var ErrTruncated = errors.New("telemetry log cut in the middle of a record")

// ErrNoTelemetry is returned (wrapped) by Buffer.At when nothing has been
// received yet (or a log holds no position).
var ErrNoTelemetry = errors.New("no telemetry")

// ErrOutside is returned (wrapped) by Buffer.At for a time before the
// first or after the last position sample, by more than the largest gap.
var ErrOutside = errors.New("outside the telemetry")

// ErrGap is returned (wrapped) by Buffer.At for a time inside the
// telemetry but farther than the largest gap from any position sample.
var ErrGap = errors.New("telemetry gap")
