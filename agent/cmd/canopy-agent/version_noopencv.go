//go:build !opencv

package main

// opencvVersion reports that this build has no OpenCV (build tag opencv).
func opencvVersion() string { return "none" }
