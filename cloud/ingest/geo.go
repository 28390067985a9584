package ingest

import (
	"fmt"
	"math"
	"strings"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/sync/wire"
)

// groundOf is what an item's metadata says about where it lies, checked:
// a value out of range is dropped and named in the note, never a reason to
// refuse the item (its image is worth storing all the same).
func groundOf(m wire.Meta) db.Ground {
	g := db.Ground{GeoNote: m.GeoNote}
	var dropped []string
	if m.GSD > 0 && m.GSD <= db.MaxGSD {
		g.GSD, g.GSDSource = m.GSD, clip(m.GSDSource, 32)
	} else if m.GSD != 0 {
		dropped = append(dropped, fmt.Sprintf("gsd_m %v", m.GSD))
	}
	checked := func(name string, v *float64, r db.Range) *float64 {
		if v == nil {
			return nil
		}
		if !r.Holds(*v) {
			dropped = append(dropped, fmt.Sprintf("%s %v", name, *v))
			return nil
		}
		x := *v
		return &x
	}
	g.HeightM = checked("height_m", m.HeightM, db.HeightRange)
	if m.GPS != nil {
		g.GPSAltM = checked("gps.alt", m.GPS.Alt, db.GPSAltRange)
	}
	g.YawDeg = checked("yaw_deg", m.YawDeg, db.AngleRange)
	g.GimbalPitchDeg = checked("gimbal_pitch_deg", m.GimbalPitchDeg, db.AngleRange)
	if r := m.GeoRef; r != nil {
		ok := len(r.CRS) <= db.MaxCRSBytes && r.Transform[1]*r.Transform[5]-r.Transform[2]*r.Transform[4] != 0
		for _, v := range r.Transform {
			ok = ok && !math.IsNaN(v) && !math.IsInf(v, 0)
		}
		if ok {
			g.GeoRef = &db.GeoRef{CRS: r.CRS, Transform: r.Transform}
		} else {
			dropped = append(dropped, "georef (transform not finite or singular, or CRS too long)")
		}
	}
	if len(dropped) > 0 {
		note := "dropped out of range: " + strings.Join(dropped, ", ")
		if g.GeoNote != "" {
			note = g.GeoNote + "; " + note
		}
		g.GeoNote = note
	}
	g.GeoNote = clip(g.GeoNote, 1024)
	return g
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
