//go:build opencv

package main

import "gocv.io/x/gocv"

// opencvVersion is the version of the OpenCV library the binary runs with,
// and of GoCV.
func opencvVersion() string { return gocv.OpenCVVersion() + " (gocv " + gocv.Version() + ")" }
