//go:build ignore

// synth writes N synthetic aerial-like frames (green crowns on soil) as
// PNG files into DIR: the demo's sample source when ../shared/data is absent.
//
//	go run scripts/demo/synth.go DIR N
package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go run scripts/demo/synth.go DIR N")
		os.Exit(2)
	}
	dir := os.Args[1]
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "N: want a positive number")
		os.Exit(2)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for i := range n {
		r := rand.New(rand.NewPCG(uint64(i), 42))
		const w, h = 400, 400
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				v := uint8(r.IntN(20))
				img.Set(x, y, color.RGBA{150 + v, 120 + v, 90 + v, 255})
			}
		}
		for range 10 + r.IntN(20) {
			cx, cy, rad := r.IntN(w), r.IntN(h), 8+r.IntN(20)
			for y := max(0, cy-rad); y < min(h, cy+rad); y++ {
				for x := max(0, cx-rad); x < min(w, cx+rad); x++ {
					if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= rad*rad {
						g := uint8(110 + r.IntN(40))
						img.Set(x, y, color.RGBA{30, g, 40, 255})
					}
				}
			}
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("synthetic_%03d.png", i)))
		if err == nil {
			err = png.Encode(f, img)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
