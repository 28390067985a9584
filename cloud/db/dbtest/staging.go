package dbtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

func chunk(dev, id string, i, n int) db.StagedChunk {
	return db.StagedChunk{Device: dev, ItemID: id, Chunk: i, Chunks: n, Frame: []byte(fmt.Sprintf("frame %s/%s/%d", dev, id, i))}
}

func testStaging(t *testing.T, d *db.DB) {
	ctx := context.Background()
	if n, err := d.StageChunks(ctx, []db.StagedChunk{chunk("dev-1", "i1", 0, 3), chunk("dev-1", "i1", 2, 3)}); err != nil || n != 2 {
		t.Fatalf("StageChunks(0, 2 of 3) = %d, %v; want 2", n, err)
	}
	// A copy of a staged chunk is not staged twice; another device's
	// chunks are apart.
	if n, err := d.StageChunks(ctx, []db.StagedChunk{chunk("dev-1", "i1", 2, 3)}); err != nil || n != 2 {
		t.Fatalf("StageChunks(copy of 2) = %d, %v; want 2", n, err)
	}
	if n, err := d.StageChunks(ctx, []db.StagedChunk{chunk("dev-2", "i1", 1, 3)}); err != nil || n != 1 {
		t.Fatalf("StageChunks(dev-2) = %d, %v; want 1", n, err)
	}
	if st, err := d.Staged(ctx); err != nil || st.Items != 2 || st.Chunks != 3 || st.Bytes == 0 {
		t.Errorf("Staged = %+v, %v; want 2 items, 3 chunks", st, err)
	}
	if n, err := d.StageChunks(ctx, []db.StagedChunk{chunk("dev-1", "i1", 1, 3)}); err != nil || n != 3 {
		t.Fatalf("StageChunks(last) = %d, %v; want 3", n, err)
	}
	got, err := d.TakeStaged(ctx, "dev-1", "i1")
	if err != nil || len(got) != 3 {
		t.Fatalf("TakeStaged = %d chunks, %v; want 3", len(got), err)
	}
	for i, c := range got {
		if want := chunk("dev-1", "i1", i, 3); c.Chunk != i || c.Chunks != 3 || string(c.Frame) != string(want.Frame) {
			t.Errorf("chunk %d: got %d of %d, %q; want %q", i, c.Chunk, c.Chunks, c.Frame, want.Frame)
		}
	}
	if got, err := d.TakeStaged(ctx, "dev-1", "i1"); err != nil || len(got) != 0 {
		t.Errorf("TakeStaged again = %d chunks, %v; want none", len(got), err)
	}
	if _, err := d.StageChunks(ctx, []db.StagedChunk{chunk("dev-1", "a", 0, 2), chunk("dev-1", "b", 0, 2)}); !errors.Is(err, db.ErrInvalid) {
		t.Errorf("StageChunks of two items = %v, want ErrInvalid", err)
	}
	// Expiry removes what was staged before the cut.
	if n, err := d.ExpireStaged(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Errorf("ExpireStaged(an hour ago) = %d, %v; want 0", n, err)
	}
	if n, err := d.ExpireStaged(ctx, time.Now().Add(time.Second)); err != nil || n != 1 {
		t.Errorf("ExpireStaged(now) = %d, %v; want 1 (dev-2's chunk)", n, err)
	}
	if st, err := d.Staged(ctx); err != nil || st != (db.StagedStats{}) {
		t.Errorf("Staged after expiry = %+v, %v; want nothing", st, err)
	}
}

// StageAcross has receivers on several handles stage the chunks of many
// items, each chunk reaching one of them (a shared subscription), and take
// each item when their write completes it: every item must be taken whole
// exactly once. Every fifth item also has its chunks sent again to every
// handle (a retransmission): such an item is taken whole at least once (a
// complete second copy is taken again, and stored again idempotently).
func StageAcross(t *testing.T, dbs []*db.DB) {
	const items, chunks = 40, 4
	ctx := context.Background()
	var mu sync.Mutex
	taken := map[string]int{}
	var wg sync.WaitGroup
	for h, d := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < items; i++ {
				id := fmt.Sprintf("item-%03d", i)
				for c := 0; c < chunks; c++ {
					if (i+c)%len(dbs) != h && i%5 != 0 {
						continue // this chunk went to another receiver
					}
					n, err := d.StageChunks(ctx, []db.StagedChunk{chunk("dev-1", id, c, chunks)})
					if err != nil {
						t.Errorf("handle %d: StageChunks: %v", h, err)
						return
					}
					if n < chunks {
						continue
					}
					got, err := d.TakeStaged(ctx, "dev-1", id)
					if err != nil {
						t.Errorf("handle %d: TakeStaged: %v", h, err)
						return
					}
					if len(got) == chunks {
						mu.Lock()
						taken[id]++
						mu.Unlock()
					}
				}
			}
		}()
	}
	wg.Wait()
	for i := 0; i < items; i++ {
		id := fmt.Sprintf("item-%03d", i)
		switch {
		case i%5 == 0 && taken[id] < 1:
			t.Errorf("%s (sent again) taken whole %d times, want at least once", id, taken[id])
		case i%5 != 0 && taken[id] != 1:
			t.Errorf("%s taken whole %d times, want once", id, taken[id])
		}
	}
}

func testEvicted(t *testing.T, d *db.DB) {
	ctx := context.Background()
	img := image("ev1", "dev-1", t0)
	img.RawKey, img.State, img.ScanID = "", db.StateImageEvicted, "scan-e"
	img.MaskKey = "dev-1/ev1/mask.png"
	put(t, d, img)
	got, err := d.GetImage(ctx, "ev1")
	if err != nil || got.State != db.StateImageEvicted || got.RawKey != "" || got.Count != nil {
		t.Fatalf("GetImage = %+v, %v; want state image_evicted, no raw key, no count", got, err)
	}
	if ok, err := d.HasImage(ctx, "ev1"); err != nil || !ok {
		t.Errorf("HasImage(ev1) = %v, %v; want true", ok, err)
	}
	if ok, err := d.HasImage(ctx, "nope"); err != nil || ok {
		t.Errorf("HasImage(nope) = %v, %v; want false", ok, err)
	}
	if _, err := d.ClaimJob(ctx, "w", time.Minute); !errors.Is(err, db.ErrNoJob) {
		t.Errorf("ClaimJob = %v, want ErrNoJob: an evicted image is not counted", err)
	}
	stored := image("ev2", "dev-1", t0)
	stored.ScanID = "scan-e"
	put(t, d, stored)
	s, err := d.GetScan(ctx, "scan-e")
	if err != nil || s.ImageCount != 2 || s.Evicted != 1 || s.Counted != 0 {
		t.Errorf("GetScan = %+v, %v; want 2 images, 1 evicted, 0 counted", s, err)
	}
	// Only an evicted image may come without a raw key.
	bad := image("ev3", "dev-1", t0)
	bad.RawKey = ""
	if _, err := d.PutImage(ctx, bad); !errors.Is(err, db.ErrInvalid) {
		t.Errorf("PutImage(stored, no raw key) = %v, want ErrInvalid", err)
	}
}
