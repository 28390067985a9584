package wire

import (
	"fmt"
	"math"
	"time"
)

// Join reassembles one item from all of its frames, as Chunk made them, in
// any order, and checks its SHA-256. A store that keeps items as frames
// (the device's outbox) uses it to read an item back. The item's data does
// not alias frames.
func Join(frames [][]byte) (Item, error) {
	r := NewReassembler(Limits{MaxItemBytes: math.MaxInt, MaxInProgress: 1, Timeout: time.Hour})
	for i, f := range frames {
		it, err := r.Add(f, time.Time{})
		if err != nil {
			return Item{}, fmt.Errorf("join frames: %w", err)
		}
		if it != nil {
			if i != len(frames)-1 {
				return Item{}, fmt.Errorf("join frames: item complete after %d of %d frames", i+1, len(frames))
			}
			return *it, nil
		}
	}
	return Item{}, fmt.Errorf("join frames: item incomplete after %d frames", len(frames))
}
