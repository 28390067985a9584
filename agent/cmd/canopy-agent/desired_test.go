package main

import (
	"context"
	"encoding/json"
	"image"
	"strings"
	"testing"

	"github.com/canopy-forest/canopy/agent"
	"github.com/canopy-forest/canopy/agent/config"
	"github.com/canopy-forest/canopy/agent/desired"
)

func TestEffectiveConfig(t *testing.T) {
	base := config.Default()
	base.Device = "pi-1"
	c, err := effectiveConfig(base, desired.Settings{Version: 2, Config: json.RawMessage(`{"select":{"min_share":0.3}}`), ModelPath: "/var/lib/canopy/desired/models/ab.onnx"})
	if err != nil || c.Select.MinShare != 0.3 || c.Segmenter.Kind != config.SegmenterONNX || c.Segmenter.Model != "/var/lib/canopy/desired/models/ab.onnx" {
		t.Errorf("effectiveConfig = %+v, %v", c.Segmenter, err)
	}
	if _, err := effectiveConfig(base, desired.Settings{Version: 3, Config: json.RawMessage(`{"device":"x"}`)}); err == nil {
		t.Error("a local-only key was applied")
	}
}

func TestSaneMask(t *testing.T) {
	f := probeFrame()
	good := image.NewGray(f.Bounds())
	for i := range len(good.Pix) / 4 {
		good.Pix[i] = 255
	}
	if err := saneMask(f, good, 0.25); err != nil {
		t.Errorf("a sane mask: %v", err)
	}
	grey := image.NewGray(f.Bounds())
	grey.Pix[7] = 128
	for _, tc := range []struct {
		name  string
		mask  *image.Gray
		share float64
		want  string
	}{
		{"no mask", nil, 0, "size"},
		{"wrong size", image.NewGray(image.Rect(0, 0, 10, 10)), 0, "size"},
		{"share out of range", good, 1.5, "outside"},
		{"share disagrees", good, 0.9, "mask has"},
		{"not binary", grey, 0, "want 0 or 255"},
	} {
		if err := saneMask(f, tc.mask, tc.share); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error about %q", tc.name, err, tc.want)
		}
	}
}

func TestCheckSettings(t *testing.T) {
	base := config.Default()
	base.Device = "pi-1"
	if err := checkSettings(base, desired.Settings{Version: 1, Config: json.RawMessage(`{"capture":{"fps":2}}`)}); err != nil {
		t.Errorf("a valid config: %v", err)
	}
	if err := checkSettings(base, desired.Settings{Version: 1, Config: json.RawMessage(`{"capture":{"fps":-2}}`)}); err == nil {
		t.Error("an invalid config passed its check")
	}
	if err := checkSettings(base, desired.Settings{Version: 1, ModelPath: t.TempDir() + "/none.onnx"}); err == nil {
		t.Error("a missing model passed its check")
	}
}

// TestProbeSegmenter: the classical segmenter's answer on the probe
// frame is sane.
func TestProbeSegmenter(t *testing.T) {
	seg, err := agent.NewSegmenter(config.Segmenter{Kind: config.SegmenterClassical}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := probeSegmenter(context.Background(), seg); err != nil {
		t.Error(err)
	}
}
