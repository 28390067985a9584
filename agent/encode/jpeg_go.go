//go:build !opencv

package encode

import (
	"bytes"
	"image"
	"image/jpeg"
)

// encodeJPEG uses the standard library's encoder in a pure-Go build.
func encodeJPEG(img *image.RGBA, quality int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(img.Pix) / 8)
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
