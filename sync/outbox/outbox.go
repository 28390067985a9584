package outbox

import (
	"context"
	"log/slog"
	"time"

	"github.com/canopy-forest/canopy/sync/wire"
)

// Cursor is a source's position, recorded in the same transaction as an
// item. The zero Cursor records nothing.
type Cursor struct {
	Source, Position string
}

// Record is an item waiting in the outbox.
type Record struct {
	ID           string
	Item         wire.Item
	Size         int       // bytes stored for the record
	PutAt        time.Time // when Put committed it
	ImageEvicted bool      // the image bytes were dropped to respect MaxBytes
}

// DeadLetter is an item the cloud rejected.
type DeadLetter struct {
	Record
	Reason     string
	RejectedAt time.Time
}

// Stats are the outbox's counters, read from its meta bucket (no scan).
type Stats struct {
	Depth       int       // items waiting
	Bytes       int64     // bytes of items waiting
	Oldest      time.Time // PutAt of the oldest waiting item; zero when empty
	Evictions   int64     // images dropped to respect MaxBytes, ever
	DeadLetters int       // items in the dead-letter bucket
	DeadBytes   int64     // bytes in the dead-letter bucket
}

// Outbox is a durable queue of items in a bbolt file.
type Outbox struct {
	path string
	opt  Options
	log  *slog.Logger
}

// Open opens or creates the outbox at path.
func Open(path string, o Options, log *slog.Logger) (*Outbox, error) {
	return nil, ErrClosed
}

// Put stores it (and cur) durably.
func (o *Outbox) Put(ctx context.Context, it wire.Item, cur Cursor) error { return ErrClosed }

// Cursor returns the last position recorded for source.
func (o *Outbox) Cursor(source string) (string, error) { return "", ErrClosed }

// Next returns up to n records with ID > after, oldest first.
func (o *Outbox) Next(after string, n int) ([]Record, error) { return nil, ErrClosed }

// Ack removes id.
func (o *Outbox) Ack(id string) error { return ErrClosed }

// Reject moves id to the dead letters.
func (o *Outbox) Reject(id, reason string) error { return ErrClosed }

// DeadLetters lists the dead letters.
func (o *Outbox) DeadLetters() ([]DeadLetter, error) { return nil, ErrClosed }

// Replay moves a dead letter back.
func (o *Outbox) Replay(id string) error { return ErrClosed }

// Stats returns the counters.
func (o *Outbox) Stats() (Stats, error) { return Stats{}, ErrClosed }

// Changed is signalled after a Put.
func (o *Outbox) Changed() <-chan struct{} { return nil }

// Close closes the file.
func (o *Outbox) Close() error { return nil }
