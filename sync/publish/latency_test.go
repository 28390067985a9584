package publish

import (
	"testing"
	"time"
)

func TestLatencyBuckets(t *testing.T) {
	var l latency
	if s := l.snapshot(); s.Count != 0 || len(s.Counts) != len(LatencyBuckets) {
		t.Fatalf("empty: got %+v", s)
	}
	for _, d := range []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 300 * time.Millisecond, 3 * time.Minute} {
		l.observe(d)
	}
	s := l.snapshot()
	want := map[float64]uint64{0.01: 2, 0.025: 2, 0.25: 2, 0.5: 3, 120: 3} // cumulative; 3 min is only in +Inf
	for i, b := range LatencyBuckets {
		if w, ok := want[b]; ok && s.Counts[i] != w {
			t.Errorf("bucket <= %gs: got %d, want %d", b, s.Counts[i], w)
		}
	}
	if s.Count != 4 || s.Sum < 180.3 || s.Sum > 180.4 {
		t.Errorf("count %d sum %g, want 4 and 180.315", s.Count, s.Sum)
	}
}
