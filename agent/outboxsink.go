package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/canopy-forest/canopy/sync/outbox"
	"github.com/canopy-forest/canopy/sync/wire"
)

// OutboxSink is the durable sink: it puts items in a sync/outbox.Outbox,
// recording the cursor in the same transaction, and resumes sources from
// the outbox's cursors (Cursor is promoted from the Outbox).
type OutboxSink struct {
	*outbox.Outbox
}

// Put puts it in the outbox with cur. A full outbox (outbox.ErrFull) is
// reported as ErrFull too.
func (s OutboxSink) Put(ctx context.Context, it wire.Item, cur Cursor) error {
	err := s.Outbox.Put(ctx, it, outbox.Cursor(cur))
	if errors.Is(err, outbox.ErrFull) {
		return fmt.Errorf("%w: %w", ErrFull, err)
	}
	return err
}

// Advance records the position of a frame that was not selected, when the
// outbox can record a cursor alone (a method Advance(ctx, outbox.Cursor)
// error); otherwise it does nothing, and a restart reads such trailing
// frames again (and skips them again).
func (s OutboxSink) Advance(ctx context.Context, cur Cursor) error {
	if a, ok := any(s.Outbox).(interface {
		Advance(context.Context, outbox.Cursor) error
	}); ok {
		return a.Advance(ctx, outbox.Cursor(cur))
	}
	return nil
}

var (
	_ Sink         = OutboxSink{}
	_ CursorReader = OutboxSink{}
	_ Advancer     = OutboxSink{}
)
