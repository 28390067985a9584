//go:build opencv

package classical

import (
	"context"
	"image"
	"image/color"
	"testing"

	"github.com/canopy-forest/canopy/cloud/count"
)

// crowns draws green discs of radius r (pixels) on bare brown ground.
func crowns(w, h int, centres []image.Point, r int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 150, 130, 100, 255
	}
	for _, c := range centres {
		for y := c.Y - r; y <= c.Y+r; y++ {
			for x := c.X - r; x <= c.X+r; x++ {
				d2 := (x-c.X)*(x-c.X) + (y-c.Y)*(y-c.Y)
				if d2 <= r*r && image.Pt(x, y).In(img.Rect) {
					// brighter at the top, like a sunlit crown
					g := uint8(150 - 60*d2/(r*r))
					img.SetRGBA(x, y, color.RGBA{40, g, 30, 255})
				}
			}
		}
	}
	return img
}

func TestCountDiscs(t *testing.T) {
	centres := []image.Point{{60, 60}, {200, 80}, {320, 300}, {100, 300}, {300, 150}}
	truth := make([]count.Box, len(centres))
	for i, c := range centres {
		truth[i] = count.Box{XMin: float64(c.X - 25), YMin: float64(c.Y - 25), XMax: float64(c.X + 25), YMax: float64(c.Y + 25)}
	}
	// RadiusScale 1: on clean discs the distance to the edge is the radius (the default, 2, is tuned
	// on real crowns, whose tops are rarely their centres)
	c, err := New(Options{RadiusScale: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		name string
		gsd  float64
		size int
	}{
		{"0.1 m", 0.1, 400},
		{"0.05 m", 0.05, 800}, // same ground, twice the pixels
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.size / 400
			cs := make([]image.Point, len(centres))
			tr := make([]count.Box, len(truth))
			for i := range centres {
				cs[i] = centres[i].Mul(s)
				tr[i] = truth[i].Scale(float64(s))
			}
			res, err := c.CountAt(context.Background(), crowns(tc.size, tc.size, cs, 25*s), tc.gsd)
			if err != nil {
				t.Fatal(err)
			}
			if res.Count != len(centres) || res.Method != "classical" {
				t.Fatalf("count %d method %q, want %d classical; boxes %v", res.Count, res.Method, len(centres), res.Boxes)
			}
			if m := count.Match(res.Boxes, tr, 0.4); m != len(centres) {
				t.Errorf("%d of %d boxes match at IoU 0.4: %v", m, len(centres), res.Boxes)
			}
		})
	}
}

func TestEmptyAndTiny(t *testing.T) {
	c, _ := New(Options{})
	for _, img := range []*image.RGBA{crowns(200, 200, nil, 0), image.NewRGBA(image.Rect(0, 0, 1, 1))} {
		res, err := c.Count(context.Background(), img)
		if err != nil || res.Count != 0 {
			t.Errorf("bare image: count %d err %v, want 0", res.Count, err)
		}
	}
	if _, err := New(Options{MinCrownM: 10, MaxCrownM: 5}); err == nil {
		t.Errorf("New accepted max crown below min")
	}
}

func BenchmarkCount(b *testing.B) {
	c, _ := New(Options{})
	img := crowns(400, 400, []image.Point{{60, 60}, {200, 80}, {320, 300}, {100, 300}, {300, 150}}, 25)
	for b.Loop() {
		if _, err := c.Count(context.Background(), img); err != nil {
			b.Fatal(err)
		}
	}
}
