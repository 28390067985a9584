package onnx

// resizer holds the sampling tables of a bilinear resize from a frame of
// fw x fh to the model input iw x ih, and of the nearest-neighbour map from
// the model output ow x oh back to the frame. Tables are kept while the
// sizes stay the same.
type resizer struct {
	fw, fh, iw, ih int
	x0, x1, fx     []int32 // per input column: byte offsets of the two source pixels, weight of x1 (0..256)
	y0, y1, fy     []int32 // per input row: the two source rows, weight of y1 (0..256)
	cols           []col   // x0, x1 and fx together, for the inner loop

	bw, bh, ow, oh int
	bx, by         []int // per frame column / row: output column / row
	// from[i] is the first frame column that takes output column i or a
	// later one: output columns [i, j) cover frame columns [from[i],
	// from[j]) (from[ow] = the frame's width).
	from []int
	ones []byte // a frame row of 255s
}

func (r *resizer) prepare(fw, fh, iw, ih int) {
	if r.fw == fw && r.fh == fh && r.iw == iw && r.ih == ih && r.x0 != nil {
		return
	}
	r.fw, r.fh, r.iw, r.ih = fw, fh, iw, ih
	r.x0, r.x1, r.fx = axis(fw, iw, 4)
	r.y0, r.y1, r.fy = axis(fh, ih, 1)
	r.cols = make([]col, iw)
	for i := range r.cols {
		r.cols[i] = col{a: r.x0[i], b: r.x1[i], f: r.fx[i]}
	}
}

// col is one input column's two source pixels (byte offsets in a row) and
// the weight of the second (0..256).
type col struct {
	a, b, f int32
}

// axis returns, for each of dst positions, the two source positions (times
// scale) and the weight of the second, with pixel centres aligned.
func axis(src, dst int, scale int32) (p0, p1, f []int32) {
	p0, p1, f = make([]int32, dst), make([]int32, dst), make([]int32, dst)
	ratio := float64(src) / float64(dst)
	for i := 0; i < dst; i++ {
		s := (float64(i)+0.5)*ratio - 0.5
		if s < 0 {
			s = 0
		}
		a := int(s)
		if a > src-1 {
			a = src - 1
		}
		b := min(a+1, src-1)
		w := int32((s-float64(a))*256 + 0.5)
		if b == a {
			w = 0
		}
		p0[i], p1[i], f[i] = int32(a)*scale, int32(b)*scale, w
	}
	return p0, p1, f
}

func (r *resizer) prepareBack(fw, fh, ow, oh int) {
	if r.bw == fw && r.bh == fh && r.ow == ow && r.oh == oh && r.bx != nil {
		return
	}
	r.bw, r.bh, r.ow, r.oh = fw, fh, ow, oh
	r.bx, r.by = nearest(fw, ow), nearest(fh, oh)
	r.from = make([]int, ow+1)
	x := 0
	for i := range r.from {
		for x < fw && r.bx[x] < i {
			x++
		}
		r.from[i] = x
	}
	r.ones = make([]byte, fw)
	for i := range r.ones {
		r.ones[i] = 255
	}
}

// nearest maps each of dst positions to the source position whose cell holds
// its centre.
func nearest(dst, src int) []int {
	m := make([]int, dst)
	for i := range m {
		m[i] = min((2*i+1)*src/(2*dst), src-1)
	}
	return m
}
