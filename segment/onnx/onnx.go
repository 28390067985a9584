//go:build onnx

package onnx

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
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
	if err := ortenv.SetMemory(opts, c.Memory); err != nil {
		return err
	}
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

// InputSize is the model's input size: every frame is resized to it.
func (s *Segmenter) InputSize() image.Point { return image.Pt(s.p.InputWidth, s.p.InputHeight) }

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
// Each output pixel reads two source pixels in each of two rows, with
// weights from the resizer's tables; the branches on layout and channel
// order are taken once per row, not per pixel.
func (s *Segmenter) preprocess(frame *image.RGBA) {
	b := frame.Bounds()
	iw, ih := s.p.InputWidth, s.p.InputHeight
	s.rs.prepare(b.Dx(), b.Dy(), iw, ih)
	data := s.in.GetData()
	plane := iw * ih
	nhwc := s.p.Layout == LayoutNHWC
	// Pixel channel c (R, G, B) goes to model channel m where perm[m] == c,
	// through that model channel's table.
	var lutOf [3]*[256]float32
	var planeOf [3]int // offset of pixel channel c's model channel: a plane (NCHW) or 0..2 (NHWC)
	for m, c := range s.perm {
		lutOf[c] = &s.lut[m]
		if nhwc {
			planeOf[c] = m
		} else {
			planeOf[c] = m * plane
		}
	}
	lr, lg, lb := lutOf[0], lutOf[1], lutOf[2]
	cols := s.rs.cols[:iw]
	rowLen := 4 * b.Dx()
	for y := 0; y < ih; y++ {
		fy := uint64(s.rs.fy[y])
		wy := 256 - fy
		o0 := int(s.rs.y0[y]) * frame.Stride
		o1 := int(s.rs.y1[y]) * frame.Stride
		row0 := frame.Pix[o0 : o0+rowLen]
		row1 := frame.Pix[o1 : o1+rowLen]
		if nhwc {
			out := data[3*y*iw : 3*(y+1)*iw]
			pr, pg, pb := planeOf[0], planeOf[1], planeOf[2]
			for x, c := range cols {
				r, g, bl := bilinear(row0, row1, c, fy, wy)
				o := out[3*x : 3*x+3 : 3*x+3]
				o[pr], o[pg], o[pb] = lr[r], lg[g], lb[bl]
			}
			continue
		}
		base := y * iw
		outR := data[planeOf[0]+base : planeOf[0]+base+iw]
		outG := data[planeOf[1]+base : planeOf[1]+base+iw]
		outB := data[planeOf[2]+base : planeOf[2]+base+iw]
		for x, c := range cols {
			r, g, bl := bilinear(row0, row1, c, fy, wy)
			outR[x], outG[x], outB[x] = lr[r], lg[g], lb[bl]
		}
	}
}

// bilinear blends the RGB of the pixels at byte offsets c.a and c.b of
// rows row0 and row1: weight c.f (of 256) on c.b, fy on row1 (wy = 256 -
// fy), in fixed point, rounded. The horizontal blend works on the three
// channels at once, in 16-bit lanes of a uint64 (a lane holds at most
// 255*256).
func bilinear(row0, row1 []byte, c col, fy, wy uint64) (r, g, b uint8) {
	a, bb := int(c.a), int(c.b)
	wx, fx := uint64(256-c.f), uint64(c.f)
	top := lanes(row0[a:a+4:a+4])*wx + lanes(row0[bb:bb+4:bb+4])*fx
	bot := lanes(row1[a:a+4:a+4])*wx + lanes(row1[bb:bb+4:bb+4])*fx
	ch := func(shift uint) uint8 {
		t, u := (top>>shift)&0xffff, (bot>>shift)&0xffff
		return uint8((t*wy + u*fy + 1<<15) >> 16)
	}
	return ch(0), ch(16), ch(32)
}

// lanes spreads the R, G and B bytes of an RGBA pixel (one 32-bit load)
// into 16-bit lanes.
func lanes(p []byte) uint64 {
	v := uint64(binary.LittleEndian.Uint32(p))
	return v&0xff | (v&0xff00)<<8 | (v&0xff0000)<<16
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
// number of forest pixels. The first frame row that maps to an output row
// is written run by run: output columns with the same decision cover one
// span of frame columns (resizer.from), filled with one copy; the rows
// after it that map to the same output row are copies of it.
func (s *Segmenter) mapBack(mask *image.Gray) int {
	b := mask.Bounds()
	w, h := b.Dx(), b.Dy()
	ow, oh := s.outShape.w, s.outShape.h
	s.rs.prepareBack(w, h, ow, oh)
	from, ones := s.rs.from[:ow+1], s.rs.ones[:w]
	forest, prev, prevN := 0, -1, 0
	for y := 0; y < h; y++ {
		dst := mask.Pix[y*mask.Stride : y*mask.Stride+w]
		sy := s.rs.by[y]
		if sy == prev {
			copy(dst, mask.Pix[(y-1)*mask.Stride:(y-1)*mask.Stride+w])
			forest += prevN
			continue
		}
		src := s.dec[sy*ow : sy*ow+ow]
		n := 0
		for i := 0; i < ow; {
			j := i + 1
			for j < ow && src[j] == src[i] {
				j++
			}
			if src[i] != 0 {
				a, z := from[i], from[j]
				copy(dst[a:z], ones[a:z])
				n += z - a
			}
			i = j
		}
		prev, prevN = sy, n
		forest += n
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
