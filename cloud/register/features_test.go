package register

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func randomFeatures(n int, seed uint64) *Features {
	rng := rand.New(rand.NewPCG(seed, 2))
	f := &Features{Width: 640, Height: 480, Scale: 4, DescSize: 8}
	for i := 0; i < n; i++ {
		f.Points = append(f.Points, [2]float32{rng.Float32() * 640, rng.Float32() * 480})
		for j := 0; j < 8; j++ {
			f.Desc = append(f.Desc, byte(rng.IntN(256)))
		}
	}
	return f
}

func TestFeaturesRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 500} {
		f := randomFeatures(n, uint64(n))
		g, err := DecodeFeatures(f.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if g.Width != f.Width || g.Height != f.Height || g.Scale != f.Scale || g.Len() != n || !bytes.Equal(g.Desc, f.Desc) ||
			(n > 0 && g.Points[n-1] != f.Points[n-1]) {
			t.Errorf("%d points: got %+v", n, g)
		}
	}
	b := randomFeatures(3, 1).Encode()
	for _, bad := range [][]byte{nil, []byte("CRF1"), b[:len(b)-1], append([]byte("XXXX"), b[4:]...)} {
		if _, err := DecodeFeatures(bad); !errors.Is(err, ErrBadFeatures) {
			t.Errorf("%d bytes: got %v, want ErrBadFeatures", len(bad), err)
		}
	}
}

// FuzzDecodeFeatures: keypoint records come back from the blob store;
// whatever they hold, decoding returns an error or a record that encodes
// back to the same bytes.
func FuzzDecodeFeatures(f *testing.F) {
	f.Add(randomFeatures(4, 3).Encode())
	f.Add([]byte("CRF1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := DecodeFeatures(b)
		if err != nil {
			return
		}
		if !bytes.Equal(g.Encode(), b) {
			t.Fatalf("decode then encode changed %d bytes", len(b))
		}
	})
}

// TestGuidedMatches: each point of B finds its twin in A near where the
// guide puts it, even when another point of A has the same descriptor
// farther away (a repeated texture).
func TestGuidedMatches(t *testing.T) {
	a := randomFeatures(300, 9)
	shift := Translate(40, -25) // B's view to A's
	b := &Features{Width: 640, Height: 480, Scale: 4, DescSize: 8}
	for i, p := range a.Points {
		x, y := shift.Inv().Apply(float64(p[0]), float64(p[1]))
		b.Points = append(b.Points, [2]float32{float32(x), float32(y)})
		b.Desc = append(b.Desc, a.Desc[8*i:8*i+8]...)
	}
	// A decoy: point 0's descriptor again, 200 px away in A.
	a.Points = append(a.Points, [2]float32{a.Points[0][0] + 200, a.Points[0][1]})
	a.Desc = append(a.Desc, a.Desc[0:8]...)
	src, dst := guidedMatches(a, b, Guide{H: shift, Radius: 20}, 0.9)
	if len(src) < 290 {
		t.Fatalf("%d matches of 300", len(src))
	}
	for i := range src {
		x, y := shift.Apply(float64(src[i][0]), float64(src[i][1]))
		if d := (x-float64(dst[i][0]))*(x-float64(dst[i][0])) + (y-float64(dst[i][1]))*(y-float64(dst[i][1])); d > 1e-6 {
			t.Errorf("match %d: B %v to A %v, want its twin", i, src[i], dst[i])
		}
	}
}
