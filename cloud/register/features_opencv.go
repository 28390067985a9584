//go:build opencv

package register

import (
	"fmt"
	"image"
	"math"
	"sort"

	"gocv.io/x/gocv"

	"github.com/canopy-forest/canopy/internal/cvimg"
)

// Available reports whether this build registers photos (nil), or why not.
func Available() error { return nil }

// Extract finds the SIFT keypoints of view (a photo already shrunk to
// matching size; scale is the original's pixels per view pixel) and keeps
// the o.MaxFeatures strongest. SIFT looks at a copy shrunk to
// o.DetectSide (it doubles its input first, so the view's own pixels are
// still its finest scale) and its keypoints are put back on the view.
func Extract(view *image.RGBA, scale float64, o Options) (*Features, error) {
	o = o.WithDefaults()
	det, k := Shrink(view, o.DetectSide)
	bgr, err := cvimg.FromRGBA(det)
	if err != nil {
		return nil, fmt.Errorf("extract features: %w", err)
	}
	defer bgr.Close()
	gray := gocv.NewMat()
	defer gray.Close()
	gocv.CvtColor(bgr, &gray, gocv.ColorBGRToGray)
	sift := gocv.NewSIFT()
	defer sift.Close()
	mask := gocv.NewMat()
	defer mask.Close()
	kps, desc := sift.DetectAndCompute(gray, mask)
	defer desc.Close()
	f := &Features{Width: view.Rect.Dx(), Height: view.Rect.Dy(), Scale: scale}
	if len(kps) == 0 || desc.Empty() {
		return f, nil
	}
	if desc.Rows() != len(kps) || desc.Type() != gocv.MatTypeCV32F {
		return nil, fmt.Errorf("extract features: %d keypoints, descriptors %dx%d of type %v", len(kps), desc.Rows(), desc.Cols(), desc.Type())
	}
	vals, err := desc.DataPtrFloat32()
	if err != nil {
		return nil, fmt.Errorf("extract features: %w", err)
	}
	idx := make([]int, len(kps))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return kps[idx[i]].Response > kps[idx[j]].Response })
	if len(idx) > o.MaxFeatures {
		idx = idx[:o.MaxFeatures]
	}
	n := desc.Cols()
	f.DescSize = n
	f.Points = make([][2]float32, len(idx))
	f.Desc = make([]byte, len(idx)*n)
	for j, i := range idx {
		f.Points[j] = [2]float32{float32(kps[i].X * k), float32(kps[i].Y * k)}
		for c, v := range vals[i*n : (i+1)*n] {
			f.Desc[j*n+c] = byte(min(255, max(0, math.Round(float64(v)))))
		}
	}
	return f, nil
}

// descMat is f's descriptors as a CV_32F matrix for the matcher.
func descMat(f *Features) (gocv.Mat, error) {
	u8, err := gocv.NewMatFromBytes(f.Len(), f.DescSize, gocv.MatTypeCV8U, f.Desc)
	if err != nil {
		return gocv.Mat{}, err
	}
	defer u8.Close()
	m := gocv.NewMat()
	u8.ConvertTo(&m, gocv.MatTypeCV32F)
	return m, nil
}

// Match matches photo b to photo a and fits an affine map from b's view
// to a's, checked for a plausible pair of nadir photos; a rejected pair says
// why. Without a guide, it matches the nearest descriptors over the whole
// photos (Lowe's ratio test) and fits a similarity with RANSAC as the
// guide; then, guided (each keypoint of b looks for its match only near
// where the guide puts it, which finds many more matches in the repeated
// texture of a canopy), it fits the affine map with RANSAC.
func Match(a, b *Features, guide *Guide, o Options) Pair {
	o = o.WithDefaults()
	var p Pair
	if a.Len() < o.MinInliers || b.Len() < o.MinInliers {
		p.Reason = fmt.Sprintf("too few keypoints (%d and %d, want %d)", a.Len(), b.Len(), o.MinInliers)
		return p
	}
	if a.DescSize != b.DescSize {
		p.Reason = fmt.Sprintf("descriptors of %d and %d values", a.DescSize, b.DescSize)
		return p
	}
	if guide == nil {
		src, dst, err := knnMatches(a.strongest(o.SeedFeatures), b.strongest(o.SeedFeatures), o.Ratio)
		if err != nil {
			p.Reason = err.Error()
			return p
		}
		g, n, err := seed(src, dst, b.Width, b.Height, o)
		if err != nil {
			p.Matches, p.Inliers = len(src), n
			p.Reason = err.Error()
			return p
		}
		guide = &g
	}
	src, dst := guidedMatches(a, b, *guide, o.GuidedRatio)
	p.Matches = len(src)
	if len(src) < o.MinInliers {
		p.Reason = fmt.Sprintf("too few matches (%d, want %d)", len(src), o.MinInliers)
		return p
	}
	h, in, err := affine(src, dst, o.ReprojPx)
	if err != nil {
		p.Reason = err.Error()
		return p
	}
	p.H = h
	var corr []Corr
	for _, i := range in {
		corr = append(corr, Corr{dst[i][0], dst[i][1], src[i][0], src[i][1]})
	}
	return finish(p, corr, b.Width, b.Height, o)
}

// seed fits a similarity to the ratio-test matches (b's points to a's)
// with RANSAC, as the guide of the guided matching; n is its inliers.
func seed(src, dst [][2]float32, bw, bh int, o Options) (Guide, int, error) {
	if len(src) < o.MinSeed {
		return Guide{}, 0, fmt.Errorf("too few matches (%d, want %d)", len(src), o.MinSeed)
	}
	sv := gocv.NewPoint2fVectorFromPoints(points2f(src))
	defer sv.Close()
	dv := gocv.NewPoint2fVectorFromPoints(points2f(dst))
	defer dv.Close()
	m := gocv.EstimateAffinePartial2D(sv, dv)
	defer m.Close()
	if m.Empty() || m.Rows() != 2 || m.Cols() != 3 {
		return Guide{}, 0, fmt.Errorf("no similarity fits %d matches", len(src))
	}
	h := Mat3{m.GetDoubleAt(0, 0), m.GetDoubleAt(0, 1), m.GetDoubleAt(0, 2), m.GetDoubleAt(1, 0), m.GetDoubleAt(1, 1), m.GetDoubleAt(1, 2), 0, 0, 1}
	n := 0
	for i, q := range src {
		x, y := h.Apply(float64(q[0]), float64(q[1]))
		if math.Hypot(x-float64(dst[i][0]), y-float64(dst[i][1])) <= 3*o.ReprojPx {
			n++
		}
	}
	if n < o.MinSeed {
		return Guide{}, n, fmt.Errorf("too few inliers (%d of %d matches, want %d)", n, len(src), o.MinSeed)
	}
	if r := checkFit(h, bw, bh, o); r != "" {
		return Guide{}, n, fmt.Errorf("%s", r)
	}
	return Guide{H: h, Radius: o.GuideRadiusPx}, n, nil
}

// affine fits an affine map to b's points (src) and a's (dst) with RANSAC
// and returns it with the indices of its inliers. Nadir photos from one
// height are affine to each other up to relief, which no plane-to-plane
// map removes; an affine map does not bend its far corners to fit it.
func affine(src, dst [][2]float32, thresh float64) (Mat3, []int, error) {
	sv := gocv.NewPoint2fVectorFromPoints(points2f(src))
	defer sv.Close()
	dv := gocv.NewPoint2fVectorFromPoints(points2f(dst))
	defer dv.Close()
	inl := gocv.NewMat()
	defer inl.Close()
	m := gocv.EstimateAffine2DWithParams(sv, dv, inl, 8 /* cv::RANSAC */, thresh, 2000, 0.995, 10)
	defer m.Close()
	if m.Empty() || m.Rows() != 2 || m.Cols() != 3 {
		return Mat3{}, nil, fmt.Errorf("no affine map fits %d matches", len(src))
	}
	h := Mat3{m.GetDoubleAt(0, 0), m.GetDoubleAt(0, 1), m.GetDoubleAt(0, 2), m.GetDoubleAt(1, 0), m.GetDoubleAt(1, 1), m.GetDoubleAt(1, 2), 0, 0, 1}
	var in []int
	for i := 0; i < inl.Rows(); i++ {
		if inl.GetUCharAt(i, 0) != 0 {
			in = append(in, i)
		}
	}
	return h, in, nil
}

func points2f(ps [][2]float32) []gocv.Point2f {
	out := make([]gocv.Point2f, len(ps))
	for i, q := range ps {
		out[i] = gocv.Point2f{X: q[0], Y: q[1]}
	}
	return out
}

// knnMatches pairs each keypoint of b with its nearest of a in descriptor
// space (OpenCV's brute-force matcher), kept by the ratio test.
func knnMatches(a, b *Features, ratio float64) (src, dst [][2]float32, err error) {
	da, err := descMat(a)
	if err != nil {
		return nil, nil, err
	}
	defer da.Close()
	db, err := descMat(b)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	bf := gocv.NewBFMatcherWithParams(gocv.NormL2, false)
	defer bf.Close()
	for _, m := range bf.KnnMatch(db, da, 2) {
		if len(m) < 2 || m[0].Distance >= ratio*m[1].Distance {
			continue
		}
		src, dst = append(src, b.Points[m[0].QueryIdx]), append(dst, a.Points[m[0].TrainIdx])
	}
	return src, dst, nil
}
