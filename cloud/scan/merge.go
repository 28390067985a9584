package scan

import (
	"math"
	"sort"

	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/geo"
	"github.com/canopy-forest/canopy/cloud/register"
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
	// Registered: placed through its photo's registration (package
	// cloud/register), not by the photo's GPS position alone.
	Registered bool
	// X and Y are its metres in its frame: east and north of the scan's
	// origin, or, for a tree of Result.Local, on the local map of Block.
	X, Y  float64
	Block int
}

// Result is a scan's trees.
type Result struct {
	Trees []Tree // placed trees (on the Earth), merged, best score first
	// Local are the trees of registered photos with no GPS, merged on
	// their block's local map (metres, no position on the Earth).
	Local []Tree
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
	// AreaM2 is the area covered by the placed images' footprints (and
	// the local maps'), SeenTwiceM2 the part of it in two images or more.
	AreaM2, SeenTwiceM2 float64
	// Footprints are the footprints on the Earth, [lon, lat] rings.
	Footprints [][][2]float64
	// RegisteredDetections were placed through registration; of them,
	// RepeatsMerged joined a tree of another photo. MergedByPosition
	// counts the other detections that joined a tree.
	RegisteredDetections, RepeatsMerged, MergedByPosition int
}

// Total is the scan's tree count: the merged placed trees and those of
// local maps, plus the trees of images that could not be placed.
func (r Result) Total() int { return len(r.Trees) + len(r.Local) + r.Unplaced }

// PerHa is the number of placed trees (local maps included) per hectare
// of footprint, or nil when nothing was placed.
func (r Result) PerHa() *float64 {
	if r.AreaM2 <= 0 {
		return nil
	}
	v := float64(len(r.Trees)+len(r.Local)) / (r.AreaM2 / 10000)
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
	Tree       // its position (X, Y once known), score, crown, image, method, model
	frame  int // earth, or a local block
	imgIdx int
	geo    bool // Lon, Lat known (X, Y from them)
	tree   int  // the tree it was merged into
}

// earth is the frame of the positions on the Earth.
const earth = -1

// Merger collects a scan's counted images and merges their trees.
type Merger struct {
	o      Options
	dets   []detection
	res    Result
	images int
	idx    map[string]int // image id to imgIdx

	reg    map[string]db.RegisteredPhoto // registered photos
	origin *geo.LonLat                   // the plane of the registration's frames on the Earth
	rings  []frameRing
}

// frameRing is a footprint in metres in a frame.
type frameRing struct {
	frame int
	ring  [][2]float64
	geo   bool // [lon, lat] until placed on the plane
}

// NewMerger returns an empty Merger.
func NewMerger(o Options) *Merger {
	if o.MinMergeM <= 0 {
		o.MinMergeM = 1.5
	}
	return &Merger{o: o}
}

// Register makes the Merger place the crowns of the photos that r
// registered through their registration, and merge them in their block's
// frame; the other images are placed by position as before. Call it
// before Add.
func (m *Merger) Register(r db.ScanRegistration) {
	m.reg = map[string]db.RegisteredPhoto{}
	for _, p := range r.Photos {
		if p.Block >= 0 && p.ToFrame != nil && (!p.Geo || r.Origin != nil) {
			m.reg[p.ItemID] = p
		}
	}
	if r.Origin != nil {
		m.origin = &geo.LonLat{Lon: r.Origin[0], Lat: r.Origin[1]}
	}
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
	if p, ok := m.reg[img.ItemID]; ok {
		m.addRegistered(img, p)
		return
	}
	if c.Positions == "" {
		m.res.Unplaced += c.Count
		m.res.UnplacedImages++
		return
	}
	if len(c.Footprint) >= 3 {
		m.rings = append(m.rings, frameRing{frame: earth, ring: c.Footprint, geo: true})
	}
	idx := m.imageIndex(img.ItemID)
	for _, b := range c.Boxes {
		if b.Lon == nil || b.Lat == nil {
			m.res.Unplaced++ // a box beyond the CRS's area: counted, not placed
			continue
		}
		m.dets = append(m.dets, detection{Tree: tree(img, b, *b.Lon, *b.Lat), frame: earth, imgIdx: idx, geo: true})
	}
}

func (m *Merger) imageIndex(id string) int {
	if m.idx == nil {
		m.idx = map[string]int{}
	}
	if i, ok := m.idx[id]; ok {
		return i
	}
	m.idx[id] = m.images
	m.images++
	return m.images - 1
}

// tree is a detection's tree before merging.
func tree(img db.Image, b db.Box, lon, lat float64) Tree {
	c := img.Count
	return Tree{Lon: lon, Lat: lat, Score: b.Score, CrownM: (b.XMax - b.XMin + b.YMax - b.YMin) / 2 * c.GSD,
		ImageID: img.ItemID, Method: c.Method, Model: c.Model, SeenIn: 1, Block: earth}
}

// addRegistered places the crowns of a registered photo in its frame.
func (m *Merger) addRegistered(img db.Image, p db.RegisteredPhoto) {
	t := register.Mat3(*p.ToFrame)
	frame := p.Block
	if p.Geo {
		frame = earth
	}
	w, h := float64(img.Width), float64(img.Height)
	if w <= 0 || h <= 0 {
		w, h = float64(p.ViewWidth)*p.ViewScale, float64(p.ViewHeight)*p.ViewScale
	}
	var ring [][2]float64
	for _, q := range [][2]float64{{0, 0}, {w, 0}, {w, h}, {0, h}} {
		x, y := t.Apply(q[0], q[1])
		ring = append(ring, [2]float64{x, y})
	}
	m.rings = append(m.rings, frameRing{frame: frame, ring: ring})
	idx := m.imageIndex(img.ItemID)
	for _, b := range img.Count.Boxes {
		x, y := t.Apply((b.XMin+b.XMax)/2, (b.YMin+b.YMax)/2)
		tr := tree(img, b, 0, 0)
		tr.Registered, tr.X, tr.Y = true, x, y
		if !p.Geo {
			tr.Block = p.Block
		}
		m.dets = append(m.dets, detection{Tree: tr, frame: frame, imgIdx: idx})
	}
}

// Result merges the detections frame by frame (greedy, best score
// first: a detection is dropped when a kept tree not yet seen in its
// image lies within reach) and returns the scan's trees.
func (m *Merger) Result() Result {
	r := m.res
	r.Detections = len(m.dets)
	r.Trees, r.Local = []Tree{}, nil
	pl := m.plane()
	for i := range m.dets {
		d := &m.dets[i]
		if d.geo {
			d.X, d.Y = pl.ToXY(geo.LonLat{Lon: d.Lon, Lat: d.Lat})
		} else if d.frame == earth {
			p := pl.ToLonLat(d.X, d.Y)
			d.Lon, d.Lat = p.Lon, p.Lat
		}
		if d.Registered {
			r.RegisteredDetections++
		}
	}
	frames := map[int][]int{}
	var order []int
	for i, d := range m.dets {
		if _, ok := frames[d.frame]; !ok {
			order = append(order, d.frame)
		}
		frames[d.frame] = append(frames[d.frame], i)
	}
	sort.Ints(order)
	rings := map[int][][][2]float64{}
	for _, fr := range m.rings {
		ring := fr.ring
		if fr.geo {
			ring = make([][2]float64, len(fr.ring))
			for i, q := range fr.ring {
				ring[i][0], ring[i][1] = pl.ToXY(geo.LonLat{Lon: q[0], Lat: q[1]})
			}
		}
		rings[fr.frame] = append(rings[fr.frame], ring)
		if fr.frame == earth {
			ll := make([][2]float64, len(ring))
			for i, q := range ring {
				p := pl.ToLonLat(q[0], q[1])
				ll[i] = [2]float64{p.Lon, p.Lat}
			}
			r.Footprints = append(r.Footprints, ll)
		}
	}
	for _, f := range order {
		trees := m.merge(frames[f], &r)
		if f == earth {
			r.Trees = append(r.Trees, trees...)
		} else {
			r.Local = append(r.Local, trees...)
		}
	}
	for _, rs := range rings {
		once, twice := geo.Coverage(rs)
		r.AreaM2 += once
		r.SeenTwiceM2 += twice
	}
	return r
}

// plane is the tangent plane positions on the Earth are merged on: the
// registration's, else at the first placed detection.
func (m *Merger) plane() geo.Plane {
	if m.origin != nil {
		return geo.NewPlane(*m.origin)
	}
	for _, d := range m.dets {
		if d.geo {
			return geo.NewPlane(geo.LonLat{Lon: d.Lon, Lat: d.Lat})
		}
	}
	for _, fr := range m.rings {
		if fr.geo {
			return geo.NewPlane(geo.LonLat{Lon: fr.ring[0][0], Lat: fr.ring[0][1]})
		}
	}
	return geo.NewPlane(geo.LonLat{})
}

type kept struct {
	det    detection
	images map[int]bool
	reach  float64
}

// merge merges the detections ids of one frame and counts the merges
// into r.
func (m *Merger) merge(ids []int, r *Result) []Tree {
	sort.SliceStable(ids, func(i, j int) bool { return m.dets[ids[i]].Score > m.dets[ids[j]].Score })
	maxReach := m.o.MinMergeM
	for _, i := range ids {
		maxReach = math.Max(maxReach, m.dets[i].CrownM/2)
	}
	cell := maxReach
	grid := map[[2]int][]int{}
	var trees []*kept
	for _, di := range ids {
		d := &m.dets[di]
		cx, cy := int(math.Floor(d.X/cell)), int(math.Floor(d.Y/cell))
		into := -1
		best := math.Inf(1)
		for gx := cx - 1; gx <= cx+1; gx++ {
			for gy := cy - 1; gy <= cy+1; gy++ {
				for _, ti := range grid[[2]int{gx, gy}] {
					k := trees[ti]
					if k.images[d.imgIdx] {
						continue // the detector already told these apart in one image
					}
					dist := math.Hypot(d.X-k.det.X, d.Y-k.det.Y)
					if dist < math.Max(k.reach, math.Max(m.o.MinMergeM, d.CrownM/2)) && dist < best {
						into, best = ti, dist
					}
				}
			}
		}
		if into >= 0 {
			k := trees[into]
			k.images[d.imgIdx] = true
			k.det.SeenIn++
			d.tree = into
			if d.Registered && k.det.Registered {
				r.RepeatsMerged++
			} else {
				r.MergedByPosition++
			}
			continue
		}
		d.tree = len(trees)
		k := &kept{det: *d, images: map[int]bool{d.imgIdx: true}, reach: math.Max(m.o.MinMergeM, d.CrownM/2)}
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

// Repeats counts, over the given pairs of registered photos (image ids),
// the crowns that registration maps onto a crown of the other photo: each
// other's nearest, closer than the merge distance. merged are those of
// them that ended in one tree. Call it after Result.
func (m *Merger) Repeats(pairs [][2]string) (found, merged int) {
	byImage := map[int][]int{}
	for i, d := range m.dets {
		if d.Registered {
			byImage[d.imgIdx] = append(byImage[d.imgIdx], i)
		}
	}
	nearest := func(d detection, in []int) (int, float64) {
		best, bd := -1, math.Inf(1)
		for _, j := range in {
			e := m.dets[j]
			if e.frame != d.frame {
				continue
			}
			if dist := math.Hypot(d.X-e.X, d.Y-e.Y); dist < bd {
				best, bd = j, dist
			}
		}
		return best, bd
	}
	for _, p := range pairs {
		ia, oka := m.idx[p[0]]
		ib, okb := m.idx[p[1]]
		if !oka || !okb {
			continue
		}
		for _, i := range byImage[ia] {
			d := m.dets[i]
			j, dist := nearest(d, byImage[ib])
			if j < 0 || dist >= math.Max(m.o.MinMergeM, math.Max(d.CrownM, m.dets[j].CrownM)/2) {
				continue
			}
			if back, _ := nearest(m.dets[j], byImage[ia]); back != i {
				continue
			}
			found++
			if m.dets[j].tree == d.tree {
				merged++
			}
		}
	}
	return found, merged
}
