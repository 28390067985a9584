package outbox

import "errors"

// ErrFull is returned by Put (and Replay) when the item does not fit in
// MaxBytes even after dropping the image bytes of every older item. Nothing
// was written: the caller decides (skip the frame, retry later).
var ErrFull = errors.New("outbox full")

// ErrNotFound is returned by Ack, Reject and Replay for an id that is not
// there.
var ErrNotFound = errors.New("item not in outbox")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("outbox closed")
