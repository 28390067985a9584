package selection_test

import (
	"fmt"
	"image"
	"time"

	"github.com/canopy-forest/canopy/agent/selection"
)

func ExampleSelector_Decide() {
	s := selection.New(selection.Policy{MinShare: 0.1, MinInterval: 2 * time.Second, Duplicates: selection.DuplicatesSkip, DuplicateDistance: 4})
	frame := image.NewRGBA(image.Rect(0, 0, 64, 48))
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, f := range []struct {
		at    time.Duration
		share float64
	}{{0, 0.05}, {0, 0.4}, {time.Second, 0.4}, {3 * time.Second, 0.4}} {
		d := s.Decide(frame, t0.Add(f.at), f.share)
		if d.Keep {
			fmt.Println("keep")
		} else {
			fmt.Println("skip:", d.Reason)
		}
	}
	// Output:
	// skip: low_share
	// keep
	// skip: interval
	// skip: duplicate
}
