package geo

import (
	"errors"
	"fmt"
	"math"
)

// MaxOffNadirDeg is how far from straight down (gimbal pitch -90) a photo
// may look for Nadir to place its pixels.
const MaxOffNadirDeg = 10

// Nadir is a photo taken straight down over flat ground: the camera at
// Position, Width x Height pixels of GSD metres each on the ground, the
// image's top edge heading YawDeg (clockwise from north). The principal
// point is the image centre; lens distortion, the tilt of the camera and
// the height of what is seen (a crown's top is nearer the camera than the
// ground) are not modelled: see docs/drone.md ("Positions: where each
// tree is") and docs/accuracy.md ("Positions") for what that costs.
type Nadir struct {
	Position      LonLat
	GSD           float64
	YawDeg        float64
	Width, Height int
}

// Errors of NewNadir.
var (
	ErrNoGSD    = errors.New("no ground sample distance")
	ErrNoYaw    = errors.New("no heading (yaw) of the camera")
	ErrOblique  = errors.New("the camera does not look straight down")
	ErrBadImage = errors.New("image size unknown")
)

// NewNadir checks a nadir camera: a GSD, a heading, and a pitch within
// MaxOffNadirDeg of -90 when known (nil pitch is taken as nadir).
func NewNadir(pos LonLat, gsd float64, yaw, pitch *float64, width, height int) (Nadir, error) {
	switch {
	case gsd <= 0 || math.IsNaN(gsd):
		return Nadir{}, ErrNoGSD
	case yaw == nil:
		return Nadir{}, ErrNoYaw
	case width <= 0 || height <= 0:
		return Nadir{}, ErrBadImage
	case pitch != nil && math.Abs(*pitch+90) > MaxOffNadirDeg:
		return Nadir{}, fmt.Errorf("%w (gimbal pitch %.1f°, want -90 ± %d)", ErrOblique, *pitch, MaxOffNadirDeg)
	}
	return Nadir{Position: pos, GSD: gsd, YawDeg: *yaw, Width: width, Height: height}, nil
}

// XY is the ground position of pixel (col, row) east and north of the
// camera, in metres. (0, 0) is the top-left corner of the image.
func (c Nadir) XY(col, row float64) (x, y float64) {
	right := (col - float64(c.Width)/2) * c.GSD
	fwd := (float64(c.Height)/2 - row) * c.GSD
	s, k := math.Sincos(c.YawDeg * math.Pi / 180)
	return right*k + fwd*s, -right*s + fwd*k
}

// LonLat is the ground position of pixel (col, row).
func (c Nadir) LonLat(col, row float64) LonLat {
	x, y := c.XY(col, row)
	return NewPlane(c.Position).ToLonLat(x, y)
}

// Footprint is the image's outline on the ground: its four corners, top
// left first, clockwise as seen on the image.
func (c Nadir) Footprint() []LonLat {
	w, h := float64(c.Width), float64(c.Height)
	pl := NewPlane(c.Position)
	out := make([]LonLat, 0, 4)
	for _, p := range [][2]float64{{0, 0}, {w, 0}, {w, h}, {0, h}} {
		x, y := c.XY(p[0], p[1])
		out = append(out, pl.ToLonLat(x, y))
	}
	return out
}
