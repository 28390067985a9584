package photo

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/rwcarlsen/goexif/exif"
	"github.com/rwcarlsen/goexif/tiff"

	"github.com/canopy-forest/canopy/sync/wire"
)

// Meta is what a photo's metadata says about it. Fields that the photo
// does not carry are zero or nil.
type Meta struct {
	// Time is the EXIF DateTimeOriginal (or DateTime) with its
	// SubSecTimeOriginal, zero when absent.
	Time time.Time
	// GPS is the EXIF position (WGS 84), nil when absent or invalid.
	GPS *wire.GPS
	// Make and Model name the camera (EXIF, or the XMP tiff: fields).
	Make, Model string
	// FocalMM is the lens focal length in millimetres (EXIF FocalLength).
	FocalMM float64
	// Focal35MM is the 35 mm film equivalent focal length
	// (EXIF FocalLengthIn35mmFilm).
	Focal35MM float64
	// RelAltM is the height above the take-off point in metres (DJI XMP
	// RelativeAltitude).
	RelAltM *float64
	// FlightYawDeg, GimbalYawDeg and GimbalPitchDeg are the DJI XMP flight
	// and gimbal angles in degrees: yaw clockwise from north, pitch -90
	// looking straight down.
	FlightYawDeg, GimbalYawDeg, GimbalPitchDeg *float64
	// GeoTIFF is the georeferencing of a GeoTIFF, nil for other images.
	GeoTIFF *GeoRef
	// Segments are the JPEG's EXIF and XMP APP1 segments as found (marker
	// and length included), to carry into a JPEG encoded again.
	Segments [][]byte
	// Problems says what could not be read, one short sentence each
	// ("corrupt XMP block: ..."), for the item's record.
	Problems []string
}

// Yaw is the heading of the image's top edge, in degrees clockwise from
// north: the gimbal's yaw when known, else the aircraft's.
func (m *Meta) Yaw() *float64 {
	if m.GimbalYawDeg != nil {
		return m.GimbalYawDeg
	}
	return m.FlightYawDeg
}

// MaxSegments bounds the bytes of APP1 segments kept in Meta.Segments.
const MaxSegments = 256 << 10

// Read reads the metadata of a JPEG or TIFF file's bytes. Anything missing
// or malformed is left out (and, when it was there but unreadable, named in
// Problems); Read never panics.
func Read(b []byte) (m Meta) {
	defer func() {
		if r := recover(); r != nil {
			m = Meta{Problems: []string{fmt.Sprintf("metadata reader panic: %v", r)}}
		}
	}()
	isTIFF := len(b) >= 4 && (string(b[:4]) == "II*\x00" || string(b[:4]) == "MM\x00*")
	var block, xmp []byte
	if isTIFF {
		block = b
	} else {
		segs := jpegSegments(b)
		block, xmp = segs.exif, segs.xmp
		total := 0
		for _, s := range segs.app1 {
			if total+len(s) > MaxSegments {
				break
			}
			total += len(s)
			m.Segments = append(m.Segments, s)
		}
	}
	if block != nil {
		if tiffSafe(block) {
			m.readEXIF(block, isTIFF)
			if isTIFF { // block is b
				xmp = m.readGeoTIFF(b)
			}
		} else {
			m.Problems = append(m.Problems, "corrupt EXIF block: offsets or counts out of range")
		}
	}
	if xmp != nil {
		if err := m.readXMP(xmp); err != nil {
			m.Problems = append(m.Problems, "corrupt XMP block: "+err.Error())
		}
	}
	return m
}

// readEXIF reads the EXIF of block, which passed tiffSafe.
func (m *Meta) readEXIF(block []byte, isTIFF bool) {
	x, err := exif.Decode(bytes.NewReader(block))
	if err != nil || x == nil {
		if !isTIFF { // a plain TIFF has no EXIF IFD: not a problem
			m.Problems = append(m.Problems, fmt.Sprintf("corrupt EXIF block: %v", err))
		}
		return
	}
	if t, err := x.DateTime(); err == nil && t.Year() >= 1990 {
		m.Time = t.Add(subSeconds(exifString(x, exif.SubSecTimeOriginal)))
	}
	if lat, lon, err := x.LatLong(); err == nil && ValidLatLon(lat, lon) {
		g := &wire.GPS{Lat: lat, Lon: lon}
		if tag, err := x.Get(exif.GPSAltitude); err == nil {
			if num, den, err := tag.Rat2(0); err == nil && den != 0 {
				alt := float64(num) / float64(den)
				if ref, err := x.Get(exif.GPSAltitudeRef); err == nil {
					if v, err := ref.Int(0); err == nil && v == 1 {
						alt = -alt // below sea level
					}
				}
				g.Alt = &alt
			}
		}
		m.GPS = g
	}
	m.Make = exifString(x, exif.Make)
	m.Model = exifString(x, exif.Model)
	if v, ok := exifFloat(x, exif.FocalLength); ok && v > 0 && v < 2000 {
		m.FocalMM = v
	}
	if v, ok := exifFloat(x, exif.FocalLengthIn35mmFilm); ok && v > 0 && v < 5000 {
		m.Focal35MM = v
	}
}

// subSeconds reads an EXIF SubSecTime: the digits of a decimal fraction
// of a second ("25" is 0.25 s); anything else is 0.
func subSeconds(s string) time.Duration {
	var d time.Duration
	scale := time.Second
	for i := 0; i < len(s) && i < 9; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0
		}
		scale /= 10
		d += time.Duration(c-'0') * scale
	}
	return d
}

func exifString(x *exif.Exif, f exif.FieldName) string {
	tag, err := x.Get(f)
	if err != nil {
		return ""
	}
	s, err := tag.StringVal()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.TrimRight(s, "\x00"))
}

func exifFloat(x *exif.Exif, f exif.FieldName) (float64, bool) {
	tag, err := x.Get(f)
	if err != nil {
		return 0, false
	}
	switch tag.Format() {
	case tiff.RatVal:
		num, den, err := tag.Rat2(0)
		if err != nil || den == 0 {
			return 0, false
		}
		return float64(num) / float64(den), true
	case tiff.IntVal:
		v, err := tag.Int(0)
		return float64(v), err == nil
	case tiff.FloatVal:
		v, err := tag.Float(0)
		return v, err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
	}
	return 0, false
}

// ValidLatLon reports whether lat, lon is a position: in range, not NaN,
// and not the 0, 0 that receivers without a fix write.
func ValidLatLon(lat, lon float64) bool {
	return !math.IsNaN(lat) && !math.IsNaN(lon) && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 && !(lat == 0 && lon == 0)
}

type segments struct {
	exif, xmp []byte   // the EXIF TIFF structure and the XMP packet
	app1      [][]byte // the EXIF and XMP APP1 segments, marker included
}

const xmpHeader = "http://ns.adobe.com/xap/1.0/\x00"

// jpegSegments walks a JPEG's header segments up to the start of scan.
func jpegSegments(b []byte) (s segments) {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return s
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xff {
			return s
		}
		marker := b[i+1]
		if marker == 0xd9 || marker == 0xda { // end of image, start of scan
			return s
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return s
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xe1 {
			switch {
			case len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00":
				if s.exif == nil {
					s.exif = seg[6:]
					s.app1 = append(s.app1, b[i:i+2+n])
				}
			case len(seg) > len(xmpHeader) && string(seg[:len(xmpHeader)]) == xmpHeader:
				if s.xmp == nil {
					s.xmp = seg[len(xmpHeader):]
					s.app1 = append(s.app1, b[i:i+2+n])
				}
			}
		}
		i += 2 + n
	}
	return s
}

// tiffSafe checks what goexif would trust: every IFD it walks lies inside
// b, no IFD chain loops, and no tag claims more bytes than b holds (goexif
// allocates by the claimed count, so a corrupt count could exhaust memory).
func tiffSafe(b []byte) bool {
	if len(b) < 8 {
		return false
	}
	var order binary.ByteOrder = binary.LittleEndian
	if b[0] == 'M' {
		order = binary.BigEndian
	}
	size := [...]uint64{0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8}
	seen := map[uint32]bool{}
	var walk func(off uint32, depth int, chain bool) bool
	walk = func(off uint32, depth int, chain bool) bool {
		for steps := 0; off != 0; steps++ {
			if seen[off] || steps > 8 || depth > 3 || uint64(off)+2 > uint64(len(b)) {
				return false
			}
			seen[off] = true
			n := uint64(order.Uint16(b[off:]))
			end := uint64(off) + 2 + 12*n
			if end+4 > uint64(len(b)) {
				return false
			}
			for i := uint64(0); i < n; i++ {
				e := b[uint64(off)+2+12*i:]
				tag, typ, count := order.Uint16(e), order.Uint16(e[2:]), uint64(order.Uint32(e[4:]))
				ts := uint64(1)
				if int(typ) < len(size) {
					ts = max(size[typ], 1)
				}
				if count*ts > uint64(len(b)) {
					return false
				}
				switch tag {
				case 0x8769, 0x8825, 0xa005: // Exif, GPS and interoperability sub-IFDs
					if !walk(order.Uint32(e[8:]), depth+1, false) {
						return false
					}
				}
			}
			if !chain {
				return true
			}
			off = order.Uint32(b[end:])
		}
		return true
	}
	return walk(order.Uint32(b[4:]), 0, true)
}
