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
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			u, v := inv.Apply(float64(x)+0.5, float64(y)+0.5)
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

// bilinear samples img at (x, y) (pixel centres at integers).
func bilinear(img *image.RGBA, x, y float64) color.RGBA {
	b := img.Rect
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := x-x0, y-y0
	ix, iy := int(x0)+b.Min.X, int(y0)+b.Min.Y
	at := func(x, y int) [3]float64 {
		x = min(max(x, b.Min.X), b.Max.X-1)
		y = min(max(y, b.Min.Y), b.Max.Y-1)
		o := img.PixOffset(x, y)
		return [3]float64{float64(img.Pix[o]), float64(img.Pix[o+1]), float64(img.Pix[o+2])}
	}
	a, bb, c, d := at(ix, iy), at(ix+1, iy), at(ix, iy+1), at(ix+1, iy+1)
	var out [3]uint8
	for k := 0; k < 3; k++ {
		v := a[k]*(1-fx)*(1-fy) + bb[k]*fx*(1-fy) + c[k]*(1-fx)*fy + d[k]*fx*fy
		out[k] = uint8(math.Round(v))
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
