package agent

import (
	"image"

	"github.com/canopy-forest/canopy/internal/rgba"
	"github.com/canopy-forest/canopy/segment"
)

// frameOptions fills how the source hands frames over, where o leaves it
// open: photos much larger than the segmenter's working size are decoded
// at a reduced scale (Capture.DecodeSize), and frame buffers come from one
// pool that the put stage gives them back to (Frame.Release), so a run
// allocates a handful of frame buffers however many frames it reads.
func frameOptions(o *Options) {
	if o.Capture.DecodeSize == (image.Point{}) {
		if s, ok := o.Segmenter.(segment.Sizer); ok {
			o.Capture.DecodeSize = s.InputSize()
		}
	}
	if o.Capture.Pool == nil {
		o.Capture.Pool = &rgba.Pool{}
	}
}
