//go:build !opencv

// Command benchvideo needs the opencv build tag.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "benchvideo: built without OpenCV support (build tag opencv)")
	os.Exit(1)
}
