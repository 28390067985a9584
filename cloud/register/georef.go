package register

import (
	"fmt"
	"math"
	"math/cmplx"
)

// Frame says how a block's frame (its reference photo's view pixels)
// lies on the ground.
type Frame struct {
	// ToMetres maps frame pixels to metres: east and north of the scan's
	// origin when Geo, else a local map of the block (the reference
	// photo's centre at 0, its top edge up).
	ToMetres Mat3
	Geo      bool
	// How says how the block was placed; GPSRMS is the distance (metres,
	// RMS) between the photos' registered centres and their GPS positions.
	How    string
	GPSRMS float64
}

// MinGPSSpanM is the least distance between the GPS positions of a
// block's photos for them to set its scale and heading: below, GPS noise
// (metres) would turn it too much.
const MinGPSSpanM = 15

// Place puts block b of solution s on the ground. With photos that have
// GPS positions spread over MinGPSSpanM, a similarity (scale, rotation,
// shift) fitted to their registered centres and GPS positions; its scale
// is kept only within 20% of the GSD's (else the GSD's scale is kept and
// only rotation and shift fitted). With one photo placed by its camera
// model, that model. Else a local map in metres from gsd (metres per
// view pixel of the reference photo).
func Place(photos []Photo, s Solution, b int, gsd float64) Frame {
	var from, to []complex128
	ground := -1
	for i, p := range photos {
		if s.Block[i] != b {
			continue
		}
		if p.HasCentre {
			x, y := s.T[i].Apply(float64(p.Width)/2, float64(p.Height)/2)
			from = append(from, complex(x, -y)) // frame y points down
			to = append(to, complex(p.Centre[0], p.Centre[1]))
		}
		if p.Ground != nil && ground < 0 {
			ground = i
		}
	}
	if len(from) >= 2 && span(to) >= MinGPSSpanM {
		a, t := fitSimilarity(from, to, 0)
		how := fmt.Sprintf("GPS positions of %d photos", len(from))
		if gsd > 0 && (cmplx.Abs(a) < 0.8*gsd || cmplx.Abs(a) > 1.25*gsd) {
			a, t = fitSimilarity(from, to, gsd)
			how += " (rotation and shift; scale from the GSD)"
		}
		f := Frame{ToMetres: Mat3{real(a), imag(a), real(t), imag(a), -real(a), imag(t), 0, 0, 1}, Geo: true, How: how}
		var ss float64
		for i := range from {
			ss += sq(cmplx.Abs(a*from[i] + t - to[i]))
		}
		f.GPSRMS = math.Sqrt(ss / float64(len(from)))
		return f
	}
	if ground >= 0 {
		return Frame{ToMetres: photos[ground].Ground.Mul(s.T[ground].Inv()), Geo: true, How: "camera model of one photo (GPS, heading, GSD)"}
	}
	if gsd <= 0 {
		gsd = 1
	}
	ref := photos[s.Blocks[b].Ref]
	cx, cy := float64(ref.Width)/2, float64(ref.Height)/2
	return Frame{ToMetres: Mat3{gsd, 0, -gsd * cx, 0, -gsd, gsd * cy, 0, 0, 1}, How: "local map in metres from the GSD (no GPS)"}
}

func sq(v float64) float64 { return v * v }

// span is the largest distance of the points from their mean, twice.
func span(ps []complex128) float64 {
	var m complex128
	for _, p := range ps {
		m += p
	}
	m /= complex(float64(len(ps)), 0)
	var d float64
	for _, p := range ps {
		d = math.Max(d, cmplx.Abs(p-m))
	}
	return 2 * d
}

// fitSimilarity fits to = a*from + t by least squares; with scale > 0,
// |a| is held at scale.
func fitSimilarity(from, to []complex128, scale float64) (a, t complex128) {
	var mf, mt complex128
	n := complex(float64(len(from)), 0)
	for i := range from {
		mf += from[i]
		mt += to[i]
	}
	mf, mt = mf/n, mt/n
	var num complex128
	var den float64
	for i := range from {
		num += (to[i] - mt) * cmplx.Conj(from[i]-mf)
		den += sq(cmplx.Abs(from[i] - mf))
	}
	if den == 0 {
		a = 1
	} else {
		a = num / complex(den, 0)
	}
	if scale > 0 && cmplx.Abs(a) > 0 {
		a *= complex(scale/cmplx.Abs(a), 0)
	}
	return a, mt - a*mf
}
