package learned

import (
	"image"
	"sort"

	"github.com/canopy-forest/canopy/cloud/count"
)

// Heads are the outputs of a CenterNet-style detector for one tile, each a
// row-major fh x fw map per channel: the sigmoid centre heatmap, its 3x3
// max-pool (nil to compute it here), box width and height in input pixels,
// and the centre's sub-cell offset in cells.
type Heads struct {
	Heatmap, HeatmapMax []float32 // fh*fw
	WH, Offset          []float32 // 2*fh*fw: channel 0 (x / width) then channel 1 (y / height)
	FH, FW              int
	Stride              int // input pixels per cell
}

// Decode turns the heads into boxes in tile pixels: every cell that is its
// 3x3 neighbourhood's maximum and scores at least threshold is a crown
// centre. At most maxBoxes boxes, by descending score.
func Decode(h Heads, threshold float32, maxBoxes int) []count.Box {
	n := h.FH * h.FW
	if len(h.Heatmap) < n || len(h.WH) < 2*n || len(h.Offset) < 2*n {
		return nil
	}
	pool := h.HeatmapMax
	if len(pool) < n {
		pool = maxPool3(h.Heatmap, h.FH, h.FW)
	}
	var out []count.Box
	s := float64(h.Stride)
	for i := range n {
		v := h.Heatmap[i]
		if v < threshold || v < pool[i] {
			continue
		}
		y, x := i/h.FW, i%h.FW
		cx := (float64(x) + float64(h.Offset[i])) * s
		cy := (float64(y) + float64(h.Offset[n+i])) * s
		w, ht := float64(h.WH[i]), float64(h.WH[n+i])
		out = append(out, count.Box{XMin: cx - w/2, YMin: cy - ht/2, XMax: cx + w/2, YMax: cy + ht/2, Score: float64(v)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if maxBoxes > 0 && len(out) > maxBoxes {
		out = out[:maxBoxes]
	}
	return out
}

func maxPool3(hm []float32, fh, fw int) []float32 {
	out := make([]float32, fh*fw)
	for y := range fh {
		for x := range fw {
			m := hm[y*fw+x]
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					yy, xx := y+dy, x+dx
					if yy >= 0 && yy < fh && xx >= 0 && xx < fw && hm[yy*fw+xx] > m {
						m = hm[yy*fw+xx]
					}
				}
			}
			out[y*fw+x] = m
		}
	}
	return out
}

// FillTile writes the pixels of img inside r into dst, a 3 x size x size
// planar RGB tensor with values in 0..1 mapped through lv (nil: v / 255),
// zero where r is smaller than the tile.
func FillTile(dst []float32, img *image.RGBA, r image.Rectangle, size int, lv *Levels) {
	if lv == nil {
		lv = plainLevels
	}
	clear(dst[:3*size*size])
	plane := size * size
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, y):]
		row = row[:4*r.Dx()]
		o := (y - r.Min.Y) * size
		d0, d1, d2 := dst[o:o+r.Dx()], dst[plane+o:plane+o+r.Dx()], dst[2*plane+o:2*plane+o+r.Dx()]
		for x := range d0 {
			p := row[4*x : 4*x+3 : 4*x+3]
			d0[x] = lv[0][p[0]]
			d1[x] = lv[1][p[1]]
			d2[x] = lv[2][p[2]]
		}
	}
}

// Place moves boxes found in tile r (tile pixels) into image pixels, drops
// those whose centre falls outside the image (in the tile's zero padding)
// and clips the rest to the image's w x h.
func Place(boxes []count.Box, r image.Rectangle, w, h int) []count.Box {
	out := boxes[:0:0]
	for _, b := range boxes {
		b.XMin += float64(r.Min.X)
		b.XMax += float64(r.Min.X)
		b.YMin += float64(r.Min.Y)
		b.YMax += float64(r.Min.Y)
		cx, cy := b.Centre()
		if cx < float64(r.Min.X) || cx >= float64(r.Max.X) || cy < float64(r.Min.Y) || cy >= float64(r.Max.Y) {
			continue
		}
		b = b.Clip(float64(w), float64(h))
		if b.Area() <= 0 {
			continue
		}
		out = append(out, b)
	}
	return out
}
