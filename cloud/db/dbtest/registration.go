package dbtest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/db"
)

// testRegistration: a counted photo marks its scan changed; a worker
// claims it (once, after the settle time, not while another holds it),
// records photos, pairs and the result; changes made meanwhile stay
// pending; failures are retried, then the scan fails until it changes.
func testRegistration(t *testing.T, d *db.DB) {
	ctx := context.Background()
	for i, id := range []string{"r1", "r2"} {
		img := image(id, "drone", t0.Add(time.Duration(i)*time.Second))
		img.ScanID = "survey"
		put(t, d, img)
	}
	if _, err := d.ClaimRegistration(ctx, "w1", time.Minute, 0); !errors.Is(err, db.ErrNoJob) {
		t.Fatalf("claim before any change: %v, want ErrNoJob", err)
	}
	if _, err := d.GetRegistration(ctx, "survey"); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("registration before any: %v, want ErrNotFound", err)
	}
	for i := 0; i < 2; i++ {
		if err := d.MarkScanChanged(ctx, "survey"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.ClaimRegistration(ctx, "w1", time.Minute, time.Hour); !errors.Is(err, db.ErrNoJob) {
		t.Fatalf("claim within the settle time: %v, want ErrNoJob", err)
	}
	c, err := d.ClaimRegistration(ctx, "w1", time.Minute, 0)
	if err != nil || c.ScanID != "survey" || c.Seq != 2 || c.Attempts != 1 {
		t.Fatalf("claim: %+v, %v", c, err)
	}
	if _, err := d.ClaimRegistration(ctx, "w2", time.Minute, 0); !errors.Is(err, db.ErrNoJob) {
		t.Fatalf("claim while held: %v, want ErrNoJob", err)
	}
	for _, id := range []string{"r1", "r2"} {
		if err := d.SaveRegisteredPhoto(ctx, "survey", db.RegisteredPhoto{ItemID: id, FeaturesKey: "k/" + id, ViewKey: "v/" + id,
			ViewWidth: 1000, ViewHeight: 563, ViewScale: 4, Keypoints: 2000}); err != nil {
			t.Fatal(err)
		}
	}
	pair := db.RegistrationPair{ItemA: "r1", ItemB: "r2", Why: "footprints overlap", OK: true, Matches: 300, Inliers: 120, RMSPx: 2.5,
		H: [9]float64{1, 0, 10, 0, 1, 20, 0, 0, 1}, Corr: [][4]float32{{1, 2, 3, 4}}, MatchedAt: t0}
	if err := d.SaveRegistrationPair(ctx, "survey", pair); err != nil {
		t.Fatal(err)
	}
	pairs, err := d.RegistrationPairs(ctx, "survey")
	if err != nil || len(pairs) != 1 || !reflect.DeepEqual(pairs[0], pair) {
		t.Fatalf("pairs %+v, %v; want %+v", pairs, err, pair)
	}
	// A photo counted while the scan is held stays pending after it.
	if err := d.MarkScanChanged(ctx, "survey"); err != nil {
		t.Fatal(err)
	}
	frame := [9]float64{0.07, 0, -35, 0, -0.07, 20, 0, 0, 1}
	want := db.ScanRegistration{ScanID: "survey", State: db.RegDone, Origin: &[2]float64{-91.99, 46.84},
		Stats:  db.RegistrationStats{Photos: 2, Registered: 2, PairsMatched: 1, RepeatsMerged: 7, ReprojErrorM: 0.4},
		Mosaic: &db.MosaicInfo{Key: "scans/x/mosaic.jpg", Width: 100, Height: 80, Res: 0.07, Geo: true},
		Photos: []db.RegisteredPhoto{{ItemID: "r1", Block: 0, ToFrame: &frame, Geo: true, Note: "GPS"}, {ItemID: "r2", Block: -1, Note: "not registered"}}}
	if err := d.FinishRegistration(ctx, c, want); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetRegistration(ctx, "survey")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != db.RegDone || !got.Pending || *got.Origin != *want.Origin || got.Stats != want.Stats || *got.Mosaic != *want.Mosaic ||
		len(got.Photos) != 2 || *got.Photos[0].ToFrame != frame || !got.Photos[0].Geo || got.Photos[0].FeaturesKey != "k/r1" ||
		got.Photos[1].ToFrame != nil || got.Photos[1].Block != -1 || got.Photos[1].Note != "not registered" {
		t.Fatalf("registration %+v", got)
	}
	// The pending change: claimed again, failed, retried after the
	// delay, failed for good at the last attempt.
	for attempt := 1; attempt <= db.MaxRegistrationAttempts; attempt++ {
		c, err = d.ClaimRegistration(ctx, "w1", time.Minute, 0)
		if err != nil || c.Seq != 3 || c.Attempts != attempt {
			t.Fatalf("attempt %d: claim %+v, %v", attempt, c, err)
		}
		if err := d.FailRegistration(ctx, c, "blob store down", 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.ClaimRegistration(ctx, "w1", time.Minute, 0); !errors.Is(err, db.ErrNoJob) {
		t.Fatalf("claim after the last attempt: %v, want ErrNoJob", err)
	}
	got, err = d.GetRegistration(ctx, "survey")
	if err != nil || got.State != db.RegFailed || got.Pending || got.Note != "blob store down" {
		t.Fatalf("after failing: %+v, %v", got, err)
	}
}
