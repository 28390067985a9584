package sdnotify

import (
	"context"
	"log/slog"
	"time"
)

// Watchdog pings systemd's watchdog at half its timeout while Health
// reports no error, so that systemd restarts an agent that hangs.
type Watchdog struct {
	n       *Notifier
	timeout time.Duration
	health  func() error
	log     *slog.Logger
}

// NewWatchdog returns a watchdog for a timeout (WatchdogSec=); health may be
// nil (always healthy). A zero timeout or a disabled Notifier makes Run
// only wait for its context.
func NewWatchdog(n *Notifier, timeout time.Duration, health func() error, log *slog.Logger) *Watchdog {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watchdog{n: n, timeout: timeout, health: health, log: log}
}

// WatchdogFromEnv returns the watchdog that $NOTIFY_SOCKET and
// $WATCHDOG_USEC ask for (one whose Run only waits when they are unset).
func WatchdogFromEnv(health func() error, log *slog.Logger) *Watchdog {
	d, _ := WatchdogInterval()
	return NewWatchdog(FromEnv(), d, health, log)
}

// Enabled reports whether Run will ping anything.
func (w *Watchdog) Enabled() bool { return w.n.Enabled() && w.timeout > 0 }

// Interval is the time between pings: half the timeout.
func (w *Watchdog) Interval() time.Duration { return w.timeout / 2 }

// Run pings until ctx ends, then returns nil. A failed health check skips
// the ping (and is logged at Warn), so that systemd's timeout fires if the
// agent stays unhealthy; a failed send is logged and retried next tick.
func (w *Watchdog) Run(ctx context.Context) error {
	if !w.Enabled() {
		<-ctx.Done()
		return nil
	}
	w.log.Info("systemd watchdog", "timeout", w.timeout.String(), "interval", w.Interval().String())
	t := time.NewTicker(w.Interval())
	defer t.Stop()
	w.ping()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			w.ping()
		}
	}
}

func (w *Watchdog) ping() {
	if w.health != nil {
		if err := w.health(); err != nil {
			w.log.Warn("unhealthy: not feeding the systemd watchdog", "err", err)
			return
		}
	}
	if err := w.n.Watchdog(); err != nil {
		w.log.Warn("systemd watchdog ping failed", "err", err)
	}
}
