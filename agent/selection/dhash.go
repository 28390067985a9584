package selection

import (
	"image"
)

// DHash is the difference hash of img: img shrunk to 9x8 gray cells (box
// averages), then one bit per pair of horizontal neighbours, set where the
// left cell is brighter. Similar images have hashes a small Hamming
// distance apart. It samples at most about 64 pixels per cell, so it is
// cheap on large frames.
func DHash(img image.Image) uint64 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w == 0 || h == 0 {
		return 0
	}
	var cells [8][9]float64
	for cy := 0; cy < 8; cy++ {
		y0, y1 := b.Min.Y+cy*h/8, b.Min.Y+(cy+1)*h/8
		if y1 <= y0 {
			y1 = y0 + 1
		}
		for cx := 0; cx < 9; cx++ {
			x0, x1 := b.Min.X+cx*w/9, b.Min.X+(cx+1)*w/9
			if x1 <= x0 {
				x1 = x0 + 1
			}
			cells[cy][cx] = meanLuma(img, x0, y0, x1, y1)
		}
	}
	var hash uint64
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			hash <<= 1
			if cells[y][x] > cells[y][x+1] {
				hash |= 1
			}
		}
	}
	return hash
}

// meanLuma averages the luma of up to 8x8 samples spread over the cell.
func meanLuma(img image.Image, x0, y0, x1, y1 int) float64 {
	sx, sy := max((x1-x0)/8, 1), max((y1-y0)/8, 1)
	var sum float64
	n := 0
	rgba, _ := img.(*image.RGBA)
	for y := y0; y < y1; y += sy {
		for x := x0; x < x1; x += sx {
			var r, g, b uint32
			if rgba != nil {
				i := rgba.PixOffset(x, y)
				r, g, b = uint32(rgba.Pix[i]), uint32(rgba.Pix[i+1]), uint32(rgba.Pix[i+2])
			} else {
				r, g, b, _ = img.At(x, y).RGBA()
				r, g, b = r>>8, g>>8, b>>8
			}
			sum += 0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)
			n++
		}
	}
	return sum / float64(n)
}
