// Package place puts the boxes a counter found on the map: each box's
// centre gets a WGS 84 longitude and latitude, exactly from a GeoTIFF's
// transform and CRS, or from a nadir photo's GPS position, ground sample
// distance and heading (package geo). An image that cannot be placed is
// counted all the same, its boxes without positions, and the reason is
// recorded with the count.
package place

import (
	"errors"
	"fmt"

	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/geo"
	"github.com/canopy-forest/canopy/sync/wire"
)

// Image is what is known of where an image lies.
type Image struct {
	Width, Height int
	// GSD is the image's own ground sample distance (0: unknown; a
	// server default does not place anything).
	GSD              float64
	Lat, Lon         *float64
	YawDeg, PitchDeg *float64
	GeoRef           *wire.GeoRef
	// Note is what the sender said was missing or doubtful (geo_note).
	Note string
}

// FromDB is the Image of a stored row.
func FromDB(img db.Image) Image {
	p := Image{Width: img.Width, Height: img.Height, GSD: img.GSD, Lat: img.Lat, Lon: img.Lon,
		YawDeg: img.YawDeg, PitchDeg: img.GimbalPitchDeg, Note: img.GeoNote}
	if img.GeoRef != nil {
		p.GeoRef = &wire.GeoRef{CRS: img.GeoRef.CRS, Transform: img.GeoRef.Transform}
	}
	return p
}

// NadirNote is recorded with every count placed by the nadir camera model.
const NadirNote = "nadir camera model over flat ground: GPS error, relief (a crown's top is nearer the camera than the ground) and lens distortion are not corrected"

// Placer puts the pixels of one image on the map.
type Placer struct {
	method    string
	note      string
	lonLat    func(col, row float64) (geo.LonLat, error)
	footprint []geo.LonLat
}

// New returns the placer of img, or an error that says why its boxes
// cannot be placed.
func New(img Image) (*Placer, error) {
	if img.GeoRef != nil {
		r, err := geo.NewRaster(*img.GeoRef)
		if err != nil {
			return nil, fmt.Errorf("georeferenced image not placed: %w", err)
		}
		fp, err := r.Footprint(img.Width, img.Height)
		if err != nil {
			return nil, fmt.Errorf("georeferenced image not placed: %w", err)
		}
		return &Placer{method: db.PlacedGeoTIFF, note: r.Note(), lonLat: r.LonLat, footprint: fp}, nil
	}
	if img.Lat == nil || img.Lon == nil {
		return nil, errors.New("not placed: the image has no GPS position and no georeferencing")
	}
	c, err := geo.NewNadir(geo.LonLat{Lon: *img.Lon, Lat: *img.Lat}, img.GSD, img.YawDeg, img.PitchDeg, img.Width, img.Height)
	if err != nil {
		msg := "photo with GPS not placed: " + err.Error()
		if errors.Is(err, geo.ErrNoGSD) && img.Note != "" {
			msg += " (" + img.Note + ")"
		}
		return nil, errors.New(msg)
	}
	note := NadirNote
	if img.PitchDeg == nil {
		note = "gimbal pitch unknown, taken as straight down; " + note
	}
	return &Placer{method: db.PlacedNadir, note: note,
		lonLat: func(col, row float64) (geo.LonLat, error) { return c.LonLat(col, row), nil }, footprint: c.Footprint()}, nil
}

// Method is db.PlacedGeoTIFF or db.PlacedNadir.
func (p *Placer) Method() string { return p.method }

// LonLat is the position of pixel (col, row).
func (p *Placer) LonLat(col, row float64) (geo.LonLat, error) { return p.lonLat(col, row) }

// Footprint is the image's outline on the ground.
func (p *Placer) Footprint() []geo.LonLat { return p.footprint }

// Boxes turns a counter's boxes into stored boxes, with the position of
// each box's centre when p is not nil.
func Boxes(p *Placer, boxes []count.Box) []db.Box {
	out := make([]db.Box, 0, len(boxes))
	for _, b := range boxes {
		d := db.Box{XMin: b.XMin, YMin: b.YMin, XMax: b.XMax, YMax: b.YMax, Score: b.Score}
		if p != nil {
			x, y := b.Centre()
			if q, err := p.lonLat(x, y); err == nil {
				lon, lat := q.Lon, q.Lat
				d.Lon, d.Lat = &lon, &lat
			}
		}
		out = append(out, d)
	}
	return out
}

// Placement is what a count records of how it was placed: the GSD counted
// at and its source, the method and note (or the reason it was not
// placed, perr), and the footprint.
func Placement(p *Placer, perr error, gsd float64, gsdSource string) db.Placement {
	pl := db.Placement{GSD: gsd, GSDSource: gsdSource}
	if p == nil {
		if perr != nil {
			pl.PositionNote = perr.Error()
		}
		return pl
	}
	pl.Positions, pl.PositionNote = p.method, p.note
	for _, q := range p.footprint {
		pl.Footprint = append(pl.Footprint, [2]float64{q.Lon, q.Lat})
	}
	return pl
}
