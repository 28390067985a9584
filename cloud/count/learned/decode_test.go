package learned

import (
	"image"
	"math"
	"testing"

	"github.com/canopy-forest/canopy/cloud/count"
)

func TestDecode(t *testing.T) {
	const fh, fw = 6, 8
	n := fh * fw
	h := Heads{Heatmap: make([]float32, n), WH: make([]float32, 2*n), Offset: make([]float32, 2*n), FH: fh, FW: fw, Stride: 8}
	set := func(x, y int, s, w, ht, ox, oy float32) {
		i := y*fw + x
		h.Heatmap[i], h.WH[i], h.WH[n+i], h.Offset[i], h.Offset[n+i] = s, w, ht, ox, oy
	}
	set(2, 1, 0.9, 40, 20, 0.5, 0.25)
	set(3, 1, 0.5, 10, 10, 0, 0) // beside a higher peak: not a maximum
	set(6, 4, 0.4, 16, 16, 0, 0)
	set(0, 5, 0.1, 16, 16, 0, 0) // below the threshold
	for _, tc := range []struct {
		name string
		pool bool
	}{{"pool computed", false}, {"pool given", true}} {
		t.Run(tc.name, func(t *testing.T) {
			hh := h
			if tc.pool {
				hh.HeatmapMax = maxPool3(h.Heatmap, fh, fw)
			}
			got := Decode(hh, 0.3, 0)
			want := []count.Box{
				{XMin: 20 - 20, YMin: 10 - 10, XMax: 20 + 20, YMax: 10 + 10, Score: 0.9},
				{XMin: 48 - 8, YMin: 32 - 8, XMax: 48 + 8, YMax: 32 + 8, Score: 0.4},
			}
			if len(got) != len(want) {
				t.Fatalf("Decode: %v, want %v", got, want)
			}
			for i := range want {
				g, w := got[i], want[i]
				if math.Abs(g.XMin-w.XMin) > 1e-4 || math.Abs(g.YMax-w.YMax) > 1e-4 || math.Abs(g.Score-w.Score) > 1e-6 {
					t.Errorf("box %d = %+v, want %+v", i, g, w)
				}
			}
			if got := Decode(hh, 0.3, 1); len(got) != 1 || got[0].Score < 0.89 {
				t.Errorf("Decode with max 1 box: %v", got)
			}
		})
	}
	if got := Decode(Heads{FH: 2, FW: 2}, 0.1, 0); got != nil {
		t.Errorf("short heads: %v, want nil", got)
	}
}

func TestFillTileAndPlace(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 10, 6))
	img.Pix[img.PixOffset(5, 3)] = 255  // R at (5,3)
	img.Pix[img.PixOffset(9, 5)+1] = 51 // G at (9,5)
	dst := make([]float32, 3*8*8)
	for i := range dst {
		dst[i] = 7 // stale values must be cleared
	}
	FillTile(dst, img, image.Rect(4, 2, 10, 6), 8, nil)
	if dst[1*8+1] != 1 {
		t.Errorf("R at tile (1,1) = %v, want 1", dst[1*8+1])
	}
	if got := dst[64+3*8+5]; math.Abs(float64(got)-0.2) > 1e-6 {
		t.Errorf("G at tile (5,3) = %v, want 0.2", got)
	}
	if dst[7*8+7] != 0 || dst[2*64+6*8] != 0 {
		t.Errorf("padding not zero")
	}
	boxes := []count.Box{
		{XMin: 0, YMin: 0, XMax: 4, YMax: 4, Score: 1},     // centre (2,2) -> image (6,4): kept
		{XMin: 5, YMin: 0, XMax: 9, YMax: 2, Score: 1},     // centre x 7 -> 11: in the padding, dropped
		{XMin: -3, YMin: -3, XMax: 3, YMax: 3, Score: 0.5}, // kept, clipped to the image
	}
	got := Place(boxes, image.Rect(4, 2, 10, 6), 10, 6)
	if len(got) != 2 || got[0].XMin != 4 || got[0].YMin != 2 || got[1].XMin != 1 || got[1].XMax != 7 {
		t.Errorf("Place = %v", got)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		c  Config
		ok bool
	}{
		{Config{ModelPath: "m.onnx"}, true},
		{Config{}, false},
		{Config{ModelPath: "m", TileSize: 400}, false},
		{Config{ModelPath: "m", TileSize: 416, Overlap: 416}, false},
		{Config{ModelPath: "m", Threshold: 2}, false},
		{Config{ModelPath: "m", GSD: -1}, false},
	} {
		if err := tc.c.Validate(); (err == nil) != tc.ok {
			t.Errorf("Validate(%+v) = %v, want ok %v", tc.c, err, tc.ok)
		}
	}
}

func TestDecodeYOLO(t *testing.T) {
	// 2 classes, 3 candidates: rows cx, cy, w, h, class 0, class 1
	const n = 3
	out := []float32{
		10, 50, 90, // cx
		20, 60, 90, // cy
		8, 10, 4, // w
		6, 10, 4, // h
		0.9, 0.1, 0.2, // class 0
		0.1, 0.6, 0.1, // class 1
	}
	got := DecodeYOLO(out, 6, n, 0.5, 0)
	if len(got) != 2 || got[0].Score < 0.89 || got[1].Score < 0.59 || got[0].XMin != 6 || got[0].YMax != 23 || got[1].XMin != 45 {
		t.Errorf("DecodeYOLO = %+v", got)
	}
	if got := DecodeYOLO(out, 6, n, 0.5, 1); len(got) != 1 {
		t.Errorf("max 1 box: %v", got)
	}
	if got := DecodeYOLO(out[:5], 6, n, 0.5, 0); got != nil {
		t.Errorf("short output: %v", got)
	}
}
