package learned

import "image"

// Equalize returns img with each of R, G and B histogram-equalised on its
// own, exactly as PIL's ImageOps.equalize does (the training script's
// --preprocess equalize). Alpha is kept.
func Equalize(img *image.RGBA) *image.RGBA {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	lut := equalizeLUTs(img)
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

// Levels maps each 8-bit value of R, G and B to the model's input value.
type Levels [3][256]float32

// plainLevels is v / 255 for every channel.
var plainLevels = func() *Levels {
	var l Levels
	for c := range 3 {
		for v := range 256 {
			l[c][v] = float32(v) / 255
		}
	}
	return &l
}()

// EqualizeLevels returns the levels that histogram-equalise each of R, G
// and B of img, as Equalize does, scaled to 0..1: FillTile applies them
// while it fills the input tensor, so no equalised copy of the image is made.
func EqualizeLevels(img *image.RGBA) *Levels {
	lut := equalizeLUTs(img)
	var l Levels
	for c := range 3 {
		for v := range 256 {
			l[c][v] = float32(lut[c][v]) / 255
		}
	}
	return &l
}

// equalizeLUTs returns the equalisation table of each of R, G and B of img.
func equalizeLUTs(img *image.RGBA) [3][256]uint8 {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	var hist [3][256]int
	for y := range h {
		row := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):]
		row = row[:4*w]
		for x := 0; x+3 < len(row); x += 4 {
			hist[0][row[x]]++
			hist[1][row[x+1]]++
			hist[2][row[x+2]]++
		}
	}
	var lut [3][256]uint8
	for c := range 3 {
		lut[c] = equalizeLUT(&hist[c])
	}
	return lut
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
