package capture

import (
	"time"

	"github.com/canopy-forest/canopy/internal/photo"
	"github.com/canopy-forest/canopy/sync/wire"
)

type exifInfo struct {
	ok    bool
	time  time.Time
	gps   *wire.GPS
	photo *photo.Meta
}

// readEXIF reads the capture time, GPS position and the rest of the photo
// metadata (camera, DJI XMP, GeoTIFF tags) of a JPEG or TIFF. Anything
// missing or malformed is left out; it never panics.
func readEXIF(b []byte) exifInfo {
	m := photo.Read(b)
	return exifInfo{ok: !m.Time.IsZero() || m.GPS != nil, time: m.Time, gps: m.GPS, photo: &m}
}
