package register

import (
	"image"
	"image/color"
	"math"
)

// Mosaic is a quick-look picture of a scan, north up (or the reference
// photo's top up, on a local map): photos are drawn into it one at a
// time, blended where they overlap (each pixel weighted by its distance
// from its photo's edge), so that memory holds the mosaic and one photo.
type Mosaic struct {
	Img *image.RGBA
	// X0, Y0 are the metres of the top-left corner; Res the metres per
	// pixel: pixel (c, r) covers x from X0+c*Res, y down from Y0-r*Res.
	X0, Y0, Res float64
	weight      []uint16
}

// NewMosaic returns an empty mosaic of the box [x0, x1] x [y0, y1]
// (metres) at res metres per pixel, or coarser so that its longer side
// is at most maxSide pixels.
func NewMosaic(x0, y0, x1, y1, res float64, maxSide int) *Mosaic {
	w, h := x1-x0, y1-y0
	if res <= 0 || math.Max(w, h)/res > float64(maxSide) {
		res = math.Max(w, h) / float64(maxSide)
	}
	if res <= 0 {
		res = 1
	}
	cw, ch := max(1, int(math.Ceil(w/res))), max(1, int(math.Ceil(h/res)))
	return &Mosaic{Img: image.NewRGBA(image.Rect(0, 0, cw, ch)), X0: x0, Y0: y1, Res: res, weight: make([]uint16, cw*ch)}
}

// ToPixel maps metres to mosaic pixels.
func (m *Mosaic) ToPixel() Mat3 {
	return Mat3{1 / m.Res, 0, -m.X0 / m.Res, 0, -1 / m.Res, m.Y0 / m.Res, 0, 0, 1}
}

// Draw blends view (a photo's view) into the mosaic; toMetres maps its
// pixels to metres.
func (m *Mosaic) Draw(view *image.RGBA, toMetres Mat3) {
	t := m.ToPixel().Mul(toMetres) // view pixels to mosaic pixels
	inv := t.Inv()
	if !inv.Finite() || inv == (Mat3{}) {
		return
	}
	vw, vh := float64(view.Rect.Dx()), float64(view.Rect.Dy())
	q := quad(t, view.Rect.Dx(), view.Rect.Dy())
	bx0, by0, bx1, by1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range q {
		bx0, by0 = math.Min(bx0, p[0]), math.Min(by0, p[1])
		bx1, by1 = math.Max(bx1, p[0]), math.Max(by1, p[1])
	}
	r := image.Rect(int(math.Floor(bx0)), int(math.Floor(by0)), int(math.Ceil(bx1)), int(math.Ceil(by1))).Intersect(m.Img.Rect)
	half := math.Min(vw, vh) / 2
	cw := m.Img.Rect.Dx()
	affine := inv[6] == 0 && inv[7] == 0 && inv[8] == 1
	for y := r.Min.Y; y < r.Max.Y; y++ {
		// Along a row an affine map steps by (inv[0], inv[3]) a pixel.
		u, v := inv.Apply(float64(r.Min.X)+0.5, float64(y)+0.5)
		for x := r.Min.X; x < r.Max.X; x++ {
			if !affine {
				u, v = inv.Apply(float64(x)+0.5, float64(y)+0.5)
			} else if x > r.Min.X {
				u, v = u+inv[0], v+inv[3]
			}
			edge := math.Min(math.Min(u, vw-u), math.Min(v, vh-v))
			if edge <= 0 {
				continue
			}
			w := uint32(1 + 65534*math.Min(1, edge/half))
			c := bilinear(view, u-0.5, v-0.5)
			i := y*cw + x
			old := uint32(m.weight[i])
			o := m.Img.PixOffset(x, y)
			p := m.Img.Pix[o : o+4 : o+4]
			sum := old + w
			p[0] = uint8((uint32(p[0])*old + uint32(c.R)*w) / sum)
			p[1] = uint8((uint32(p[1])*old + uint32(c.G)*w) / sum)
			p[2] = uint8((uint32(p[2])*old + uint32(c.B)*w) / sum)
			p[3] = 255
			m.weight[i] = uint16(min(sum, 65535))
		}
	}
}

// bilinear samples img (its bounds at the origin) at (x, y), pixel
// centres at integers.
func bilinear(img *image.RGBA, x, y float64) color.RGBA {
	b := img.Rect
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := x-x0, y-y0
	ix0 := min(max(int(x0), 0), b.Dx()-1)
	iy0 := min(max(int(y0), 0), b.Dy()-1)
	ix1 := min(max(int(x0)+1, 0), b.Dx()-1)
	iy1 := min(max(int(y0)+1, 0), b.Dy()-1)
	p00, p10 := iy0*img.Stride+4*ix0, iy0*img.Stride+4*ix1
	p01, p11 := iy1*img.Stride+4*ix0, iy1*img.Stride+4*ix1
	w00, w10, w01, w11 := (1-fx)*(1-fy), fx*(1-fy), (1-fx)*fy, fx*fy
	var out [3]uint8
	for k := 0; k < 3; k++ {
		v := float64(img.Pix[p00+k])*w00 + float64(img.Pix[p10+k])*w10 + float64(img.Pix[p01+k])*w01 + float64(img.Pix[p11+k])*w11
		out[k] = uint8(v + 0.5)
	}
	return color.RGBA{out[0], out[1], out[2], 255}
}

// Circle draws a circle of radius rM metres at (x, y) metres, lw pixels
// wide.
func (m *Mosaic) Circle(x, y, rM float64, c color.RGBA, lw int) {
	cx, cy := m.ToPixel().Apply(x, y)
	r := math.Max(rM/m.Res, 2)
	b := m.Img.Rect
	for py := int(cy - r - float64(lw)); py <= int(cy+r+float64(lw)); py++ {
		for px := int(cx - r - float64(lw)); px <= int(cx+r+float64(lw)); px++ {
			if !(image.Point{px, py}.In(b)) {
				continue
			}
			d := math.Hypot(float64(px)+0.5-cx, float64(py)+0.5-cy)
			if math.Abs(d-r) <= float64(lw)/2 {
				m.Img.SetRGBA(px, py, c)
			}
		}
	}
}
