package ortenv

import (
	"fmt"
	"strings"
)

// Memory modes of a session (the boards' onnx.memory, the agent's
// segmenter.memory).
const (
	// MemoryFast keeps every graph optimisation (on x86, the NCHWc layout
	// transform, which makes the convolutions of the shipped segmentation
	// model about 1.6 times faster and keeps reordered copies of their
	// activations) and ONNX Runtime's CPU arena, but turns memory pattern
	// planning off: the plan holds one block as large as all of a run's
	// intermediate tensors together, on top of the arena (about 9 MiB for
	// the shipped model at 384x384, for a speed the same within the noise
	// of this machine).
	MemoryFast = "fast"
	// MemoryLean also stops graph optimisations at "extended" (no layout
	// transform): about 15 MiB less again on x86, but about 1.6 times
	// slower there. On arm64 the layout transform does not apply, so there
	// lean costs nothing; the Raspberry Pi profiles use it. The arena stays
	// on in both modes: without it every run goes back to malloc, whose
	// free lists grew larger than the arena did.
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
