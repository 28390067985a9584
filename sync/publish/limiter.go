package publish

import (
	"context"
	"time"
)

// limiter is a token bucket over bytes: rate bytes a second with a burst of
// one second's worth. A request larger than the tokens available borrows
// (the bucket goes negative) and waits for the debt to be repaid, so frames
// larger than the burst still pass at the configured rate.
type limiter struct {
	rate   float64 // bytes a second; 0 = unlimited
	burst  float64
	tokens float64
	last   time.Time
}

func newLimiter(bytesPerSecond int64) *limiter {
	if bytesPerSecond <= 0 {
		return nil
	}
	r := float64(bytesPerSecond)
	return &limiter{rate: r, burst: r, tokens: r}
}

// wait blocks until n bytes may be sent, or ctx ends.
func (l *limiter) wait(ctx context.Context, n int) error {
	if l == nil {
		return nil
	}
	now := time.Now()
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	l.tokens -= float64(n)
	if l.tokens >= 0 {
		return nil
	}
	d := time.Duration(-l.tokens / l.rate * float64(time.Second))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
