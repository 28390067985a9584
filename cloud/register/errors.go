package register

import "errors"

// ErrUnavailable is returned by Extract and Match in a build without the
// opencv build tag: the scan's photos are then merged by position only.
var ErrUnavailable = errors.New("registration unavailable: built without OpenCV (build tag opencv)")

// ErrBadFeatures is returned by DecodeFeatures for bytes it did not write.
var ErrBadFeatures = errors.New("register: not a features record")
