package classical

import (
	"context"
	"fmt"
	"image"

	"github.com/canopy-forest/canopy/segment"
)

// Name is the segmenter's name in segment.Info.
const Name = "classical"

// Defaults for Options, in excess-green units (2G − R − B, from −510 to 510).
const (
	DefaultFloor   = 20
	DefaultCeiling = 80
)

// Options tune the classical segmenter. The zero value means the defaults.
type Options struct {
	// Threshold, when not zero, is a fixed excess-green threshold: a pixel
	// is forest when 2G − R − B > Threshold. Zero means automatic (Otsu).
	Threshold int
	// Floor and Ceiling bound the automatic threshold (zero means
	// DefaultFloor and DefaultCeiling).
	Floor, Ceiling int
}

// Segmenter is the classical segmenter.
type Segmenter struct {
	floor, ceiling int // index bins
	fixed          int // index bin, or -1
	idx            []uint8
}

// New returns a classical segmenter.
func New(o Options) *Segmenter {
	if o.Floor == 0 {
		o.Floor = DefaultFloor
	}
	if o.Ceiling == 0 {
		o.Ceiling = DefaultCeiling
	}
	if o.Ceiling < o.Floor {
		o.Ceiling = o.Floor
	}
	s := &Segmenter{floor: bin(o.Floor), ceiling: bin(o.Ceiling), fixed: -1}
	if o.Threshold != 0 {
		s.fixed = bin(o.Threshold)
	}
	return s
}

// bin maps an excess-green value (−510..510) to its histogram bin (0..255).
func bin(exg int) int {
	b := (exg + 512) >> 2
	return min(max(b, 0), 255)
}

// WorkSize is the InputSize of the classical segmenter: it works on any
// size, pixel by pixel, but the forest share and the mask of a photo
// decoded at no less than 1280x720 are as good as at full size.
var WorkSize = image.Pt(1280, 720)

// InputSize is WorkSize.
func (s *Segmenter) InputSize() image.Point { return WorkSize }

// Info reports the segmenter's name; it has no model.
func (s *Segmenter) Info() segment.Info { return segment.Info{Name: Name} }

// Close does nothing: the segmenter holds no resources.
func (s *Segmenter) Close() error { return nil }

// Segment returns the forest mask of frame.
func (s *Segmenter) Segment(ctx context.Context, frame *image.RGBA) (segment.Result, error) {
	if err := ctx.Err(); err != nil {
		return segment.Result{}, fmt.Errorf("classical segment: %w", err)
	}
	if frame == nil {
		return segment.Result{}, fmt.Errorf("classical segment: nil frame")
	}
	b := frame.Bounds()
	w, h := b.Dx(), b.Dy()
	mask := image.NewGray(b)
	if w == 0 || h == 0 {
		return segment.Result{Mask: mask}, nil
	}
	n := w * h
	if cap(s.idx) < n {
		s.idx = make([]uint8, n)
	}
	idx := s.idx[:n]
	var hist [256]int
	for y := 0; y < h; y++ {
		if y&63 == 0 && ctx.Err() != nil {
			return segment.Result{}, fmt.Errorf("classical segment: %w", ctx.Err())
		}
		row := frame.Pix[(y)*frame.Stride : (y)*frame.Stride+4*w]
		out := idx[y*w : (y+1)*w]
		for x := range out {
			p := row[4*x : 4*x+3 : 4*x+3]
			v := (2*int(p[1]) - int(p[0]) - int(p[2]) + 512) >> 2
			out[x] = uint8(v)
			hist[v]++
		}
	}
	t := s.fixed
	if t < 0 {
		t = min(max(otsu(&hist, n), s.floor), s.ceiling)
	}
	forest := 0
	for y := 0; y < h; y++ {
		in := idx[y*w : (y+1)*w]
		out := mask.Pix[y*mask.Stride : y*mask.Stride+w]
		for x, v := range in {
			if int(v) > t {
				out[x] = 255
				forest++
			}
		}
	}
	return segment.Result{Mask: mask, Share: float64(forest) / float64(n)}, nil
}

// otsu returns the bin t that maximises the between-class variance of the
// split {≤ t} | {> t}, or 255 when every pixel falls in one bin.
func otsu(hist *[256]int, n int) int {
	var sum float64
	for i, c := range hist {
		sum += float64(i) * float64(c)
	}
	var wB, sumB float64
	best, t := -1.0, 255
	total := float64(n)
	for i := 0; i < 255; i++ {
		wB += float64(hist[i])
		if wB == 0 {
			continue
		}
		wF := total - wB
		if wF == 0 {
			break
		}
		sumB += float64(i) * float64(hist[i])
		mB, mF := sumB/wB, (sum-sumB)/wF
		v := wB * wF * (mB - mF) * (mB - mF)
		if v > best {
			best, t = v, i
		}
	}
	return t
}
