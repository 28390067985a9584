package rgba

import (
	"image"
	"image/draw"
)

// Of returns img as an *image.RGBA whose bounds start at (0, 0): img itself
// when it already is one, else a copy (draw's fast paths cover YCbCr,
// NRGBA, Gray and paletted images).
func Of(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok && r.Rect.Min == (image.Point{}) {
		return r
	}
	return Into(nil, img)
}

// Into converts img into dst when dst has img's size and a tight stride,
// else into a new image, and returns the result; its bounds start at
// (0, 0). Every pixel of the result is written, so dst may hold an older
// frame.
func Into(dst *image.RGBA, img image.Image) *image.RGBA {
	b := img.Bounds()
	if !Fits(dst, b.Dx(), b.Dy()) {
		dst = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	}
	draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
	return dst
}

// Fits reports whether img is a w x h image at the origin with a tight
// stride (4*w), the layout Into and the OpenCV conversions write.
func Fits(img *image.RGBA, w, h int) bool {
	return img != nil && img.Rect == image.Rect(0, 0, w, h) && img.Stride == 4*w && len(img.Pix) >= 4*w*h
}
