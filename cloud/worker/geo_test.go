package worker_test

import (
	"context"
	"image"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
	"github.com/canopy-forest/canopy/cloud/geo"
	"github.com/canopy-forest/canopy/cloud/raster"
	"github.com/canopy-forest/canopy/cloud/worker"
)

// gsdCounter finds one box at the centre of each image and records the
// ground sample distances it was asked to count at.
type gsdCounter struct {
	mu   sync.Mutex
	gsds []float64
}

func (g *gsdCounter) Count(ctx context.Context, img *image.RGBA) (count.Result, error) {
	return g.CountAt(ctx, img, 0)
}

func (g *gsdCounter) CountAt(ctx context.Context, img *image.RGBA, gsd float64) (count.Result, error) {
	g.mu.Lock()
	g.gsds = append(g.gsds, gsd)
	g.mu.Unlock()
	cx, cy := float64(img.Rect.Dx())/2, float64(img.Rect.Dy())/2
	return count.Result{Count: 1, Boxes: []count.Box{{XMin: cx - 2, YMin: cy - 2, XMax: cx + 2, YMax: cy + 2, Score: 0.9}}, Info: g.Info()}, nil
}
func (g *gsdCounter) Info() count.Info  { return count.Info{Method: "fake"} }
func (g *gsdCounter) Close() error      { return nil }
func (g *gsdCounter) ModelGSD() float64 { return 0.1 }

func f64(v float64) *float64 { return &v }

// TestGround: the GSD an image is counted at (its own, or the default,
// marked so), and the placement of its boxes (nadir photos), or the reason
// there is none.
func TestGround(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ground    db.Ground
		lat, lon  *float64
		gsd       float64
		source    string
		positions string
		note      string
	}{
		{"no GSD", db.Ground{}, nil, nil, 0.12, db.GSDDefault, "", "no GPS position and no georeferencing"},
		{"nadir photo", db.Ground{GSD: 0.02, GSDSource: "camera", YawDeg: f64(90), GimbalPitchDeg: f64(-90)},
			f64(46.84), f64(-91.99), 0.02, "camera", db.PlacedNadir, "flat ground"},
		{"GPS but no height", db.Ground{GeoNote: "GSD unknown: no height above ground"}, f64(46.84), f64(-91.99),
			0.12, db.GSDDefault, "", "no ground sample distance (GSD unknown: no height above ground)"},
		{"oblique", db.Ground{GSD: 0.02, YawDeg: f64(0), GimbalPitchDeg: f64(-30)}, f64(46.84), f64(-91.99), 0.02, "", "", "does not look straight down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := dbtest.SQLite(t)
			bs := setup(t, d, 0)
			at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			key := blob.Key("dev1", at, "g1", "image.png")
			bs.Put(t.Context(), blob.Raw, key, pngBytes(t), "image/png")
			if _, err := d.PutImage(t.Context(), db.Image{ItemID: "g1", Device: "dev1", Seq: 1, CapturedAt: at, Width: 32, Height: 32,
				Origin: db.OriginDevice, RawKey: key, Lat: tc.lat, Lon: tc.lon, Ground: tc.ground}); err != nil {
				t.Fatal(err)
			}
			c := &gsdCounter{}
			p := worker.New(worker.Config{GSDDefault: 0.12}, d, bs, c, nil)
			if did, err := p.Once(t.Context(), "w"); err != nil || !did {
				t.Fatal(did, err)
			}
			img, _ := d.GetImage(t.Context(), "g1")
			if img.Count == nil {
				t.Fatalf("not counted: state %s", img.State)
			}
			pl := img.Count.Placement
			if len(c.gsds) != 1 || c.gsds[0] != tc.gsd || pl.GSD != tc.gsd || pl.GSDSource != tc.source ||
				pl.Positions != tc.positions || !strings.Contains(pl.PositionNote, tc.note) {
				t.Errorf("counted at %v, placement %+v; want gsd %v (%q), positions %q, note with %q", c.gsds, pl, tc.gsd, tc.source, tc.positions, tc.note)
			}
			b := img.Count.Boxes[0]
			if tc.positions == "" {
				if b.Lon != nil || len(pl.Footprint) != 0 {
					t.Errorf("unplaced image has box %+v, footprint %v", b, pl.Footprint)
				}
				return
			}
			// The box is at the image centre: at the camera's position.
			if b.Lon == nil || geo.Distance(geo.LonLat{Lon: *b.Lon, Lat: *b.Lat}, geo.LonLat{Lon: *tc.lon, Lat: *tc.lat}) > 0.001 {
				t.Errorf("box %+v, want at the camera", b)
			}
			if len(pl.Footprint) != 4 {
				t.Errorf("footprint %v, want 4 corners", pl.Footprint)
			}
		})
	}
}

// TestGeoTIFFRaw: a GeoTIFF in the raw bucket is counted window by window
// through GDAL and placed through its transform and CRS; one in a CRS PROJ
// does not know is counted without positions, with the reason.
func TestGeoTIFFRaw(t *testing.T) {
	if err := raster.Available(); err != nil {
		t.Skip(err)
	}
	data := os.Getenv("CANOPY_SHARED_DATA")
	if data == "" {
		t.Skip("CANOPY_SHARED_DATA is unset")
	}
	src := filepath.Join(data, "geo", "neon_plots", "TEAK_052.tif")
	local := filepath.Join(t.TempDir(), "local.tif")
	if out, err := exec.Command("gdal_translate", "-q", "-a_srs", `LOCAL_CS["site grid",UNIT["metre",1]]`, src, local).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	utm, utmNote := db.PlacedGeoTIFF, ""
	if !geo.PROJAvailable {
		utm, utmNote = "", "built without PROJ"
	}
	for _, tc := range []struct {
		name, path, positions, note string
	}{
		{"UTM", src, utm, utmNote},
		{"unknown CRS", local, "", "not placed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := dbtest.SQLite(t)
			bs := setup(t, d, 0)
			at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			key := blob.Key("upload", at, "t1", "image.tif")
			b, _ := os.ReadFile(tc.path)
			bs.Put(t.Context(), blob.Raw, key, b, "image/tiff")
			if _, err := d.PutImage(t.Context(), db.Image{ItemID: "t1", CapturedAt: at, Width: 400, Height: 400,
				Origin: db.OriginUpload, RawKey: key}); err != nil {
				t.Fatal(err)
			}
			c := &gsdCounter{}
			p := worker.New(worker.Config{GSDDefault: 0.5}, d, bs, c, nil)
			if did, err := p.Once(t.Context(), "w"); err != nil || !did {
				t.Fatal(did, err)
			}
			img, _ := d.GetImage(t.Context(), "t1")
			if img.Count == nil {
				t.Fatalf("not counted: state %s", img.State)
			}
			pl := img.Count.Placement
			if pl.GSD != 0.1 || pl.GSDSource != "geotiff" || pl.Positions != tc.positions || !strings.Contains(pl.PositionNote, tc.note) {
				t.Errorf("placement %+v; want gsd 0.1 from the GeoTIFF, positions %q, note with %q", pl, tc.positions, tc.note)
			}
			if tc.positions == "" {
				return
			}
			bx := img.Count.Boxes[0]
			// TEAK_052's centre: 37.008938 N, 119.009507 W (the data's README).
			if bx.Lon == nil || math.Abs(*bx.Lat-37.008938) > 2e-6 || math.Abs(*bx.Lon+119.009507) > 2e-6 {
				t.Errorf("centre box at %v, %v; want 37.008938, -119.009507", bx.Lat, bx.Lon)
			}
		})
	}
}
