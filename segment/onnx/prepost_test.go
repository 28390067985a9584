//go:build onnx

package onnx

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/canopy-forest/canopy/segment/segmenttest"
)

// preprocessRef and mapBackRef are the straightforward versions that
// preprocess and mapBack were optimised from: the tests hold the fast ones
// to the same output, value for value.
func (s *Segmenter) preprocessRef(frame *image.RGBA, data []float32) {
	b := frame.Bounds()
	iw, ih := s.p.InputWidth, s.p.InputHeight
	s.rs.prepare(b.Dx(), b.Dy(), iw, ih)
	plane := iw * ih
	for y := 0; y < ih; y++ {
		y0, y1, fy := s.rs.y0[y], s.rs.y1[y], s.rs.fy[y]
		row0 := frame.Pix[int(y0)*frame.Stride:]
		row1 := frame.Pix[int(y1)*frame.Stride:]
		for x := 0; x < iw; x++ {
			x0, x1, fx := s.rs.x0[x], s.rs.x1[x], s.rs.fx[x]
			var v [3]uint8
			for c := 0; c < 3; c++ {
				top := int32(row0[int(x0)+c])*(256-fx) + int32(row0[int(x1)+c])*fx
				bot := int32(row1[int(x0)+c])*(256-fx) + int32(row1[int(x1)+c])*fx
				v[c] = uint8((top*(256-fy) + bot*fy + 1<<15) >> 16)
			}
			for m := 0; m < 3; m++ {
				val := s.lut[m][v[s.perm[m]]]
				if s.p.Layout == LayoutNHWC {
					data[3*(y*iw+x)+m] = val
				} else {
					data[m*plane+y*iw+x] = val
				}
			}
		}
	}
}

func (s *Segmenter) mapBackRef(mask *image.Gray) int {
	b := mask.Bounds()
	w, h := b.Dx(), b.Dy()
	ow, oh := s.outShape.w, s.outShape.h
	s.rs.prepareBack(w, h, ow, oh)
	forest := 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if s.dec[s.rs.by[y]*ow+s.rs.bx[x]] != 0 {
				mask.Pix[y*mask.Stride+x] = 255
				forest++
			}
		}
	}
	return forest
}

func TestPrePostMatchReference(t *testing.T) {
	lib := os.Getenv("CANOPY_ORT_LIB")
	if lib == "" {
		lib, _ = filepath.Abs("../../.cache/onnxruntime/linux-amd64/libonnxruntime.so.1")
		if _, err := os.Stat(lib); err != nil {
			t.Skip("no ONNX Runtime library")
		}
	}
	frames := map[string]*image.RGBA{
		"640x480":   segmenttest.Pattern(640, 480, 1),
		"1280x720":  segmenttest.Pattern(1280, 720, 2),
		"97x61":     segmenttest.Pattern(97, 61, 3), // smaller than the input: upscaled
		"sub-image": segmenttest.Pattern(300, 200, 4).SubImage(image.Rect(13, 7, 250, 190)).(*image.RGBA),
	}
	for _, model := range []string{"testdata/nchw_scores_fixed.onnx", "testdata/nhwc_prob_dynamic.onnx", "testdata/nhwc_scores_bgr.onnx", "../../models/treecover-seg.onnx"} {
		if _, err := os.Stat(model); err != nil {
			continue
		}
		s, err := New(Config{ModelPath: model, LibraryPath: lib, Threads: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for name, frame := range frames {
			t.Run(filepath.Base(model)+"/"+name, func(t *testing.T) {
				ref := make([]float32, len(s.in.GetData()))
				s.preprocessRef(frame, ref)
				s.preprocess(frame)
				for i, v := range s.in.GetData() {
					if v != ref[i] {
						t.Fatalf("input value %d: got %v, want %v", i, v, ref[i])
					}
				}
				// Decisions from a pattern, so both forest and not.
				for i := range s.dec {
					s.dec[i] = uint8((i*7 + i/s.outShape.w) % 3 % 2)
				}
				m1, m2 := newMask(frame.Bounds()), newMask(frame.Bounds())
				n1, n2 := s.mapBack(m1), s.mapBackRef(m2)
				if n1 != n2 {
					t.Fatalf("forest pixels: got %d, want %d", n1, n2)
				}
				for i := range m1.Pix {
					if m1.Pix[i] != m2.Pix[i] {
						t.Fatalf("mask byte %d: got %d, want %d", i, m1.Pix[i], m2.Pix[i])
					}
				}
			})
		}
		s.Close()
	}
}

// BenchmarkPrePostRef is BenchmarkPrePost with the reference versions, to
// see what the optimised ones save.
func BenchmarkPrePostRef(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(b *testing.B) {
			s := benchSeg(b)
			frame := segmenttest.Pattern(sz[0], sz[1], 1)
			data := s.in.GetData()
			c0 := cpuTime()
			for b.Loop() {
				s.preprocessRef(frame, data)
				s.decide()
				s.mapBackRef(newMask(frame.Bounds()))
			}
			b.ReportMetric(float64(cpuTime()-c0)/1e6/float64(b.N), "cpu_ms/op")
		})
	}
}
