//go:build opencv

package classical

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"

	"gocv.io/x/gocv"

	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/internal/rgba"
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

// ModelGSD is the ground sample distance the counter works at: images are
// resized to count.ModelGSD.
func (c *Counter) ModelGSD() float64 { return count.ModelGSD }

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
	img = rgba.Of(img)
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
	rawDist := dist.Clone()
	defer rawDist.Close()
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
	maxR := px(o.MaxCrownM) / 2
	dd, err := rawDist.DataPtrFloat32()
	if err != nil {
		return nil, err
	}
	taken := make([]bool, w*h)
	minScore := float32(minR * 0.5 * 40) // a crown of the least radius at dim brightness
	boxes := []count.Box{}
	for i, v := range sc {
		if maskB[i] == 0 || v < dl[i] || v <= minScore || taken[i] {
			continue
		}
		x, y := i%w, i/w
		// plateaus give one peak: block a small disc around it
		rr := int(minR / 2)
		for dy := -rr; dy <= rr; dy++ {
			for dx := -rr; dx <= rr; dx++ {
				if xx, yy := x+dx, y+dy; xx >= 0 && xx < w && yy >= 0 && yy < h {
					taken[yy*w+xx] = true
				}
			}
		}
		// the crown's radius: the distance from its top to the mask's edge, scaled up a little since
		// the top is rarely the centre, bounded by the crown sizes
		r := math.Max(minR, math.Min(maxR, o.RadiusScale*float64(dd[i])))
		b := count.Box{XMin: float64(x) - r, YMin: float64(y) - r, XMax: float64(x) + r, YMax: float64(y) + r}
		b = b.Clip(float64(w), float64(h))
		b.Score = math.Min(1, float64(v)/float64(maxF(sc)+1e-6))
		boxes = append(boxes, b)
	}
	return count.NMS(boxes, 0.3), nil
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
