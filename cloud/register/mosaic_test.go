package register

import (
	"image"
	"image/color"
	"testing"
)

func TestMosaic(t *testing.T) {
	// Two 20 x 10 views, 1 m per pixel: one red at x 0..20, one blue
	// shifted 10 m east; north up (view y down is south).
	view := func(c color.RGBA) *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, 20, 10))
		for i := 0; i < len(img.Pix); i += 4 {
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
		}
		return img
	}
	toM := func(x float64) Mat3 { return Mat3{1, 0, x, 0, -1, 10, 0, 0, 1} }
	m := NewMosaic(0, 0, 30, 10, 1, 4096)
	if m.Img.Rect.Dx() != 30 || m.Img.Rect.Dy() != 10 {
		t.Fatalf("size %v", m.Img.Rect)
	}
	m.Draw(view(color.RGBA{200, 0, 0, 255}), toM(0))
	m.Draw(view(color.RGBA{0, 0, 200, 255}), toM(10))
	at := func(x, y int) color.RGBA { return m.Img.RGBAAt(x, y) }
	if c := at(2, 5); c.R != 200 || c.B != 0 {
		t.Errorf("red part %v", c)
	}
	if c := at(27, 5); c.B != 200 || c.R != 0 {
		t.Errorf("blue part %v", c)
	}
	// In the overlap the colours blend, each weighted by its distance
	// from its view's edge: equal in the middle.
	if c := at(15, 5); c.R < 80 || c.B < 80 {
		t.Errorf("overlap %v, want a blend", c)
	}
	// Bounded: a box of 30 km at 1 m is drawn at 4096 pixels.
	if b := NewMosaic(0, 0, 30000, 1000, 1, 4096); b.Img.Rect.Dx() != 4096 || b.Res < 7.3 {
		t.Errorf("big mosaic %v at %v m", b.Img.Rect, b.Res)
	}
	m.Circle(15, 5, 3, color.RGBA{255, 255, 255, 255}, 1)
	white := 0
	for y := 0; y < 10; y++ {
		for x := 0; x < 30; x++ {
			if at(x, y) == (color.RGBA{255, 255, 255, 255}) {
				white++
				if x < 11 || x > 19 {
					t.Errorf("circle drawn at %d, %d", x, y)
				}
			}
		}
	}
	if white < 12 {
		t.Errorf("circle of %d pixels", white)
	}
}

func TestShrink(t *testing.T) {
	for _, tc := range []struct {
		w, h, side, ww, wh int
		k                  float64
	}{
		{100, 50, 40, 40, 20, 2.5},
		{50, 100, 40, 20, 40, 2.5},
		{100, 50, 100, 100, 50, 1},
	} {
		img, k := Shrink(image.NewRGBA(image.Rect(0, 0, tc.w, tc.h)), tc.side)
		if img.Rect.Dx() != tc.ww || img.Rect.Dy() != tc.wh || k != tc.k {
			t.Errorf("%dx%d to %d: got %v, %v; want %dx%d, %v", tc.w, tc.h, tc.side, img.Rect, k, tc.ww, tc.wh, tc.k)
		}
	}
}
