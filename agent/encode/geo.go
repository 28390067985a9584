package encode

import (
	"bytes"
	"strings"

	"github.com/canopy-forest/canopy/agent/capture"
	"github.com/canopy-forest/canopy/internal/photo"
	"github.com/canopy-forest/canopy/sync/wire"
)

// setGround records where frame f lies on the ground in m: its ground
// sample distance, the camera's height, yaw and pitch, and a GeoTIFF's
// georeferencing, with a note when the GSD is unknown or doubtful. The
// vehicle's state from telemetry, when the frame has one, gives the
// position, the height above home, the yaw and the pitch.
func setGround(m *wire.Meta, f capture.Frame, o photo.Options) {
	p := f.Photo
	if p == nil { // a camera frame: only the configuration knows
		p = &photo.Meta{}
	}
	s := f.Telemetry
	if s != nil {
		h := s.HeightM
		o.TelemetryHeightM = &h
	}
	g := p.Ground(m.Width, o)
	m.GSD, m.GSDSource, m.HeightM = g.GSDM, g.Source, g.HeightM
	m.YawDeg, m.GimbalPitchDeg = p.Yaw(), p.GimbalPitchDeg
	if p.GeoTIFF != nil {
		r := *p.GeoTIFF
		m.GeoRef = &r
	}
	notes := append([]string(nil), p.Problems...)
	if f.TelemetryNote != "" {
		notes = append(notes, f.TelemetryNote)
	}
	if s != nil {
		alt := s.AltM
		m.GPS = &wire.GPS{Lat: s.Lat, Lon: s.Lon, Alt: &alt}
		if v, ok := s.CameraYawDeg(); ok {
			m.YawDeg = &v
		}
		if v, ok := s.CameraPitchDeg(); ok {
			m.GimbalPitchDeg = &v
		}
		notes = append(notes, s.Notes...)
	}
	if g.Note != "" {
		notes = append(notes, g.Note)
	}
	m.GeoNote = strings.Join(notes, "; ")
}

// geotag returns the JPEG img of frame f with the vehicle's state written
// in as a camera would have: the EXIF with the GPS position and altitude
// (the photo's own EXIF with a GPS directory added, kept as it is when it
// has a position already; or a new one naming cam), and an XMP packet with
// the attitude in the DJI names (unless the photo has its own XMP).
func geotag(img []byte, f capture.Frame, cam camera) []byte {
	s := f.Telemetry
	if s == nil {
		return img
	}
	var own, exif, xmp []byte
	if f.Photo != nil {
		for _, seg := range f.Photo.Segments {
			switch {
			case isAPP1(seg, exifHeader):
				own, exif = seg, seg
			case isAPP1(seg, xmpSegmentHeader):
				xmp = seg
			}
		}
	}
	switch {
	case exif != nil && f.Photo.GPS != nil:
	case exif != nil:
		if t, ok := withGPS(exif[4+len(exifHeader):], s); ok {
			exif = app1(exifHeader, t)
		}
	default:
		exif = app1(exifHeader, newEXIF(s, f.Time, cam))
	}
	switch {
	case xmp != nil && bytes.Equal(exif, own):
		return img // the photo says all of it already
	case xmp == nil:
		xmp = app1(xmpSegmentHeader, xmpPacket(s))
	}
	return withSegments(withoutMetadata(img), [][]byte{exif, xmp})
}

func isAPP1(seg []byte, header string) bool {
	return len(seg) > 4+len(header) && seg[1] == 0xe1 && string(seg[4:4+len(header)]) == header
}

// withoutMetadata returns the JPEG jpg without its EXIF and XMP APP1
// segments (before the start of scan).
func withoutMetadata(jpg []byte) []byte {
	if len(jpg) < 4 || jpg[0] != 0xff || jpg[1] != 0xd8 {
		return jpg
	}
	out := append(make([]byte, 0, len(jpg)), jpg[:2]...)
	i := 2
	for i+4 <= len(jpg) && jpg[i] == 0xff && jpg[i+1] != 0xda && jpg[i+1] != 0xd9 {
		n := 2 + int(jpg[i+2])<<8 | int(jpg[i+3])
		if n < 4 || i+n > len(jpg) {
			break
		}
		seg := jpg[i : i+n]
		if !isAPP1(seg, exifHeader) && !isAPP1(seg, xmpSegmentHeader) {
			out = append(out, seg...)
		}
		i += n
	}
	return append(out, jpg[i:]...)
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
