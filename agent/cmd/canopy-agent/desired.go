package main

// The cloud's desired state in canopy-agent run: the desired.Manager rides
// on the publisher's connection, and runAgent runs the pipeline again
// with the Manager's settings whenever a trial begins or is rolled back; a
// trial's pipeline first runs its model on a frame (probeSegmenter).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"log/slog"
	"math"
	"path/filepath"
	"sync/atomic"

	"github.com/canopy-forest/canopy/agent/config"
	"github.com/canopy-forest/canopy/agent/desired"
	"github.com/canopy-forest/canopy/segment"
	"github.com/canopy-forest/canopy/sync/wire"
)

// desiredDir is the Manager's folder under the agent's data folder.
const desiredDir = "desired"

// trialHealth is the running pipeline's and publisher's health, for a trial:
// set by each run of the pipeline.
type trialHealth struct{ fn atomic.Pointer[func() error] }

func (h *trialHealth) check() error {
	if f := h.fn.Load(); f != nil {
		return (*f)()
	}
	return errors.New("starting")
}

func (h *trialHealth) set(f func() error) { h.fn.Store(&f) }

// openDesired opens the Manager when cfg takes desired documents (a broker
// and desired.mode on); nil otherwise. restart is called when the pipeline
// must run again with the Manager's settings.
func openDesired(cfg config.Config, h *trialHealth, restart func(), log *slog.Logger) (*desired.Manager, error) {
	if cfg.Desired.Mode != config.DesiredOn || cfg.Sync.Broker == "" {
		return nil, nil
	}
	var key []byte
	if cfg.Sync.CloudKey != "" {
		k, err := wire.ParseCloudKey(cfg.Sync.CloudKey)
		if err != nil {
			return nil, fmt.Errorf("sync.cloud_key: %w", err)
		}
		key = k
	}
	return desired.Open(desired.Options{
		Device: cfg.Device, Dir: filepath.Join(cfg.Data, desiredDir), CloudKey: key,
		Topics: wire.Topics{Root: cfg.Sync.TopicRoot},
		Validate: func(overrides json.RawMessage) error {
			c := cfg
			return config.ApplyOverrides(&c, overrides)
		},
		Check:        func(_ context.Context, s desired.Settings) error { return checkSettings(cfg, s) },
		Restart:      restart,
		Healthy:      h.check,
		HealthWindow: cfg.Desired.HealthWindow.D(),
		FetchWindow:  cfg.Desired.FetchWindow,
		MaxRate:      cfg.Desired.MaxRate,
		Log:          log,
	})
}

// effectiveConfig is base with s applied: its config overrides, and its
// model as the ONNX segmenter's.
func effectiveConfig(base config.Config, s desired.Settings) (config.Config, error) {
	c := base
	if err := config.ApplyOverrides(&c, s.Config); err != nil {
		return base, fmt.Errorf("desired version %d: %w", s.Version, err)
	}
	if s.ModelPath != "" {
		c.Segmenter.Kind, c.Segmenter.Model = config.SegmenterONNX, s.ModelPath
	}
	return c, nil
}

// checkSettings is the check before a trial: the config with s validates
// and its model file is a whole ONNX model. The model is run on a frame
// when the trial starts (probeSegmenter), by the pipeline's own segmenter:
// one model is loaded at a time, as when the agent starts.
func checkSettings(base config.Config, s desired.Settings) error {
	if _, err := effectiveConfig(base, s); err != nil {
		return err
	}
	if s.ModelPath == "" {
		return nil
	}
	return desired.CheckONNXFile(s.ModelPath)
}

// probeSegmenter runs seg on a frame and checks that it gives a sane mask.
func probeSegmenter(ctx context.Context, seg segment.Segmenter) error {
	frame := probeFrame()
	r, err := seg.Segment(ctx, frame)
	if err != nil {
		return fmt.Errorf("segment a frame: %w", err)
	}
	return saneMask(frame, r.Mask, r.Share)
}

// probeFrame is the frame a new model is tried on: crowns of green on
// soil, 256 by 192 pixels.
func probeFrame() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 256, 192))
	for y := range 192 {
		for x := range 256 {
			c := color.RGBA{150, 120, 90, 255}
			if dx, dy := x%64-32, y%64-32; dx*dx+dy*dy < 22*22 {
				c = color.RGBA{40, uint8(110 + (x*7+y*3)%60), 45, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// saneMask checks a segmenter's answer: a mask of the frame's size with
// only 0 and 255, and a share in [0, 1] that matches it.
func saneMask(frame *image.RGBA, mask *image.Gray, share float64) error {
	if mask == nil || mask.Bounds() != frame.Bounds() {
		return errors.New("the mask is not the frame's size")
	}
	if math.IsNaN(share) || share < 0 || share > 1 {
		return fmt.Errorf("forest share %v outside [0, 1]", share)
	}
	var forest int
	for y := mask.Rect.Min.Y; y < mask.Rect.Max.Y; y++ {
		for _, v := range mask.Pix[(y-mask.Rect.Min.Y)*mask.Stride:][:mask.Rect.Dx()] {
			switch v {
			case 255:
				forest++
			case 0:
			default:
				return fmt.Errorf("mask value %d: want 0 or 255", v)
			}
		}
	}
	if got := float64(forest) / float64(frame.Rect.Dx()*frame.Rect.Dy()); math.Abs(got-share) > 0.01 {
		return fmt.Errorf("forest share %.3f, but the mask has %.3f", share, got)
	}
	return nil
}
