package metrics

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/sync/outbox"
	"github.com/canopy-forest/canopy/sync/publish"
)

func fakeSources() Sources {
	return Sources{
		Pipeline: func() Pipeline {
			return Pipeline{FramesRead: 30, Kept: 20, ItemsPut: 19, Skipped: map[string]int64{"low_share": 10, "outbox_full": 1}}
		},
		Outbox: func() (outbox.Stats, error) {
			return outbox.Stats{Depth: 5, Bytes: 5000, Evictions: 2, DeadLetters: 1, Oldest: time.Now().Add(-time.Minute)}, nil
		},
		MaxBytes: 1 << 20,
		Refused:  func() int64 { return 1 },
		Publisher: func() publish.Stats {
			return publish.Stats{Published: 16, Acked: 14, Rejected: 1, Reconnects: 3, Connected: true, InFlight: 2}
		},
		Latency: func() publish.Latency {
			return publish.Latency{Counts: []uint64{0, 0, 1, 5, 9, 14, 15, 15, 15, 15, 15, 15, 15}, Count: 15, Sum: 3.2}
		},
	}
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv, err := Listen("127.0.0.1:0", m, func() error { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	resp, err := http.Get("http://" + srv.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestExposition(t *testing.T) {
	out := scrape(t, New(fakeSources()))
	for _, want := range []string{
		"canopy_agent_frames_read_total 30",
		"canopy_agent_frames_kept_total 20",
		`canopy_agent_frames_skipped_total{reason="low_share"} 10`,
		"canopy_agent_items_put_total 19",
		"canopy_agent_outbox_refused_total 1",
		"canopy_agent_outbox_items 5",
		"canopy_agent_outbox_bytes 5000",
		"canopy_agent_outbox_max_bytes 1.048576e+06",
		"canopy_agent_outbox_seconds_until_full +Inf", // one sample: no rate yet
		"canopy_agent_outbox_evictions_total 2",
		"canopy_agent_outbox_dead_letters 1",
		"canopy_agent_items_acked_total 14",
		"canopy_agent_items_rejected_total 1",
		"canopy_agent_items_in_flight 2",
		"canopy_agent_mqtt_connected 1",
		"canopy_agent_mqtt_reconnects_total 3",
		`canopy_agent_publish_latency_seconds_bucket{le="0.1"} 5`,
		`canopy_agent_publish_latency_seconds_bucket{le="+Inf"} 15`,
		"canopy_agent_publish_latency_seconds_count 15",
		"process_resident_memory_bytes",
		"go_memstats_heap_inuse_bytes",
	} {
		if !strings.Contains(out, want+"\n") && !strings.Contains(out, want+" ") {
			t.Errorf("no %q in the exposition", want)
		}
	}
	if !strings.Contains(out, "canopy_agent_outbox_oldest_age_seconds 6") {
		t.Errorf("oldest age: want about 60 s in\n%s", grep(out, "oldest"))
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Without a broker there is no publisher: its metrics are left out, the
// others stay.
func TestPartialSources(t *testing.T) {
	src := fakeSources()
	src.Publisher, src.Latency = nil, nil
	src.Outbox = func() (outbox.Stats, error) { return outbox.Stats{}, errors.New("closed") }
	out := scrape(t, New(src))
	if strings.Contains(out, "canopy_agent_items_acked_total") || strings.Contains(out, "canopy_agent_publish_latency") {
		t.Error("publisher metrics without a publisher")
	}
	if !strings.Contains(out, "canopy_agent_outbox_stats_errors_total 1") || strings.Contains(out, "canopy_agent_outbox_items ") {
		t.Errorf("a failing outbox: want an error count and no outbox gauges:\n%s", grep(out, "outbox"))
	}
	if !strings.Contains(out, "canopy_agent_frames_read_total 30") {
		t.Error("pipeline metrics missing")
	}
}

func TestFillRate(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name    string
		samples []sample
		want    float64
	}{
		{"none", nil, 0},
		{"too short", []sample{{t0, 0}, {t0.Add(10 * time.Second), 1000}}, 0},
		{"steady growth", []sample{{t0, 0}, {t0.Add(30 * time.Second), 3000}, {t0.Add(60 * time.Second), 6000}}, 100},
		// Puts and acks make a saw-tooth: the line through it rises at 73.3 B/s.
		{"saw-tooth", []sample{{t0, 0}, {t0.Add(15 * time.Second), 3000}, {t0.Add(30 * time.Second), 1000}, {t0.Add(45 * time.Second), 6000}, {t0.Add(60 * time.Second), 4000}}, 220.0 / 3},
		{"draining", []sample{{t0, 6000}, {t0.Add(60 * time.Second), 0}}, -100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFill(10 * time.Minute)
			for _, s := range tt.samples {
				f.add(s.t, s.bytes)
			}
			got := f.rate()
			if math.Abs(got-tt.want) > 1e-6 {
				t.Errorf("rate %g, want %g", got, tt.want)
			}
		})
	}
	// Old samples leave the window.
	f := newFill(time.Minute)
	for i := 0; i < 10; i++ {
		f.add(t0.Add(time.Duration(i)*30*time.Second), int64(i)*3000)
	}
	if n := len(f.samples); n > 4 {
		t.Errorf("%d samples kept for a 1-minute window of 30 s samples, want at most 4", n)
	}
}

func TestUntilFull(t *testing.T) {
	for _, tt := range []struct {
		bytes, max int64
		rate, want float64
	}{
		{0, 1000, 10, 100},
		{500, 1000, 10, 50},
		{1000, 1000, 10, 0},
		{500, 1000, 0, math.Inf(1)},
		{500, 1000, -5, math.Inf(1)},
		{500, 0, 10, math.Inf(1)},
	} {
		if got := untilFull(tt.bytes, tt.max, tt.rate); got != tt.want {
			t.Errorf("untilFull(%d, %d, %g) = %g, want %g", tt.bytes, tt.max, tt.rate, got, tt.want)
		}
	}
}

func TestHealthz(t *testing.T) {
	var failing atomic.Bool
	srv, err := Listen("127.0.0.1:0", New(Sources{}), func() error {
		if failing.Load() {
			return errors.New("pipeline stuck")
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Run(ctx)
	get := func() int {
		resp, err := http.Get("http://" + srv.Addr() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := get(); c != 200 {
		t.Errorf("healthy: got %d, want 200", c)
	}
	failing.Store(true)
	if c := get(); c != 503 {
		t.Errorf("stuck: got %d, want 503", c)
	}
	if _, err := Listen(srv.Addr(), New(Sources{}), nil, nil); err == nil {
		t.Error("a second listener on the same address: got no error")
	}
}
