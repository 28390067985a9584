package register

import (
	"math"
	"math/rand/v2"
	"testing"
)

// scene has photos of 400 x 300 view pixels placed by truth (view to
// scene); edge makes the registered pair a-b as matching would, with
// correspondences spread over their overlap and H shifted by err pixels.
type scene struct{ truth []Mat3 }

func (s scene) edge(a, b int, inliers int, err float64) Edge {
	h := s.truth[a].Inv().Mul(s.truth[b])
	e := Edge{A: a, B: b, H: Translate(err, 0).Mul(h), Inliers: inliers}
	rng := rand.New(rand.NewPCG(uint64(a), uint64(b)))
	for len(e.Corr) < 40 {
		bx, by := rng.Float64()*400, rng.Float64()*300
		ax, ay := e.H.Apply(bx, by)
		if ax < 0 || ay < 0 || ax > 400 || ay > 300 {
			continue
		}
		e.Corr = append(e.Corr, Corr{float32(ax), float32(ay), float32(bx), float32(by)})
	}
	return e
}

// relErr is the largest distance, over the photos' corners, between
// where the solution and the truth put photo b relative to photo a.
func relErr(s Solution, truth []Mat3, a, b int) float64 {
	got := s.T[a].Inv().Mul(s.T[b])
	want := truth[a].Inv().Mul(truth[b])
	var worst float64
	for _, c := range [][2]float64{{0, 0}, {400, 0}, {400, 300}, {0, 300}} {
		x1, y1 := got.Apply(c[0], c[1])
		x2, y2 := want.Apply(c[0], c[1])
		worst = math.Max(worst, math.Hypot(x1-x2, y1-y2))
	}
	return worst
}

func TestSolve(t *testing.T) {
	// Six photos: a strip of three, a return strip of three turned half
	// a turn, and a seventh far away.
	sc := scene{truth: []Mat3{
		rigid(0, 1, 0, 0), rigid(1, 1, 150, 5), rigid(-1, 1, 300, 0),
		rigid(180, 1, 700, 500), rigid(181, 1, 550, 505), rigid(179, 1, 400, 500),
		rigid(0, 1, 5000, 5000),
	}}
	type check struct{ a, b int }
	for _, tc := range []struct {
		name    string
		edges   []Edge
		blocks  []int
		dropped int
		maxErr  float64 // pixels, for every pair of photos of a block
	}{
		{"two strips joined", []Edge{sc.edge(0, 1, 100, 0), sc.edge(1, 2, 100, 0), sc.edge(3, 4, 90, 0), sc.edge(4, 5, 90, 0), sc.edge(1, 5, 50, 0)},
			[]int{0, 0, 0, 0, 0, 0, -1}, 0, 0.01},
		{"two blocks and a lone photo", []Edge{sc.edge(0, 1, 100, 0), sc.edge(3, 4, 90, 0)},
			[]int{0, 0, -1, 1, 1, -1, -1}, 0, 0.01},
		// An error of 6 px on a pair of a loop is shared out by the
		// adjustment, not carried whole down the chain.
		{"loop shares an error", []Edge{sc.edge(0, 1, 100, 6), sc.edge(1, 2, 100, 0), sc.edge(0, 2, 100, 0)},
			[]int{0, 0, 0, -1, -1, -1, -1}, 0, 6},
		// A false pair (60 px off) that passed the checks is dropped.
		{"false pair dropped", []Edge{sc.edge(0, 1, 100, 0), sc.edge(1, 2, 100, 0), sc.edge(0, 2, 100, 0), sc.edge(2, 3, 30, 0),
			sc.edge(3, 4, 100, 0), sc.edge(2, 4, 40, 0), sc.edge(1, 4, 200, 60)},
			[]int{0, 0, 0, 0, 0, -1, -1}, 1, 0.05},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Solve(len(sc.truth), tc.edges)
			for i, b := range tc.blocks {
				// Block numbers may come in any order: compare the partition.
				for j, c := range tc.blocks {
					if (b == c && b >= 0) != (s.Block[i] == s.Block[j] && s.Block[i] >= 0) {
						t.Fatalf("blocks %v, want %v", s.Block, tc.blocks)
					}
				}
			}
			if len(s.Dropped) != tc.dropped {
				t.Errorf("dropped %+v, want %d", s.Dropped, tc.dropped)
			}
			for a := range tc.blocks {
				for b := range tc.blocks {
					if a < b && s.Block[a] >= 0 && s.Block[a] == s.Block[b] {
						if e := relErr(s, sc.truth, a, b); e > tc.maxErr {
							t.Errorf("photos %d, %d: %.3f px off, want at most %v", a, b, e, tc.maxErr)
						}
					}
				}
			}
			for _, bs := range s.Blocks {
				if s.T[bs.Ref] != Identity {
					t.Errorf("reference %d placed at %v", bs.Ref, s.T[bs.Ref])
				}
				// An error is shared out over a loop: each of its
				// three pairs keeps about a third.
				if want := tc.maxErr / 3; bs.RMS > want+0.01 || tc.maxErr > 1 && bs.RMS < want/2 {
					t.Errorf("block RMS %.2f px, want about %.2f", bs.RMS, want)
				}
			}
		})
	}
}
