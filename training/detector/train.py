#!/usr/bin/python3
"""Train Canopy's tree-crown detector and export it as ONNX.

A small CenterNet-style single-stage detector: the 0.1 m input is average-pooled
to 0.2 m inside the network (a quarter of the compute, so that it trains on a
CPU in an hour), a plain convolutional backbone down to stride 32, a
feature-pyramid decoder back up to stride 8 (input pixels), and three heads --
the crown-centre heatmap (focal loss), the box width and height (L1 on log
size), and the sub-cell centre offset. --backbone mobilenet_v2 puts the same
decoder and heads on an ImageNet-pretrained MobileNet V2 instead (mobilenet.py
reads its weights from ../shared/data/pretrained; --input-pool, --freeze-bn,
--backbone-lr).

Data: ../shared/data/train/neon_hist, neon_ttv and neon_ttv_train (NEON AOP
plots with hand-drawn crown boxes, CC BY 4.0, NeonTreeEvaluation, Weinstein et
al. 2021). The neon_ttv and neon_ttv_train images (416 px, stretched from 400
and CLAHE-equalised) are resized back to 400 px so that every image is at
0.1 m per pixel; neon_ttv_train (Roboflow's rotated and sheared versions of
192 plots) has loose boxes, shrunk about their centres (--shrink-augmented),
and a share of it is drawn each epoch (--augmented-share).

The split is by site: whole sites are held out for validation (default DELA,
BONA, OSBS), never a plot on both sides. The score threshold and the NMS IoU
are chosen on validation F1 at IoU 0.4 (greedy one-to-one matching sorted by
score, the same as `canopy-cloud eval`), and the checkpoint with the best
validation F1 is the one exported.

Runs on Debian's python3-torch 1.13 (CPU): /usr/bin/python3 training/detector/train.py
"""

import argparse
import csv
import hashlib
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageOps

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # mobilenet.py, for --backbone mobilenet_v2

_EQ_PROB = 1.0  # 0 when every image is equalised already (--preprocess equalize)
STRIDE = 8  # output stride in input pixels
TILE = 416  # export / inference tile size (multiple of 32)
GSD = 0.1
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


# ---------------------------------------------------------------- data


def load_folder(folder, shrink=1.0):
    """Returns a list of dicts: name, site, folder, plot (the source plot), img (HxWx3 uint8 at 0.1 m),
    boxes (Nx4 float). shrink scales every box about its centre (neon_ttv_train's boxes are the
    axis-aligned boxes of rotated and sheared crowns, so they run large)."""
    sites, plots = {}, {}
    with open(os.path.join(folder, "images.csv"), newline="") as f:
        for row in csv.DictReader(f):
            sites[row["image"]] = row["site"]
            plots[row["image"]] = row.get("source_image") or row["image"]
    boxes = {k: [] for k in sites}
    with open(os.path.join(folder, "annotations.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if row["image"] not in boxes:
                continue
            boxes[row["image"]].append([float(row[k]) for k in ("xmin", "ymin", "xmax", "ymax")])
    out = []
    for name in sorted(sites):
        path = os.path.join(folder, "images", name)
        if not os.path.exists(path):
            continue
        im = Image.open(path).convert("RGB")
        b = np.array(boxes[name], dtype=np.float32).reshape(-1, 4)
        if shrink != 1.0 and len(b):
            c = (b[:, :2] + b[:, 2:]) / 2
            half = (b[:, 2:] - b[:, :2]) / 2 * shrink
            b = np.concatenate([c - half, c + half], 1)
        w, h = im.size
        if w == 416 and h == 416:  # neon_ttv: stretched 400 -> 416; undo it (0.1 m/px)
            im = im.resize((400, 400), Image.BILINEAR)
            b = b * (400.0 / 416.0)
        out.append(dict(name=name, site=sites[name], folder=os.path.basename(folder.rstrip("/")), plot=plots[name],
                        img=np.asarray(im, dtype=np.uint8).copy(), boxes=b))
    return out


def plot_key(rec):
    """Same plot across years/folders (SJER 2017/2018) and across augmented versions (neon_ttv_train)."""
    n = rec["plot"]
    for suf in ("_2017.png", "_2018.png"):
        if n.endswith(suf):
            return n[: -len(suf)]
    return n


# ---------------------------------------------------------------- augmentation


def colour_jitter(img, rng):
    """img float32 HxWx3 in 0..1. Random brightness, contrast, gamma, saturation, channel gains,
    and sometimes a global histogram equalisation blended in (CLAHE-like look), so that the
    network cannot tell the raw folder from the equalised one by colour alone."""
    if rng.random() < 0.35 * _EQ_PROB:
        u8 = Image.fromarray((img * 255).clip(0, 255).astype(np.uint8))
        eq = np.asarray(ImageOps.equalize(u8), dtype=np.float32) / 255.0
        a = rng.uniform(0.3, 1.0)
        img = (1 - a) * img + a * eq
    elif rng.random() < 0.2:
        u8 = Image.fromarray((img * 255).clip(0, 255).astype(np.uint8))
        img = np.asarray(ImageOps.autocontrast(u8, cutoff=rng.uniform(0, 3)), dtype=np.float32) / 255.0
    img = img * rng.uniform(0.7, 1.3)  # brightness
    m = img.mean()
    img = (img - m) * rng.uniform(0.7, 1.4) + m  # contrast
    gray = img.mean(axis=2, keepdims=True)
    img = gray + (img - gray) * rng.uniform(0.6, 1.4)  # saturation
    img = img * rng.uniform(0.9, 1.1, size=(1, 1, 3))  # white balance
    img = np.clip(img, 0, 1)
    img = img ** rng.uniform(0.7, 1.4)  # gamma
    if rng.random() < 0.2:
        img = img + rng.normal(0, 0.02, size=img.shape)
    return np.clip(img, 0, 1).astype(np.float32)


SCALES = (0.8, 1.25)  # --scales


def random_sample(rec, crop, rng):
    """A random crop of crop x crop pixels with scale jitter (log-uniform in SCALES), flips and
    90-degree rotations."""
    img = rec["img"]
    boxes = rec["boxes"].copy()
    s = math.exp(rng.uniform(math.log(SCALES[0]), math.log(SCALES[1])))
    h, w = img.shape[:2]
    nh, nw = max(int(round(h * s)), crop), max(int(round(w * s)), crop)
    pil = Image.fromarray(img).resize((nw, nh), Image.BILINEAR)
    boxes[:, [0, 2]] *= nw / w
    boxes[:, [1, 3]] *= nh / h
    x0 = rng.randint(0, nw - crop)
    y0 = rng.randint(0, nh - crop)
    arr = np.asarray(pil, dtype=np.float32)[y0:y0 + crop, x0:x0 + crop] / 255.0
    boxes -= np.array([x0, y0, x0, y0], dtype=np.float32)
    # keep boxes with at least half of their area inside the crop
    if len(boxes):
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        cl = boxes.clip(0, crop)
        inside = (cl[:, 2] - cl[:, 0]).clip(0) * (cl[:, 3] - cl[:, 1]).clip(0)
        keep = inside >= 0.5 * np.maximum(area, 1e-6)
        boxes = cl[keep]
    # flips and rotations
    if rng.random() < 0.5:
        arr = arr[:, ::-1]
        boxes = np.stack([crop - boxes[:, 2], boxes[:, 1], crop - boxes[:, 0], boxes[:, 3]], 1) if len(boxes) else boxes
    if rng.random() < 0.5:
        arr = arr[::-1]
        boxes = np.stack([boxes[:, 0], crop - boxes[:, 3], boxes[:, 2], crop - boxes[:, 1]], 1) if len(boxes) else boxes
    if rng.random() < 0.5:  # transpose (with the flips: all 8 dihedral symmetries)
        arr = arr.transpose(1, 0, 2)
        boxes = boxes[:, [1, 0, 3, 2]] if len(boxes) else boxes
    arr = colour_jitter(np.ascontiguousarray(arr), rng)
    return arr, boxes.reshape(-1, 4).astype(np.float32)


def gaussian_radius(h, w, min_overlap=0.7):
    # CenterNet's radius so that a box shifted within it keeps IoU >= min_overlap
    a1, b1 = 1, h + w
    c1 = w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1 ** 2 - 4 * a1 * c1)) / 2
    a2, b2 = 4, 2 * (h + w)
    c2 = (1 - min_overlap) * w * h
    r2 = (b2 + math.sqrt(b2 ** 2 - 4 * a2 * c2)) / 2
    a3, b3 = 4 * min_overlap, -2 * min_overlap * (h + w)
    c3 = (min_overlap - 1) * w * h
    r3 = (b3 + math.sqrt(b3 ** 2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def make_targets(boxes, size):
    """Heatmap (1,H,W), wh (2,H,W) in pixels, offset (2,H,W) in cells, mask (H,W)."""
    fh = fw = size // STRIDE
    hm = np.zeros((1, fh, fw), np.float32)
    wh = np.zeros((2, fh, fw), np.float32)
    off = np.zeros((2, fh, fw), np.float32)
    mask = np.zeros((fh, fw), np.float32)
    ys, xs = np.mgrid[0:fh, 0:fw]
    for b in boxes:
        bw, bh = b[2] - b[0], b[3] - b[1]
        if bw < 2 or bh < 2:
            continue
        cx, cy = (b[0] + b[2]) / 2 / STRIDE, (b[1] + b[3]) / 2 / STRIDE
        ix, iy = min(int(cx), fw - 1), min(int(cy), fh - 1)
        r = max(0, int(gaussian_radius(bh / STRIDE, bw / STRIDE)))
        sigma = (2 * r + 1) / 6
        g = np.exp(-((xs - ix) ** 2 + (ys - iy) ** 2) / (2 * sigma * sigma))
        hm[0] = np.maximum(hm[0], g)
        wh[:, iy, ix] = (bw, bh)
        off[:, iy, ix] = (cx - ix, cy - iy)
        mask[iy, ix] = 1
    return hm, wh, off, mask


# ---------------------------------------------------------------- model


def cbr(i, o, s=1):
    return nn.Sequential(nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.b1 = nn.BatchNorm2d(c)
        self.c2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(c)

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)), inplace=True)
        return F.relu(x + self.b2(self.c2(y)), inplace=True)


class CrownNet(nn.Module):
    """Input at 0.1 m is average-pooled by 2 first (the network sees 0.2 m pixels: a quarter of the
    compute, which is what makes CPU training in an hour possible); output stride 8 input pixels."""

    def __init__(self, width=1.0, down="avgpool"):
        super().__init__()
        c = [int(round(v * width)) for v in (24, 32, 64, 128)]
        d = int(round(48 * width))
        # the first halving: a fixed 2x2 average, or a learned stride-2 convolution that sees 0.1 m detail
        self.down = cbr(3, 16, 2) if down == "conv" else None
        self.stem = cbr(16 if down == "conv" else 3, c[0], 2)               # /4
        self.s2 = nn.Sequential(cbr(c[0], c[1], 2), Block(c[1]))             # /8
        self.s3 = nn.Sequential(cbr(c[1], c[2], 2), Block(c[2]))             # /16
        self.s4 = nn.Sequential(cbr(c[2], c[3], 2), Block(c[3]), Block(c[3]))  # /32
        self.l4 = nn.Conv2d(c[3], d, 1)
        self.l3 = nn.Conv2d(c[2], d, 1)
        self.l2 = nn.Conv2d(c[1], d, 1)
        self.f3, self.f2 = cbr(d, d), cbr(d, d)
        self.head = cbr(d, d)
        self.hm = nn.Conv2d(d, 1, 1)
        self.wh = nn.Conv2d(d, 2, 1)
        self.off = nn.Conv2d(d, 2, 1)
        nn.init.constant_(self.hm.bias, -2.19)
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))

    def forward(self, x):
        """x: N,3,H,W RGB in 0..1 (H, W multiples of 32). Returns raw heatmap logits, wh (input pixels),
        offset (cells of STRIDE input pixels)."""
        x = (x - self.mean) / self.std
        x = self.down(x) if self.down is not None else F.avg_pool2d(x, 2)
        x2 = self.s2(self.stem(x))
        x3 = self.s3(x2)
        x4 = self.s4(x3)
        p = self.l4(x4)
        p = self.f3(self.l3(x3) + F.interpolate(p, scale_factor=2.0, mode="nearest"))
        p = self.f2(self.l2(x2) + F.interpolate(p, scale_factor=2.0, mode="nearest"))
        h = self.head(p)
        # wh predicted in log space around 40 px (a typical crown), in input pixels
        wh = torch.exp(self.wh(h).clamp(-4.0, 4.0)) * 40.0
        return self.hm(h), wh, self.off(h)


class MobileCrownNet(nn.Module):
    """The same three heads on an ImageNet-pretrained MobileNet V2 (read from the TFLite file by
    mobilenet.py): a feature pyramid over its stride 8, 16 and 32 stages, output stride 8 input pixels.
    input_pool 2 average-pools the 0.1 m input to 0.2 m first (a quarter of the compute) and taps the
    stride 4, 8 and 16 stages instead, so that the output stays at stride 8 input pixels."""

    TAPS = {1: (6, 13, 17), 2: (3, 6, 13)}  # last feature stage of each tap
    CHANNELS = {3: 24, 6: 32, 13: 96, 17: 320}

    def __init__(self, pretrained="", input_pool=1, d=64):
        super().__init__()
        if pretrained:
            import mobilenet  # needs python3-flatbuffers
            feats = mobilenet.load_mobilenet_v2(pretrained)
        else:
            import torchvision
            feats = torchvision.models.mobilenet_v2().features
        self.input_pool = input_pool
        t = self.TAPS[input_pool]
        self.b1, self.b2, self.b3 = feats[:t[0] + 1], feats[t[0] + 1:t[1] + 1], feats[t[1] + 1:t[2] + 1]
        c = [self.CHANNELS[i] for i in t]
        self.l3, self.l2, self.l1 = nn.Conv2d(c[2], d, 1), nn.Conv2d(c[1], d, 1), nn.Conv2d(c[0], d, 1)
        self.f2, self.f1 = cbr(d, d), cbr(d, d)
        self.head = cbr(d, d)
        self.hm = nn.Conv2d(d, 1, 1)
        self.wh = nn.Conv2d(d, 2, 1)
        self.off = nn.Conv2d(d, 2, 1)
        nn.init.constant_(self.hm.bias, -2.19)

    def freeze_bn(self):
        """The backbone's batch norms stay as they were loaded (their running statistics are the identity,
        the TFLite folding): batches of 8 crops would otherwise replace them with noisy batch statistics.
        Their scale and shift still learn. Called after every net.train()."""
        for m in (self.b1, self.b2, self.b3):
            for bn in m.modules():
                if isinstance(bn, nn.BatchNorm2d):
                    bn.eval()

    def backbone_parameters(self):
        return [p for m in (self.b1, self.b2, self.b3) for p in m.parameters()]

    def forward(self, x):
        x = x * 2.0 - 1.0  # the TFLite MobileNet's input scale: RGB in -1..1
        if self.input_pool == 2:
            x = F.avg_pool2d(x, 2)
        x1 = self.b1(x)
        x2 = self.b2(x1)
        x3 = self.b3(x2)
        p = self.l3(x3)
        p = self.f2(self.l2(x2) + F.interpolate(p, scale_factor=2.0, mode="nearest"))
        p = self.f1(self.l1(x1) + F.interpolate(p, scale_factor=2.0, mode="nearest"))
        h = self.head(p)
        wh = torch.exp(self.wh(h).clamp(-4.0, 4.0)) * 40.0
        return self.hm(h), wh, self.off(h)


def build_net(args):
    if args.backbone == "mobilenet_v2":
        return MobileCrownNet(args.pretrained, args.input_pool)
    return CrownNet(args.width, args.down)


def input_norm(args):
    """The mean and std the graph applies (recorded in the metadata and the card)."""
    if args.backbone == "mobilenet_v2":
        return [0.5] * 3, [0.5] * 3
    return MEAN, STD


class Exported(nn.Module):
    """What ships: sigmoid heatmap and its 3x3 max-pool (peaks are where they are equal)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        hm, wh, off = self.net(x)
        hm = torch.sigmoid(hm)
        return hm, F.max_pool2d(hm, 3, 1, 1), wh, off


def focal_loss(logits, gt):
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = gt.eq(1).float()
    neg = 1 - pos
    pl = torch.log(p) * (1 - p) ** 2 * pos
    nl = torch.log(1 - p) * p ** 2 * (1 - gt) ** 4 * neg
    n = pos.sum()
    return -(pl.sum() + nl.sum()) / n.clamp(min=1)


# ---------------------------------------------------------------- decoding and scoring


def pad_to(arr, size):
    h, w = arr.shape[:2]
    out = np.zeros((size, size, 3), np.float32)
    out[:h, :w] = arr
    return out


def decode(hm, pool, wh, off, k=300, min_score=0.05):
    """numpy, single image: hm/pool (1,H,W), wh/off (2,H,W) -> (N,5) boxes x0,y0,x1,y1,score."""
    peaks = (hm[0] == pool[0]) & (hm[0] >= min_score)
    ys, xs = np.nonzero(peaks)
    s = hm[0, ys, xs]
    order = np.argsort(-s, kind="stable")[:k]
    ys, xs, s = ys[order], xs[order], s[order]
    cx = (xs + off[0, ys, xs]) * STRIDE
    cy = (ys + off[1, ys, xs]) * STRIDE
    w, h = wh[0, ys, xs], wh[1, ys, xs]
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, s], 1).astype(np.float64)


def iou_matrix(a, b):
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = (x1 - x0).clip(0) * (y1 - y0).clip(0)
    aa = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    ab = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(aa[:, None] + ab[None, :] - inter, 1e-9)


def nms(d, thr):
    if thr >= 1 or len(d) == 0:
        return d
    order = np.argsort(-d[:, 4], kind="stable")
    d = d[order]
    iou = iou_matrix(d, d)
    keep = []
    sup = np.zeros(len(d), bool)
    for i in range(len(d)):
        if sup[i]:
            continue
        keep.append(i)
        sup |= iou[i] > thr
    return d[keep]


def match(pred, gt, thr=0.4):
    """Greedy one-to-one matching by score (pred sorted by score), like Go's eval. Returns TP."""
    if len(pred) == 0 or len(gt) == 0:
        return 0
    pred = pred[np.argsort(-pred[:, 4], kind="stable")]
    iou = iou_matrix(pred, gt)
    used = np.zeros(len(gt), bool)
    tp = 0
    for i in range(len(pred)):
        row = np.where(used, -1, iou[i])
        j = int(np.argmax(row))
        if row[j] >= thr:
            used[j] = True
            tp += 1
    return tp


def prf(tp, npred, ngt):
    p = tp / npred if npred else (1.0 if ngt == 0 else 0.0)
    r = tp / ngt if ngt else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


@torch.no_grad()
def predict(net, recs):
    """Raw decoded candidates (before threshold/NMS) for each record, images padded to TILE."""
    net.eval()
    out = []
    for rec in recs:
        arr = pad_to(rec["img"].astype(np.float32) / 255.0, TILE)
        x = torch.from_numpy(arr.transpose(2, 0, 1)).unsqueeze(0)
        hm, wh, off = net(x)
        hm = torch.sigmoid(hm)
        pool = F.max_pool2d(hm, 3, 1, 1)
        d = decode(hm[0].numpy(), pool[0].numpy(), wh[0].numpy(), off[0].numpy())
        h, w = rec["img"].shape[:2]
        d[:, [0, 2]] = d[:, [0, 2]].clip(0, w)
        d[:, [1, 3]] = d[:, [1, 3]].clip(0, h)
        out.append(d)
    return out


THRESHOLDS = [round(x, 2) for x in np.arange(0.10, 0.71, 0.025)]
NMS_IOUS = [0.3, 0.4, 0.5, 1.0]


def score(recs, cands, thr, nms_iou):
    per_site = {}
    rows = []
    for rec, d in zip(recs, cands):
        p = nms(d[d[:, 4] >= thr], nms_iou)
        tp = match(p, rec["boxes"])
        rows.append(dict(image=rec["name"], site=rec["site"], true=len(rec["boxes"]), pred=len(p), tp=tp))
        s = per_site.setdefault(rec["site"], [0, 0, 0])
        s[0] += tp
        s[1] += len(p)
        s[2] += len(rec["boxes"])
    tot = [sum(v[i] for v in per_site.values()) for i in range(3)]
    return prf(*tot), {k: prf(*v) for k, v in per_site.items()}, rows


def choose(recs, cands):
    """Best (F1, threshold, nms_iou, P, R) over THRESHOLDS x NMS_IOUS. Greedy NMS and greedy matching both
    go by descending score, so the result at a threshold is a prefix of the result at the lowest one:
    one NMS and one matching per image and NMS IoU."""
    best = None
    for nms_iou in NMS_IOUS:
        tp = np.zeros(len(THRESHOLDS))
        npred = np.zeros(len(THRESHOLDS))
        ngt = 0
        for rec, d in zip(recs, cands):
            p = nms(d[d[:, 4] >= THRESHOLDS[0]], nms_iou)
            ngt += len(rec["boxes"])
            hit = np.zeros(len(p))
            if len(p) and len(rec["boxes"]):
                iou = iou_matrix(p, rec["boxes"])
                used = np.zeros(len(rec["boxes"]), bool)
                for i in range(len(p)):
                    row = np.where(used, -1, iou[i])
                    j = int(np.argmax(row))
                    if row[j] >= 0.4:
                        used[j] = True
                        hit[i] = 1
            cum = np.concatenate([[0], np.cumsum(hit)])
            for k, thr in enumerate(THRESHOLDS):
                n = int(np.sum(p[:, 4] >= thr)) if len(p) else 0
                tp[k] += cum[n]
                npred[k] += n
        for k, thr in enumerate(THRESHOLDS):
            pr, rc, f = prf(tp[k], npred[k], ngt)
            if best is None or f > best[0] + 1e-9:
                best = (f, thr, nms_iou, pr, rc)
    return best


def count_errors(rows):
    rel = [abs(r["pred"] - r["true"]) / r["true"] for r in rows if r["true"] > 0]
    ab = [abs(r["pred"] - r["true"]) for r in rows]
    return dict(median_rel=float(np.median(rel)) if rel else 0.0, mean_rel=float(np.mean(rel)) if rel else 0.0,
                median_abs=float(np.median(ab)) if ab else 0.0, mean_abs=float(np.mean(ab)) if ab else 0.0)


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data", help="the shared data folder (has train/)")
    ap.add_argument("--out", default="models/crown-detector.onnx")
    ap.add_argument("--card", default="", help="model card to write (default: OUT with .md)")
    ap.add_argument("--val-sites", default="DELA,BONA,OSBS")
    ap.add_argument("--folders", default="neon_hist,neon_ttv,neon_ttv_train",
                    help="folders of DATA/train to load (a missing neon_ttv_train is skipped with a warning)")
    ap.add_argument("--shrink-augmented", type=float, default=0.9,
                    help="scale neon_ttv_train's boxes about their centres by this (they are loose)")
    ap.add_argument("--augmented-share", type=float, default=0.5,
                    help="share of neon_ttv_train's images drawn in each epoch (the rest of the data every epoch)")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=224)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--down", default="avgpool", choices=["avgpool", "conv"],
                    help="the first halving of the 0.1 m input: a 2x2 average (default) or a learned stride-2 convolution")
    ap.add_argument("--eval-every", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--max-minutes", type=float, default=50, help="stop early after this long (best checkpoint is kept)")
    ap.add_argument("--ckpt", default="", help="checkpoint file (default: OUT with .pt)")
    ap.add_argument("--export-only", action="store_true", help="export the checkpoint without training")
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--preprocess", default="equalize", choices=["none", "equalize"],
                    help="equalize: histogram-equalise every image (per channel, PIL's ImageOps.equalize) before "
                         "training and inference, so that raw and CLAHE imagery look alike (recorded as canopy.preprocess)")
    ap.add_argument("--backbone", default="crownnet", choices=["crownnet", "mobilenet_v2"],
                    help="crownnet: the small net from random weights; mobilenet_v2: ImageNet-pretrained MobileNet V2")
    ap.add_argument("--pretrained", default="",
                    help="the MobileNet V2 TFLite file (default DATA/pretrained/mobilenet_v2_imagenet/"
                         "mobilenet_v2_1.0_224_quant.tflite; 'none' for random weights)")
    ap.add_argument("--input-pool", type=int, default=1, choices=[1, 2],
                    help="mobilenet_v2: 2 average-pools the 0.1 m input to 0.2 m first (a quarter of the compute)")
    ap.add_argument("--backbone-lr", type=float, default=1.0, help="mobilenet_v2: the backbone's learning rate, times --lr")
    ap.add_argument("--freeze-bn", type=int, default=1,
                    help="mobilenet_v2: 1 keeps the backbone's batch-norm statistics as loaded (0: learn them from the batches)")
    ap.add_argument("--scales", default="0.8,1.25", help="scale jitter range of the training crops (multi-scale training)")
    args = ap.parse_args()
    global SCALES
    SCALES = tuple(float(v) for v in args.scales.split(","))
    if args.backbone == "mobilenet_v2" and not args.pretrained:
        args.pretrained = os.path.join(args.data, "pretrained", "mobilenet_v2_imagenet", "mobilenet_v2_1.0_224_quant.tflite")
    if args.pretrained == "none":
        args.pretrained = ""

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)

    ckpt = args.ckpt or os.path.splitext(args.out)[0] + ".pt"
    card = args.card or os.path.splitext(args.out)[0] + ".md"
    t0 = time.time()
    recs = []
    for sub in args.folders.split(","):
        folder = os.path.join(args.data, "train", sub)
        if not os.path.isdir(folder):
            if sub == "neon_ttv_train":
                log(f"warning: {folder} is missing; training without it")
                continue
            sys.exit(f"train.py: {folder} is missing")
        recs += load_folder(folder, args.shrink_augmented if sub == "neon_ttv_train" else 1.0)
    if args.preprocess == "equalize":
        for r in recs:
            r["img"] = np.asarray(ImageOps.equalize(Image.fromarray(r["img"])), dtype=np.uint8).copy()
    global _EQ_PROB
    _EQ_PROB = 0.0 if args.preprocess == "equalize" else 1.0
    val_sites = set(s for s in args.val_sites.split(",") if s)
    train = [r for r in recs if r["site"] not in val_sites]
    val = [r for r in recs if r["site"] in val_sites]
    # no plot on both sides (split is by site, so this is a check)
    assert not ({plot_key(r) for r in train} & {plot_key(r) for r in val})
    log(f"loaded {len(recs)} images in {time.time() - t0:.1f}s: train {len(train)} images "
        f"{sum(len(r['boxes']) for r in train)} boxes, val {len(val)} images {sum(len(r['boxes']) for r in val)} boxes "
        f"(sites {sorted(val_sites)})")

    net = build_net(args)
    nparams = sum(p.numel() for p in net.parameters())
    log(f"model: {nparams} parameters")
    state = dict(best_f1=-1.0, epoch=0)
    t_train = time.time()
    if not args.export_only:
        groups = [dict(params=list(net.parameters()))]
        if args.backbone == "mobilenet_v2":
            bb = {id(p) for p in net.backbone_parameters()}
            groups = [dict(params=[p for p in net.parameters() if id(p) in bb], lr=args.lr * args.backbone_lr),
                      dict(params=[p for p in net.parameters() if id(p) not in bb])]
        opt = torch.optim.AdamW(groups, lr=args.lr, weight_decay=1e-4)
        base = [i for i, r in enumerate(train) if r["folder"] != "neon_ttv_train"]
        aug = [i for i, r in enumerate(train) if r["folder"] == "neon_ttv_train"]
        per_epoch = len(base) + int(round(args.augmented_share * len(aug)))
        steps_per_epoch = max(1, per_epoch // args.batch)
        total = steps_per_epoch * args.epochs
        warm = min(200, total // 10)
        budget = args.max_minutes * 60

        def lr_at(step):
            # cosine decay over the planned steps -- or over the time budget when that runs out first, so that
            # a run cut short by --max-minutes still ends annealed (then the schedule depends on the clock)
            prog = step / total
            if budget > 0:
                prog = max(prog, (time.time() - t_train) / budget)
            return min(1.0, (step + 1) / max(1, warm)) * 0.5 * (1 + math.cos(math.pi * min(1.0, prog)))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
        rng = random.Random(args.seed)
        nrng = np.random.RandomState(args.seed)
        for epoch in range(1, args.epochs + 1):
            net.train()
            if args.freeze_bn and hasattr(net, "freeze_bn"):
                net.freeze_bn()
            # every plain image once, and a fresh random share of the augmented ones
            order = base + rng.sample(aug, int(round(args.augmented_share * len(aug))))
            rng.shuffle(order)
            tl = [0.0, 0.0, 0.0]
            for b in range(steps_per_epoch):
                idx = order[b * args.batch:(b + 1) * args.batch]
                xs, hms, whs, offs, masks = [], [], [], [], []
                for i in idx:
                    arr, bx = random_sample(train[i], args.crop, _Rng(rng, nrng))
                    hm, wh, off, m = make_targets(bx, args.crop)
                    xs.append(arr.transpose(2, 0, 1))
                    hms.append(hm), whs.append(wh), offs.append(off), masks.append(m)
                x = torch.from_numpy(np.stack(xs))
                hm_t = torch.from_numpy(np.stack(hms))
                wh_t = torch.from_numpy(np.stack(whs))
                off_t = torch.from_numpy(np.stack(offs))
                m_t = torch.from_numpy(np.stack(masks)).unsqueeze(1)
                hm_p, wh_p, off_p = net(x)
                n = m_t.sum().clamp(min=1)
                l_hm = focal_loss(hm_p, hm_t)
                # size loss on log scale (scale-invariant), offset in cells
                l_wh = (torch.abs(torch.log(wh_p.clamp(min=1)) - torch.log(wh_t.clamp(min=1))) * m_t).sum() / n
                l_off = (torch.abs(off_p - off_t) * m_t).sum() / n
                loss = l_hm + l_wh + l_off
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
                opt.step()
                sched.step()
                tl[0] += l_hm.item()
                tl[1] += l_wh.item()
                tl[2] += l_off.item()
            el = (time.time() - t_train) / 60
            log(f"epoch {epoch}/{args.epochs} loss hm {tl[0] / steps_per_epoch:.3f} wh {tl[1] / steps_per_epoch:.3f} "
                f"off {tl[2] / steps_per_epoch:.3f} lr {sched.get_last_lr()[0]:.5f} ({el:.1f} min)")
            last = epoch == args.epochs or (args.max_minutes and el >= args.max_minutes)
            if epoch % args.eval_every == 0 or last:
                cands = predict(net, val)
                f, thr, nms_iou, p, r = choose(val, cands)
                log(f"  val F1 {f:.3f} (P {p:.3f} R {r:.3f}) at score {thr} nms {nms_iou}")
                if f > state["best_f1"]:
                    state = dict(best_f1=f, epoch=epoch, thr=thr, nms_iou=nms_iou)
                    torch.save(dict(model=net.state_dict(), state=state, args=vars(args)), ckpt)
                    log(f"  saved {ckpt}")
            if last:
                if epoch < args.epochs:
                    log(f"stopping after {el:.1f} minutes (--max-minutes)")
                break
    train_minutes = (time.time() - t_train) / 60

    saved = torch.load(ckpt)
    net.load_state_dict(saved["model"])
    state = saved["state"]
    net.eval()
    cands = predict(net, val)
    (p, r, f), per_site, rows = score(val, cands, state["thr"], state["nms_iou"])
    errs = count_errors(rows)
    site_err = {s: count_errors([x for x in rows if x["site"] == s]) for s in per_site}
    log(f"best epoch {state['epoch']}: val P {p:.3f} R {r:.3f} F1 {f:.3f}, count error median "
        f"{errs['median_rel']:.3f} mean {errs['mean_rel']:.3f}")

    export(net, args, state, args.out)
    sha = hashlib.sha256(open(args.out, "rb").read()).hexdigest()
    log(f"wrote {args.out} sha256 {sha}")
    report = dict(sha256=sha, state=state, val=dict(precision=p, recall=r, f1=f, **errs),
                  per_site={s: dict(precision=v[0], recall=v[1], f1=v[2], images=sum(1 for x in rows if x["site"] == s),
                                    boxes=sum(x["true"] for x in rows if x["site"] == s), **site_err[s])
                            for s, v in sorted(per_site.items())},
                  rows=rows, folders=sorted({r["folder"] for r in recs}), train_sites=sorted({r["site"] for r in train}), val_sites=sorted(val_sites),
                  train_images=len(train), train_boxes=int(sum(len(r["boxes"]) for r in train)),
                  val_images=len(val), val_boxes=int(sum(len(r["boxes"]) for r in val)),
                  train_minutes=train_minutes, params=nparams, args=vars(args))
    with open(os.path.splitext(args.out)[0] + ".json", "w") as fjson:
        json.dump(report, fjson, indent=1)
    write_card(card, report, args)
    log(f"wrote {card}")


class _Rng:
    """random.Random for scalars, numpy for arrays; both seeded once."""

    def __init__(self, r, n):
        self.r, self.n = r, n

    def random(self):
        return self.r.random()

    def uniform(self, a, b, size=None):
        if size is None:
            return self.r.uniform(a, b)
        return self.n.uniform(a, b, size=size).astype(np.float32)

    def randint(self, a, b):
        return self.r.randint(a, b)

    def normal(self, m, s, size):
        return self.n.normal(m, s, size=size).astype(np.float32)


def export(net, args, state, out):
    import onnx

    ex = Exported(net).eval()
    x = torch.zeros(1, 3, TILE, TILE)
    tmp = out + ".tmp"
    torch.onnx.export(ex, x, tmp, opset_version=args.opset, input_names=["image"],
                      output_names=["heatmap", "heatmap_max", "wh", "offset"],
                      dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "heatmap": {0: "n", 2: "fh", 3: "fw"},
                                    "heatmap_max": {0: "n", 2: "fh", 3: "fw"}, "wh": {0: "n", 2: "fh", 3: "fw"},
                                    "offset": {0: "n", 2: "fh", 3: "fw"}},
                      do_constant_folding=True)
    m = onnx.load(tmp)
    meta = {
        "canopy.kind": "centernet",
        "canopy.name": "crown-detector",
        "canopy.stride": str(STRIDE),
        "canopy.input_size": str(TILE),
        "canopy.input_multiple": "32",
        "canopy.input": "RGB float32 N,3,H,W in 0..1 (normalisation is inside the graph)",
        "canopy.mean": ",".join(str(v) for v in input_norm(args)[0]),
        "canopy.std": ",".join(str(v) for v in input_norm(args)[1]),
        "canopy.backbone": args.backbone + (" (ImageNet-pretrained)" if args.pretrained else ""),
        "canopy.normalized_inside": "true",
        "canopy.score_threshold": str(state["thr"]),
        "canopy.nms_iou": str(state["nms_iou"]),
        "canopy.gsd_m": str(GSD),
        "canopy.preprocess": args.preprocess,
        "canopy.outputs": "heatmap N,1,H/8,W/8 sigmoid; heatmap_max its 3x3 max-pool (peak where equal); "
                          "wh N,2,H/8,W/8 box width,height in input pixels; offset N,2,H/8,W/8 centre offset in cells",
        "canopy.val_f1": f"{state['best_f1']:.4f}",
        "canopy.val_sites": args.val_sites,
        "canopy.license": "weights trained on NeonTreeEvaluation data (CC BY 4.0, Weinstein et al. 2021; NEON AOP imagery)",
    }
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    m.producer_name = "canopy training/detector/train.py"
    onnx.checker.check_model(m)
    onnx.save(m, out)
    os.remove(tmp)


def write_card(path, rep, args):
    ps = rep["per_site"]
    lines = [
        "# crown-detector.onnx: Canopy's tree-crown detector",
        "",
        *(["A CenterNet-style single-stage detector on an ImageNet-pretrained MobileNet V2 backbone (weights",
           "from `../shared/data/pretrained/mobilenet_v2_imagenet`, Apache-2.0), fine-tuned on NEON aerial RGB",
           "plots at 0.1 m per pixel. It finds one box per tree crown."]
          if args.backbone == "mobilenet_v2" and args.pretrained else
          ["A small CenterNet-style single-stage detector trained from scratch (no pretrained weights) on",
           "NEON aerial RGB plots at 0.1 m per pixel. It finds one box per tree crown."]),
        "",
        f"- SHA-256: `{rep['sha256']}`",
        f"- Parameters: {rep['params']:,}; ONNX opset {args.opset}.",
        "- Input `image`: float32 N,3,H,W, RGB in 0..1 (" + ("the scaling to -1..1" if args.backbone == "mobilenet_v2"
                                                            else "ImageNet mean/std normalisation") + " is inside the graph);",
        "  H and W multiples of 32 (Canopy feeds 416x416 tiles). Imagery must be at about 0.1 m per pixel:",
        "  Canopy resizes other ground sample distances to it.",
        "- Outputs at stride 8: `heatmap` (N,1,H/8,W/8, sigmoid crown-centre score), `heatmap_max` (its 3x3",
        "  max-pool; a peak is where both are equal), `wh` (N,2,H/8,W/8, box width and height in input pixels),",
        "  `offset` (N,2,H/8,W/8, sub-cell centre offset in cells). Box = centre +- wh/2.",
        f"- Metadata (`canopy.*` props): kind centernet, stride 8, input_size 416, score_threshold "
        f"{rep['state']['thr']}, nms_iou {rep['state']['nms_iou']}, gsd_m 0.1, preprocess {args.preprocess}"
        + (" (Canopy histogram-equalises each image, per channel, before the model)." if args.preprocess == "equalize" else "."),
        "",
        "## Data",
        "",
        f"Folders of `../shared/data/train`: {', '.join('`' + f + '`' for f in rep['folders'])}. `neon_hist`: 102 raw",
        "NEON plots, 400x400 at 0.1 m; `neon_ttv`: 106 plots, 416x416, CLAHE-equalised, resized back to 400x400;",
        "`neon_ttv_train`: 591 rotated and sheared CLAHE versions of 192 further plots, boxes shrunk by",
        f"{rep['args']['shrink_augmented']} about their centres (they are the axis-aligned boxes of rotated crowns), "
        f"{rep['args']['augmented_share']:.0%} of them drawn each epoch.",
        "NeonTreeEvaluation plots with hand-drawn crown boxes. Split by site (SJER 2017/2018 flights of the",
        "same plots, and the augmented versions of one plot, stay on one side):",
        "",
        f"- Training: {rep['train_images']} images, {rep['train_boxes']} boxes, sites {', '.join(rep['train_sites'])}.",
        f"- Validation (never trained on): {rep['val_images']} images, {rep['val_boxes']} boxes, sites "
        f"{', '.join(rep['val_sites'])}.",
        "",
        "Augmentation: random crops with scale jitter (0.8-1.25), flips, transposes (all 8 nadir",
        "symmetries), brightness, contrast, saturation, white balance, gamma, noise, and "
        + ("sometimes an autocontrast. Every image is histogram-equalised per channel first (`--preprocess equalize`;"
           " Canopy does the same before the model), so that raw and CLAHE imagery look alike."
           if args.preprocess == "equalize" else
           "a random histogram equalisation or autocontrast blended in (so that the raw and CLAHE folders look alike)."),
        "",
        "## Validation scores (IoU 0.4, greedy one-to-one matching by score, as `canopy-cloud eval`)",
        "",
        "| site | images | boxes | precision | recall | F1 | median count error | mean count error |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s, v in ps.items():
        lines.append(f"| {s} | {v['images']} | {v['boxes']} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} "
                     f"| {100 * v['median_rel']:.1f}% | {100 * v['mean_rel']:.1f}% |")
    v = rep["val"]
    lines.append(f"| **all** | {rep['val_images']} | {rep['val_boxes']} | {v['precision']:.3f} | {v['recall']:.3f} | "
                 f"{v['f1']:.3f} | {100 * v['median_rel']:.1f}% | {100 * v['mean_rel']:.1f}% |")
    lines += [
        "",
        f"The score threshold ({rep['state']['thr']}) and NMS IoU ({rep['state']['nms_iou']}) were chosen on these",
        f"validation sites, and training stopped at the epoch with the best validation F1 (epoch {rep['state']['epoch']}),",
        "so the figures above are slightly optimistic; `docs/accuracy.md` also scores the model on plots",
        "of sites never used at all.",
        "",
        "## Training",
        "",
        "```",
        "make model    # or: /usr/bin/python3 training/detector/train.py --data ../shared/data --out models/crown-detector.onnx",
        "```",
        "",
        f"Arguments: `{' '.join(f'--{k.replace(chr(95), chr(45))} {v}' for k, v in rep['args'].items() if k in ('epochs', 'batch', 'crop', 'lr', 'width', 'seed', 'val_sites', 'threads', 'max_minutes', 'preprocess', 'shrink_augmented', 'augmented_share', 'backbone', 'input_pool', 'backbone_lr', 'scales', 'freeze_bn') or (k == 'down' and v != 'avgpool'))}`.",
        f"Training took {rep['train_minutes']:.0f} minutes on 2 shared CPU cores (Debian python3-torch 1.13).",
        "Seeded, with torch's deterministic algorithms requested. The learning rate follows a cosine over the",
        "epochs or over the `--max-minutes` budget, whichever is further along, so that a run on a busy",
        "machine still ends annealed; that makes the schedule, and so the model, depend on the machine's",
        "load. `--max-minutes 0` gives a run that depends on the seed only (up to floating-point thread",
        "scheduling).",
        "",
        "## Limits",
        "",
        f"- Trained on 0.1 m NEON orthophotos of North American forests only ({rep['train_boxes']:,} boxes): expect",
        "  worse results on drone imagery, other resolutions that are not rescaled, or other biomes.",
        "- Validation sites are all from the CLAHE folder except OSBS; the scores on raw imagery of unseen",
        "  sites are in `docs/accuracy.md`.",
        "- Dense, touching crowns (closed canopy) are split or merged; small crowns under about 1.5 m are",
        "  often missed. Standing dead trees are boxed in the labels and found less reliably.",
        *(["- It was fine-tuned for about an hour on a CPU; longer training on a GPU may do better."]
          if args.backbone == "mobilenet_v2" else
          ["- It is small and was trained for about an hour on a CPU: a GPU-trained, pretrained detector",
           "  would do better."]),
        "",
        "## Licence and attribution",
        "",
        "Trained on NeonTreeEvaluation data (Weinstein, B.G. et al. 2021, \"A benchmark dataset for canopy",
        "crown detection and delineation in co-registered airborne RGB, LiDAR and hyperspectral imagery from",
        "the National Ecological Observation Network\", PLoS Comput Biol 17(7): e1009180), released under",
        "CC BY 4.0, and on the Roboflow \"Tree-Top-View\" v6 export of NEON plots (CC BY 4.0). Imagery: NEON",
        "Airborne Observation Platform, RGB orthophotos DP3.30010.001 (NEON, Battelle). The model weights are",
        "distributed under CC BY 4.0 with this attribution.",
        "",
        "Do not report NeonTreeEvaluation benchmark scores for this model: its plots were used for training.",
        "",
    ]
    text = keep_written_sections("\n".join(lines), path)
    with open(path, "w") as f:
        f.write(text)


GENERATED = ("# ", "## Data", "## Validation scores", "## Training", "## Limits", "## Licence and attribution")


def sections(text):
    """Splits a markdown text at its second-level headings: [(heading line or "", text)]."""
    out, cur, head = [], [], ""
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            out.append((head, "".join(cur)))
            cur, head = [], line.rstrip("\n")
        cur.append(line)
    out.append((head, "".join(cur)))
    return out


def keep_written_sections(generated, path):
    """The card's hand-written sections (scores by domain, history: any second-level section train.py
    does not write) are carried from the card at path into the new one, before the licence."""
    if not os.path.exists(path):
        return generated
    kept = [t for h, t in sections(open(path).read()) if h and not h.startswith(GENERATED)]
    if not kept:
        return generated
    out = []
    for h, t in sections(generated):
        if h.startswith("## Licence"):
            out += [k if k.endswith("\n\n") else k.rstrip("\n") + "\n\n" for k in kept]
        out.append(t)
    return "".join(out)


if __name__ == "__main__":
    main()
