package boards_test

import (
	"fmt"

	"github.com/canopy-forest/canopy/boards"
)

func ExampleLookup() {
	p, err := boards.Lookup("raspberry-pi-5")
	if err != nil {
		panic(err)
	}
	fmt.Println(p.ONNX.Provider, p.ONNX.Threads, p.Camera.Width, p.Camera.Height)
	// Output: cpu 4 1920 1080
}
