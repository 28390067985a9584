//go:build opencv

package register_test

import (
	"image"
	"math"
	"strings"
	"testing"

	"github.com/canopy-forest/canopy/cloud/register"
	"github.com/canopy-forest/canopy/cloud/register/registertest"
)

// TestMatch registers two overlapping crops of one scene, the second
// turned half a turn, and checks the transform against the truth; crops
// of two different scenes are rejected with a reason.
func TestMatch(t *testing.T) {
	scene, _ := registertest.Scene(800, 500, 40, 3)
	other, _ := registertest.Scene(800, 500, 40, 4)
	a := registertest.Photo{Rect: image.Rect(0, 0, 500, 400)}
	b := registertest.Photo{Rect: image.Rect(250, 80, 750, 480), Turned: true}
	extract := func(img *image.RGBA) *register.Features {
		f, err := register.Extract(img, 1, register.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if f.Len() < 100 {
			t.Fatalf("%d keypoints", f.Len())
		}
		return f
	}
	fa, fb := extract(a.Cut(scene)), extract(b.Cut(scene))
	p := register.Match(fa, fb, nil, register.Options{})
	if !p.OK || p.Inliers < 50 || len(p.Corr) == 0 {
		t.Fatalf("pair %+v", p)
	}
	for _, c := range [][2]float64{{0, 0}, {500, 400}, {250, 200}} {
		x, y := p.H.Apply(c[0], c[1])
		sx, sy := b.ToScene(c[0], c[1])
		if math.Hypot(x-sx, y-sy) > 1.5 { // a's view is the scene from (0, 0)
			t.Errorf("B's %v lands at %.1f, %.1f in A, want %.1f, %.1f", c, x, y, sx, sy)
		}
	}
	// Again, guided by the transform found: the same answer.
	g := register.Match(fa, fb, &register.Guide{H: p.H, Radius: 10}, register.Options{})
	if !g.OK || math.Abs(g.H[2]-p.H[2]) > 1 {
		t.Errorf("guided pair %+v", g)
	}
	q := register.Match(fa, extract(b.Cut(other)), nil, register.Options{})
	if q.OK || !strings.Contains(q.Reason, "too few") {
		t.Errorf("unrelated photos: ok %v, %q", q.OK, q.Reason)
	}
}
