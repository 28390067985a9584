//go:build opencv

package main

import "gocv.io/x/gocv"

func cloudOpenCVVersion() string { return gocv.OpenCVVersion() }
