package learned

import (
	"image"
	"testing"
)

func TestEqualize(t *testing.T) {
	// PIL: ImageOps.equalize on a 2x2 image with R values 10, 10, 20, 30
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	for i, v := range []uint8{10, 10, 20, 30} {
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = v, 7, 0, 255
	}
	out := Equalize(img)
	// histo (nonzero) 2,1,1: step = (4-1)/255 = 0 -> identity
	if out.Pix[0] != 10 || out.Pix[8] != 20 {
		t.Errorf("tiny image changed: %v", out.Pix[:12])
	}
	// a 32x32 ramp: 1024 pixels over values 0..255 (4 each): step = (1024-4)/255 = 4
	big := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for i := range 1024 {
		big.Pix[4*i] = uint8(i / 4)
		big.Pix[4*i+1] = uint8(64 + i/16) // values 64..127: stretched to 0..255
		big.Pix[4*i+3] = 255
	}
	out = Equalize(big)
	// R: lut[i] = (2 + 4i) / 4 = i
	for _, i := range []int{0, 100, 1023} {
		if out.Pix[4*i] != big.Pix[4*i] {
			t.Errorf("R at %d: %d, want %d", i, out.Pix[4*i], big.Pix[4*i])
		}
	}
	// G: 64 values x 16 pixels, step = (1024-16)/255 = 3; lut[64] = 1/3 = 0, lut[127] = (1 + 1008)/3 = 336 -> 255
	if g0, g1 := out.Pix[1], out.Pix[4*1023+1]; g0 != 0 || g1 != 255 {
		t.Errorf("G stretched to %d..%d, want 0..255", g0, g1)
	}
	if out.Pix[3] != 255 {
		t.Errorf("alpha not kept")
	}
}

// TestEqualizeLevels: filling a tile through EqualizeLevels gives what
// filling it from the Equalize'd image does.
func TestEqualizeLevels(t *testing.T) {
	img := image.NewRGBA(image.Rect(3, 5, 3+40, 5+30)) // not at the origin
	for i := range img.Pix {
		img.Pix[i] = uint8(i*37 + i/7)
	}
	r := image.Rect(3+4, 5+2, 3+36, 5+25)
	want := make([]float32, 3*48*48)
	got := make([]float32, 3*48*48)
	eq := Equalize(img) // at the origin
	FillTile(want, eq, r.Sub(img.Rect.Min), 48, nil)
	FillTile(got, img, r, 48, EqualizeLevels(img))
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("value %d: %v, want %v", i, got[i], want[i])
		}
	}
}
