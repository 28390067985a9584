//go:build onnx

package learned

import (
	"context"
	"encoding/csv"
	"image"
	"image/draw"
	_ "image/jpeg"
	_ "image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/internal/rgba"
)

// shippedModel is the detector in the repository's models/ folder.
var shippedModel = filepath.Join("..", "..", "..", "models", "crown-detector.onnx")

// minValF1 is a little below the overall validation F1 measured when the
// shipped model was trained (models/crown-detector.md).
const minValF1 = 0.57

func newShipped(t *testing.T) *Counter {
	t.Helper()
	if os.Getenv("CANOPY_ORT_LIB") == "" {
		t.Skip("CANOPY_ORT_LIB is unset")
	}
	model := shippedModel
	if p := os.Getenv("CANOPY_TEST_DETECTOR"); p != "" {
		model = p // try a model before shipping it
	}
	if _, err := os.Stat(model); err != nil {
		t.Skipf("no shipped model: %v", err)
	}
	k, err := New(Config{ModelPath: model, LibraryPath: os.Getenv("CANOPY_ORT_LIB"), Threads: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

type plot struct {
	name, site string
	path       string
	gsd        float64
	truth      []count.Box
}

// plots reads train/<folder>'s images.csv and annotations.csv.
func plots(t *testing.T, data, folder string, gsd float64) []plot {
	t.Helper()
	dir := filepath.Join(data, "train", folder)
	f, err := os.Open(filepath.Join(dir, "images.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	f, err = os.Open(filepath.Join(dir, "annotations.csv"))
	if err != nil {
		t.Fatal(err)
	}
	boxes, err := count.ReadBoxes(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out []plot
	for _, r := range rows[1:] {
		p := filepath.Join(dir, "images", r[0])
		if _, err := os.Stat(p); err != nil {
			continue
		}
		out = append(out, plot{name: r[0], site: r[1], path: p, gsd: gsd, truth: boxes[r[0]]})
	}
	return out
}

func load(t *testing.T, path string) *image.RGBA {
	t.Helper()
	f, err := os.Open(path)
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

// TestValidationScore scores the shipped model on the sites held out of its
// training (canopy.val_sites), as training/detector/train.py does.
func TestValidationScore(t *testing.T) {
	data := os.Getenv("CANOPY_SHARED_DATA")
	if data == "" {
		t.Skip("CANOPY_SHARED_DATA is unset")
	}
	k := newShipped(t)
	sites := map[string]bool{}
	for _, s := range strings.Split(k.Metadata()["canopy.val_sites"], ",") {
		if s != "" {
			sites[s] = true
		}
	}
	if len(sites) == 0 {
		t.Fatal("model names no validation sites (canopy.val_sites)")
	}
	// neon_ttv was stretched from 400 to 416 pixels: 0.1 m * 400/416
	all := append(plots(t, data, "neon_hist", 0.1), plots(t, data, "neon_ttv", 0.1*400/416)...)
	var scores []count.Score
	perSite := map[string][]count.Score{}
	for _, p := range all {
		if !sites[p.site] {
			continue
		}
		res, err := k.CountAt(context.Background(), load(t, p.path), p.gsd)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		s := count.ScoreImage(p.name, res.Boxes, p.truth, count.DefaultIoU)
		scores = append(scores, s)
		perSite[p.site] = append(perSite[p.site], s)
	}
	for site, sc := range perSite {
		r := count.Summarise(count.DefaultIoU, sc)
		t.Logf("%s: %d images, P %.3f R %.3f F1 %.3f, median count error %.1f%%", site, len(sc),
			r.Overall.Precision, r.Overall.Recall, r.Overall.F1, 100*r.MedianRelError)
	}
	r := count.Summarise(count.DefaultIoU, scores)
	t.Logf("overall: %d images, P %.3f R %.3f F1 %.3f, median count error %.1f%%", len(scores),
		r.Overall.Precision, r.Overall.Recall, r.Overall.F1, 100*r.MedianRelError)
	if len(scores) < 10 {
		t.Fatalf("only %d validation images found", len(scores))
	}
	if r.Overall.F1 < minValF1 {
		t.Errorf("validation F1 %.3f, want at least %.2f", r.Overall.F1, minValF1)
	}
}

// TestTilesAndInfo counts a synthetic mosaic larger than a tile: two copies
// of a plot side by side must give about twice its count, and every result
// records the method and model.
func TestTilesAndInfo(t *testing.T) {
	data := os.Getenv("CANOPY_SHARED_DATA")
	if data == "" {
		t.Skip("CANOPY_SHARED_DATA is unset")
	}
	k := newShipped(t)
	img := load(t, filepath.Join(data, "trees", "OSBS_029.png"))
	one, err := k.Count(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	if one.Method != "learned" || one.Model != "crown-detector" || len(one.ModelSHA256) != 64 {
		t.Errorf("info = %+v, want learned crown-detector with a SHA-256", one.Info)
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	big := image.NewRGBA(image.Rect(0, 0, 2*w, h))
	draw.Draw(big, img.Rect, img, image.Point{}, draw.Src)
	draw.Draw(big, img.Rect.Add(image.Pt(w, 0)), img, image.Point{}, draw.Src)
	two, err := k.Count(context.Background(), big)
	if err != nil {
		t.Fatal(err)
	}
	// The seam joins crowns cut by the plot's edges, which a model may count
	// as one, two or three: up to 10% either way (94cfa9f7: 101 for 2 x 46;
	// side by side vertically 88), never a tile's worth of trees lost or doubled.
	if d, tol := two.Count-2*one.Count, max(4, one.Count/5); d < -tol || d > tol {
		t.Errorf("mosaic of two copies: %d trees, want about 2 x %d (within %d)", two.Count, one.Count, tol)
	}
	for _, b := range two.Boxes {
		if b.XMin < 0 || b.YMin < 0 || b.XMax > float64(2*w) || b.YMax > float64(h) || b.Score <= 0 {
			t.Fatalf("box out of the image or without score: %+v", b)
		}
	}
	// twice the resolution, told so (0.05 m): resized back to 0.1 m for the
	// model, so about the same trees, with boxes in the large image's pixels
	dbl, _ := count.Rescale(img, 0.1, 0.05)
	dr, err := k.CountAt(context.Background(), dbl, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	if d := dr.Count - one.Count; d < -3 || d > 3 || one.Count == 0 {
		t.Errorf("at 0.05 m: %d trees, at 0.1 m %d; want about the same", dr.Count, one.Count)
	}
	if r := meanWidth(dr.Boxes) / meanWidth(one.Boxes); r < 1.5 || r > 2.5 { // resampling blurs: boxes shrink a little
		t.Errorf("boxes at 0.05 m are %.2f x as wide as at 0.1 m, want 2", r)
	}
}

func meanWidth(boxes []count.Box) float64 {
	s := 0.0
	for _, b := range boxes {
		s += b.XMax - b.XMin
	}
	return s / float64(max(1, len(boxes)))
}

func TestConcurrentAndClose(t *testing.T) {
	k := newShipped(t)
	img := image.NewRGBA(image.Rect(0, 0, 300, 500))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := k.Count(context.Background(), img); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := k.Count(ctx, img); err == nil {
		t.Errorf("Count with a cancelled context succeeded")
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if err := k.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := k.Count(context.Background(), img); err == nil {
		t.Errorf("Count after Close succeeded")
	}
}

// TestYOLO runs a tiny YOLO-style model (testdata/yolo-tiny.onnx, made by
// hand: one 1x5x10 output of constant candidates, no canopy metadata).
func TestYOLO(t *testing.T) {
	if os.Getenv("CANOPY_ORT_LIB") == "" {
		t.Skip("CANOPY_ORT_LIB is unset")
	}
	k, err := New(Config{ModelPath: filepath.Join("testdata", "yolo-tiny.onnx"), LibraryPath: os.Getenv("CANOPY_ORT_LIB")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if k.kind != "yolo" || k.cfg.TileSize != 64 || k.yoloRows != 5 || k.yoloN != 10 {
		t.Fatalf("kind %q tile %d rows %d n %d, want yolo 64 5 10", k.kind, k.cfg.TileSize, k.yoloRows, k.yoloN)
	}
	res, err := k.Count(context.Background(), image.NewRGBA(image.Rect(0, 0, 64, 64)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Count != 1 || res.Boxes[0].XMin != 15 || res.Boxes[0].YMax != 25 || res.Model != "yolo-tiny" {
		t.Errorf("result %+v, want one box 15,15..25,25 from yolo-tiny", res)
	}
}
