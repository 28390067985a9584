package agent

import (
	"context"
	"image"
	"io"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/agent/capture"
	"github.com/canopy-forest/canopy/agent/encode"
	"github.com/canopy-forest/canopy/agent/selection"
	"github.com/canopy-forest/canopy/segment/classical"
	"github.com/canopy-forest/canopy/sync/wire"
)

// frameSource yields n copies of one frame.
type frameSource struct {
	img  *image.RGBA
	n, i int
}

func (s *frameSource) Next(ctx context.Context) (capture.Frame, error) {
	if s.i >= s.n {
		return capture.Frame{}, io.EOF
	}
	s.i++
	return capture.Frame{Image: s.img, Time: time.Now(), Name: "bench"}, nil
}
func (s *frameSource) Name() string { return "bench" }
func (s *frameSource) Close() error { return nil }

// BenchmarkPipeline640x480 runs segment (classical), select (all off) and
// encode in process, into a sink that keeps nothing: the loop without
// capture and without disk.
func BenchmarkPipeline640x480(b *testing.B) {
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for i := range img.Pix {
		img.Pix[i] = uint8((i/4)%640/3 + (i%4)*40)
	}
	enc, err := encode.New(encode.Options{Device: "bench", JPEGQuality: 85, StateDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	a, err := New(Options{
		Open:      func(capture.Options) (capture.Source, error) { return &frameSource{img: img, n: b.N}, nil },
		Segmenter: classical.New(classical.Options{}),
		Policy:    selection.Policy{},
		Encoder:   enc,
		Sink:      SinkFunc(func(context.Context, wire.Item, Cursor) error { return nil }),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if err := a.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
