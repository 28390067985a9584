//go:build !opencv

package cvimg

// This file makes the package build without cgo. The opencv build has
// ToRGBA, ToRGBAInto and FromRGBA over gocv.Mat; code that calls them sits
// behind the opencv tag too, so nothing is declared here but the errors.
