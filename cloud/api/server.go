package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

// Images is what the image handlers need of the database.
type Images interface {
	GetImage(ctx context.Context, itemID string) (db.Image, error)
	ListImages(ctx context.Context, q db.ImageQuery) ([]db.Image, string, error)
}

// Check is one readiness check: nil when the dependency is usable.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Options are the server's dependencies. Nil fields disable what needs them
// (their routes answer 503).
type Options struct {
	Images  Images
	Metrics http.Handler // e.g. promhttp.HandlerFor(registry, ...)
	Ready   []Check      // run by /readyz, each with a short deadline
	Log     *slog.Logger
	// TLS, when set, serves HTTPS with this certificate (Certificate.Reload
	// swaps it without a restart); nil serves plain HTTP.
	TLS *Certificate
}

// Server is the HTTP server. Create it with New.
type Server struct {
	opt  Options
	log  *slog.Logger
	mux  *http.ServeMux
	v1   *V1Options                      // set by EnableV1 (v1.go)
	wrap func(http.Handler) http.Handler // auth middleware, set by EnableV1
}

// New builds the server and its routes.
func New(o Options) *Server {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opt: o, log: o.Log.With("component", "api"), mux: http.NewServeMux()}
	s.routes()
	return s
}

// Handler is the server's root handler: the routes, behind the token check
// (EnableV1) and the security headers.
func (s *Server) Handler() http.Handler {
	var h http.Handler = s.mux
	if s.wrap != nil {
		h = s.wrap(h)
	}
	return securityHeaders(h, s.opt.TLS != nil)
}

// MetricsHandler serves GET /metrics with no token, for a listener of its
// own (serve --metrics-listen) that only the monitoring system reaches.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics())
	return securityHeaders(mux, false)
}

// Mux is the route table, for packages that add routes (upload, dashboard).
func (s *Server) Mux() *http.ServeMux { return s.mux }

// Listen binds addr ("127.0.0.1:8080"; port 0 picks a free one).
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http: listen on %s: %w (choose another address with --http)", addr, err)
	}
	return ln, nil
}

// Run serves on ln until ctx ends, then shuts down, giving requests in
// flight five seconds. With Options.TLS it serves HTTPS.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	return s.serve(ctx, ln, s.Handler(), s.opt.TLS, "HTTP")
}

// RunMetrics serves MetricsHandler on ln (plain HTTP) until ctx ends.
func (s *Server) RunMetrics(ctx context.Context, ln net.Listener) error {
	return s.serve(ctx, ln, s.MetricsHandler(), nil, "metrics")
}

func (s *Server) serve(ctx context.Context, ln net.Listener, h http.Handler, cert *Certificate, what string) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	scheme := "http"
	if cert != nil {
		scheme = "https"
		srv.TLSConfig = cert.TLSConfig()
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
	s.log.Info(what+" listening", "addr", ln.Addr().String(), "scheme", scheme)
	select {
	case err := <-errc:
		return fmt.Errorf("%s: serve: %w", what, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("%s: shutdown: %w", what, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: serve: %w", what, err)
	}
	return nil
}
