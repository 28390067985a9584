//go:build onnx

package learned

import (
	"context"
	"image"
	"image/draw"
	"os"
	"path/filepath"
	"testing"

	"github.com/canopy-forest/canopy/cloud/count"
	"github.com/canopy-forest/canopy/internal/rgba"
)

// benchImages returns a 400x400 NEON plot (or a synthetic one without
// CANOPY_SHARED_DATA) and a 1000x1000 (1 megapixel) mosaic of it.
func benchImages(b *testing.B) (plot, mp *image.RGBA) {
	plot = image.NewRGBA(image.Rect(0, 0, 400, 400))
	if data := os.Getenv("CANOPY_SHARED_DATA"); data != "" {
		if f, err := os.Open(filepath.Join(data, "trees", "OSBS_029.png")); err == nil {
			if img, _, err := image.Decode(f); err == nil {
				plot = rgba.Of(img)
			}
			f.Close()
		}
	}
	mp = image.NewRGBA(image.Rect(0, 0, 1000, 1000))
	for y := 0; y < 1000; y += 400 {
		for x := 0; x < 1000; x += 400 {
			draw.Draw(mp, image.Rect(x, y, x+400, y+400), plot, image.Point{}, draw.Src)
		}
	}
	return plot, mp
}

func benchCounter(b *testing.B) *Counter {
	if os.Getenv("CANOPY_ORT_LIB") == "" {
		b.Skip("CANOPY_ORT_LIB is unset")
	}
	model := shippedModel
	if p := os.Getenv("CANOPY_TEST_DETECTOR"); p != "" {
		model = p
	}
	if _, err := os.Stat(model); err != nil {
		b.Skipf("no model: %v", err)
	}
	k, err := New(Config{ModelPath: model, LibraryPath: os.Getenv("CANOPY_ORT_LIB"), Threads: 2}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { k.Close() })
	return k
}

// BenchmarkCount is the whole counter: tiling, model, decoding, merging.
func BenchmarkCount(b *testing.B) {
	k := benchCounter(b)
	plot, mp := benchImages(b)
	for _, bc := range []struct {
		name string
		img  *image.RGBA
	}{{"plot400", plot}, {"megapixel", mp}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := k.Count(context.Background(), bc.img); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBare is the reference: the same tiles through the bare session
// (filling the input tensor and Run, nothing else).
func BenchmarkBare(b *testing.B) {
	k := benchCounter(b)
	plot, mp := benchImages(b)
	for _, bc := range []struct {
		name string
		img  *image.RGBA
	}{{"plot400", plot}, {"megapixel", mp}} {
		tiles := count.Tiles(bc.img.Rect.Dx(), bc.img.Rect.Dy(), k.cfg.TileSize, k.cfg.Overlap)
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				for _, r := range tiles {
					if err := k.RunTile(bc.img, r); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
