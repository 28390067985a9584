package api

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// healthz answers 200 while the process serves HTTP.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz runs every readiness check (database, blob store, broker) and
// answers 200 when all pass, 503 with what failed otherwise.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	type result struct {
		Name  string `json:"name"`
		OK    bool   `json:"ok"`
		Error string `json:"error,omitempty"`
	}
	res := make([]result, len(s.opt.Ready))
	var wg sync.WaitGroup
	for i, c := range s.opt.Ready {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
			defer cancel()
			res[i] = result{Name: c.Name, OK: true}
			if err := c.Fn(ctx); err != nil {
				res[i] = result{Name: c.Name, Error: err.Error()}
			}
		})
	}
	wg.Wait()
	status, word := http.StatusOK, "ready"
	for _, x := range res {
		if !x.OK {
			status, word = http.StatusServiceUnavailable, "not ready"
		}
	}
	writeJSON(w, status, map[string]any{"status": word, "checks": res})
}

func (s *Server) metrics() http.Handler {
	if s.opt.Metrics != nil {
		return s.opt.Metrics
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusServiceUnavailable, "metrics not configured")
	})
}
