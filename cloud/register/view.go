package register

import (
	"image"
	"math"

	xdraw "golang.org/x/image/draw"
)

// Shrink is img shrunk (bilinear) so that its longer side is at most
// side pixels, or img itself when it is that small, and the factor from
// its pixels back to img's.
func Shrink(img *image.RGBA, side int) (*image.RGBA, float64) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if max(w, h) <= side {
		return img, 1
	}
	f := float64(max(w, h)) / float64(side)
	dst := image.NewRGBA(image.Rect(0, 0, max(1, int(math.Round(float64(w)/f))), max(1, int(math.Round(float64(h)/f)))))
	xdraw.ApproxBiLinear.Scale(dst, dst.Rect, img, img.Rect, xdraw.Src, nil)
	return dst, float64(w) / float64(dst.Rect.Dx())
}
