//go:build !opencv

package main

func cloudOpenCVVersion() string { return "none (built without the opencv tag)" }
