package publish

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"
)

func TestBackoffCeiling(t *testing.T) {
	// rand returning its bound-1 exposes the ceiling of each draw.
	b := backoff{min: time.Second, max: 5 * time.Minute, rand: func(n int64) int64 { return n - 1 }}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300}
	for i, w := range want {
		if got := b.next(); got != w*time.Second {
			t.Errorf("draw %d: got ceiling %v, want %v", i, got, w*time.Second)
		}
	}
	b.reset()
	if got := b.next(); got != time.Second {
		t.Errorf("after reset: got %v, want 1s", got)
	}
}

func TestBackoffMinGap(t *testing.T) {
	b := backoff{min: time.Second, max: 5 * time.Minute, rand: func(int64) int64 { return 0 }}
	now := time.Unix(1000, 0)
	tests := []struct {
		name string
		last time.Time
		want time.Duration
	}{
		{"first attempt", time.Time{}, 0},
		{"just tried", now, time.Second},
		{"tried 400ms ago", now.Add(-400 * time.Millisecond), 600 * time.Millisecond},
		{"tried long ago", now.Add(-time.Hour), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := b.delay(tt.last, now); got != tt.want {
				t.Errorf("delay: got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestReconnectLoop checks, in a synctest bubble, that failed attempts are
// at least a second apart, back off to five minutes at most, and that a
// successful connection resets the backoff.
func TestReconnectLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		b := &backoff{min: time.Second, max: 5 * time.Minute} // real jitter
		var times []time.Time
		const fails = 40
		err := reconnectLoop(ctx, b, slog.New(slog.DiscardHandler), func(ctx context.Context) (bool, error) {
			times = append(times, time.Now())
			switch n := len(times); {
			case n <= fails:
				return false, errors.New("connection refused")
			case n == fails+1:
				time.Sleep(10 * time.Minute) // a long session, then lost
				return true, errors.New("connection lost")
			default:
				cancel()
				return false, ctx.Err()
			}
		})
		if err != nil {
			t.Fatalf("reconnectLoop: got %v, want nil on cancel", err)
		}
		ceil := time.Second
		var total time.Duration
		for i := 1; i <= fails; i++ {
			gap := times[i].Sub(times[i-1])
			if gap < time.Second {
				t.Errorf("attempt %d: %v after the previous one, want at least 1s", i, gap)
			}
			if gap > max(ceil, time.Second) {
				t.Errorf("attempt %d: gap %v above the backoff ceiling %v", i, gap, ceil)
			}
			total += gap
			ceil = min(2*ceil, 5*time.Minute)
		}
		// After the session that connected, the backoff starts again at 1s.
		if gap := times[fails+1].Sub(times[fails].Add(10 * time.Minute)); gap > time.Second {
			t.Errorf("first attempt after a lost session: %v after it, want at most 1s (backoff reset)", gap)
		}
		t.Logf("%d refused attempts over %v (jittered, 1s..5m)", fails, total)
	})
}

func TestReconnectLoopFatal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		want := &fatalError{errors.New("disk gone")}
		n := 0
		err := reconnectLoop(t.Context(), &backoff{min: time.Second, max: time.Minute}, slog.New(slog.DiscardHandler),
			func(context.Context) (bool, error) {
				n++
				if n < 3 {
					return false, errors.New("refused")
				}
				return true, want
			})
		if !errors.Is(err, want) || n != 3 {
			t.Errorf("got err %v after %d attempts, want %v after 3", err, n, want)
		}
	})
}

func TestLimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(1000) // 1000 B/s, burst 1000
		start := time.Now()
		for range 10 {
			if err := l.wait(t.Context(), 500); err != nil {
				t.Fatal(err)
			}
		}
		// 5000 bytes at 1000 B/s with a 1000-byte burst: 4s.
		if got := time.Since(start); got != 4*time.Second {
			t.Errorf("10 x 500 B at 1000 B/s took %v, want 4s", got)
		}
		var none *limiter
		if err := none.wait(t.Context(), 1<<30); err != nil {
			t.Errorf("unlimited: %v", err)
		}
	})
}
