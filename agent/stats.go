package agent

import (
	"sync"
	"sync/atomic"
)

// Stats counts what the pipeline did.
type Stats struct {
	FramesRead int64            `json:"frames_read"`
	Segmented  int64            `json:"segmented"`
	Selected   int64            `json:"selected"`
	Skipped    map[string]int64 `json:"skipped"` // by reason
	ItemsPut   int64            `json:"items_put"`
	// Refused counts the items the sink refused because it was full
	// (ErrFull); they are also in Skipped under SkipSinkFull.
	Refused int64 `json:"refused"`
}

// Reasons a frame is skipped besides the selection policy's.
const (
	SkipSegmentError = "segment_error"
	SkipEncodeError  = "encode_error"
	SkipSinkFull     = "outbox_full" // the sink refused the item (ErrFull)
)

type counters struct {
	read, segmented, selected, put atomic.Int64
	lowShare, interval, duplicate  atomic.Int64
	segErr, encErr, refused        atomic.Int64
	other                          sync.Map // reason -> *atomic.Int64 (the capture gates')
}

func (c *counters) skip(reason string) {
	switch reason {
	case "low_share":
		c.lowShare.Add(1)
	case "interval":
		c.interval.Add(1)
	case "duplicate":
		c.duplicate.Add(1)
	case SkipSegmentError:
		c.segErr.Add(1)
	case SkipEncodeError:
		c.encErr.Add(1)
	case SkipSinkFull:
		c.refused.Add(1)
	default:
		n, _ := c.other.LoadOrStore(reason, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
	}
}

func (c *counters) snapshot() Stats {
	s := Stats{
		FramesRead: c.read.Load(),
		Segmented:  c.segmented.Load(),
		Selected:   c.selected.Load(),
		ItemsPut:   c.put.Load(),
		Refused:    c.refused.Load(),
		Skipped: map[string]int64{
			"low_share":      c.lowShare.Load(),
			"interval":       c.interval.Load(),
			"duplicate":      c.duplicate.Load(),
			SkipSegmentError: c.segErr.Load(),
			SkipEncodeError:  c.encErr.Load(),
			SkipSinkFull:     c.refused.Load(),
		},
	}
	c.other.Range(func(k, v any) bool {
		s.Skipped[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return s
}
