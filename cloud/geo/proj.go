//go:build proj

package geo

import (
	"fmt"
	"sync"

	proj "github.com/twpayne/go-proj/v11"
)

// PROJAvailable reports whether this build transforms CRSs with PROJ.
const PROJAvailable = true

type projTransform struct{ pj *proj.PJ }

type projEntry struct {
	tr   *projTransform
	note string
	err  error
}

// transforms caches one transform per CRS: creating one reads PROJ's
// database. A PJ locks its context on every call, so sharing is safe.
var transforms sync.Map // CRS string -> projEntry

func newToWGS84(crs string) (lonLater, string, error) {
	if e, ok := transforms.Load(crs); ok {
		en := e.(projEntry)
		if en.err != nil {
			return nil, "", en.err
		}
		return en.tr, en.note, nil
	}
	var en projEntry
	pj, err := proj.NewCRSToCRS(crs, "EPSG:4326", nil)
	if err == nil {
		var norm *proj.PJ
		if norm, err = pj.NormalizeForVisualization(); err == nil {
			en.tr = &projTransform{pj: norm}
			if norm.HasBallparkTransformation() {
				en.note = "PROJ could only shift the datum roughly (ballpark transformation): positions may be off by metres"
			}
		}
	}
	if err != nil {
		en.err = fmt.Errorf("%w: PROJ cannot transform %q to WGS 84: %v", ErrUnknownCRS, shortCRS(crs), err)
	}
	transforms.Store(crs, en)
	if en.err != nil {
		return nil, "", en.err
	}
	return en.tr, en.note, nil
}

func (p *projTransform) LonLat(x, y float64) (LonLat, error) {
	c, err := p.pj.Forward(proj.NewCoord(x, y, 0, 0))
	if err != nil {
		return LonLat{}, err
	}
	return LonLat{Lon: c.X(), Lat: c.Y()}, nil
}
