//go:build !opencv

package cvvideo

import "image"

// Version is "" without OpenCV.
func Version() string { return "" }

// Load returns ErrUnsupported.
func Load() error { return ErrUnsupported }

// Capture is never opened in a build without OpenCV.
type Capture struct{}

// OpenIndex returns ErrUnsupported.
func OpenIndex(index int, api API) (*Capture, error) { return nil, ErrUnsupported }

// OpenName returns ErrUnsupported.
func OpenName(name string, api API) (*Capture, error) { return nil, ErrUnsupported }

// Set returns false.
func (c *Capture) Set(p Prop, v float64) bool { return false }

// Grab returns false.
func (c *Capture) Grab() bool { return false }

// Read returns false.
func (c *Capture) Read() (image.Point, bool) { return image.Point{}, false }

// RGBA returns ErrUnsupported.
func (c *Capture) RGBA(dst *image.RGBA) error { return ErrUnsupported }

// Close does nothing.
func (c *Capture) Close() error { return nil }
