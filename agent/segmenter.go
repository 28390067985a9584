package agent

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/canopy-forest/canopy/agent/config"
	"github.com/canopy-forest/canopy/segment"
	"github.com/canopy-forest/canopy/segment/classical"
	"github.com/canopy-forest/canopy/segment/onnx"
)

// DefaultSegmenter is the segmenter used when none is configured: "onnx"
// runs the shipped model when it is found (and falls back to classical
// when it is not, or when ONNX Runtime cannot load); "classical" always
// uses the classical segmenter.
const DefaultSegmenter = config.SegmenterONNX

// ShippedModel is the file name of the model that ships with Canopy.
const ShippedModel = "treecover-seg.onnx"

// FindModel returns the path of the shipped model: beside the executable,
// in ../share/canopy/models relative to it, in ./models, or in the models
// folder of the source tree the binary was built from (bin/../models); ""
// when none exists.
func FindModel() string {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		d := filepath.Dir(exe)
		dirs = append(dirs, d, filepath.Join(d, "..", "share", "canopy", "models"), filepath.Join(d, "..", "models"))
	}
	dirs = append(dirs, "models", "/usr/share/canopy/models")
	for _, d := range dirs {
		p := filepath.Join(d, ShippedModel)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// NewSegmenter makes the segmenter that c asks for. With kind "" it
// follows DefaultSegmenter: the shipped ONNX model when it is found and
// loads, else the classical segmenter (with a warning saying why).
func NewSegmenter(c config.Segmenter, log *slog.Logger) (segment.Segmenter, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	kind := c.Kind
	auto := kind == config.SegmenterAuto
	if auto {
		kind = DefaultSegmenter
	}
	if kind == config.SegmenterONNX {
		model := c.Model
		if model == "" {
			model = FindModel()
		}
		if model == "" {
			if !auto {
				return nil, fmt.Errorf("onnx segmenter: no model given and %s not found", ShippedModel)
			}
			log.Warn("shipped model not found; using the classical segmenter", "model", ShippedModel)
			return newClassical(c), nil
		}
		s, err := onnx.New(onnx.Config{
			ModelPath:   model,
			LibraryPath: c.Library,
			Provider:    c.Provider,
			Threads:     c.Threads,
			Memory:      c.Memory,
			Threshold:   float32(c.Threshold),
		}, log)
		if err != nil {
			if !auto || c.Model != "" {
				return nil, err
			}
			log.Warn("ONNX segmenter unavailable; using the classical segmenter", "err", err)
			return newClassical(c), nil
		}
		return s, nil
	}
	return newClassical(c), nil
}

func newClassical(c config.Segmenter) segment.Segmenter {
	return classical.New(classical.Options{Threshold: int(c.Threshold)})
}
