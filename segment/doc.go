// Package segment turns camera frames into forest masks.
//
// Segmenter is the one contract shared across the project. The classical
// implementation needs no model file; the ONNX Runtime implementation (build
// tag onnx) runs a segmentation model.
package segment
