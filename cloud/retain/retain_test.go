package retain_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/blob/blobtest"
	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
	"github.com/canopy-forest/canopy/cloud/ingest"
	"github.com/canopy-forest/canopy/cloud/retain"
	"github.com/canopy-forest/canopy/cloud/worker"
	"github.com/canopy-forest/canopy/sync/wire"
)

// oneTree finds one crown in every image.
type oneTree struct{}

func (oneTree) Count(ctx context.Context, img *image.RGBA) (count.Result, error) {
	return count.Result{Count: 1, Boxes: []count.Box{{XMin: 2, YMin: 2, XMax: 9, YMax: 9, Score: 0.9}}, Info: oneTree{}.Info()}, nil
}
func (oneTree) Info() count.Info { return count.Info{Method: "fake"} }
func (oneTree) Close() error     { return nil }

func encoded(t *testing.T, enc func(*bytes.Buffer, image.Image) error) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 32, 24))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	img.Set(3, 3, color.RGBA{0, 200, 0, 255})
	var b bytes.Buffer
	if err := enc(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// env is a database, a blob store and what stores and counts items in them.
type env struct {
	d     *db.DB
	blobs blob.Store
	saver *ingest.Saver
	pool  *worker.Pool
}

func backends(t *testing.T, f func(t *testing.T, e env)) {
	for _, b := range []struct {
		name  string
		d     func(t *testing.T) *db.DB
		blobs func(t *testing.T) blob.Store
	}{
		{"sqlite+folder", dbtest.SQLite, blobtest.Local},
		{"postgres+s3", dbtest.PostgresSchema, blobtest.S3},
	} {
		t.Run(b.name, func(t *testing.T) {
			d, bs := b.d(t), b.blobs(t)
			f(t, env{d: d, blobs: bs, saver: ingest.NewSaver(bs, d, ingest.ImageLimits{}), pool: worker.New(worker.Config{}, d, bs, oneTree{}, nil)})
		})
	}
}

// store saves an item of device (with a device mask when mask is set)
// received at receivedAt.
func (e env) store(t *testing.T, device, id, scan string, receivedAt time.Time, mask bool) {
	t.Helper()
	it := wire.Item{Meta: wire.Meta{ItemID: id, Device: device, Seq: 1, CapturedAt: receivedAt, ScanID: scan, Width: 32, Height: 24},
		Parts: []wire.Part{{Name: wire.PartImage, ContentType: "image/jpeg",
			Data: encoded(t, func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, nil) })}}}
	if mask {
		it.Parts = append(it.Parts, wire.Part{Name: wire.PartMask, ContentType: "image/png",
			Data: encoded(t, func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) })})
	}
	if _, err := e.saver.Save(t.Context(), it, ingest.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	// The saver stamps the time it received the item: set it back.
	q, at := `UPDATE images SET received_at = ? WHERE item_id = ?`, any(receivedAt.UTC().Format("2006-01-02T15:04:05.000000Z"))
	if e.d.Dialect() == db.Postgres {
		q, at = `UPDATE images SET received_at = $1 WHERE item_id = $2`, receivedAt
	}
	if _, err := e.d.SQL().ExecContext(t.Context(), q, at, id); err != nil {
		t.Fatal(err)
	}
}

// countAll counts every queued item.
func (e env) countAll(t *testing.T) {
	t.Helper()
	for {
		did, err := e.pool.Once(t.Context(), "w")
		if err != nil {
			t.Fatal(err)
		}
		if !did {
			return
		}
	}
}

// noOrphans runs what canopy-cloud reconcile runs and wants nothing found.
func (e env) noOrphans(t *testing.T) {
	t.Helper()
	acts, err := ingest.Reconcile(t.Context(), e.blobs, e.d, ingest.ReconcileOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	more, err := ingest.CheckStore(t.Context(), e.blobs, e.d, ingest.ReconcileOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if acts = append(acts, more...); len(acts) != 0 {
		t.Errorf("reconcile finds %d things: %+v", len(acts), acts)
	}
}

func keys(t *testing.T, bs blob.Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, b := range blob.Buckets {
		ks, err := bs.List(t.Context(), b, "")
		if err != nil {
			t.Fatal(err)
		}
		out[b] = ks
	}
	return out
}

// TestRetention: raw images older than the duration go, with their
// meta.json; rows, counts, masks (the device's too) and annotated images
// stay; images not counted yet keep theirs; reconcile finds nothing.
func TestRetention(t *testing.T) {
	backends(t, func(t *testing.T, e env) {
		ctx := t.Context()
		now := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
		e.store(t, "cam-1", "old-1", "s", now.AddDate(0, 0, -40), true)
		e.store(t, "cam-1", "old-2", "s", now.AddDate(0, 0, -31), false)
		e.store(t, "cam-1", "new-1", "s", now.AddDate(0, 0, -2), false)
		e.countAll(t)
		e.store(t, "cam-1", "old-uncounted", "s", now.AddDate(0, 0, -50), false)
		r, err := retain.New(retain.Config{After: 30 * 24 * time.Hour, Now: func() time.Time { return now }, Batch: 1}, e.d, e.blobs, nil)
		if err != nil {
			t.Fatal(err)
		}
		before := keys(t, e.blobs)
		if n, err := r.Once(ctx); err != nil || n != 2 {
			t.Fatalf("Once: %d, %v; want 2", n, err)
		}
		if n, err := r.Once(ctx); err != nil || n != 0 {
			t.Fatalf("Once again: %d, %v; want 0", n, err)
		}
		after := keys(t, e.blobs)
		if len(after[blob.Processed]) != len(before[blob.Processed]) || len(after[blob.Raw]) != len(before[blob.Raw])-4 {
			t.Errorf("objects before %v\nafter %v\nwant 4 raw objects fewer (2 images, 2 meta.json)", before, after)
		}
		for id, gone := range map[string]bool{"old-1": true, "old-2": true, "new-1": false, "old-uncounted": false} {
			img, err := e.d.GetImage(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if gone != !img.RawDeletedAt.IsZero() {
				t.Errorf("%s: raw deleted at %v, want deleted %v", id, img.RawDeletedAt, gone)
			}
			ok, _ := e.blobs.Exists(ctx, blob.Raw, img.RawKey)
			if ok == gone {
				t.Errorf("%s: raw object there: %v", id, ok)
			}
			if id != "old-uncounted" && (img.Count == nil || img.Count.AnnotatedKey == "") {
				t.Errorf("%s: count %+v", id, img.Count)
			}
			if id == "old-1" {
				if ok, _ := e.blobs.Exists(ctx, blob.Raw, img.MaskKey); !ok {
					t.Error("the device's mask of old-1 went with its raw image")
				}
			}
		}
		e.noOrphans(t)
		// Recounting images with no raw image queues nothing for them.
		if rc, err := e.d.QueueRecount(ctx, db.RecountQuery{ScanID: "s"}); err != nil || rc.Queued != 1 || rc.RawDeleted != 2 || rc.Busy != 1 {
			t.Errorf("recount after retention: %+v, %v", rc, err)
		}
	})
}

// TestPurgeDevice: every object and row of one device goes, another
// device's stay, and reconcile finds nothing.
func TestPurgeDevice(t *testing.T) {
	backends(t, func(t *testing.T, e env) {
		ctx := t.Context()
		now := time.Now().UTC()
		for i := range 3 {
			e.store(t, "cam-1", fmt.Sprintf("a%d", i), "shared", now, i == 0)
		}
		e.store(t, "cam-1", "a-own", "own", now, false)
		e.store(t, "cam-2", "b0", "shared", now, true)
		e.countAll(t)
		if _, err := e.d.QueueRecount(ctx, db.RecountQuery{ScanID: "own", Method: "fake"}); err != nil {
			t.Fatal(err)
		}
		e.countAll(t) // a recount: a kept count and a second annotated image
		if err := e.d.AddCredential(ctx, db.Credential{Username: "cam-1", Role: db.RoleDevice, PasswordHash: "x"}); err != nil {
			t.Fatal(err)
		}
		for _, dev := range []string{"cam-1", "cam-2"} {
			if err := e.d.UpdateReported(ctx, db.Reported{Device: dev, Version: 1, State: "applied"}); err != nil {
				t.Fatal(err)
			}
		}
		// An object with no row under the device's prefix (a receiver
		// died before the row): it goes too.
		if err := e.blobs.Put(ctx, blob.Raw, "cam-1/2026/01/01/stray/meta.json", []byte("{}"), "application/json"); err != nil {
			t.Fatal(err)
		}
		// A recount model no row names any more goes too.
		if err := e.blobs.Put(ctx, blob.Processed, blob.ModelKey(strings.Repeat("e", 64)), []byte("onnx"), ""); err != nil {
			t.Fatal(err)
		}
		p, err := retain.PurgeDevice(ctx, e.d, e.blobs, "cam-1")
		if err != nil {
			t.Fatal(err)
		}
		// cam-1: 4 images + 4 meta.json + 1 mask (raw), 5 counts x 2 (processed), the stray, the model.
		if p.Objects != 21 || p.Images != 4 || p.Counts != 5 || p.Scans != 1 || p.Credential != 1 || p.Desired != 1 {
			t.Errorf("purged %+v", p)
		}
		for b, ks := range keys(t, e.blobs) {
			for _, k := range ks {
				if strings.HasPrefix(k, "cam-1/") {
					t.Errorf("%s/%s left", b, k)
				}
			}
		}
		if img, err := e.d.GetImage(ctx, "b0"); err != nil || img.Count == nil {
			t.Errorf("the other device's image: %+v, %v", img, err)
		}
		if st, err := e.d.DeviceStates(ctx); err != nil || len(st) != 1 || st["cam-2"].Reported == nil {
			t.Errorf("reported states left: %+v, %v", st, err)
		}
		e.noOrphans(t)
		if p, err := retain.PurgeDevice(ctx, e.d, e.blobs, "cam-1"); err != nil || p != (retain.Purged{}) {
			t.Errorf("purge again: %+v, %v", p, err)
		}
	})
}

// TestCheckStore: what the processed bucket holds without a row, and what
// rows name without an object, are found.
func TestCheckStore(t *testing.T) {
	backends(t, func(t *testing.T, e env) {
		ctx := t.Context()
		e.store(t, "cam-1", "c0", "s", time.Now(), false)
		e.countAll(t)
		img, _ := e.d.GetImage(ctx, "c0")
		e.blobs.Put(ctx, blob.Processed, "cam-1/x/annotated.jpg", []byte("x"), "image/jpeg")
		e.blobs.Put(ctx, blob.Processed, blob.ModelKey(strings.Repeat("d", 64)), []byte("x"), "")
		e.blobs.Delete(ctx, blob.Processed, img.Count.MaskKey)
		acts, err := ingest.CheckStore(ctx, e.blobs, e.d, ingest.ReconcileOptions{Delete: true})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, a := range acts {
			got[a.Keys[0]] = a.Op
		}
		want := map[string]string{img.Count.MaskKey: "missing", "cam-1/x/annotated.jpg": "deleted", blob.ModelKey(strings.Repeat("d", 64)): "deleted"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("CheckStore: %v, want %v", got, want)
		}
		if ok, _ := e.blobs.Exists(ctx, blob.Processed, "cam-1/x/annotated.jpg"); ok {
			t.Error("the orphan is still there")
		}
	})
}

// register records a registration of scan as the registrar does: each
// image's keypoints and view, and the scan's mosaic, as objects that the
// rows name.
func (e env) register(t *testing.T, scan string, items ...string) {
	t.Helper()
	ctx := t.Context()
	if err := e.d.MarkScanChanged(ctx, scan); err != nil {
		t.Fatal(err)
	}
	c, err := e.d.ClaimRegistration(ctx, "test", time.Minute, 0)
	if err != nil || c.ScanID != scan {
		t.Fatalf("claim %s: %+v, %v", scan, c, err)
	}
	put := func(k string) {
		if err := e.blobs.Put(ctx, blob.Processed, k, []byte("x"), ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range items {
		img, err := e.d.GetImage(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		p := db.RegisteredPhoto{ItemID: id, Block: 0,
			FeaturesKey: blob.Key(img.Device, img.CapturedAt, id, "features.bin"), ViewKey: blob.Key(img.Device, img.CapturedAt, id, "view.jpg")}
		put(p.FeaturesKey)
		put(p.ViewKey)
		if err := e.d.SaveRegisteredPhoto(ctx, scan, p); err != nil {
			t.Fatal(err)
		}
	}
	m := &db.MosaicInfo{Key: "scans/" + scan + "/mosaic.jpg", PlainKey: "scans/" + scan + "/mosaic-plain.jpg"}
	put(m.Key)
	put(m.PlainKey)
	if err := e.d.FinishRegistration(ctx, c, db.ScanRegistration{State: "registered", Mosaic: m}); err != nil {
		t.Fatal(err)
	}
}

// TestPurgeRegisteredScans: a registration's objects (keypoints, views,
// mosaics) are named by its rows, so reconcile finds no orphan; purging a
// device deletes its photos' objects and the mosaic of the scan only it
// was in, and marks the scan it shares to be registered again.
func TestPurgeRegisteredScans(t *testing.T) {
	backends(t, func(t *testing.T, e env) {
		ctx := t.Context()
		now := time.Now().UTC()
		e.store(t, "cam-1", "a0", "own", now, false)
		e.store(t, "cam-1", "a1", "shared", now, false)
		e.store(t, "cam-2", "b0", "shared", now, false)
		e.countAll(t)
		e.register(t, "own", "a0")
		e.register(t, "shared", "a1", "b0")
		e.noOrphans(t)
		if _, err := retain.PurgeDevice(ctx, e.d, e.blobs, "cam-1"); err != nil {
			t.Fatal(err)
		}
		e.noOrphans(t)
		ks := keys(t, e.blobs)
		for _, k := range ks[blob.Processed] {
			if strings.HasPrefix(k, "scans/own/") || strings.HasPrefix(k, "cam-1/") {
				t.Errorf("%s left", k)
			}
		}
		if !slices.Contains(ks[blob.Processed], "scans/shared/mosaic.jpg") {
			t.Error("the shared scan's mosaic went")
		}
		if reg, err := e.d.GetRegistration(ctx, "shared"); err != nil || !reg.Pending {
			t.Errorf("the shared scan after the purge: %+v, %v; want it pending registration", reg, err)
		}
	})
}
