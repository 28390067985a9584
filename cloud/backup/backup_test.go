package backup_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/backup"
	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/blob/blobtest"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
)

// store is a database (and its URL) and a blob store.
type store struct {
	dsn   string
	blobs blob.Store
}

func open(t *testing.T, s store) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), s.dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestSaveRestore: a backup restored into a new database and blob store
// gives the same scan, counts and objects; restoring into a store that
// holds data is refused.
func TestSaveRestore(t *testing.T) {
	for _, b := range []struct {
		name string
		new  func(t *testing.T) store
	}{
		{"sqlite+folder", func(t *testing.T) store {
			return store{filepath.Join(t.TempDir(), "canopy.db"), blobtest.Local(t)}
		}},
		{"postgres+s3", func(t *testing.T) store { return store{dbtest.PostgresURL(t), blobtest.S3(t)} }},
	} {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			src := b.new(t)
			d := open(t, src)
			at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			for i, id := range []string{"i1", "i2"} {
				key := blob.Key("cam-1", at, id, "image.jpg")
				if err := src.blobs.Put(ctx, blob.Raw, key, bytes.Repeat([]byte{byte(i)}, 1000), "image/jpeg"); err != nil {
					t.Fatal(err)
				}
				if _, err := d.PutImage(ctx, db.Image{ItemID: id, Device: "cam-1", CapturedAt: at, RawKey: key, ScanID: "s", AddressID: "farm"}); err != nil {
					t.Fatal(err)
				}
			}
			j, _ := d.ClaimJob(ctx, "w", time.Minute)
			ann := blob.Key("cam-1", at, j.ItemID, "annotated.jpg")
			src.blobs.Put(ctx, blob.Processed, ann, []byte("drawn"), "image/jpeg")
			if err := d.CompleteJob(ctx, j.ID, db.CountRecord{Count: 7, AnnotatedKey: ann}); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			m, err := backup.Save(ctx, d, src.dsn, src.blobs, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if m.Objects[blob.Raw] != 2 || m.Objects[blob.Processed] != 1 || m.Dialect != d.Dialect() {
				t.Errorf("manifest %+v", m)
			}
			// Again, after one more object: the folder is brought up to
			// date, and an object deleted since goes from it too.
			src.blobs.Put(ctx, blob.Raw, "cam-1/extra/image.jpg", []byte("x"), "image/jpeg")
			if m, err = backup.Save(ctx, d, src.dsn, src.blobs, dir, nil); err != nil || m.Objects[blob.Raw] != 3 {
				t.Fatalf("second backup: %+v, %v", m, err)
			}
			src.blobs.Delete(ctx, blob.Raw, "cam-1/extra/image.jpg")
			if m, err = backup.Save(ctx, d, src.dsn, src.blobs, dir, nil); err != nil || m.Objects[blob.Raw] != 2 {
				t.Fatalf("third backup: %+v, %v", m, err)
			}
			if _, err := os.Stat(filepath.Join(dir, backup.BlobsDir, blob.Raw, "cam-1/extra/image.jpg")); err == nil {
				t.Error("an object deleted from the store stays in the backup")
			}

			dst := b.new(t)
			if _, err := backup.Restore(ctx, dir, dst.dsn, dst.blobs, nil); err != nil {
				t.Fatal(err)
			}
			r := open(t, dst)
			want, _ := d.GetScan(ctx, "s")
			got, err := r.GetScan(ctx, "s")
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("restored scan:\n got %+v (%v)\nwant %+v", got, err, want)
			}
			for _, bk := range blob.Buckets {
				a, _ := src.blobs.List(ctx, bk, "")
				c, _ := dst.blobs.List(ctx, bk, "")
				if !reflect.DeepEqual(a, c) {
					t.Errorf("bucket %s: %v restored, want %v", bk, c, a)
				}
			}
			raw, _, err := dst.blobs.Get(ctx, blob.Raw, got.Images[0].RawKey)
			if err != nil || len(raw) != 1000 {
				t.Errorf("restored raw object: %d bytes, %v", len(raw), err)
			}
			if _, err := backup.Restore(ctx, dir, dst.dsn, dst.blobs, nil); !errors.Is(err, backup.ErrNotEmpty) {
				t.Errorf("restore over data: %v, want ErrNotEmpty", err)
			}
			if _, err := backup.Restore(ctx, t.TempDir(), dst.dsn, dst.blobs, nil); err == nil {
				t.Error("restored a folder with no backup")
			}
		})
	}
}
