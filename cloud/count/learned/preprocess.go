package learned

import "image"

// Equalize returns img with each of R, G and B histogram-equalised on its
// own, exactly as PIL's ImageOps.equalize does (the training script's
// --preprocess equalize). Alpha is kept.
func Equalize(img *image.RGBA) *image.RGBA {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	var hist [3][256]int
	for y := range h {
		row := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):]
		for x := range w {
			hist[0][row[4*x]]++
			hist[1][row[4*x+1]]++
			hist[2][row[4*x+2]]++
		}
	}
	var lut [3][256]uint8
	for c := range 3 {
		lut[c] = equalizeLUT(&hist[c])
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		src := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):]
		dst := out.Pix[y*out.Stride:]
		for x := range w {
			dst[4*x] = lut[0][src[4*x]]
			dst[4*x+1] = lut[1][src[4*x+1]]
			dst[4*x+2] = lut[2][src[4*x+2]]
			dst[4*x+3] = src[4*x+3]
		}
	}
	return out
}

func equalizeLUT(h *[256]int) [256]uint8 {
	var lut [256]uint8
	total, last, nonzero := 0, 0, 0
	for i, v := range h {
		if v > 0 {
			total += v
			last = v
			nonzero++
		}
		lut[i] = uint8(i)
	}
	if nonzero <= 1 {
		return lut
	}
	step := (total - last) / 255
	if step == 0 {
		return lut
	}
	n := step / 2
	for i := range 256 {
		lut[i] = uint8(min(255, n/step))
		n += h[i]
	}
	return lut
}
