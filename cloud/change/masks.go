package change

import (
	"image"
	"image/color"
	"math"

	"github.com/canopy-forest/canopy/cloud/place"
)

// Sampling of the masks.
const (
	sampleStepM     = 0.25   // about every 25 cm on the ground
	maxMaskSamples  = 40_000 // at most this many per mask
	forestThreshold = 128    // a mask pixel at least this bright is forest
)

// MaskSamples samples the forest mask (255: forest, 0: not; the device's
// segmentation, or the crown boxes the counter filled) of an image that p
// places. width and height are the image's pixels, which the mask covers
// at its own size (an orthophoto's mask is its overview's size); gsd is
// the image's metres per pixel (0: unknown).
func MaskSamples(p *place.Placer, mask image.Image, width, height int, gsd float64) []Sample {
	b := mask.Bounds()
	mw, mh := b.Dx(), b.Dy()
	if p == nil || mw <= 0 || mh <= 0 || width <= 0 || height <= 0 {
		return nil
	}
	fx, fy := float64(width)/float64(mw), float64(height)/float64(mh)
	step := 1
	if gsd > 0 {
		step = max(1, int(sampleStepM/(gsd*fx)))
	}
	if n := (mw / step) * (mh / step); n > maxMaskSamples {
		step = int(math.Ceil(math.Sqrt(float64(mw*mh) / maxMaskSamples)))
	}
	out := make([]Sample, 0, (mw/step+1)*(mh/step+1))
	for y := b.Min.Y + step/2; y < b.Max.Y; y += step {
		for x := b.Min.X + step/2; x < b.Max.X; x += step {
			q, err := p.LonLat((float64(x-b.Min.X)+0.5)*fx, (float64(y-b.Min.Y)+0.5)*fy)
			if err != nil {
				continue
			}
			g := color.GrayModel.Convert(mask.At(x, y)).(color.Gray)
			out = append(out, Sample{Lon: q.Lon, Lat: q.Lat, Forest: g.Y >= forestThreshold})
		}
	}
	return out
}
