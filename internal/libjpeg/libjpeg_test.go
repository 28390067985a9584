//go:build opencv

package libjpeg

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 90, 255})
		}
	}
	return img
}

func goJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// near reports whether two pixels differ by at most tol in every channel.
func near(a, b color.RGBA, tol int) bool {
	d := func(x, y uint8) bool { v := int(x) - int(y); return v <= tol && v >= -tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B) && a.A == b.A
}

func TestDecodeScales(t *testing.T) {
	src := testImage(203, 117)
	b := goJPEG(t, src)
	for _, denom := range Scales {
		t.Run("", func(t *testing.T) {
			w, h := ScaledSize(203, 117, denom)
			full, scaled, err := Size(b, denom)
			if err != nil {
				t.Fatal(err)
			}
			if full != image.Pt(203, 117) || scaled != image.Pt(w, h) {
				t.Fatalf("1/%d: Size got %v and %v, want 203x117 and %dx%d", denom, full, scaled, w, h)
			}
			img, err := Decode(b, denom, nil)
			if err != nil {
				t.Fatal(err)
			}
			if img.Rect != image.Rect(0, 0, w, h) {
				t.Fatalf("1/%d: bounds %v, want %dx%d", denom, img.Rect, w, h)
			}
			// The centre pixel of the decode matches the source's at the same place.
			got := img.RGBAAt(w/2, h/2)
			want := src.RGBAAt(min(w/2*denom+denom/2, 202), min(h/2*denom+denom/2, 116))
			if !near(got, want, 12) {
				t.Errorf("1/%d: centre pixel %v, want about %v", denom, got, want)
			}
		})
	}
}

func TestDecodeIntoBuffer(t *testing.T) {
	b := goJPEG(t, testImage(64, 48))
	buf := image.NewRGBA(image.Rect(0, 0, 32, 24))
	img, err := Decode(b, 2, func(w, h int) *image.RGBA { return buf })
	if err != nil || img != buf {
		t.Fatalf("got %p, %v; want the buffer given", img, err)
	}
	if _, err := Decode(b, 1, func(w, h int) *image.RGBA { return buf }); err == nil {
		t.Error("a buffer of the wrong size: got no error")
	}
}

func TestDecodeGray(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range g.Pix {
		g.Pix[i] = 140
	}
	img, err := Decode(goJPEG(t, g), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := img.RGBAAt(8, 8); !near(p, color.RGBA{140, 140, 140, 255}, 2) {
		t.Errorf("grey pixel: got %v, want about {140 140 140 255}", p)
	}
}

func TestDecodeBad(t *testing.T) {
	b := goJPEG(t, testImage(64, 64))
	tests := []struct {
		name  string
		data  []byte
		denom int
	}{
		{"empty", nil, 1},
		{"not a jpeg", []byte("GIF89a this is not a JPEG at all"), 1},
		{"truncated", b[:len(b)/2], 1},
		{"truncated, scaled", b[:len(b)/2], 4},
		{"bad scale", b, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if img, err := Decode(tt.data, tt.denom, nil); err == nil {
				t.Errorf("got a %v image, want an error", img.Rect)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	src := testImage(100, 60)
	sub := src.SubImage(image.Rect(10, 20, 60, 50)).(*image.RGBA)
	for _, tt := range []struct {
		name string
		img  *image.RGBA
	}{{"whole", src}, {"sub-image", sub}} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Encode(tt.img, 90)
			if err != nil {
				t.Fatal(err)
			}
			back, err := jpeg.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("the standard library cannot decode the result: %v", err)
			}
			r := tt.img.Rect
			if back.Bounds() != image.Rect(0, 0, r.Dx(), r.Dy()) {
				t.Fatalf("bounds %v, want %dx%d", back.Bounds(), r.Dx(), r.Dy())
			}
			pr, pg, pb, _ := back.At(r.Dx()/2, r.Dy()/2).RGBA()
			got := color.RGBA{uint8(pr >> 8), uint8(pg >> 8), uint8(pb >> 8), 255}
			if want := tt.img.RGBAAt(r.Min.X+r.Dx()/2, r.Min.Y+r.Dy()/2); !near(got, want, 10) {
				t.Errorf("centre pixel %v, want about %v", got, want)
			}
		})
	}
	if _, err := Encode(src, 0); err == nil {
		t.Error("quality 0: got no error")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(goJPEG(f, testImage(16, 16)), uint8(0))
	f.Add([]byte{0xff, 0xd8, 0xff}, uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, s uint8) {
		denom := Scales[int(s)%len(Scales)]
		full, sz, err := Size(b, denom)
		if err != nil || int64(full.X)*int64(full.Y) > 1<<22 {
			return // a header that would decode to a huge image: not decoded here
		}
		img, err := Decode(b, denom, nil)
		if err == nil && img.Rect.Size() != sz {
			t.Fatalf("decoded %v, header said %v", img.Rect.Size(), sz)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	data := goJPEG(b, testImage(1280, 720))
	buf := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	for b.Loop() {
		if _, err := Decode(data, 1, func(w, h int) *image.RGBA { return buf }); err != nil {
			b.Fatal(err)
		}
	}
}
