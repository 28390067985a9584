package geo

import "sort"

// Hull is the convex hull of points (on the tangent plane at the first),
// counter-clockwise from the lowest-left point, not closed. Fewer than
// three points come back as they are.
func Hull(points []LonLat) []LonLat {
	if len(points) < 3 {
		return append([]LonLat(nil), points...)
	}
	pl := NewPlane(points[0])
	type pt struct {
		x, y float64
		p    LonLat
	}
	ps := make([]pt, len(points))
	for i, p := range points {
		x, y := pl.ToXY(p)
		ps[i] = pt{x, y, p}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].x < ps[j].x || ps[i].x == ps[j].x && ps[i].y < ps[j].y })
	cross := func(o, a, b pt) float64 { return (a.x-o.x)*(b.y-o.y) - (a.y-o.y)*(b.x-o.x) }
	// Andrew's monotone chain: the lower hull, then the upper.
	h := make([]pt, 0, 2*len(ps))
	for _, p := range ps {
		for len(h) >= 2 && cross(h[len(h)-2], h[len(h)-1], p) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, p)
	}
	for i, lower := len(ps)-2, len(h)+1; i >= 0; i-- {
		for len(h) >= lower && cross(h[len(h)-2], h[len(h)-1], ps[i]) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, ps[i])
	}
	h = h[:len(h)-1] // the first point again
	out := make([]LonLat, len(h))
	for i, p := range h {
		out[i] = p.p
	}
	return out
}
