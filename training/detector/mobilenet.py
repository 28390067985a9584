"""MobileNet V2 with ImageNet weights read from a uint8 TFLite flatbuffer.

Debian's python3-torchvision ships no weights and cannot download them here, so the backbone is
started from ../shared/data/pretrained/mobilenet_v2_imagenet/mobilenet_v2_1.0_224_quant.tflite
(google-coral test_data, Apache-2.0). The file is read with the flatbuffers runtime alone (no
generated schema code: the few tables needed are read by their field index in the TFLite
schema), every convolution weight is dequantized as scale * (q - zero_point) and every int32
bias as its own scale * q, and they are loaded, in graph order, into torchvision's MobileNetV2.
Batch normalisation is folded into the TFLite convolutions, so each BatchNorm2d is set to the
identity plus the bias (and is then fine-tuned like any other layer).
"""

import numpy as np
import torch
import torch.nn as nn

import flatbuffers
from flatbuffers import number_types as N
from flatbuffers.table import Table

CONV_2D = 3
DEPTHWISE_CONV_2D = 4
# TensorType: the ones the quantized MobileNet uses
_DTYPES = {0: np.float32, 2: np.int32, 3: np.uint8, 9: np.int8}


class _T:
    """One flatbuffer table, read by field index (the vtable slot of field i is 4 + 2 i)."""

    def __init__(self, buf, pos):
        self.t = Table(buf, pos)

    def _o(self, i):
        return self.t.Offset(4 + 2 * i)

    def scalar(self, i, flags, default=0):
        o = self._o(i)
        return self.t.Get(flags, o + self.t.Pos) if o else default

    def table(self, i):
        o = self._o(i)
        return _T(self.t.Bytes, self.t.Indirect(o + self.t.Pos)) if o else None

    def tables(self, i):
        o = self._o(i)
        if not o:
            return []
        start, n = self.t.Vector(o), self.t.VectorLen(o)
        return [_T(self.t.Bytes, self.t.Indirect(start + 4 * k)) for k in range(n)]

    def array(self, i, dtype):
        o = self._o(i)
        if not o:
            return np.zeros(0, dtype)
        start, n = self.t.Vector(o), self.t.VectorLen(o)
        return np.frombuffer(self.t.Bytes, dtype=dtype, count=n, offset=start)

    def string(self, i):
        o = self._o(i)
        return self.t.String(o + self.t.Pos).decode() if o else ""


def read_tflite_convs(path):
    """Returns [(name, kind, weight, bias)] for every CONV_2D and DEPTHWISE_CONV_2D of the first
    subgraph, in operator order: weight float32 in TFLite layout (conv O,H,W,I; depthwise 1,H,W,C),
    bias float32."""
    buf = bytearray(open(path, "rb").read())
    if buf[4:8] != b"TFL3":
        raise ValueError(f"{path}: not a TFLite flatbuffer (no TFL3 identifier)")
    model = _T(buf, flatbuffers.encode.Get(N.UOffsetTFlags.packer_type, buf, 0))
    # Model: 1 operator_codes, 2 subgraphs, 4 buffers
    codes = []
    for oc in model.tables(1):
        # OperatorCode: 0 deprecated_builtin_code (int8), 3 builtin_code (int32)
        codes.append(max(oc.scalar(0, N.Int8Flags), oc.scalar(3, N.Int32Flags)))
    buffers = model.tables(4)
    sub = model.tables(2)[0]
    tensors = sub.tables(0)  # SubGraph: 0 tensors, 3 operators

    def tensor(i):
        t = tensors[i]  # Tensor: 0 shape, 1 type, 2 buffer, 3 name, 4 quantization
        shape = tuple(int(v) for v in t.array(0, np.int32))
        dtype = _DTYPES[t.scalar(1, N.Uint8Flags)]
        data = buffers[t.scalar(2, N.Uint32Flags)].array(0, np.uint8)
        q = t.table(4)  # QuantizationParameters: 2 scale, 3 zero_point
        scale = q.array(2, np.float32) if q else np.zeros(0, np.float32)
        zero = q.array(3, np.int64) if q else np.zeros(0, np.int64)
        a = np.frombuffer(data.tobytes(), dtype=dtype).reshape(shape).astype(np.float32)
        if len(scale):
            # per-tensor (one scale) or per-axis on the first dimension
            sh = (-1,) + (1,) * (a.ndim - 1) if len(scale) > 1 else ()
            zp = zero.astype(np.float32).reshape(sh) if len(zero) else 0.0
            a = (a - zp) * scale.reshape(sh)
        return t.string(3), a

    out = []
    for op in sub.tables(3):  # Operator: 0 opcode_index, 1 inputs
        code = codes[op.scalar(0, N.Uint32Flags)]
        if code not in (CONV_2D, DEPTHWISE_CONV_2D):
            continue
        ins = op.array(1, np.int32)
        name, w = tensor(ins[1])
        _, b = tensor(ins[2])
        out.append((name, "dw" if code == DEPTHWISE_CONV_2D else "conv", w, b))
    return out


def load_mobilenet_v2(path):
    """torchvision's MobileNetV2 (width 1.0) features with the TFLite file's ImageNet weights.
    Returns the nn.Sequential of 19 feature stages; input RGB normalised to -1..1."""
    import torchvision

    net = torchvision.models.mobilenet_v2(num_classes=1001).features
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    src = read_tflite_convs(path)
    # 52 convolutions in the features, then the classifier's 1x1 convolution (logits), not used
    if len(src) < len(convs):
        raise ValueError(f"{path}: {len(src)} convolutions, the MobileNet V2 features have {len(convs)}")
    with torch.no_grad():
        for conv, bn, (name, kind, w, b) in zip(convs, bns, src):
            if kind == "dw":
                t = torch.from_numpy(w[0].transpose(2, 0, 1)[:, None].copy())  # 1,H,W,C -> C,1,H,W
            else:
                t = torch.from_numpy(w.transpose(0, 3, 1, 2).copy())  # O,H,W,I -> O,I,H,W
            if tuple(t.shape) != tuple(conv.weight.shape):
                raise ValueError(f"{path}: {name} is {tuple(t.shape)}, the network wants {tuple(conv.weight.shape)}")
            conv.weight.copy_(t)
            bn.weight.fill_(1.0)
            bn.bias.copy_(torch.from_numpy(b.copy()))
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
    return net


if __name__ == "__main__":
    # a check: classify a picture with the dequantized network (ImageNet class index, 1001 classes)
    import sys

    from PIL import Image

    src = read_tflite_convs(sys.argv[1])
    feats = load_mobilenet_v2(sys.argv[1]).eval()
    _, _, wl, bl = src[-1]
    im = Image.open(sys.argv[2]).convert("RGB").resize((224, 224))
    x = torch.from_numpy(np.asarray(im, np.float32).transpose(2, 0, 1)[None] / 127.5 - 1.0)
    with torch.no_grad():
        f = feats(x).mean((2, 3))
    logits = f.numpy() @ wl.reshape(wl.shape[0], -1).T + bl
    top = np.argsort(-logits[0])[:5]
    print(len(src), "convolutions; top-5 classes", top.tolist())
