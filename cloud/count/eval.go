package count

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// DefaultIoU is the IoU at which a found box matches a true one (the
// NeonTreeEvaluation and DeepForest convention).
const DefaultIoU = 0.4

// ErrBoxesFormat is returned (wrapped, with the line) by ReadBoxes for
// input that is not a boxes CSV.
var ErrBoxesFormat = errors.New("not a boxes CSV (image,xmin,ymin,xmax,ymax,label)")

// maxBoxes bounds what ReadBoxes accepts, so that hostile input cannot
// exhaust memory.
const maxBoxes = 1 << 20

// ReadBoxes reads ground-truth boxes in the `image,xmin,ymin,xmax,ymax,label`
// CSV format (a header row, pixel coordinates, origin top left). Every
// label counts as a tree. Columns may come in any order; extra columns are
// ignored. It returns the boxes per image name.
func ReadBoxes(r io.Reader) (map[string][]Box, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: empty", ErrBoxesFormat)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBoxesFormat, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	need := []string{"image", "xmin", "ymin", "xmax", "ymax"}
	idx := make([]int, len(need))
	for i, n := range need {
		c, ok := col[n]
		if !ok {
			if n == "image" {
				c, ok = col["image_path"]
			}
			if !ok {
				return nil, fmt.Errorf("%w: no %q column", ErrBoxesFormat, n)
			}
		}
		idx[i] = c
	}
	out := map[string][]Box{}
	n := 0
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrBoxesFormat, line, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		var v [4]float64
		for i := range 5 {
			if idx[i] >= len(rec) {
				return nil, fmt.Errorf("%w: line %d: %d fields", ErrBoxesFormat, line, len(rec))
			}
			if i == 0 {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(rec[idx[i]]), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("%w: line %d: %s %q is not a number", ErrBoxesFormat, line, need[i], rec[idx[i]])
			}
			v[i-1] = f
		}
		if v[2] < v[0] || v[3] < v[1] {
			return nil, fmt.Errorf("%w: line %d: max below min", ErrBoxesFormat, line)
		}
		name := strings.TrimSpace(rec[idx[0]])
		if name == "" {
			return nil, fmt.Errorf("%w: line %d: empty image name", ErrBoxesFormat, line)
		}
		if n++; n > maxBoxes {
			return nil, fmt.Errorf("%w: more than %d boxes", ErrBoxesFormat, maxBoxes)
		}
		out[name] = append(out[name], Box{XMin: v[0], YMin: v[1], XMax: v[2], YMax: v[3], Score: 1})
	}
	return out, nil
}

// Match counts the true positives among pred against truth: found boxes
// are taken by descending score, each matched to the unmatched true box
// with which it has the highest IoU, if that IoU is at least iou (greedy,
// one-to-one).
func Match(pred, truth []Box, iou float64) int {
	p := make([]Box, len(pred))
	copy(p, pred)
	SortByScore(p)
	used := make([]bool, len(truth))
	tp := 0
	for _, b := range p {
		best, bi := -1.0, -1
		for j, t := range truth {
			if used[j] {
				continue
			}
			if v := IoU(b, t); v > best {
				best, bi = v, j
			}
		}
		if bi >= 0 && best >= iou {
			used[bi] = true
			tp++
		}
	}
	return tp
}

// Score is how a counter did on one image or on a set of images.
type Score struct {
	Image     string `json:"image,omitempty"`
	True      int    `json:"true_count"`
	Predicted int    `json:"predicted_count"`
	Matched   int    `json:"matched"`
	// CountError is Predicted - True; RelError is |CountError| / True (0
	// when True is 0 and nothing was found, 1 when True is 0 and something was).
	CountError int     `json:"count_error"`
	RelError   float64 `json:"count_error_rel"`
	Precision  float64 `json:"precision"`
	Recall     float64 `json:"recall"`
	F1         float64 `json:"f1"`
}

// NewScore fills the derived fields from the counts.
func NewScore(image string, truth, pred, matched int) Score {
	s := Score{Image: image, True: truth, Predicted: pred, Matched: matched, CountError: pred - truth}
	switch {
	case truth > 0:
		s.RelError = math.Abs(float64(pred-truth)) / float64(truth)
	case pred > 0:
		s.RelError = 1
	}
	s.Precision, s.Recall, s.F1 = prf(matched, pred, truth)
	return s
}

func prf(tp, npred, ntrue int) (p, r, f float64) {
	switch {
	case npred > 0:
		p = float64(tp) / float64(npred)
	case ntrue == 0:
		p = 1
	}
	if ntrue > 0 {
		r = float64(tp) / float64(ntrue)
	} else {
		r = 1
	}
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return p, r, f
}

// ScoreImage scores pred against truth at IoU iou.
func ScoreImage(image string, pred, truth []Box, iou float64) Score {
	return NewScore(image, len(truth), len(pred), Match(pred, truth, iou))
}

// Report is an evaluation over several images.
type Report struct {
	IoU    float64 `json:"iou"`
	Images []Score `json:"images"`
	// Overall pools every box of every image (micro average); its RelError
	// is on the summed counts.
	Overall Score `json:"overall"`
	// MedianRelError and MeanRelError are over the per-image relative count
	// errors of the images with at least one true tree.
	MedianRelError float64 `json:"median_count_error_rel"`
	MeanRelError   float64 `json:"mean_count_error_rel"`
	// MeanAbsError is the mean over every image of |found - true|, in trees
	// per image (as MillionTrees reports it); images without trees count.
	MeanAbsError float64 `json:"mean_count_error_abs"`
	Info
}

// Summarise builds a report from per-image scores.
func Summarise(iou float64, images []Score) Report {
	r := Report{IoU: iou, Images: images}
	var t, p, m int
	var rel []float64
	abs := 0
	for _, s := range images {
		abs += max(s.CountError, -s.CountError)
		t += s.True
		p += s.Predicted
		m += s.Matched
		if s.True > 0 {
			rel = append(rel, s.RelError)
		}
	}
	r.Overall = NewScore("", t, p, m)
	if len(images) > 0 {
		r.MeanAbsError = float64(abs) / float64(len(images))
	}
	if len(rel) > 0 {
		sort.Float64s(rel)
		r.MedianRelError = median(rel)
		sum := 0.0
		for _, v := range rel {
			sum += v
		}
		r.MeanRelError = sum / float64(len(rel))
	}
	return r
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
