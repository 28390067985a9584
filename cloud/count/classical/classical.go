//go:build opencv

package classical

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"unsafe"

	"gocv.io/x/gocv"

	"github.com/canopy-forest/canopy/cloud/count"
)

// ErrNoOpenCV is returned by New in a build without the opencv tag.
var ErrNoOpenCV = errors.New("built without OpenCV support (build tag opencv)")

// Counter is the classical crown detector. Create it with New.
type Counter struct {
	o Options
}

// New returns a classical counter.
func New(o Options) (*Counter, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("classical counter options: %w", err)
	}
	return &Counter{o: o.withDefaults()}, nil
}

// Info names the method ("classical"; no model).
func (c *Counter) Info() count.Info { return count.Info{Method: "classical"} }

// Close does nothing: the counter holds no resources.
func (c *Counter) Close() error { return nil }

// Count finds the crowns in img at the configured GSD.
func (c *Counter) Count(ctx context.Context, img *image.RGBA) (count.Result, error) {
	return c.CountAt(ctx, img, c.o.GSD)
}

// CountAt finds the crowns in img, at gsd metres per pixel.
func (c *Counter) CountAt(ctx context.Context, img *image.RGBA, gsd float64) (count.Result, error) {
	if err := ctx.Err(); err != nil {
		return count.Result{}, err
	}
	if gsd <= 0 {
		gsd = c.o.GSD
	}
	img = count.ToRGBA(img)
	// work at 0.1 m, the scale the defaults were tuned at
	work, back := count.Rescale(img, gsd, count.ModelGSD)
	boxes, err := c.detect(work, count.ModelGSD)
	if err != nil {
		return count.Result{}, fmt.Errorf("classical counter: %w", err)
	}
	ow, oh := float64(img.Rect.Dx()), float64(img.Rect.Dy())
	for i := range boxes {
		boxes[i] = boxes[i].Scale(back).Clip(ow, oh)
	}
	return count.Result{Count: len(boxes), Boxes: boxes, Info: c.Info()}, nil
}

func (c *Counter) detect(img *image.RGBA, gsd float64) ([]count.Box, error) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w < 3 || h < 3 {
		return []count.Box{}, nil
	}
	o := c.o
	px := func(m float64) float64 { return m / gsd }
	// vegetation mask and brightness, in Go on the pixel bytes
	maskB := make([]byte, w*h)
	bright := make([]byte, w*h)
	for y := range h {
		row := img.Pix[y*img.Stride:]
		for x := range w {
			r, g, b := float64(row[4*x]), float64(row[4*x+1]), float64(row[4*x+2])
			s := r + g + b
			l := s / 3
			bright[y*w+x] = byte(l)
			if s > 0 && (2*g-r-b)/s >= o.MinExG && l >= o.MinBright {
				maskB[y*w+x] = 255
			}
		}
	}
	mask, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC1, maskB)
	if err != nil {
		return nil, err
	}
	defer mask.Close()
	// clean the mask: open away twigs and grass speckle, close small gaps
	k := odd(px(o.MinCrownM) / 3)
	kern := gocv.GetStructuringElement(gocv.MorphEllipse, image.Pt(k, k))
	defer kern.Close()
	gocv.MorphologyEx(mask, &mask, gocv.MorphOpen, kern)
	gocv.MorphologyEx(mask, &mask, gocv.MorphClose, kern)

	// crown-ness: distance to the mask's edge (capped at a large crown's radius) times smoothed brightness
	dist := gocv.NewMat()
	defer dist.Close()
	labels := gocv.NewMat()
	defer labels.Close()
	gocv.DistanceTransform(mask, &dist, &labels, gocv.DistL2, gocv.DistanceMask5, gocv.DistanceLabelCComp)
	br, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC1, bright)
	if err != nil {
		return nil, err
	}
	defer br.Close()
	brf := gocv.NewMat()
	defer brf.Close()
	br.ConvertTo(&brf, gocv.MatTypeCV32F)
	sigma := px(o.MinCrownM) / 3
	gocv.GaussianBlur(brf, &brf, image.Pt(0, 0), sigma, sigma, gocv.BorderReflect)
	score := gocv.NewMat()
	defer score.Close()
	capR := px(o.MaxCrownM) / 4
	gocv.Threshold(dist, &dist, float32(capR), 0, gocv.ThresholdTrunc)
	gocv.Multiply(dist, brf, &score)
	gocv.GaussianBlur(score, &score, image.Pt(0, 0), sigma, sigma, gocv.BorderReflect)

	// local maxima at least PeakDistM apart, inside the mask
	pk := odd(px(o.PeakDistM))
	pkern := gocv.GetStructuringElement(gocv.MorphEllipse, image.Pt(pk, pk))
	defer pkern.Close()
	dil := gocv.NewMat()
	defer dil.Close()
	gocv.Dilate(score, &dil, pkern)
	sc, err := score.DataPtrFloat32()
	if err != nil {
		return nil, err
	}
	dl, err := dil.DataPtrFloat32()
	if err != nil {
		return nil, err
	}
	minR := px(o.MinCrownM) / 2
	markers := gocv.NewMatWithSize(h, w, gocv.MatTypeCV32S)
	defer markers.Close()
	mk, err := int32s(&markers)
	if err != nil {
		return nil, err
	}
	mkMask := make([]bool, w*h)
	type peak struct{ x, y int }
	var peaks []peak
	minScore := float32(minR * 0.5 * 40) // a crown of the least radius at dim brightness
	for i, v := range sc {
		if maskB[i] != 0 && v >= dl[i] && v > minScore && !mkMask[i] {
			x, y := i%w, i/w
			peaks = append(peaks, peak{x, y})
			// mark a small disc so that plateaus give one peak
			rr := int(minR / 2)
			for dy := -rr; dy <= rr; dy++ {
				for dx := -rr; dx <= rr; dx++ {
					xx, yy := x+dx, y+dy
					if xx >= 0 && xx < w && yy >= 0 && yy < h && dx*dx+dy*dy <= rr*rr {
						mkMask[yy*w+xx] = true
						mk[yy*w+xx] = int32(len(peaks) + 1)
					}
				}
			}
		}
	}
	if len(peaks) == 0 {
		return []count.Box{}, nil
	}
	// background marker: away from vegetation
	er := gocv.NewMat()
	defer er.Close()
	inv := gocv.NewMat()
	defer inv.Close()
	gocv.BitwiseNot(mask, &inv)
	gocv.Erode(inv, &er, kern)
	eb, err := er.DataPtrUint8()
	if err != nil {
		return nil, err
	}
	for i, v := range eb {
		if v != 0 && mk[i] == 0 {
			mk[i] = 1
		}
	}
	bgr := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	defer bgr.Close()
	sc8 := gocv.NewMat()
	defer sc8.Close()
	score.ConvertToWithParams(&sc8, gocv.MatTypeCV8UC1, 255/float32(maxF(sc)+1e-6), 0)
	gocv.CvtColor(sc8, &bgr, gocv.ColorGrayToBGR)
	gocv.Watershed(bgr, &markers)
	mk, err = int32s(&markers)
	if err != nil {
		return nil, err
	}
	// one box per peak region
	n := len(peaks) + 2
	x0, y0 := make([]int, n), make([]int, n)
	x1, y1 := make([]int, n), make([]int, n)
	area, veg := make([]int, n), make([]int, n)
	for i := range x0 {
		x0[i], y0[i] = math.MaxInt, math.MaxInt
		x1[i], y1[i] = -1, -1
	}
	for i, l := range mk {
		if l < 2 || int(l) >= n {
			continue
		}
		x, y := i%w, i/w
		x0[l], y0[l] = min(x0[l], x), min(y0[l], y)
		x1[l], y1[l] = max(x1[l], x), max(y1[l], y)
		area[l]++
		if maskB[i] != 0 {
			veg[l]++
		}
	}
	maxD := px(o.MaxCrownM)
	minD := px(o.MinCrownM)
	boxes := []count.Box{}
	for l := 2; l < n; l++ {
		if x1[l] < 0 {
			continue
		}
		p := peaks[l-2]
		bw, bh := float64(x1[l]-x0[l]+1), float64(y1[l]-y0[l]+1)
		if bw < minD || bh < minD || float64(veg[l]) < o.MinCrownFr*bw*bh {
			continue
		}
		b := count.Box{XMin: float64(x0[l]), YMin: float64(y0[l]), XMax: float64(x1[l] + 1), YMax: float64(y1[l] + 1)}
		// bound the crown around its top
		if bw > maxD {
			b.XMin, b.XMax = math.Max(b.XMin, float64(p.x)-maxD/2), math.Min(b.XMax, float64(p.x)+maxD/2)
		}
		if bh > maxD {
			b.YMin, b.YMax = math.Max(b.YMin, float64(p.y)-maxD/2), math.Min(b.YMax, float64(p.y)+maxD/2)
		}
		b.Score = math.Min(1, float64(veg[l])/(bw*bh))
		boxes = append(boxes, b)
	}
	return count.NMS(boxes, 0.5), nil
}

func odd(v float64) int {
	k := max(3, int(math.Round(v)))
	if k%2 == 0 {
		k++
	}
	return k
}

func maxF(v []float32) float32 {
	m := float32(0)
	for _, x := range v {
		if x > m {
			m = x
		}
	}
	return m
}

// int32s views a CV_32S matrix's data as int32s.
func int32s(m *gocv.Mat) ([]int32, error) {
	b, err := m.DataPtrUint8()
	if err != nil {
		return nil, err
	}
	if len(b) < 4 {
		return nil, nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&b[0])), len(b)/4), nil
}
