package change_test

import (
	"fmt"

	"github.com/canopy-forest/canopy/cloud/change"
	"github.com/canopy-forest/canopy/cloud/geo"
	"github.com/canopy-forest/canopy/cloud/scan"
)

// Two surveys of a 40 m square: the second is 3 m east (its GPS was off)
// and one tree of the first is gone.
func ExampleCompare() {
	pl := geo.NewPlane(geo.LonLat{Lon: 5.2, Lat: 52.1})
	survey := func(dx float64, trees [][2]float64) change.Scan {
		var s change.Scan
		for _, t := range trees {
			p := pl.ToLonLat(t[0]+dx, t[1])
			s.Trees = append(s.Trees, scan.Tree{Lon: p.Lon, Lat: p.Lat, CrownM: 4, Score: 0.9})
		}
		var ring [][2]float64
		for _, c := range [][2]float64{{0, 0}, {40, 0}, {40, 40}, {0, 40}} {
			p := pl.ToLonLat(c[0]+dx, c[1])
			ring = append(ring, [2]float64{p.Lon, p.Lat})
		}
		s.Footprints = [][][2]float64{ring}
		return s
	}
	var trees [][2]float64
	for x := 5.0; x < 40; x += 10 {
		for y := 5.0; y < 40; y += 10 {
			trees = append(trees, [2]float64{x, y})
		}
	}
	r := change.Compare(survey(0, trees), survey(3, trees[1:]), change.Options{MaxShiftM: change.DefaultMaxShiftM})
	fmt.Printf("kept %d, lost %d, new %d; offset %.1f m east; %.2f ha compared\n", r.Kept, len(r.Lost), len(r.New), r.Offset.EastM, r.CommonAreaHa)
	// Output: kept 15, lost 1, new 0; offset 3.0 m east; 0.16 ha compared
}
