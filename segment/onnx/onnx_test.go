//go:build onnx

package onnx_test

import (
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canopy-forest/canopy/segment"
	"github.com/canopy-forest/canopy/segment/onnx"
	"github.com/canopy-forest/canopy/segment/segmenttest"
)

// library returns the ONNX Runtime library for the tests, or skips.
func library(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CANOPY_ORT_LIB"); p != "" {
		return p
	}
	p, _ := filepath.Abs("../../.cache/onnxruntime/linux-amd64/libonnxruntime.so.1")
	if _, err := os.Stat(p); err != nil {
		t.Skip("CANOPY_ORT_LIB is not set and no library in .cache: skipping ONNX Runtime tests")
	}
	return p
}

// shippedModel is the default model in models/.
const shippedModel = "../../models/treecover-seg.onnx"

func newSeg(t testing.TB, c onnx.Config) *onnx.Segmenter {
	t.Helper()
	c.LibraryPath = library(t)
	if c.Threads == 0 {
		c.Threads = 1
	}
	s, err := onnx.New(c, nil)
	if err != nil {
		t.Fatalf("New(%s): %v", c.ModelPath, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	models := []string{
		"testdata/nchw_scores_fixed.onnx",
		"testdata/nhwc_prob_dynamic.onnx",
		"testdata/nchw_logit_half.onnx",
		"testdata/nhwc_scores_bgr.onnx",
		shippedModel,
	}
	for _, m := range models {
		t.Run(filepath.Base(m), func(t *testing.T) {
			if _, err := os.Stat(m); err != nil {
				t.Skipf("no model %s", m)
			}
			segmenttest.Run(t, func(t *testing.T) segment.Segmenter {
				return newSeg(t, onnx.Config{ModelPath: m})
			})
		})
	}
}

func TestParamsFromMetadata(t *testing.T) {
	tests := []struct {
		model string
		c     onnx.Config
		check func(p onnx.Params) bool
		want  string
	}{
		{"nchw_scores_fixed.onnx", onnx.Config{}, func(p onnx.Params) bool {
			return p.Layout == "nchw" && p.InputWidth == 64 && p.InputHeight == 64 && p.ForestClass == 1 && p.Threshold == 0
		}, "nchw 64x64 class 1 argmax"},
		{"nhwc_prob_dynamic.onnx", onnx.Config{}, func(p onnx.Params) bool {
			return p.Layout == "nhwc" && p.InputWidth == 96 && p.InputHeight == 64 && p.Threshold == 0.5
		}, "nhwc 96x64 threshold 0.5"},
		{"nhwc_prob_dynamic.onnx", onnx.Config{InputWidth: 40, InputHeight: 30, Threshold: 0.7}, func(p onnx.Params) bool {
			return p.InputWidth == 40 && p.InputHeight == 30 && p.Threshold == 0.7
		}, "config wins: 40x30 threshold 0.7"},
		{"nchw_logit_half.onnx", onnx.Config{}, func(p onnx.Params) bool {
			return p.InputWidth == 80 && p.InputHeight == 80 && p.Output == "logit"
		}, "80x80 logit"},
		{"nhwc_scores_bgr.onnx", onnx.Config{}, func(p onnx.Params) bool {
			return p.Channels == "bgr" && p.ForestClass == 2 && p.Mean == [3]float32{0.5, 0.5, 0.5} && p.Std == [3]float32{0.25, 0.25, 0.25}
		}, "bgr class 2 mean 0.5 std 0.25"},
	}
	for _, tt := range tests {
		t.Run(tt.model+"/"+tt.want, func(t *testing.T) {
			c := tt.c
			c.ModelPath = filepath.Join("testdata", tt.model)
			s := newSeg(t, c)
			defer s.Close()
			if p := s.Params(); !tt.check(p) {
				t.Errorf("got params %+v, want %s", p, tt.want)
			}
			info := s.Info()
			if info.Name != "onnx" || info.Model != tt.model || len(info.ModelSHA256) != 64 {
				t.Errorf("Info() = %+v, want name onnx, model %s and a SHA-256", info, tt.model)
			}
		})
	}
}

func TestWrongModel(t *testing.T) {
	lib := library(t)
	tests := []struct {
		model string
		c     onnx.Config
		want  []string // substrings of the error
	}{
		{"does_not_exist.onnx", onnx.Config{}, []string{"read model", "does_not_exist.onnx"}},
		{"bad_two_inputs.onnx", onnx.Config{}, []string{"want one image input (N,3,H,W) or (N,H,W,3)", "got 2 inputs"}},
		{"bad_four_channels.onnx", onnx.Config{}, []string{"want shape (N,3,H,W) or (N,H,W,3)", "got (1,4,8,8)"}},
		{"bad_flat_output.onnx", onnx.Config{}, []string{"want shape (N,C,H,W), (N,H,W,C) or (N,H,W)", "got (1,192)"}},
		{"nchw_scores_fixed.onnx", onnx.Config{Layout: "nhwc"}, []string{"layout nhwc wants shape (N,H,W,3)", "got (1,3,64,64)"}},
		{"nchw_scores_fixed.onnx", onnx.Config{InputWidth: 128, InputHeight: 128}, []string{"fixed at (1,3,64,64)", "128x128"}},
		{"nchw_scores_fixed.onnx", onnx.Config{ForestClass: 5}, []string{"forest class 5 is out of range", "(1,2,64,64)"}},
		{"nchw_scores_fixed.onnx", onnx.Config{Provider: "tpu"}, []string{"unknown execution provider"}},
		{"nchw_scores_fixed.onnx", onnx.Config{Threshold: 1.5}, []string{"threshold 1.5"}},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			c := tt.c
			c.ModelPath, c.LibraryPath, c.Threads = filepath.Join("testdata", tt.model), lib, 1
			s, err := onnx.New(c, nil)
			if err == nil {
				s.Close()
				t.Fatalf("New: got nil error, want one containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New: got error %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

// TestCUDAFallback asks for CUDA on a machine that may have none: New must
// still give a working segmenter (on the CPU, with a warning).
func TestCUDAFallback(t *testing.T) {
	s := newSeg(t, onnx.Config{ModelPath: "testdata/nchw_scores_fixed.onnx", Provider: "cuda"})
	defer s.Close()
	res, err := s.Segment(context.Background(), segmenttest.Canopy(32, 32, 1))
	if err != nil {
		t.Fatal(err)
	}
	if res.Share < 0.6 {
		t.Errorf("share %v, want at least 0.6", res.Share)
	}
}

func TestClosed(t *testing.T) {
	s := newSeg(t, onnx.Config{ModelPath: "testdata/nchw_scores_fixed.onnx"})
	s.Close()
	if _, err := s.Segment(context.Background(), segmenttest.Canopy(8, 8, 1)); err == nil {
		t.Errorf("Segment after Close: got nil error, want one")
	}
}

// TestMaskFollowsFrame checks that the mask maps back in place: the left
// half green, the right half grey.
func TestMaskFollowsFrame(t *testing.T) {
	for _, m := range []string{"nchw_scores_fixed.onnx", "nhwc_prob_dynamic.onnx", "nchw_logit_half.onnx", "nhwc_scores_bgr.onnx"} {
		t.Run(m, func(t *testing.T) {
			s := newSeg(t, onnx.Config{ModelPath: filepath.Join("testdata", m)})
			defer s.Close()
			g, c := segmenttest.Grey(300, 200, 1), segmenttest.Canopy(300, 200, 1)
			frame := image.NewRGBA(g.Bounds())
			for y := 0; y < 200; y++ {
				for x := 0; x < 300; x++ {
					if x < 150 {
						frame.SetRGBA(x, y, c.RGBAAt(x, y))
					} else {
						frame.SetRGBA(x, y, g.RGBAAt(x, y))
					}
				}
			}
			res, err := s.Segment(context.Background(), frame)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []image.Point{{10, 10}, {140, 190}, {100, 100}} {
				if v := res.Mask.GrayAt(p.X, p.Y).Y; v != 255 {
					t.Errorf("green pixel %v: mask %d, want 255", p, v)
				}
			}
			for _, p := range []image.Point{{160, 10}, {290, 190}, {200, 100}} {
				if v := res.Mask.GrayAt(p.X, p.Y).Y; v != 0 {
					t.Errorf("grey pixel %v: mask %d, want 0", p, v)
				}
			}
		})
	}
}

func TestCancelledErrorIs(t *testing.T) {
	s := newSeg(t, onnx.Config{ModelPath: "testdata/nchw_scores_fixed.onnx"})
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Segment(ctx, segmenttest.Canopy(8, 8, 1))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}
