package ortenv

import (
	"fmt"
	"strings"
)

// Memory modes of a session (the boards' onnx.memory, the agent's
// segmenter.memory).
const (
	// MemoryFast is ONNX Runtime's defaults: its CPU arena, memory pattern
	// planning and every graph optimisation (on x86, the NCHWc layout
	// transform, which keeps extra reordered copies of activations).
	MemoryFast = "fast"
	// MemoryLean keeps the arena (without it every run goes back to
	// malloc, whose free lists grow larger than the arena did) but turns
	// memory pattern planning off and stops graph optimisations at
	// "extended" (no layout transform): for the shipped segmentation model
	// at 384x384, about 25 MiB less resident memory on x86 and about the
	// same speed. On arm64 the layout transform does not apply, so there
	// the two differ by the memory pattern alone.
	MemoryLean = "lean"
)

// Memories are the memory modes SessionOptions knows.
var Memories = []string{MemoryFast, MemoryLean}

// ValidMemory reports an error for a memory mode other than "", "fast" or
// "lean" ("" means fast).
func ValidMemory(m string) error {
	switch strings.ToLower(strings.TrimSpace(m)) {
	case "", MemoryFast, MemoryLean:
		return nil
	}
	return fmt.Errorf("unknown ONNX Runtime memory mode %q (want fast or lean)", m)
}
