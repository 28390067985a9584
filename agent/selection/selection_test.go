package selection

import (
	"image"
	"image/color"
	"testing"
	"time"
)

func gradient(w, h int, shift int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8((x*7 + y*3 + shift) % 256)
			if (x/17+y/13+shift/10)%2 == 0 {
				v = 255 - v
			}
			img.SetRGBA(x, y, color.RGBA{v, v / 2, 255 - v, 255})
		}
	}
	return img
}

func noisy(img *image.RGBA, amount uint8) *image.RGBA {
	out := image.NewRGBA(img.Rect)
	copy(out.Pix, img.Pix)
	for i := 0; i < len(out.Pix); i += 4 * 7 {
		out.Pix[i] += amount
	}
	return out
}

// unknown marks a frame whose capture time is unknown.
const unknown = -time.Hour

func TestDecide(t *testing.T) {
	t0 := time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)
	a, b := gradient(320, 240, 0), gradient(320, 240, 95)
	type frame struct {
		img    image.Image
		at     time.Duration
		share  float64
		keep   bool
		reason string
	}
	for _, tc := range []struct {
		name   string
		p      Policy
		frames []frame
	}{
		{"everything off keeps all", Policy{}, []frame{
			{a, 0, 0, true, ""}, {a, 0, 0, true, ""}, {a, time.Millisecond, 0, true, ""},
		}},
		{"min share", Policy{MinShare: 0.2}, []frame{
			{a, 0, 0.19, false, ReasonLowShare}, {a, 0, 0.2, true, ""}, {b, 0, 0.9, true, ""},
		}},
		{"min interval", Policy{MinInterval: 2 * time.Second}, []frame{
			{a, 0, 0, true, ""}, {b, time.Second, 0, false, ReasonInterval}, {b, 2 * time.Second, 0, true, ""},
			{a, 3 * time.Second, 0, false, ReasonInterval}, {a, time.Second, 0, true, ""}, // clock went back
		}},
		{"unknown times pass the interval rule", Policy{MinInterval: time.Hour}, []frame{
			{a, unknown, 0, true, ""}, {a, unknown, 0, true, ""}, {a, 0, 0, true, ""}, {a, unknown, 0, true, ""}, {a, time.Second, 0, false, ReasonInterval},
		}},
		{"duplicates", Policy{Duplicates: DuplicatesSkip, DuplicateDistance: 4}, []frame{
			{a, 0, 0, true, ""}, {a, 1, 0, false, ReasonDuplicate}, {noisy(a, 3), 2, 0, false, ReasonDuplicate},
			{b, 3, 0, true, ""}, {a, 4, 0, true, ""},
		}},
		{"duplicates kept", Policy{Duplicates: DuplicatesKeep}, []frame{
			{a, 0, 0, true, ""}, {a, 1, 0, true, ""},
		}},
		{"share is checked first and does not reset", Policy{MinShare: 0.5, MinInterval: time.Second, Duplicates: DuplicatesSkip}, []frame{
			{a, 0, 0.6, true, ""}, {b, 0, 0.1, false, ReasonLowShare}, {b, 500 * time.Millisecond, 0.6, false, ReasonInterval},
			{a, 2 * time.Second, 0.6, false, ReasonDuplicate}, {b, 3 * time.Second, 0.6, true, ""},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.p.Validate(); err != nil {
				t.Fatal(err)
			}
			s := New(tc.p)
			for i, f := range tc.frames {
				at := t0.Add(f.at)
				if f.at == unknown {
					at = time.Time{}
				}
				d := s.Decide(f.img, at, f.share)
				if d.Keep != f.keep || d.Reason != f.reason {
					t.Fatalf("frame %d: got keep=%v reason=%q, want keep=%v reason=%q (distance %d)", i, d.Keep, d.Reason, f.keep, f.reason, d.Distance)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		p  Policy
		ok bool
	}{
		{Policy{}, true},
		{Policy{MinShare: 1, MinInterval: time.Hour, Duplicates: DuplicatesSkip, DuplicateDistance: 64}, true},
		{Policy{MinShare: -0.1}, false},
		{Policy{MinShare: 1.1}, false},
		{Policy{MinInterval: -time.Second}, false},
		{Policy{Duplicates: "drop"}, false},
		{Policy{DuplicateDistance: 65}, false},
	} {
		if err := tc.p.Validate(); (err == nil) != tc.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tc.p, err, tc.ok)
		}
	}
}

func TestDHash(t *testing.T) {
	a := gradient(640, 480, 0)
	if DHash(a) != DHash(a) {
		t.Fatal("DHash is not deterministic")
	}
	if DHash(image.NewRGBA(image.Rect(0, 0, 0, 0))) != 0 {
		t.Fatal("empty image: want 0")
	}
	// Tiny images do not panic.
	DHash(image.NewRGBA(image.Rect(0, 0, 1, 1)))
	DHash(image.NewGray(image.Rect(3, 3, 5, 4)))
}

func BenchmarkDHash640x480(b *testing.B) {
	img := gradient(640, 480, 0)
	for b.Loop() {
		DHash(img)
	}
}
