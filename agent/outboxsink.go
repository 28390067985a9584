package agent

import (
	"context"

	"github.com/canopy-forest/canopy/sync/outbox"
	"github.com/canopy-forest/canopy/sync/wire"
)

// OutboxSink is the durable sink: it puts items in a sync/outbox.Outbox,
// recording the cursor in the same transaction, and resumes sources from
// the outbox's cursors (Cursor is promoted from the Outbox).
type OutboxSink struct {
	*outbox.Outbox
}

// Put puts it in the outbox with cur.
func (s OutboxSink) Put(ctx context.Context, it wire.Item, cur Cursor) error {
	return s.Outbox.Put(ctx, it, outbox.Cursor(cur))
}

var (
	_ Sink         = OutboxSink{}
	_ CursorReader = OutboxSink{}
)
