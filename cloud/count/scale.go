package count

import (
	"image"
	"math"

	"golang.org/x/image/draw"
)

// ModelGSD is the ground sample distance, in metres per pixel, that the
// counters are built for (NEON orthophotos).
const ModelGSD = 0.1

// gsdTolerance: images within this relative difference of the model's GSD
// are not resized.
const gsdTolerance = 0.02

// Rescale resizes img, whose ground sample distance is gsd metres per
// pixel, to target metres per pixel. It returns the image to count on and
// the factor that maps its coordinates back to img's (multiply boxes by it).
// gsd <= 0 (unknown), or a GSD within 2% of target, returns img itself and
// factor 1.
func Rescale(img *image.RGBA, gsd, target float64) (*image.RGBA, float64) {
	if gsd <= 0 || target <= 0 || math.Abs(gsd/target-1) <= gsdTolerance {
		return img, 1
	}
	s := gsd / target // new pixels per old pixel
	b := img.Bounds()
	w := max(1, int(math.Round(float64(b.Dx())*s)))
	h := max(1, int(math.Round(float64(b.Dy())*s)))
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.BiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst, float64(b.Dx()) / float64(w)
}
