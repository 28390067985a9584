// Package libjpeg decodes and encodes JPEG with libjpeg-turbo, the library
// OpenCV itself uses, straight between JPEG bytes and *image.RGBA: a decode
// writes RGBA rows into the caller's buffer (no intermediate BGR image, no
// second conversion) and can scale the image down by 2, 4 or 8 while it
// decodes (DCT scaling: a quarter of the pixels costs a fraction of the
// time and memory of a full decode); an encode reads the RGBA pixels
// directly.
//
// It needs cgo and the opencv build tag (libjpeg-turbo comes with
// OpenCV's build dependencies); without it Supported is false and every
// function returns ErrUnsupported, and callers use the standard library's
// image/jpeg instead. The functions hold no state and are safe to call
// concurrently.
package libjpeg

import "errors"

// ErrUnsupported is returned by every function of a build without the
// opencv build tag.
var ErrUnsupported = errors.New("libjpeg: built without the opencv build tag")

// Scales are the DCT scaling denominators a decode accepts, largest first.
var Scales = []int{8, 4, 2, 1}

// ScaledSize is the size of a w x h JPEG decoded at 1/denom: each side
// rounded up, as libjpeg does.
func ScaledSize(w, h, denom int) (int, int) {
	if denom <= 1 {
		return w, h
	}
	return (w + denom - 1) / denom, (h + denom - 1) / denom
}
