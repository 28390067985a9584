package register

import (
	"math"
	"strings"
	"testing"
)

func TestPlace(t *testing.T) {
	// Three photos of 100 x 50 view pixels at 0.5 m, in a row 20 m apart
	// heading north-east; the frame is photo 0's view (top edge up).
	truth := func(i int) Mat3 { // view to ground metres
		sn, cs := math.Sincos(45 * math.Pi / 180)
		x, y := 20*float64(i)*sn, 20*float64(i)*cs
		r := Mat3{0.5 * cs, -0.5 * sn, 0, -0.5 * sn, -0.5 * cs, 0, 0, 0, 1} // right is south-east, up north-east
		return Translate(x, y).Mul(r).Mul(Translate(-50, -25))
	}
	var photos []Photo
	sol := Solution{Block: []int{0, 0, 0}, Blocks: []BlockSolution{{Ref: 0, Photos: 3}}}
	for i := 0; i < 3; i++ {
		p := Photo{ID: string(rune('a' + i)), Width: 100, Height: 50, HasCentre: true}
		p.Centre[0], p.Centre[1] = truth(i).Apply(50, 25)
		photos = append(photos, p)
		sol.T = append(sol.T, truth(0).Inv().Mul(truth(i)))
	}
	check := func(name string, f Frame, wantGeo bool, how string, tol float64) {
		t.Helper()
		if f.Geo != wantGeo || !strings.Contains(f.How, how) {
			t.Errorf("%s: geo %v, %q; want %v, %q", name, f.Geo, f.How, wantGeo, how)
		}
		if !wantGeo {
			return
		}
		for i := range photos {
			for _, c := range [][2]float64{{0, 0}, {100, 50}} {
				x, y := f.ToMetres.Mul(sol.T[i]).Apply(c[0], c[1])
				wx, wy := truth(i).Apply(c[0], c[1])
				if math.Hypot(x-wx, y-wy) > tol {
					t.Errorf("%s: photo %d corner %v at %.2f, %.2f; want %.2f, %.2f", name, i, c, x, y, wx, wy)
				}
			}
		}
	}
	check("GPS", Place(photos, sol, 0, 0.5), true, "GPS positions of 3 photos", 1e-9)
	// A GSD 30% off: the GPS positions' scale is not trusted, the GSD's is.
	f := Place(photos, sol, 0, 0.65)
	check("GSD off", f, true, "scale from the GSD", 50)
	if s, _ := scaleOf(f.ToMetres, 0, 0); math.Abs(s-0.65) > 1e-9 {
		t.Errorf("scale %v, want the GSD's 0.65", s)
	}
	// Too close together for GPS to turn the block: one photo's camera
	// model.
	near := append([]Photo(nil), photos...)
	for i := range near {
		near[i].Centre[0], near[i].Centre[1] = near[i].Centre[0]/10, near[i].Centre[1]/10
	}
	g := truth(0)
	near[0].Ground = &g
	check("camera model", Place(near, sol, 0, 0.5), true, "camera model", 1e-9)
	// No GPS: a local map in metres, the reference's centre at 0, 0.
	bare := []Photo{{Width: 100, Height: 50}, {Width: 100, Height: 50}, {Width: 100, Height: 50}}
	l := Place(bare, sol, 0, 0.5)
	check("local", l, false, "local map", 0)
	if x, y := l.ToMetres.Apply(50, 25); x != 0 || y != 0 {
		t.Errorf("reference centre at %v, %v", x, y)
	}
	if x, y := l.ToMetres.Apply(50, 5); x != 0 || y != 10 {
		t.Errorf("20 px above the centre at %v, %v; want 0, 10 (north up)", x, y)
	}
}
