package outbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeCommit records batches and takes a second of (fake) time per commit.
type fakeCommit struct {
	mu      sync.Mutex
	batches [][]string
	err     error
}

func (f *fakeCommit) commit(rs []*putReq) {
	time.Sleep(time.Second)
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.id)
		r.err = f.err
	}
	f.batches = append(f.batches, ids)
}

func (f *fakeCommit) sizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n []int
	for _, b := range f.batches {
		n = append(n, len(b))
	}
	return n
}

func TestBatcher(t *testing.T) {
	for _, tc := range []struct {
		name  string
		max   int
		puts  []time.Duration // when each Put starts
		sizes []int           // batch sizes committed
	}{
		{"together", 10, []time.Duration{0, 0, 0, 0}, []int{4}},
		{"within the window", 10, []time.Duration{0, 3 * time.Millisecond, 9 * time.Millisecond}, []int{3}},
		{"after the window", 10, []time.Duration{0, 20 * time.Millisecond}, []int{1, 1}},
		// Puts that arrive while a commit runs form the next batch.
		{"during a commit", 10, []time.Duration{0, 500 * time.Millisecond, 600 * time.Millisecond}, []int{1, 2}},
		{"max batch", 3, []time.Duration{0, 0, 0, 0, 0, 0, 0}, []int{3, 3, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeCommit{}
				b := newBatcher(10*time.Millisecond, tc.max, f.commit)
				go b.run()
				start := time.Now()
				var wg sync.WaitGroup
				for i, at := range tc.puts {
					wg.Go(func() {
						time.Sleep(at)
						before := len(f.sizes())
						if err := b.do(context.Background(), &putReq{id: fmt.Sprint(i)}); err != nil {
							t.Error(err)
						}
						// Put returns only once its own commit is done.
						if len(f.sizes()) <= before {
							t.Errorf("put %d returned before a commit", i)
						}
					})
				}
				wg.Wait()
				b.stop()
				if got := f.sizes(); fmt.Sprint(got) != fmt.Sprint(tc.sizes) {
					t.Errorf("batch sizes %v, want %v", got, tc.sizes)
				}
				t.Logf("all puts done after %v", time.Since(start))
			})
		})
	}
}

func TestBatcherErrorAndContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("disk on fire")
		f := &fakeCommit{err: boom}
		b := newBatcher(10*time.Millisecond, 10, f.commit)
		go b.run()
		if err := b.do(context.Background(), &putReq{id: "a"}); !errors.Is(err, boom) {
			t.Errorf("got %v, want the commit's error", err)
		}
		// A caller that gives up still gets its request committed.
		f.err = nil
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := b.do(ctx, &putReq{id: "b"}); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want DeadlineExceeded", err)
		}
		b.stop()
		if got := f.sizes(); fmt.Sprint(got) != "[1 1]" {
			t.Errorf("batches %v, want [1 1]", got)
		}
	})
}
