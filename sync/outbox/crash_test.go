package outbox

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const crashEnv = "CANOPY_OUTBOX_CRASH_CHILD"

// crashChild runs in the re-executed test binary: it Puts items from
// several goroutines until killed and prints "ok <id>" for every Put that
// returned.
func crashChild() {
	path, mode, _ := strings.Cut(os.Getenv(crashEnv), "|")
	ob, err := Open(path, Options{Sync: SyncMode(mode), MaxBytes: 1 << 40}, nil)
	if err != nil {
		fmt.Println("open error:", err)
		os.Exit(2)
	}
	fmt.Println("ready")
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				// Unique ids across runs: time plus writer and counter.
				id := fmt.Sprintf("%016x-%d-%06d", time.Now().UnixNano(), w, i)
				size := 1000 + (i%7)*30_000
				if err := ob.Put(context.Background(), item(id, size), Cursor{Source: fmt.Sprint("w", w), Position: id}); err != nil {
					fmt.Println("put error:", err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Println("ok", id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestMain(m *testing.M) {
	if os.Getenv(crashEnv) != "" {
		crashChild()
		return
	}
	os.Exit(m.Run())
}

// TestCrash kills a process that Puts items with SIGKILL at random
// moments, again and again, and checks after each kill that the file opens
// and holds every item whose Put returned.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	path := filepath.Join(t.TempDir(), "outbox.db")
	const runs = 20
	confirmedTotal, present := 0, 0
	for run := range runs {
		mode := SyncAlways
		if run%2 == 1 {
			mode = SyncBatch
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path+"|"+string(mode))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var confirmed []string
		ready := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				line := sc.Text()
				switch {
				case line == "ready":
					close(ready)
				case strings.HasPrefix(line, "ok "):
					confirmed = append(confirmed, strings.TrimPrefix(line, "ok "))
				default:
					t.Errorf("run %d: child said %q", run, line)
				}
			}
		}()
		select {
		case <-ready:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("run %d: child not ready", run)
		}
		time.Sleep(time.Duration(50+rand.IntN(300)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		cmd.Wait()

		ob, err := Open(path, Options{Sync: mode}, nil)
		if err != nil {
			t.Fatalf("run %d: reopen after SIGKILL: %v", run, err)
		}
		have := map[string]bool{}
		after := ""
		for {
			recs, err := ob.Next(after, 500)
			if err != nil {
				t.Fatalf("run %d: read: %v", run, err)
			}
			if len(recs) == 0 {
				break
			}
			for _, r := range recs {
				have[r.ID] = true
			}
			after = recs[len(recs)-1].ID
		}
		for _, id := range confirmed {
			if !have[id] {
				t.Errorf("run %d (%s): confirmed item %s lost", run, mode, id)
			}
		}
		st, _ := ob.Stats()
		if st.Depth != len(have) {
			t.Errorf("run %d: Stats.Depth %d, %d records", run, st.Depth, len(have))
		}
		for w := range 4 {
			if pos, _ := ob.Cursor(fmt.Sprint("w", w)); pos != "" && !have[pos] {
				t.Errorf("run %d: cursor of w%d names %s, which is not stored", run, w, pos)
			}
		}
		ob.Close()
		if _, err := os.Stat(path); err != nil {
			t.Fatal(err)
		}
		if m, _ := filepath.Glob(path + ".corrupt-*"); len(m) > 0 {
			t.Fatalf("run %d: file was found corrupt after SIGKILL: %v", run, m)
		}
		confirmedTotal += len(confirmed)
		present = len(have)
	}
	t.Logf("%d SIGKILL runs: %d Puts confirmed, all present after reopening; %d items in the file at the end", runs, confirmedTotal, present)
}
