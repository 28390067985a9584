package rgba

import (
	"image"
	"image/color"
	"testing"
)

func TestOf(t *testing.T) {
	ycc := image.NewYCbCr(image.Rect(0, 0, 4, 3), image.YCbCrSubsampleRatio420)
	for i := range ycc.Y {
		ycc.Y[i] = 200
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = 128, 128
	}
	gray := image.NewGray(image.Rect(2, 3, 6, 5))
	gray.SetGray(2, 3, color.Gray{Y: 77})
	at := image.NewRGBA(image.Rect(0, 0, 3, 3))
	sub := image.NewRGBA(image.Rect(0, 0, 8, 8)).SubImage(image.Rect(2, 2, 5, 6)).(*image.RGBA)
	sub.SetRGBA(2, 2, color.RGBA{1, 2, 3, 4})
	tests := []struct {
		name  string
		in    image.Image
		same  bool // Of returns the input itself
		w, h  int
		pixel color.RGBA // at (0, 0) of the result
	}{
		{"rgba at origin", at, true, 3, 3, color.RGBA{}},
		{"rgba sub-image", sub, false, 3, 4, color.RGBA{1, 2, 3, 4}},
		{"ycbcr", ycc, false, 4, 3, color.RGBA{200, 200, 200, 255}},
		{"gray off origin", gray, false, 4, 2, color.RGBA{77, 77, 77, 255}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Of(tt.in)
			if same := image.Image(got) == tt.in; same != tt.same {
				t.Errorf("returned its input: got %v, want %v", same, tt.same)
			}
			if got.Rect != image.Rect(0, 0, tt.w, tt.h) || got.Stride != 4*tt.w {
				t.Errorf("bounds %v stride %d, want %dx%d at the origin, stride %d", got.Rect, got.Stride, tt.w, tt.h, 4*tt.w)
			}
			if p := got.RGBAAt(0, 0); p != tt.pixel {
				t.Errorf("pixel (0,0): got %v, want %v", p, tt.pixel)
			}
		})
	}
}

func TestIntoReuses(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 5, 4))
	src.SetNRGBA(4, 3, color.NRGBA{10, 20, 30, 255})
	dst := image.NewRGBA(image.Rect(0, 0, 5, 4))
	dst.Pix[0] = 99 // an older frame's pixel: overwritten
	if got := Into(dst, src); got != dst {
		t.Fatal("Into allocated although dst fits")
	}
	if dst.Pix[0] != 0 || dst.RGBAAt(4, 3) != (color.RGBA{10, 20, 30, 255}) {
		t.Errorf("pixels: got %v and %v, want 0 and {10 20 30 255}", dst.Pix[0], dst.RGBAAt(4, 3))
	}
	if got := Into(image.NewRGBA(image.Rect(0, 0, 4, 5)), src); got.Rect != src.Rect {
		t.Errorf("wrong-sized dst: got bounds %v, want %v", got.Rect, src.Rect)
	}
}

func TestPool(t *testing.T) {
	var p Pool
	a := p.Get(8, 6)
	p.Put(a)
	if b := p.Get(8, 6); b != a {
		t.Error("Get after Put of the same size: got a new buffer, want the free one")
	}
	p.Put(a)
	if c := p.Get(6, 8); c == a || c.Rect != image.Rect(0, 0, 6, 8) {
		t.Errorf("Get of another size: got %v (reused %v), want a new 6x8", c.Rect, c == a)
	}
	q := Pool{Size: 2}
	imgs := []*image.RGBA{q.Get(1, 1), q.Get(1, 1), q.Get(1, 1)}
	for _, img := range imgs {
		q.Put(img)
	}
	if len(q.free) != 2 || q.free[0] != imgs[1] {
		t.Errorf("free list: got %d buffers, want the 2 newest", len(q.free))
	}
	q.Put(nil)
	if len(q.free) != 2 {
		t.Error("Put(nil) changed the free list")
	}
}

func BenchmarkIntoYCbCr720p(b *testing.B) {
	src := image.NewYCbCr(image.Rect(0, 0, 1280, 720), image.YCbCrSubsampleRatio420)
	dst := image.NewRGBA(src.Rect)
	for b.Loop() {
		Into(dst, src)
	}
}
