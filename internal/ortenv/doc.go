// Package ortenv sets up ONNX Runtime once per process.
//
// Init loads the shared library (libonnxruntime.so.1) and initialises the
// ONNX Runtime environment; it is idempotent and safe to call from several
// goroutines. DefaultLibrary finds the library in the usual places.
// SessionOptions builds session options for an execution provider ("cpu",
// "cuda" or "tensorrt"), falling back to the CPU with a warning when the
// provider cannot be loaded; SetMemory trades a little speed for memory
// (MemoryLean, for small boards).
//
// The ONNX Runtime parts need the build tag onnx (and cgo). Without it Init
// returns ErrNoONNX and SessionOptions does not exist; DefaultLibrary works in
// every build.
package ortenv
