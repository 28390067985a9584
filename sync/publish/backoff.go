package publish

import (
	"math/rand/v2"
	"time"
)

// minAttemptGap is the shortest time between two connection attempts.
const minAttemptGap = time.Second

// backoff computes reconnect delays: exponential from min to max with full
// jitter (a uniform draw between 0 and the current ceiling), so that a fleet
// of devices that lost the broker together does not come back together.
type backoff struct {
	min, max time.Duration
	n        int
	rand     func(n int64) int64 // [0, n); rand.Int64N by default
}

// next returns the delay before the next attempt and raises the ceiling.
func (b *backoff) next() time.Duration {
	ceil := b.min
	for i := 0; i < b.n && ceil < b.max; i++ {
		ceil *= 2
	}
	ceil = min(ceil, b.max)
	if ceil < b.max {
		b.n++
	}
	r := b.rand
	if r == nil {
		r = rand.Int64N
	}
	return time.Duration(r(int64(ceil) + 1))
}

// reset starts the ceiling again from min, after a connection succeeded.
func (b *backoff) reset() { b.n = 0 }

// delay is how long to wait before the next attempt, given when the last
// one started: the jittered backoff, but never less than minAttemptGap
// after the last attempt.
func (b *backoff) delay(lastAttempt, now time.Time) time.Duration {
	d := b.next()
	if lastAttempt.IsZero() {
		return d
	}
	if gap := minAttemptGap - now.Sub(lastAttempt); d < gap {
		d = gap
	}
	return d
}
