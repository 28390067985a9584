//go:build opencv

package cvvideo

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeMJPEG writes n w x h frames as a raw MJPEG stream (JPEG images one
// after another), which FFmpeg reads as a video; frame i is filled with
// grey level 40*i.
func writeMJPEG(t *testing.T, n, w, h int) string {
	t.Helper()
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for p := 0; p < len(img.Pix); p += 4 {
			img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = uint8(40*i), 200, 30, 255
		}
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "clip.mjpeg")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mapped(t *testing.T, lib string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skipf("no /proc/self/maps: %v", err)
	}
	return strings.Contains(string(b), lib)
}

func TestReadFile(t *testing.T) {
	path := writeMJPEG(t, 3, 48, 32)
	if mapped(t, "libopencv_videoio") {
		t.Fatal("libopencv_videoio is mapped before any capture was opened")
	}
	c, err := OpenName(path, APIFFmpeg)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer c.Close()
	if !mapped(t, "libopencv_videoio") {
		t.Error("libopencv_videoio is not mapped after a capture was opened")
	}
	for i := 0; i < 3; i++ {
		sz, ok := c.Read()
		if !ok {
			t.Fatalf("frame %d: Read failed", i)
		}
		if sz != image.Pt(48, 32) {
			t.Fatalf("frame %d: size %v, want 48x32", i, sz)
		}
		dst := image.NewRGBA(image.Rect(0, 0, 48, 32))
		if err := c.RGBA(dst); err != nil {
			t.Fatal(err)
		}
		got, want := dst.RGBAAt(24, 16), color.RGBA{uint8(40 * i), 200, 30, 255}
		d := func(a, b uint8) int { return max(int(a), int(b)) - min(int(a), int(b)) }
		if d(got.R, want.R) > 8 || d(got.G, want.G) > 8 || d(got.B, want.B) > 8 || got.A != 255 {
			t.Errorf("frame %d: pixel %v, want about %v", i, got, want)
		}
		if err := c.RGBA(image.NewRGBA(image.Rect(0, 0, 10, 10))); err == nil {
			t.Error("a buffer of the wrong size: got no error")
		}
	}
	if _, ok := c.Read(); ok {
		t.Error("Read after the last frame: got a frame")
	}
	c.Close()
	c.Close() // idempotent
}

func TestOpenMissing(t *testing.T) {
	if c, err := OpenName(filepath.Join(t.TempDir(), "nothing.avi"), APIFFmpeg); err == nil {
		c.Close()
		t.Fatal("opening a missing file: got no error")
	}
}

func TestVersion(t *testing.T) {
	if v := Version(); !strings.HasPrefix(v, "4.") {
		t.Errorf("Version() = %q, want 4.x", v)
	}
}
