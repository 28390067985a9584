package encode

import (
	"strings"

	"github.com/canopy-forest/canopy/agent/capture"
	"github.com/canopy-forest/canopy/internal/photo"
	"github.com/canopy-forest/canopy/sync/wire"
)

// setGround records where frame f lies on the ground in m: its ground
// sample distance, the camera's height, yaw and pitch, and a GeoTIFF's
// georeferencing, with a note when the GSD is unknown or doubtful.
func setGround(m *wire.Meta, f capture.Frame, o photo.Options) {
	p := f.Photo
	if p == nil { // a camera frame: only the configuration knows
		p = &photo.Meta{}
	}
	g := p.Ground(m.Width, o)
	m.GSD, m.GSDSource, m.HeightM = g.GSDM, g.Source, g.HeightM
	m.YawDeg, m.GimbalPitchDeg = p.Yaw(), p.GimbalPitchDeg
	if p.GeoTIFF != nil {
		r := *p.GeoTIFF
		m.GeoRef = &r
	}
	notes := append([]string(nil), p.Problems...)
	if g.Note != "" {
		notes = append(notes, g.Note)
	}
	m.GeoNote = strings.Join(notes, "; ")
}

// withSegments returns the JPEG jpg with segs (APP1 segments, marker
// included) inserted right after its start-of-image marker, so that a frame
// encoded again keeps the photo's EXIF (GPS, camera) and XMP.
func withSegments(jpg []byte, segs [][]byte) []byte {
	if len(segs) == 0 || len(jpg) < 2 || jpg[0] != 0xff || jpg[1] != 0xd8 {
		return jpg
	}
	n := len(jpg)
	for _, s := range segs {
		n += len(s)
	}
	out := make([]byte, 0, n)
	out = append(out, jpg[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, jpg[2:]...)
}
