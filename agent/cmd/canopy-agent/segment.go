package main

// canopy-agent segment: segment image files, one JSON line each.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/canopy-forest/canopy/agent"
	"github.com/canopy-forest/canopy/agent/capture"
	"github.com/canopy-forest/canopy/agent/config"
	"github.com/canopy-forest/canopy/internal/cli"
	"github.com/canopy-forest/canopy/segment"
)

// segmentLine is one line of segment's output.
type segmentLine struct {
	File        string  `json:"file"`
	Width       int     `json:"width,omitempty"`
	Height      int     `json:"height,omitempty"`
	ForestShare float64 `json:"forest_share"`
	MS          float64 `json:"ms"`
	Mask        string  `json:"mask,omitempty"`
	Segmenter   string  `json:"segmenter,omitempty"`
	Error       string  `json:"error,omitempty"`
}

func cmdSegment(args []string) error {
	fs := flag.NewFlagSet("segment", flag.ContinueOnError)
	cli.SetUsage(fs, "usage: canopy-agent segment [--model FILE] [--segmenter classical|onnx] [--out DIR] IMAGE...")
	var (
		model     = fs.String("model", "", "ONNX model `file` (default: the shipped model, when found)")
		kind      = fs.String("segmenter", "", "classical | onnx (default: onnx with the shipped model when found, else classical)")
		out       = fs.String("out", ".", "`dir`ectory for the <name>.mask.png files")
		library   = fs.String("ort-lib", "", "ONNX Runtime shared `library`")
		provider  = fs.String("provider", "cpu", "cpu | cuda | tensorrt")
		threshold = fs.Float64("threshold", 0, "forest threshold (0 = from the model / automatic)")
		logLevel  = fs.String("log-level", "warn", "debug | info | warn | error")
	)
	if help, err := cli.Parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("no images given")
	}
	log := newLogger(config.Log{Level: *logLevel}, os.Stderr)
	c := config.Segmenter{Kind: *kind, Model: *model, Library: *library, Provider: *provider, Threshold: *threshold}
	if c.Kind == "" && c.Model != "" {
		c.Kind = config.SegmenterONNX
	}
	if c.Kind != "" && c.Kind != config.SegmenterClassical && c.Kind != config.SegmenterONNX {
		return fmt.Errorf("--segmenter %q: want classical or onnx", c.Kind)
	}
	seg, err := agent.NewSegmenter(c, log)
	if err != nil {
		return err
	}
	defer seg.Close()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	name := seg.Info().Name
	enc := json.NewEncoder(os.Stdout)
	failed := 0
	ctx := context.Background()
	for _, file := range fs.Args() {
		line := segmentOne(ctx, seg, file, *out)
		line.Segmenter = name
		if line.Error != "" {
			failed++
		}
		enc.Encode(line)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d images failed", failed, fs.NArg())
	}
	return nil
}

func segmentOne(ctx context.Context, seg segment.Segmenter, file, out string) segmentLine {
	line := segmentLine{File: file}
	fr, err := capture.ReadImageFile(file)
	if err != nil {
		line.Error = err.Error()
		return line
	}
	b := fr.Image.Bounds()
	line.Width, line.Height = b.Dx(), b.Dy()
	start := time.Now()
	r, err := seg.Segment(ctx, fr.Image)
	line.MS = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		line.Error = "segment: " + err.Error()
		return line
	}
	line.ForestShare = r.Share
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	maskPath := filepath.Join(out, base+".mask.png")
	f, err := os.Create(maskPath)
	if err == nil {
		err = png.Encode(f, r.Mask)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		line.Error = "write mask: " + err.Error()
		return line
	}
	line.Mask = maskPath
	return line
}
