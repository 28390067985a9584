package register

import (
	"fmt"
	"math"
)

// Corr is one inlier correspondence of a pair: a point of photo A and
// the same point of photo B, both in view pixels: {ax, ay, bx, by}.
type Corr [4]float32

// Pair is the outcome of matching two photos of a scan.
type Pair struct {
	A, B string // the photos' ids, A before B
	// OK is whether the pair registered; Reason says why not.
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
	// Matches passed the ratio test; Inliers fit the homography.
	Matches int `json:"matches"`
	Inliers int `json:"inliers"`
	// H maps B's view pixels to A's (row-major 3x3).
	H Mat3 `json:"h"`
	// RMS is the inliers' reprojection error, view pixels.
	RMS float64 `json:"rms_px"`
	// Corr is a sample of the inliers, spread over the overlap.
	Corr []Corr `json:"corr,omitempty"`
}

// finish judges a pair from its homography and RANSAC inliers (A's point,
// B's point; B is bw x bh view pixels): enough inliers, a plausible
// transform, inliers spread over more than a sliver of B. It keeps a
// sample of the inliers spread over the overlap.
func finish(p Pair, inliers []Corr, bw, bh int, o Options) Pair {
	p.Inliers = len(inliers)
	switch {
	case len(inliers) < o.MinInliers:
		p.Reason = fmt.Sprintf("too few inliers (%d of %d matches, want %d)", len(inliers), p.Matches, o.MinInliers)
		return p
	case float64(len(inliers)) < o.MinInlierShare*float64(p.Matches):
		p.Reason = fmt.Sprintf("too few inliers (%d of %d matches, want %.0f%%)", len(inliers), p.Matches, 100*o.MinInlierShare)
		return p
	}
	if r := checkFit(p.H, bw, bh, o); r != "" {
		p.Reason = r
		return p
	}
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	var ss float64
	for _, c := range inliers {
		x0, y0 = math.Min(x0, float64(c[2])), math.Min(y0, float64(c[3]))
		x1, y1 = math.Max(x1, float64(c[2])), math.Max(y1, float64(c[3]))
		x, y := p.H.Apply(float64(c[2]), float64(c[3]))
		ss += (x-float64(c[0]))*(x-float64(c[0])) + (y-float64(c[1]))*(y-float64(c[1]))
	}
	if (x1-x0)*(y1-y0) < 0.01*float64(bw*bh) {
		p.Reason = fmt.Sprintf("inliers cover too small an area (%.1f%% of the photo)", 100*(x1-x0)*(y1-y0)/float64(bw*bh))
		return p
	}
	p.RMS = math.Sqrt(ss / float64(len(inliers)))
	p.OK = true
	p.Corr = spread(inliers, o.MaxCorr, x0, y0, x1, y1)
	return p
}

// spread keeps at most n of cs, one per cell of a grid over [x0, x1] x
// [y0, y1] (B's points) first, so that the sample covers the overlap.
func spread(cs []Corr, n int, x0, y0, x1, y1 float64) []Corr {
	if len(cs) <= n {
		return cs
	}
	g := int(math.Ceil(math.Sqrt(float64(n))))
	taken := make(map[int]bool)
	var out, rest []Corr
	for _, c := range cs {
		i := min(g-1, int(float64(g)*(float64(c[2])-x0)/(x1-x0+1e-9)))
		j := min(g-1, int(float64(g)*(float64(c[3])-y0)/(y1-y0+1e-9)))
		if k := j*g + i; !taken[k] && len(out) < n {
			taken[k] = true
			out = append(out, c)
		} else {
			rest = append(rest, c)
		}
	}
	for i := 0; len(out) < n && i < len(rest); i++ {
		out = append(out, rest[i])
	}
	return out
}
