// Package onnx is a segmenter that runs an ONNX segmentation model with ONNX
// Runtime (github.com/yalue/onnxruntime_go; build tag onnx).
//
// It accepts the usual shapes of segmentation model: one float32 image input,
// NCHW (N,3,H,W) or NHWC (N,H,W,3), of fixed or dynamic size; and one float
// output that is either per-pixel class scores (N,C,H,W or N,H,W,C with C ≥
// 2: argmax, or the softmax of the forest class against a threshold) or a
// probability map (N,1,H,W, N,H,W,1 or N,H,W: threshold). The frame is
// resized to the model's input (bilinear), normalised, run, and the mask
// mapped back to the frame's size (nearest neighbour).
//
// Settings come from Config; what Config leaves zero comes from the model's
// custom metadata (keys below), then from the defaults:
//
//	canopy.layout        "nchw" or "nhwc"          (default: from the input shape)
//	canopy.input_size    "W" or "WxH", e.g. "256"  (default: the model's fixed size, else 256x256)
//	canopy.mean          "r,g,b" on 0..1 pixels     (default 0,0,0)
//	canopy.std           "r,g,b" on 0..1 pixels     (default 1,1,1)
//	canopy.channels      "rgb" or "bgr"             (default rgb)
//	canopy.forest_class  class index in a score output (default 1)
//	canopy.threshold     forest when p ≥ threshold (default: argmax for scores, 0.5 for a map)
//	canopy.output        "probability" or "logit" for a one-channel output (default probability)
//
// A model with a dynamic input size may still want sizes of a multiple (the
// shipped models/treecover-seg.onnx: multiples of 16, canopy.size_multiple);
// a size it cannot run fails in New, which runs the model once. Learned
// models see best at the scale they were trained at (treecover-seg: about
// 0.1 m per pixel, canopy.gsd_m): choose InputWidth and InputHeight so that
// frames reach the model near that scale.
//
// New checks the model's input and output shapes and fails with an error that
// names the shape it expected and the shape it got. A Segmenter reuses its
// tensors between calls and is for one goroutine at a time. Close releases
// the session and tensors; the ONNX Runtime environment (internal/ortenv)
// stays for the life of the process.
package onnx
