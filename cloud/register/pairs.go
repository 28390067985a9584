package register

import (
	"math"
	"sort"
)

// Photo is what pair selection and the adjustment know of one photo of a
// scan, in capture order.
type Photo struct {
	ID string
	// Width and Height are the photo's view (Features.Width, Height).
	Width, Height int
	// Ground, when the photo has a GPS position, a GSD and a heading, maps
	// its view pixels onto the scan's plane (metres east and north of the
	// scan's origin): the camera model of a nadir photo over flat ground.
	// Nil without GPS.
	Ground *Mat3
	// Centre is the camera's GPS position on the plane (valid with
	// HasCentre), the anchor of the scan's map.
	Centre    [2]float64
	HasCentre bool
}

// PairOptions tune pair selection. Zero fields take the defaults.
type PairOptions struct {
	// Window pairs each photo with this many next ones in capture order
	// (default 2) when footprints do not decide.
	Window int
	// SmallScan: a scan of at most this many photos matches all its pairs
	// that its footprints do not rule out (default 12).
	SmallScan int
	// MinOverlap is the least share of the smaller footprint two photos
	// must have in common to be paired (default 0.1).
	MinOverlap float64
	// MaxPredicted: of the pairs a registration predicts, each photo
	// keeps the ones it overlaps most, this many (default 6): a photo
	// of a dense grid overlaps a dozen others, and half of them tie it
	// into the map as well as all.
	MaxPredicted int
}

func (o PairOptions) withDefaults() PairOptions {
	if o.Window <= 0 {
		o.Window = 2
	}
	if o.SmallScan <= 0 {
		o.SmallScan = 12
	}
	if o.MinOverlap <= 0 {
		o.MinOverlap = 0.1
	}
	if o.MaxPredicted <= 0 {
		o.MaxPredicted = 6
	}
	return o
}

// Why a pair is a candidate.
const (
	WhyFootprints = "footprints overlap"
	WhyOrder      = "capture order"
	WhySmallScan  = "small scan"
	WhyPredicted  = "predicted by registration"
)

// Candidate is a pair of photos to match (indices into the photos, A < B)
// and, when the registration so far predicts it, where B lies in A.
type Candidate struct {
	A, B  int
	Why   string
	Guide *Guide
}

// SelectPairs picks the pairs of a scan's photos to match. Two photos
// with GPS footprints are paired when their footprints overlap by
// MinOverlap; a photo without one is paired with its Window next in
// capture order, and every pair of a scan of at most SmallScan photos
// that footprints do not rule out is a candidate. done reports pairs
// already matched (they are left out).
func SelectPairs(photos []Photo, o PairOptions, done func(a, b int) bool) []Candidate {
	o = o.withDefaults()
	var out []Candidate
	small := len(photos) <= o.SmallScan
	quads := make([][][2]float64, len(photos))
	for i, p := range photos {
		if p.Ground != nil {
			quads[i] = quad(*p.Ground, p.Width, p.Height)
		}
	}
	for a := range photos {
		for b := a + 1; b < len(photos); b++ {
			if done != nil && done(a, b) {
				continue
			}
			var c Candidate
			switch {
			case quads[a] != nil && quads[b] != nil:
				if overlapShare(quads[a], quads[b]) < o.MinOverlap {
					continue
				}
				c.Why = WhyFootprints // not guided: the heading a camera records can be wrong by half a turn
			case small:
				c.Why = WhySmallScan
			case b-a <= o.Window:
				c.Why = WhyOrder
			default:
				continue
			}
			c.A, c.B = a, b
			out = append(out, c)
		}
	}
	return out
}

// PairState is what is known of a pair before matching it.
type PairState int

// Pair states.
const (
	PairNew   PairState = iota // never matched
	PairRetry                  // matched without a guide and rejected: worth a guided try
	PairDone                   // registered, or rejected with a guide
)

// Predicted picks the pairs that a solution of the scan so far says
// overlap, each with the guide it gives (radiusPx: how far a match may
// lie from where it is predicted): every pair to retry, and of the new
// ones, for each photo, those it overlaps most, up to MaxPredicted pairs
// a photo (the pairs done count towards it).
func Predicted(photos []Photo, s Solution, o PairOptions, radiusPx float64, state func(a, b int) PairState) []Candidate {
	o = o.withDefaults()
	quads := make([][][2]float64, len(photos))
	for i, p := range photos {
		if s.Block[i] >= 0 {
			quads[i] = quad(s.T[i], p.Width, p.Height)
		}
	}
	type near struct {
		b     int
		share float64
	}
	nearest := make([][]near, len(photos))
	chosen := map[[2]int]bool{}
	for a := range photos {
		for b := a + 1; b < len(photos); b++ {
			if s.Block[a] < 0 || s.Block[a] != s.Block[b] {
				continue
			}
			share := overlapShare(quads[a], quads[b])
			if share < o.MinOverlap {
				continue
			}
			nearest[a] = append(nearest[a], near{b, share})
			nearest[b] = append(nearest[b], near{a, share})
			if state != nil && state(a, b) == PairRetry {
				chosen[[2]int{a, b}] = true
			}
		}
	}
	for a, ns := range nearest {
		sort.SliceStable(ns, func(i, j int) bool { return ns[i].share > ns[j].share })
		for _, n := range ns[:min(len(ns), o.MaxPredicted)] {
			chosen[[2]int{min(a, n.b), max(a, n.b)}] = true
		}
	}
	var out []Candidate
	for k := range chosen {
		a, b := k[0], k[1]
		if state != nil && state(a, b) == PairDone {
			continue
		}
		out = append(out, Candidate{A: a, B: b, Why: WhyPredicted, Guide: &Guide{H: s.T[a].Inv().Mul(s.T[b]), Radius: radiusPx}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].A < out[j].A || out[i].A == out[j].A && out[i].B < out[j].B })
	return out
}

// quad is the outline of a w x h view mapped by t.
func quad(t Mat3, w, h int) [][2]float64 {
	q := make([][2]float64, 4)
	for i, c := range [][2]float64{{0, 0}, {float64(w), 0}, {float64(w), float64(h)}, {0, float64(h)}} {
		q[i][0], q[i][1] = t.Apply(c[0], c[1])
	}
	return q
}

// overlapShare is the area two convex polygons have in common over the
// smaller one's area.
func overlapShare(a, b [][2]float64) float64 {
	aa, ab := math.Abs(area(a)), math.Abs(area(b))
	if aa == 0 || ab == 0 {
		return 0
	}
	return math.Abs(area(clip(a, b))) / math.Min(aa, ab)
}

// area is the signed area of a polygon (shoelace).
func area(p [][2]float64) float64 {
	var s float64
	for i, q := range p {
		n := p[(i+1)%len(p)]
		s += q[0]*n[1] - n[0]*q[1]
	}
	return s / 2
}

// clip is the part of polygon p inside convex polygon c
// (Sutherland-Hodgman), either orientation.
func clip(p, c [][2]float64) [][2]float64 {
	sign := 1.0
	if area(c) < 0 {
		sign = -1
	}
	out := p
	for i := range c {
		if len(out) == 0 {
			break
		}
		e0, e1 := c[i], c[(i+1)%len(c)]
		inside := func(q [2]float64) bool {
			return sign*((e1[0]-e0[0])*(q[1]-e0[1])-(e1[1]-e0[1])*(q[0]-e0[0])) >= 0
		}
		in := out
		out = nil
		for j, cur := range in {
			prev := in[(j+len(in)-1)%len(in)]
			ci, pi := inside(cur), inside(prev)
			if ci != pi {
				out = append(out, cross(prev, cur, e0, e1))
			}
			if ci {
				out = append(out, cur)
			}
		}
	}
	return out
}

// cross is where segment p-q meets the line through e0, e1.
func cross(p, q, e0, e1 [2]float64) [2]float64 {
	dx, dy := q[0]-p[0], q[1]-p[1]
	ex, ey := e1[0]-e0[0], e1[1]-e0[1]
	den := dx*ey - dy*ex
	if den == 0 {
		return q
	}
	t := ((e0[0]-p[0])*ey - (e0[1]-p[1])*ex) / den
	return [2]float64{p[0] + t*dx, p[1] + t*dy}
}
