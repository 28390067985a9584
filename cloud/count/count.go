package count

import (
	"context"
	"image"
)

// Counter finds tree crowns in an image.
type Counter interface {
	// Count returns one box per tree found in img.
	Count(ctx context.Context, img *image.RGBA) (Result, error)
	// Info names the method and the model it runs.
	Info() Info
	// Close releases what the counter holds. It is idempotent.
	Close() error
}

// Box is one tree crown in pixel coordinates of the image, origin top left.
type Box struct {
	XMin  float64 `json:"xmin"`
	YMin  float64 `json:"ymin"`
	XMax  float64 `json:"xmax"`
	YMax  float64 `json:"ymax"`
	Score float64 `json:"score"` // confidence in [0, 1]
}

// Result is what a counter found in one image.
type Result struct {
	Count int   `json:"count"`
	Boxes []Box `json:"boxes"`
	Info
}

// Info describes a counter, recorded with every result.
type Info struct {
	Method      string `json:"method"`                 // "classical" or "learned"
	Model       string `json:"model,omitempty"`        // model name, if any
	ModelSHA256 string `json:"model_sha256,omitempty"` // hex SHA-256 of the model file
}

// AtGSD is implemented by counters that can be told the ground sample
// distance of one image (metres per pixel), overriding their configured one.
type AtGSD interface {
	CountAt(ctx context.Context, img *image.RGBA, gsd float64) (Result, error)
}

// ModelGSDer is implemented by counters that know the ground sample
// distance their model works at (images are resized to it).
type ModelGSDer interface {
	ModelGSD() float64
}

// ModelGSDOf is the ground sample distance c works at: its ModelGSD when it
// has one, else ModelGSD (0.1 m).
func ModelGSDOf(c Counter) float64 {
	if m, ok := c.(ModelGSDer); ok && m.ModelGSD() > 0 {
		return m.ModelGSD()
	}
	return ModelGSD
}

// CountAt counts img with c at ground sample distance gsd (metres per
// pixel; 0 means the counter's configured one) when c implements AtGSD,
// and with c.Count otherwise.
func CountAt(ctx context.Context, c Counter, img *image.RGBA, gsd float64) (Result, error) {
	if a, ok := c.(AtGSD); ok && gsd > 0 {
		return a.CountAt(ctx, img, gsd)
	}
	return c.Count(ctx, img)
}
