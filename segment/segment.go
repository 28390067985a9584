package segment

import (
	"context"
	"image"
)

// Segmenter decides which pixels of a frame are forest.
//
// Implementations are safe for use by one goroutine at a time unless their
// documentation says otherwise.
type Segmenter interface {
	// Segment returns the forest mask of frame, the same size as frame.
	Segment(ctx context.Context, frame *image.RGBA) (Result, error)
	// Info names the segmenter and the model it runs.
	Info() Info
	// Close releases what the segmenter holds. It is idempotent.
	Close() error
}

// Result is the outcome of segmenting one frame.
type Result struct {
	// Mask is 255 where a pixel is forest and 0 elsewhere, with the bounds of
	// the frame.
	Mask *image.Gray
	// Share is the fraction of the frame's pixels that are forest, in [0, 1].
	Share float64
}

// Info describes a segmenter for the item metadata.
type Info struct {
	Name        string `json:"name"`                   // "classical" or "onnx"
	Model       string `json:"model,omitempty"`        // model file name, if any
	ModelSHA256 string `json:"model_sha256,omitempty"` // hex SHA-256 of the model file
}

// Sizer is implemented by segmenters that look at every frame at one
// working size whatever the frame's size (a model's input size): a source
// may decode a photo much larger than InputSize at a reduced scale, at
// little cost to the result and much less memory.
type Sizer interface {
	InputSize() image.Point
}
