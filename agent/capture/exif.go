package capture

import (
	"bytes"
	"encoding/binary"
	"math"
	"time"

	"github.com/rwcarlsen/goexif/exif"

	"github.com/canopy-forest/canopy/sync/wire"
)

type exifInfo struct {
	ok   bool
	time time.Time
	gps  *wire.GPS
}

// readEXIF reads the capture time and GPS position of a JPEG or TIFF.
// Anything missing or malformed is left out; it never panics.
func readEXIF(b []byte) (info exifInfo) {
	defer func() {
		if recover() != nil {
			info = exifInfo{}
		}
	}()
	block := exifBlock(b)
	if block == nil || !tiffSafe(block) {
		return exifInfo{}
	}
	x, err := exif.Decode(bytes.NewReader(block))
	if err != nil || x == nil {
		return exifInfo{}
	}
	info.ok = true
	if t, err := x.DateTime(); err == nil && t.Year() >= 1990 {
		info.time = t
	}
	if lat, lon, err := x.LatLong(); err == nil && validLatLon(lat, lon) {
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
		info.gps = g
	}
	return info
}

func validLatLon(lat, lon float64) bool {
	return !math.IsNaN(lat) && !math.IsNaN(lon) && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 && !(lat == 0 && lon == 0)
}

// exifBlock returns the TIFF structure holding the EXIF of a JPEG (its
// APP1 "Exif" segment) or of a TIFF file (the file itself), or nil.
func exifBlock(b []byte) []byte {
	if len(b) >= 4 && (string(b[:4]) == "II*\x00" || string(b[:4]) == "MM\x00*") {
		return b
	}
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return nil
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xff {
			return nil
		}
		marker := b[i+1]
		if marker == 0xd9 || marker == 0xda { // end of image, start of scan
			return nil
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return nil
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xe1 && len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00" {
			return seg[6:]
		}
		i += 2 + n
	}
	return nil
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
