package change

import (
	"math"
	"sort"

	"github.com/canopy-forest/canopy/cloud/geo"
	"github.com/canopy-forest/canopy/cloud/scan"
)

// Scan is what Compare needs of one scan.
type Scan struct {
	Trees      []scan.Tree    // placed trees, merged by position
	Footprints [][][2]float64 // its placed images' outlines, [lon, lat] rings
	Forest     []Sample       // samples of its forest masks
	Unplaced   int            // trees of images that could not be placed (not compared)
}

// Sample is one point of a forest mask on the ground.
type Sample struct {
	Lon, Lat float64
	Forest   bool
}

// Options tune Compare.
type Options struct {
	// MaxShiftM bounds the offset between the two scans that Compare looks
	// for and takes out (metres); 0: none is looked for.
	MaxShiftM float64
	// MinScore: an unmatched tree detected with a lower score is counted
	// as uncertain, not as lost or new (0: every unmatched tree is).
	MinScore float64
}

// DefaultMaxShiftM is the offset looked for by default: the error of a
// consumer drone's GPS between two flights.
const DefaultMaxShiftM = 10

// ScoreMargin is how far above the detector's threshold a detection must
// score to be called lost or new by default (AutoMinScore): of 151 trees
// that came and went between the shipped detector's runs over the same
// NEON plots cut on other pixel grids, 148 scored within it
// (docs/accuracy.md).
const ScoreMargin = 0.08

// AutoMinScore is the default Options.MinScore of two scans. A detector
// reports what passes its threshold, so the lowest score of their trees
// shows the threshold: detections within ScoreMargin of it are uncertain,
// as long as at least a quarter of the trees score above that (scores
// that do not pile up above a threshold, as the classical counter's, or
// all alike, get 0: every unmatched tree is lost or new). Scans with fewer
// than 10 trees get 0 too.
func AutoMinScore(base, s Scan) float64 {
	if len(base.Trees) < 10 || len(s.Trees) < 10 {
		return 0
	}
	low := math.Inf(1)
	all := append(append([]scan.Tree{}, base.Trees...), s.Trees...)
	for _, t := range all {
		low = math.Min(low, t.Score)
	}
	thr, above := round(low+ScoreMargin, 3), 0
	for _, t := range all {
		if t.Score >= thr {
			above++
		}
	}
	if above < len(all)/4 {
		return 0
	}
	return thr
}

// Tree is a lost or new tree.
type Tree struct {
	Lon     float64 `json:"lon"`
	Lat     float64 `json:"lat"`
	CrownM  float64 `json:"crown_m"`
	Score   float64 `json:"score"`
	ImageID string  `json:"image_id"` // the image it was seen in (the best detection's)
}

// Pair is a figure of the base scan, of the other scan, and its change
// (other minus base).
type Pair struct {
	Base   float64 `json:"base"`
	Scan   float64 `json:"scan"`
	Change float64 `json:"change"`
}

func pair(base, scan float64) *Pair { return &Pair{Base: base, Scan: scan, Change: scan - base} }

// Offset is the shift of the scan against the base that Compare found and
// took out before matching.
type Offset struct {
	EastM  float64 `json:"east_m"`
	NorthM float64 `json:"north_m"`
	Pairs  int     `json:"pairs"` // tree pairs it was measured on (0: none found, no shift)
}

// Counts are numbers of trees of the base scan and of the other scan.
type Counts struct {
	Base int `json:"base"`
	Scan int `json:"scan"`
}

// Result is what changed.
type Result struct {
	Kept int    `json:"kept"` // trees matched in both scans
	Lost []Tree `json:"lost"` // trees of the base scan not in the other, inside the common area
	New  []Tree `json:"new"`  // trees of the other scan not in the base, inside the common area
	// CommonAreaHa is the area both scans' footprints cover, in hectares.
	CommonAreaHa float64 `json:"common_area_ha"`
	// Trees are the trees of each scan whose centre lies in that area.
	Trees Counts `json:"trees"`
	// TreesPerHa is Trees over CommonAreaHa (nil without a common area).
	TreesPerHa *Pair `json:"trees_per_ha"`
	// ForestCover is the share of the common area the masks mark as
	// forest, over the part both scans' masks cover (nil without masks).
	ForestCover *Pair `json:"forest_cover"`
	// ForestAreaHa is that part, in hectares.
	ForestAreaHa float64 `json:"forest_area_ha"`
	Offset       Offset  `json:"offset"`
	// Neither lost nor new: unmatched trees in the common area detected
	// with a score below MinScore (Uncertain) or within a crown radius of
	// its edge (Edge), trees beyond it (Outside) and the trees of images
	// that could not be placed (Unplaced).
	MinScore  float64 `json:"min_score"`
	Uncertain Counts  `json:"uncertain"`
	Edge      Counts  `json:"edge"`
	Outside   Counts  `json:"outside"`
	Unplaced  Counts  `json:"unplaced"`
}

// Grid sizes of the common area.
const (
	minCellM = 0.25
	maxCells = 1 << 20
)

// pt is a tree on the plane.
type pt struct {
	x, y, r float64 // r: crown radius
	t       scan.Tree
}

// Compare says what changed from base to s.
func Compare(base, s Scan, o Options) Result {
	r := Result{Lost: []Tree{}, New: []Tree{}, MinScore: o.MinScore, Unplaced: Counts{base.Unplaced, s.Unplaced}}
	origin, ok := originOf(base, s)
	if !ok {
		return r
	}
	pl := geo.NewPlane(origin)
	a, b := points(pl, base.Trees), points(pl, s.Trees)
	var dx, dy float64
	if o.MaxShiftM > 0 {
		dx, dy, r.Offset.Pairs = estimateOffset(a, b, o.MaxShiftM)
		r.Offset.EastM, r.Offset.NorthM = round(dx, 3), round(dy, 3)
		for i := range b {
			b[i].x, b[i].y = b[i].x-dx, b[i].y-dy
		}
	}
	area := newCommon(pl, base.Footprints, s.Footprints, dx, dy)
	if area != nil {
		r.CommonAreaHa = float64(area.n) * area.g.Cell * area.g.Cell / 10000
	}

	matchA, matchB := match(a, b)
	for i := range a {
		j := matchA[i]
		if j >= 0 && (area.inside(a[i].x, a[i].y) || area.inside(b[j].x, b[j].y)) {
			r.Kept++
		}
	}
	classify := func(ps []pt, matched []int, n, uncertain, edge, outside *int, list *[]Tree) {
		for i, p := range ps {
			in := area.inside(p.x, p.y)
			if in {
				*n++
			}
			switch {
			case matched[i] >= 0:
			case !in:
				*outside++
			case !area.interior(p.x, p.y, p.r):
				*edge++
			case p.t.Score < o.MinScore:
				*uncertain++
			default:
				*list = append(*list, Tree{Lon: p.t.Lon, Lat: p.t.Lat, CrownM: p.t.CrownM, Score: p.t.Score, ImageID: p.t.ImageID})
			}
		}
	}
	classify(a, matchA, &r.Trees.Base, &r.Uncertain.Base, &r.Edge.Base, &r.Outside.Base, &r.Lost)
	classify(b, matchB, &r.Trees.Scan, &r.Uncertain.Scan, &r.Edge.Scan, &r.Outside.Scan, &r.New)
	if r.CommonAreaHa > 0 {
		r.TreesPerHa = pair(float64(r.Trees.Base)/r.CommonAreaHa, float64(r.Trees.Scan)/r.CommonAreaHa)
	}
	if area != nil {
		if cover, n := area.cover(pl, base.Forest, s.Forest, dx, dy); n > 0 {
			r.ForestCover = cover
			r.ForestAreaHa = float64(n) * coverCellM * coverCellM / 10000
		}
	}
	return r
}

// originOf is a point of the scans for the plane they are compared on.
func originOf(base, s Scan) (geo.LonLat, bool) {
	for _, sc := range []Scan{base, s} {
		for _, f := range sc.Footprints {
			if len(f) > 0 {
				return geo.LonLat{Lon: f[0][0], Lat: f[0][1]}, true
			}
		}
		if len(sc.Trees) > 0 {
			return geo.LonLat{Lon: sc.Trees[0].Lon, Lat: sc.Trees[0].Lat}, true
		}
	}
	return geo.LonLat{}, false
}

func points(pl geo.Plane, trees []scan.Tree) []pt {
	out := make([]pt, len(trees))
	for i, t := range trees {
		x, y := pl.ToXY(geo.LonLat{Lon: t.Lon, Lat: t.Lat})
		out[i] = pt{x: x, y: y, r: t.CrownM / 2, t: t}
	}
	return out
}

// match pairs the trees of a and b one to one, nearest pairs first, when
// their centres are closer than the larger crown radius. matchA[i] is the
// tree of b matched to a[i], or -1; matchB likewise.
func match(a, b []pt) (matchA, matchB []int) {
	matchA, matchB = fill(len(a), -1), fill(len(b), -1)
	reach := 0.0
	for _, p := range append(append([]pt{}, a...), b...) {
		reach = math.Max(reach, p.r)
	}
	if reach <= 0 || len(a) == 0 || len(b) == 0 {
		return matchA, matchB
	}
	grid := hash(b, reach)
	type cand struct {
		i, j int
		d    float64
	}
	var cands []cand
	for i, p := range a {
		near(grid, reach, p.x, p.y, func(j int) {
			q := b[j]
			if d := math.Hypot(p.x-q.x, p.y-q.y); d < math.Max(p.r, q.r) {
				cands = append(cands, cand{i, j, d})
			}
		})
	}
	sort.Slice(cands, func(x, y int) bool {
		cx, cy := cands[x], cands[y]
		if cx.d != cy.d {
			return cx.d < cy.d
		}
		return cx.i < cy.i || cx.i == cy.i && cx.j < cy.j
	})
	for _, c := range cands {
		if matchA[c.i] < 0 && matchB[c.j] < 0 {
			matchA[c.i], matchB[c.j] = c.j, c.i
		}
	}
	return matchA, matchB
}

func fill(n, v int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// hash puts the points in square cells of side cell.
func hash(ps []pt, cell float64) map[[2]int][]int {
	g := map[[2]int][]int{}
	for i, p := range ps {
		k := [2]int{int(math.Floor(p.x / cell)), int(math.Floor(p.y / cell))}
		g[k] = append(g[k], i)
	}
	return g
}

// near calls fn with the points of grid (cells of side cell) in the cells
// around (x, y): every point within cell of it, and some farther.
func near(grid map[[2]int][]int, cell, x, y float64, fn func(j int)) {
	cx, cy := int(math.Floor(x/cell)), int(math.Floor(y/cell))
	for gx := cx - 1; gx <= cx+1; gx++ {
		for gy := cy - 1; gy <= cy+1; gy++ {
			for _, j := range grid[[2]int{gx, gy}] {
				fn(j)
			}
		}
	}
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
