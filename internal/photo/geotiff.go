package photo

import (
	"bytes"
	"fmt"
	"math"

	"github.com/rwcarlsen/goexif/tiff"

	"github.com/canopy-forest/canopy/sync/wire"
)

// TIFF tags of GeoTIFF (OGC GeoTIFF 1.1) and XMP.
const (
	tagModelPixelScale     = 33550
	tagModelTiepoint       = 33922
	tagModelTransformation = 34264
	tagGeoKeyDirectory     = 34735
	tagXMP                 = 700
)

// GeoKeys used here.
const (
	keyModelType      = 1024 // 1 projected, 2 geographic
	keyRasterType     = 1025 // 1 PixelIsArea, 2 PixelIsPoint
	keyGeographicType = 2048
	keyProjectedType  = 3072
	userDefined       = 32767
)

// GeoRef is the georeferencing of an image (see wire.GeoRef).
type GeoRef = wire.GeoRef

// readGeoTIFF fills m.GeoTIFF from the first image directory of a TIFF
// (b passed tiffSafe) and returns its XMP packet, if any. A TIFF without
// GeoTIFF tags leaves m.GeoTIFF nil.
func (m *Meta) readGeoTIFF(b []byte) (xmp []byte) {
	t, err := tiff.Decode(bytes.NewReader(b))
	if err != nil || len(t.Dirs) == 0 {
		return nil
	}
	d := t.Dirs[0]
	g, problem := geoRef(d)
	if problem != "" {
		m.Problems = append(m.Problems, problem)
	}
	m.GeoTIFF = g
	for _, tg := range d.Tags {
		if tg.Id == tagXMP {
			return tg.Val
		}
	}
	return nil
}

func tagFloats(d *tiff.Dir, id uint16) []float64 {
	return tagValues(d, id, tiff.FloatVal, (*tiff.Tag).Float)
}

func tagInts(d *tiff.Dir, id uint16) []int {
	return tagValues(d, id, tiff.IntVal, (*tiff.Tag).Int)
}

// tagValues reads with get the values (at most 65536) of d's first tag id
// in format f; nil when there is no such tag or a value is unreadable.
func tagValues[T any](d *tiff.Dir, id uint16, f tiff.Format, get func(*tiff.Tag, int) (T, error)) []T {
	for _, tg := range d.Tags {
		if tg.Id != id || tg.Format() != f {
			continue
		}
		n := int(min(tg.Count, 1<<16))
		out := make([]T, 0, n)
		for i := range n {
			v, err := get(tg, i)
			if err != nil {
				return nil
			}
			out = append(out, v)
		}
		return out
	}
	return nil
}

// geoRef reads the transform and CRS of a GeoTIFF directory; nil when it
// has no transform. problem says what is missing or unusable.
func geoRef(d *tiff.Dir) (*GeoRef, string) {
	var tr [6]float64
	switch m, tp, sc := tagFloats(d, tagModelTransformation), tagFloats(d, tagModelTiepoint), tagFloats(d, tagModelPixelScale); {
	case len(m) == 16:
		tr = [6]float64{m[3], m[0], m[1], m[7], m[4], m[5]}
	case len(tp) >= 6 && len(sc) >= 2:
		tr = [6]float64{tp[3] - tp[0]*sc[0], sc[0], 0, tp[4] + tp[1]*sc[1], 0, -sc[1]}
	case len(tp) > 0 || len(sc) > 0:
		return nil, "GeoTIFF tags incomplete: no pixel scale with the tie point, and no transformation matrix"
	default:
		return nil, ""
	}
	for _, v := range tr {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, "GeoTIFF transform is not finite"
		}
	}
	if tr[1]*tr[5]-tr[2]*tr[4] == 0 {
		return nil, "GeoTIFF transform is singular (pixel size 0)"
	}
	keys := geoKeys(tagInts(d, tagGeoKeyDirectory))
	if keys[keyRasterType] == 2 { // PixelIsPoint: the tie point is a pixel's centre
		tr[0] -= 0.5*tr[1] + 0.5*tr[2]
		tr[3] -= 0.5*tr[4] + 0.5*tr[5]
	}
	g := &GeoRef{Transform: tr}
	proj, geog := keys[keyProjectedType], keys[keyGeographicType]
	switch {
	case proj > 0 && proj < userDefined:
		g.CRS = fmt.Sprintf("EPSG:%d", proj)
	case proj == userDefined:
		return g, "GeoTIFF has a user-defined projected CRS (not an EPSG code): positions need an EPSG code"
	case keys[keyModelType] == 2 && geog > 0 && geog < userDefined:
		g.CRS = fmt.Sprintf("EPSG:%d", geog)
	case len(keys) == 0:
		return g, "GeoTIFF has no GeoKeyDirectory: its CRS is unknown"
	default:
		return g, fmt.Sprintf("GeoTIFF CRS is not an EPSG code (model type %d, geographic %d, projected %d)", keys[keyModelType], geog, proj)
	}
	return g, ""
}

// geoKeys returns the keys of a GeoKeyDirectory whose values are inline
// SHORTs (the ones this package uses).
func geoKeys(dir []int) map[int]int {
	out := map[int]int{}
	if len(dir) < 4 {
		return out
	}
	n := dir[3]
	for i := 0; i < n && 4+4*i+3 < len(dir); i++ {
		e := dir[4+4*i:]
		if e[1] == 0 && e[2] == 1 {
			out[e[0]] = e[3]
		}
	}
	return out
}
