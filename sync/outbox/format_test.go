package outbox

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/sync/internal/fixture"
	"github.com/canopy-forest/canopy/sync/wire"
	bolt "go.etcd.io/bbolt"
)

// fixtureItem is item i of the fixture as it was put.
func fixtureItem(i int) wire.Item {
	sizes := map[int]int{1: 200_000, 2: 1_000, 3: 300_000, 4: 40_000, 5: 100_000}
	return wire.Item{
		Meta: wire.Meta{ItemID: id(i), Device: "fixture-1", Seq: uint64(i),
			CapturedAt: time.Date(2026, 12, 1, 0, 0, i, 0, time.UTC), ClockSynced: true, ForestShare: 0.25,
			Segmenter: "classical", Source: fmt.Sprintf("img_%d.jpg", i)},
		Parts: []wire.Part{
			{Name: wire.PartImage, ContentType: "image/jpeg", Data: bytes.Repeat([]byte(fmt.Sprintf("image %d ", i)), sizes[i]/8)},
			{Name: wire.PartMask, ContentType: "image/png", Data: []byte(fmt.Sprintf("mask %d", i))},
		},
	}
}

// TestOpenV1 opens an outbox written by the earlier release (see
// fixture.OutboxV1): its counters,
// cursor, dead letter and evicted item are as they were, its version 1
// records are read (as items and as frames), acknowledged and replayed,
// and new items are stored as version 2 beside them.
func TestOpenV1(t *testing.T) {
	path := fixture.OutboxV1(t)
	ob := open(t, path, Options{MaxBytes: 600_000})
	st, err := ob.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Depth != 4 || st.DeadLetters != 1 || st.Evictions != 1 || st.Bytes <= 0 {
		t.Fatalf("stats %+v: want depth 4, 1 dead letter, 1 eviction", st)
	}
	if pos, _ := ob.Cursor("card"); pos != "5" {
		t.Errorf("cursor: got %q, want 5", pos)
	}
	recs, err := ob.Next("", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(recs), " "); got != strings.Join([]string{id(1), id(2), id(3), id(5)}, " ") {
		t.Fatalf("Next: %s", got)
	}
	for _, r := range recs {
		i := int(r.Item.Meta.Seq)
		want := fixtureItem(i)
		if i == 1 {
			want, _ = withoutImage(want)
			if !r.ImageEvicted || !r.Item.Meta.ImageEvicted {
				t.Errorf("item 1: evicted %v/%v, want true", r.ImageEvicted, r.Item.Meta.ImageEvicted)
			}
		}
		if !sameParts(r.Item, want) || r.Digest != wire.BodyDigest(want) {
			t.Errorf("item %d read back differs from what was put", i)
		}
		// Its frames (chunked on read) make the same item.
		j, err := wire.Join(r.Frames)
		if err != nil || !sameParts(j, want) {
			t.Errorf("item %d: frames join to a different item (%v)", i, err)
		}
	}
	fast, err := ob.NextSkip("", 10, nil)
	if err != nil || len(fast) != 4 || fast[2].Digest != wire.BodyDigest(fixtureItem(3)) || len(fast[2].Frames) != 3 {
		t.Fatalf("NextSkip: %d records, err %v", len(fast), err)
	}
	// A new item is stored as version 2 beside them.
	if err := ob.Put(context.Background(), item(id(6), 10_000), Cursor{}); err != nil {
		t.Fatal(err)
	}
	if n, err := ob.AckMany(id(1), id(2), id(3), id(5)); err != nil || n != 4 {
		t.Fatalf("AckMany: %d, %v", n, err)
	}
	dl, err := ob.DeadLetters()
	if err != nil || len(dl) != 1 || dl[0].ID != id(4) || dl[0].Reason != "digest_mismatch" || !sameParts(dl[0].Item, fixtureItem(4)) {
		t.Fatalf("dead letters: %+v, %v", dl, err)
	}
	if err := ob.Replay(id(4)); err != nil {
		t.Fatal(err)
	}
	recs, err = ob.NextSkip("", 10, nil)
	if err != nil || len(recs) != 2 || recs[0].ID != id(4) || recs[1].ID != id(6) {
		t.Fatalf("after acks and replay: %v, %v", ids(recs), err)
	}
	if j, err := wire.Join(recs[0].Frames); err != nil || !sameParts(j, fixtureItem(4)) {
		t.Errorf("replayed version 1 record: %v", err)
	}
	if recs[1].Item.Meta.ItemID != "" {
		t.Errorf("NextSkip decoded the item of a version 2 record")
	}
	// Closed and opened again: format 2 now, the version 1 record still reads.
	ob.Close()
	ob = open(t, path, Options{})
	if st, err := ob.Stats(); err != nil || st.Depth != 2 {
		t.Fatalf("reopened: %+v, %v", st, err)
	}
}

func sameParts(a, b wire.Item) bool {
	if a.Meta.ItemID != b.Meta.ItemID || a.Meta.Device != b.Meta.Device || len(a.Parts) != len(b.Parts) {
		return false
	}
	for i := range a.Parts {
		if a.Parts[i].Name != b.Parts[i].Name || a.Parts[i].ContentType != b.Parts[i].ContentType || !bytes.Equal(a.Parts[i].Data, b.Parts[i].Data) {
			return false
		}
	}
	return true
}

// TestFrames: records are stored as frames of at most Options.ChunkSize
// bytes that join back into the item put.
func TestFrames(t *testing.T) {
	for _, size := range []int{1024, 4096, 128 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			ob := open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{ChunkSize: size})
			it := item(id(1), 30_000)
			if err := ob.Put(context.Background(), it, Cursor{}); err != nil {
				t.Fatal(err)
			}
			recs, err := ob.NextSkip("", 1, nil)
			if err != nil || len(recs) != 1 {
				t.Fatalf("NextSkip: %v, %v", recs, err)
			}
			r := recs[0]
			for i, f := range r.Frames {
				if len(f) > size {
					t.Errorf("frame %d: %d bytes, more than %d", i, len(f), size)
				}
			}
			j, err := wire.Join(r.Frames)
			if err != nil || !sameParts(j, it) || r.Digest != wire.BodyDigest(it) {
				t.Errorf("frames join to %v (err %v); digest %s", j.Meta, err, r.Digest)
			}
		})
	}
}

// TestDamagedRecord flips a bit of a stored record on disk: the read that
// meets it says so (an error in the log), moves it to the dead letters with
// the reason, counts it, and goes on with the records after it.
func TestDamagedRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	ob, err := Open(path, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if err := ob.Put(context.Background(), item(id(i), 20_000), Cursor{}); err != nil {
			t.Fatal(err)
		}
	}
	ob.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketItems)
		v := bytes.Clone(b.Get([]byte(id(2))))
		v[len(v)-5000] ^= 0x10 // a bit of the image
		return b.Put([]byte(id(2)), v)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, read := range []string{"NextSkip", "Next"} {
		t.Run(read, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "outbox.db")
			raw, _ := os.ReadFile(path)
			if err := os.WriteFile(p, raw, 0o600); err != nil {
				t.Fatal(err)
			}
			var logs strings.Builder
			ob, err := Open(p, Options{}, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer ob.Close()
			var recs []Record
			if read == "Next" {
				recs, err = ob.Next("", 10)
			} else {
				recs, err = ob.NextSkip("", 10, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(ids(recs), " "); got != id(1)+" "+id(3) {
				t.Errorf("read %s, want items 1 and 3", got)
			}
			if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "damaged on disk") || !strings.Contains(logs.String(), id(2)) {
				t.Errorf("no error logged with the item id: %s", logs.String())
			}
			st, _ := ob.Stats()
			dl, err := ob.DeadLetters()
			if err != nil || st.Damaged != 1 || st.Depth != 2 || len(dl) != 1 || dl[0].ID != id(2) || !strings.Contains(dl[0].Reason, "damaged on disk") {
				t.Errorf("after the damaged read: stats %+v, dead letters %+v, %v", st, dl, err)
			}
		})
	}
}
