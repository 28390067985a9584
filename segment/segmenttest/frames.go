package segmenttest

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
)

// Canopy returns a w x h synthetic frame of tree crowns seen from above:
// shaded green discs on a darker green background, with a little noise.
func Canopy(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(img, func(x, y int) color.RGBA {
		return noisy(r, color.RGBA{34, 78, 30, 255}, 8)
	})
	n := max(1, w*h/900)
	for i := 0; i < n; i++ {
		cx, cy := r.IntN(max(w, 1)), r.IntN(max(h, 1))
		rad := 6 + r.IntN(18)
		base := color.RGBA{uint8(45 + r.IntN(30)), uint8(100 + r.IntN(50)), uint8(35 + r.IntN(25)), 255}
		for y := max(0, cy-rad); y < min(h, cy+rad+1); y++ {
			for x := max(0, cx-rad); x < min(w, cx+rad+1); x++ {
				d := math.Hypot(float64(x-cx), float64(y-cy)) / float64(rad)
				if d > 1 {
					continue
				}
				shade := 1.15 - 0.45*d
				img.SetRGBA(x, y, noisy(r, scale(base, shade), 6))
			}
		}
	}
	return img
}

// Grey returns a w x h grey frame (a road, a roof, concrete) with noise.
func Grey(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 2))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(img, func(x, y int) color.RGBA { return noisy(r, color.RGBA{128, 126, 124, 255}, 10) })
	return img
}

// Pattern returns a w x h frame with green and grey patches, so that a
// segmenter has some of each.
func Pattern(w, h int, seed uint64) *image.RGBA {
	g, c := Grey(w, h, seed), Canopy(w, h, seed)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			src := g
			if (x*4/max(w, 1)+y*3/max(h, 1))%2 == 0 {
				src = c
			}
			img.SetRGBA(x, y, src.RGBAAt(x, y))
		}
	}
	return img
}

func fill(img *image.RGBA, f func(x, y int) color.RGBA) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			img.SetRGBA(x, y, f(x, y))
		}
	}
}

func noisy(r *rand.Rand, c color.RGBA, amp int) color.RGBA {
	j := func(v uint8) uint8 { return uint8(min(255, max(0, int(v)+r.IntN(2*amp+1)-amp))) }
	return color.RGBA{j(c.R), j(c.G), j(c.B), 255}
}

func scale(c color.RGBA, f float64) color.RGBA {
	s := func(v uint8) uint8 { return uint8(min(255, max(0, float64(v)*f))) }
	return color.RGBA{s(c.R), s(c.G), s(c.B), 255}
}
