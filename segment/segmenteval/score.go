package segmenteval

import (
	"fmt"
	"image"
)

// Score accumulates the intersection and union of the tree class.
type Score struct {
	Inter, Union int64
	Pred, Truth  int64 // pixels predicted tree, pixels truly tree
	Pixels       int64 // pixels counted
}

// Add counts pred (255 tree) against truth (non-zero tree) over the pixels
// where valid is non-zero (valid nil: all). The three have the same bounds.
func (s *Score) Add(pred, truth, valid *image.Gray) error {
	b := pred.Bounds()
	if truth.Bounds() != b || (valid != nil && valid.Bounds() != b) {
		return fmt.Errorf("score: bounds differ: pred %v, truth %v", b, truth.Bounds())
	}
	for y := 0; y < b.Dy(); y++ {
		pr := pred.Pix[y*pred.Stride : y*pred.Stride+b.Dx()]
		tr := truth.Pix[y*truth.Stride : y*truth.Stride+b.Dx()]
		var va []uint8
		if valid != nil {
			va = valid.Pix[y*valid.Stride : y*valid.Stride+b.Dx()]
		}
		for x := range pr {
			if va != nil && va[x] == 0 {
				continue
			}
			s.Pixels++
			p, t := pr[x] != 0, tr[x] != 0
			if p {
				s.Pred++
			}
			if t {
				s.Truth++
			}
			if p && t {
				s.Inter++
			}
			if p || t {
				s.Union++
			}
		}
	}
	return nil
}

// IoU is the intersection over union of the tree class (0 when both are
// empty).
func (s Score) IoU() float64 { return ratio(s.Inter, s.Union) }

// Precision is the share of predicted tree pixels that are tree.
func (s Score) Precision() float64 { return ratio(s.Inter, s.Pred) }

// Recall is the share of tree pixels predicted tree.
func (s Score) Recall() float64 { return ratio(s.Inter, s.Truth) }

// PredShare is the share of counted pixels predicted tree.
func (s Score) PredShare() float64 { return ratio(s.Pred, s.Pixels) }

// ratio is n/d, or 0 when d is 0.
func ratio(n, d int64) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}
