// Command benchcrop cuts the frames of the agent's memory benchmark
// (scripts/bench.d/rss.sh) out of a folder of large photos: -n crops of
// -size, taken in turn from each photo at offsets that move from crop to
// crop, written as JPEG files frame-0000.jpg, ... into -o.
//
//	benchcrop -from ../shared/data/geo/drone_photos/images -o DIR -n 30 -size 1280x720
//
// It is pure Go (image/jpeg), so it needs no build tag. The crops are for a
// temporary folder, never for the repository.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	from := flag.String("from", "", "folder of photos to crop (JPEG or PNG)")
	out := flag.String("o", "", "folder to write the crops into")
	n := flag.Int("n", 30, "number of crops")
	size := flag.String("size", "1280x720", "crop size WxH")
	quality := flag.Int("quality", 90, "JPEG quality")
	flag.Parse()
	var w, h int
	if _, err := fmt.Sscanf(*size, "%dx%d", &w, &h); err != nil || *from == "" || *out == "" || *n <= 0 || w <= 0 || h <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*from, *out, *n, w, h, *quality); err != nil {
		log.Fatal(err)
	}
}

func run(from, out string, n, w, h, quality int) error {
	ents, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	var photos []string
	for _, e := range ents {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".jpg", ".jpeg", ".png":
			photos = append(photos, filepath.Join(from, e.Name()))
		}
	}
	if len(photos) == 0 {
		return fmt.Errorf("no photos in %s", from)
	}
	sort.Strings(photos)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	// Photo p gives crops p, p+len(photos), ...: decode each photo once.
	for p, path := range photos {
		if p >= n {
			break
		}
		img, err := decode(path)
		if err != nil {
			return err
		}
		b := img.Bounds()
		if b.Dx() < w || b.Dy() < h {
			return fmt.Errorf("%s is %dx%d, smaller than the crop %dx%d", path, b.Dx(), b.Dy(), w, h)
		}
		for i := p; i < n; i += len(photos) {
			x := b.Min.X + (i*397)%(b.Dx()-w+1)
			y := b.Min.Y + (i*211)%(b.Dy()-h+1)
			crop := img.(interface {
				SubImage(image.Rectangle) image.Image
			}).SubImage(image.Rect(x, y, x+w, y+h))
			if err := write(filepath.Join(out, fmt.Sprintf("frame-%04d.jpg", i)), crop, quality); err != nil {
				return err
			}
		}
	}
	return nil
}

func decode(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return img, nil
}

func write(path string, img image.Image, quality int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: quality}); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return f.Close()
}
