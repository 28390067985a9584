package geo

import "math"

// WGS 84 ellipsoid.
const (
	wgs84A  = 6378137.0
	wgs84F  = 1 / 298.257223563
	wgs84E2 = wgs84F * (2 - wgs84F)
)

// LonLat is a WGS 84 position in degrees.
type LonLat struct {
	Lon float64 `json:"lon"`
	Lat float64 `json:"lat"`
}

// Plane is a local tangent plane at an origin: X east and Y north, in
// metres. It scales degrees by the ellipsoid's radii of curvature at the
// origin, so positions within a few kilometres of it are exact to
// millimetres (the error grows with the square of the distance).
type Plane struct {
	Origin     LonLat
	mLat, mLon float64 // metres per degree of latitude and of longitude
}

// NewPlane returns the tangent plane at origin.
func NewPlane(origin LonLat) Plane {
	phi := origin.Lat * math.Pi / 180
	s := math.Sin(phi)
	w := math.Sqrt(1 - wgs84E2*s*s)
	m := wgs84A * (1 - wgs84E2) / (w * w * w) // meridional radius
	n := wgs84A / w                           // prime vertical radius
	return Plane{Origin: origin, mLat: m * math.Pi / 180, mLon: n * math.Cos(phi) * math.Pi / 180}
}

// ToXY returns p's position east and north of the origin, in metres.
func (pl Plane) ToXY(p LonLat) (x, y float64) {
	dlon := p.Lon - pl.Origin.Lon
	if dlon > 180 {
		dlon -= 360
	} else if dlon < -180 {
		dlon += 360
	}
	return dlon * pl.mLon, (p.Lat - pl.Origin.Lat) * pl.mLat
}

// ToLonLat returns the position x metres east and y metres north of the
// origin.
func (pl Plane) ToLonLat(x, y float64) LonLat {
	lon := pl.Origin.Lon + x/pl.mLon
	if lon > 180 {
		lon -= 360
	} else if lon < -180 {
		lon += 360
	}
	return LonLat{Lon: lon, Lat: pl.Origin.Lat + y/pl.mLat}
}

// Distance is the distance between a and b in metres (on the tangent plane
// at a; exact to millimetres over a few kilometres).
func Distance(a, b LonLat) float64 {
	x, y := NewPlane(a).ToXY(b)
	return math.Hypot(x, y)
}
