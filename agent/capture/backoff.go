package capture

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Backoff is an exponential backoff with jitter: the n-th wait (from 0) is
// drawn uniformly from [d/2, d] where d = min(Max, Min·2^n).
type Backoff struct {
	Min, Max time.Duration
}

// DefaultBackoff waits from half a second up to 30 seconds.
var DefaultBackoff = Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second}

// Delay returns the wait before attempt n+1 after n failures (n from 0).
func (b Backoff) Delay(n int) time.Duration {
	d := b.Min
	for i := 0; i < n && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Reopen is a live source that opens its camera on first use and again
// after any failure to open or to read, waiting with backoff and jitter in
// between. It never returns io.EOF from a camera; a stream that ends is a
// camera that disappeared.
type Reopen struct {
	name     string
	open     func(ctx context.Context) (Source, error)
	backoff  Backoff
	log      *slog.Logger
	cur      Source
	failures int
}

// NewReopen returns a Reopen around open.
func NewReopen(name string, open func(ctx context.Context) (Source, error), b Backoff, log *slog.Logger) *Reopen {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reopen{name: name, open: open, backoff: b, log: log}
}

// Name returns the name given to NewReopen.
func (r *Reopen) Name() string { return r.name }

// Failures is the number of consecutive failed attempts so far.
func (r *Reopen) Failures() int { return r.failures }

// Next returns the next frame, reopening the camera as often as it takes;
// it returns only a frame or ctx.Err().
func (r *Reopen) Next(ctx context.Context) (Frame, error) {
	for {
		if err := ctx.Err(); err != nil {
			return Frame{}, err
		}
		if r.cur == nil {
			s, err := r.open(ctx)
			if err != nil {
				if err := r.wait(ctx, "open camera", err); err != nil {
					return Frame{}, err
				}
				continue
			}
			if r.failures > 0 {
				r.log.Info("camera opened", "source", r.name, "attempts", r.failures+1)
			}
			r.cur = s
		}
		f, err := r.cur.Next(ctx)
		if err == nil {
			r.failures = 0
			return f, nil
		}
		if ctx.Err() != nil {
			return Frame{}, ctx.Err()
		}
		r.cur.Close()
		r.cur = nil
		if err := r.wait(ctx, "read camera", err); err != nil {
			return Frame{}, err
		}
	}
}

func (r *Reopen) wait(ctx context.Context, op string, cause error) error {
	d := r.backoff.Delay(r.failures)
	r.failures++
	r.log.Warn(op+" failed; retrying", "source", r.name, "err", cause, "attempt", r.failures, "retry_in", d.Round(time.Millisecond).String())
	return sleep(ctx, d)
}

// Close closes the camera if open. It is idempotent.
func (r *Reopen) Close() error {
	if r.cur == nil {
		return nil
	}
	err := r.cur.Close()
	r.cur = nil
	return err
}
