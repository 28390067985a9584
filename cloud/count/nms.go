package count

import (
	"math"
	"sort"
)

// Area is the box's area in square pixels (0 for an empty or inverted box).
func (b Box) Area() float64 {
	w, h := b.XMax-b.XMin, b.YMax-b.YMin
	if w <= 0 || h <= 0 {
		return 0
	}
	return w * h
}

// Centre is the box's centre.
func (b Box) Centre() (x, y float64) { return (b.XMin + b.XMax) / 2, (b.YMin + b.YMax) / 2 }

// IoU is the intersection over union of a and b (0 when either is empty).
func IoU(a, b Box) float64 {
	w := math.Min(a.XMax, b.XMax) - math.Max(a.XMin, b.XMin)
	h := math.Min(a.YMax, b.YMax) - math.Max(a.YMin, b.YMin)
	if w <= 0 || h <= 0 {
		return 0
	}
	inter := w * h
	u := a.Area() + b.Area() - inter
	if u <= 0 {
		return 0
	}
	return inter / u
}

// SortByScore sorts boxes by descending score; ties keep their order.
func SortByScore(boxes []Box) {
	sort.SliceStable(boxes, func(i, j int) bool { return boxes[i].Score > boxes[j].Score })
}

// NMS is greedy non-maximum suppression: boxes are taken by descending
// score, and a box whose IoU with one already taken is above iou is
// dropped. iou >= 1 keeps every box. The input is not modified; the result
// is sorted by score.
func NMS(boxes []Box, iou float64) []Box {
	out := make([]Box, len(boxes))
	copy(out, boxes)
	SortByScore(out)
	if iou >= 1 {
		return out
	}
	kept := out[:0:0]
	for _, b := range out {
		ok := true
		for _, k := range kept {
			if IoU(b, k) > iou {
				ok = false
				break
			}
		}
		if ok {
			kept = append(kept, b)
		}
	}
	return kept
}

// Clip limits the box to the rectangle [0, w) x [0, h).
func (b Box) Clip(w, h float64) Box {
	b.XMin = math.Max(0, math.Min(b.XMin, w))
	b.XMax = math.Max(0, math.Min(b.XMax, w))
	b.YMin = math.Max(0, math.Min(b.YMin, h))
	b.YMax = math.Max(0, math.Min(b.YMax, h))
	return b
}

// Scale multiplies the box's coordinates by s.
func (b Box) Scale(s float64) Box {
	b.XMin *= s
	b.YMin *= s
	b.XMax *= s
	b.YMax *= s
	return b
}
