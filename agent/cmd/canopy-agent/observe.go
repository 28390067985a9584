package main

// The agent's memory settings and its metrics endpoint, wired into
// runAgent: tuneMemory first, metricsRunners once the agent exists.

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/canopy-forest/canopy/agent"
	"github.com/canopy-forest/canopy/agent/config"
	"github.com/canopy-forest/canopy/agent/metrics"
	"github.com/canopy-forest/canopy/sync/outbox"
	"github.com/canopy-forest/canopy/sync/publish"
)

// gcPercent is the agent's GOGC unless the environment sets one. Most of
// its heap is a few frame buffers kept in a pool; what it throws away per
// frame (file bytes, the mask, the item's copies) is about as large, so
// GOGC 100 would let the heap grow to twice the buffers. At 50 the
// collector runs twice as often, which costs about 1% of a core here
// (GODEBUG=gctrace=1), and the heap stays at 1.5 times them.
const gcPercent = 50

// tuneMemory applies cfg's soft memory limit (go_memory_limit_mib, from the
// board profile) unless GOMEMLIMIT is set, and gcPercent unless GOGC is.
func tuneMemory(cfg config.Config, log *slog.Logger) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if cfg.GoMemoryLimitMiB > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(cfg.GoMemoryLimitMiB) << 20)
		log.Info("go memory limit", "mib", cfg.GoMemoryLimitMiB)
	}
}

// metricsRunners returns the runners of the metrics endpoint when
// cfg.Metrics.Listen is set: the HTTP server and the outbox sampler of the
// fill estimate. An address that cannot be bound is logged and the agent
// runs without metrics: they are no reason to stop capturing.
func metricsRunners(cfg config.Config, a *agent.Agent, sp syncParts, log *slog.Logger) []func(context.Context) error {
	if cfg.Metrics.Listen == "" {
		return nil
	}
	src := metrics.Sources{
		Pipeline: func() metrics.Pipeline {
			s := a.Stats()
			return metrics.Pipeline{FramesRead: s.FramesRead, Kept: s.Selected, Skipped: s.Skipped, ItemsPut: s.ItemsPut}
		},
		Refused: func() int64 { return a.Stats().Refused },
	}
	if sp.outbox != nil {
		ob := sp.outbox
		src.Outbox = func() (outbox.Stats, error) { return ob.Stats() }
		src.MaxBytes = sp.maxBytes
	}
	if p := sp.publisher; p != nil {
		src.Publisher = func() publish.Stats { return p.Stats() }
		src.Latency = p.Latency
	}
	m := metrics.New(src)
	srv, err := metrics.Listen(cfg.Metrics.Listen, m, a.Health, log)
	if err != nil {
		log.Error("metrics off: cannot listen", "addr", cfg.Metrics.Listen, "err", err)
		return nil
	}
	return []func(context.Context) error{srv.Run, m.Run}
}
