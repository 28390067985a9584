// Package count finds and counts tree crowns in aerial images.
//
// Counter is the contract; the classical implementation (GoCV, build tag
// opencv) needs no model, the learned one (ONNX Runtime, build tag onnx)
// runs the crown detector trained in training/.
package count
