package register

import "math"

// Guide narrows matching with a prior: where each point of photo B is
// expected in photo A (from GPS and heading), and how far off it may be.
type Guide struct {
	H      Mat3    // B's view pixels to A's, predicted
	Radius float64 // in A's view pixels
}

// guidedMatches pairs each keypoint of b with the keypoint of a nearest in
// descriptor space among those within g.Radius of where g predicts it,
// kept by the ratio test against the second nearest there. It returns
// b's points and a's points.
func guidedMatches(a, b *Features, g Guide, ratio float64) (src, dst [][2]float32) {
	cell := math.Max(g.Radius, 1)
	grid := map[[2]int][]int32{}
	for i, p := range a.Points {
		k := [2]int{int(math.Floor(float64(p[0]) / cell)), int(math.Floor(float64(p[1]) / cell))}
		grid[k] = append(grid[k], int32(i))
	}
	n := a.DescSize
	r2 := g.Radius * g.Radius
	for j, q := range b.Points {
		x, y := g.H.Apply(float64(q[0]), float64(q[1]))
		if math.IsNaN(x) || math.IsNaN(y) {
			continue
		}
		cx, cy := int(math.Floor(x/cell)), int(math.Floor(y/cell))
		best, second, bi := int64(math.MaxInt64), int64(math.MaxInt64), -1
		dj := b.Desc[j*n : (j+1)*n]
		for gx := cx - 1; gx <= cx+1; gx++ {
			for gy := cy - 1; gy <= cy+1; gy++ {
				for _, i := range grid[[2]int{gx, gy}] {
					p := a.Points[i]
					if dx, dy := float64(p[0])-x, float64(p[1])-y; dx*dx+dy*dy > r2 {
						continue
					}
					d := descDist2(a.Desc[int(i)*n:(int(i)+1)*n], dj)
					switch {
					case d < best:
						best, second, bi = d, best, int(i)
					case d < second:
						second = d
					}
				}
			}
		}
		// Squared distances: the ratio test on distances is best <
		// ratio*second.
		if bi >= 0 && float64(best) < ratio*ratio*float64(second) {
			src, dst = append(src, q), append(dst, a.Points[bi])
		}
	}
	return src, dst
}

func descDist2(a, b []byte) int64 {
	var s int64
	for i := range a {
		d := int64(a[i]) - int64(b[i])
		s += d * d
	}
	return s
}
