// Package classical is a segmenter that needs no model file: a vegetation
// index (excess green, 2G − R − B) with an automatic threshold chosen by
// Otsu's method on the index histogram of each frame, kept between a floor
// and a ceiling so that a frame with no vegetation (grey, white) stays
// background and a frame that is all canopy stays forest.
//
// It is pure Go and works on *image.RGBA's pixel bytes directly. A Segmenter
// reuses its buffers between calls, so it is for one goroutine at a time;
// make one per goroutine.
package classical
