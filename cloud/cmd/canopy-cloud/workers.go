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
			return fmt.Errorf("counter: %w", err)
		}
		defer c.Close()
		s.Log.Info("counting workers", "workers", n, "method", c.Info().Method, "model", c.Info().Model)
		return worker.New(worker.Config{N: n}, s.DB, s.Blobs, c, s.Log).Run(ctx)
	}
}
