// Package count finds and counts tree crowns in aerial images.
//
// Counter is the contract: Count returns one box per crown, and every
// Result records the method, the model and its SHA-256. The implementations
// live in subpackages: classical (GoCV, build tag opencv, no model), learned
// (ONNX Runtime, build tag onnx, the detector trained in training/detector)
// and auto, which chooses between them. Counters are safe for concurrent use.
//
// This package holds the pure-Go parts they share: non-maximum suppression
// (NMS), tiling of large images with box merging across tiles (Tiles,
// Merge), resizing to the counters' ground sample distance (Rescale),
// drawing boxes (Draw), and evaluation against ground truth: ReadBoxes reads
// the `image,xmin,ymin,xmax,ymax,label` CSV, Match and ScoreImage do greedy
// one-to-one matching at an IoU (0.4 by convention), and Summarise gives
// the per-image and overall true and predicted counts, count errors,
// precision, recall and F1.
package count
