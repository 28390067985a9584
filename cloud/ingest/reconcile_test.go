package ingest

import (
	"context"
	"testing"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/blob/blobtest"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
)

func TestReconcile(t *testing.T) {
	ctx := context.Background()
	store, d := blobtest.Local(t), dbtest.SQLite(t)
	s := NewSaver(store, d, ImageLimits{})
	kept := testItem(t, "rec", 1)
	if _, err := s.Save(ctx, kept, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	// The receiver died after the objects, before the row.
	lost := testItem(t, "rec", 2)
	img, objs, err := s.check(lost, SaveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if err := store.Put(ctx, blob.Raw, o.key, o.data, o.contentType); err != nil {
			t.Fatal(err)
		}
	}
	// ... and before meta.json: an image alone cannot be linked.
	half := testItem(t, "rec", 3)
	_, objs3, _ := s.check(half, SaveOptions{})
	_ = store.Put(ctx, blob.Raw, objs3[0].key, objs3[0].data, objs3[0].contentType)

	acts, err := Reconcile(ctx, store, d, ReconcileOptions{DryRun: true})
	if err != nil || len(acts) != 2 {
		t.Fatalf("dry run: %+v, %v; want 2 actions", acts, err)
	}
	if ok, _ := d.HasRawKey(ctx, img.RawKey); ok {
		t.Fatal("dry run linked an item")
	}
	acts, err = Reconcile(ctx, store, d, ReconcileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]string{}
	for _, a := range acts {
		ops[a.ItemID] = a.Op
	}
	if ops[lost.Meta.ItemID] != "linked" || ops[half.Meta.ItemID] != "orphan" || len(ops) != 2 {
		t.Errorf("reconcile: got %v, want %s linked and %s orphan", ops, lost.Meta.ItemID, half.Meta.ItemID)
	}
	if got, err := d.GetImage(ctx, lost.Meta.ItemID); err != nil || got.RawKey != img.RawKey {
		t.Errorf("linked row: %+v, %v", got.RawKey, err)
	}
	acts, err = Reconcile(ctx, store, d, ReconcileOptions{Delete: true})
	if err != nil || len(acts) != 1 || acts[0].Op != "deleted" {
		t.Fatalf("--delete: %+v, %v; want the orphan deleted", acts, err)
	}
	if ok, _ := store.Exists(ctx, blob.Raw, objs3[0].key); ok {
		t.Error("orphan still there after --delete")
	}
	if acts, _ := Reconcile(ctx, store, d, ReconcileOptions{Delete: true}); len(acts) != 0 {
		t.Errorf("second run: %+v, want nothing to do", acts)
	}
}
