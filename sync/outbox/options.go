package outbox

import (
	"fmt"
	"time"

	"github.com/canopy-forest/canopy/sync/wire"
)

// SyncMode chooses how Put reaches the disk.
type SyncMode string

const (
	// SyncAlways commits and fsyncs every Put in its own transaction.
	SyncAlways SyncMode = "always"
	// SyncBatch lets concurrent Puts within BatchWindow share one
	// transaction and one fsync (group commit). Each Put still returns only
	// after its own commit is durable.
	SyncBatch SyncMode = "batch"
)

// Options configure an Outbox. Zero fields take the defaults.
type Options struct {
	MaxBytes    int64         // bound on the bytes of waiting items; default 1 GiB
	Sync        SyncMode      // default SyncBatch
	BatchWindow time.Duration // SyncBatch: how long a commit waits for more Puts; default 2ms
	MaxBatch    int           // SyncBatch: most Puts in one commit; default 256
	// ChunkSize is the largest wire frame an item is stored as (the
	// publisher's chunk size, so that records are sent as they are);
	// default wire.DefaultChunkSize.
	ChunkSize int
}

// Defaults.
const (
	DefaultMaxBytes    = 1 << 30
	DefaultBatchWindow = 2 * time.Millisecond
	DefaultMaxBatch    = 256
)

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Sync == "" {
		o.Sync = SyncBatch
	}
	if o.BatchWindow <= 0 {
		o.BatchWindow = DefaultBatchWindow
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = wire.DefaultChunkSize
	}
	return o
}

// Validate reports a bad sync mode.
func (o Options) Validate() error {
	switch o.Sync {
	case "", SyncAlways, SyncBatch:
		return nil
	}
	return fmt.Errorf("outbox sync mode %q: want %q or %q", o.Sync, SyncAlways, SyncBatch)
}
