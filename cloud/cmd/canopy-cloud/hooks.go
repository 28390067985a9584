package main

import "context"

// Hooks for the parts of serve that other areas own. Replace the defaults
// here (not in serve.go).

// runWorkers runs n counting workers until ctx ends (cloud/count's
// workers: claim a job, count, complete it). The default runs none.
var runWorkers = func(ctx context.Context, s *services, n int) error {
	if n > 0 {
		s.Log.Debug("no counting workers built in yet", "workers", n)
	}
	<-ctx.Done()
	return nil
}

// extendAPI adds routes to s.API (uploads, scans, devices, auth, the
// dashboard) before serving starts. The default adds none.
var extendAPI = func(s *services) error { return nil }
