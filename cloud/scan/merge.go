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
	// RepeatsMerged joined a tree of another photo or were left out for
	// it (BetterViews: another photo sees their place more centrally).
	// MergedByPosition counts the other detections that joined a tree.
	RegisteredDetections, RepeatsMerged, BetterViews, MergedByPosition int
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
	geo    bool    // Lon, Lat known (X, Y from them)
	tree   int     // the tree it was merged into; -1: left out for a better view
	edge   float64 // registered: metres from its photo's edge
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
	views  []view // the registered photos in their frames
}

// view is a registered photo as seen from its frame.
type view struct {
	frame, imgIdx  int
	toPhoto        register.Mat3 // frame metres to the photo's pixels
	w, h, gsd      float64       // its size, and metres per pixel
	x0, y0, x1, y1 float64       // its bounding box in the frame
}

// edge is how far (metres) frame point x, y lies inside the photo (< 0:
// outside).
func (v view) edge(x, y float64) float64 {
	if x < v.x0 || x > v.x1 || y < v.y0 || y > v.y1 {
		return -1
	}
	u, w := v.toPhoto.Apply(x, y)
	return math.Min(math.Min(u, v.w-u), math.Min(w, v.h-w)) * v.gsd
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
	idx := m.imageIndex(img.ItemID)
	v := view{frame: frame, imgIdx: idx, toPhoto: t.Inv(), w: w, h: h, x0: math.Inf(1), y0: math.Inf(1), x1: math.Inf(-1), y1: math.Inf(-1)}
	v.gsd = math.Sqrt(math.Abs(t[0]*t[4] - t[1]*t[3]))
	var ring [][2]float64
	for _, q := range [][2]float64{{0, 0}, {w, 0}, {w, h}, {0, h}} {
		x, y := t.Apply(q[0], q[1])
		ring = append(ring, [2]float64{x, y})
		v.x0, v.y0, v.x1, v.y1 = math.Min(v.x0, x), math.Min(v.y0, y), math.Max(v.x1, x), math.Max(v.y1, y)
	}
	m.rings = append(m.rings, frameRing{frame: frame, ring: ring})
	m.views = append(m.views, v)
	for _, b := range img.Count.Boxes {
		x, y := t.Apply((b.XMin+b.XMax)/2, (b.YMin+b.YMax)/2)
		tr := tree(img, b, 0, 0)
		tr.Registered, tr.X, tr.Y = true, x, y
		if !p.Geo {
			tr.Block = p.Block
		}
		m.dets = append(m.dets, detection{Tree: tr, frame: frame, imgIdx: idx, edge: v.edge(x, y)})
	}
}

// Result merges the detections frame by frame (merge: registered photos
// by best view and mutual nearest repeats, then the others greedily, best
// score first: a detection is dropped when a kept tree not yet seen in its
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
// into r. Registered detections in a place another registered photo sees
// better are left out (bestViews), those left are joined (clusters), then
// the others are merged with them and each other by position, best score
// first.
func (m *Merger) merge(ids []int, r *Result) []Tree {
	var reg, rest []int
	for _, i := range ids {
		if m.dets[i].Registered {
			reg = append(reg, i)
		} else {
			rest = append(rest, i)
		}
	}
	reg = m.bestViews(reg, r)
	cell := m.o.MinMergeM
	for _, i := range ids {
		cell = math.Max(cell, m.dets[i].CrownM/2)
	}
	grid := map[[2]int][]int{}
	var trees []*kept
	add := func(k *kept) {
		trees = append(trees, k)
		key := [2]int{int(math.Floor(k.det.X / cell)), int(math.Floor(k.det.Y / cell))}
		grid[key] = append(grid[key], len(trees)-1)
	}
	for _, g := range m.clusters(reg, cell) {
		best := g[0]
		for _, i := range g {
			if m.dets[i].Score > m.dets[best].Score {
				best = i
			}
		}
		k := &kept{det: m.dets[best], images: map[int]bool{}, reach: m.reach(m.dets[best])}
		for _, i := range g {
			k.images[m.dets[i].imgIdx] = true
			m.dets[i].tree = len(trees)
		}
		k.det.SeenIn = len(g)
		r.RepeatsMerged += len(g) - 1
		add(k)
	}
	sort.SliceStable(rest, func(i, j int) bool { return m.dets[rest[i]].Score > m.dets[rest[j]].Score })
	for _, di := range rest {
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
					if dist < math.Max(k.reach, m.reach(*d)) && dist < best {
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
			r.MergedByPosition++
			continue
		}
		d.tree = len(trees)
		add(&kept{det: *d, images: map[int]bool{d.imgIdx: true}, reach: m.reach(*d)})
	}
	out := make([]Tree, len(trees))
	for i, k := range trees {
		out[i] = k.det.Tree
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

// bestViews keeps the registered detections whose place no other
// registered photo sees better: a crown near one photo's edge and deep
// inside another is counted from the other (its crown whole, its relief
// least), as a mosaic shows each place from the photo that sees it most
// centrally. Near the border between two photos' places (within reach)
// both are kept, and clusters joins them. Those left out count as
// repeats merged.
func (m *Merger) bestViews(ids []int, r *Result) []int {
	var out []int
	for _, i := range ids {
		d := &m.dets[i]
		best := d.edge
		for _, v := range m.views {
			if v.frame == d.frame && v.imgIdx != d.imgIdx {
				best = math.Max(best, v.edge(d.X, d.Y))
			}
		}
		if d.edge < best-m.reach(*d) {
			d.tree = -1
			r.RepeatsMerged++
			r.BetterViews++
			continue
		}
		out = append(out, i)
	}
	return out
}

// reach is how near another detection must be to d to be the same tree:
// MinMergeM, or d's crown radius when larger.
func (m *Merger) reach(d detection) float64 { return math.Max(m.o.MinMergeM, d.CrownM/2) }

// clusters joins registered detections of one frame into trees:
// registration puts the crown two photos see at one place, so the two
// detections of a crown are each other's nearest in the other photo
// (mutual nearest, within reach). Such pairs are joined nearest first,
// never two detections of one photo into one tree. cell is the grid's
// cell, at least any reach.
func (m *Merger) clusters(ids []int, cell float64) [][]int {
	edges := m.mutualNearest(ids, cell, nil)
	sort.SliceStable(edges, func(i, j int) bool { return edges[i].dist < edges[j].dist })
	parent := map[int]int{}
	images := map[int]map[int]bool{}
	for _, i := range ids {
		parent[i] = i
		images[i] = map[int]bool{m.dets[i].imgIdx: true}
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for _, e := range edges {
		a, b := find(e.a), find(e.b)
		if a == b {
			continue
		}
		disjoint := true
		for im := range images[b] {
			if images[a][im] {
				disjoint = false
				break
			}
		}
		if !disjoint {
			continue
		}
		parent[b] = a
		for im := range images[b] {
			images[a][im] = true
		}
	}
	groups := map[int][]int{}
	var roots []int
	for _, i := range ids {
		r := find(i)
		if len(groups[r]) == 0 {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], i)
	}
	out := make([][]int, len(roots))
	for i, r := range roots {
		out[i] = groups[r]
	}
	return out
}

type edge struct {
	a, b int
	dist float64
}

// mutualNearest returns the pairs of detections (of ids, in different
// photos) that are each other's nearest in the other's photo and within
// reach of each other; with pair set, only those of photos pair says.
func (m *Merger) mutualNearest(ids []int, cell float64, pair func(a, b int) bool) []edge {
	grid := map[[2]int][]int{}
	for _, i := range ids {
		d := m.dets[i]
		key := [2]int{int(math.Floor(d.X / cell)), int(math.Floor(d.Y / cell))}
		grid[key] = append(grid[key], i)
	}
	type near struct {
		j    int
		dist float64
	}
	nearest := make(map[int]map[int]near, len(ids)) // detection, photo: its nearest there
	for _, i := range ids {
		d := m.dets[i]
		cx, cy := int(math.Floor(d.X/cell)), int(math.Floor(d.Y/cell))
		best := map[int]near{}
		for gx := cx - 1; gx <= cx+1; gx++ {
			for gy := cy - 1; gy <= cy+1; gy++ {
				for _, j := range grid[[2]int{gx, gy}] {
					e := m.dets[j]
					if e.imgIdx == d.imgIdx || (pair != nil && !pair(d.imgIdx, e.imgIdx)) {
						continue
					}
					dist := math.Hypot(d.X-e.X, d.Y-e.Y)
					if dist >= math.Max(m.reach(d), m.reach(e)) {
						continue
					}
					if b, ok := best[e.imgIdx]; !ok || dist < b.dist {
						best[e.imgIdx] = near{j, dist}
					}
				}
			}
		}
		nearest[i] = best
	}
	var out []edge
	for _, i := range ids {
		for _, n := range nearest[i] {
			if back, ok := nearest[n.j][m.dets[i].imgIdx]; ok && i < n.j && back.j == i {
				out = append(out, edge{i, n.j, n.dist})
			}
		}
	}
	sort.Slice(out, func(x, y int) bool { return out[x].a < out[y].a || out[x].a == out[y].a && out[x].b < out[y].b })
	return out
}

// Repeats counts, over the given pairs of registered photos (image ids),
// the crowns that registration maps onto a crown of the other photo: each
// other's nearest, closer than MinMergeM (1.5 m: registration's own error
// is a fraction of it; big crowns whose boxes are further apart may be
// merged, but are not counted here). merged are those of them that ended
// in one tree. Call it after Result.
func (m *Merger) Repeats(pairs [][2]string) (found, merged int) {
	want := map[[2]int]bool{}
	for _, p := range pairs {
		a, oka := m.idx[p[0]]
		b, okb := m.idx[p[1]]
		if oka && okb {
			want[[2]int{a, b}], want[[2]int{b, a}] = true, true
		}
	}
	frames := map[int][]int{}
	cell := m.o.MinMergeM
	for i, d := range m.dets {
		if d.Registered {
			frames[d.frame] = append(frames[d.frame], i)
			cell = math.Max(cell, d.CrownM/2)
		}
	}
	for _, ids := range frames {
		for _, e := range m.mutualNearest(ids, cell, func(a, b int) bool { return want[[2]int{a, b}] }) {
			if e.dist >= m.o.MinMergeM {
				continue
			}
			found++
			if a, b := m.dets[e.a].tree, m.dets[e.b].tree; a == b || a < 0 || b < 0 {
				merged++ // one tree, or one of them counted from a better view
			}
		}
	}
	return found, merged
}
