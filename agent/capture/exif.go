package capture

import (
	"bytes"
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
	x, err := exif.Decode(bytes.NewReader(b))
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
