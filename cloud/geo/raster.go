package geo

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/canopy-forest/canopy/sync/wire"
)

// Errors of NewRaster.
var (
	// ErrUnknownCRS: the raster's CRS is missing, or PROJ does not know it
	// or cannot transform it to WGS 84.
	ErrUnknownCRS = errors.New("unknown coordinate reference system")
	// ErrNoPROJ: the CRS needs PROJ and this binary was built without it
	// (build tag proj).
	ErrNoPROJ = errors.New("built without PROJ (build tag proj): only rasters in WGS 84 degrees can be placed")
	// ErrBadTransform: the raster's transform is not finite or not
	// invertible.
	ErrBadTransform = errors.New("bad raster transform")
)

// Raster places the pixels of a georeferenced raster on the Earth.
type Raster struct {
	Ref  wire.GeoRef
	tr   lonLater
	note string
}

// lonLater turns a position in a CRS into WGS 84.
type lonLater interface {
	LonLat(x, y float64) (LonLat, error)
}

// NewRaster prepares the transform of g to WGS 84 longitude and latitude.
func NewRaster(g wire.GeoRef) (*Raster, error) {
	t := g.Transform
	for _, v := range t {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: %v", ErrBadTransform, t)
		}
	}
	if t[1]*t[5]-t[2]*t[4] == 0 {
		return nil, fmt.Errorf("%w: %v is singular", ErrBadTransform, t)
	}
	if strings.TrimSpace(g.CRS) == "" {
		return nil, fmt.Errorf("%w: the raster names none", ErrUnknownCRS)
	}
	if isWGS84(g.CRS) {
		return &Raster{Ref: g, tr: identity{}}, nil
	}
	tr, note, err := newToWGS84(g.CRS)
	if err != nil {
		return nil, err
	}
	return &Raster{Ref: g, tr: tr, note: note}, nil
}

// Note says what is approximate about the transform ("" when exact), such
// as a datum shift PROJ could only do roughly.
func (r *Raster) Note() string { return r.note }

// XY is the position of pixel (col, row) in the raster's CRS; (0, 0) is the
// top-left corner of the top-left pixel.
func (r *Raster) XY(col, row float64) (x, y float64) {
	t := r.Ref.Transform
	return t[0] + col*t[1] + row*t[2], t[3] + col*t[4] + row*t[5]
}

// LonLat is the WGS 84 position of pixel (col, row).
func (r *Raster) LonLat(col, row float64) (LonLat, error) {
	p, err := r.tr.LonLat(r.XY(col, row))
	if err != nil {
		return LonLat{}, err
	}
	if math.IsNaN(p.Lon) || math.IsNaN(p.Lat) || math.IsInf(p.Lon, 0) || math.IsInf(p.Lat, 0) || p.Lat < -90 || p.Lat > 90 {
		return LonLat{}, fmt.Errorf("pixel %.1f, %.1f falls outside the CRS's area of use", col, row)
	}
	return p, nil
}

// Footprint is the outline of a width x height raster: its four corners,
// top left first, clockwise as seen on the image.
func (r *Raster) Footprint(width, height int) ([]LonLat, error) {
	w, h := float64(width), float64(height)
	out := make([]LonLat, 0, 4)
	for _, p := range [][2]float64{{0, 0}, {w, 0}, {w, h}, {0, h}} {
		q, err := r.LonLat(p[0], p[1])
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}

// isWGS84 reports whether crs names WGS 84 longitude and latitude in
// degrees (as GeoTIFFs in EPSG:4326 store them: x is the longitude).
func isWGS84(crs string) bool {
	switch strings.ToUpper(strings.TrimSpace(crs)) {
	case "EPSG:4326", "OGC:CRS84", "CRS84", "WGS84", "+PROJ=LONGLAT +DATUM=WGS84 +NO_DEFS":
		return true
	}
	return false
}

type identity struct{}

func (identity) LonLat(x, y float64) (LonLat, error) { return LonLat{Lon: x, Lat: y}, nil }

// shortCRS is crs cut for an error message (a WKT can be long).
func shortCRS(crs string) string {
	crs = strings.Join(strings.Fields(crs), " ")
	if len(crs) > 60 {
		return crs[:57] + "..."
	}
	return crs
}
