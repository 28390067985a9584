package publish

import (
	"sync"
	"time"
)

// LatencyBuckets are the upper bounds, in seconds, of the buckets of
// Publisher.Latency: from 10 ms on a LAN to two minutes over a slow
// cellular link.
var LatencyBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

// Latency is a histogram of the time from an item's last chunk published to
// the cloud's ack of it (stored or rejected): the round trip through the
// broker and the receiver's storage.
type Latency struct {
	// Counts holds, for each of LatencyBuckets, how many acks came within
	// that bound (cumulative, as Prometheus wants).
	Counts []uint64
	Count  uint64  // every ack timed
	Sum    float64 // seconds, all acks timed together
}

// latency collects the observations; safe for concurrent use.
type latency struct {
	mu     sync.Mutex
	counts []uint64 // per bucket, not cumulative; the last one is +Inf
	count  uint64
	sum    float64
}

func (l *latency) observe(d time.Duration) {
	s := d.Seconds()
	i := len(LatencyBuckets)
	for k, b := range LatencyBuckets {
		if s <= b {
			i = k
			break
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts = make([]uint64, len(LatencyBuckets)+1)
	}
	l.counts[i]++
	l.count++
	l.sum += s
}

func (l *latency) snapshot() Latency {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := Latency{Counts: make([]uint64, len(LatencyBuckets)), Count: l.count, Sum: l.sum}
	var c uint64
	for i := range LatencyBuckets {
		if l.counts != nil {
			c += l.counts[i]
		}
		out.Counts[i] = c
	}
	return out
}
