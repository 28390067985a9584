#!/usr/bin/env -S /usr/bin/python3
"""Builds the tiny hand-made ONNX models the segment/onnx tests run.

Run from this folder: /usr/bin/python3 make_models.py (needs python3-onnx
only). Each model computes an excess-green score (2G - R - B on 0..1 pixels)
with a 1x1 convolution or a MatMul, so that a green frame is forest and a
grey one is not, in a different input/output shape each.
"""
import onnx
from onnx import TensorProto, helper as h

OPSET = 13
W_EXG = [-1.0, 2.0, -1.0]


def save(name, nodes, inputs, outputs, inits, meta=None):
    g = h.make_graph(nodes, name, inputs, outputs, initializer=inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", OPSET)], producer_name="canopy-testdata")
    m.ir_version = 7
    for k, v in (meta or {}).items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(m)
    onnx.save(m, name)


def t(name, dims, vals):
    return h.make_tensor(name, TensorProto.FLOAT, dims, vals)


# 1. NCHW, fixed 64x64, two-class scores (1,2,64,64); class 1 is forest.
save("nchw_scores_fixed.onnx",
     [h.make_node("Conv", ["x", "w", "b"], ["scores"])],
     [h.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 64, 64])],
     [h.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 2, 64, 64])],
     [t("w", [2, 3, 1, 1], [0, 0, 0] + W_EXG), t("b", [2], [0.05, 0])])

# 2. NHWC, dynamic N/H/W, probability map (N,H,W,1), input size from metadata.
save("nhwc_prob_dynamic.onnx",
     [h.make_node("MatMul", ["x", "w"], ["z"]),
      h.make_node("Add", ["z", "b"], ["zb"]),
      h.make_node("Sigmoid", ["zb"], ["prob"])],
     [h.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "H", "W", 3])],
     [h.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", "H", "W", 1])],
     [t("w", [3, 1], [10 * v for v in W_EXG]), t("b", [1], [-0.5])],
     {"canopy.layout": "nhwc", "canopy.input_size": "96x64"})

# 3. NCHW, dynamic H/W, rank-3 logit map at half resolution (1,H/2,W/2),
#    read as logits (metadata canopy.output=logit).
save("nchw_logit_half.onnx",
     [h.make_node("Conv", ["x", "w", "b"], ["z"]),
      h.make_node("AveragePool", ["z"], ["zp"], kernel_shape=[2, 2], strides=[2, 2]),
      h.make_node("Squeeze", ["zp", "axes"], ["logit"])],
     [h.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"])],
     [h.make_tensor_value_info("logit", TensorProto.FLOAT, [1, "H2", "W2"])],
     [t("w", [1, 3, 1, 1], [10 * v for v in W_EXG]), t("b", [1], [-0.5]),
      h.make_tensor("axes", TensorProto.INT64, [1], [1])],
     {"canopy.output": "logit", "canopy.input_size": "80", "canopy.threshold": "0.5"})

# 4. NHWC, fixed 48x48, three-class scores (1,48,48,3) with forest in class 2,
#    BGR input, mean/std normalisation from metadata.
#    Input channel order is B,G,R, normalised as (v - 0.5) / 0.25, so the
#    forest score is 4 * (2G - R - B) of the 0..1 pixels.
save("nhwc_scores_bgr.onnx",
     [h.make_node("MatMul", ["x", "w"], ["z"]),
      h.make_node("Add", ["z", "b"], ["scores"])],
     [h.make_tensor_value_info("x", TensorProto.FLOAT, [1, 48, 48, 3])],
     [h.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 48, 48, 3])],
     # columns: class 0 (background), class 1 (water: never), class 2 (forest)
     [t("w", [3, 3], [0, 0, -1,    # B row
                      0, 0, 2,     # G row
                      0, 0, -1]),  # R row
      t("b", [3], [0.2, -10, 0])],
     {"canopy.channels": "bgr", "canopy.mean": "0.5,0.5,0.5", "canopy.std": "0.25,0.25,0.25",
      "canopy.forest_class": "2"})

# Wrong models.
save("bad_two_inputs.onnx",
     [h.make_node("Add", ["x", "y"], ["z"])],
     [h.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8]),
      h.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])],
     [h.make_tensor_value_info("z", TensorProto.FLOAT, [1, 3, 8, 8])], [])
save("bad_four_channels.onnx",
     [h.make_node("Conv", ["x", "w"], ["z"])],
     [h.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
     [h.make_tensor_value_info("z", TensorProto.FLOAT, [1, 2, 8, 8])],
     [t("w", [2, 4, 1, 1], [0] * 8)])
save("bad_flat_output.onnx",
     [h.make_node("Flatten", ["x"], ["z"])],
     [h.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
     [h.make_tensor_value_info("z", TensorProto.FLOAT, [1, 192])], [])
