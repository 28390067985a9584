package telemetry

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// freeUDP returns a loopback UDP address that was free a moment ago.
func freeUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// logBuffer is a concurrency-safe log sink for tests.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// run starts in.Run and returns a function that stops it and checks that
// it returned nil.
func run(t *testing.T, in *Input) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReplayUDP replays a synthetic flight at ten times its speed into a
// UDP link: the samples land on the board's clock, spaced as the vehicle
// sent them (divided by the speed), and the last one is where the flight
// ended.
func TestReplayUDP(t *testing.T) {
	f := testFlight
	path := filepath.Join(t.TempDir(), "flight.tlog")
	if err := os.WriteFile(path, encodeLog(t, f.entries()), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeUDP(t)
	var logs logBuffer
	in, err := Open("udp://"+addr, Options{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, in)
	defer stop()
	w, err := Dial("udp://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	start := time.Now()
	st, err := Replay(t.Context(), func() (io.ReadCloser, error) { return os.Open(path) }, w, ReplayOptions{Speed: 10})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if want := len(f.entries()); st.Records != int64(want) {
		t.Errorf("replay sent %d records, want %d", st.Records, want)
	}
	if took < f.dur/10 || took > f.dur/10+time.Second {
		t.Errorf("replay at 10x of a %v flight took %v", f.dur, took)
	}
	waitFor(t, "last position", 2*time.Second, func() bool {
		s, err := in.Latest()
		lat, lon := f.at(f.t0.Add(f.dur))
		return err == nil && metres(s.Lat, s.Lon, lat, lon) < 0.05
	})
	first, last, _ := in.Span()
	if span := last.Sub(first); span < f.dur/10-100*time.Millisecond || span > f.dur/10+200*time.Millisecond {
		t.Errorf("the samples span %v of the board's clock, want about %v", span, f.dur/10)
	}
	if first.Before(start.Add(-time.Second)) || last.After(time.Now()) {
		t.Errorf("samples from %v to %v, not on the board's clock around %v", first, last, start)
	}
	// A frame taken half-way through is placed half-way along the flight.
	mid := first.Add(last.Sub(first) / 2)
	s, err := in.StateAt(t.Context(), mid)
	if err != nil {
		t.Fatal(err)
	}
	lat, lon := f.at(f.t0.Add(f.dur / 2))
	if d := metres(s.Lat, s.Lon, lat, lon); d > 10 { // 1 m/s of replay time; a generous margin for a loaded machine
		t.Errorf("half-way: %.1f m from the flight's half-way point", d)
	}
	if !strings.Contains(logs.String(), "telemetry link open") {
		t.Errorf("no link-open line in the log:\n%s", logs.String())
	}
}

func TestOpenLiveErrors(t *testing.T) {
	addr := freeUDP(t)
	in, err := Open("udp://"+addr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if _, err := Open("udp://"+addr, Options{}); err == nil {
		t.Error("a second listener on the same UDP port: no error")
	}
	if _, err := Dial("tlog:x"); err == nil {
		t.Error("replay to a log: no error")
	}
}

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Spec
		bad  bool
	}{
		{in: "udp://127.0.0.1:14550", want: Spec{Kind: KindUDP, Address: "127.0.0.1:14550"}},
		{in: "udp://:14550", want: Spec{Kind: KindUDP, Address: ":14550"}},
		{in: "tcp://10.0.0.2:5760", want: Spec{Kind: KindTCP, Address: "10.0.0.2:5760"}},
		{in: "serial:/dev/ttyAMA0:921600", want: Spec{Kind: KindSerial, Path: "/dev/ttyAMA0", Baud: 921600}},
		{in: "serial:/dev/serial0", want: Spec{Kind: KindSerial, Path: "/dev/serial0", Baud: DefaultBaud}},
		{in: "tlog:/data/flight.tlog", want: Spec{Kind: KindLog, Path: "/data/flight.tlog"}},
		{in: "tlog:C:\\logs\\a.tlog", want: Spec{Kind: KindLog, Path: "C:\\logs\\a.tlog"}},
		{in: "udp://127.0.0.1", bad: true},
		{in: "udp://127.0.0.1:0", bad: true},
		{in: "udp:127.0.0.1:14550", bad: true},
		{in: "tcp://:5760", bad: true},
		{in: "serial:/dev/ttyS0:fast", bad: true},
		{in: "serial:", bad: true},
		{in: "tlog:", bad: true},
		{in: "/data/flight.tlog", bad: true},
		{in: "mavlink://x", bad: true},
	} {
		got, err := ParseSpec(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v, bad %v", tc.in, got, err, tc.want, tc.bad)
		}
		if !tc.bad {
			if again, err := ParseSpec(got.String()); err != nil || again != got {
				t.Errorf("ParseSpec(%q.String()) = %+v, %v", tc.in, again, err)
			}
		}
	}
}

// msgs is the number of messages in's buffer took.
func msgs(in *Input) int64 {
	n, _ := in.Messages()
	return n
}
