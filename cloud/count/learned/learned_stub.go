//go:build !onnx

package learned

import (
	"context"
	"image"
	"log/slog"

	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/internal/ortenv"
)

// Counter is unavailable in a build without the onnx tag.
type Counter struct{}

// New returns ortenv.ErrNoONNX: this build has no ONNX Runtime support.
func New(c Config, log *slog.Logger) (*Counter, error) {
	return nil, ortenv.ErrNoONNX
}

// Info describes the (unavailable) counter.
func (k *Counter) Info() count.Info { return count.Info{Method: "learned"} }

// Metadata returns nil.
func (k *Counter) Metadata() map[string]string { return nil }

// Config returns the zero Config.
func (k *Counter) Config() Config { return Config{} }

// Count returns ortenv.ErrNoONNX.
func (k *Counter) Count(ctx context.Context, img *image.RGBA) (count.Result, error) {
	return count.Result{}, ortenv.ErrNoONNX
}

// CountAt returns ortenv.ErrNoONNX.
func (k *Counter) CountAt(ctx context.Context, img *image.RGBA, gsd float64) (count.Result, error) {
	return count.Result{}, ortenv.ErrNoONNX
}

// RunTile returns ortenv.ErrNoONNX.
func (k *Counter) RunTile(img *image.RGBA, r image.Rectangle) error { return ortenv.ErrNoONNX }

// Close does nothing.
func (k *Counter) Close() error { return nil }

// ModelGSD is the model's ground sample distance (count.ModelGSD here).
func (k *Counter) ModelGSD() float64 { return count.ModelGSD }
