package register

import (
	"fmt"
	"math"
)

// Mat3 is a 3x3 matrix, row-major: a homography of the plane.
type Mat3 [9]float64

// Identity is the identity transform.
var Identity = Mat3{1, 0, 0, 0, 1, 0, 0, 0, 1}

// Apply maps (x, y).
func (m Mat3) Apply(x, y float64) (float64, float64) {
	w := m[6]*x + m[7]*y + m[8]
	return (m[0]*x + m[1]*y + m[2]) / w, (m[3]*x + m[4]*y + m[5]) / w
}

// Mul is m∘n: n applied first.
func (m Mat3) Mul(n Mat3) Mat3 {
	var r Mat3
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			r[3*i+j] = m[3*i]*n[j] + m[3*i+1]*n[3+j] + m[3*i+2]*n[6+j]
		}
	}
	return r
}

// Det is the determinant.
func (m Mat3) Det() float64 {
	return m[0]*(m[4]*m[8]-m[5]*m[7]) - m[1]*(m[3]*m[8]-m[5]*m[6]) + m[2]*(m[3]*m[7]-m[4]*m[6])
}

// Inv is the inverse (the zero matrix for a singular m).
func (m Mat3) Inv() Mat3 {
	d := m.Det()
	if d == 0 || math.IsNaN(d) {
		return Mat3{}
	}
	return Mat3{
		(m[4]*m[8] - m[5]*m[7]) / d, (m[2]*m[7] - m[1]*m[8]) / d, (m[1]*m[5] - m[2]*m[4]) / d,
		(m[5]*m[6] - m[3]*m[8]) / d, (m[0]*m[8] - m[2]*m[6]) / d, (m[2]*m[3] - m[0]*m[5]) / d,
		(m[3]*m[7] - m[4]*m[6]) / d, (m[1]*m[6] - m[0]*m[7]) / d, (m[0]*m[4] - m[1]*m[3]) / d,
	}
}

// Finite reports whether every entry is a finite number.
func (m Mat3) Finite() bool {
	for _, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// Scale maps (x, y) to (s*x, s*y).
func Scale(s float64) Mat3 { return Mat3{s, 0, 0, 0, s, 0, 0, 0, 1} }

// Translate maps (x, y) to (x+dx, y+dy).
func Translate(dx, dy float64) Mat3 { return Mat3{1, 0, dx, 0, 1, dy, 0, 0, 1} }

// scaleOf is the mean linear scale of m's affine part at (x, y), and
// whether it keeps orientation.
func scaleOf(m Mat3, x, y float64) (float64, bool) {
	// Jacobian by finite differences: exact enough for a check.
	x0, y0 := m.Apply(x, y)
	x1, y1 := m.Apply(x+1, y)
	x2, y2 := m.Apply(x, y+1)
	det := (x1-x0)*(y2-y0) - (x2-x0)*(y1-y0)
	return math.Sqrt(math.Abs(det)), det > 0
}

// checkFit says why a homography between two views (B's view pixels to
// A's) is not a plausible pair of overlapping nadir photos, or "".
func checkFit(h Mat3, bw, bh int, o Options) string {
	if !h.Finite() || h[8] == 0 {
		return "degenerate homography"
	}
	cx, cy := float64(bw)/2, float64(bh)/2
	s, kept := scaleOf(h, cx, cy)
	if !kept {
		return "degenerate homography (mirrored)"
	}
	if s < o.MinScale || s > o.MaxScale {
		return fmt.Sprintf("scale %.2f out of range [%g, %g]", s, o.MinScale, o.MaxScale)
	}
	// Nadir photos of one flight are nearly affine to each other: the
	// scale may not change much across the photo (perspective), and the
	// corners must stay a convex quadrilateral.
	corners := [][2]float64{{0, 0}, {float64(bw), 0}, {float64(bw), float64(bh)}, {0, float64(bh)}}
	for _, c := range corners {
		w := h[6]*c[0] + h[7]*c[1] + h[8]
		if w/h[8] <= 0 {
			return "degenerate homography (the horizon crosses the photo)"
		}
		sc, ok := scaleOf(h, c[0], c[1])
		if !ok || sc/s < 0.67 || sc/s > 1.5 {
			return fmt.Sprintf("too much perspective (scale %.2f at a corner, %.2f at the centre)", sc, s)
		}
	}
	var q [4][2]float64
	for i, c := range corners {
		q[i][0], q[i][1] = h.Apply(c[0], c[1])
	}
	for i := range q {
		a, b, c := q[i], q[(i+1)%4], q[(i+2)%4]
		if (b[0]-a[0])*(c[1]-b[1])-(b[1]-a[1])*(c[0]-b[0]) <= 0 {
			return "degenerate homography (not convex)"
		}
	}
	return ""
}

// AffineOf is the affine map that agrees with f at (0,0), (1,0) and
// (0,1): f itself when f is affine.
func AffineOf(f func(x, y float64) (float64, float64)) Mat3 {
	x0, y0 := f(0, 0)
	x1, y1 := f(1, 0)
	x2, y2 := f(0, 1)
	return Mat3{x1 - x0, x2 - x0, x0, y1 - y0, y2 - y0, y0, 0, 0, 1}
}
