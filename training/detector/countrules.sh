#!/usr/bin/env bash
# countrules.sh scores other ways of turning the learned detector's peaks
# into a count than the model's fixed score threshold (docs/accuracy.md,
# section counting): a soft count (the sum of the scores above a floor,
# times a factor) and a per-image threshold at a fraction of the image's
# tenth-best score. Boxes come from `canopy-cloud count --json` at a low
# threshold; F1 is at IoU 0.4 with greedy one-to-one matching by score, as
# `canopy-cloud eval` does.
#
#   training/detector/countrules.sh [BIN]     (BIN: canopy-cloud, default bin/canopy-cloud)
#
# VAL_SITES (default DELA,BONA,OSBS), DATA (default ../shared/data), MODEL.
# Rules are chosen on the held-out columns only: trees/ is the test set.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-bin/canopy-cloud}
. training/detector/heldout.sh
heldout_boxes "$tmp"
count() { "$BIN" count --json --method learned --model "$MODEL" --threshold 0.05 "$@"; }
for f in "$tmp"/*.*.csv; do
	b=$(basename "$f" .csv)
	folder=${b#*.}
	mapfile -t imgs < <(printf "%s\n" "$tmp/$b"/*)
	count --gsd "$(folder_gsd "$folder")" "${imgs[@]}" >"$tmp/$b.json"
done
cp "$DATA/trees/boxes.csv" "$tmp/trees.csv"
count "$DATA"/trees/*.png >"$tmp/trees.json"
/usr/bin/python3 - "$tmp" <<'PY'
import csv, glob, json, os, statistics, sys
tmp = sys.argv[1]

def load(csvfile):
    """Returns {image: (true boxes, found boxes with scores)}."""
    truth = {}
    for r in csv.DictReader(open(csvfile)):
        truth.setdefault(r["image"], []).append([float(r[k]) for k in ("xmin", "ymin", "xmax", "ymax")])
    found = {os.path.basename(r["image"]): [[b[k] for k in ("xmin", "ymin", "xmax", "ymax", "score")] for b in r["boxes"]]
             for r in json.load(open(csvfile[:-4] + ".json"))}
    return {k: (v, found[k]) for k, v in truth.items()}

def iou(a, b):
    i = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i
    return i / u if u > 0 else 0

def matched(found, truth):
    used, m = set(), 0
    for p in sorted(found, key=lambda p: -p[4]):
        best, bj = 0.4, -1
        for j, g in enumerate(truth):
            if j not in used and iou(p, g) >= best:
                best, bj = iou(p, g), j
        if bj >= 0:
            used.add(bj)
            m += 1
    return m

def score(rule, plots):
    """rule(found) -> (kept boxes, count). F1, median and mean count error."""
    tp = nf = nt = 0
    errs = []
    for truth, found in plots.values():
        kept, n = rule(found)
        tp += matched(kept, truth); nf += len(kept); nt += len(truth)
        errs.append(abs(n - len(truth)) / len(truth))
    p, r = tp / nf if nf else 0, tp / nt
    return f"{2 * p * r / (p + r) if p + r else 0:.2f} | {100 * statistics.median(errs):.0f}% | {100 * statistics.mean(errs):.0f}%"

def hard(t):
    return lambda bs: ([b for b in bs if b[4] >= t], sum(b[4] >= t for b in bs))

def soft(floor, k):
    return lambda bs: (hard(0.25)(bs)[0], k * sum(b[4] for b in bs if b[4] >= floor))

def tenth(f):
    def rule(bs):
        s = sorted((b[4] for b in bs), reverse=True)
        return hard(f * s[min(9, len(s) - 1)] if s else 1)(bs)
    return rule

held = {}
for f in glob.glob(os.path.join(tmp, "*.*.csv")):
    held.update(load(f))
trees = load(os.path.join(tmp, "trees.csv"))
rules = [("threshold 0.25 (ships)", hard(0.25))]
rules += [(f"soft count, floor {fl}, x{k}", soft(fl, k)) for fl in (0.05, 0.1, 0.15, 0.2) for k in (0.8, 1.0, 1.2, 1.5, 2.0)]
rules += [(f"threshold {f} x tenth score", tenth(f)) for f in (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)]
print(f"| rule | held-out F1 | median | mean | trees/ F1 | median | mean |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for name, rule in rules:
    print(f"| {name} | {score(rule, held)} | {score(rule, trees)} |")

# the threshold that would have counted each held-out image exactly, against its top and tenth score
exact, top, tenth10 = [], [], []
for truth, found in held.values():
    s = sorted((b[4] for b in found), reverse=True)
    if len(s) >= max(len(truth), 10):
        exact.append(s[len(truth) - 1]); top.append(s[0]); tenth10.append(s[9])
print(f"\nexact-count threshold per held-out image: {min(exact):.2f} to {max(exact):.2f};"
      f" correlation with the top score {statistics.correlation(exact, top):.2f},"
      f" with the tenth {statistics.correlation(exact, tenth10):.2f}")
PY
