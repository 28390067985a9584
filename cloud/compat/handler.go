package compat

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/canopy-forest/canopy/cloud/ingest"
)

// Handler stores compat messages through a Saver. Both inputs use it.
type Handler struct {
	Saver    *ingest.Saver
	Metrics  *ingest.Metrics // nil: not counted
	MaxBytes int             // largest decoded image; 0: DefaultMaxBytes
	Log      *slog.Logger
	Now      func() time.Time // nil: time.Now
}

// Handle decodes and stores one message. A *ingest.RejectError means the
// message is poison; any other error is transient (store it again later).
func (h *Handler) Handle(ctx context.Context, input string, body []byte) (ingest.Saved, error) {
	m, err := Decode(body, h.MaxBytes)
	if err != nil {
		h.rejected(input, "", err)
		return ingest.Saved{}, err
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	it := Item(m, now())
	h.count(func(mt *ingest.Metrics) { mt.Received.WithLabelValues(input).Inc() })
	saved, err := h.Saver.Save(ctx, it, SaveOptions(it))
	if _, ok := ingest.IsReject(err); ok {
		h.rejected(input, it.Meta.ItemID, err)
		return ingest.Saved{}, err
	}
	if err != nil {
		h.count(func(mt *ingest.Metrics) { mt.Failed.WithLabelValues(input).Inc() })
		return ingest.Saved{}, fmt.Errorf("compat: store %s: %w", it.Meta.ItemID, err)
	}
	h.count(func(mt *ingest.Metrics) {
		mt.Stored.WithLabelValues(input).Inc()
		if saved.Duplicate {
			mt.Duplicates.WithLabelValues(input).Inc()
		}
	})
	h.log().Debug("compat item stored", "item", it.Meta.ItemID, "input", input, "name", m.Name, "duplicate", saved.Duplicate)
	return saved, nil
}

func (h *Handler) rejected(input, id string, err error) {
	rej, _ := ingest.IsReject(err)
	h.count(func(mt *ingest.Metrics) { mt.Rejected.WithLabelValues(input, rej.Reason).Inc() })
	h.log().Warn("compat message rejected", "item", id, "input", input, "reason", rej.Reason, "detail", rej.Detail)
}

func (h *Handler) count(f func(*ingest.Metrics)) {
	if h.Metrics != nil {
		f(h.Metrics)
	}
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

// retry calls f until it succeeds, fails for good (a RejectError) or ctx
// ends, waiting 1 s, 2 s, ... up to 30 s between tries.
func retry(ctx context.Context, log *slog.Logger, f func() error) error {
	wait := time.Second
	for {
		err := f()
		if _, poison := ingest.IsReject(err); err == nil || poison {
			return err
		}
		log.Warn("compat message not stored; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}
