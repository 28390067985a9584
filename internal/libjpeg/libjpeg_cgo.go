//go:build opencv

package libjpeg

// #cgo pkg-config: libjpeg
// #include <stdlib.h>
// #include "libjpeg.h"
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"
)

// Supported reports whether this build has libjpeg-turbo.
const Supported = true

const errLen = 256

func cerr(buf []byte) error {
	n := 0
	for n < len(buf) && buf[n] != 0 {
		n++
	}
	return fmt.Errorf("libjpeg: %s", buf[:n])
}

func validDenom(denom int) error {
	for _, s := range Scales {
		if s == denom {
			return nil
		}
	}
	return fmt.Errorf("libjpeg: scale 1/%d: want 1/1, 1/2, 1/4 or 1/8", denom)
}

// Size returns the size of the JPEG b and of its decode at 1/denom, from
// its header alone.
func Size(b []byte, denom int) (src, scaled image.Point, err error) {
	if err := validDenom(denom); err != nil {
		return src, scaled, err
	}
	if len(b) == 0 {
		return src, scaled, errors.New("libjpeg: no data")
	}
	var sw, sh, w, h C.int
	eb := make([]byte, errLen)
	if C.cj_size((*C.uchar)(unsafe.Pointer(&b[0])), C.size_t(len(b)), C.int(denom), &sw, &sh, &w, &h,
		(*C.char)(unsafe.Pointer(&eb[0])), errLen) != 0 {
		return src, scaled, cerr(eb)
	}
	return image.Pt(int(sw), int(sh)), image.Pt(int(w), int(h)), nil
}

// Decode decodes the JPEG b at 1/denom (1, 2, 4 or 8) into an RGBA image
// from alloc (nil: a new one), which must return a w x h image at the
// origin with a tight stride (rgba.Pool.Get does). A truncated file is an
// error, not an image with a grey bottom.
func Decode(b []byte, denom int, alloc func(w, h int) *image.RGBA) (*image.RGBA, error) {
	_, sz, err := Size(b, denom)
	if err != nil {
		return nil, err
	}
	if sz.X <= 0 || sz.Y <= 0 {
		return nil, fmt.Errorf("libjpeg: empty image %dx%d", sz.X, sz.Y)
	}
	var dst *image.RGBA
	if alloc != nil {
		dst = alloc(sz.X, sz.Y)
	}
	if dst == nil {
		dst = image.NewRGBA(image.Rect(0, 0, sz.X, sz.Y))
	}
	if dst.Rect != image.Rect(0, 0, sz.X, sz.Y) || dst.Stride != 4*sz.X {
		return nil, fmt.Errorf("libjpeg: buffer %v (stride %d) for a %dx%d decode", dst.Rect, dst.Stride, sz.X, sz.Y)
	}
	eb := make([]byte, errLen)
	if C.cj_decode((*C.uchar)(unsafe.Pointer(&b[0])), C.size_t(len(b)), C.int(denom),
		(*C.uchar)(unsafe.Pointer(&dst.Pix[0])), C.int(sz.X), C.int(sz.Y), C.int(dst.Stride),
		(*C.char)(unsafe.Pointer(&eb[0])), errLen) != 0 {
		return nil, cerr(eb)
	}
	return dst, nil
}

// Encode encodes img (any bounds) as a baseline JPEG of the given quality
// (1..100) with 4:2:0 chroma subsampling, as OpenCV's imencode does.
func Encode(img *image.RGBA, quality int) ([]byte, error) {
	if quality < 1 || quality > 100 {
		return nil, fmt.Errorf("libjpeg: quality %d out of 1..100", quality)
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("libjpeg: empty image %v", img.Rect)
	}
	var out *C.uchar
	var n C.ulong
	eb := make([]byte, errLen)
	off := img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y)
	if C.cj_encode((*C.uchar)(unsafe.Pointer(&img.Pix[off])), C.int(w), C.int(h), C.int(img.Stride), C.int(quality),
		&out, &n, (*C.char)(unsafe.Pointer(&eb[0])), errLen) != 0 {
		return nil, cerr(eb)
	}
	defer C.free(unsafe.Pointer(out))
	return C.GoBytes(unsafe.Pointer(out), C.int(n)), nil
}
