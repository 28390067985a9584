package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	_ "image/jpeg" // decoders for the images to count
	"image/png"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	_ "golang.org/x/image/tiff"

	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/cloud/count/auto"
	"github.com/canopy-forest/canopy/internal/rgba"
)

// counterFlags are the flags count and eval share.
type counterFlags struct {
	method, model, lib string
	gsd, threshold     float64
	threads            int
	verbose            bool
}

func (c *counterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.method, "method", "auto", "counting method: auto (learned if its model is found, else classical), learned or classical")
	fs.StringVar(&c.model, "model", "", "ONNX crown detector (default: crown-detector.onnx beside the binary, in ../share/canopy/models or ./models)")
	fs.StringVar(&c.lib, "ort-lib", "", "ONNX Runtime library (default: $CANOPY_ORT_LIB or the usual places)")
	fs.Float64Var(&c.gsd, "gsd", 0, "ground sample distance of the images in metres per pixel (default 0.1; others are resized to it)")
	fs.Float64Var(&c.threshold, "threshold", 0, "score threshold of the learned counter (default: the model's)")
	fs.IntVar(&c.threads, "threads", 0, "ONNX Runtime threads (default: its own)")
	fs.BoolVar(&c.verbose, "v", false, "log to stderr")
}

func (c *counterFlags) counter() (count.Counter, error) {
	level := slog.LevelWarn
	if c.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	return auto.New(auto.Config{
		Method: c.method, ModelPath: c.model, LibraryPath: c.lib, GSD: c.gsd, Threshold: c.threshold, Threads: c.threads,
	}, log)
}

// readImage decodes a PNG, JPEG or TIFF file.
func readImage(path string) (*image.RGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > 400e6 {
		return nil, fmt.Errorf("decode %s: %dx%d pixels is too large", path, cfg.Width, cfg.Height)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return rgba.Of(img), nil
}

type countOut struct {
	Image string `json:"image"`
	count.Result
	Error string `json:"error,omitempty"`
}

func cmdCount(args []string) error {
	fs := flag.NewFlagSet("count", flag.ContinueOnError)
	var cf counterFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON (with the boxes)")
	annotate := fs.String("annotate", "", "write each image with its boxes drawn, as DIR/<name>.annotated.png")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: canopy-cloud count [flags] IMAGE...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("no images given")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c, err := cf.counter()
	if err != nil {
		return err
	}
	defer c.Close()
	var outs []countOut
	failed := 0
	for _, path := range fs.Args() {
		o := countOut{Image: path}
		res, err := countFile(ctx, c, path, *annotate)
		if err != nil {
			failed++
			o.Error = err.Error()
			fmt.Fprintf(os.Stderr, "canopy-cloud count: %s: %v\n", path, err)
		} else {
			o.Result = res
		}
		outs = append(outs, o)
		if !*asJSON && err == nil {
			fmt.Printf("%s\t%d\n", path, res.Count)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(outs); err != nil {
			return err
		}
	} else {
		info := c.Info()
		fmt.Fprintf(os.Stderr, "method %s%s\n", info.Method, modelNote(info))
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d images failed", failed, len(fs.Args()))
	}
	return nil
}

func modelNote(i count.Info) string {
	if i.Model == "" {
		return ""
	}
	sha := i.ModelSHA256
	if len(sha) > 12 {
		sha = sha[:12]
	}
	return fmt.Sprintf(", model %s (sha256 %s)", i.Model, sha)
}

func countFile(ctx context.Context, c count.Counter, path, annotateDir string) (count.Result, error) {
	img, err := readImage(path)
	if err != nil {
		return count.Result{}, err
	}
	res, err := c.Count(ctx, img)
	if err != nil {
		return count.Result{}, err
	}
	if annotateDir != "" {
		out := filepath.Join(annotateDir, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))+".annotated.png")
		if err := writePNG(out, count.Draw(img, res.Boxes, count.BoxColour, 2)); err != nil {
			return res, err
		}
	}
	return res, nil
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
