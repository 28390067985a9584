// Package learned counts tree crowns with a trained detector run by ONNX
// Runtime: by default models/crown-detector.onnx, a CenterNet-style network
// trained by training/detector/train.py.
//
// The image is resized to the model's ground sample distance (0.1 m per
// pixel unless the model says otherwise), cut into overlapping tiles of the
// model's input size (416 x 416, zero-padded at the edges), the heatmap
// peaks of each tile decoded into boxes, and the boxes merged across tiles
// with non-maximum suppression. YOLO-style detectors (YOLOv8 and later
// exports: one output of 1 x (4+classes) x N, every class a tree) run the
// same way, for users who bring their own model. Results record the method "learned", the
// model's name and its SHA-256.
//
// Decoding and tiling are pure Go; the counter itself needs the build tag
// onnx (New returns an error without it). A Counter is safe for concurrent
// use: Count calls are serialised on its one session.
package learned
