//go:build onnx

package segmenteval_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/segment"
	"github.com/canopy-forest/canopy/segment/classical"
	"github.com/canopy-forest/canopy/segment/onnx"
	"github.com/canopy-forest/canopy/segment/segmenteval"
)

var writeDoc = flag.Bool("doc", false, "also score the ONNX model at full resolution and rewrite the segmentation section of docs/accuracy.md")

// valSites are the NEON sites that training/segmenter/train.py holds out.
var valSites = map[string]bool{"DELA": true, "BONA": true, "OSBS": true}

const model = "../../models/treecover-seg.onnx"

type candidate struct {
	name string
	note string
	make func(t *testing.T) segment.Segmenter
	full bool // only with -doc (slow)
}

func ortLib(t *testing.T) string {
	if p := os.Getenv("CANOPY_ORT_LIB"); p != "" {
		return p
	}
	p, _ := filepath.Abs("../../.cache/onnxruntime/linux-amd64/libonnxruntime.so.1")
	return p
}

func onnxSeg(size int) func(t *testing.T) segment.Segmenter {
	return func(t *testing.T) segment.Segmenter {
		s, err := onnx.New(onnx.Config{ModelPath: model, LibraryPath: ortLib(t), Threads: 2, InputWidth: size, InputHeight: size}, nil)
		if err != nil {
			t.Fatalf("onnx.New: %v", err)
		}
		return s
	}
}

// TestAccuracy scores the segmenters on the real tree-cover mask, and with
// -args -doc also on the weak labels of the held-out NEON sites and at full
// resolution, and writes docs/accuracy.md. Floors catch a broken model or
// pipeline.
func TestAccuracy(t *testing.T) {
	data := os.Getenv("CANOPY_SHARED_DATA")
	if data == "" {
		t.Skip("CANOPY_SHARED_DATA is not set")
	}
	if _, err := os.Stat(model); err != nil {
		t.Skipf("no model %s", model)
	}
	tc, err := segmenteval.LoadTreecover(filepath.Join(data, "treecover"))
	if err != nil {
		t.Fatal(err)
	}
	// The NEON plots (weak labels) take a while: only with -doc.
	var plots []segmenteval.Plot
	if *writeDoc {
		if plots, err = segmenteval.LoadPlots(filepath.Join(data, "train"), valSites); err != nil {
			t.Fatal(err)
		}
		if len(plots) == 0 {
			t.Fatal("no plots of the validation sites")
		}
	}
	w := tc.Frame.Bounds().Dx()
	cands := []candidate{
		{"classical", "excess green, Otsu threshold", func(t *testing.T) segment.Segmenter { return classical.New(classical.Options{}) }, false},
		{"onnx treecover-seg", "default input 384x384 (model metadata)", onnxSeg(0), false},
		{"onnx treecover-seg", fmt.Sprintf("input %dx%d (frame's own scale, about 0.1 m)", w, w), onnxSeg(w), true},
	}
	floors := map[string]float64{"classical": 0.05, "onnx treecover-seg": 0.1}
	var rows []string
	ctx := context.Background()
	for _, c := range cands {
		if c.full && !*writeDoc {
			continue
		}
		s := c.make(t)
		start := time.Now()
		res, err := s.Segment(ctx, tc.Frame)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		el := time.Since(start)
		var real segmenteval.Score
		if err := real.Add(res.Mask, tc.Truth, tc.Valid); err != nil {
			t.Fatal(err)
		}
		var weak segmenteval.Score
		perSite := map[string]*segmenteval.Score{}
		for _, p := range plots {
			r, err := s.Segment(ctx, p.Frame)
			if err != nil {
				t.Fatalf("%s: %s: %v", c.name, p.Name, err)
			}
			if err := weak.Add(r.Mask, p.Truth, nil); err != nil {
				t.Fatal(err)
			}
			if perSite[p.Site] == nil {
				perSite[p.Site] = &segmenteval.Score{}
			}
			perSite[p.Site].Add(r.Mask, p.Truth, nil)
		}
		s.Close()
		var sites []string
		for k, v := range perSite {
			sites = append(sites, fmt.Sprintf("%s %.2f", k, v.IoU()))
		}
		sort.Strings(sites)
		row := fmt.Sprintf("| %s | %s | %.3f | %.2f | %.2f | %.3f | %.3f (%s) |", c.name, c.note, real.IoU(), real.Precision(), real.Recall(), real.PredShare(), weak.IoU(), strings.Join(sites, ", "))
		rows = append(rows, row)
		t.Logf("%s (%s): treecover IoU %.3f (P %.2f R %.2f, %v), weak-label IoU on %d held-out plots %.3f", c.name, c.note, real.IoU(), real.Precision(), real.Recall(), el.Round(time.Millisecond), len(plots), weak.IoU())
		if f := floors[c.name]; real.IoU() < f {
			t.Errorf("%s (%s): treecover IoU %.3f, want at least %.2f", c.name, c.note, real.IoU(), f)
		}
	}
	if !*writeDoc {
		return
	}
	var tcShare segmenteval.Score
	tcShare.Add(tc.Truth, tc.Truth, tc.Valid)
	body := fmt.Sprintf(`## Tree-cover segmentation

IoU of the tree class for each segmenter, on two references:

- **treecover**: the one real tree-cover mask, %s in
  `+"`../shared/data/treecover/`"+` (a %dx%d drone tile of an urban area with
  street trees, Restor OAM-TCD test data; mask 1 = tree or canopy, grass and
  shrubs are background). The white no-data fill is left out: %d pixels
  counted, %.1f%% of them tree. P and R are pixel precision and recall of the
  tree class; "share" is the share of counted pixels called tree.
- **weak labels**: %d plots of the NEON sites held out of training
  (DELA, BONA, OSBS), labelled with filled ellipses inside the hand-drawn
  crown boxes, the same weak labels treecover-seg was trained on (see
  `+"`models/treecover-seg.md`"+`). They reward agreement with crown boxes, not
  true cover.

| segmenter | setting | treecover IoU | P | R | share | weak-label IoU (per site) |
| --- | --- | --- | --- | --- | --- | --- |
%s

Reproduce: `+"`CANOPY_SHARED_DATA=$PWD/../shared/data go test -tags onnx -count=1 -run Accuracy -v ./segment/segmenteval -args -doc`"+`
(rewrites this section).

`, tc.Name, w, tc.Frame.Bounds().Dy(), tcShare.Pixels, 100*float64(tcShare.Truth)/float64(tcShare.Pixels), len(plots), strings.Join(rows, "\n"))
	body += conclusion
	if err := segmenteval.ReplaceSection("../../docs/accuracy.md", "segmentation", body); err != nil {
		t.Fatal(err)
	}
}

// conclusion is the interpretation written under the table; kept by hand in
// step with the figures.
var conclusion = strings.ReplaceAll(`The learned model (trained on NEON weak labels only, never on this tile)
beats excess green on the real mask at its default input, and more so when
the tile is fed at its own scale (about 0.1 m per pixel, as in training):
**~onnx~ with ~models/treecover-seg.onnx~ is the documented default
segmenter of the agent**; ~classical~ is the fallback when ONNX Runtime or
the model is missing. Both call some grass and shrubs tree (precision about
0.6 to 0.7 at recall 0.9 or more): the tile's mask counts grass as background,
and excess green cannot tell grass from crowns. The full-resolution row's
weak-label figure is low because the 400 px NEON plots are then enlarged
five times, far from the training scale; pick the input size so that frames
reach the model at about 0.1 m per pixel.
`, "~", "`")
