package learned

import (
	"sort"

	"github.com/canopy-forest/canopy/cloud/count"
)

// DecodeYOLO turns a YOLO-style output (YOLOv8 and later: one tensor of
// shape 1 x (4+C) x N, rows cx, cy, w, h in input pixels then C class
// scores in 0..1, no objectness) into boxes in tile pixels: each of the N
// candidates whose best class score is at least threshold, every class a
// tree. At most maxBoxes, by descending score; overlapping ones are left
// for non-maximum suppression.
func DecodeYOLO(out []float32, rows, n int, threshold float32, maxBoxes int) []count.Box {
	if rows < 5 || len(out) < rows*n {
		return nil
	}
	var boxes []count.Box
	for i := range n {
		s := out[4*n+i]
		for c := 5; c < rows; c++ {
			s = max(s, out[c*n+i])
		}
		if s < threshold {
			continue
		}
		cx, cy := float64(out[i]), float64(out[n+i])
		w, h := float64(out[2*n+i]), float64(out[3*n+i])
		if w <= 0 || h <= 0 {
			continue
		}
		boxes = append(boxes, count.Box{XMin: cx - w/2, YMin: cy - h/2, XMax: cx + w/2, YMax: cy + h/2, Score: float64(s)})
	}
	sort.SliceStable(boxes, func(i, j int) bool { return boxes[i].Score > boxes[j].Score })
	if maxBoxes > 0 && len(boxes) > maxBoxes {
		boxes = boxes[:maxBoxes]
	}
	return boxes
}
