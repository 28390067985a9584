//go:build opencv

package encode

import (
	"bytes"
	"image"

	"gocv.io/x/gocv"

	"github.com/canopy-forest/canopy/internal/cvimg"
)

// encodeJPEG uses OpenCV's libjpeg(-turbo), several times faster than the
// standard library's encoder.
func encodeJPEG(img *image.RGBA, quality int) ([]byte, error) {
	m, err := cvimg.FromRGBA(img)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	nb, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, m, []int{gocv.IMWriteJpegQuality, quality})
	if err != nil {
		return nil, err
	}
	defer nb.Close()
	return bytes.Clone(nb.GetBytes()), nil
}
