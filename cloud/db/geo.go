package db

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
)

// Box is one tree crown as stored: its box in pixel coordinates of the
// image (origin top left), the detector's score and, when the image is
// georeferenced, the position of the box's centre (WGS 84 degrees).
type Box struct {
	XMin  float64  `json:"xmin"`
	YMin  float64  `json:"ymin"`
	XMax  float64  `json:"xmax"`
	YMax  float64  `json:"ymax"`
	Score float64  `json:"score"`
	Lon   *float64 `json:"lon,omitempty"`
	Lat   *float64 `json:"lat,omitempty"`
}

// GeoRef places the pixels of a georeferenced image (a GeoTIFF):
// X = T[0] + col*T[1] + row*T[2], Y = T[3] + col*T[4] + row*T[5] in CRS
// (the shape of wire.GeoRef, repeated so that the database does not import
// the wire).
type GeoRef struct {
	CRS       string     `json:"crs"`
	Transform [6]float64 `json:"transform"`
}

// Ground is what an image's sender said about where it lies (all
// optional).
type Ground struct {
	GSD            float64  `json:"gsd_m,omitempty"`      // metres per pixel; 0: unknown
	GSDSource      string   `json:"gsd_source,omitempty"` // "config", "geotiff", "camera"
	GPSAltM        *float64 `json:"gps_alt_m,omitempty"`  // GPS altitude above sea level
	HeightM        *float64 `json:"height_m,omitempty"`   // camera above ground
	YawDeg         *float64 `json:"yaw_deg,omitempty"`    // heading of the image's top edge
	GimbalPitchDeg *float64 `json:"gimbal_pitch_deg,omitempty"`
	GeoRef         *GeoRef  `json:"georef,omitempty"`
	GeoNote        string   `json:"geo_note,omitempty"` // why something is unknown
}

// Placement methods of a count.
const (
	PlacedGeoTIFF = "geotiff" // the raster's transform and CRS
	PlacedNadir   = "nadir"   // GPS, GSD and yaw of a photo taken straight down
)

// GSDDefault is the GSDSource of a count made at the server's default GSD
// because the image had none.
const GSDDefault = "default"

// Placement is how a count's boxes were put on the map.
type Placement struct {
	GSD          float64 `json:"gsd_m"`                   // the GSD the image was counted at
	GSDSource    string  `json:"gsd_source,omitempty"`    // the image's, or GSDDefault
	Positions    string  `json:"positions,omitempty"`     // PlacedGeoTIFF, PlacedNadir or "" (not placed)
	PositionNote string  `json:"position_note,omitempty"` // why not placed, or what is approximate
	// Footprint is the image's outline on the ground, [lon, lat] corners.
	Footprint [][2]float64 `json:"footprint,omitempty"`
}

// MaxCRSBytes bounds a stored CRS (a WKT can be a few KiB).
const MaxCRSBytes = 8 << 10

// MaxGSD bounds a stored Ground.GSD, in metres per pixel (0: unknown).
const MaxGSD = 100

// Range is the closed interval [Lo, Hi].
type Range struct{ Lo, Hi float64 }

// Holds reports whether v lies in r (NaN never does).
func (r Range) Holds(v float64) bool { return v >= r.Lo && v <= r.Hi }

// The ranges of the optional values of a Ground that PutImage accepts.
var (
	HeightRange = Range{-1000, 100000}  // HeightM, metres
	GPSAltRange = Range{-12000, 100000} // GPSAltM, metres
	AngleRange  = Range{-360, 360}      // YawDeg and GimbalPitchDeg, degrees
)

// validGround reports the problems of g.
func validGround(g Ground) []error {
	var errs []error
	if math.IsNaN(g.GSD) || g.GSD < 0 || g.GSD > MaxGSD {
		errs = append(errs, fmt.Errorf("%w: gsd %v m out of (0, %v]", ErrInvalid, g.GSD, MaxGSD))
	}
	for _, a := range []struct {
		name string
		v    *float64
		r    Range
	}{{"height", g.HeightM, HeightRange}, {"GPS altitude", g.GPSAltM, GPSAltRange}, {"yaw", g.YawDeg, AngleRange}, {"gimbal pitch", g.GimbalPitchDeg, AngleRange}} {
		if a.v != nil && !a.r.Holds(*a.v) {
			errs = append(errs, fmt.Errorf("%w: %s %v out of range", ErrInvalid, a.name, *a.v))
		}
	}
	if g.GeoRef != nil {
		if len(g.GeoRef.CRS) > MaxCRSBytes {
			errs = append(errs, fmt.Errorf("%w: CRS longer than %d bytes", ErrInvalid, MaxCRSBytes))
		}
		for _, v := range g.GeoRef.Transform {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				errs = append(errs, fmt.Errorf("%w: georef transform not finite", ErrInvalid))
				break
			}
		}
	}
	return errs
}

// jsonText encodes v as a JSON text column ("" for nil).
func jsonText(v any, isNil bool) (string, error) {
	if isNil {
		return "", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func nullFloat(v *float64) sql.NullFloat64 {
	if v == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: *v, Valid: true}
}

func floatPtr(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	f := v.Float64
	return &f
}
