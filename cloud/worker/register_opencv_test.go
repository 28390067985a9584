//go:build opencv

package worker_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
	"github.com/canopy-forest/canopy/cloud/register/registertest"
	"github.com/canopy-forest/canopy/cloud/scan"
	"github.com/canopy-forest/canopy/cloud/worker"
)

// storeCounted stores img as a photo of scan (no GPS) in d and bs and
// records boxes as its count, at gsd metres per pixel.
func storeCounted(t *testing.T, d *db.DB, bs blob.Store, scanID, id string, at time.Time, img *image.RGBA, boxes [][4]float64, gsd float64) {
	t.Helper()
	ctx := t.Context()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	key := blob.Key("upload", at, id, "image.png")
	if err := bs.Put(ctx, blob.Raw, key, b.Bytes(), "image/png"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.PutImage(ctx, db.Image{ItemID: id, CapturedAt: at, Width: img.Rect.Dx(), Height: img.Rect.Dy(), ScanID: scanID,
		Origin: db.OriginUpload, RawKey: key}); err != nil {
		t.Fatal(err)
	}
	j, err := d.ClaimJob(ctx, "test", time.Minute)
	if err != nil || j.ItemID != id {
		t.Fatalf("claim %s: %+v %v", id, j, err)
	}
	rec := db.CountRecord{ItemID: id, Count: len(boxes), Boxes: []db.Box{}, Method: "truth", Placement: db.Placement{GSD: gsd, GSDSource: db.GSDDefault}}
	for _, bx := range boxes {
		rec.Boxes = append(rec.Boxes, db.Box{XMin: bx[0], YMin: bx[1], XMax: bx[2], YMax: bx[3], Score: 0.9})
	}
	if err := d.CompleteJob(ctx, j.ID, rec); err != nil {
		t.Fatal(err)
	}
}

// mergedTotal is the scan's total_trees with its registration.
func mergedTotal(t *testing.T, d *db.DB, scanID string, reg db.ScanRegistration) scan.Result {
	t.Helper()
	m := scan.NewMerger(scan.Options{})
	m.Register(reg)
	if err := d.EachScanImage(t.Context(), scanID, func(img db.Image) error { m.Add(img); return nil }); err != nil {
		t.Fatal(err)
	}
	return m.Result()
}

// TestRegisterTiles cuts four overlapping tiles (a third of each tile
// shared with its neighbour) out of one scene, one of them turned half a
// turn, and sends them as one scan with no GPS, each counted with the
// crowns whose centre it sees: registered, the scan counts each crown
// once, whatever tile is turned. A second run matches nothing new.
func TestRegisterTiles(t *testing.T) {
	scene, crowns := registertest.Scene(600, 460, 40, 7)
	want := len(crowns) // the tiles cover the scene
	for turned := 0; turned < 4; turned++ {
		t.Run(fmt.Sprintf("tile %d turned", turned), func(t *testing.T) {
			d := dbtest.SQLite(t)
			bs, err := blob.NewLocal(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			tiles := registertest.Grid(600, 460, 360, 276, 2, 2, false)
			tiles[turned].Turned = true
			at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			sum := 0
			for i, tile := range tiles {
				boxes := tile.Boxes(crowns)
				sum += len(boxes)
				storeCounted(t, d, bs, "tiles", fmt.Sprintf("tile-%d", i), at.Add(time.Duration(i)*time.Second), tile.Cut(scene), boxes, 0.1)
			}
			r := worker.NewRegistrar(worker.RegistrarConfig{}, d, bs, nil)
			reg, err := r.Register(t.Context(), "tiles")
			if err != nil {
				t.Fatal(err)
			}
			st := reg.Stats
			if reg.State != db.RegDone || st.Registered != 4 || st.Blocks != 1 || st.PairsTried != 6 || reg.Mosaic == nil {
				t.Fatalf("state %q (%s), stats %+v, mosaic %v", reg.State, reg.Note, st, reg.Mosaic)
			}
			res := mergedTotal(t, d, "tiles", reg)
			if got := res.Total(); math.Abs(float64(got-want)) > 0.05*float64(want) {
				t.Errorf("total_trees %d, want %d (within 5%%); the tiles' counts add up to %d", got, want, sum)
			}
			if st.RepeatsFound == 0 || st.RepeatsFoundMerged < st.RepeatsFound*9/10 || st.ReprojErrorM > 0.2 {
				t.Errorf("repeats found %d, merged %d; reprojection error %.3f m", st.RepeatsFound, st.RepeatsFoundMerged, st.ReprojErrorM)
			}
			// Again, as a worker that finds the scan unchanged: nothing is matched again.
			claim := db.RegistrationClaim{ScanID: "tiles", Seq: 4}
			if err := d.FinishRegistration(t.Context(), claim, reg); err != nil {
				t.Fatal(err)
			}
			again, err := r.Register(t.Context(), "tiles")
			if err != nil || again.Stats.NewPairs != 0 || again.Stats.NewPhotos != 0 || again.Stats.Registered != 4 {
				t.Errorf("second run: %+v, %v", again.Stats, err)
			}
			t.Logf("total %d (want %d, sum of counts %d); stats %+v", res.Total(), want, sum, st)
		})
	}
}
