package count

import (
	"image"
	"image/color"
	"math"
	"strings"
	"testing"
)

func box(x0, y0, x1, y1, s float64) Box { return Box{XMin: x0, YMin: y0, XMax: x1, YMax: y1, Score: s} }

func TestIoU(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b Box
		want float64
	}{
		{"same", box(0, 0, 10, 10, 1), box(0, 0, 10, 10, 1), 1},
		{"disjoint", box(0, 0, 10, 10, 1), box(20, 20, 30, 30, 1), 0},
		{"touching", box(0, 0, 10, 10, 1), box(10, 0, 20, 10, 1), 0},
		{"half", box(0, 0, 10, 10, 1), box(5, 0, 15, 10, 1), 50.0 / 150},
		{"inside", box(0, 0, 10, 10, 1), box(0, 0, 5, 5, 1), 0.25},
		{"empty", box(0, 0, 0, 0, 1), box(0, 0, 0, 0, 1), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IoU(tc.a, tc.b); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("IoU = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNMS(t *testing.T) {
	in := []Box{box(0, 0, 10, 10, 0.5), box(1, 1, 11, 11, 0.9), box(50, 50, 60, 60, 0.7), box(5, 0, 15, 10, 0.6)}
	for _, tc := range []struct {
		iou  float64
		want []float64 // scores kept, in order
	}{
		{0.5, []float64{0.9, 0.7, 0.6}},
		{0.2, []float64{0.9, 0.7}},
		{1, []float64{0.9, 0.7, 0.6, 0.5}},
	} {
		got := NMS(in, tc.iou)
		var scores []float64
		for _, b := range got {
			scores = append(scores, b.Score)
		}
		if len(scores) != len(tc.want) {
			t.Fatalf("NMS(iou %v) kept %v, want %v", tc.iou, scores, tc.want)
		}
		for i := range scores {
			if scores[i] != tc.want[i] {
				t.Errorf("NMS(iou %v) kept %v, want %v", tc.iou, scores, tc.want)
			}
		}
	}
	if in[0].Score != 0.5 {
		t.Errorf("NMS modified its input")
	}
}

func TestTiles(t *testing.T) {
	for _, tc := range []struct {
		w, h, size, overlap int
		want                int
	}{
		{400, 400, 416, 64, 1},
		{416, 416, 416, 64, 1},
		{1000, 400, 416, 64, 3},
		{1000, 1000, 416, 96, 9},
		{417, 10, 416, 64, 2},
	} {
		tiles := Tiles(tc.w, tc.h, tc.size, tc.overlap)
		if len(tiles) != tc.want {
			t.Errorf("Tiles(%d,%d,%d,%d): %d tiles, want %d", tc.w, tc.h, tc.size, tc.overlap, len(tiles), tc.want)
		}
		// every pixel covered, every tile inside, neighbours overlap enough
		cover := make([]int, tc.w*tc.h)
		for _, r := range tiles {
			if !r.In(image.Rect(0, 0, tc.w, tc.h)) || r.Dx() > tc.size || r.Dy() > tc.size {
				t.Errorf("tile %v out of the image or too big", r)
			}
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					cover[y*tc.w+x]++
				}
			}
		}
		for i, c := range cover {
			if c == 0 {
				t.Fatalf("Tiles(%d,%d): pixel %d,%d not covered", tc.w, tc.h, i%tc.w, i/tc.w)
			}
		}
		// cores partition the image
		core := make([]int, tc.w*tc.h)
		for _, r := range tiles {
			c := Core(r, tiles)
			for y := c.Min.Y; y < c.Max.Y; y++ {
				for x := c.Min.X; x < c.Max.X; x++ {
					core[y*tc.w+x]++
				}
			}
		}
		for i, c := range core {
			if c != 1 {
				t.Fatalf("Tiles(%d,%d): pixel %d,%d in %d cores, want 1", tc.w, tc.h, i%tc.w, i/tc.w, c)
			}
		}
	}
}

func TestMerge(t *testing.T) {
	tiles := Tiles(700, 400, 416, 128) // two tiles: x 0..416 and 284..700
	if len(tiles) != 2 {
		t.Fatalf("got %d tiles, want 2", len(tiles))
	}
	// one crown at x 340..380 seen by both tiles, one only by each
	per := [][]Box{
		{box(10, 10, 50, 50, 0.9), box(340, 100, 380, 140, 0.8)},
		{box(341, 101, 381, 141, 0.7), box(600, 10, 650, 50, 0.9)},
	}
	got := Merge(tiles, per, 0.5)
	if len(got) != 3 {
		t.Fatalf("Merge: %d boxes %v, want 3", len(got), got)
	}
}

func TestRescale(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 416, 208))
	out, f := Rescale(img, 0.099, ModelGSD)
	if out != img || f != 1 {
		t.Errorf("0.099 m: resized to %v (factor %v), want unchanged", out.Bounds(), f)
	}
	out, f = Rescale(img, 0.05, ModelGSD)
	if out.Bounds().Dx() != 208 || out.Bounds().Dy() != 104 || f != 2 {
		t.Errorf("0.05 m: got %v factor %v, want 208x104 factor 2", out.Bounds(), f)
	}
	out, f = Rescale(img, 0, ModelGSD)
	if out != img || f != 1 {
		t.Errorf("unknown GSD: resized")
	}
}

func TestReadBoxes(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     map[string]int
		wantErr  bool
	}{
		{"ok", "image,xmin,ymin,xmax,ymax,label\na.png,1,2,3,4,Tree\na.png,5,6,7,8,Dead\nb.png,0,0,1.5,1,tree\n", map[string]int{"a.png": 2, "b.png": 1}, false},
		{"reordered", "label,image,ymin,xmin,ymax,xmax\nTree,a.png,2,1,4,3\n", map[string]int{"a.png": 1}, false},
		{"bom crlf", "\ufeffimage,xmin,ymin,xmax,ymax,label\r\na.png,1,2,3,4,Tree\r\n", map[string]int{"a.png": 1}, false},
		{"header only", "image,xmin,ymin,xmax,ymax,label\n", map[string]int{}, false},
		{"empty", "", nil, true},
		{"no column", "image,xmin,ymin,xmax\na,1,2,3\n", nil, true},
		{"not number", "image,xmin,ymin,xmax,ymax,label\na,x,2,3,4,T\n", nil, true},
		{"nan", "image,xmin,ymin,xmax,ymax,label\na,NaN,2,3,4,T\n", nil, true},
		{"inverted", "image,xmin,ymin,xmax,ymax,label\na,5,2,3,4,T\n", nil, true},
		{"short row", "image,xmin,ymin,xmax,ymax,label\na,1,2\n", nil, true},
		{"no name", "image,xmin,ymin,xmax,ymax,label\n,1,2,3,4,T\n", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadBoxes(strings.NewReader(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d images, want %d", len(got), len(tc.want))
			}
			for k, n := range tc.want {
				if len(got[k]) != n {
					t.Errorf("%s: %d boxes, want %d", k, len(got[k]), n)
				}
			}
		})
	}
}

func TestMatchAndScore(t *testing.T) {
	truth := []Box{box(0, 0, 10, 10, 1), box(20, 0, 30, 10, 1), box(40, 0, 50, 10, 1)}
	pred := []Box{
		box(0, 0, 10, 10, 0.5),   // matches truth 0
		box(1, 0, 11, 10, 0.9),   // higher score: takes truth 0 first
		box(20, 0, 30, 10, 0.8),  // truth 1
		box(100, 0, 110, 10, .7), // false positive
	}
	if got := Match(pred, truth, 0.4); got != 2 {
		t.Errorf("Match = %d, want 2", got)
	}
	s := ScoreImage("x", pred, truth, 0.4)
	want := Score{Image: "x", True: 3, Predicted: 4, Matched: 2, CountError: 1, RelError: 1.0 / 3, Precision: 0.5, Recall: 2.0 / 3, F1: 2 * 0.5 * (2.0 / 3) / (0.5 + 2.0/3)}
	if math.Abs(s.F1-want.F1) > 1e-9 || s.Precision != want.Precision || s.CountError != 1 || math.Abs(s.RelError-want.RelError) > 1e-9 {
		t.Errorf("ScoreImage = %+v, want %+v", s, want)
	}
	// no trees, none found: perfect
	if z := ScoreImage("z", nil, nil, 0.4); z.F1 != 1 || z.RelError != 0 {
		t.Errorf("empty image: %+v, want F1 1 and no error", z)
	}
	r := Summarise(0.4, []Score{s, NewScore("b", 10, 8, 8), NewScore("c", 0, 0, 0)})
	if r.Overall.True != 13 || r.Overall.Predicted != 12 || r.Overall.Matched != 10 {
		t.Errorf("overall %+v", r.Overall)
	}
	if math.Abs(r.MedianRelError-(1.0/3+0.2)/2) > 1e-9 || math.Abs(r.MeanRelError-(1.0/3+0.2)/2) > 1e-9 {
		t.Errorf("median %v mean %v", r.MedianRelError, r.MeanRelError)
	}
	// |+1|, |-2|, |0| over three images; a tree-less image with finds counts too
	if math.Abs(r.MeanAbsError-1) > 1e-9 {
		t.Errorf("mean absolute error %v, want 1", r.MeanAbsError)
	}
	fp := Summarise(0.4, []Score{NewScore("empty", 0, 3, 0)})
	if fp.MeanAbsError != 3 || fp.Overall.Precision != 0 || fp.MedianRelError != 0 {
		t.Errorf("tree-less image with 3 finds: %+v", fp)
	}
}

func TestDraw(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 20, 20))
	c := color.RGBA{255, 0, 0, 255}
	out := Draw(img, []Box{box(2, 2, 10, 10, 1), box(-5, -5, 100, 100, 1)}, c, 1)
	if out.RGBAAt(2, 5) != c || out.RGBAAt(9, 5) != c || out.RGBAAt(5, 5) == c {
		t.Errorf("box outline not drawn as expected")
	}
	if img.RGBAAt(2, 5) == c {
		t.Errorf("Draw modified its input")
	}
	if out.RGBAAt(0, 10) != c || out.RGBAAt(19, 10) != c {
		t.Errorf("clipped box not drawn at the image edge")
	}
}

func FuzzReadBoxes(f *testing.F) {
	f.Add("image,xmin,ymin,xmax,ymax,label\na.png,1,2,3,4,Tree\n")
	f.Add("label,image,ymin,xmin,ymax,xmax\nTree,a.png,2,1,4,3\n")
	f.Add("image,xmin\n\"a")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ReadBoxes(strings.NewReader(s))
		if err != nil {
			return
		}
		for name, bs := range m {
			if name == "" {
				t.Fatalf("empty image name accepted")
			}
			for _, b := range bs {
				if b.XMax < b.XMin || b.YMax < b.YMin || math.IsNaN(b.XMin) {
					t.Fatalf("bad box accepted: %+v", b)
				}
			}
		}
	})
}
