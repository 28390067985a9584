package countcmd

import (
	"bytes"
	"context"
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
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/ortho"
	"github.com/canopy-forest/canopy/cloud/place"
	"github.com/canopy-forest/canopy/cloud/raster"
	"github.com/canopy-forest/canopy/internal/cli"
	"github.com/canopy-forest/canopy/internal/photo"
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
	fs.Float64Var(&c.gsd, "gsd", 0, "ground sample distance of every image in metres per pixel, overriding what the images say (images are resized to the model's GSD, 0.1 m)")
	fs.Float64Var(&c.threshold, "threshold", 0, "score threshold of the learned counter (default: the model's)")
	fs.IntVar(&c.threads, "threads", 0, "ONNX Runtime threads (default: its own)")
	fs.BoolVar(&c.verbose, "v", false, "log to stderr")
}

// start builds the counter that the flags ask for, and a context that
// ends on SIGINT; stop closes both.
func (c *counterFlags) start() (ctx context.Context, cnt count.Counter, stop func(), err error) {
	level := slog.LevelWarn
	if c.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cnt, err = auto.New(auto.Config{
		Method: c.method, ModelPath: c.model, LibraryPath: c.lib, GSD: c.gsd, Threshold: c.threshold, Threads: c.threads,
	}, log)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	return ctx, cnt, func() { cnt.Close(); cancel() }, nil
}

// readImage decodes a PNG, JPEG or TIFF file.
func readImage(path string) (*image.RGBA, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decodeImage(path, b)
}

// decodeImage decodes the bytes b of the file path.
func decodeImage(path string, b []byte) (*image.RGBA, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > 400e6 {
		return nil, fmt.Errorf("decode %s: %dx%d pixels is too large (GeoTIFFs are read window by window when GDAL is installed)", path, cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return rgba.Of(img), nil
}

// countOut is one image's line of count --json: the count, the boxes (with
// lon and lat when placed), the method, the GSD counted at and how the
// boxes were placed.
type countOut struct {
	Image string   `json:"image"`
	Count int      `json:"count"`
	Boxes []db.Box `json:"boxes"`
	count.Info
	db.Placement
	Error string `json:"error,omitempty"`
}

// Count is canopy-cloud count.
var Count = cli.Command{Name: "count", Summary: "count the trees in image files", Run: cmdCount}

func cmdCount(args []string) error {
	fs := flag.NewFlagSet("count", flag.ContinueOnError)
	var cf counterFlags
	cf.register(fs)
	gsdDefault := fs.Float64("gsd-default", 0, "ground sample distance (m per pixel) of images that carry none (no GeoTIFF pixel size, no camera data and height): default the counter's own, 0.1")
	asJSON := fs.Bool("json", false, "print JSON (gsd_m per image; boxes with lon, lat when the image is georeferenced)")
	annotate := fs.String("annotate", "", "write each image with its boxes drawn, as DIR/<name>.annotated.png (DIR is created)")
	cli.SetUsage(fs, "usage: canopy-cloud count [flags] IMAGE...\n\nEach image is counted at its own ground sample distance: --gsd, else a GeoTIFF's pixel size,\nelse the camera model (EXIF focal length, sensor width, DJI RelativeAltitude), else --gsd-default.\nGeoTIFFs (orthophotos of any size) are read window by window through GDAL. Flags:")
	if help, err := cli.Parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("no images given")
	}
	if *gsdDefault < 0 || cf.gsd < 0 {
		return errors.New("--gsd and --gsd-default must be positive (metres per pixel)")
	}
	if *annotate != "" {
		if err := os.MkdirAll(*annotate, 0o755); err != nil {
			return fmt.Errorf("--annotate: %w", err)
		}
	}
	ctx, c, stop, err := cf.start()
	if err != nil {
		return err
	}
	defer stop()
	o := countOpts{gsd: cf.gsd, gsdDefault: *gsdDefault, annotate: *annotate}
	if o.gsdDefault == 0 {
		o.gsdDefault = count.ModelGSDOf(c)
	}
	var outs []countOut
	failed := 0
	for _, path := range fs.Args() {
		out, _, err := countPath(ctx, c, path, o)
		if err != nil {
			failed++
			out = countOut{Image: path, Error: err.Error()}
			fmt.Fprintf(os.Stderr, "canopy-cloud count: %s: %v\n", path, err)
		}
		outs = append(outs, out)
		if !*asJSON && err == nil {
			fmt.Printf("%s\t%d\n", path, out.Count)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if *asJSON {
		if err := cli.PrintJSON(os.Stdout, outs); err != nil {
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

// countFile counts one image for eval: at its own GSD when it carries one,
// else at the counter's configured one.
func countFile(ctx context.Context, c count.Counter, path, annotateDir string) (count.Result, error) {
	_, res, err := countPath(ctx, c, path, countOpts{annotate: annotateDir})
	return res, err
}

// countOpts say how count treats each image.
type countOpts struct {
	gsd        float64 // forced for every image (0: per image)
	gsdDefault float64 // for images that carry none (0: the counter's configured one)
	annotate   string  // folder of annotated images ("" = none)
}

// countPath counts the image at path: a TIFF window by window through GDAL
// when GDAL is installed, anything else decoded whole. It returns the
// output line and the counter's result (boxes in the image's pixels).
func countPath(ctx context.Context, c count.Counter, path string, o countOpts) (countOut, count.Result, error) {
	if isTIFFFile(path) && raster.Available() == nil {
		return countRaster(ctx, c, path, o)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return countOut{}, count.Result{}, err
	}
	img, err := decodeImage(path, b)
	if err != nil {
		return countOut{}, count.Result{}, err
	}
	meta := photo.Read(b)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	g := meta.Ground(w, photo.Options{GSDM: o.gsd})
	notes := append(meta.Problems[:len(meta.Problems):len(meta.Problems)], g.Note)
	where := place.Image{Width: w, Height: h, GSD: g.GSDM, YawDeg: meta.Yaw(), PitchDeg: meta.GimbalPitchDeg, GeoRef: meta.GeoTIFF,
		Note: strings.Trim(strings.Join(notes, "; "), "; ")}
	if meta.GPS != nil {
		where.Lat, where.Lon = &meta.GPS.Lat, &meta.GPS.Lon
	}
	gsd, source := g.GSDM, g.Source
	var res count.Result
	switch {
	case gsd > 0:
		res, err = count.CountAt(ctx, c, img, gsd)
	case o.gsdDefault > 0:
		gsd, source = o.gsdDefault, db.GSDDefault
		res, err = count.CountAt(ctx, c, img, gsd)
	default:
		gsd, source = count.ModelGSDOf(c), db.GSDDefault
		res, err = c.Count(ctx, img)
	}
	if err != nil {
		return countOut{}, count.Result{}, err
	}
	out := placed(path, res, where, gsd, source)
	if o.annotate != "" {
		if err := writeAnnotated(o.annotate, path, img, res.Boxes); err != nil {
			return out, res, err
		}
	}
	return out, res, nil
}

// countRaster counts a (Geo)TIFF window by window through GDAL.
func countRaster(ctx context.Context, c count.Counter, path string, o countOpts) (countOut, count.Result, error) {
	in, err := raster.Inspect(ctx, path)
	if err != nil {
		return countOut{}, count.Result{}, err
	}
	gsd, source := o.gsd, photo.SourceConfig
	if gsd <= 0 && in.GeoRef != nil {
		gsd, source = photo.PixelSizeM(*in.GeoRef), photo.SourceGeoTIFF
	}
	if gsd <= 0 {
		gsd, source = o.gsdDefault, db.GSDDefault
		if gsd <= 0 {
			gsd = count.ModelGSDOf(c)
		}
	}
	res, _, err := ortho.Count(ctx, c, path, in, gsd, ortho.Options{})
	if err != nil {
		return countOut{}, count.Result{}, err
	}
	where := place.Image{Width: in.Width, Height: in.Height, GeoRef: in.GeoRef}
	out := placed(path, res, where, gsd, source)
	if o.annotate != "" {
		view, f, err := ortho.Overview(ctx, path, in, 4096)
		if err != nil {
			return out, res, err
		}
		boxes := make([]count.Box, len(res.Boxes))
		for i, b := range res.Boxes {
			boxes[i] = b.Scale(1 / f)
		}
		if err := writeAnnotated(o.annotate, path, view, boxes); err != nil {
			return out, res, err
		}
	}
	return out, res, nil
}

// placed is the output line of a counted image, its boxes placed on the
// map when where allows.
func placed(path string, res count.Result, where place.Image, gsd float64, source string) countOut {
	pl, perr := place.New(where)
	return countOut{Image: path, Count: res.Count, Boxes: place.Boxes(pl, res.Boxes), Info: res.Info,
		Placement: place.Placement(pl, perr, gsd, source)}
}

func writeAnnotated(dir, path string, img *image.RGBA, boxes []count.Box) error {
	out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))+".annotated.png")
	return writePNG(out, count.Draw(img, boxes, count.BoxColour, count.LineWidth(img.Rect.Dx(), img.Rect.Dy())))
}

// isTIFFFile reports whether the file starts like a TIFF or BigTIFF.
func isTIFFFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var h [4]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return false
	}
	return raster.IsTIFF(h[:])
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
