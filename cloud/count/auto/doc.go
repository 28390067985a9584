// Package auto chooses a tree counter: the learned detector
// (cloud/count/learned) when its model file is present and ONNX Runtime
// loads, the classical one (cloud/count/classical) otherwise, or the one a
// Config names. Every result records the method, the model and its SHA-256.
package auto
