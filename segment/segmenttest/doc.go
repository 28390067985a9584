// Package segmenttest is the conformance suite that every segment.Segmenter
// passes: mask bounds equal to the frame's, mask values 0 or 255, a share
// that agrees with the mask, determinism, cancellation, odd and tiny sizes,
// and the plain sense that a green canopy frame is mostly forest and a grey
// one mostly not.
//
// Call Run from a test of the implementation's package:
//
//	func TestConformance(t *testing.T) {
//		segmenttest.Run(t, func(t *testing.T) segment.Segmenter { return classical.New(classical.Options{}) })
//	}
package segmenttest
