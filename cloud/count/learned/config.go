package learned

import (
	"errors"
	"fmt"
)

// Config configures a learned counter. Zero values are filled from the
// model's metadata (canopy.* custom properties), then from the defaults.
type Config struct {
	ModelPath   string  // the ONNX detector (required)
	LibraryPath string  // libonnxruntime.so.1; "" = ortenv.DefaultLibrary()
	Provider    string  // "cpu" (default), "cuda" or "tensorrt"
	Threads     int     // intra-op threads; 0 = ONNX Runtime's default
	GSD         float64 // metres per pixel of the images; 0 = the model's (no resizing)
	Threshold   float64 // score threshold; 0 = the model's canopy.score_threshold
	NMSIoU      float64 // IoU above which overlapping boxes are merged; 0 = canopy.nms_iou
	TileSize    int     // input size; 0 = canopy.input_size (416)
	Overlap     int     // tile overlap in model pixels; 0 = 128
	MaxBoxes    int     // per tile; 0 = 500
	// Preprocess is what is done to the whole image (after resizing) before
	// the model sees it: "none" or "equalize" (per-channel histogram
	// equalisation); "" = the model's canopy.preprocess, else none.
	Preprocess string
}

// Defaults used when neither the config nor the model's metadata says.
const (
	DefaultTileSize  = 416
	DefaultOverlap   = 128
	DefaultThreshold = 0.3
	DefaultNMSIoU    = 0.5
	DefaultMaxBoxes  = 500
	DefaultStride    = 8
	DefaultModelGSD  = 0.1
)

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.ModelPath == "" {
		errs = append(errs, errors.New("no model path"))
	}
	if c.GSD < 0 || c.GSD > 100 {
		errs = append(errs, fmt.Errorf("gsd %v m out of range", c.GSD))
	}
	if c.Threshold < 0 || c.Threshold > 1 {
		errs = append(errs, fmt.Errorf("threshold %v not in [0, 1]", c.Threshold))
	}
	if c.NMSIoU < 0 || c.NMSIoU > 1 {
		errs = append(errs, fmt.Errorf("nms iou %v not in [0, 1]", c.NMSIoU))
	}
	if c.TileSize < 0 || c.TileSize%32 != 0 {
		errs = append(errs, fmt.Errorf("tile size %d not a multiple of 32", c.TileSize))
	}
	if c.Overlap < 0 || (c.TileSize > 0 && c.Overlap >= c.TileSize) {
		errs = append(errs, fmt.Errorf("overlap %d not below the tile size", c.Overlap))
	}
	switch c.Preprocess {
	case "", "none", "equalize":
	default:
		errs = append(errs, fmt.Errorf("unknown preprocessing %q (want none or equalize)", c.Preprocess))
	}
	if c.Threads < 0 || c.MaxBoxes < 0 {
		errs = append(errs, errors.New("negative threads or max boxes"))
	}
	return errors.Join(errs...)
}
