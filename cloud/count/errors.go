package count

import "errors"

// ErrClosed is returned by a counter used after Close.
var ErrClosed = errors.New("counter is closed")
