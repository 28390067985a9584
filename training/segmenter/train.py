#!/usr/bin/env -S /usr/bin/python3
"""Train Canopy's tree-cover segmenter from scratch and export it as ONNX.

A tiny U-Net (a stride-2 stem, three encoder stages down to 1/16, a decoder
with skip connections back to 1/2, a bilinear upsample to full size) that
outputs the probability that each pixel is tree canopy: output (1,1,H,W),
input (1,3,H,W) float, RGB on 0..1 normalised with canopy.mean/canopy.std.
H and W are dynamic (multiples of 16).

Data: ../shared/data/train/neon_hist and neon_ttv (NEON AOP plots at about
0.1 m with hand-drawn crown boxes; CC BY 4.0, NeonTreeEvaluation, Weinstein
et al. 2021). neon_ttv images (416 px, stretched from 400 and CLAHE
equalised) are resized back to 400 px so that every image is at 0.1 m.

Labels are WEAK: no pixel masks exist, so each crown box becomes a filled
ellipse inscribed in it (tree), everything else background. Crowns that no
one boxed, and the corners of boxes, are therefore wrong in the labels.

The split is by site (default: DELA, BONA, OSBS held out, the same as the
crown detector), never a plot on both sides. The probability threshold is
chosen on validation IoU (weak labels) and the checkpoint with the best
validation IoU is exported, with canopy.* metadata so that segment/onnx needs
no configuration, and a model card beside it (same name, .md).

Seeded; one thread by default (--threads). Runs on Debian's python3-torch
1.13 on a CPU:

    /usr/bin/python3 training/segmenter/train.py --data ../shared/data/train --out models/treecover-seg.onnx
"""

import argparse
import csv
import hashlib
import io
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
from PIL import Image, ImageDraw

GSD = 0.1
MEAN = [0.5, 0.5, 0.5]
STD = [0.25, 0.25, 0.25]
MULTIPLE = 16
INPUT_SIZE = 384  # canopy.input_size: what segment/onnx resizes frames to by default


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


# ---------------------------------------------------------------- data


def load_folder(folder):
    """Returns a list of dicts: name, site, img (HxWx3 uint8 at 0.1 m), mask (HxW uint8 0/1), n_boxes."""
    sites = {}
    with open(os.path.join(folder, "images.csv"), newline="") as f:
        for row in csv.DictReader(f):
            sites[row["image"]] = row["site"]
    boxes = {}
    with open(os.path.join(folder, "annotations.csv"), newline="") as f:
        for row in csv.DictReader(f):
            boxes.setdefault(row["image"], []).append(
                [float(row["xmin"]), float(row["ymin"]), float(row["xmax"]), float(row["ymax"])])
    recs = []
    for name in sorted(sites):
        im = Image.open(os.path.join(folder, "images", name)).convert("RGB")
        sx = sy = 1.0
        if im.size != (400, 400):
            sx, sy = 400 / im.size[0], 400 / im.size[1]
            im = im.resize((400, 400), Image.BILINEAR)
        mask = Image.new("L", im.size, 0)
        d = ImageDraw.Draw(mask)
        bs = boxes.get(name, [])
        for x0, y0, x1, y1 in bs:
            d.ellipse([x0 * sx, y0 * sy, x1 * sx - 1, y1 * sy - 1], fill=1)
        recs.append(dict(name=name, site=sites[name], folder=os.path.basename(folder),
                         img=np.asarray(im, dtype=np.uint8).copy(), mask=np.asarray(mask, dtype=np.uint8).copy(),
                         n_boxes=len(bs)))
    return recs


def load(data):
    recs = []
    for sub in ("neon_hist", "neon_ttv"):
        p = os.path.join(data, sub)
        if os.path.isdir(p):
            recs += load_folder(p)
    if not recs:
        sys.exit(f"no images under {data}/neon_hist or {data}/neon_ttv")
    return recs


def augment(img, mask, size, rng):
    """img HxWx3 uint8, mask HxW: a random crop at a random scale, flips, rot90, colour jitter.
    Returns tensors 3xSxS float (0..1) and 1xSxS float."""
    h, w = mask.shape
    scale = math.exp(rng.uniform(math.log(0.5), math.log(1.6)))  # output pixels per input pixel
    c = min(int(round(size / scale)), h, w)
    y0, x0 = rng.randint(0, h - c), rng.randint(0, w - c)
    x = torch.from_numpy(img[y0:y0 + c, x0:x0 + c]).permute(2, 0, 1).float().div_(255)
    m = torch.from_numpy(mask[y0:y0 + c, x0:x0 + c]).float()[None]
    if c != size:
        x = F.interpolate(x[None], size=(size, size), mode="bilinear", align_corners=False)[0]
        m = F.interpolate(m[None], size=(size, size), mode="nearest")[0]
    k = rng.randint(0, 3)
    if k:
        x, m = torch.rot90(x, k, (1, 2)), torch.rot90(m, k, (1, 2))
    if rng.random() < 0.5:
        x, m = x.flip(2), m.flip(2)
    # colour: brightness, contrast, saturation, per-channel gain, gamma
    x = x * rng.uniform(0.7, 1.3)
    mean = x.mean()
    x = (x - mean) * rng.uniform(0.7, 1.4) + mean
    grey = x.mean(0, keepdim=True)
    x = (x - grey) * rng.uniform(0.6, 1.4) + grey
    x = x * torch.tensor([rng.uniform(0.9, 1.1) for _ in range(3)])[:, None, None]
    x = x.clamp(0, 1) ** rng.uniform(0.8, 1.25)
    return x, m


# ---------------------------------------------------------------- model


def block(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class TinyUNet(nn.Module):
    def __init__(self, w=16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, w, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(w),
                                  nn.ReLU(inplace=True))  # 1/2
        self.e1 = block(w, w)  # 1/2
        self.e2 = block(w, 2 * w)  # 1/4
        self.e3 = block(2 * w, 4 * w)  # 1/8
        self.e4 = block(4 * w, 6 * w)  # 1/16
        self.d3 = block(6 * w + 4 * w, 4 * w)
        self.d2 = block(4 * w + 2 * w, 2 * w)
        self.d1 = block(2 * w + w, w)
        self.head = nn.Conv2d(w, 1, 1)

    def forward(self, x):
        s = self.e1(self.stem(x))
        e2 = self.e2(F.max_pool2d(s, 2))
        e3 = self.e3(F.max_pool2d(e2, 2))
        e4 = self.e4(F.max_pool2d(e3, 2))
        up = lambda t: F.interpolate(t, scale_factor=2.0, mode="bilinear", align_corners=False)
        d = self.d3(torch.cat([up(e4), e3], 1))
        d = self.d2(torch.cat([up(d), e2], 1))
        d = self.d1(torch.cat([up(d), s], 1))
        return up(self.head(d))  # logits, full size


class Exported(nn.Module):
    """The exported graph: normalised input in, probability out."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return torch.sigmoid(self.net(x))


def norm(x):
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


# ---------------------------------------------------------------- training


def loss_fn(logits, m):
    bce = F.binary_cross_entropy_with_logits(logits, m)
    p = torch.sigmoid(logits)
    inter = (p * m).sum()
    dice = 1 - (2 * inter + 1) / (p.sum() + m.sum() + 1)
    return bce + 0.5 * dice


@torch.no_grad()
def predict(net, recs):
    net.eval()
    out = []
    for r in recs:
        x = torch.from_numpy(r["img"]).permute(2, 0, 1).float().div(255)[None]
        h, w = x.shape[2:]
        ph, pw = (-h) % MULTIPLE, (-w) % MULTIPLE
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        p = torch.sigmoid(net(norm(x)))[0, 0, :h, :w]
        out.append(p.numpy())
    net.train()
    return out


def iou_at(probs, recs, th):
    inter = union = 0
    for p, r in zip(probs, recs):
        pr, gt = p >= th, r["mask"] > 0
        inter += np.logical_and(pr, gt).sum()
        union += np.logical_or(pr, gt).sum()
    return inter / max(union, 1)


def best_threshold(probs, recs):
    best = (0.0, 0.5)
    for th in np.arange(0.2, 0.81, 0.05):
        v = iou_at(probs, recs, th)
        if v > best[0]:
            best = (float(v), float(round(th, 2)))
    return best


def per_site(probs, recs, th):
    sites = sorted({r["site"] for r in recs})
    rows = []
    for s in sites:
        idx = [i for i, r in enumerate(recs) if r["site"] == s]
        rows.append(dict(site=s, images=len(idx), iou=float(iou_at([probs[i] for i in idx], [recs[i] for i in idx], th))))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/train", help="folder with neon_hist/ and neon_ttv/")
    ap.add_argument("--out", default="models/treecover-seg.onnx")
    ap.add_argument("--card", default="", help="model card path (default: --out with .md)")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--crop", type=int, default=160)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crops-per-image", type=int, default=1)
    ap.add_argument("--width", type=int, default=16, help="channels of the first stage")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--val-sites", default="DELA,BONA,OSBS")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--opset", type=int, default=13)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    t0 = time.time()

    recs = load(args.data)
    val_sites = {s for s in args.val_sites.split(",") if s}
    train = [r for r in recs if r["site"] not in val_sites]
    val = [r for r in recs if r["site"] in val_sites]
    log(f"{len(train)} train images ({len({r['site'] for r in train})} sites), {len(val)} val images "
        f"(sites {sorted(val_sites)})")
    if not train or not val:
        sys.exit("empty train or validation split")
    tree_frac = float(np.mean([r["mask"].mean() for r in train]))

    net = TinyUNet(args.width)
    n_params = sum(p.numel() for p in net.parameters())
    log(f"TinyUNet width {args.width}: {n_params} parameters; weak-label tree share in train {tree_frac:.3f}")
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    steps_per_epoch = math.ceil(len(train) * args.crops_per_image / args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch,
                                                pct_start=0.15)
    best = dict(iou=-1.0)
    history = []
    for ep in range(args.epochs):
        order = [i for i in range(len(train)) for _ in range(args.crops_per_image)]
        rng.shuffle(order)
        tot = 0.0
        for s in range(steps_per_epoch):
            idx = order[s * args.batch:(s + 1) * args.batch]
            if not idx:
                continue
            xs, ms = zip(*(augment(train[i]["img"], train[i]["mask"], args.crop, rng) for i in idx))
            x, m = norm(torch.stack(xs)), torch.stack(ms)
            loss = loss_fn(net(x), m)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item()
        if ep >= args.epochs // 3 or ep == args.epochs - 1:
            probs = predict(net, val)
            iou, th = best_threshold(probs, val)
        else:
            iou, th = float("nan"), 0.5
        history.append(dict(epoch=ep + 1, loss=tot / steps_per_epoch, val_iou=iou))
        log(f"epoch {ep + 1}/{args.epochs} loss {tot / steps_per_epoch:.4f} val IoU {iou:.3f} @ {th:.2f} "
            f"({time.time() - t0:.0f}s)")
        if iou == iou and iou > best["iou"]:
            best = dict(iou=iou, threshold=th, epoch=ep + 1,
                        state={k: v.clone() for k, v in net.state_dict().items()})
    net.load_state_dict(best["state"])
    probs = predict(net, val)
    sites = per_site(probs, val, best["threshold"])
    train_iou = iou_at(predict(net, train), train, best["threshold"])
    log(f"best epoch {best['epoch']}: val IoU {best['iou']:.3f} at threshold {best['threshold']}, train IoU {train_iou:.3f}")

    export(net, args, best, sites)
    sha = hashlib.sha256(open(args.out, "rb").read()).hexdigest()
    log(f"wrote {args.out} ({os.path.getsize(args.out)} bytes, sha256 {sha})")
    card = args.card or os.path.splitext(args.out)[0] + ".md"
    write_card(card, args, dict(
        sha256=sha, size=os.path.getsize(args.out), params=n_params, best=best, sites=sites, train_iou=float(train_iou),
        train_images=len(train), val_images=len(val), train_sites=sorted({r["site"] for r in train}),
        val_sites=sorted(val_sites), train_boxes=sum(r["n_boxes"] for r in train),
        val_boxes=sum(r["n_boxes"] for r in val), seconds=time.time() - t0, tree_frac=tree_frac,
        torch=torch.__version__))
    log(f"wrote {card}")


def export(net, args, best, sites):
    import onnx
    net.eval()
    model = Exported(net)
    buf = io.BytesIO()
    dummy = torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE)
    torch.onnx.export(model, dummy, buf, opset_version=args.opset, input_names=["image"], output_names=["tree"],
                      dynamic_axes={"image": {2: "height", 3: "width"}, "tree": {2: "height", 3: "width"}},
                      do_constant_folding=True)
    m = onnx.load_from_string(buf.getvalue())
    meta = {
        "canopy.layout": "nchw",
        "canopy.input_size": str(INPUT_SIZE),
        "canopy.mean": ",".join(str(v) for v in MEAN),
        "canopy.std": ",".join(str(v) for v in STD),
        "canopy.channels": "rgb",
        "canopy.output": "probability",
        "canopy.threshold": str(best["threshold"]),
        "canopy.gsd_m": str(GSD),
        "canopy.size_multiple": str(MULTIPLE),
        "canopy.model": "treecover-seg",
        "canopy.labels": "weak: filled ellipses inside NEON crown boxes",
        "canopy.val_sites": args.val_sites,
        "canopy.val_iou_weak": f"{best['iou']:.4f}",
        "canopy.license": "CC BY 4.0 training data: NeonTreeEvaluation (Weinstein et al. 2021), NEON AOP",
    }
    del m.metadata_props[:]
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    m.producer_name = "canopy training/segmenter/train.py"
    m.doc_string = "Tree-cover segmenter (tiny U-Net) trained from scratch on NEON plots with weak labels"
    onnx.checker.check_model(m)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    onnx.save(m, args.out)


def write_card(path, args, r):
    b = r["best"]
    site_rows = "\n".join(f"| {s['site']} | {s['images']} | {s['iou']:.3f} |" for s in r["sites"])
    text = f"""# treecover-seg: tree-cover segmenter

The default model of `segment/onnx` (Canopy's agent): the probability that
each pixel of an RGB frame is tree canopy. Made by
`training/segmenter/train.py` (`make model` runs it again); trained from
scratch here, on a CPU, on real NEON imagery. No pretrained weights.

| | |
| --- | --- |
| file | `models/treecover-seg.onnx`, {r['size']} bytes |
| SHA-256 | `{r['sha256']}` |
| architecture | tiny U-Net (stride-2 stem, encoder to 1/16, decoder with skips), {r['params']} parameters |
| input | `image` (1,3,H,W) float32 RGB, (v/255 − mean)/std, mean {MEAN}, std {STD}; H, W dynamic, multiples of {MULTIPLE}; default {INPUT_SIZE}x{INPUT_SIZE} |
| output | `tree` (1,1,H,W) probability of tree canopy; forest where p ≥ {b['threshold']} |
| scale | trained at about {GSD} m per pixel (NEON AOP), with scale jitter 0.5x to 1.6x |
| opset | {args.opset} (ONNX Runtime 1.24 runs it) |
| training | {args.epochs} epochs, {args.crop}x{args.crop} crops, batch {args.batch}, AdamW + one-cycle, seed {args.seed}, {args.threads} thread(s), {r['seconds'] / 60:.1f} min, torch {r['torch']} |

The `canopy.*` custom metadata (layout, input size, mean, std, threshold,
output kind) lets `segment/onnx` run it with no configuration.

## Data and split

`../shared/data/train/neon_hist` and `neon_ttv`: {r['train_images'] + r['val_images']} NEON plots
with hand-drawn crown boxes (neon_ttv resized from 416 back to 400 px, so
all at about 0.1 m). Split by site, never a plot on both sides:

- train: {r['train_images']} images, {r['train_boxes']} boxes, sites {', '.join(r['train_sites'])}
- validation (never trained on; used to choose the epoch and the threshold):
  {r['val_images']} images, {r['val_boxes']} boxes, sites {', '.join(r['val_sites'])}

## Weak labels (read this)

There are no pixel masks for these plots. Each crown box was turned into a
filled ellipse inscribed in it: tree inside, background everywhere else
(share of tree pixels in the training labels: {r['tree_frac']:.2f}). So the
labels miss crowns that nobody boxed, mark box corners of irregular crowns
as background and gaps inside ellipses as tree. Scores against these labels
measure agreement with the weak labels, not true tree cover.

## Scores

IoU of the tree class against the weak labels (threshold {b['threshold']}):

| split | IoU |
| --- | --- |
| train sites | {r['train_iou']:.3f} |
| validation sites (best epoch {b['epoch']}) | {b['iou']:.3f} |

| validation site | images | IoU |
| --- | --- | --- |
{site_rows}

Against a real tree-cover mask (an urban drone tile, not NEON, another
sensor and scale) see `docs/accuracy.md`, section "Tree-cover segmentation",
where it is compared with the classical excess-green segmenter.

## Limits

- Weak labels (above); grass and shrubs are background only as far as the
  crown boxes say so.
- Trained on NEON forest plots at 0.1 m; frames at a very different scale
  (a camera at low altitude, a satellite) or of other landscapes (cities)
  are out of its domain.
- Small: meant for a Raspberry Pi or a Jetson at a few frames per second,
  not for best accuracy.

## Licence and attribution

Training data: NeonTreeEvaluation benchmark (Weinstein et al. 2021, PLoS
Comput Biol 17:e1009180; Zenodo 5914554), licensed CC BY 4.0, and the
Roboflow "Tree-Top-View v6" export of NeonTreeEvaluation plots (CC BY 4.0);
imagery from the National Ecological Observatory Network (NEON) Airborne
Observation Platform, a programme of the U.S. National Science Foundation
operated by Battelle. DeepForest (Weinstein et al. 2019). The model was
trained on this data; when publishing results made with it, credit these
sources.
"""
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
