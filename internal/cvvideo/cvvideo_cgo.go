//go:build opencv

package cvvideo

// Only core and imgproc are linked (--as-needed drops the other modules
// pkg-config lists); videoio is opened at run time.

// #cgo pkg-config: opencv4
// #cgo CXXFLAGS: -std=c++11
// #cgo LDFLAGS: -Wl,--as-needed -ldl
// #include <stdlib.h>
// #include "cvvideo.h"
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"
)

const errLen = 512

func cerr(buf []byte) string {
	n := 0
	for n < len(buf) && buf[n] != 0 {
		n++
	}
	return string(buf[:n])
}

// Version is the version of the OpenCV library the binary runs with
// ("4.6.0").
func Version() string { return C.GoString(C.cvv_version()) }

// Load opens libopencv_videoio now (Open does it on first use); its error
// says which file could not be loaded.
func Load() error {
	eb := make([]byte, errLen)
	if C.cvv_load((*C.char)(unsafe.Pointer(&eb[0])), errLen) != 0 {
		return fmt.Errorf("opencv videoio: %s", cerr(eb))
	}
	return nil
}

// Capture is an open cv::VideoCapture.
type Capture struct {
	c    *C.cvv_capture
	w, h int // size of the frame read last
}

// OpenIndex opens camera index with api.
func OpenIndex(index int, api API) (*Capture, error) {
	eb := make([]byte, errLen)
	c := C.cvv_open_index(C.int(index), C.int(api), (*C.char)(unsafe.Pointer(&eb[0])), errLen)
	if c == nil {
		return nil, errors.New(cerr(eb))
	}
	return &Capture{c: c}, nil
}

// OpenName opens a file, URL or GStreamer pipeline with api.
func OpenName(name string, api API) (*Capture, error) {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	eb := make([]byte, errLen)
	c := C.cvv_open_name(cs, C.int(api), (*C.char)(unsafe.Pointer(&eb[0])), errLen)
	if c == nil {
		return nil, errors.New(cerr(eb))
	}
	return &Capture{c: c}, nil
}

// Set sets a property; false when the backend refused it.
func (c *Capture) Set(p Prop, v float64) bool { return C.cvv_set(c.c, C.int(p), C.double(v)) != 0 }

// Grab takes the next frame without decoding it (to drop queued frames).
func (c *Capture) Grab() bool { return C.cvv_grab(c.c) != 0 }

// Read reads the next frame and returns its size; ok is false at the end
// of a file or when the camera delivered nothing.
func (c *Capture) Read() (size image.Point, ok bool) {
	var w, h C.int
	if C.cvv_read(c.c, &w, &h) == 0 {
		return image.Point{}, false
	}
	c.w, c.h = int(w), int(h)
	return image.Pt(c.w, c.h), true
}

// RGBA converts the frame read last into dst, which must have its size,
// bounds at the origin and a tight stride.
func (c *Capture) RGBA(dst *image.RGBA) error {
	if dst.Rect != image.Rect(0, 0, c.w, c.h) || dst.Stride != 4*c.w || c.w == 0 {
		return fmt.Errorf("convert frame: buffer %v (stride %d) for a %dx%d frame", dst.Rect, dst.Stride, c.w, c.h)
	}
	eb := make([]byte, errLen)
	if C.cvv_rgba(c.c, (*C.uchar)(unsafe.Pointer(&dst.Pix[0])), C.int(c.w), C.int(c.h), C.int(dst.Stride),
		(*C.char)(unsafe.Pointer(&eb[0])), errLen) != 0 {
		return fmt.Errorf("convert frame: %s", cerr(eb))
	}
	return nil
}

// Close releases the capture. It is idempotent.
func (c *Capture) Close() error {
	if c.c != nil {
		C.cvv_close(c.c)
		c.c = nil
	}
	return nil
}
