// Package registertest makes scans whose truth is known, for the tests
// and benchmarks of registration: a textured scene with round crowns, and
// photos cut out of a large image at known offsets (some turned half a
// turn, as a return flight line is), with the crowns each photo sees.
package registertest

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"

	xdraw "golang.org/x/image/draw"
)

// Crown is a tree of a scene: its centre and radius, in scene pixels.
type Crown struct{ X, Y, R float64 }

// Scene draws a w x h scene: a ground of blotches at several scales (so
// that every part of it looks different, as a field does) and n crowns
// of radius 8 to 20 pixels, none overlapping another by more than a
// third. The same seed gives the same scene.
func Scene(w, h, n int, seed uint64) (*image.RGBA, []Crown) {
	rng := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 120, 110, 80, 255
	}
	for _, s := range []struct {
		n    int
		r    float64
		dark uint8
	}{{w * h / 4000, 30, 40}, {w * h / 400, 6, 50}, {w * h / 60, 2, 60}} {
		for i := 0; i < s.n; i++ {
			c := color.RGBA{uint8(80 + rng.IntN(120)), uint8(70 + rng.IntN(110)), uint8(40 + rng.IntN(90)), 255}
			if rng.IntN(3) == 0 {
				c = color.RGBA{c.R - min(c.R, s.dark), c.G - min(c.G, s.dark), c.B - min(c.B, s.dark), 255}
			}
			disc(img, rng.Float64()*float64(w), rng.Float64()*float64(h), s.r*(0.5+rng.Float64()), c, 0)
		}
	}
	var crowns []Crown
	for tries := 0; len(crowns) < n && tries < 100*n; tries++ {
		c := Crown{X: 20 + rng.Float64()*float64(w-40), Y: 20 + rng.Float64()*float64(h-40), R: 8 + rng.Float64()*12}
		ok := true
		for _, o := range crowns {
			if math.Hypot(c.X-o.X, c.Y-o.Y) < (c.R+o.R)*0.8 {
				ok = false
				break
			}
		}
		if ok {
			crowns = append(crowns, c)
			g := uint8(110 + rng.IntN(80))
			disc(img, c.X, c.Y, c.R, color.RGBA{uint8(20 + rng.IntN(40)), g, uint8(20 + rng.IntN(30)), 255}, 0.5)
		}
	}
	return img, crowns
}

// disc fills a disc, shaded towards its lower right by shade (0: flat).
func disc(img *image.RGBA, cx, cy, r float64, c color.RGBA, shade float64) {
	b := img.Rect
	for y := max(b.Min.Y, int(cy-r)); y <= min(b.Max.Y-1, int(cy+r)); y++ {
		for x := max(b.Min.X, int(cx-r)); x <= min(b.Max.X-1, int(cx+r)); x++ {
			dx, dy := float64(x)-cx, float64(y)-cy
			if dx*dx+dy*dy > r*r {
				continue
			}
			f := 1 - shade*0.5*(dx+dy)/(2*r) - shade*0.25
			o := img.PixOffset(x, y)
			img.Pix[o] = uint8(math.Min(255, float64(c.R)*f))
			img.Pix[o+1] = uint8(math.Min(255, float64(c.G)*f))
			img.Pix[o+2] = uint8(math.Min(255, float64(c.B)*f))
		}
	}
}

// Photo is a photo cut from a large image: the rectangle it covers and
// whether it is turned half a turn.
type Photo struct {
	Rect   image.Rectangle
	Turned bool
}

// ToScene maps a pixel of the photo to the scene.
func (p Photo) ToScene(x, y float64) (float64, float64) {
	if p.Turned {
		x, y = float64(p.Rect.Dx())-x, float64(p.Rect.Dy())-y
	}
	return x + float64(p.Rect.Min.X), y + float64(p.Rect.Min.Y)
}

// Cut is the photo's pixels.
func (p Photo) Cut(src *image.RGBA) *image.RGBA {
	w, h := p.Rect.Dx(), p.Rect.Dy()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		o, q := out.PixOffset(0, y), src.PixOffset(p.Rect.Min.X, p.Rect.Min.Y+y)
		copy(out.Pix[o:o+4*w], src.Pix[q:q+4*w])
	}
	return p.turn(out)
}

// turn turns img half a turn when the photo is turned.
func (p Photo) turn(img *image.RGBA) *image.RGBA {
	if !p.Turned {
		return img
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := image.NewRGBA(img.Rect)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o, q := out.PixOffset(x, y), img.PixOffset(w-1-x, h-1-y)
			copy(out.Pix[o:o+4], img.Pix[q:q+4])
		}
	}
	return out
}

// Boxes are the boxes (xmin, ymin, xmax, ymax in photo pixels) of the
// crowns whose centre the photo sees.
func (p Photo) Boxes(crowns []Crown) [][4]float64 {
	var out [][4]float64
	for _, c := range crowns {
		x, y := c.X-float64(p.Rect.Min.X), c.Y-float64(p.Rect.Min.Y)
		if x < 0 || y < 0 || x >= float64(p.Rect.Dx()) || y >= float64(p.Rect.Dy()) {
			continue
		}
		if p.Turned {
			x, y = float64(p.Rect.Dx())-x, float64(p.Rect.Dy())-y
		}
		out = append(out, [4]float64{x - c.R, y - c.R, x + c.R, y + c.R})
	}
	return out
}

// Grid lays out photos of w x h pixels over a scene of sw x sh, nx by
// ny, evenly spread (so that neighbours overlap as the sizes make them),
// row after row as a drone flies them: every other row turned half a
// turn (a return flight line) when turn is set.
func Grid(sw, sh, w, h, nx, ny int, turn bool) []Photo {
	var out []Photo
	for j := 0; j < ny; j++ {
		for k := 0; k < nx; k++ {
			i := k
			if turn && j%2 == 1 {
				i = nx - 1 - k // serpentine
			}
			x, y := 0, 0
			if nx > 1 {
				x = i * (sw - w) / (nx - 1)
			}
			if ny > 1 {
				y = j * (sh - h) / (ny - 1)
			}
			out = append(out, Photo{Rect: image.Rect(x, y, x+w, y+h), Turned: turn && j%2 == 1})
		}
	}
	return out
}

// CutScaled is the photo's pixels enlarged s times (bilinear, approximate), as a
// camera that sees the scene at a finer GSD would take it.
func (p Photo) CutScaled(src *image.RGBA, s float64) *image.RGBA {
	w, h := int(math.Round(float64(p.Rect.Dx())*s)), int(math.Round(float64(p.Rect.Dy())*s))
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.ApproxBiLinear.Scale(out, out.Rect, src, p.Rect, xdraw.Src, nil)
	return p.turn(out)
}
