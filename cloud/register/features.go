package register

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
)

// Features are the keypoints of one photo, found at matching size: the
// photo shrunk so that its longer side is at most Options.MatchSide.
type Features struct {
	// Width and Height are the size of the image the keypoints were found
	// in (the view); Scale is the original photo's pixels per view pixel.
	Width, Height int
	Scale         float64
	// Points are the keypoints' positions in view pixels.
	Points [][2]float32
	// Desc holds one descriptor of DescSize bytes per point (SIFT's 128
	// values, each an integer 0..255).
	Desc     []byte
	DescSize int
}

// Len is the number of keypoints.
func (f *Features) Len() int { return len(f.Points) }

// strongest is f with its n strongest keypoints only (Extract keeps them
// strongest first), sharing f's memory.
func (f *Features) strongest(n int) *Features {
	if n <= 0 || n >= f.Len() {
		return f
	}
	g := *f
	g.Points, g.Desc = f.Points[:n], f.Desc[:n*f.DescSize]
	return &g
}

// Bytes is the size of f in memory, roughly.
func (f *Features) Bytes() int { return 8*len(f.Points) + len(f.Desc) }

const featuresMagic = "CRF1"

// maxFeatures bounds a decoded record (a photo keeps Options.MaxFeatures,
// a few thousand).
const maxFeatures = 1 << 16

// Encode writes f as a compact binary record (the per-photo cache kept
// beside the photo, so that a new photo of a scan is matched against its
// neighbours without finding their keypoints again).
func (f *Features) Encode() []byte {
	var b bytes.Buffer
	b.WriteString(featuresMagic)
	hdr := []uint32{uint32(f.Width), uint32(f.Height), math.Float32bits(float32(f.Scale)), uint32(len(f.Points)), uint32(f.DescSize)}
	binary.Write(&b, binary.LittleEndian, hdr)
	binary.Write(&b, binary.LittleEndian, f.Points)
	b.Write(f.Desc)
	return b.Bytes()
}

// DecodeFeatures reads a record written by Encode.
func DecodeFeatures(b []byte) (*Features, error) {
	if len(b) < 4+20 || string(b[:4]) != featuresMagic {
		return nil, ErrBadFeatures
	}
	le := binary.LittleEndian
	f := &Features{
		Width: int(le.Uint32(b[4:])), Height: int(le.Uint32(b[8:])), Scale: float64(math.Float32frombits(le.Uint32(b[12:]))),
		DescSize: int(le.Uint32(b[20:])),
	}
	n := int(le.Uint32(b[16:]))
	if n > maxFeatures || f.DescSize > 1024 || f.Width <= 0 || f.Height <= 0 || f.Width > 1<<16 || f.Height > 1<<16 ||
		!(f.Scale > 0 && f.Scale < 1e4) || (n > 0 && f.DescSize == 0) {
		return nil, fmt.Errorf("%w: header out of range", ErrBadFeatures)
	}
	rest := b[24:]
	if len(rest) != n*8+n*f.DescSize {
		return nil, fmt.Errorf("%w: %d bytes for %d points", ErrBadFeatures, len(rest), n)
	}
	f.Points = make([][2]float32, n)
	for i := range f.Points {
		x, y := math.Float32frombits(le.Uint32(rest[8*i:])), math.Float32frombits(le.Uint32(rest[8*i+4:]))
		if !finite32(x) || !finite32(y) {
			return nil, fmt.Errorf("%w: point %d not finite", ErrBadFeatures, i)
		}
		f.Points[i] = [2]float32{x, y}
	}
	f.Desc = append([]byte(nil), rest[8*n:]...)
	return f, nil
}

func finite32(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
