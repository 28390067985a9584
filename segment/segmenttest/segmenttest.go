package segmenttest

import (
	"bytes"
	"context"
	"errors"
	"image"
	"testing"

	"github.com/canopy-forest/canopy/segment"
)

// Run runs the conformance suite against the segmenters newSeg makes. Each
// subtest makes its own segmenter and closes it (twice: Close must be
// idempotent).
func Run(t *testing.T, newSeg func(t *testing.T) segment.Segmenter) {
	t.Helper()
	use := func(t *testing.T, f func(t *testing.T, s segment.Segmenter)) {
		s := newSeg(t)
		defer func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		}()
		f(t, s)
	}
	t.Run("Info", func(t *testing.T) {
		use(t, func(t *testing.T, s segment.Segmenter) {
			if s.Info().Name == "" {
				t.Errorf("Info().Name is empty")
			}
		})
	})
	t.Run("Sizes", func(t *testing.T) {
		use(t, func(t *testing.T, s segment.Segmenter) {
			for _, sz := range []image.Point{{1, 1}, {2, 1}, {1, 3}, {7, 5}, {33, 17}, {101, 99}, {640, 480}, {1280, 720}} {
				frame := Pattern(sz.X, sz.Y, uint64(sz.X*sz.Y))
				res, err := s.Segment(context.Background(), frame)
				if err != nil {
					t.Fatalf("%dx%d: Segment: %v", sz.X, sz.Y, err)
				}
				Check(t, frame, res)
			}
		})
	})
	t.Run("SubImage", func(t *testing.T) {
		use(t, func(t *testing.T, s segment.Segmenter) {
			full := Pattern(120, 90, 7)
			frame := full.SubImage(image.Rect(13, 21, 90, 77)).(*image.RGBA)
			res, err := s.Segment(context.Background(), frame)
			if err != nil {
				t.Fatalf("Segment: %v", err)
			}
			Check(t, frame, res)
		})
	})
	t.Run("Deterministic", func(t *testing.T) {
		use(t, func(t *testing.T, s segment.Segmenter) {
			a, b := Pattern(160, 120, 1), Canopy(97, 61, 2)
			ra, err := s.Segment(context.Background(), a)
			if err != nil {
				t.Fatalf("Segment: %v", err)
			}
			if _, err := s.Segment(context.Background(), b); err != nil {
				t.Fatalf("Segment: %v", err)
			}
			ra2, err := s.Segment(context.Background(), a)
			if err != nil {
				t.Fatalf("Segment: %v", err)
			}
			if !bytes.Equal(ra.Mask.Pix, ra2.Mask.Pix) || ra.Share != ra2.Share {
				t.Errorf("same frame twice: masks or shares differ (share %v then %v)", ra.Share, ra2.Share)
			}
		})
	})
	t.Run("Cancelled", func(t *testing.T) {
		use(t, func(t *testing.T, s segment.Segmenter) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := s.Segment(ctx, Pattern(64, 48, 3))
			if err == nil {
				t.Fatalf("Segment with a cancelled context: got nil error, want one")
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Segment with a cancelled context: got %v, want an error wrapping context.Canceled", err)
			}
			// It still works afterwards.
			if _, err := s.Segment(context.Background(), Pattern(64, 48, 3)); err != nil {
				t.Errorf("Segment after a cancelled call: %v", err)
			}
		})
	})
	t.Run("GreenIsForest", func(t *testing.T) {
		use(t, func(t *testing.T, s segment.Segmenter) {
			for _, sz := range []image.Point{{640, 480}, {256, 256}} {
				res, err := s.Segment(context.Background(), Canopy(sz.X, sz.Y, 11))
				if err != nil {
					t.Fatalf("Segment: %v", err)
				}
				if res.Share < 0.6 {
					t.Errorf("canopy frame %dx%d: share %.3f, want at least 0.6", sz.X, sz.Y, res.Share)
				}
			}
		})
	})
	t.Run("GreyIsNotForest", func(t *testing.T) {
		use(t, func(t *testing.T, s segment.Segmenter) {
			for _, sz := range []image.Point{{640, 480}, {256, 256}} {
				res, err := s.Segment(context.Background(), Grey(sz.X, sz.Y, 12))
				if err != nil {
					t.Fatalf("Segment: %v", err)
				}
				if res.Share > 0.1 {
					t.Errorf("grey frame %dx%d: share %.3f, want at most 0.1", sz.X, sz.Y, res.Share)
				}
			}
		})
	})
}

// Check fails t unless res is a valid result for frame: the mask has the
// frame's bounds, holds only 0 and 255, and Share is its fraction of 255.
func Check(t *testing.T, frame *image.RGBA, res segment.Result) {
	t.Helper()
	b := frame.Bounds()
	if res.Mask == nil {
		t.Fatalf("%v: nil mask", b)
	}
	if res.Mask.Bounds() != b {
		t.Fatalf("mask bounds %v, want the frame's %v", res.Mask.Bounds(), b)
	}
	forest := 0
	for y := 0; y < b.Dy(); y++ {
		row := res.Mask.Pix[y*res.Mask.Stride : y*res.Mask.Stride+b.Dx()]
		for x, v := range row {
			switch v {
			case 255:
				forest++
			case 0:
			default:
				t.Fatalf("%v: mask value %d at (%d,%d), want 0 or 255", b, v, x+b.Min.X, y+b.Min.Y)
			}
		}
	}
	want := float64(forest) / float64(b.Dx()*b.Dy())
	if d := res.Share - want; d > 1e-9 || d < -1e-9 {
		t.Errorf("%v: share %v, want %v (the mask's fraction of 255)", b, res.Share, want)
	}
	if res.Share < 0 || res.Share > 1 {
		t.Errorf("%v: share %v outside [0, 1]", b, res.Share)
	}
}
