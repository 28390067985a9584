//go:build onnx

package onnx

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"os"
	"path/filepath"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/canopy-forest/canopy/internal/ortenv"
	"github.com/canopy-forest/canopy/segment"
)

// Segmenter runs an ONNX segmentation model. It is for one goroutine at a
// time.
type Segmenter struct {
	info     segment.Info
	p        Params
	log      *slog.Logger
	sess     *ort.DynamicAdvancedSession
	runOpts  *ort.RunOptions
	in       *ort.Tensor[float32]
	out      *ort.Tensor[float32]
	outShape outShape
	lut      [3][256]float32 // per model channel: byte -> normalised value
	perm     [3]int          // model channel m <- pixel channel perm[m]
	dec      []uint8         // decision per output pixel: 1 forest
	rs       resizer
	closed   bool
}

// New loads the model at c.ModelPath, fills what c leaves zero from the
// model's metadata and the defaults, checks the input and output shapes and
// runs the model once. Errors about shapes name the shape expected and the
// shape found.
func New(c Config, log *slog.Logger) (*Segmenter, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if c.ModelPath == "" {
		return nil, errors.New("onnx segmenter: no model path")
	}
	data, err := os.ReadFile(c.ModelPath)
	if err != nil {
		return nil, fmt.Errorf("onnx segmenter: read model: %w", err)
	}
	s, err := newFromData(c, data, log)
	if err != nil {
		return nil, fmt.Errorf("onnx segmenter: model %s: %w", c.ModelPath, err)
	}
	return s, nil
}

func newFromData(c Config, data []byte, log *slog.Logger) (*Segmenter, error) {
	if err := ortenv.Init(c.LibraryPath); err != nil {
		return nil, err
	}
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(data)
	if err != nil {
		return nil, fmt.Errorf("read inputs and outputs: %w", err)
	}
	meta, err := readMeta(data)
	if err != nil {
		return nil, err
	}
	p, err := resolve(c, meta, infos(ins), infos(outs))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	s := &Segmenter{
		info: segment.Info{Name: Name, Model: filepath.Base(c.ModelPath), ModelSHA256: hex.EncodeToString(sum[:])},
		p:    p,
		log:  log,
	}
	if err := s.open(c, data); err != nil {
		s.Close()
		return nil, err
	}
	log.Info("onnx segmenter ready", "model", s.info.Model, "model_sha256", s.info.ModelSHA256,
		"input", shapeString(p.InputShape), "output", shapeString(s.out.GetShape()), "layout", p.Layout,
		"forest_class", p.ForestClass, "threshold", p.Threshold, "provider", p.Provider)
	return s, nil
}

func (s *Segmenter) open(c Config, data []byte) error {
	p := s.p
	opts, err := ortenv.SessionOptions(c.Provider, c.Threads, s.log)
	if err != nil {
		return err
	}
	defer opts.Destroy()
	s.sess, err = ort.NewDynamicAdvancedSessionWithONNXData(data, []string{p.InputName}, []string{p.OutputName}, opts)
	if err != nil {
		return fmt.Errorf("new session: %w", err)
	}
	if s.runOpts, err = ort.NewRunOptions(); err != nil {
		return fmt.Errorf("new run options: %w", err)
	}
	if s.in, err = ort.NewEmptyTensor[float32](ort.NewShape(p.InputShape...)); err != nil {
		return fmt.Errorf("new input tensor %s: %w", shapeString(p.InputShape), err)
	}
	// Run once on a blank input: the output's real shape tells how to read it,
	// and the tensor ONNX Runtime allocates is kept for the later runs.
	outs := []ort.Value{nil}
	if err := s.sess.Run([]ort.Value{s.in}, outs); err != nil {
		return fmt.Errorf("first run on input %s: %w", shapeString(p.InputShape), err)
	}
	out, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		if outs[0] != nil {
			outs[0].Destroy()
		}
		return fmt.Errorf("output %q: want a float32 tensor, got %T", p.OutputName, outs[0])
	}
	s.out = out
	if s.outShape, err = readOutShape([]int64(out.GetShape()), p); err != nil {
		return err
	}
	if s.outShape.c >= 2 && p.ForestClass >= s.outShape.c {
		return fmt.Errorf("output %q %s has %d classes: forest class %d is out of range", p.OutputName, shapeString(out.GetShape()), s.outShape.c, p.ForestClass)
	}
	if s.outShape.c == 1 && s.p.Threshold == 0 {
		s.p.Threshold = 0.5
	}
	s.dec = make([]uint8, s.outShape.h*s.outShape.w)
	// Model channel m takes pixel channel perm[m], normalised with the
	// mean and std of model channel m.
	s.perm = [3]int{0, 1, 2}
	if p.Channels == ChannelsBGR {
		s.perm = [3]int{2, 1, 0}
	}
	for m := 0; m < 3; m++ {
		a := 1 / (255 * p.Std[m])
		b := -p.Mean[m] / p.Std[m]
		for v := 0; v < 256; v++ {
			s.lut[m][v] = float32(v)*a + b
		}
	}
	return nil
}

// Params returns the settings in use, after metadata and defaults.
func (s *Segmenter) Params() Params { return s.p }

// Info names the segmenter, its model and the model's SHA-256.
func (s *Segmenter) Info() segment.Info { return s.info }

// Close releases the session and tensors. It is idempotent.
func (s *Segmenter) Close() error {
	if s == nil || s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if s.sess != nil {
		errs = append(errs, s.sess.Destroy())
	}
	if s.runOpts != nil {
		errs = append(errs, s.runOpts.Destroy())
	}
	if s.in != nil {
		errs = append(errs, s.in.Destroy())
	}
	if s.out != nil {
		errs = append(errs, s.out.Destroy())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close onnx segmenter: %w", err)
	}
	return nil
}

// Segment returns the forest mask of frame.
func (s *Segmenter) Segment(ctx context.Context, frame *image.RGBA) (segment.Result, error) {
	if err := ctx.Err(); err != nil {
		return segment.Result{}, fmt.Errorf("onnx segment: %w", err)
	}
	if s.closed {
		return segment.Result{}, errors.New("onnx segment: segmenter is closed")
	}
	if frame == nil {
		return segment.Result{}, errors.New("onnx segment: nil frame")
	}
	b := frame.Bounds()
	mask := newMask(b)
	if b.Empty() {
		return segment.Result{Mask: mask}, nil
	}
	s.preprocess(frame)
	if err := s.run(ctx); err != nil {
		return segment.Result{}, fmt.Errorf("onnx segment: %w", err)
	}
	s.decide()
	forest := s.mapBack(mask)
	return segment.Result{Mask: mask, Share: float64(forest) / float64(b.Dx()*b.Dy())}, nil
}

// run runs the session, terminating it if ctx ends meanwhile.
func (s *Segmenter) run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.runOpts.Terminate() })
	err := s.sess.RunWithOptions([]ort.Value{s.in}, []ort.Value{s.out}, s.runOpts)
	if !stop() {
		// The context ended: the run may have been terminated.
		s.runOpts.UnsetTerminate()
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
	}
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return nil
}

// preprocess resizes frame into the input tensor (bilinear) and normalises it.
func (s *Segmenter) preprocess(frame *image.RGBA) {
	b := frame.Bounds()
	iw, ih := s.p.InputWidth, s.p.InputHeight
	s.rs.prepare(b.Dx(), b.Dy(), iw, ih)
	data := s.in.GetData()
	plane := iw * ih
	nhwc := s.p.Layout == LayoutNHWC
	l0, l1, l2 := &s.lut[0], &s.lut[1], &s.lut[2]
	c0, c1, c2 := s.perm[0], s.perm[1], s.perm[2]
	for y := 0; y < ih; y++ {
		y0, y1, fy := s.rs.y0[y], s.rs.y1[y], s.rs.fy[y]
		row0 := frame.Pix[int(y0)*frame.Stride:]
		row1 := frame.Pix[int(y1)*frame.Stride:]
		for x := 0; x < iw; x++ {
			x0, x1, fx := s.rs.x0[x], s.rs.x1[x], s.rs.fx[x]
			p00 := row0[x0 : x0+3 : x0+3]
			p01 := row0[x1 : x1+3 : x1+3]
			p10 := row1[x0 : x0+3 : x0+3]
			p11 := row1[x1 : x1+3 : x1+3]
			var v [3]uint8
			for c := 0; c < 3; c++ {
				top := int32(p00[c])*(256-fx) + int32(p01[c])*fx
				bot := int32(p10[c])*(256-fx) + int32(p11[c])*fx
				v[c] = uint8((top*(256-fy) + bot*fy + 1<<15) >> 16)
			}
			if nhwc {
				o := 3 * (y*iw + x)
				data[o], data[o+1], data[o+2] = l0[v[c0]], l1[v[c1]], l2[v[c2]]
			} else {
				o := y*iw + x
				data[o], data[o+plane], data[o+2*plane] = l0[v[c0]], l1[v[c1]], l2[v[c2]]
			}
		}
	}
}

// decide turns the output into one forest decision per output pixel.
func (s *Segmenter) decide() {
	o := s.outShape
	data := s.out.GetData()
	n := o.h * o.w
	dec := s.dec[:n]
	th := s.p.Threshold
	if o.c == 1 {
		cut := th
		if s.p.Output == OutputLogit {
			cut = float32(math.Log(float64(th) / float64(1-th)))
		}
		for i := range dec {
			dec[i] = b2u(data[i] >= cut)
		}
		return
	}
	f := s.p.ForestClass
	// Channel k of pixel i is at i*cs + k*ks.
	cs, ks := 1, n
	if !o.chFirst {
		cs, ks = o.c, 1
	}
	if th == 0 { // argmax; a tie goes to the forest class
		for i := range dec {
			base := i * cs
			sf := data[base+f*ks]
			forest := true
			for k := 0; k < o.c; k++ {
				if k != f && data[base+k*ks] > sf {
					forest = false
					break
				}
			}
			dec[i] = b2u(forest)
		}
		return
	}
	// softmax(scores)[f] >= th  <=>  sum_k exp(s_k - s_f) <= 1/th
	limit := float64(1 / th)
	for i := range dec {
		base := i * cs
		sf := data[base+f*ks]
		sum := 0.0
		for k := 0; k < o.c; k++ {
			sum += math.Exp(float64(data[base+k*ks] - sf))
		}
		dec[i] = b2u(sum <= limit)
	}
}

// mapBack writes the decisions into mask (nearest neighbour) and returns the
// number of forest pixels.
func (s *Segmenter) mapBack(mask *image.Gray) int {
	b := mask.Bounds()
	w, h := b.Dx(), b.Dy()
	ow, oh := s.outShape.w, s.outShape.h
	s.rs.prepareBack(w, h, ow, oh)
	forest := 0
	for y := 0; y < h; y++ {
		src := s.dec[s.rs.by[y]*ow : s.rs.by[y]*ow+ow]
		dst := mask.Pix[y*mask.Stride : y*mask.Stride+w]
		for x := range dst {
			if src[s.rs.bx[x]] != 0 {
				dst[x] = 255
				forest++
			}
		}
	}
	return forest
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func newMask(r image.Rectangle) *image.Gray { return image.NewGray(r) }
