//go:build !onnx

package onnx

import (
	"context"
	"errors"
	"image"
	"log/slog"

	"github.com/canopy-forest/canopy/segment"
)

// ErrNoONNX is returned by New in a build without the onnx tag.
var ErrNoONNX = errors.New("onnx segmenter: built without ONNX Runtime support (build tag onnx)")

// Segmenter is the ONNX segmenter; this build cannot make one.
type Segmenter struct{}

// New returns ErrNoONNX: this build has no ONNX Runtime support.
func New(c Config, log *slog.Logger) (*Segmenter, error) { return nil, ErrNoONNX }

// Segment returns ErrNoONNX.
func (s *Segmenter) Segment(ctx context.Context, frame *image.RGBA) (segment.Result, error) {
	return segment.Result{}, ErrNoONNX
}

// Info names the segmenter.
func (s *Segmenter) Info() segment.Info { return segment.Info{Name: Name} }

// Close does nothing.
func (s *Segmenter) Close() error { return nil }
