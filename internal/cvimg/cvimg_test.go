//go:build opencv

package cvimg

import (
	"image"
	"image/color"
	"testing"

	"gocv.io/x/gocv"
)

func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 7), uint8(y * 13), uint8(x + y), 255})
		}
	}
	return img
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct{ w, h int }{{1, 1}, {7, 5}, {640, 480}} {
		img := testImage(tc.w, tc.h)
		m, err := FromRGBA(img)
		if err != nil {
			t.Fatal(err)
		}
		if m.Type() != gocv.MatTypeCV8UC3 || m.Cols() != tc.w || m.Rows() != tc.h {
			t.Fatalf("FromRGBA: got %v %dx%d, want CV_8UC3 %dx%d", m.Type(), m.Cols(), m.Rows(), tc.w, tc.h)
		}
		// OpenCV order is BGR.
		v := m.GetVecbAt(0, tc.w-1)
		want := img.RGBAAt(tc.w-1, 0)
		if v[0] != want.B || v[1] != want.G || v[2] != want.R {
			t.Fatalf("pixel (%d,0): got BGR %v, want %v", tc.w-1, v, want)
		}
		back, err := ToRGBA(m)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		for i := range img.Pix {
			if img.Pix[i] != back.Pix[i] {
				t.Fatalf("%dx%d: byte %d: got %d, want %d", tc.w, tc.h, i, back.Pix[i], img.Pix[i])
			}
		}
	}
}

func TestSubImage(t *testing.T) {
	img := testImage(20, 10)
	sub := img.SubImage(image.Rect(5, 2, 15, 8)).(*image.RGBA)
	m, err := FromRGBA(sub)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	back, err := ToRGBA(m)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := back.RGBAAt(0, 0), img.RGBAAt(5, 2); got != want {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestGrayAndEmpty(t *testing.T) {
	g := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(77, 0, 0, 0), 3, 4, gocv.MatTypeCV8UC1)
	defer g.Close()
	img, err := ToRGBA(g)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.RGBAAt(3, 2); got != (color.RGBA{77, 77, 77, 255}) {
		t.Fatalf("gray: got %v, want {77 77 77 255}", got)
	}
	e := gocv.NewMat()
	defer e.Close()
	if _, err := ToRGBA(e); err != ErrEmpty {
		t.Fatalf("empty: got %v, want ErrEmpty", err)
	}
}

func BenchmarkToRGBA640x480(b *testing.B) {
	m, _ := FromRGBA(testImage(640, 480))
	defer m.Close()
	dst := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for b.Loop() {
		if err := ToRGBAInto(m, dst); err != nil {
			b.Fatal(err)
		}
	}
}
