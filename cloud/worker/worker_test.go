package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"sync"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
	"github.com/canopy-forest/canopy/cloud/worker"
)

// fakeCounter finds one box per image and records how often each size was counted.
type fakeCounter struct {
	mu    sync.Mutex
	calls int
}

func (f *fakeCounter) Count(ctx context.Context, img *image.RGBA) (count.Result, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	return count.Result{Count: 1, Boxes: []count.Box{{XMin: 2, YMin: 2, XMax: 10, YMax: 10, Score: 0.9}}, Info: f.Info()}, nil
}
func (f *fakeCounter) Info() count.Info { return count.Info{Method: "fake"} }
func (f *fakeCounter) Close() error     { return nil }

func pngBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for i := range img.Pix {
		img.Pix[i] = 90
	}
	img.Set(5, 5, color.RGBA{0, 200, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func setup(t *testing.T, d *db.DB, n int) blob.Store {
	t.Helper()
	ctx := t.Context()
	bs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := blob.EnsureBuckets(ctx, bs); err != nil {
		t.Fatal(err)
	}
	data := pngBytes(t)
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		id := fmt.Sprintf("item-%03d", i)
		key := blob.Key("dev1", at, id, "image.png")
		if err := bs.Put(ctx, blob.Raw, key, data, "image/png"); err != nil {
			t.Fatal(err)
		}
		if _, err := d.PutImage(ctx, db.Image{ItemID: id, Device: "dev1", Seq: uint64(i + 1), CapturedAt: at, Width: 32, Height: 32,
			ScanID: "scan1", Origin: db.OriginDevice, RawKey: key}); err != nil {
			t.Fatal(err)
		}
	}
	return bs
}

func backends(t *testing.T, f func(t *testing.T, d *db.DB)) {
	t.Run("sqlite", func(t *testing.T) { f(t, dbtest.SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, dbtest.PostgresSchema(t)) })
}

// Two workers never count the same job: every job is counted exactly once.
func TestTwoWorkersCountEachOnce(t *testing.T) {
	backends(t, func(t *testing.T, d *db.DB) {
		const n = 12
		bs := setup(t, d, n)
		fc := &fakeCounter{}
		p := worker.New(worker.Config{}, d, bs, fc, nil)
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Go(func() {
				for {
					did, err := p.Once(t.Context(), fmt.Sprintf("w%d", w))
					if err != nil {
						t.Error(err)
						return
					}
					if !did {
						return
					}
				}
			})
		}
		wg.Wait()
		if fc.calls != n {
			t.Errorf("counter ran %d times for %d jobs", fc.calls, n)
		}
		sc, err := d.GetScan(t.Context(), "scan1")
		if err != nil {
			t.Fatal(err)
		}
		if sc.Counted != n || sc.TotalTrees != n {
			t.Errorf("scan: counted %d, total %d; want %d, %d", sc.Counted, sc.TotalTrees, n, n)
		}
		img, err := d.GetImage(t.Context(), "item-000")
		if err != nil {
			t.Fatal(err)
		}
		if img.State != db.StateCounted || img.Count == nil || img.Count.AnnotatedKey == "" || img.Count.MaskKey == "" {
			t.Fatalf("image after counting: %+v", img)
		}
		for _, k := range []string{img.Count.AnnotatedKey, img.Count.MaskKey} {
			if ok, err := bs.Exists(t.Context(), blob.Processed, k); err != nil || !ok {
				t.Errorf("processed %s: exists %v, %v", k, ok, err)
			}
		}
	})
}

// A worker killed while holding a job (its lease expires) does not lose
// it: another worker counts it, once.
func TestExpiredLeaseCountedOnce(t *testing.T) {
	backends(t, func(t *testing.T, d *db.DB) {
		bs := setup(t, d, 1)
		if _, err := d.ClaimJob(t.Context(), "dead", 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		fc := &fakeCounter{}
		p := worker.New(worker.Config{}, d, bs, fc, nil)
		if did, err := p.Once(t.Context(), "alive"); err != nil || did {
			t.Fatalf("claimed a leased job: %v %v", did, err)
		}
		time.Sleep(1100 * time.Millisecond)
		if did, err := p.Once(t.Context(), "alive"); err != nil || !did {
			t.Fatalf("expired job not claimed: %v %v", did, err)
		}
		if did, _ := p.Once(t.Context(), "alive"); did {
			t.Fatal("job claimed again after completion")
		}
		if fc.calls != 1 {
			t.Errorf("counted %d times", fc.calls)
		}
		img, err := d.GetImage(t.Context(), "item-000")
		if err != nil || img.State != db.StateCounted {
			t.Fatalf("state %q, %v", img.State, err)
		}
	})
}

// A raw image that does not decode fails the job with the reason.
func TestCorruptImageFails(t *testing.T) {
	d := dbtest.SQLite(t)
	bs := setup(t, d, 1)
	img, _ := d.GetImage(t.Context(), "item-000")
	if err := bs.Put(t.Context(), blob.Raw, img.RawKey, []byte("not an image"), "image/png"); err != nil {
		t.Fatal(err)
	}
	p := worker.New(worker.Config{}, d, bs, &fakeCounter{}, nil)
	if did, err := p.Once(t.Context(), "w"); err != nil || !did {
		t.Fatal(did, err)
	}
	img, _ = d.GetImage(t.Context(), "item-000")
	if img.State == db.StateCounted {
		t.Fatal("corrupt image counted")
	}
}

// The device's own mask (in the raw bucket) becomes the processed mask.
func TestDeviceMaskUsed(t *testing.T) {
	d := dbtest.SQLite(t)
	bs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	blob.EnsureBuckets(t.Context(), bs)
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	raw, mask := blob.Key("dev1", at, "m1", "image.png"), blob.Key("dev1", at, "m1", "mask.png")
	maskData := pngBytes(t)
	bs.Put(t.Context(), blob.Raw, raw, pngBytes(t), "image/png")
	bs.Put(t.Context(), blob.Raw, mask, maskData, "image/png")
	if _, err := d.PutImage(t.Context(), db.Image{ItemID: "m1", Device: "dev1", Seq: 1, CapturedAt: at, Width: 32, Height: 32,
		Origin: db.OriginDevice, RawKey: raw, MaskKey: mask}); err != nil {
		t.Fatal(err)
	}
	p := worker.New(worker.Config{}, d, bs, &fakeCounter{}, nil)
	if did, err := p.Once(t.Context(), "w"); err != nil || !did {
		t.Fatal(did, err)
	}
	img, err := d.GetImage(t.Context(), "m1")
	if err != nil || img.Count == nil {
		t.Fatal(img, err)
	}
	got, _, err := bs.Get(t.Context(), blob.Processed, img.Count.MaskKey)
	if err != nil || !bytes.Equal(got, maskData) {
		t.Errorf("processed mask is not the device's (%v)", err)
	}
}
