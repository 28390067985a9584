package agent

import (
	"context"
	"errors"

	"github.com/canopy-forest/canopy/sync/wire"
)

// Cursor is a file-like source's position, recorded with an item so that a
// restarted agent resumes after it. The zero Cursor records nothing (live
// sources). It converts to outbox.Cursor, which has the same fields.
type Cursor struct {
	Source, Position string
}

// Sink receives the items the pipeline selects.
type Sink interface {
	// Put stores it durably, recording cur in the same step when cur is not
	// zero. An error wrapping ErrFull refuses this one item (the sink is
	// full): the pipeline counts it, logs it and goes on. Any other error
	// stops the pipeline (nothing is dropped silently).
	Put(ctx context.Context, it wire.Item, cur Cursor) error
}

// ErrFull is returned (wrapped) by a Sink that has no room for an item: a
// full outbox, after its eviction policy has done what it can. It is
// back-pressure, not a failure: the agent refuses the item, counts the
// refusal and keeps capturing; puts succeed again once acks free room.
var ErrFull = errors.New("sink full")

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, it wire.Item, cur Cursor) error

// Put calls f.
func (f SinkFunc) Put(ctx context.Context, it wire.Item, cur Cursor) error { return f(ctx, it, cur) }

// CursorReader is implemented by sinks that remember cursors; the agent
// resumes a file-like source after the position returned.
type CursorReader interface {
	Cursor(source string) (string, error)
}

// Advancer is implemented by sinks that can record the position of a frame
// that was not selected, so that a restart does not read it again.
type Advancer interface {
	Advance(ctx context.Context, cur Cursor) error
}
