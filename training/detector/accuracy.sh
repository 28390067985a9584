#!/usr/bin/env bash
# accuracy.sh prints the counting tables of docs/accuracy.md: the learned and
# the classical counter, scored by `canopy-cloud eval` (IoU 0.4), on the
# sites held out of the detector's training and on ../shared/data/trees.
#
#   training/detector/accuracy.sh [BIN]     (BIN: canopy-cloud, default bin/canopy-cloud)
#
# VAL_SITES (default DELA,BONA,OSBS) are the held-out sites; DATA
# (default ../shared/data) the shared data.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-bin/canopy-cloud}
# settings, $tmp, and one boxes CSV per held-out site and folder
. training/detector/heldout.sh
heldout_boxes "$tmp"
for f in "$tmp"/*.*.csv; do
	b=$(basename "$f" .csv)
	folder=${b#*.}
	for m in learned classical; do
		"$BIN" eval --json --method "$m" --model "$MODEL" --gsd "$(folder_gsd "$folder")" --boxes "$f" "$DATA/train/$folder/images" \
			>"$tmp/val.$m.$b.json"
	done
done
for m in learned classical; do
	"$BIN" eval --json --method "$m" --model "$MODEL" --boxes "$DATA/trees/boxes.csv" "$DATA/trees" >"$tmp/trees.$m.json"
done
/usr/bin/python3 - "$tmp" <<'PY'
import glob, json, os, sys
sys.path.insert(0, "training/detector")
from evalsum import summary
tmp = sys.argv[1]

def load(pattern):
    imgs = []
    for f in sorted(glob.glob(os.path.join(tmp, pattern))):
        imgs += json.load(open(f))["images"]
    return imgs

def cells(s):
    return f"{s['p']} | {s['pr']:.2f} | {s['rc']:.2f} | **{s['f1']:.2f}** | {100*s['med']:.0f}% | {100*s['mean']:.0f}%"

sites = sorted({os.path.basename(f).split(".")[2] for f in glob.glob(os.path.join(tmp, "val.learned.*.json"))})
print("| site | images | trees | method | found | precision | recall | F1 | median count error | mean count error |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for site in sites + ["all"]:
    for m in ("learned", "classical"):
        s = summary(load(f"val.{m}.{'*' if site == 'all' else site}.*.json"))
        name = "**all held-out**" if site == "all" else site
        print(f"| {name} | {s['n']} | {s['t']} | {m} | {cells(s)} |")
print()
print("| image | trees | method | found | precision | recall | F1 | count error |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for m in ("learned", "classical"):
    rep = json.load(open(os.path.join(tmp, f"trees.{m}.json")))
    for i in rep["images"]:
        print(f"| {i['image']} | {i['true_count']} | {m} | {i['predicted_count']} | {i['precision']:.2f} | {i['recall']:.2f} | {i['f1']:.2f} | {i['count_error']:+d} ({100*i['count_error_rel']:.0f}%) |")
for m in ("learned", "classical"):
    s = summary(json.load(open(os.path.join(tmp, f"trees.{m}.json")))["images"])
    print(f"| **all three** | {s['t']} | {m} | {s['p']} | {s['pr']:.2f} | {s['rc']:.2f} | **{s['f1']:.2f}** | median {100*s['med']:.0f}%, mean {100*s['mean']:.0f}% |")
PY
