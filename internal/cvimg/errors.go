package cvimg

import "errors"

// ErrNoOpenCV is returned by every function of a build without the opencv
// build tag.
var ErrNoOpenCV = errors.New("built without OpenCV support (build tag opencv)")

// ErrEmpty is returned for an empty matrix or a zero-sized image.
var ErrEmpty = errors.New("empty image")
