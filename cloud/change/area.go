package change

import (
	"math"

	"github.com/canopy-forest/canopy/cloud/geo"
)

// common is the area both scans cover, as cells of a grid on the plane.
type common struct {
	g     geo.Grid
	cells []bool // in both scans' footprints
	n     int    // cells set
}

// newCommon is the area covered by some footprint of a and some footprint
// of b, b's shifted by (-dx, -dy); nil when they do not meet.
func newCommon(pl geo.Plane, a, b [][][2]float64, dx, dy float64) *common {
	ra, rb := rings(pl, a, 0, 0), rings(pl, b, dx, dy)
	if len(ra) == 0 || len(rb) == 0 {
		return nil
	}
	ax0, ay0, ax1, ay1 := bounds(ra)
	bx0, by0, bx1, by1 := bounds(rb)
	g, ok := geo.NewGrid(math.Max(ax0, bx0), math.Max(ay0, by0), math.Min(ax1, bx1), math.Min(ay1, by1), minCellM, maxCells)
	if !ok {
		return nil
	}
	ca, cb := make([]bool, g.Len()), make([]bool, g.Len())
	for _, r := range ra {
		g.Fill(ca, r)
	}
	for _, r := range rb {
		g.Fill(cb, r)
	}
	c := &common{g: g, cells: ca}
	for i := range ca {
		ca[i] = ca[i] && cb[i]
		if ca[i] {
			c.n++
		}
	}
	if c.n == 0 {
		return nil
	}
	return c
}

func rings(pl geo.Plane, fs [][][2]float64, dx, dy float64) [][][2]float64 {
	var out [][][2]float64
	for _, f := range fs {
		if len(f) < 3 {
			continue
		}
		r := make([][2]float64, len(f))
		for i, q := range f {
			x, y := pl.ToXY(geo.LonLat{Lon: q[0], Lat: q[1]})
			r[i] = [2]float64{x - dx, y - dy}
		}
		out = append(out, r)
	}
	return out
}

func bounds(rs [][][2]float64) (x0, y0, x1, y1 float64) {
	x0, y0, x1, y1 = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, r := range rs {
		for _, q := range r {
			x0, y0, x1, y1 = math.Min(x0, q[0]), math.Min(y0, q[1]), math.Max(x1, q[0]), math.Max(y1, q[1])
		}
	}
	return
}

// inside reports whether (x, y) lies in the common area (never, for nil).
func (c *common) inside(x, y float64) bool {
	if c == nil {
		return false
	}
	i, ok := c.g.Index(x, y)
	return ok && c.cells[i]
}

// interior reports whether the disc of radius r (at least one cell) at
// (x, y) lies in the common area: its centre and eight points on its rim.
func (c *common) interior(x, y, r float64) bool {
	if !c.inside(x, y) {
		return false
	}
	r = math.Max(r, c.g.Cell)
	for k := range 8 {
		a := float64(k) * math.Pi / 4
		if !c.inside(x+r*math.Cos(a), y+r*math.Sin(a)) {
			return false
		}
	}
	return true
}

// coverCellM is the side of the cells forest cover is compared in: each
// scan's share of forest is taken per cell, over the cells that both
// scans' masks sample.
const coverCellM = 1.0

// cover is the forest share of the two scans' samples (b's shifted by
// (-dx, -dy)) over the common area, the mean of the shares of the cells
// (coverCellM) that both sample; n is the number of those cells.
func (c *common) cover(pl geo.Plane, a, b []Sample, dx, dy float64) (p *Pair, n int) {
	if len(a) == 0 || len(b) == 0 {
		return nil, 0
	}
	type acc struct{ forest, all int32 }
	sample := func(ss []Sample, dx, dy float64) map[[2]int]acc {
		m := map[[2]int]acc{}
		for _, s := range ss {
			x, y := pl.ToXY(geo.LonLat{Lon: s.Lon, Lat: s.Lat})
			x, y = x-dx, y-dy
			if !c.inside(x, y) {
				continue
			}
			k := [2]int{int(math.Floor(x / coverCellM)), int(math.Floor(y / coverCellM))}
			v := m[k]
			v.all++
			if s.Forest {
				v.forest++
			}
			m[k] = v
		}
		return m
	}
	ma, mb := sample(a, 0, 0), sample(b, dx, dy)
	var sa, sb float64
	for k, va := range ma {
		vb, ok := mb[k]
		if !ok {
			continue
		}
		sa += float64(va.forest) / float64(va.all)
		sb += float64(vb.forest) / float64(vb.all)
		n++
	}
	if n == 0 {
		return nil, 0
	}
	return pair(round(sa/float64(n), 4), round(sb/float64(n), 4)), n
}
