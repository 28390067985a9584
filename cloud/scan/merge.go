package scan

import (
	"math"
	"sort"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/geo"
)

// Tree is one tree of a scan: the best of the detections merged into it.
type Tree struct {
	Lon, Lat float64
	Score    float64 // the best detection's score
	CrownM   float64 // crown diameter in metres (the best detection's box, its mean side times the GSD)
	ImageID  string  // the image of the best detection
	Method   string
	Model    string
	SeenIn   int // images it was detected in
}

// Result is a scan's trees.
type Result struct {
	Trees []Tree // placed trees, merged, best score first
	// Detections is the number of placed boxes before merging.
	Detections int
	// Unplaced is the number of trees counted on images that could not be
	// placed (added to Total as counted), UnplacedImages those images.
	Unplaced, UnplacedImages int
	// Images and Counted are the scan's images and those with a count.
	Images, Counted int
	// SumOfCounts adds up every image's count (trees in overlaps counted
	// once per image).
	SumOfCounts int
	// AreaM2 is the area covered by the placed images' footprints.
	AreaM2 float64
	// Footprints are those footprints, [lon, lat] rings.
	Footprints [][][2]float64
}

// Total is the scan's tree count: the merged placed trees, plus the trees
// of images that could not be placed.
func (r Result) Total() int { return len(r.Trees) + r.Unplaced }

// PerHa is the number of placed trees per hectare of footprint, or nil
// when nothing was placed.
func (r Result) PerHa() *float64 {
	if r.AreaM2 <= 0 {
		return nil
	}
	v := float64(len(r.Trees)) / (r.AreaM2 / 10000)
	return &v
}

// Options tune merging.
type Options struct {
	// MinMergeM: two detections from different images are one tree when
	// their centres are closer than MinMergeM metres or than the larger
	// crown's radius (default 1.5 m: the GPS of consumer drones drifts
	// about that much between photos).
	MinMergeM float64
}

type detection struct {
	x, y   float64 // metres on the plane
	Tree           // its position, score, crown, image, method, model
	imgIdx int
}

// Merger collects a scan's counted images and merges their trees.
type Merger struct {
	o      Options
	dets   []detection
	res    Result
	images int
}

// NewMerger returns an empty Merger.
func NewMerger(o Options) *Merger {
	if o.MinMergeM <= 0 {
		o.MinMergeM = 1.5
	}
	return &Merger{o: o}
}

// Add takes one image of the scan, with its count if it has one.
func (m *Merger) Add(img db.Image) {
	m.res.Images++
	c := img.Count
	if c == nil {
		return
	}
	m.res.Counted++
	m.res.SumOfCounts += c.Count
	if c.Positions == "" {
		m.res.Unplaced += c.Count
		m.res.UnplacedImages++
		return
	}
	if len(c.Footprint) >= 3 {
		m.res.Footprints = append(m.res.Footprints, c.Footprint)
	}
	idx := m.images
	m.images++
	for _, b := range c.Boxes {
		if b.Lon == nil || b.Lat == nil {
			m.res.Unplaced++ // a box beyond the CRS's area: counted, not placed
			continue
		}
		crown := (b.XMax - b.XMin + b.YMax - b.YMin) / 2 * c.GSD
		m.dets = append(m.dets, detection{Tree: Tree{Lon: *b.Lon, Lat: *b.Lat, Score: b.Score, CrownM: crown,
			ImageID: img.ItemID, Method: c.Method, Model: c.Model, SeenIn: 1}, imgIdx: idx})
	}
}

// Result merges the detections (greedy, best score first: a detection is
// dropped when a kept tree not yet seen in its image lies within reach)
// and returns the scan's trees.
func (m *Merger) Result() Result {
	r := m.res
	r.Detections = len(m.dets)
	r.Trees = []Tree{}
	if len(m.dets) > 0 {
		pl := geo.NewPlane(geo.LonLat{Lon: m.dets[0].Lon, Lat: m.dets[0].Lat})
		for i := range m.dets {
			m.dets[i].x, m.dets[i].y = pl.ToXY(geo.LonLat{Lon: m.dets[i].Lon, Lat: m.dets[i].Lat})
		}
		r.Trees = m.merge()
	}
	var rings [][]geo.LonLat
	for _, f := range r.Footprints {
		ring := make([]geo.LonLat, len(f))
		for i, p := range f {
			ring[i] = geo.LonLat{Lon: p[0], Lat: p[1]}
		}
		rings = append(rings, ring)
	}
	r.AreaM2 = geo.UnionArea(rings)
	return r
}

type kept struct {
	det    detection
	images map[int]bool
	reach  float64
}

func (m *Merger) merge() []Tree {
	dets := m.dets
	sort.SliceStable(dets, func(i, j int) bool { return dets[i].Score > dets[j].Score })
	maxReach := m.o.MinMergeM
	for _, d := range dets {
		maxReach = math.Max(maxReach, d.CrownM/2)
	}
	cell := maxReach
	grid := map[[2]int][]int{}
	var trees []*kept
	for _, d := range dets {
		cx, cy := int(math.Floor(d.x/cell)), int(math.Floor(d.y/cell))
		var into *kept
		best := math.Inf(1)
		for gx := cx - 1; gx <= cx+1; gx++ {
			for gy := cy - 1; gy <= cy+1; gy++ {
				for _, ti := range grid[[2]int{gx, gy}] {
					k := trees[ti]
					if k.images[d.imgIdx] {
						continue // the detector already told these apart in one image
					}
					dist := math.Hypot(d.x-k.det.x, d.y-k.det.y)
					if dist < math.Max(k.reach, math.Max(m.o.MinMergeM, d.CrownM/2)) && dist < best {
						into, best = k, dist
					}
				}
			}
		}
		if into != nil {
			into.images[d.imgIdx] = true
			into.det.SeenIn++
			continue
		}
		k := &kept{det: d, images: map[int]bool{d.imgIdx: true}, reach: math.Max(m.o.MinMergeM, d.CrownM/2)}
		trees = append(trees, k)
		key := [2]int{cx, cy}
		grid[key] = append(grid[key], len(trees)-1)
	}
	out := make([]Tree, len(trees))
	for i, k := range trees {
		out[i] = k.det.Tree
	}
	return out
}
