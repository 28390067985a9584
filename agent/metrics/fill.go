package metrics

import (
	"context"
	"sync"
	"time"
)

// fill estimates the outbox's net growth (bytes put minus bytes
// acknowledged, a second) from samples of its size over a window: the slope
// of a least-squares line through them, so that the saw-tooth of puts and
// acks averages out.
type fill struct {
	mu      sync.Mutex
	window  time.Duration
	samples []sample
}

type sample struct {
	t     time.Time
	bytes int64
}

// minSpan is the least time the samples must cover before the rate is
// trusted.
const minSpan = 30 * time.Second

func newFill(window time.Duration) *fill { return &fill{window: window} }

func (f *fill) add(t time.Time, bytes int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.samples); n > 0 && t.Sub(f.samples[n-1].t) < time.Second {
		f.samples[n-1] = sample{t, bytes} // scrapes in a burst: keep one
	} else {
		f.samples = append(f.samples, sample{t, bytes})
	}
	i := 0
	for i < len(f.samples)-2 && t.Sub(f.samples[i].t) > f.window {
		i++
	}
	f.samples = append(f.samples[:0], f.samples[i:]...)
}

// rate is the net growth in bytes a second; 0 until the samples span
// minSpan.
func (f *fill) rate() float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.samples)
	if n < 2 || f.samples[n-1].t.Sub(f.samples[0].t) < minSpan {
		return 0
	}
	t0 := f.samples[0].t
	var sx, sy, sxx, sxy float64
	for _, s := range f.samples {
		x, y := s.t.Sub(t0).Seconds(), float64(s.bytes)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	fn := float64(n)
	d := fn*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (fn*sxy - sx*sy) / d
}

// Run samples the outbox's bytes every DefaultSampleEvery until ctx ends,
// so that the fill estimate follows the outbox between scrapes. It returns
// nil.
func (m *Metrics) Run(ctx context.Context) error {
	if m.src.Outbox == nil {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(m.every)
	defer t.Stop()
	for {
		if st, err := m.src.Outbox(); err == nil {
			m.fill.add(time.Now(), st.Bytes)
		} else {
			m.statsErrs.Add(1)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
