package capture

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/canopy-forest/canopy/internal/libjpeg"
	"github.com/canopy-forest/canopy/internal/rgba"
)

func TestScaleFor(t *testing.T) {
	tests := []struct {
		src, need image.Point
		want      int
	}{
		{image.Pt(4000, 2250), image.Pt(384, 384), 4},  // 1000x563; 1/8 would be 500x282
		{image.Pt(4000, 2250), image.Pt(1280, 720), 2}, // 2000x1125
		{image.Pt(2250, 4000), image.Pt(1280, 720), 2}, // portrait: short side against short side
		{image.Pt(1280, 720), image.Pt(384, 384), 1},   // 640x360 would be too short
		{image.Pt(8000, 6000), image.Pt(384, 384), 8},  // 1000x750
		{image.Pt(640, 480), image.Pt(1280, 720), 1},   // smaller than needed
		{image.Pt(4000, 2250), image.Point{}, 1},       // no size asked: full
	}
	for _, tt := range tests {
		if got := scaleFor(tt.src, tt.need); got != tt.want {
			t.Errorf("scaleFor(%v, %v) = %d, want %d", tt.src, tt.need, got, tt.want)
		}
	}
}

// A folder with DecodeSize decodes a large JPEG smaller (with libjpeg-turbo)
// and keeps its bytes and size; a PNG is decoded whole and has no bytes to
// pass on.
func TestFolderDecodeSize(t *testing.T) {
	dir := t.TempDir()
	photo := encode(t, "jpeg", testImage(800, 600, 1))
	writeFile(t, filepath.Join(dir, "a.jpg"), photo)
	writeFile(t, filepath.Join(dir, "b.png"), encode(t, "png", testImage(800, 600, 2)))
	var pool rgba.Pool
	s, err := Open(Options{Source: dir, DecodeSize: image.Pt(150, 150), Pool: &pool})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	frames := readAll(t, s)
	if len(frames) != 2 {
		t.Fatalf("got %d frames, want 2", len(frames))
	}
	jpg, png := frames[0], frames[1]
	want := image.Pt(800, 600)
	if libjpeg.Supported {
		want = image.Pt(200, 150) // 1/4: 1/8 (100x75) would be smaller than 150x150
	}
	if got := jpg.Image.Rect.Size(); got != want {
		t.Errorf("JPEG decoded at %v, want %v", got, want)
	}
	if jpg.Size() != image.Pt(800, 600) || !bytes.Equal(jpg.Encoded, photo) {
		t.Errorf("JPEG: Size %v, %d bytes kept; want 800x600 and the file's %d bytes", jpg.Size(), len(jpg.Encoded), len(photo))
	}
	if png.Image.Rect.Size() != image.Pt(800, 600) || png.Encoded != nil || png.Size() != image.Pt(800, 600) {
		t.Errorf("PNG: decoded at %v with %d bytes kept, Size %v; want 800x600, none, 800x600", png.Image.Rect.Size(), len(png.Encoded), png.Size())
	}
	// Released buffers are taken again.
	buf := png.Image
	png.Release()
	if got := pool.Get(800, 600); got != buf {
		t.Error("the pool did not hand back the released buffer")
	}
}

func TestDropImage(t *testing.T) {
	var pool rgba.Pool
	img := pool.Get(4, 3)
	f := Frame{Image: img, Encoded: []byte{0xff, 0xd8}, release: pool.Put}
	g := f.DropImage()
	if g.Image != nil || g.Size() != image.Pt(4, 3) || g.Encoded == nil {
		t.Fatalf("after DropImage: image %v, size %v, %d bytes; want none, 4x3, the bytes", g.Image, g.Size(), len(g.Encoded))
	}
	g.Release() // nothing left to release: no double put
	if pool.Get(4, 3) != img || pool.Get(4, 3) == img {
		t.Error("the buffer should be in the pool exactly once")
	}
	camera := Frame{Image: image.NewRGBA(image.Rect(0, 0, 2, 2))}
	if camera.DropImage().Image == nil {
		t.Error("a frame without encoded bytes lost its image")
	}
}

func TestReadImageFileKeepsJPEG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.jpg")
	b := encode(t, "jpeg", testImage(64, 32, 5))
	writeFile(t, path, b)
	f, err := ReadImageFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Image.Rect.Size() != image.Pt(64, 32) || !bytes.Equal(f.Encoded, b) {
		t.Errorf("got %v and %d bytes, want the full 64x32 image and the file's bytes", f.Image.Rect, len(f.Encoded))
	}
	f.Release() // no pool: does nothing
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}
