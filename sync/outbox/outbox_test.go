package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/sync/wire"
)

func item(id string, imageBytes int) wire.Item {
	return wire.Item{
		Meta: wire.Meta{ItemID: id, Device: "pi-1", Seq: 1, CapturedAt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), ForestShare: 0.5, Segmenter: "classical"},
		Parts: []wire.Part{
			{Name: wire.PartImage, ContentType: "image/jpeg", Data: bytes.Repeat([]byte{byte(len(id))}, imageBytes)},
			{Name: wire.PartMask, ContentType: "image/png", Data: []byte("mask")},
		},
	}
}

func id(i int) string { return fmt.Sprintf("01J%023d", i) }

func open(t testing.TB, path string, o Options) *Outbox {
	t.Helper()
	ob, err := Open(path, o, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	return ob
}

func ids(recs []Record) []string {
	var s []string
	for _, r := range recs {
		s = append(s, r.ID)
	}
	return s
}

func TestLifecycle(t *testing.T) {
	for _, mode := range []SyncMode{SyncAlways, SyncBatch} {
		t.Run(string(mode), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "outbox.db")
			ob := open(t, path, Options{Sync: mode})
			ctx := context.Background()
			// Out of order on purpose: Next returns id order.
			for _, i := range []int{3, 1, 2} {
				if err := ob.Put(ctx, item(id(i), 1000), Cursor{Source: "card", Position: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case <-ob.Changed():
			default:
				t.Error("Changed not signalled after Put")
			}
			recs, err := ob.Next("", 10)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fmt.Sprint(ids(recs)), fmt.Sprint([]string{id(1), id(2), id(3)}); got != want {
				t.Errorf("Next = %s, want %s", got, want)
			}
			if got := recs[0].Item.Part(wire.PartImage); len(got) != 1000 {
				t.Errorf("image of %d bytes, want 1000", len(got))
			}
			if recs, _ := ob.Next(id(1), 1); len(recs) != 1 || recs[0].ID != id(2) {
				t.Errorf("Next(after 1, 1) = %v, want [%s]", ids(recs), id(2))
			}
			if pos, _ := ob.Cursor("card"); pos != "2" {
				t.Errorf("Cursor = %q, want 2 (the last Put)", pos)
			}
			// A second Put of the same id stores nothing new.
			if err := ob.Put(ctx, item(id(1), 1000), Cursor{Source: "card", Position: "9"}); err != nil {
				t.Fatal(err)
			}
			if pos, _ := ob.Cursor("card"); pos != "9" {
				t.Errorf("Cursor after duplicate Put = %q, want 9", pos)
			}
			st, _ := ob.Stats()
			if st.Depth != 3 || st.Oldest.IsZero() {
				t.Errorf("Stats = %+v, want depth 3 and an oldest time", st)
			}
			if err := ob.Ack(id(1)); err != nil {
				t.Fatal(err)
			}
			if err := ob.Ack(id(1)); !errors.Is(err, ErrNotFound) {
				t.Errorf("second Ack: %v, want ErrNotFound", err)
			}
			if err := ob.Reject(id(2), "digest_mismatch"); err != nil {
				t.Fatal(err)
			}
			dl, err := ob.DeadLetters()
			if err != nil || len(dl) != 1 || dl[0].ID != id(2) || dl[0].Reason != "digest_mismatch" || len(dl[0].Item.Part(wire.PartImage)) != 1000 {
				t.Fatalf("DeadLetters = %+v, %v", dl, err)
			}
			st, _ = ob.Stats()
			if st.Depth != 1 || st.DeadLetters != 1 {
				t.Errorf("Stats = %+v, want depth 1 and 1 dead letter", st)
			}
			// Reopen: everything is still there.
			ob.Close()
			if err := ob.Put(ctx, item(id(4), 1), Cursor{}); !errors.Is(err, ErrClosed) {
				t.Errorf("Put after Close: %v, want ErrClosed", err)
			}
			ob = open(t, path, Options{Sync: mode})
			if err := ob.Replay(id(2)); err != nil {
				t.Fatal(err)
			}
			if err := ob.Replay(id(2)); !errors.Is(err, ErrNotFound) {
				t.Errorf("second Replay: %v, want ErrNotFound", err)
			}
			recs, _ = ob.Next("", 10)
			if got, want := fmt.Sprint(ids(recs)), fmt.Sprint([]string{id(2), id(3)}); got != want {
				t.Errorf("after Replay Next = %s, want %s", got, want)
			}
			st, _ = ob.Stats()
			var sum int64
			for _, r := range recs {
				sum += int64(r.Size)
			}
			if st.Depth != 2 || st.DeadLetters != 0 || st.DeadBytes != 0 || st.Bytes != sum {
				t.Errorf("Stats = %+v, want depth 2, bytes %d, no dead letters", st, sum)
			}
			for _, r := range recs {
				if err := ob.Ack(r.ID); err != nil {
					t.Fatal(err)
				}
			}
			st, _ = ob.Stats()
			if st != (Stats{MaxBytes: DefaultMaxBytes}) {
				t.Errorf("Stats of an empty outbox = %+v, want zero but the bound", st)
			}
		})
	}
}

func TestEviction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	ctx := context.Background()
	probe := open(t, filepath.Join(t.TempDir(), "probe.db"), Options{})
	if err := probe.Put(ctx, item(id(0), 10_000), Cursor{}); err != nil {
		t.Fatal(err)
	}
	ps, _ := probe.Stats()
	full := ps.Bytes // one record with its image
	// Room for 3 full records and then some: one eviction makes room for a 4th.
	ob := open(t, path, Options{MaxBytes: 3*full + 1000, Sync: SyncAlways})
	for i := 1; i <= 3; i++ {
		if err := ob.Put(ctx, item(id(i), 10_000), Cursor{}); err != nil {
			t.Fatal(err)
		}
	}
	if st, _ := ob.Stats(); st.Evictions != 0 {
		t.Fatalf("evictions before the bound: %d", st.Evictions)
	}
	// The 4th needs one image dropped: the oldest's.
	if err := ob.Put(ctx, item(id(4), 10_000), Cursor{}); err != nil {
		t.Fatal(err)
	}
	recs, _ := ob.Next("", 10)
	if len(recs) != 4 || !recs[0].ImageEvicted || !recs[0].Item.Meta.ImageEvicted || len(recs[0].Item.Part(wire.PartImage)) != 0 || string(recs[0].Item.Part(wire.PartMask)) != "mask" {
		t.Fatalf("oldest after eviction: %+v", recs[0])
	}
	for _, r := range recs[1:] {
		if r.ImageEvicted {
			t.Errorf("%s evicted too", r.ID)
		}
	}
	st, _ := ob.Stats()
	if st.Evictions != 1 || st.Bytes > ob.opt.MaxBytes {
		t.Errorf("Stats = %+v, want 1 eviction and bytes ≤ %d", st, ob.opt.MaxBytes)
	}
	// An item larger than the bound cannot fit, whatever is evicted:
	// refused, nothing changed but the refusal counted.
	if err := ob.Put(ctx, item(id(5), 10*int(full)), Cursor{Source: "s", Position: "5"}); !errors.Is(err, ErrFull) {
		t.Fatalf("huge Put: %v, want ErrFull", err)
	}
	want := st
	want.Refused++
	if st2, _ := ob.Stats(); st2 != want {
		t.Errorf("refused Put: Stats %+v -> %+v, want only Refused + 1", st, st2)
	}
	if pos, _ := ob.Cursor("s"); pos != "" {
		t.Errorf("refused Put recorded its cursor %q", pos)
	}
	// Keep putting: images go oldest first, then records are refused.
	n := 6
	for ; n < 100; n++ {
		if err := ob.Put(ctx, item(id(n), 10_000), Cursor{}); err != nil {
			if !errors.Is(err, ErrFull) {
				t.Fatal(err)
			}
			break
		}
	}
	recs, _ = ob.Next("", 1000)
	st, _ = ob.Stats()
	var sum int64
	evicted := 0
	for i, r := range recs {
		sum += int64(r.Size)
		if r.ImageEvicted {
			evicted++
			if i > 0 && !recs[i-1].ImageEvicted {
				t.Errorf("%s evicted before the older %s", r.ID, recs[i-1].ID)
			}
		}
	}
	if st.Bytes != sum || st.Bytes > ob.opt.MaxBytes || st.Evictions != int64(evicted) || n == 100 {
		t.Errorf("after filling: Stats %+v, %d records of %d bytes, %d evicted, stopped at %d", st, len(recs), sum, evicted, n)
	}
	t.Logf("bound %d bytes: %d records (%d without image) before ErrFull", ob.opt.MaxBytes, len(recs), evicted)
}

func TestConcurrentBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	ob := open(t, path, Options{Sync: SyncBatch, BatchWindow: 5 * time.Millisecond})
	var wg sync.WaitGroup
	const writers, each = 8, 25
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := ob.Put(context.Background(), item(id(w*1000+i), 2000), Cursor{Source: fmt.Sprint("w", w), Position: fmt.Sprint(i)}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	st, _ := ob.Stats()
	if st.Depth != writers*each {
		t.Errorf("depth %d, want %d", st.Depth, writers*each)
	}
	for w := range writers {
		if pos, _ := ob.Cursor(fmt.Sprint("w", w)); pos != fmt.Sprint(each-1) {
			t.Errorf("cursor w%d = %q, want %d", w, pos, each-1)
		}
	}
}

func TestPutInvalid(t *testing.T) {
	ob := open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{})
	for _, tc := range []struct {
		name string
		it   wire.Item
		cur  Cursor
	}{
		{"no id", item("", 1), Cursor{}},
		{"bad device", func() wire.Item { it := item(id(1), 1); it.Meta.Device = "a b"; return it }(), Cursor{}},
		{"cursor without source", item(id(1), 1), Cursor{Position: "x"}},
	} {
		if err := ob.Put(context.Background(), tc.it, tc.cur); err == nil {
			t.Errorf("%s: Put succeeded", tc.name)
		}
	}
	if _, err := Open(filepath.Join(t.TempDir(), "x.db"), Options{Sync: "sometimes"}, nil); err == nil {
		t.Error("Open with a bad sync mode succeeded")
	}
}
