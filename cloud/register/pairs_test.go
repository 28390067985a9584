package register

import (
	"fmt"
	"math"
	"testing"
)

// onGround is a photo of 100 x 50 view pixels at 0.5 m each, centred at
// (x, y) metres, its top edge heading north.
func onGround(id string, x, y float64) Photo {
	g := Mat3{0.5, 0, x - 25, 0, -0.5, y + 12.5, 0, 0, 1}
	return Photo{ID: id, Width: 100, Height: 50, Ground: &g, Centre: [2]float64{x, y}, HasCentre: true}
}

func pairsOf(cs []Candidate) string {
	s := ""
	for _, c := range cs {
		s += fmt.Sprintf("%d-%d(%s) ", c.A, c.B, c.Why)
	}
	return s
}

func TestSelectPairs(t *testing.T) {
	bare := func(n int) []Photo {
		ps := make([]Photo, n)
		for i := range ps {
			ps[i] = Photo{ID: fmt.Sprint(i), Width: 100, Height: 50}
		}
		return ps
	}
	big := bare(14)
	for _, tc := range []struct {
		name   string
		photos []Photo
		o      PairOptions
		done   func(a, b int) bool
		want   string
	}{
		{"footprints: neighbours overlap, the far one does not",
			[]Photo{onGround("a", 0, 0), onGround("b", 30, 0), onGround("c", 40, 5), onGround("d", 200, 0)}, PairOptions{}, nil,
			"0-1(footprints overlap) 0-2(footprints overlap) 1-2(footprints overlap) "},
		{"footprints: a sliver is not enough",
			[]Photo{onGround("a", 0, 0), onGround("b", 48, 0)}, PairOptions{}, nil, ""},
		{"no GPS, small scan: every pair", bare(4), PairOptions{}, nil,
			"0-1(small scan) 0-2(small scan) 0-3(small scan) 1-2(small scan) 1-3(small scan) 2-3(small scan) "},
		{"no GPS, large scan: capture order", big[:5], PairOptions{SmallScan: 3}, nil,
			"0-1(capture order) 0-2(capture order) 1-2(capture order) 1-3(capture order) 2-3(capture order) 2-4(capture order) 3-4(capture order) "},
		{"one photo without GPS among placed ones",
			[]Photo{onGround("a", 0, 0), {ID: "x", Width: 100, Height: 50}, onGround("b", 200, 0)}, PairOptions{SmallScan: 1, Window: 1}, nil,
			"0-1(capture order) 1-2(capture order) "},
		{"done pairs are left out", bare(3), PairOptions{}, func(a, b int) bool { return a == 0 },
			"1-2(small scan) "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pairsOf(SelectPairs(tc.photos, tc.o, tc.done)); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestOverlapShare(t *testing.T) {
	sq := func(x, y, s float64) [][2]float64 {
		return [][2]float64{{x, y}, {x + s, y}, {x + s, y + s}, {x, y + s}}
	}
	rev := func(p [][2]float64) [][2]float64 { return [][2]float64{p[3], p[2], p[1], p[0]} }
	diamond := [][2]float64{{5, 0}, {10, 5}, {5, 10}, {0, 5}}
	for _, tc := range []struct {
		name string
		a, b [][2]float64
		want float64
	}{
		{"same", sq(0, 0, 10), sq(0, 0, 10), 1},
		{"half", sq(0, 0, 10), sq(5, 0, 10), 0.5},
		{"inside", sq(0, 0, 10), sq(2, 2, 5), 1},
		{"apart", sq(0, 0, 10), sq(20, 0, 10), 0},
		{"clockwise", rev(sq(0, 0, 10)), sq(5, 5, 10), 0.25},
		{"diamond in square", sq(0, 0, 10), diamond, 1},
	} {
		if got := overlapShare(tc.a, tc.b); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPredicted(t *testing.T) {
	// Five photos of 100 x 50 view pixels in a row, 30 px apart, the
	// last in another block: the solution so far places them.
	photos := make([]Photo, 5)
	sol := Solution{Block: []int{0, 0, 0, 0, 1}}
	for i := range photos {
		photos[i] = Photo{Width: 100, Height: 50}
		sol.T = append(sol.T, Translate(30*float64(i), 0))
	}
	for _, tc := range []struct {
		name  string
		o     PairOptions
		state func(a, b int) PairState
		want  string
	}{
		{"every overlap", PairOptions{}, nil,
			"0-1(predicted by registration) 0-2(predicted by registration) 0-3(predicted by registration) 1-2(predicted by registration) 1-3(predicted by registration) 2-3(predicted by registration) "},
		{"each photo's best one", PairOptions{MaxPredicted: 1}, nil,
			"0-1(predicted by registration) 1-2(predicted by registration) 2-3(predicted by registration) "},
		{"done left out", PairOptions{MaxPredicted: 1}, func(a, b int) PairState {
			if a == 1 && b == 2 {
				return PairDone
			}
			return PairNew
		}, "0-1(predicted by registration) 2-3(predicted by registration) "},
		{"rejected without a guide: tried again", PairOptions{MaxPredicted: 1}, func(a, b int) PairState {
			if a == 0 && b == 3 {
				return PairRetry
			}
			return PairNew
		}, "0-1(predicted by registration) 0-3(predicted by registration) 1-2(predicted by registration) 2-3(predicted by registration) "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := Predicted(photos, sol, tc.o, 7, tc.state)
			if got := pairsOf(cs); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
			for _, c := range cs {
				if x, _ := c.Guide.H.Apply(0, 0); c.Guide.Radius != 7 || math.Abs(x-30*float64(c.B-c.A)) > 1e-9 {
					t.Errorf("%d-%d: guide %+v", c.A, c.B, c.Guide)
				}
			}
		})
	}
}
