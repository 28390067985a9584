//go:build onnx

package learned

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/internal/digest"
	"github.com/canopy-forest/canopy/internal/ortenv"
	"github.com/canopy-forest/canopy/internal/rgba"
)

// Counter runs a CenterNet-style crown detector. Create it with New.
type Counter struct {
	cfg      Config
	info     count.Info
	kind     string // "centernet" or "yolo"
	stride   int
	yoloRows int // yolo: 4 + classes
	yoloN    int // yolo: candidates per tile
	inName   string
	outNames []string
	modelGSD float64
	log      *slog.Logger
	meta     map[string]string

	mu      sync.Mutex // serialises Run on the one session and its tensors
	session *ort.AdvancedSession
	input   *ort.Tensor[float32]
	outputs []*ort.Tensor[float32]
	closed  bool
}

// Outputs are the names of the detector's outputs, in this order.
var Outputs = []string{"heatmap", "heatmap_max", "wh", "offset"}

// New loads the model at c.ModelPath. The model must be a centernet detector
// (canopy.kind) with one input and the outputs named in Outputs.
func New(c Config, log *slog.Logger) (*Counter, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("learned counter config: %w", err)
	}
	sum, err := digest.File(c.ModelPath)
	if err != nil {
		return nil, fmt.Errorf("learned counter: %w", err)
	}
	if err := ortenv.Init(c.LibraryPath); err != nil {
		return nil, fmt.Errorf("learned counter: %w", err)
	}
	meta, err := readMeta(c.ModelPath)
	if err != nil {
		return nil, fmt.Errorf("learned counter: read metadata of %q: %w", c.ModelPath, err)
	}
	ins, outs, err := ort.GetInputOutputInfo(c.ModelPath)
	if err != nil {
		return nil, fmt.Errorf("learned counter: read inputs and outputs of %q: %w", c.ModelPath, err)
	}
	if len(ins) != 1 {
		return nil, fmt.Errorf("learned counter: model %q has %d inputs, want 1", c.ModelPath, len(ins))
	}
	kind := meta["canopy.kind"]
	if kind == "" {
		kind = guessKind(outs)
	}
	k := &Counter{kind: kind, inName: ins[0].Name, log: log, meta: meta}
	switch kind {
	case "centernet":
		k.stride = metaInt(meta, "canopy.stride", DefaultStride)
		k.outNames = Outputs
		if c.TileSize == 0 {
			c.TileSize = metaInt(meta, "canopy.input_size", DefaultTileSize)
		}
		if c.Threshold == 0 {
			c.Threshold = metaFloat(meta, "canopy.score_threshold", DefaultThreshold)
		}
		if c.NMSIoU == 0 {
			c.NMSIoU = metaFloat(meta, "canopy.nms_iou", DefaultNMSIoU)
		}
	case "yolo", "yolov8":
		k.kind, k.stride = "yolo", 1
		if len(outs) != 1 || len(outs[0].Dimensions) != 3 {
			return nil, fmt.Errorf("learned counter: YOLO model %q must have one output of shape 1 x (4+classes) x N", c.ModelPath)
		}
		k.outNames = []string{outs[0].Name}
		if c.TileSize == 0 {
			c.TileSize = metaInt(meta, "canopy.input_size", 0)
		}
		if d := ins[0].Dimensions; c.TileSize == 0 && len(d) == 4 && d[2] > 0 {
			c.TileSize = int(d[2])
		}
		if c.TileSize == 0 {
			c.TileSize = 640
		}
		k.yoloRows = int(outs[0].Dimensions[1])
		k.yoloN = int(outs[0].Dimensions[2])
		if k.yoloN <= 0 { // dynamic: the YOLOv8 heads at strides 8, 16 and 32
			for _, st := range []int{8, 16, 32} {
				k.yoloN += (c.TileSize / st) * (c.TileSize / st)
			}
		}
		if k.yoloRows < 5 {
			return nil, fmt.Errorf("learned counter: YOLO output of %q has %d rows, want 4 + classes", c.ModelPath, k.yoloRows)
		}
		if c.Threshold == 0 {
			c.Threshold = metaFloat(meta, "canopy.score_threshold", 0.25)
		}
		if c.NMSIoU == 0 {
			c.NMSIoU = metaFloat(meta, "canopy.nms_iou", 0.45)
		}
	default:
		return nil, fmt.Errorf("learned counter: model %q is of kind %q, want centernet or yolo", c.ModelPath, kind)
	}
	if c.Overlap == 0 && c.TileSize <= DefaultOverlap*2 {
		c.Overlap = c.TileSize / 4
	}
	if c.Overlap == 0 {
		c.Overlap = DefaultOverlap
	}
	if c.Preprocess == "" {
		c.Preprocess = meta["canopy.preprocess"]
	}
	switch c.Preprocess {
	case "", "none":
		c.Preprocess = "none"
	case "equalize":
	default:
		return nil, fmt.Errorf("learned counter: model %q asks for unknown preprocessing %q", c.ModelPath, c.Preprocess)
	}
	if c.MaxBoxes == 0 {
		c.MaxBoxes = DefaultMaxBoxes
	}
	if c.TileSize%k.stride != 0 || c.Overlap >= c.TileSize {
		return nil, fmt.Errorf("learned counter: tile size %d does not fit stride %d and overlap %d", c.TileSize, k.stride, c.Overlap)
	}
	name := meta["canopy.name"]
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(c.ModelPath), filepath.Ext(c.ModelPath))
	}
	k.cfg = c
	k.info = count.Info{Method: "learned", Model: name, ModelSHA256: sum}
	k.modelGSD = metaFloat(meta, "canopy.gsd_m", DefaultModelGSD)
	if err := k.open(); err != nil {
		k.Close()
		return nil, fmt.Errorf("learned counter: load %q: %w", c.ModelPath, err)
	}
	log.Info("learned counter ready", "model", name, "kind", k.kind, "sha256", sum[:12], "tile", c.TileSize,
		"threshold", c.Threshold, "nms_iou", c.NMSIoU, "model_gsd", k.modelGSD, "preprocess", c.Preprocess)
	return k, nil
}

func (k *Counter) open() error {
	s := int64(k.cfg.TileSize)
	var err error
	if k.input, err = ort.NewEmptyTensor[float32](ort.NewShape(1, 3, s, s)); err != nil {
		return err
	}
	shapes := []ort.Shape{ort.NewShape(1, int64(k.yoloRows), int64(k.yoloN))}
	if k.kind == "centernet" {
		f := s / int64(k.stride)
		shapes = []ort.Shape{ort.NewShape(1, 1, f, f), ort.NewShape(1, 1, f, f), ort.NewShape(1, 2, f, f), ort.NewShape(1, 2, f, f)}
	}
	for _, sh := range shapes {
		t, err := ort.NewEmptyTensor[float32](sh)
		if err != nil {
			return err
		}
		k.outputs = append(k.outputs, t)
	}
	opts, err := ortenv.SessionOptions(k.cfg.Provider, k.cfg.Threads, k.log)
	if err != nil {
		return err
	}
	defer opts.Destroy()
	outs := make([]ort.Value, len(k.outputs))
	for i, t := range k.outputs {
		outs[i] = t
	}
	k.session, err = ort.NewAdvancedSession(k.cfg.ModelPath, []string{k.inName}, k.outNames,
		[]ort.Value{k.input}, outs, opts)
	return err
}

// guessKind tells a model without canopy.kind by its outputs: the four
// CenterNet heads by name, or one 3-dimensional YOLO output.
func guessKind(outs []ort.InputOutputInfo) string {
	if len(outs) == 1 && len(outs[0].Dimensions) == 3 {
		return "yolo"
	}
	return "centernet"
}

// Info names the method, the model and its SHA-256.
func (k *Counter) Info() count.Info { return k.info }

// Metadata returns the model's custom metadata (canopy.* properties).
func (k *Counter) Metadata() map[string]string {
	out := make(map[string]string, len(k.meta))
	for key, v := range k.meta {
		out[key] = v
	}
	return out
}

// ModelGSD is the ground sample distance the model works at, in metres per
// pixel (canopy.gsd_m, default 0.1): images are resized to it.
func (k *Counter) ModelGSD() float64 { return k.modelGSD }

// Config returns the configuration in use, with the model's values filled in.
func (k *Counter) Config() Config { return k.cfg }

// Count finds the crowns in img, taken to be at the configured GSD.
func (k *Counter) Count(ctx context.Context, img *image.RGBA) (count.Result, error) {
	return k.CountAt(ctx, img, k.cfg.GSD)
}

// CountAt finds the crowns in img, whose ground sample distance is gsd
// metres per pixel (0: the model's own).
func (k *Counter) CountAt(ctx context.Context, img *image.RGBA, gsd float64) (count.Result, error) {
	img = rgba.Of(img)
	work, back := count.Rescale(img, gsd, k.modelGSD)
	var lv *Levels // nil: plain
	if k.cfg.Preprocess == "equalize" {
		lv = EqualizeLevels(work) // applied while each tile is filled
	}
	w, h := work.Rect.Dx(), work.Rect.Dy()
	tiles := count.Tiles(w, h, k.cfg.TileSize, k.cfg.Overlap)
	per := make([][]count.Box, len(tiles))
	for i, r := range tiles {
		if err := ctx.Err(); err != nil {
			return count.Result{}, err
		}
		b, err := k.runTile(work, r, lv)
		if err != nil {
			return count.Result{}, fmt.Errorf("learned counter: tile %v: %w", r, err)
		}
		per[i] = Place(b, r, w, h)
	}
	boxes := count.Merge(tiles, per, k.cfg.NMSIoU)
	if back != 1 {
		ow, oh := float64(img.Rect.Dx()), float64(img.Rect.Dy())
		for i := range boxes {
			boxes[i] = boxes[i].Scale(back).Clip(ow, oh)
		}
	}
	if boxes == nil {
		boxes = []count.Box{}
	}
	return count.Result{Count: len(boxes), Boxes: boxes, Info: k.info}, nil
}

// RunTile runs the bare model on tile r of img (no decoding), for benchmarks.
func (k *Counter) RunTile(img *image.RGBA, r image.Rectangle) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return count.ErrClosed
	}
	FillTile(k.input.GetData(), img, r, k.cfg.TileSize, nil)
	return k.session.Run()
}

func (k *Counter) runTile(img *image.RGBA, r image.Rectangle, lv *Levels) ([]count.Box, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, count.ErrClosed
	}
	FillTile(k.input.GetData(), img, r, k.cfg.TileSize, lv)
	if err := k.session.Run(); err != nil {
		return nil, err
	}
	if k.kind == "yolo" {
		return DecodeYOLO(k.outputs[0].GetData(), k.yoloRows, k.yoloN, float32(k.cfg.Threshold), k.cfg.MaxBoxes), nil
	}
	f := k.cfg.TileSize / k.stride
	return Decode(Heads{
		Heatmap: k.outputs[0].GetData(), HeatmapMax: k.outputs[1].GetData(),
		WH: k.outputs[2].GetData(), Offset: k.outputs[3].GetData(),
		FH: f, FW: f, Stride: k.stride,
	}, float32(k.cfg.Threshold), k.cfg.MaxBoxes), nil
}

// Close releases the session. It is idempotent.
func (k *Counter) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil
	}
	k.closed = true
	if k.session != nil {
		k.session.Destroy()
	}
	if k.input != nil {
		k.input.Destroy()
	}
	for _, t := range k.outputs {
		t.Destroy()
	}
	return nil
}

func readMeta(path string) (map[string]string, error) {
	m, err := ort.GetModelMetadata(path)
	if err != nil {
		return nil, err
	}
	defer m.Destroy()
	keys, err := m.GetCustomMetadataMapKeys()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, key := range keys {
		v, ok, err := m.LookupCustomMetadataMap(key)
		if err != nil {
			return nil, err
		}
		if ok {
			out[key] = v
		}
	}
	return out, nil
}

func metaInt(m map[string]string, key string, def int) int {
	if v, err := strconv.Atoi(strings.TrimSpace(m[key])); err == nil && v > 0 {
		return v
	}
	return def
}

func metaFloat(m map[string]string, key string, def float64) float64 {
	if v, err := strconv.ParseFloat(strings.TrimSpace(m[key]), 64); err == nil && v > 0 {
		return v
	}
	return def
}
