package geo

import "math"

// maxAreaCells bounds the grid UnionArea counts on.
const maxAreaCells = 1 << 20

// UnionArea is the area, in square metres, covered by at least one of the
// polygons (rings of positions, closed or not), measured on the tangent
// plane at the first vertex by counting the cells of a grid of about a
// million cells whose centre lies in some polygon: within 1% for
// footprints more than a few dozen cells wide.
func UnionArea(polys [][]LonLat) float64 {
	var pl Plane
	found := false
	for _, p := range polys {
		if len(p) >= 3 {
			pl, found = NewPlane(p[0]), true
			break
		}
	}
	if !found {
		return 0
	}
	var rings [][][2]float64
	for _, p := range polys {
		if len(p) >= 3 {
			rings = append(rings, pl.Ring(p))
		}
	}
	once, _ := Coverage(rings)
	return once
}

// Coverage is the area covered by at least one of the polygons (rings of
// [x, y] metres) and the area covered by two or more, counted on a grid
// as UnionArea does.
func Coverage(rings [][][2]float64) (once, twice float64) {
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	var rs [][][2]float64
	for _, r := range rings {
		if len(r) < 3 {
			continue
		}
		for _, q := range r {
			minX, minY, maxX, maxY = math.Min(minX, q[0]), math.Min(minY, q[1]), math.Max(maxX, q[0]), math.Max(maxY, q[1])
		}
		rs = append(rs, r)
	}
	g, ok := NewGrid(minX, minY, maxX, maxY, 0.01, maxAreaCells)
	if !ok {
		return 0, 0
	}
	covered := make([]uint8, g.Len())
	n1, n2 := 0, 0
	for _, r := range rs {
		g.eachIn(r, func(k int) bool { return covered[k] >= 2 }, func(k int) {
			covered[k]++
			if covered[k] == 1 {
				n1++
			} else {
				n2++
			}
		})
	}
	cell := g.Cell * g.Cell
	return float64(n1) * cell, float64(n2) * cell
}

// PolygonArea is the area of one ring in square metres (shoelace formula
// on the tangent plane at its first vertex).
func PolygonArea(ring []LonLat) float64 {
	if len(ring) < 3 {
		return 0
	}
	r := NewPlane(ring[0]).Ring(ring)
	var s float64
	for i, q := range r {
		n := r[(i+1)%len(r)]
		s += q[0]*n[1] - n[0]*q[1]
	}
	return math.Abs(s) / 2
}

// inRing is the even-odd rule for point (x, y).
func inRing(r [][2]float64, x, y float64) bool {
	in := false
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		xi, yi, xj, yj := r[i][0], r[i][1], r[j][0], r[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// Contains reports whether p lies inside ring (even-odd rule, on the
// tangent plane at the ring's first vertex).
func Contains(ring []LonLat, p LonLat) bool {
	if len(ring) < 3 {
		return false
	}
	pl := NewPlane(ring[0])
	x, y := pl.ToXY(p)
	return inRing(pl.Ring(ring), x, y)
}
