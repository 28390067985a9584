package sdnotify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// listen opens a unixgram socket as systemd would and returns its address
// and a function that reads one message.
func listen(t *testing.T, abstract bool) (string, func() string) {
	t.Helper()
	var addr string
	if abstract {
		addr = fmt.Sprintf("@canopy-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	} else {
		dir, err := os.MkdirTemp("", "sdn") // short: sun_path holds 108 bytes
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		addr = filepath.Join(dir, "notify")
	}
	name := addr
	if abstract {
		name = "\x00" + addr[1:]
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return addr, func() string {
		buf := make([]byte, 4096)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("read notify socket: %v", err)
		}
		return string(buf[:n])
	}
}

func TestNotifySendsDatagrams(t *testing.T) {
	for _, abstract := range []bool{false, true} {
		t.Run(fmt.Sprintf("abstract=%v", abstract), func(t *testing.T) {
			addr, read := listen(t, abstract)
			n := New(addr)
			tests := []struct {
				send func() error
				want string
			}{
				{n.Ready, "READY=1"},
				{n.Watchdog, "WATCHDOG=1"},
				{func() error { return n.Status("outbox 3\nitems") }, "STATUS=outbox 3 items"},
				{func() error { return n.Notify(MsgReload, "STATUS=x") }, "RELOADING=1\nSTATUS=x"},
				{n.Stopping, "STOPPING=1"},
			}
			for _, tc := range tests {
				if err := tc.send(); err != nil {
					t.Fatalf("send: %v", err)
				}
				if got := read(); got != tc.want {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	addr, read := listen(t, false)
	t.Setenv("NOTIFY_SOCKET", addr)
	if err := FromEnv().Ready(); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "READY=1" {
		t.Errorf("got %q, want READY=1", got)
	}
}

func TestDisabledDoesNothing(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	for _, n := range []*Notifier{nil, {}, New(""), FromEnv()} {
		if n.Enabled() {
			t.Errorf("%+v: enabled, want disabled", n)
		}
		if err := n.Ready(); err != nil {
			t.Errorf("Ready on a disabled notifier: %v", err)
		}
	}
}

func TestNotifyMissingSocket(t *testing.T) {
	err := New(filepath.Join(t.TempDir(), "gone")).Ready()
	if err == nil {
		t.Fatal("got nil, want an error for a socket that does not exist")
	}
}

func TestWatchdogInterval(t *testing.T) {
	tests := []struct {
		usec, pid string
		want      time.Duration
		ok        bool
	}{
		{"", "", 0, false},
		{"30000000", "", 30 * time.Second, true},
		{"30000000", "42", 30 * time.Second, true},
		{"30000000", "43", 0, false},
		{"30000000", "x", 0, false},
		{"0", "", 0, false},
		{"-5", "", 0, false},
		{"soon", "", 0, false},
	}
	for _, tc := range tests {
		got, ok := watchdogInterval(tc.usec, tc.pid, 42)
		if got != tc.want || ok != tc.ok {
			t.Errorf("watchdogInterval(%q, %q) = %v, %v; want %v, %v", tc.usec, tc.pid, got, ok, tc.want, tc.ok)
		}
	}
	t.Setenv("WATCHDOG_USEC", "2000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	if d, ok := WatchdogInterval(); d != 2*time.Second || !ok {
		t.Errorf("WatchdogInterval() = %v, %v; want 2s, true", d, ok)
	}
}

// recorder is a Notifier whose messages are kept in memory.
type recorder struct {
	mu   sync.Mutex
	msgs []string
	at   []time.Time
}

func (r *recorder) notifier() *Notifier {
	return &Notifier{addr: "test", send: func(m string) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.msgs = append(r.msgs, m)
		r.at = append(r.at, time.Now())
		return nil
	}}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

func TestWatchdogPingsAtHalfTheTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second+time.Millisecond)
		defer cancel()
		w := NewWatchdog(rec.notifier(), 4*time.Second, nil, nil)
		if err := w.Run(ctx); err != nil {
			t.Fatalf("Run: %v", err)
		}
		// At 0, 2, 4, 6, 8 and 10 s.
		if got := rec.count(); got != 6 {
			t.Fatalf("got %d pings, want 6: %v", got, rec.at)
		}
		for i, at := range rec.at {
			if want := time.Duration(i) * 2 * time.Second; at.Sub(start) != want {
				t.Errorf("ping %d at %v, want %v", i, at.Sub(start), want)
			}
			if rec.msgs[i] != MsgWatchdog {
				t.Errorf("ping %d sent %q, want %q", i, rec.msgs[i], MsgWatchdog)
			}
		}
	})
}

func TestWatchdogSkipsWhileUnhealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		var mu sync.Mutex
		healthy := true
		health := func() error {
			mu.Lock()
			defer mu.Unlock()
			if !healthy {
				return errors.New("capture stalled")
			}
			return nil
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- NewWatchdog(rec.notifier(), 2*time.Second, health, nil).Run(ctx) }()
		time.Sleep(2500 * time.Millisecond) // pings at 0, 1, 2
		synctest.Wait()
		if got := rec.count(); got != 3 {
			t.Fatalf("healthy: got %d pings, want 3", got)
		}
		mu.Lock()
		healthy = false
		mu.Unlock()
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if got := rec.count(); got != 3 {
			t.Fatalf("unhealthy: got %d pings, want still 3", got)
		}
		mu.Lock()
		healthy = true
		mu.Unlock()
		time.Sleep(time.Second)
		synctest.Wait()
		if got := rec.count(); got != 4 {
			t.Fatalf("healthy again: got %d pings, want 4", got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

func TestWatchdogDisabledWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		w := NewWatchdog(New(""), 10*time.Second, nil, nil)
		if w.Enabled() {
			t.Fatal("enabled without a socket")
		}
		go func() { done <- w.Run(ctx) }()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("Run returned before its context ended")
		default:
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}
