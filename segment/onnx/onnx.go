//go:build onnx

package onnx

import (
	"context"
	"errors"
	"image"
	"log/slog"

	"github.com/canopy-forest/canopy/segment"
)

// Segmenter runs an ONNX segmentation model.
type Segmenter struct {
	info segment.Info
}

// New loads the model and checks its shapes.
func New(c Config, log *slog.Logger) (*Segmenter, error) {
	return nil, errors.New("onnx segmenter: not implemented yet")
}

// Segment returns the forest mask of frame.
func (s *Segmenter) Segment(ctx context.Context, frame *image.RGBA) (segment.Result, error) {
	return segment.Result{}, errors.New("onnx segmenter: not implemented yet")
}

// Info names the segmenter, its model and the model's SHA-256.
func (s *Segmenter) Info() segment.Info { return s.info }

// Close releases the session and tensors. It is idempotent.
func (s *Segmenter) Close() error { return nil }
