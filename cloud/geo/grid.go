package geo

import "math"

// Grid is a raster of square cells over a box of a Plane (metres), for
// the areas that polygons cover: cell i, j has its centre at
// X0 + (i+0.5)*Cell, Y0 + (j+0.5)*Cell, and index j*NX + i.
type Grid struct {
	X0, Y0, Cell float64
	NX, NY       int
}

// NewGrid covers the box [minX, maxX] x [minY, maxY] with cells of at
// least minCell metres, and no more than about maxCells of them. ok is
// false for an empty box.
func NewGrid(minX, minY, maxX, maxY, minCell float64, maxCells int) (g Grid, ok bool) {
	w, h := maxX-minX, maxY-minY
	if !(w > 0 && h > 0) || math.IsInf(w, 0) || math.IsInf(h, 0) {
		return Grid{}, false
	}
	cell := math.Max(math.Sqrt(w*h/float64(maxCells)), minCell)
	return Grid{X0: minX, Y0: minY, Cell: cell, NX: int(math.Ceil(w / cell)), NY: int(math.Ceil(h / cell))}, true
}

// Len is the number of cells.
func (g Grid) Len() int { return g.NX * g.NY }

// Index is the cell of point (x, y); ok is false outside the grid.
func (g Grid) Index(x, y float64) (i int, ok bool) {
	cx, cy := math.Floor((x-g.X0)/g.Cell), math.Floor((y-g.Y0)/g.Cell)
	if cx < 0 || cy < 0 || cx >= float64(g.NX) || cy >= float64(g.NY) {
		return 0, false
	}
	return int(cy)*g.NX + int(cx), true
}

// Centre is the centre of cell i.
func (g Grid) Centre(i int) (x, y float64) {
	return g.X0 + (float64(i%g.NX)+0.5)*g.Cell, g.Y0 + (float64(i/g.NX)+0.5)*g.Cell
}

// Fill marks in cells (of length Len) the cells whose centre lies in ring
// ([x, y] on the plane, even-odd rule) and returns how many it marked that
// were not marked before.
func (g Grid) Fill(cells []bool, ring [][2]float64) int {
	n := 0
	g.eachIn(ring, func(k int) bool { return cells[k] }, func(k int) {
		cells[k] = true
		n++
	})
	return n
}

// eachIn calls fn with each cell whose centre lies in ring, leaving out
// (without the point-in-ring test) the cells skip reports.
func (g Grid) eachIn(ring [][2]float64, skip func(k int) bool, fn func(k int)) {
	rx0, ry0, rx1, ry1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, q := range ring {
		rx0, ry0, rx1, ry1 = math.Min(rx0, q[0]), math.Min(ry0, q[1]), math.Max(rx1, q[0]), math.Max(ry1, q[1])
	}
	i0, i1 := max(0, int((rx0-g.X0)/g.Cell)), min(g.NX-1, int((rx1-g.X0)/g.Cell))
	j0, j1 := max(0, int((ry0-g.Y0)/g.Cell)), min(g.NY-1, int((ry1-g.Y0)/g.Cell))
	for j := j0; j <= j1; j++ {
		y := g.Y0 + (float64(j)+0.5)*g.Cell
		for i := i0; i <= i1; i++ {
			k := j*g.NX + i
			if !skip(k) && inRing(ring, g.X0+(float64(i)+0.5)*g.Cell, y) {
				fn(k)
			}
		}
	}
}

// Ring is each position of r on the plane, [x, y] in metres.
func (pl Plane) Ring(r []LonLat) [][2]float64 {
	out := make([][2]float64, len(r))
	for i, q := range r {
		x, y := pl.ToXY(q)
		out[i] = [2]float64{x, y}
	}
	return out
}
