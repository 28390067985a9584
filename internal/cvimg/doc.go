// Package cvimg converts between GoCV matrices and Go images quickly: one
// cvtColor in OpenCV and one copy of the bytes, never a per-pixel At().
//
// OpenCV keeps colour frames as BGR (3 channels) or BGRA (4 channels);
// *image.RGBA keeps RGBA. ToRGBA accepts 1-, 3- and 4-channel 8-bit
// matrices; FromRGBA returns a BGR matrix that the caller must Close.
//
// The functions hold no state and are safe to call concurrently. The
// package needs the opencv build tag; without it every function returns
// ErrNoOpenCV.
package cvimg
