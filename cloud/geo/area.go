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
			rings = append(rings, pl.ring(p))
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
	w, h := maxX-minX, maxY-minY
	if len(rs) == 0 || w <= 0 || h <= 0 {
		return 0, 0
	}
	cell := math.Max(math.Sqrt(w*h/maxAreaCells), 0.01)
	nx, ny := int(math.Ceil(w/cell)), int(math.Ceil(h/cell))
	covered := make([]uint8, nx*ny)
	n1, n2 := 0, 0
	for _, r := range rs {
		rx0, ry0, rx1, ry1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, q := range r {
			rx0, ry0, rx1, ry1 = math.Min(rx0, q[0]), math.Min(ry0, q[1]), math.Max(rx1, q[0]), math.Max(ry1, q[1])
		}
		i0, i1 := max(0, int((rx0-minX)/cell)), min(nx-1, int((rx1-minX)/cell))
		j0, j1 := max(0, int((ry0-minY)/cell)), min(ny-1, int((ry1-minY)/cell))
		for j := j0; j <= j1; j++ {
			y := minY + (float64(j)+0.5)*cell
			for i := i0; i <= i1; i++ {
				k := j*nx + i
				if covered[k] >= 2 || !inRing(r, minX+(float64(i)+0.5)*cell, y) {
					continue
				}
				covered[k]++
				if covered[k] == 1 {
					n1++
				} else {
					n2++
				}
			}
		}
	}
	return float64(n1) * cell * cell, float64(n2) * cell * cell
}

// PolygonArea is the area of one ring in square metres (shoelace formula
// on the tangent plane at its first vertex).
func PolygonArea(ring []LonLat) float64 {
	if len(ring) < 3 {
		return 0
	}
	r := NewPlane(ring[0]).ring(ring)
	var s float64
	for i, q := range r {
		n := r[(i+1)%len(r)]
		s += q[0]*n[1] - n[0]*q[1]
	}
	return math.Abs(s) / 2
}

// ring is each position of r on the plane, [x, y] in metres.
func (pl Plane) ring(r []LonLat) [][2]float64 {
	out := make([][2]float64, len(r))
	for i, q := range r {
		x, y := pl.ToXY(q)
		out[i] = [2]float64{x, y}
	}
	return out
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
	return inRing(pl.ring(ring), x, y)
}
