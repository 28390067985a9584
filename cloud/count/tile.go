package count

import "image"

// Tiles cuts a w x h image into size x size tiles that overlap by at least
// overlap pixels and cover it. Tiles at the right and bottom edges are
// shifted inwards so that every tile lies inside the image; an image smaller
// than size in a dimension gets one tile of its own size in it.
func Tiles(w, h, size, overlap int) []image.Rectangle {
	if w <= 0 || h <= 0 || size <= 0 {
		return nil
	}
	if overlap >= size {
		overlap = size / 2
	}
	xs := starts(w, size, overlap)
	ys := starts(h, size, overlap)
	out := make([]image.Rectangle, 0, len(xs)*len(ys))
	for _, y := range ys {
		for _, x := range xs {
			out = append(out, image.Rect(x, y, min(x+size, w), min(y+size, h)))
		}
	}
	return out
}

func starts(n, size, overlap int) []int {
	if n <= size {
		return []int{0}
	}
	step := size - overlap
	k := (n - size + step - 1) / step // number of steps
	out := make([]int, 0, k+1)
	for i := 0; i <= k; i++ {
		// spread the tiles evenly: the last one ends at n
		out = append(out, i*(n-size)/k)
	}
	return out
}

// Core is the part of tile t (one of tiles) whose boxes it owns when
// merging: the tile minus half of each overlap with a neighbour, so that
// the cores of all tiles partition the image. A box belongs to the tile
// whose core holds its centre.
func Core(t image.Rectangle, tiles []image.Rectangle) image.Rectangle {
	c := t
	for _, o := range tiles {
		if o == t {
			continue
		}
		// neighbour to the right or left sharing rows
		if o.Min.Y < t.Max.Y && o.Max.Y > t.Min.Y {
			if o.Min.X > t.Min.X && o.Min.X < t.Max.X {
				c.Max.X = min(c.Max.X, (o.Min.X+t.Max.X)/2)
			}
			if o.Max.X < t.Max.X && o.Max.X > t.Min.X {
				c.Min.X = max(c.Min.X, (t.Min.X+o.Max.X)/2)
			}
		}
		if o.Min.X < t.Max.X && o.Max.X > t.Min.X {
			if o.Min.Y > t.Min.Y && o.Min.Y < t.Max.Y {
				c.Max.Y = min(c.Max.Y, (o.Min.Y+t.Max.Y)/2)
			}
			if o.Max.Y < t.Max.Y && o.Max.Y > t.Min.Y {
				c.Min.Y = max(c.Min.Y, (t.Min.Y+o.Max.Y)/2)
			}
		}
	}
	return c
}

// Merge combines boxes found per tile (in image coordinates, perTile[i]
// from tiles[i]) into one list: each tile keeps the boxes whose centre lies
// in its core, then non-maximum suppression at iou removes the duplicates
// that remain where crowns straddle a core boundary.
func Merge(tiles []image.Rectangle, perTile [][]Box, iou float64) []Box {
	var all []Box
	for i, t := range tiles {
		if i >= len(perTile) {
			break
		}
		core := Core(t, tiles)
		for _, b := range perTile[i] {
			x, y := b.Centre()
			if x >= float64(core.Min.X) && x < float64(core.Max.X) && y >= float64(core.Min.Y) && y < float64(core.Max.Y) {
				all = append(all, b)
			}
		}
	}
	return NMS(all, iou)
}
