//go:build !opencv

package classical

import (
	"context"
	"errors"
	"image"

	"github.com/canopy-forest/canopy/cloud/count"
)

// ErrNoOpenCV is returned by New in a build without the opencv tag.
var ErrNoOpenCV = errors.New("built without OpenCV support (build tag opencv)")

// Counter is unavailable in a build without the opencv tag.
type Counter struct{}

// New returns ErrNoOpenCV.
func New(o Options) (*Counter, error) { return nil, ErrNoOpenCV }

// Info names the method.
func (c *Counter) Info() count.Info { return count.Info{Method: "classical"} }

// Count returns ErrNoOpenCV.
func (c *Counter) Count(ctx context.Context, img *image.RGBA) (count.Result, error) {
	return count.Result{}, ErrNoOpenCV
}

// CountAt returns ErrNoOpenCV.
func (c *Counter) CountAt(ctx context.Context, img *image.RGBA, gsd float64) (count.Result, error) {
	return count.Result{}, ErrNoOpenCV
}

// Close does nothing.
func (c *Counter) Close() error { return nil }

// ModelGSD is the ground sample distance the counter works at.
func (c *Counter) ModelGSD() float64 { return count.ModelGSD }
