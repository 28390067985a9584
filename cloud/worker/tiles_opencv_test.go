//go:build opencv

package worker_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/cloud/count/auto"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/db/dbtest"
	"github.com/canopy-forest/canopy/cloud/register/registertest"
	"github.com/canopy-forest/canopy/cloud/scan"
	"github.com/canopy-forest/canopy/cloud/worker"
	"github.com/canopy-forest/canopy/internal/rgba"
	_ "golang.org/x/image/tiff"
)

// TestTilesFigures is the figure of docs/accuracy.md "Tiles of one
// image": five NEON plots of the shared data, each cut into four tiles
// overlapping by a third (each tile turned half a turn in turn) and sent
// as a scan with no GPS, registered and merged; total_trees against the
// whole plot, counted by the learned counter, and with the plot's
// hand-drawn crowns as the tiles' counts (each tile gets the crowns whose
// centre it sees), which leaves the counter out. It runs with
// CANOPY_FIGURES=1 (about a minute) and prints the table.
func TestTilesFigures(t *testing.T) {
	data := os.Getenv("CANOPY_SHARED_DATA")
	if os.Getenv("CANOPY_FIGURES") == "" || data == "" {
		t.Skip("CANOPY_FIGURES or CANOPY_SHARED_DATA unset")
	}
	counter, err := auto.New(auto.Config{Method: auto.Learned, ModelPath: filepath.Join("..", "..", "models", "crown-detector.onnx")}, nil)
	if err != nil {
		t.Skip(err)
	}
	defer counter.Close()
	plots := []string{"trees/OSBS_029.png", "trees/SOAP_061.png", "trees/2018_SJER_3_252000_4107000_image_477.png",
		"geo/neon_plots/TEAK_052.tif", "geo/neon_plots/HARV_026.tif"}
	var rows []string
	var sumAbs, sumWhole float64
	for _, name := range plots {
		img := readImage(t, filepath.Join(data, name))
		crowns := vocCrowns(t, strings.TrimSuffix(filepath.Join(data, name), filepath.Ext(name))+".xml")
		w, h := img.Rect.Dx(), img.Rect.Dy()
		tw, th := w*3/5, h*3/5 // two tiles of 3/5 overlap by 1/5 of the plot: a third of a tile
		for turned := 0; turned < 4; turned++ {
			d := dbtest.SQLite(t)
			bs, err := blob.NewLocal(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
			putPNG(t, d, bs, "whole", "whole", img, at)
			tiles := registertest.Grid(w, h, tw, th, 2, 2, false)
			tiles[turned].Turned = true
			for i, tile := range tiles {
				putPNG(t, d, bs, "tiles", fmt.Sprintf("tile-%d", i), tile.Cut(img), at.Add(time.Duration(i+1)*time.Second))
			}
			whole, tilesRes, reg := countAndRegister(t, d, bs, counter)
			// The same tiles counted by hand: the crowns whose centre each sees.
			for i, tile := range tiles {
				storeCounted(t, d, bs, "truth", fmt.Sprintf("truth-%d", i), at.Add(time.Duration(i+10)*time.Second), tile.Cut(img), tile.Boxes(crowns), 0.1)
			}
			treg, err := worker.NewRegistrar(worker.RegistrarConfig{}, d, bs, nil).Register(t.Context(), "truth")
			if err != nil {
				t.Fatal(err)
			}
			truth := mergedTotal(t, d, "truth", treg)
			diff := float64(tilesRes.Total() - whole.Total())
			sumAbs += math.Abs(diff)
			sumWhole += float64(whole.Total())
			rows = append(rows, fmt.Sprintf("| %s | %d | %d | %d | **%d** (%+.0f%%) | %d | %d | **%d** | %d of 4, %.2f px |",
				strings.TrimSuffix(filepath.Base(name), filepath.Ext(name)), turned, whole.Total(), tilesRes.SumOfCounts, tilesRes.Total(),
				100*diff/math.Max(1, float64(whole.Total())), len(crowns), truth.SumOfCounts, truth.Total(), reg.Stats.Registered, reg.Stats.ReprojErrorPx))
		}
	}
	t.Logf("\n| plot | tile turned | learned: whole plot | learned: tiles' counts added (before) | learned: total_trees (after) | crowns drawn | drawn: tiles' counts added | drawn: total_trees | registered, error |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n%s\n\nlearned counter: mean absolute difference %.1f%% of the whole plots' counts",
		strings.Join(rows, "\n"), 100*sumAbs/sumWhole)
}

// vocCrowns are the crowns of a Pascal VOC file: their boxes' centres
// and mean half sides.
func vocCrowns(t *testing.T, p string) []registertest.Crown {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Objects []struct {
			Box struct {
				XMin float64 `xml:"xmin"`
				YMin float64 `xml:"ymin"`
				XMax float64 `xml:"xmax"`
				YMax float64 `xml:"ymax"`
			} `xml:"bndbox"`
		} `xml:"object"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var out []registertest.Crown
	for _, o := range doc.Objects {
		bx := o.Box
		out = append(out, registertest.Crown{X: (bx.XMin + bx.XMax) / 2, Y: (bx.YMin + bx.YMax) / 2, R: (bx.XMax - bx.XMin + bx.YMax - bx.YMin) / 4})
	}
	return out
}

// readImage decodes a PNG or (GeoTIFF, its pixels only) TIFF file.
func readImage(t *testing.T, p string) *image.RGBA {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return rgba.Of(img)
}

// putPNG stores img as an uploaded photo of scan with no GPS, to be
// counted.
func putPNG(t *testing.T, d *db.DB, bs blob.Store, scan, id string, img *image.RGBA, at time.Time) {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	key := blob.Key("upload", at, id, "image.png")
	if err := bs.Put(t.Context(), blob.Raw, key, b.Bytes(), "image/png"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.PutImage(t.Context(), db.Image{ItemID: id, CapturedAt: at, Width: img.Rect.Dx(), Height: img.Rect.Dy(), ScanID: scan,
		Origin: db.OriginUpload, RawKey: key}); err != nil {
		t.Fatal(err)
	}
}

// countAndRegister counts every stored photo and registers scan "tiles";
// it returns the merged scans "whole" and "tiles".
func countAndRegister(t *testing.T, d *db.DB, bs blob.Store, counter count.Counter) (whole, tiles scan.Result, reg db.ScanRegistration) {
	p := worker.New(worker.Config{}, d, bs, counter, nil)
	for {
		did, err := p.Once(t.Context(), "w")
		if err != nil {
			t.Fatal(err)
		}
		if !did {
			break
		}
	}
	reg, err := worker.NewRegistrar(worker.RegistrarConfig{}, d, bs, nil).Register(t.Context(), "tiles")
	if err != nil {
		t.Fatal(err)
	}
	return mergedTotal(t, d, "whole", db.ScanRegistration{}), mergedTotal(t, d, "tiles", reg), reg
}
