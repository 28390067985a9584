package change

import (
	"math"
	"sort"
)

// binM is the size of the bins the displacements between trees vote in.
const binM = 0.5

// estimateOffset finds the shift of b against a (metres east and north)
// when most trees of one have a tree of the other at about the same
// displacement, no farther than maxShift: each pair of trees within
// maxShift votes for its displacement, the bin with the most votes (with
// its neighbours) wins, and the offset is the median displacement of the
// nearest pairs around it. pairs is how many pairs it rests on; with too
// few (fewer than 5, or than a quarter of the smaller scan's trees) there
// is no offset (0, 0, 0).
func estimateOffset(a, b []pt, maxShift float64) (dx, dy float64, pairs int) {
	if len(a) == 0 || len(b) == 0 {
		return 0, 0, 0
	}
	grid := hash(b, maxShift)
	votes := map[[2]int]int{}
	for _, p := range a {
		near(grid, maxShift, p.x, p.y, func(j int) {
			ddx, ddy := b[j].x-p.x, b[j].y-p.y
			if math.Hypot(ddx, ddy) <= maxShift {
				votes[[2]int{int(math.Floor(ddx/binM + 0.5)), int(math.Floor(ddy/binM + 0.5))}]++
			}
		})
	}
	best, bestScore := [2]int{}, -1
	for k := range votes {
		score := 0
		for i := -1; i <= 1; i++ {
			for j := -1; j <= 1; j++ {
				score += votes[[2]int{k[0] + i, k[1] + j}]
			}
		}
		// Ties go to the smaller shift, then to the lower bin: the same
		// answer on every run.
		if score > bestScore || score == bestScore && less(k, best) {
			best, bestScore = k, score
		}
	}
	cx, cy := float64(best[0])*binM, float64(best[1])*binM
	for range 2 { // refine: the medians of the pairs near the estimate
		var xs, ys []float64
		for _, p := range a {
			bd := math.Inf(1)
			var bx, by float64
			near(grid, maxShift, p.x, p.y, func(j int) {
				ddx, ddy := b[j].x-p.x, b[j].y-p.y
				if d := math.Hypot(ddx-cx, ddy-cy); d < 2*binM && d < bd {
					bd, bx, by = d, ddx, ddy
				}
			})
			if !math.IsInf(bd, 1) {
				xs, ys = append(xs, bx), append(ys, by)
			}
		}
		if len(xs) < 5 || len(xs) < min(len(a), len(b))/4 {
			return 0, 0, 0
		}
		cx, cy, pairs = median(xs), median(ys), len(xs)
	}
	return cx, cy, pairs
}

func less(k, l [2]int) bool {
	dk, dl := k[0]*k[0]+k[1]*k[1], l[0]*l[0]+l[1]*l[1]
	if dk != dl {
		return dk < dl
	}
	return k[0] < l[0] || k[0] == l[0] && k[1] < l[1]
}

func median(v []float64) float64 {
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
