package worker_test

import (
	"context"
	"errors"
	"image"
	"strings"
	"testing"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/worker"
)

// modelCounter finds n boxes and names a model.
type modelCounter struct {
	n   int
	sha string
}

func (m modelCounter) Count(ctx context.Context, img *image.RGBA) (count.Result, error) {
	var boxes []count.Box
	for i := range m.n {
		boxes = append(boxes, count.Box{XMin: float64(i), YMin: 1, XMax: float64(i) + 4, YMax: 5, Score: 0.8})
	}
	return count.Result{Count: m.n, Boxes: boxes, Info: m.Info()}, nil
}
func (m modelCounter) Info() count.Info {
	return count.Info{Method: "learned", Model: "crown-detector", ModelSHA256: m.sha}
}
func (m modelCounter) Close() error { return nil }

// counters is a worker.Counters over a map of SHA-256 to counter.
type counters map[string]count.Counter

func (c counters) Counter(ctx context.Context, method, sha string) (count.Counter, error) {
	if m, ok := c[sha]; ok {
		return m, nil
	}
	return nil, errors.New("no such model")
}

// TestRecount: a recount job is counted by the counter it asks for; the
// new count is the image's newest, the first one is kept with its own
// annotated image; a recount by a model no worker has fails and leaves the
// count as it was.
func TestRecount(t *testing.T) {
	backends(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		bs := setup(t, d, 1)
		oldSHA, newSHA := strings.Repeat("a", 64), strings.Repeat("b", 64)
		p := worker.New(worker.Config{Counters: counters{newSHA: modelCounter{n: 5, sha: newSHA}}}, d, bs, modelCounter{n: 3, sha: oldSHA}, nil)
		if did, err := p.Once(ctx, "w"); !did || err != nil {
			t.Fatal(did, err)
		}
		first, _ := d.GetImage(ctx, "item-000")
		if r, err := d.QueueRecount(ctx, db.RecountQuery{ScanID: "scan1", Method: "learned", ModelSHA256: newSHA}); err != nil || r.Queued != 1 {
			t.Fatal(r, err)
		}
		if did, err := p.Once(ctx, "w"); !did || err != nil {
			t.Fatal(did, err)
		}
		img, _ := d.GetImage(ctx, "item-000")
		cs, _ := d.ImageCounts(ctx, "item-000")
		if img.Count.Count != 5 || img.Count.ModelSHA256 != newSHA || len(cs) != 2 || cs[1].ModelSHA256 != oldSHA ||
			cs[1].AnnotatedKey != first.Count.AnnotatedKey || img.Count.AnnotatedKey == first.Count.AnnotatedKey ||
			!strings.HasSuffix(img.Count.AnnotatedKey, "/annotated-bbbbbbbbbbbb.jpg") {
			t.Fatalf("after the recount: %+v; counts %+v", img.Count, cs)
		}
		for _, k := range []string{first.Count.AnnotatedKey, first.Count.MaskKey, img.Count.AnnotatedKey, img.Count.MaskKey} {
			if ok, err := bs.Exists(ctx, blob.Processed, k); !ok || err != nil {
				t.Errorf("object %s: %v %v", k, ok, err)
			}
		}
		d.SetJobPolicy(db.JobPolicy{MaxAttempts: 1})
		if _, err := d.QueueRecount(ctx, db.RecountQuery{ScanID: "scan1", ModelSHA256: strings.Repeat("c", 64)}); err != nil {
			t.Fatal(err)
		}
		if did, err := p.Once(ctx, "w"); !did || err != nil {
			t.Fatal(did, err)
		}
		img, _ = d.GetImage(ctx, "item-000")
		if img.State != db.StateCounted || img.Count.Count != 5 {
			t.Errorf("failed recount: state %s, count %d; want counted, 5", img.State, img.Count.Count)
		}
	})
}
