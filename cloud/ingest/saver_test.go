package ingest

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/sync/wire"
)

func TestSaver(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		mod    func(*wire.Item)
		reason string // "" = stored
	}{
		{"valid", func(*wire.Item) {}, ""},
		{"no mask", func(it *wire.Item) { it.Parts = it.Parts[:1] }, ""},
		{"png image", func(it *wire.Item) {
			it.Parts[0] = wire.Part{Name: wire.PartImage, ContentType: "image/png", Data: testPNG(t, 8, 8)}
		}, ""},
		{"no image", func(it *wire.Item) { it.Parts = it.Parts[1:] }, ReasonBadImage},
		{"garbage image", func(it *wire.Item) { it.Parts[0].Data = []byte("not a jpeg at all") }, ReasonBadImage},
		{"truncated jpeg", func(it *wire.Item) { it.Parts[0].Data = it.Parts[0].Data[:4] }, ReasonBadImage},
		{"garbage mask", func(it *wire.Item) { it.Parts[1].Data = []byte("nope") }, ReasonBadImage},
		{"type mismatch", func(it *wire.Item) { it.Parts[0].ContentType = "image/png" }, ReasonBadImage},
		{"bad device", func(it *wire.Item) { it.Meta.Device = "a/b" }, ReasonBadMeta},
		{"bad id", func(it *wire.Item) { it.Meta.ItemID = "../x" }, ReasonBadMeta},
		{"forest share NaN", func(it *wire.Item) { it.Meta.ForestShare = math.NaN() }, ReasonBadMeta},
		{"latitude out of range", func(it *wire.Item) { it.Meta.GPS = &wire.GPS{Lat: 200, Lon: 0} }, ReasonBadMeta},
		{"no capture time", func(it *wire.Item) { it.Meta.CapturedAt = time.Time{} }, ReasonBadMeta},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, err := blob.NewLocal(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if err := blob.EnsureBuckets(ctx, store); err != nil {
				t.Fatal(err)
			}
			fdb := newFakeDB()
			s := NewSaver(store, fdb, ImageLimits{})
			it := testItem(t, "dev1", 1)
			tt.mod(&it)
			saved, err := s.Save(ctx, it, SaveOptions{})
			keys, lerr := store.List(ctx, blob.Raw, "")
			if lerr != nil {
				t.Fatal(lerr)
			}
			if tt.reason != "" {
				rej, ok := IsReject(err)
				if !ok || rej.Reason != tt.reason {
					t.Fatalf("Save: got %v, want a rejection %q", err, tt.reason)
				}
				if len(keys) != 0 || fdb.count() != 0 {
					t.Errorf("rejected item left %d objects and %d rows, want none", len(keys), fdb.count())
				}
				return
			}
			if err != nil {
				t.Fatalf("Save: %v", err)
			}
			if saved.Duplicate {
				t.Error("first Save: Duplicate true")
			}
			want := 2 + len(it.Parts) - 1 // image, meta, and the mask if any
			if len(keys) != want {
				t.Errorf("objects: got %v, want %d", keys, want)
			}
			got, _, err := store.Get(ctx, blob.Raw, saved.Image.RawKey)
			if err != nil || string(got) != string(it.Parts[0].Data) {
				t.Errorf("image object: err %v, %d bytes, want %d", err, len(got), len(it.Parts[0].Data))
			}
			again, err := s.Save(ctx, it, SaveOptions{})
			if err != nil || !again.Duplicate || again.Image.RawKey != saved.Image.RawKey {
				t.Errorf("second Save: %+v, %v; want a duplicate on the same key", again.Image.RawKey, err)
			}
			if fdb.count() != 1 {
				t.Errorf("rows: got %d, want 1", fdb.count())
			}
		})
	}
}

func TestSaverKeysAndLimits(t *testing.T) {
	ctx := context.Background()
	store, _ := blob.NewLocal(t.TempDir())
	_ = blob.EnsureBuckets(ctx, store)
	fdb := newFakeDB()
	it := testItem(t, "dev1", 1)

	s := NewSaver(store, fdb, ImageLimits{MaxPixels: 64*48 - 1})
	if _, err := s.Save(ctx, it, SaveOptions{}); !isReason(err, ReasonTooLarge) {
		t.Errorf("over the pixel limit: got %v, want %s", err, ReasonTooLarge)
	}
	s = NewSaver(store, fdb, ImageLimits{MaxBytes: 10})
	if _, err := s.Save(ctx, it, SaveOptions{}); !isReason(err, ReasonTooLarge) {
		t.Errorf("over the byte limit: got %v, want %s", err, ReasonTooLarge)
	}

	s = NewSaver(store, fdb, ImageLimits{})
	saved, err := s.Save(ctx, it, SaveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantKey := blob.Key("dev1", it.Meta.CapturedAt, it.Meta.ItemID, ObjectImage)
	if saved.Image.RawKey != wantKey || saved.Image.MaskKey != blob.Key("dev1", it.Meta.CapturedAt, it.Meta.ItemID, ObjectMask) {
		t.Errorf("keys: got %s, %s; want %s and its mask", saved.Image.RawKey, saved.Image.MaskKey, wantKey)
	}
	if saved.Image.Lat == nil || *saved.Image.Lat != 45.5 || saved.Image.Width != 64 || saved.Image.Origin != OriginDevice {
		t.Errorf("row: got %+v", saved.Image)
	}

	it2 := testItem(t, "dev1", 2)
	saved, err = s.Save(ctx, it2, SaveOptions{Origin: OriginCompat, KeyPrefix: "compat/abc"})
	if err != nil || saved.Image.RawKey != "compat/abc/image.jpg" || saved.Image.Origin != OriginCompat {
		t.Errorf("key prefix: got %s (%s), %v", saved.Image.RawKey, saved.Image.Origin, err)
	}

	fdb.failPut = errors.New("database down")
	if _, err := s.Save(ctx, testItem(t, "dev1", 3), SaveOptions{}); err == nil || isReason(err, "") {
		t.Errorf("database failure: got %v, want a transient error", err)
	}
}

func isReason(err error, reason string) bool {
	rej, ok := IsReject(err)
	return ok && (reason == "" || rej.Reason == reason)
}

// TestSaverEvicted: an item whose image the device evicted is stored as a
// row in state image_evicted with its mask and meta.json, and never
// replaces an item stored whole before.
func TestSaverEvicted(t *testing.T) {
	ctx := context.Background()
	store, _ := blob.NewLocal(t.TempDir())
	_ = blob.EnsureBuckets(ctx, store)
	fdb := newFakeDB()
	s := NewSaver(store, fdb, ImageLimits{})

	it := testItem(t, "dev1", 1)
	it.Meta.ImageEvicted = true
	it.Parts[0].Data = nil
	saved, err := s.Save(ctx, it, SaveOptions{})
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
	img := saved.Image
	if img.State != db.StateImageEvicted || img.RawKey != "" || img.MaskKey == "" || img.Width != 64 || img.ForestShare != 0.5 {
		t.Errorf("row: got %+v, want state image_evicted, no raw key, the mask, the device's size and share", img)
	}
	keys, _ := store.List(ctx, blob.Raw, "")
	if len(keys) != 2 {
		t.Errorf("objects: got %v, want mask.png and meta.json", keys)
	}
	meta, _, err := store.Get(ctx, blob.Raw, blob.Key("dev1", it.Meta.CapturedAt, it.Meta.ItemID, ObjectMeta))
	if err != nil {
		t.Fatal(err)
	}
	if back, err := decodeMeta(meta); err != nil || back.State != db.StateImageEvicted {
		t.Errorf("meta.json: state %q, %v; want image_evicted", back.State, err)
	}

	// Stored whole first, then sent again without its image (evicted
	// before the ack came back): a duplicate, the whole item untouched.
	whole := testItem(t, "dev1", 2)
	first, err := s.Save(ctx, whole, SaveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	evicted := whole
	evicted.Meta.ImageEvicted = true
	evicted.Parts = []wire.Part{{Name: wire.PartImage, ContentType: "image/jpeg"}, whole.Parts[1]}
	again, err := s.Save(ctx, evicted, SaveOptions{})
	if err != nil || !again.Duplicate {
		t.Fatalf("evicted copy of a stored item: %+v, %v; want a duplicate", again, err)
	}
	meta, _, _ = store.Get(ctx, blob.Raw, blob.Key("dev1", whole.Meta.CapturedAt, whole.Meta.ItemID, ObjectMeta))
	if back, err := decodeMeta(meta); err != nil || back.State != db.StateStored || back.RawKey != first.Image.RawKey {
		t.Errorf("meta.json after the evicted copy: %+v, %v; want the whole item's", back, err)
	}

	// Without the flag, a missing image is still a rejection.
	bare := testItem(t, "dev1", 3)
	bare.Parts[0].Data = nil
	if _, err := s.Save(ctx, bare, SaveOptions{}); !isReason(err, ReasonBadImage) {
		t.Errorf("no image, not evicted: got %v, want %s", err, ReasonBadImage)
	}
}
