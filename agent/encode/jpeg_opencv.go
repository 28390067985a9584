//go:build opencv

package encode

import (
	"image"

	"github.com/canopy-forest/canopy/internal/libjpeg"
)

// encodeJPEG uses libjpeg-turbo (the library OpenCV encodes with), several
// times faster than the standard library's encoder, straight from the RGBA
// pixels.
func encodeJPEG(img *image.RGBA, quality int) ([]byte, error) {
	return libjpeg.Encode(img, quality)
}
