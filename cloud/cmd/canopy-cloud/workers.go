package main

import (
	"context"
	"fmt"

	"github.com/canopy-forest/canopy/cloud/count/auto"
	"github.com/canopy-forest/canopy/cloud/worker"
)

func init() {
	runWorkers = func(ctx context.Context, s *services, n int) error {
		if n <= 0 {
			<-ctx.Done()
			return nil
		}
		c, err := auto.New(auto.Config{}, s.Log)
		if err != nil {
			// Serving and ingest go on; images wait in the queue.
			s.Log.Error("no counter: images are stored but not counted", "err", fmt.Errorf("counter: %w", err))
			<-ctx.Done()
			return nil
		}
		defer c.Close()
		s.Log.Info("counting workers", "workers", n, "method", c.Info().Method, "model", c.Info().Model)
		return worker.New(worker.Config{N: n}, s.DB, s.Blobs, c, s.Log).Run(ctx)
	}
}
