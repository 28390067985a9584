//go:build !onnx

package ortenv

// Init returns ErrNoONNX: this build has no ONNX Runtime support.
func Init(libPath string) error { return ErrNoONNX }

// Version returns "": this build has no ONNX Runtime support.
func Version() string { return "" }
