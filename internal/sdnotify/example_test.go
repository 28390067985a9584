package sdnotify_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/canopy-forest/canopy/internal/sdnotify"
)

// A Type=notify service says when it is ready and stopping, and feeds the
// watchdog while it runs. Outside systemd all of this does nothing.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	n := sdnotify.FromEnv()
	wd := sdnotify.WatchdogFromEnv(func() error { return nil }, log)
	done := make(chan error, 1)
	go func() { done <- wd.Run(ctx) }()
	_ = n.Ready()
	// ... serve until asked to stop ...
	_ = n.Stopping()
	cancel()
	<-done
}
