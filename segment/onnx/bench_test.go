//go:build onnx

package onnx

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/canopy-forest/canopy/segment/segmenttest"
)

// benchModel is the model the benchmarks run: $CANOPY_BENCH_SEG_MODEL or the
// shipped default.
func benchModel(b *testing.B) (string, string) {
	m := os.Getenv("CANOPY_BENCH_SEG_MODEL")
	if m == "" {
		m = "../../models/treecover-seg.onnx"
	}
	if _, err := os.Stat(m); err != nil {
		b.Skipf("no model %s", m)
	}
	lib := os.Getenv("CANOPY_ORT_LIB")
	if lib == "" {
		lib, _ = filepath.Abs("../../.cache/onnxruntime/linux-amd64/libonnxruntime.so.1")
	}
	return m, lib
}

func benchSeg(b *testing.B) *Segmenter {
	m, lib := benchModel(b)
	s, err := New(Config{ModelPath: m, LibraryPath: lib, Threads: 1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

var benchSizes = [][2]int{{640, 480}, {1280, 720}}

// BenchmarkSegment is the whole Segment call: resize in, run, map back.
func BenchmarkSegment(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(b *testing.B) {
			s := benchSeg(b)
			frame := segmenttest.Pattern(sz[0], sz[1], 1)
			ctx := context.Background()
			for b.Loop() {
				if _, err := s.Segment(ctx, frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBareRun is ONNX Runtime's Run alone on the same input tensor
// Segment feeds (the frame already resized and normalised): the reference
// for the overhead of our pre- and post-processing. The frame size does not
// matter to it; the sub-benchmarks repeat it for each size so that the
// ratios are taken between neighbours in time.
func BenchmarkBareRun(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(b *testing.B) {
			s := benchSeg(b)
			if _, err := s.Segment(context.Background(), segmenttest.Pattern(sz[0], sz[1], 1)); err != nil {
				b.Fatal(err)
			}
			in, out := []ort.Value{s.in}, []ort.Value{s.out}
			for b.Loop() {
				if err := s.sess.Run(in, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPrePost is Segment without the Run: resize, normalise, decide and
// map back.
func BenchmarkPrePost(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(b *testing.B) {
			s := benchSeg(b)
			frame := segmenttest.Pattern(sz[0], sz[1], 1)
			for b.Loop() {
				s.preprocess(frame)
				s.decide()
				mask := newMask(frame.Bounds())
				s.mapBack(mask)
			}
		})
	}
}

// BenchmarkOverhead alternates a whole Segment call and a bare ONNX Runtime
// Run on the same input tensor, so that both see the same load on a shared
// machine, and reports Segment's frames per second and its time as a ratio
// to the bare run (x_bare).
func BenchmarkOverhead(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(b *testing.B) {
			s := benchSeg(b)
			frame := segmenttest.Pattern(sz[0], sz[1], 1)
			ctx := context.Background()
			in, out := []ort.Value{s.in}, []ort.Value{s.out}
			var seg, bare time.Duration
			// Whichever of two back-to-back runs comes second is faster
			// (warm caches and threads), so the order alternates.
			i := 0
			for b.Loop() {
				for k := 0; k < 2; k++ {
					t0 := time.Now()
					if (i+k)%2 == 0 {
						if _, err := s.Segment(ctx, frame); err != nil {
							b.Fatal(err)
						}
						seg += time.Since(t0)
					} else {
						if err := s.sess.Run(in, out); err != nil {
							b.Fatal(err)
						}
						bare += time.Since(t0)
					}
				}
				i++
			}
			b.ReportMetric(float64(b.N)/seg.Seconds(), "fps")
			b.ReportMetric(float64(b.N)/bare.Seconds(), "bare_fps")
			b.ReportMetric(seg.Seconds()/bare.Seconds(), "x_bare")
		})
	}
}
