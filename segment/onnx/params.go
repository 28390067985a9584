package onnx

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Layouts, channel orders and output kinds.
const (
	LayoutNCHW = "nchw"
	LayoutNHWC = "nhwc"

	ChannelsRGB = "rgb"
	ChannelsBGR = "bgr"

	OutputProbability = "probability"
	OutputLogit       = "logit"
)

// Metadata keys read from the model's custom metadata map.
const (
	MetaLayout       = "canopy.layout"
	MetaInputSize    = "canopy.input_size"
	MetaMean         = "canopy.mean"
	MetaStd          = "canopy.std"
	MetaChannels     = "canopy.channels"
	MetaForestClass  = "canopy.forest_class"
	MetaThreshold    = "canopy.threshold"
	MetaOutput       = "canopy.output"
	MetaOutputLayout = "canopy.output_layout"
)

// DefaultInputSize is the input width and height used for a model with a
// dynamic input size and no size in config or metadata.
const DefaultInputSize = 256

// Params are the settings a Segmenter runs with, after config, metadata and
// defaults.
type Params struct {
	InputName, OutputName   string
	InputShape              []int64 // the shape the segmenter feeds
	Layout                  string  // LayoutNCHW or LayoutNHWC
	InputWidth, InputHeight int
	Mean, Std               [3]float32
	Channels                string  // ChannelsRGB or ChannelsBGR
	ForestClass             int     // index of the forest class in a score output
	Threshold               float32 // 0 means argmax (score output only)
	Output                  string  // one-channel output: OutputProbability or OutputLogit
	OutputLayout            string  // "" (guess from the shape), LayoutNCHW or LayoutNHWC
	Provider                string
}

// tensorInfo is what resolve needs to know of a model input or output.
type tensorInfo struct {
	Name    string
	Tensor  bool   // false for sequences, maps ...
	Type    string // element type, e.g. "float32" (ONNX Runtime's name)
	Float32 bool
	Dims    []int64
}

func shapeString(d []int64) string {
	parts := make([]string, len(d))
	for i, v := range d {
		if v < 0 {
			parts[i] = "?"
		} else {
			parts[i] = strconv.FormatInt(v, 10)
		}
	}
	return "(" + strings.Join(parts, ",") + ")"
}

// resolve fills Params from c, then the metadata, then the defaults, and
// checks them against the model's input and output.
func resolve(c Config, meta map[string]string, ins, outs []tensorInfo) (Params, error) {
	var p Params
	if len(ins) != 1 {
		names := make([]string, len(ins))
		for i, in := range ins {
			names[i] = in.Name
		}
		return p, fmt.Errorf("want one image input (N,3,H,W) or (N,H,W,3), got %d inputs %q", len(ins), names)
	}
	in := ins[0]
	if !in.Tensor || !in.Float32 {
		return p, fmt.Errorf("input %q: want a float32 tensor (N,3,H,W) or (N,H,W,3), got %s %s", in.Name, in.Type, shapeString(in.Dims))
	}
	d := in.Dims
	if len(d) != 4 {
		return p, fmt.Errorf("input %q: want shape (N,3,H,W) or (N,H,W,3), got %s", in.Name, shapeString(d))
	}
	p.InputName = in.Name
	var errs []error
	// Layout.
	p.Layout = strings.ToLower(first(c.Layout, meta[MetaLayout]))
	switch p.Layout {
	case "":
		switch {
		case d[1] == 3:
			p.Layout = LayoutNCHW
		case d[3] == 3:
			p.Layout = LayoutNHWC
		default:
			return p, fmt.Errorf("input %q: want shape (N,3,H,W) or (N,H,W,3), got %s", in.Name, shapeString(d))
		}
	case LayoutNCHW:
		if d[1] != 3 && d[1] > 0 {
			return p, fmt.Errorf("input %q: layout nchw wants shape (N,3,H,W), got %s", in.Name, shapeString(d))
		}
	case LayoutNHWC:
		if d[3] != 3 && d[3] > 0 {
			return p, fmt.Errorf("input %q: layout nhwc wants shape (N,H,W,3), got %s", in.Name, shapeString(d))
		}
	default:
		return p, fmt.Errorf("layout %q: want nchw or nhwc", p.Layout)
	}
	if d[0] > 1 {
		return p, fmt.Errorf("input %q: want batch size 1 or dynamic, got shape %s", in.Name, shapeString(d))
	}
	hd, wd := d[2], d[3]
	if p.Layout == LayoutNHWC {
		hd, wd = d[1], d[2]
	}
	// Size: config, metadata, the model's fixed size, the default.
	w, h := c.InputWidth, c.InputHeight
	if w == 0 && h == 0 {
		if s := meta[MetaInputSize]; s != "" {
			var err error
			if w, h, err = parseSize(s); err != nil {
				errs = append(errs, fmt.Errorf("metadata %s: %w", MetaInputSize, err))
			}
		}
	}
	if w == 0 && wd > 0 {
		w = int(wd)
	}
	if h == 0 && hd > 0 {
		h = int(hd)
	}
	if w == 0 {
		w = h
	}
	if h == 0 {
		h = w
	}
	if w == 0 {
		w, h = DefaultInputSize, DefaultInputSize
	}
	if w < 1 || h < 1 {
		errs = append(errs, fmt.Errorf("input size %dx%d: want positive", w, h))
	}
	if (wd > 0 && int(wd) != w) || (hd > 0 && int(hd) != h) {
		return p, fmt.Errorf("input %q: the model's input is fixed at %s, config or metadata asks for %dx%d (WxH)", in.Name, shapeString(d), w, h)
	}
	p.InputWidth, p.InputHeight = w, h
	if p.Layout == LayoutNCHW {
		p.InputShape = []int64{1, 3, int64(h), int64(w)}
	} else {
		p.InputShape = []int64{1, int64(h), int64(w), 3}
	}
	// Normalisation.
	p.Mean, p.Std = c.Mean, c.Std
	if p.Mean == ([3]float32{}) {
		if s := meta[MetaMean]; s != "" {
			v, err := parseTriple(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("metadata %s: %w", MetaMean, err))
			}
			p.Mean = v
		}
	}
	if p.Std == ([3]float32{}) {
		p.Std = [3]float32{1, 1, 1}
		if s := meta[MetaStd]; s != "" {
			v, err := parseTriple(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("metadata %s: %w", MetaStd, err))
			} else {
				p.Std = v
			}
		}
	}
	for i := range 3 {
		if m, sd := float64(p.Mean[i]), float64(p.Std[i]); sd == 0 || math.IsNaN(m+sd) || math.IsInf(m+sd, 0) {
			errs = append(errs, fmt.Errorf("mean[%d] %g, std[%d] %g: want finite numbers and a non-zero std", i, m, i, sd))
		}
	}
	p.Channels = strings.ToLower(first(c.Channels, meta[MetaChannels], ChannelsRGB))
	if p.Channels != ChannelsRGB && p.Channels != ChannelsBGR {
		errs = append(errs, fmt.Errorf("channels %q: want rgb or bgr", p.Channels))
	}
	// Forest class and threshold.
	switch {
	case c.ForestClass == ClassZero:
		p.ForestClass = 0
	case c.ForestClass > 0:
		p.ForestClass = c.ForestClass
	case c.ForestClass < 0:
		errs = append(errs, fmt.Errorf("forest class %d: want ClassZero (-1), 0 (from metadata) or a class index", c.ForestClass))
	default:
		p.ForestClass = 1
		if s := meta[MetaForestClass]; s != "" {
			v, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || v < 0 {
				errs = append(errs, fmt.Errorf("metadata %s %q: want a class index", MetaForestClass, s))
			} else {
				p.ForestClass = v
			}
		}
	}
	p.Threshold = c.Threshold
	if p.Threshold == 0 {
		if s := meta[MetaThreshold]; s != "" {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
			if err != nil {
				errs = append(errs, fmt.Errorf("metadata %s %q: want a number", MetaThreshold, s))
			}
			p.Threshold = float32(v)
		}
	}
	if !(p.Threshold >= 0 && p.Threshold < 1) { // also NaN
		errs = append(errs, fmt.Errorf("threshold %g: want 0 < threshold < 1 (or 0 for the default)", p.Threshold))
	}
	p.Output = strings.ToLower(first(c.Output, meta[MetaOutput], OutputProbability))
	if p.Output != OutputProbability && p.Output != OutputLogit {
		errs = append(errs, fmt.Errorf("output %q: want probability or logit", p.Output))
	}
	p.OutputLayout = strings.ToLower(meta[MetaOutputLayout])
	if p.OutputLayout != "" && p.OutputLayout != LayoutNCHW && p.OutputLayout != LayoutNHWC {
		errs = append(errs, fmt.Errorf("metadata %s %q: want nchw or nhwc", MetaOutputLayout, p.OutputLayout))
	}
	p.Provider = strings.ToLower(first(c.Provider, "cpu"))
	// Output.
	if len(outs) == 0 {
		return p, errors.New("want an output (N,C,H,W), (N,H,W,C) or (N,H,W), got none")
	}
	out := outs[0]
	if !out.Tensor || !out.Float32 {
		return p, fmt.Errorf("output %q: want a float32 tensor (N,C,H,W), (N,H,W,C) or (N,H,W), got %s %s", out.Name, out.Type, shapeString(out.Dims))
	}
	if r := len(out.Dims); r != 3 && r != 4 {
		return p, fmt.Errorf("output %q: want shape (N,C,H,W), (N,H,W,C) or (N,H,W), got %s", out.Name, shapeString(out.Dims))
	}
	p.OutputName = out.Name
	return p, errors.Join(errs...)
}

// outShape is how to read the output tensor.
type outShape struct {
	c, h, w int
	chFirst bool
}

// readOutShape interprets the output's shape after a run.
func readOutShape(d []int64, p Params) (outShape, error) {
	var o outShape
	bad := func() (outShape, error) {
		return outShape{}, fmt.Errorf("output %q: want shape (1,C,H,W), (1,H,W,C) or (1,H,W) for input %s, got %s", p.OutputName, shapeString(p.InputShape), shapeString(d))
	}
	for _, v := range d {
		if v < 1 {
			return bad()
		}
	}
	switch len(d) {
	case 3:
		if d[0] != 1 {
			return bad()
		}
		o = outShape{c: 1, h: int(d[1]), w: int(d[2]), chFirst: true}
	case 4:
		if d[0] != 1 {
			return bad()
		}
		first := d[1] < d[3]
		switch {
		case p.OutputLayout == LayoutNCHW:
			first = true
		case p.OutputLayout == LayoutNHWC:
			first = false
		case d[1] == d[3]:
			first = p.Layout == LayoutNCHW
		}
		if first {
			o = outShape{c: int(d[1]), h: int(d[2]), w: int(d[3]), chFirst: true}
		} else {
			o = outShape{c: int(d[3]), h: int(d[1]), w: int(d[2])}
		}
	default:
		return bad()
	}
	return o, nil
}

func first(s ...string) string {
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// parseSize reads "W" or "WxH".
func parseSize(s string) (w, h int, err error) {
	ws, hs, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "x")
	if w, err = strconv.Atoi(ws); err != nil {
		return 0, 0, fmt.Errorf("size %q: want W or WxH", s)
	}
	h = w
	if ok {
		if h, err = strconv.Atoi(hs); err != nil {
			return 0, 0, fmt.Errorf("size %q: want W or WxH", s)
		}
	}
	if w < 1 || h < 1 {
		return 0, 0, fmt.Errorf("size %q: want positive", s)
	}
	return w, h, nil
}

// parseTriple reads "a,b,c" (or one number for all three).
func parseTriple(s string) ([3]float32, error) {
	parts := strings.Split(s, ",")
	var v [3]float32
	if len(parts) != 1 && len(parts) != 3 {
		return v, fmt.Errorf("%q: want r,g,b", s)
	}
	for i := range v {
		f, err := strconv.ParseFloat(strings.TrimSpace(parts[min(i, len(parts)-1)]), 32)
		if err != nil {
			return v, fmt.Errorf("%q: want r,g,b", s)
		}
		v[i] = float32(f)
	}
	return v, nil
}
