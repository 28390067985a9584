package register

import (
	"math"
	"strings"
	"testing"
)

// rigid is a rotation by deg degrees, a scale s and a shift.
func rigid(deg, s, dx, dy float64) Mat3 {
	sn, cs := math.Sincos(deg * math.Pi / 180)
	return Mat3{s * cs, -s * sn, dx, s * sn, s * cs, dy, 0, 0, 1}
}

func near(a, b Mat3, tol float64) bool {
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

func TestMat3(t *testing.T) {
	m := rigid(30, 1.2, 5, -7)
	if !near(m.Mul(m.Inv()), Identity, 1e-12) || !near(m.Inv().Mul(m), Identity, 1e-12) {
		t.Errorf("m * inv(m) = %v", m.Mul(m.Inv()))
	}
	x, y := m.Mul(Translate(1, 2)).Apply(3, 4)
	wx, wy := m.Apply(4, 6)
	if math.Abs(x-wx) > 1e-12 || math.Abs(y-wy) > 1e-12 {
		t.Errorf("Mul applies the right factor first: got %v, %v, want %v, %v", x, y, wx, wy)
	}
	if (Mat3{1, 2, 3, 2, 4, 6, 0, 0, 1}).Inv() != (Mat3{}) {
		t.Error("a singular matrix has no inverse")
	}
	a := AffineOf(func(x, y float64) (float64, float64) { return m.Apply(x, y) })
	if !near(a, m, 1e-12) {
		t.Errorf("AffineOf(m) = %v, want %v", a, m)
	}
}

func TestCheckFit(t *testing.T) {
	o := Options{}.WithDefaults()
	for _, tc := range []struct {
		name string
		h    Mat3
		want string // "" or a part of the reason
	}{
		{"shift", Translate(300, 100), ""},
		{"half turn", rigid(180, 1, 1000, 560), ""},
		{"slightly larger", rigid(10, 1.1, 0, 0), ""},
		{"mirrored", Mat3{-1, 0, 1000, 0, 1, 0, 0, 0, 1}, "mirrored"},
		{"scale", rigid(0, 3, 0, 0), "scale 3.00 out of range"},
		{"collapsed", Mat3{1, 0, 0, 0, 0, 0, 0, 0, 1}, "degenerate"},
		{"perspective", Mat3{1, 0, 0, 0, 1, 0, 0.001, 0, 1}, "perspective"},
		{"not finite", Mat3{math.NaN(), 0, 0, 0, 1, 0, 0, 0, 1}, "degenerate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := checkFit(tc.h, 1000, 560, o)
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
