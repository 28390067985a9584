//go:build opencv

package main

import "github.com/canopy-forest/canopy/internal/cvvideo"

// opencvVersion is the version of the OpenCV library the binary runs with
// (its videoio module is loaded only when a video source is opened).
func opencvVersion() string { return cvvideo.Version() + " (videoio loaded on demand)" }
