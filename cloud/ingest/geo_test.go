package ingest

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/sync/wire"
)

func f64(v float64) *float64 { return &v }

func TestGroundOf(t *testing.T) {
	good := wire.Meta{GSD: 0.0171, GSDSource: "camera", HeightM: f64(40), YawDeg: f64(-130), GimbalPitchDeg: f64(-90),
		GeoRef: &wire.GeoRef{CRS: "EPSG:32615", Transform: [6]float64{1, 0.1, 0, 2, 0, -0.1}}, GeoNote: "n"}
	want := db.Ground{GSD: 0.0171, GSDSource: "camera", HeightM: f64(40), YawDeg: f64(-130), GimbalPitchDeg: f64(-90),
		GeoRef: &db.GeoRef{CRS: "EPSG:32615", Transform: [6]float64{1, 0.1, 0, 2, 0, -0.1}}, GeoNote: "n"}
	if got := groundOf(good); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	bad := wire.Meta{GSD: -1, YawDeg: f64(1e9), GimbalPitchDeg: f64(math.NaN()),
		GeoRef: &wire.GeoRef{CRS: "EPSG:4326", Transform: [6]float64{0, 0, 0, 0, 0, 0}}}
	got := groundOf(bad)
	if got.GSD != 0 || got.YawDeg != nil || got.GimbalPitchDeg != nil || got.GeoRef != nil ||
		!strings.Contains(got.GeoNote, "dropped out of range: gsd_m -1, yaw_deg 1e+09, gimbal_pitch_deg NaN, georef") {
		t.Errorf("bad values: got %+v", got)
	}
}

// TestSaverGround: an item's ground data reaches the row and meta.json,
// and an item with bad ground data is stored all the same.
func TestSaverGround(t *testing.T) {
	ctx := context.Background()
	store, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := blob.EnsureBuckets(ctx, store); err != nil {
		t.Fatal(err)
	}
	s := NewSaver(store, newFakeDB(), ImageLimits{})
	it := testItem(t, "dev1", 1)
	it.Meta.GSD, it.Meta.GSDSource, it.Meta.YawDeg = 0.02, "camera", f64(45)
	saved, err := s.Save(ctx, it, SaveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if saved.Image.GSD != 0.02 || saved.Image.YawDeg == nil || *saved.Image.YawDeg != 45 {
		t.Errorf("row: %+v", saved.Image.Ground)
	}
	b, err := encodeMeta(saved.Image)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeMeta(b)
	if err != nil || !reflect.DeepEqual(back.Ground, saved.Image.Ground) {
		t.Errorf("meta.json round trip: %+v, %v; want %+v", back.Ground, err, saved.Image.Ground)
	}
	it = testItem(t, "dev1", 2)
	it.Meta.GSD = 1e6
	if saved, err := s.Save(ctx, it, SaveOptions{}); err != nil || saved.Image.GSD != 0 || saved.Image.GeoNote == "" {
		t.Errorf("bad GSD: %+v, %v; want stored without GSD, with a note", saved.Image.Ground, err)
	}
}
