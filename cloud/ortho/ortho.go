package ortho

import (
	"context"
	"fmt"
	"image"
	"math"

	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/cloud/raster"
)

// Options tune Count.
type Options struct {
	// Window is the side of a window in pixels at the counter's GSD
	// (default 2048: 205 m at 0.1 m).
	Window int
	// Overlap is how much neighbouring windows overlap, in pixels at the
	// counter's GSD (default 256: wider than any crown).
	Overlap int
	// NMSIoU merges boxes across windows (default 0.4).
	NMSIoU float64
}

func (o Options) withDefaults() Options {
	if o.Window <= 0 {
		o.Window = 2048
	}
	if o.Overlap <= 0 || o.Overlap >= o.Window {
		o.Overlap = min(256, o.Window/4)
	}
	if o.NMSIoU <= 0 {
		o.NMSIoU = 0.4
	}
	return o
}

// Stats says how the raster was read.
type Stats struct {
	Windows    int // windows in all
	Skipped    int // all-transparent windows not counted
	MaxPixels  int // largest window read, in pixels
	CountedGSD float64
}

// Count counts the raster at path (described by in, ground sample distance
// gsd metres per pixel) with c, window by window. The boxes are in the
// raster's pixel coordinates.
func Count(ctx context.Context, c count.Counter, path string, in raster.Info, gsd float64, o Options) (count.Result, Stats, error) {
	o = o.withDefaults()
	if gsd <= 0 || math.IsNaN(gsd) {
		return count.Result{}, Stats{}, fmt.Errorf("count %s: no ground sample distance", path)
	}
	target := count.ModelGSDOf(c)
	s := gsd / target // window pixels per raster pixel
	if math.Abs(s-1) <= 0.02 {
		s = 1
	}
	ow := max(1, int(math.Round(float64(in.Width)*s)))
	oh := max(1, int(math.Round(float64(in.Height)*s)))
	st := Stats{CountedGSD: target}
	var srcTiles []image.Rectangle
	var per [][]count.Box
	for _, t := range count.Tiles(ow, oh, o.Window, o.Overlap) {
		if err := ctx.Err(); err != nil {
			return count.Result{}, st, err
		}
		st.Windows++
		// the window's pixels in the raster, and the size GDAL gives it
		src := image.Rect(
			int(math.Floor(float64(t.Min.X)/s)), int(math.Floor(float64(t.Min.Y)/s)),
			min(in.Width, int(math.Ceil(float64(t.Max.X)/s))), min(in.Height, int(math.Ceil(float64(t.Max.Y)/s))))
		outW := max(1, int(math.Round(float64(src.Dx())*s)))
		outH := max(1, int(math.Round(float64(src.Dy())*s)))
		srcTiles = append(srcTiles, src)
		img, err := raster.ReadWindow(ctx, path, in, src, outW, outH)
		if err != nil {
			return count.Result{}, st, err
		}
		st.MaxPixels = max(st.MaxPixels, outW*outH)
		if !clearTransparent(img) {
			st.Skipped++
			per = append(per, nil)
			continue
		}
		res, err := count.CountAt(ctx, c, img, target)
		if err != nil {
			return count.Result{}, st, fmt.Errorf("count window %v: %w", src, err)
		}
		fx, fy := float64(src.Dx())/float64(outW), float64(src.Dy())/float64(outH)
		boxes := make([]count.Box, 0, len(res.Boxes))
		for _, b := range res.Boxes {
			boxes = append(boxes, count.Box{
				XMin: float64(src.Min.X) + b.XMin*fx, YMin: float64(src.Min.Y) + b.YMin*fy,
				XMax: float64(src.Min.X) + b.XMax*fx, YMax: float64(src.Min.Y) + b.YMax*fy, Score: b.Score,
			})
		}
		per = append(per, boxes)
	}
	boxes := count.Merge(srcTiles, per, o.NMSIoU)
	if boxes == nil {
		boxes = []count.Box{}
	}
	return count.Result{Count: len(boxes), Boxes: boxes, Info: c.Info()}, st, nil
}

// clearTransparent paints fully transparent pixels black and opaque (what
// the counters take for no vegetation) and reports whether any pixel was
// not transparent.
func clearTransparent(img *image.RGBA) bool {
	seen := false
	for i := 0; i < len(img.Pix); i += 4 {
		if img.Pix[i+3] == 0 {
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 0, 0, 0, 255
			continue
		}
		seen = true
		img.Pix[i+3] = 255
	}
	return seen
}

// Overview reads the whole raster shrunk so that its longer side is at most
// maxSide pixels (never enlarged), and returns it with the factor that maps
// its pixels to the raster's (multiply by it).
func Overview(ctx context.Context, path string, in raster.Info, maxSide int) (*image.RGBA, float64, error) {
	f := math.Max(1, float64(max(in.Width, in.Height))/float64(maxSide))
	w := max(1, int(math.Round(float64(in.Width)/f)))
	h := max(1, int(math.Round(float64(in.Height)/f)))
	img, err := raster.ReadWindow(ctx, path, in, image.Rect(0, 0, in.Width, in.Height), w, h)
	if err != nil {
		return nil, 0, err
	}
	clearTransparent(img)
	return img, float64(in.Width) / float64(w), nil
}
