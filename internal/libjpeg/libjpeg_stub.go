//go:build !opencv

package libjpeg

import "image"

// Supported reports whether this build has libjpeg-turbo.
const Supported = false

// Size returns ErrUnsupported.
func Size(b []byte, denom int) (src, scaled image.Point, err error) {
	return src, scaled, ErrUnsupported
}

// Decode returns ErrUnsupported.
func Decode(b []byte, denom int, alloc func(w, h int) *image.RGBA) (*image.RGBA, error) {
	return nil, ErrUnsupported
}

// Encode returns ErrUnsupported.
func Encode(img *image.RGBA, quality int) ([]byte, error) { return nil, ErrUnsupported }
