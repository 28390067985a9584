package register

import (
	"math"
	"sort"
)

// Edge is a registered pair in the adjustment: photos A and B (indices),
// H from B's view to A's, and its inlier correspondences.
type Edge struct {
	A, B    int
	H       Mat3
	Inliers int
	Corr    []Corr
}

// Solution places the photos of a scan in frames: one per block, a set
// of photos joined by registered pairs.
type Solution struct {
	// Block is each photo's block, -1 for a photo registered to none.
	Block []int
	// T maps each photo's view pixels to its block's frame: the view
	// pixels of the block's reference photo.
	T []Mat3
	// Blocks: the reference photo, the photos and the RMS distance (frame
	// pixels) between the two ends of every correspondence of its pairs.
	Blocks []BlockSolution
	// Dropped are the edges left out as inconsistent with the others,
	// with their RMS (frame pixels) under the rest's solution.
	Dropped []DroppedEdge
}

// BlockSolution is one block of a Solution.
type BlockSolution struct {
	Ref, Photos, Pairs int
	RMS                float64
}

// DroppedEdge is an edge the adjustment left out.
type DroppedEdge struct {
	Edge int
	RMS  float64
}

// Solve chains the registered pairs of n photos into blocks and adjusts
// them: a maximum spanning tree by inliers from each block's best
// connected photo gives a first placement, then one similarity (scale,
// rotation, shift: photos from one height) per photo is fitted to every
// correspondence of every pair at once (least squares, the reference
// fixed), so that loops of pairs agree. The fit is reweighted a few times
// (a pair far off the others counts less), then pairs that still
// disagree with the rest by far (a false match that passed the checks)
// are dropped and the blocks solved again.
func Solve(n int, edges []Edge) Solution {
	keep := make([]bool, len(edges))
	w := make([]float64, len(edges))
	for i := range keep {
		keep[i], w[i] = true, 1
	}
	var s Solution
	var rms []float64
	for it := 0; it < 6; it++ {
		s = solveOnce(n, edges, keep, w)
		rms = edgeRMSs(s, edges)
		sigma := math.Max(3, 2*median(rms))
		for i, r := range rms {
			w[i] = 1 / (1 + (r/sigma)*(r/sigma))
		}
	}
	limit := math.Max(10, 4*median(rms))
	var dropped []DroppedEdge
	for i, r := range rms {
		if r > limit {
			keep[i] = false
			dropped = append(dropped, DroppedEdge{Edge: i})
		}
	}
	for i := range w {
		w[i] = 1
	}
	if len(dropped) == 0 {
		return solveOnce(n, edges, keep, w)
	}
	s = solveOnce(n, edges, keep, w)
	for i := range dropped {
		e := edges[dropped[i].Edge]
		dropped[i].RMS = math.Inf(1)
		if s.Block[e.A] >= 0 && s.Block[e.A] == s.Block[e.B] {
			dropped[i].RMS = edgeRMS(s, e)
		}
	}
	s.Dropped = dropped
	return s
}

// edgeRMSs is edgeRMS of every edge whose photos share a block, else 0.
func edgeRMSs(s Solution, edges []Edge) []float64 {
	out := make([]float64, len(edges))
	for i, e := range edges {
		if s.Block[e.A] >= 0 && s.Block[e.A] == s.Block[e.B] {
			out[i] = edgeRMS(s, e)
		}
	}
	return out
}

// median of the positive values (0 for none).
func median(vs []float64) float64 {
	var pos []float64
	for _, v := range vs {
		if v > 0 {
			pos = append(pos, v)
		}
	}
	if len(pos) == 0 {
		return 0
	}
	sort.Float64s(pos)
	return pos[len(pos)/2]
}

// edgeRMS is the RMS distance between the ends of e's correspondences in
// its block's frame.
func edgeRMS(s Solution, e Edge) float64 {
	if len(e.Corr) == 0 {
		return 0
	}
	var ss float64
	for _, c := range e.Corr {
		ax, ay := s.T[e.A].Apply(float64(c[0]), float64(c[1]))
		bx, by := s.T[e.B].Apply(float64(c[2]), float64(c[3]))
		ss += (ax-bx)*(ax-bx) + (ay-by)*(ay-by)
	}
	return math.Sqrt(ss / float64(len(e.Corr)))
}

func solveOnce(n int, edges []Edge, keep []bool, w []float64) Solution {
	s := Solution{Block: make([]int, n), T: make([]Mat3, n)}
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
		s.Block[i] = -1
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	adj := make([][]int, n)
	weight := make([]int, n)
	for i, e := range edges {
		if !keep[i] {
			continue
		}
		parent[find(e.A)] = find(e.B)
		adj[e.A] = append(adj[e.A], i)
		adj[e.B] = append(adj[e.B], i)
		weight[e.A] += e.Inliers
		weight[e.B] += e.Inliers
	}
	members := map[int][]int{}
	var roots []int
	for i := 0; i < n; i++ {
		r := find(i)
		if len(members[r]) == 0 {
			roots = append(roots, r)
		}
		members[r] = append(members[r], i)
	}
	for _, r := range roots {
		m := members[r]
		if len(m) < 2 {
			continue
		}
		ref := m[0]
		for _, i := range m {
			if weight[i] > weight[ref] {
				ref = i
			}
		}
		b := len(s.Blocks)
		for _, i := range m {
			s.Block[i] = b
		}
		spanningTree(s.T, edges, keep, adj, ref)
		var es []int
		for i, e := range edges {
			if keep[i] && s.Block[e.A] == b {
				es = append(es, i)
			}
		}
		adjust(s.T, edges, es, w, m, ref)
		var ss float64
		var nc int
		for _, i := range es {
			r := edgeRMS(s, edges[i])
			ss += r * r * float64(len(edges[i].Corr))
			nc += len(edges[i].Corr)
		}
		bs := BlockSolution{Ref: ref, Photos: len(m), Pairs: len(es)}
		if nc > 0 {
			bs.RMS = math.Sqrt(ss / float64(nc))
		}
		s.Blocks = append(s.Blocks, bs)
	}
	return s
}

// spanningTree places the photos reachable from ref through the kept
// edges, taking the edge with the most inliers first (Prim).
func spanningTree(t []Mat3, edges []Edge, keep []bool, adj [][]int, ref int) {
	placed := map[int]bool{ref: true}
	t[ref] = Identity
	for {
		best := -1
		for u := range placed {
			for _, i := range adj[u] {
				e := edges[i]
				if !keep[i] || placed[e.A] && placed[e.B] {
					continue
				}
				if best < 0 || e.Inliers > edges[best].Inliers || e.Inliers == edges[best].Inliers && i < best {
					best = i
				}
			}
		}
		if best < 0 {
			return
		}
		e := edges[best]
		if placed[e.A] {
			t[e.B] = t[e.A].Mul(e.H)
			placed[e.B] = true
		} else {
			t[e.A] = t[e.B].Mul(e.H.Inv())
			placed[e.A] = true
		}
	}
}

// similarity is the unknowns of one photo's map: x' = a x - b y + c,
// y' = b x + a y + d.
type similarity [4]float64

func (v similarity) mat() Mat3 { return Mat3{v[0], -v[1], v[2], v[1], v[0], v[3], 0, 0, 1} }

// similarityOf is the similarity nearest an affine map.
func similarityOf(m Mat3) similarity {
	return similarity{(m[0] + m[4]) / 2, (m[3] - m[1]) / 2, m[2], m[5]}
}

type block4 [16]float64

// adjust fits one similarity per photo of a block (ref fixed) to the
// correspondences of edges es, each weighted by w, by least squares,
// starting from t: conjugate gradients with a block-Jacobi
// preconditioner, and a weak pull towards the start that keeps a photo
// with degenerate correspondences where it was.
func adjust(t []Mat3, edges []Edge, es []int, w []float64, members []int, ref int) {
	idx := map[int]int{}
	for _, m := range members {
		idx[m] = len(idx)
	}
	// For a correspondence (p of A, q of B) the residuals are
	// J_A x_A + J_B x_B with rows [px, -py, 1, 0], [py, px, 0, 1] for A
	// and minus the same with q for B.
	type sums struct{ aa, bb, ab block4 }
	ss := make([]sums, len(es))
	diag := make([]block4, len(members))
	for k, ei := range es {
		e, we := edges[ei], w[ei]
		for _, c := range e.Corr {
			px, py, qx, qy := float64(c[0]), float64(c[1]), float64(c[2]), float64(c[3])
			ra := [2][4]float64{{px, -py, 1, 0}, {py, px, 0, 1}}
			rb := [2][4]float64{{-qx, qy, -1, 0}, {-qy, -qx, 0, -1}}
			for r := 0; r < 2; r++ {
				for i := 0; i < 4; i++ {
					for j := 0; j < 4; j++ {
						ss[k].aa[4*i+j] += we * ra[r][i] * ra[r][j]
						ss[k].bb[4*i+j] += we * rb[r][i] * rb[r][j]
						ss[k].ab[4*i+j] += we * ra[r][i] * rb[r][j]
					}
				}
			}
		}
		for j := 0; j < 16; j++ {
			diag[idx[e.A]][j] += ss[k].aa[j]
			diag[idx[e.B]][j] += ss[k].bb[j]
		}
	}
	var maxd float64
	for _, d := range diag {
		maxd = math.Max(maxd, math.Max(d[0], d[10]))
	}
	lambda := 1e-9 * maxd
	x := make([]similarity, len(members))
	x0 := make([]similarity, len(members))
	for _, m := range members {
		x[idx[m]] = similarityOf(t[m])
		x0[idx[m]] = x[idx[m]]
		for j := 0; j < 16; j += 5 {
			diag[idx[m]][j] += lambda
		}
	}
	pre := make([]block4, len(members))
	for i, d := range diag {
		pre[i] = inv4(d)
	}
	fixed := idx[ref]
	mul := func(x []similarity) []similarity {
		y := make([]similarity, len(x))
		for k, i := range es {
			e := edges[i]
			a, b := idx[e.A], idx[e.B]
			for r := 0; r < 4; r++ {
				for c := 0; c < 4; c++ {
					y[a][r] += ss[k].aa[4*r+c]*x[a][c] + ss[k].ab[4*r+c]*x[b][c]
					y[b][r] += ss[k].bb[4*r+c]*x[b][c] + ss[k].ab[4*c+r]*x[a][c]
				}
			}
		}
		for i := range x {
			for r := 0; r < 4; r++ {
				y[i][r] += lambda * x[i][r]
			}
		}
		return y
	}
	// r = lambda*x0 - A x on the free unknowns.
	ax := mul(x)
	r := make([]similarity, len(x))
	for i := range r {
		if i == fixed {
			continue
		}
		for c := 0; c < 4; c++ {
			r[i][c] = lambda*x0[i][c] - ax[i][c]
		}
	}
	cg(x, r, fixed, pre, mul)
	for _, m := range members {
		if m != ref {
			t[m] = x[idx[m]].mat()
		}
	}
}

// cg solves A dx = r for the free unknowns (all but fixed) by
// preconditioned conjugate gradients and adds dx to x.
func cg(x, r []similarity, fixed int, pre []block4, mul func([]similarity) []similarity) {
	n := len(x)
	apply := func(v []similarity) []similarity {
		z := make([]similarity, n)
		for i := range v {
			if i != fixed {
				for a := 0; a < 4; a++ {
					for b := 0; b < 4; b++ {
						z[i][a] += pre[i][4*a+b] * v[i][b]
					}
				}
			}
		}
		return z
	}
	dot := func(a, b []similarity) float64 {
		var s float64
		for i := range a {
			for c := 0; c < 4; c++ {
				s += a[i][c] * b[i][c]
			}
		}
		return s
	}
	z := apply(r)
	p := make([]similarity, n)
	copy(p, z)
	rz := dot(r, z)
	r0 := math.Sqrt(dot(r, r))
	for it := 0; it < 20*n+100 && r0 > 0; it++ {
		ap := mul(p)
		ap[fixed] = similarity{}
		den := dot(p, ap)
		if den <= 0 {
			return
		}
		alpha := rz / den
		for i := range x {
			for c := 0; c < 4; c++ {
				x[i][c] += alpha * p[i][c]
				r[i][c] -= alpha * ap[i][c]
			}
		}
		if math.Sqrt(dot(r, r)) < 1e-12*r0 {
			return
		}
		z = apply(r)
		rz1 := dot(r, z)
		beta := rz1 / rz
		rz = rz1
		for i := range p {
			for c := 0; c < 4; c++ {
				p[i][c] = z[i][c] + beta*p[i][c]
			}
		}
	}
}

// inv4 inverts a 4x4 matrix by Gauss-Jordan elimination with partial
// pivoting (the identity for a singular one).
func inv4(m block4) block4 {
	var a [4][8]float64
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			a[i][j] = m[4*i+j]
		}
		a[i][4+i] = 1
	}
	for c := 0; c < 4; c++ {
		p := c
		for r := c + 1; r < 4; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if a[p][c] == 0 {
			return block4{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}
		}
		a[c], a[p] = a[p], a[c]
		f := a[c][c]
		for j := range a[c] {
			a[c][j] /= f
		}
		for r := 0; r < 4; r++ {
			if r != c && a[r][c] != 0 {
				g := a[r][c]
				for j := range a[r] {
					a[r][j] -= g * a[c][j]
				}
			}
		}
	}
	var out block4
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			out[4*i+j] = a[i][4+j]
		}
	}
	return out
}
