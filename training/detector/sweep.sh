#!/usr/bin/env bash
# sweep.sh prints the score-threshold sweep of docs/accuracy.md (section
# counting): precision, recall, F1 and per-image count error of the learned
# counter, scored by `canopy-cloud eval` (IoU 0.4), on the sites held out of
# the detector's training and on ../shared/data/trees, for each score
# threshold and NMS IoU. The NMS IoU is model metadata (canopy.nms_iou), so
# each value other than the model's is scored on a temporary copy of the
# model with that prop rewritten (needs /usr/bin/python3 with onnx).
#
#   training/detector/sweep.sh [BIN]     (BIN: canopy-cloud, default bin/canopy-cloud)
#
# THRESHOLDS (default 0.100 to 0.400 by 0.025), NMS (default "0.3 0.4"),
# EVAL_ARGS (more flags for canopy-cloud eval, e.g. "--threads 2"),
# VAL_SITES (default DELA,BONA,OSBS), DATA (default ../shared/data), MODEL.
# Choose thresholds on the held-out columns only: trees/ is the test set.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-bin/canopy-cloud}
THRESHOLDS=${THRESHOLDS:-$(seq -f %.3f 0.100 0.025 0.400)}
NMS=${NMS:-0.3 0.4}
# settings, $tmp and the held-out boxes CSVs, as accuracy.sh builds them
. training/detector/heldout.sh
heldout_boxes "$tmp"
for nms in $NMS; do
	/usr/bin/python3 - "$MODEL" "$tmp/nms$nms.onnx" "$nms" <<'PY'
import sys, onnx
m = onnx.load(sys.argv[1])
for p in m.metadata_props:
    if p.key == "canopy.nms_iou":
        p.value = sys.argv[3]
onnx.save(m, sys.argv[2])
PY
	for t in $THRESHOLDS; do
		out=$tmp/run/$nms/$t
		mkdir -p "$out"
		for f in "$tmp"/*.*.csv; do
			b=$(basename "$f" .csv)
			folder=${b#*.}
			"$BIN" eval --json --method learned --model "$tmp/nms$nms.onnx" --threshold "$t" ${EVAL_ARGS:-} --gsd "$(folder_gsd "$folder")" \
				--boxes "$f" "$tmp/$b" >"$out/val.$b.json"
		done
		"$BIN" eval --json --method learned --model "$tmp/nms$nms.onnx" --threshold "$t" ${EVAL_ARGS:-} \
			--boxes "$DATA/trees/boxes.csv" "$DATA/trees" >"$out/trees.json"
	done
done
/usr/bin/python3 - "$tmp/run" <<'PY'
import glob, json, os, sys
sys.path.insert(0, "training/detector")
from evalsum import summary
root = sys.argv[1]

def cells(imgs):
    s = summary(imgs)
    return f"{s['p']} | {s['pr']:.2f} | {s['rc']:.2f} | {s['f1']:.2f} | {100*s['med']:.0f}%"

print("| NMS IoU | threshold | held-out found (of 753) | P | R | F1 | median count error | trees/ found (of 107) | P | R | F1 | median count error |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for nms in sorted(os.listdir(root)):
    for t in sorted(os.listdir(os.path.join(root, nms)), key=float):
        d = os.path.join(root, nms, t)
        val = []
        for f in sorted(glob.glob(os.path.join(d, "val.*.json"))):
            val += json.load(open(f))["images"]
        trees = json.load(open(os.path.join(d, "trees.json")))["images"]
        print(f"| {nms} | {t} | {cells(val)} | {cells(trees)} |")
PY
