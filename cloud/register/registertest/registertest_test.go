package registertest

import (
	"image"
	"math"
	"testing"
)

// A turned cut is the plain cut turned half a turn, pixel for pixel.
func TestCut(t *testing.T) {
	src, crowns := Scene(120, 90, 5, 1)
	for _, s := range []float64{1, 2} {
		p := Photo{Rect: image.Rect(10, 20, 61, 70)}
		q := p
		q.Turned = true
		a, b := p.CutScaled(src, s), q.CutScaled(src, s)
		w, h := a.Rect.Dx(), a.Rect.Dy()
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if a.RGBAAt(x, y) != b.RGBAAt(w-1-x, h-1-y) {
					t.Fatalf("scale %v: pixel %d, %d differs from its turned twin", s, x, y)
				}
			}
		}
	}
	p := Photo{Rect: image.Rect(0, 0, 120, 90), Turned: true}
	for i, b := range p.Boxes(crowns) {
		x, y := p.ToScene((b[0]+b[2])/2, (b[1]+b[3])/2)
		if math.Abs(x-crowns[i].X) > 1e-9 || math.Abs(y-crowns[i].Y) > 1e-9 {
			t.Errorf("crown %d: box centre maps to %v, %v; want %v, %v", i, x, y, crowns[i].X, crowns[i].Y)
		}
	}
	if got := len(Grid(100, 100, 40, 40, 3, 2, true)); got != 6 {
		t.Errorf("grid of %d photos", got)
	}
}
