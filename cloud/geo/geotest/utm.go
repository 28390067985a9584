// Package geotest computes positions independently of package geo (and of
// PROJ and GDAL), for tests that check them.
package geotest

import "math"

// UTMToLonLat converts UTM easting and northing in zone (1..60) of the
// northern (north true) or southern hemisphere on WGS 84 to longitude and
// latitude in degrees, with Krüger's series to the third order in n
// (Karney 2011): exact to well under a millimetre within a zone.
func UTMToLonLat(zone int, north bool, easting, northing float64) (lon, lat float64) {
	const (
		a  = 6378137.0
		f  = 1 / 298.257223563
		k0 = 0.9996
	)
	n := f / (2 - f)
	A := a / (1 + n) * (1 + n*n/4 + n*n*n*n/64)
	beta := [3]float64{n/2 - 2*n*n/3 + 37*n*n*n/96, n*n/48 + n*n*n/15, 17 * n * n * n / 480}
	delta := [3]float64{2*n - 2*n*n/3 - 2*n*n*n, 7*n*n/3 - 8*n*n*n/5, 56 * n * n * n / 15}
	n0 := 0.0
	if !north {
		n0 = 10_000_000
	}
	xi := (northing - n0) / (k0 * A)
	eta := (easting - 500_000) / (k0 * A)
	xi1, eta1 := xi, eta
	for j := 1; j <= 3; j++ {
		jj := 2 * float64(j)
		xi1 -= beta[j-1] * math.Sin(jj*xi) * math.Cosh(jj*eta)
		eta1 -= beta[j-1] * math.Cos(jj*xi) * math.Sinh(jj*eta)
	}
	chi := math.Asin(math.Sin(xi1) / math.Cosh(eta1))
	phi := chi
	for j := 1; j <= 3; j++ {
		phi += delta[j-1] * math.Sin(2*float64(j)*chi)
	}
	lon0 := float64(zone*6 - 183)
	lon = lon0 + math.Atan2(math.Sinh(eta1), math.Cos(xi1))*180/math.Pi
	return lon, phi * 180 / math.Pi
}

// MetresBetween is the distance in metres between two nearby positions
// (equirectangular on a sphere of the mean Earth radius: good to 0.5% over
// a few kilometres, plenty for tolerances of centimetres).
func MetresBetween(lon1, lat1, lon2, lat2 float64) float64 {
	const r = 6371008.8
	phi := (lat1 + lat2) / 2 * math.Pi / 180
	dlon := math.Mod(lon2-lon1+540, 360) - 180
	dx := dlon * math.Pi / 180 * math.Cos(phi) * r
	dy := (lat2 - lat1) * math.Pi / 180 * r
	return math.Hypot(dx, dy)
}
