package servecmd

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/count/auto"
	"github.com/canopy-forest/canopy/cloud/recount"
	"github.com/canopy-forest/canopy/cloud/worker"
)

// runWorkers runs n counting workers until ctx ends, with the counter that
// s.Config asks for (--method, --model) and its --gsd-default, and beside
// them one registrar, which registers the photos of the scans they count.
// When the default (auto) counter cannot be built, serving and ingest go
// on and images wait in the queue; a counter asked for by name must load.
func runWorkers(ctx context.Context, s *services, n int) error {
	if n <= 0 {
		<-ctx.Done()
		return nil
	}
	regDone := make(chan error, 1)
	go func() { regDone <- worker.NewRegistrar(worker.RegistrarConfig{}, s.DB, s.Blobs, s.Log).Run(ctx) }()
	defer func() { <-regDone }()
	c, err := auto.New(auto.Config{Method: s.Config.Method, ModelPath: s.Config.Model}, s.Log)
	if err != nil {
		if s.Config.Method != auto.Auto || s.Config.Model != "" {
			return fmt.Errorf("counter (--method %s --model %q): %w", s.Config.Method, s.Config.Model, err)
		}
		s.Log.Error("no counter: images are stored but not counted", "err", fmt.Errorf("counter: %w", err))
		<-ctx.Done()
		return nil
	}
	defer c.Close()
	s.Log.Info("counting workers", "workers", n, "method", c.Info().Method, "model", c.Info().Model, "gsd_default", s.Config.GSDDefault)
	others, done, err := recountCounters(s.Blobs, auto.Config{}, s.Log)
	if err != nil {
		return err
	}
	defer done()
	return worker.New(worker.Config{N: n, GSDDefault: s.Config.GSDDefault, Counters: others}, s.DB, s.Blobs, c, s.Log).Run(ctx)
}

// recountCounters builds the counters that recounts ask for (base: the
// settings they share), fetching their models into a temporary folder
// that done removes.
func recountCounters(blobs blob.Store, base auto.Config, log *slog.Logger) (cs *recount.Counters, done func(), err error) {
	dir, err := os.MkdirTemp("", "canopy-models-")
	if err != nil {
		return nil, nil, fmt.Errorf("recount models folder: %w", err)
	}
	cs = recount.NewCounters(blobs, base, dir, log)
	return cs, func() { cs.Close(); os.RemoveAll(dir) }, nil
}
