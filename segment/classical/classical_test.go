package classical_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"testing"

	"github.com/canopy-forest/canopy/segment"
	"github.com/canopy-forest/canopy/segment/classical"
	"github.com/canopy-forest/canopy/segment/segmenttest"
)

func TestConformance(t *testing.T) {
	segmenttest.Run(t, func(t *testing.T) segment.Segmenter { return classical.New(classical.Options{}) })
}

func TestThresholds(t *testing.T) {
	// Half the frame is green (ExG 100), half grey (ExG 0).
	img := image.NewRGBA(image.Rect(0, 0, 10, 4))
	for y := 0; y < 4; y++ {
		for x := 0; x < 10; x++ {
			c := color.RGBA{100, 100, 100, 255}
			if x < 5 {
				c = color.RGBA{50, 100, 50, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	tests := []struct {
		name string
		o    classical.Options
		want float64
	}{
		{"otsu", classical.Options{}, 0.5},
		{"fixed below both", classical.Options{Threshold: -50}, 1},
		{"fixed between", classical.Options{Threshold: 50}, 0.5},
		{"fixed above both", classical.Options{Threshold: 150}, 0},
		{"floor above green", classical.Options{Floor: 120, Ceiling: 200}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := classical.New(tt.o).Segment(context.Background(), img)
			if err != nil {
				t.Fatal(err)
			}
			if res.Share != tt.want {
				t.Errorf("share %v, want %v", res.Share, tt.want)
			}
		})
	}
}

func ExampleNew() {
	s := classical.New(classical.Options{})
	defer s.Close()
	res, err := s.Segment(context.Background(), segmenttest.Canopy(64, 64, 1))
	if err != nil {
		panic(err)
	}
	_ = res.Share > 0.5 // mostly forest
	_ = s.Info().Name   // "classical"
}

func BenchmarkSegment(b *testing.B) {
	for _, sz := range []image.Point{{640, 480}, {1280, 720}} {
		b.Run(sizeName(sz), func(b *testing.B) {
			s := classical.New(classical.Options{})
			frame := segmenttest.Pattern(sz.X, sz.Y, 1)
			ctx := context.Background()
			b.SetBytes(int64(sz.X * sz.Y * 4))
			for b.Loop() {
				if _, err := s.Segment(ctx, frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func sizeName(p image.Point) string { return fmt.Sprintf("%dx%d", p.X, p.Y) }
