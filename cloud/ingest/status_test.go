package ingest

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/canopy-forest/canopy/sync/wire"
)

// TestStatusQueue: statuses are kept per device, the latest wins, and
// take hands them out in batches.
func TestStatusQueue(t *testing.T) {
	q := newStatusQueue()
	for i := range 3 {
		for _, dev := range []string{"a", "b"} {
			replaced, added := q.put(wire.Status{Device: dev, State: wire.StateOnline, OutboxDepth: i})
			if !added || replaced != (i > 0) {
				t.Fatalf("put %s #%d: replaced %v, added %v", dev, i, replaced, added)
			}
		}
	}
	q.put(wire.Status{Device: "c", State: wire.StateOffline})
	first := q.take(2)
	rest := q.take(10)
	if len(first) != 2 || len(rest) != 1 || len(q.take(10)) != 0 {
		t.Fatalf("take: %d then %d, want 2 then 1", len(first), len(rest))
	}
	for _, st := range append(first, rest...) {
		if st.Device != "c" && st.OutboxDepth != 2 {
			t.Errorf("device %s: outbox depth %d, want the latest (2)", st.Device, st.OutboxDepth)
		}
	}
}

// TestWarnLimiter: a repeated warning is logged once per interval, the
// others counted with the next line, or by flush when none comes.
func TestWarnLimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		w := newWarnLimiter(slog.New(slog.NewTextHandler(&buf, nil)), 10*time.Second)
		for i := range 1000 {
			w.Warn("status update dropped", "device", fmt.Sprint("d", i))
		}
		w.Warn("other warning")
		w.flush() // within the interval: nothing to say yet
		if n := strings.Count(buf.String(), "\n"); n != 2 {
			t.Fatalf("after 1001 warnings of 2 kinds: %d lines, want 2:\n%s", n, buf.String())
		}
		time.Sleep(10 * time.Second)
		w.Warn("status update dropped", "device", "d1000")
		if !strings.Contains(buf.String(), "device=d1000 suppressed=999") {
			t.Errorf("next line does not carry the count:\n%s", buf.String())
		}
		w.Warn("status update dropped", "device", "d1001") // counted
		time.Sleep(10 * time.Second)
		w.flush()
		if !strings.Contains(buf.String(), `msg="status update dropped" suppressed=1 interval=10s`) {
			t.Errorf("flush did not report the count:\n%s", buf.String())
		}
		if n := strings.Count(buf.String(), "\n"); n != 4 {
			t.Errorf("%d lines, want 4:\n%s", n, buf.String())
		}
	})
}
