#!/usr/bin/env bash
# accuracy.sh prints the counting tables of docs/accuracy.md and the model
# card: the learned and the classical counter, scored by `canopy-cloud eval`
# (IoU 0.4, every image of a set scored, an image without boxes as having no
# trees), in two domains of sites never trained on:
#
#   - held-out sites: the VAL_SITES plots of neon_ttv (CLAHE-equalised);
#   - raw imagery: the VAL_SITES plots of neon_hist (OSBS) and the plots of
#     ../shared/data/trees from unseen sites (OSBS_029, SOAP_061);
#
# and the three plots of ../shared/data/trees, image by image.
#
#   training/detector/accuracy.sh [BIN]     (BIN: canopy-cloud, default bin/canopy-cloud)
#
# VAL_SITES (default DELA,BONA,OSBS) are the held-out sites; DATA (default
# ../shared/data) the shared data; MODEL (default models/crown-detector.onnx)
# the detector; METHODS (default "learned classical") the counters.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-bin/canopy-cloud}
METHODS=${METHODS:-learned classical}
# settings, $tmp, and one boxes CSV and image folder per held-out site and folder
. training/detector/heldout.sh
heldout_boxes "$tmp"
raw_trees "$tmp"
for f in "$tmp"/*.*.csv; do
	b=$(basename "$f" .csv)
	folder=${b#*.}
	for m in $METHODS; do
		"$BIN" eval --json --method "$m" --model "$MODEL" --gsd "$(folder_gsd "$folder")" --boxes "$f" "$tmp/$b" \
			>"$tmp/val.$m.$b.json"
	done
done
for m in $METHODS; do
	"$BIN" eval --json --method "$m" --model "$MODEL" --gsd 0.1 --boxes "$DATA/trees/boxes.csv" "$DATA/trees" >"$tmp/trees.$m.json"
done
/usr/bin/python3 - "$tmp" "$METHODS" <<'PY'
import glob, json, os, sys
sys.path.insert(0, "training/detector")
from evalsum import summary
tmp, methods = sys.argv[1], sys.argv[2].split()

def load(patterns):
    imgs = []
    for pattern in patterns:
        for f in sorted(glob.glob(os.path.join(tmp, pattern))):
            imgs += json.load(open(f))["images"]
    return imgs

def cells(s):
    return (f"{s['p']} | {s['pr']:.2f} | {s['rc']:.2f} | **{s['f1']:.2f}** | {100*s['tot']:+.0f}% | "
            f"{100*s['med']:.0f}% | {s['mae']:.1f}")

head = ("| site | images | trees | method | found | precision | recall | F1 | total count error | "
        "median per-image error | mean abs. error (trees/image) |")
rule = "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"

def table(title, folders, total):
    print(f"**{title}**")
    print()
    print(head)
    print(rule)
    sites = sorted({os.path.basename(f).split(".")[2] for folder in folders
                    for f in glob.glob(os.path.join(tmp, f"val.{methods[0]}.*.{folder}.json"))})
    for site in sites + ["all"]:
        for m in methods:
            s = summary(load([f"val.{m}.{'*' if site == 'all' else site}.{folder}.json" for folder in folders]))
            name = f"**{total}**" if site == "all" else site
            print(f"| {name} | {s['n']} | {s['t']} | {m} | {cells(s)} |")
    print()

table("Held-out sites (neon_ttv, CLAHE-equalised)", ["neon_ttv"], "all held-out")
table("Raw imagery of held-out sites (neon_hist OSBS, trees/OSBS_029, trees/SOAP_061)", ["neon_hist", "trees"], "all raw")
print("**The three plots of `trees/` (raw; SJER is a training site)**")
print()
print("| image | trees | method | found | precision | recall | F1 | count error |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for m in methods:
    rep = json.load(open(os.path.join(tmp, f"trees.{m}.json")))
    for i in rep["images"]:
        print(f"| {i['image']} | {i['true_count']} | {m} | {i['predicted_count']} | {i['precision']:.2f} | {i['recall']:.2f} | {i['f1']:.2f} | {i['count_error']:+d} ({100*i['count_error_rel']:.0f}%) |")
for m in methods:
    s = summary(json.load(open(os.path.join(tmp, f"trees.{m}.json")))["images"])
    print(f"| **all three** | {s['t']} | {m} | {s['p']} | {s['pr']:.2f} | {s['rc']:.2f} | **{s['f1']:.2f}** | total {100*s['tot']:+.0f}%, median {100*s['med']:.0f}% |")
PY
