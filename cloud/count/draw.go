package count

import (
	"image"
	"image/color"
	"math"

	"github.com/canopy-forest/canopy/internal/rgba"
)

// BoxColour is the colour Draw uses by default.
var BoxColour = color.RGBA{R: 255, G: 230, B: 0, A: 255}

// Draw returns a copy of img with each box outlined in c, thickness pixels
// wide (at least 1). It is pure Go.
func Draw(img image.Image, boxes []Box, c color.RGBA, thickness int) *image.RGBA {
	src := rgba.Of(img)
	dst := image.NewRGBA(src.Rect)
	copy(dst.Pix, src.Pix)
	if thickness < 1 {
		thickness = 1
	}
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	for _, b := range boxes {
		b = b.Clip(float64(w), float64(h))
		x0, y0 := int(math.Floor(b.XMin)), int(math.Floor(b.YMin))
		x1, y1 := int(math.Ceil(b.XMax))-1, int(math.Ceil(b.YMax))-1
		if x1 < x0 || y1 < y0 {
			continue
		}
		for t := range thickness {
			hline(dst, x0, x1, y0+t, c)
			hline(dst, x0, x1, y1-t, c)
			vline(dst, x0+t, y0, y1, c)
			vline(dst, x1-t, y0, y1, c)
		}
	}
	return dst
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) {
	if y < 0 || y >= img.Rect.Dy() {
		return
	}
	for x := max(x0, 0); x <= x1 && x < img.Rect.Dx(); x++ {
		img.SetRGBA(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) {
	if x < 0 || x >= img.Rect.Dx() {
		return
	}
	for y := max(y0, 0); y <= y1 && y < img.Rect.Dy(); y++ {
		img.SetRGBA(x, y, c)
	}
}

// LineWidth is a box outline width that stays visible when a w x h image
// is shown a screen wide: 2 pixels up to 1600 pixels, wider beyond.
func LineWidth(w, h int) int {
	return max(2, max(w, h)/800)
}
