//go:build onnx

package onnx

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// benchSeg is the segmenter the benchmarks run: one thread, and the memory
// mode $CANOPY_BENCH_ORT_MEMORY ("" = fast) to compare the two.
func benchSeg(b *testing.B) *Segmenter {
	m, lib := benchModel(b)
	s, err := New(Config{ModelPath: m, LibraryPath: lib, Threads: 1, Memory: os.Getenv("CANOPY_BENCH_ORT_MEMORY")}, nil)
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
			c0 := cpuTime()
			for b.Loop() {
				s.preprocess(frame)
				s.decide()
				mask := newMask(frame.Bounds())
				s.mapBack(mask)
			}
			b.ReportMetric(float64(cpuTime()-c0)/1e6/float64(b.N), "cpu_ms/op")
		})
	}
}

// BenchmarkOverhead alternates a whole Segment call and a bare ONNX Runtime
// Run on the same input tensor, so that both see the same load on a shared
// machine, after a few untimed calls of each (the first runs are slower).
// It reports Segment's frames per second and its cost as a ratio to the
// bare run in CPU time (x_bare): both run on one thread, so CPU time is
// what they cost, and on a shared machine it does not count the time the
// process waited for a core, which wall-clock time does. The median ratio
// of the wall-clock times of each pair is reported beside it (x_bare_wall).
func BenchmarkOverhead(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(b *testing.B) {
			s := benchSeg(b)
			frame := segmenttest.Pattern(sz[0], sz[1], 1)
			ctx := context.Background()
			in, out := []ort.Value{s.in}, []ort.Value{s.out}
			segment := func() {
				if _, err := s.Segment(ctx, frame); err != nil {
					b.Fatal(err)
				}
			}
			bare := func() {
				if err := s.sess.Run(in, out); err != nil {
					b.Fatal(err)
				}
			}
			for range 5 {
				segment()
				bare()
			}
			var segCPU, bareCPU, segWall time.Duration
			var wall []float64
			// Whichever of two back-to-back runs comes second is faster
			// (warm caches), so the order alternates.
			i := 0
			b.ResetTimer()
			for b.Loop() {
				var sc, bc, sw, bw time.Duration
				for k := 0; k < 2; k++ {
					c0, t0 := cpuTime(), time.Now()
					if (i+k)%2 == 0 {
						segment()
						sc, sw = cpuTime()-c0, time.Since(t0)
					} else {
						bare()
						bc, bw = cpuTime()-c0, time.Since(t0)
					}
				}
				segCPU += sc
				bareCPU += bc
				segWall += sw
				wall = append(wall, sw.Seconds()/bw.Seconds())
				i++
			}
			b.ReportMetric(float64(b.N)/segWall.Seconds(), "fps")
			b.ReportMetric(float64(b.N)/bareCPU.Seconds(), "bare_cpu_fps")
			b.ReportMetric(segCPU.Seconds()/bareCPU.Seconds(), "x_bare")
			b.ReportMetric(median(wall), "x_bare_wall")
		})
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// BenchmarkSteps times each step of Segment in CPU time, then a bare run
// right after (caches as Segment leaves them) and another (warm): where
// Segment's time over the bare run goes.
func BenchmarkSteps(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(b *testing.B) {
			s := benchSeg(b)
			frame := segmenttest.Pattern(sz[0], sz[1], 1)
			ctx := context.Background()
			in, out := []ort.Value{s.in}, []ort.Value{s.out}
			names := []string{"pre", "run", "decide", "mask_alloc", "map_back", "bare_after", "bare_warm"}
			var t [7]time.Duration
			for b.Loop() {
				c := [8]time.Duration{cpuTime()}
				s.preprocess(frame)
				c[1] = cpuTime()
				if err := s.run(ctx); err != nil {
					b.Fatal(err)
				}
				c[2] = cpuTime()
				s.decide()
				c[3] = cpuTime()
				mask := newMask(frame.Bounds())
				c[4] = cpuTime()
				s.mapBack(mask)
				c[5] = cpuTime()
				for k := 6; k < 8; k++ {
					if err := s.sess.Run(in, out); err != nil {
						b.Fatal(err)
					}
					c[k] = cpuTime()
				}
				for i := range t {
					t[i] += c[i+1] - c[i]
				}
			}
			for i, n := range names {
				b.ReportMetric(float64(t[i])/1e6/float64(b.N), n+"_cpu_ms")
			}
		})
	}
}
