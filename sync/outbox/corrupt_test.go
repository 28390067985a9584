package outbox

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestCorrupt damages an outbox file in several ways and checks that Open
// moves it aside, logs an error and starts an empty outbox, without a panic.
func TestCorrupt(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.db")
	ob := open(t, good, Options{Sync: SyncAlways})
	for i := range 20 {
		if err := ob.Put(context.Background(), item(id(i), 5000), Cursor{}); err != nil {
			t.Fatal(err)
		}
	}
	ob.Close()
	orig, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		damage  func([]byte) []byte
		corrupt bool
	}{
		{"intact", func(b []byte) []byte { return b }, false},
		{"empty file", func(b []byte) []byte { return nil }, false}, // bbolt initialises an empty file
		{"garbage", func(b []byte) []byte { return bytes.Repeat([]byte("garbage!"), 4096) }, true},
		{"truncated to 100 bytes", func(b []byte) []byte { return b[:100] }, true},
		{"truncated to half", func(b []byte) []byte { return b[:len(b)/2] }, true},
		{"bad magic in both meta pages", func(b []byte) []byte {
			for _, off := range []int{16, 4096 + 16} {
				b[off] ^= 0xff
			}
			return b
		}, true},
		{"data pages zeroed", func(b []byte) []byte {
			for i := 4 * 4096; i < len(b) && i < 12*4096; i++ {
				b[i] = 0
			}
			return b
		}, true},
		{"data pages scrambled", func(b []byte) []byte {
			for i := 2 * 4096; i < len(b); i += 7 {
				b[i] ^= 0x5a
			}
			return b
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "outbox.db")
			if err := os.WriteFile(path, tc.damage(bytes.Clone(orig)), 0o600); err != nil {
				t.Fatal(err)
			}
			var logs strings.Builder
			log := slog.New(slog.NewTextHandler(&logs, nil))
			ob, err := Open(path, Options{}, log)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer ob.Close()
			aside, _ := filepath.Glob(path + ".corrupt-*")
			if got := len(aside) == 1; got != tc.corrupt {
				t.Fatalf("moved aside: %v, want %v (log: %s)", aside, tc.corrupt, logs.String())
			}
			st, err := ob.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if tc.corrupt {
				if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "corrupt") {
					t.Errorf("no error logged: %s", logs.String())
				}
				if st.Depth != 0 {
					t.Errorf("fresh outbox has depth %d", st.Depth)
				}
				// The fresh outbox works.
				if err := ob.Put(context.Background(), item(id(1), 10), Cursor{}); err != nil {
					t.Error(err)
				}
			} else if tc.name == "intact" && st.Depth != 20 {
				t.Errorf("intact file: depth %d, want 20", st.Depth)
			}
			t.Logf("log: %s", logs.String())
		})
	}
}

// TestLocked checks that a file held by another process is not taken for
// a corrupt one.
func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer func(d time.Duration) { lockTimeout = d }(lockTimeout)
	lockTimeout = 200 * time.Millisecond
	// bbolt's flock is per open file description: a second Open in the
	// same process waits for the lock like another process would.
	start := time.Now()
	if _, err := Open(path, Options{}, nil); err == nil {
		t.Fatal("Open of a locked file succeeded")
	}
	if m, _ := filepath.Glob(path + ".corrupt-*"); len(m) > 0 {
		t.Errorf("locked file moved aside: %v", m)
	}
	t.Logf("gave up after %v", time.Since(start).Round(time.Millisecond))
}
