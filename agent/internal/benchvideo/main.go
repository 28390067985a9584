//go:build opencv

// Command benchvideo writes the test video of the agent benchmark
// (scripts/bench.d/agent.sh), and times reading one back.
//
//	benchvideo -o flight.avi -n 300 -size 640x480 [-from image.png]
//	benchvideo -read flight.avi
//
// Frames pan across the -from image (tiled), or across a synthetic canopy
// when none is given, so consecutive frames differ as a drone's would.
package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"log"
	"os"
	"time"

	"gocv.io/x/gocv"

	"github.com/canopy-forest/canopy/agent/capture"
	"github.com/canopy-forest/canopy/internal/cvimg"
)

func main() {
	out := flag.String("o", "", "video file to write (MJPG in .avi)")
	n := flag.Int("n", 300, "frames")
	size := flag.String("size", "640x480", "frame size WxH")
	from := flag.String("from", "", "image to pan across (default: synthetic)")
	read := flag.String("read", "", "time reading this video file instead (frames/s of decode + conversion)")
	flag.Parse()
	if *read != "" {
		if err := readVideo(*read); err != nil {
			log.Fatal(err)
		}
		return
	}
	var w, h int
	if _, err := fmt.Sscanf(*size, "%dx%d", &w, &h); err != nil || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	src := synthetic(2048, 2048)
	if *from != "" {
		fr, err := capture.ReadImageFile(*from)
		if err != nil {
			log.Fatal(err)
		}
		src = fr.Image
	}
	vw, err := gocv.VideoWriterFile(*out, "MJPG", 10, w, h, true)
	if err != nil {
		log.Fatal(err)
	}
	defer vw.Close()
	frame := image.NewRGBA(image.Rect(0, 0, w, h))
	sb := src.Bounds()
	for i := 0; i < *n; i++ {
		ox, oy := (i*17)%sb.Dx(), (i*11)%sb.Dy()
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				frame.SetRGBA(x, y, src.RGBAAt((ox+x)%sb.Dx(), (oy+y)%sb.Dy()))
			}
		}
		m, err := cvimg.FromRGBA(frame)
		if err != nil {
			log.Fatal(err)
		}
		if err := vw.Write(m); err != nil {
			log.Fatal(err)
		}
		m.Close()
	}
}

// synthetic is a canopy of round green crowns on brown ground.
func synthetic(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			cx, cy := x%48-24, y%48-24
			v := uint8((x*7 + y*13) % 23)
			if cx*cx+cy*cy < 400 && (x/48+y/48)%5 != 0 {
				img.SetRGBA(x, y, color.RGBA{30 + v, 110 + 3*v, 35, 255})
			} else {
				img.SetRGBA(x, y, color.RGBA{120 + v, 100 + v, 80, 255})
			}
		}
	}
	return img
}

func readVideo(path string) error {
	s, err := capture.Open(capture.Options{Source: path})
	if err != nil {
		return err
	}
	defer s.Close()
	start := time.Now()
	n := 0
	for {
		if _, err := s.Next(context.Background()); err != nil {
			break
		}
		n++
	}
	el := time.Since(start).Seconds()
	fmt.Printf("{\"frames\":%d,\"seconds\":%.3f,\"fps\":%.1f}\n", n, el, float64(n)/el)
	return nil
}
