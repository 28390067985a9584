// Package segmenteval measures segmenters against reference masks: the IoU of
// the tree class on the real tree-cover mask in ../shared/data/treecover
// (leaving out the white no-data fill) and on weak labels (filled ellipses
// inside crown boxes) of NEON plots in ../shared/data/train.
//
// Its test TestAccuracy (build tag onnx; needs CANOPY_SHARED_DATA) scores the
// classical and the ONNX segmenters and, run with -args -doc, rewrites the
// "segmentation" section of docs/accuracy.md.
package segmenteval
