#!/usr/bin/env bash
# model.sh trains both shipped models again from ../shared/data (`make model`):
# the tree-crown detector (models/crown-detector.onnx, training/detector) and
# the tree-cover segmenter (models/treecover-seg.onnx, training/segmenter),
# each with its model card, then prints their SHA-256s. CPU only (Debian's
# python3-torch); under an hour each on 2 cores. CI never trains.
#
#   DATA=../shared/data scripts/model.sh [detector|segmenter|all]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
DATA=${DATA:-../shared/data}
PY=${PYTHON:-/usr/bin/python3}
what=${1:-all}
[[ -d $DATA/train ]] || die "training data $DATA/train is missing (set DATA=...)"
$PY -c 'import torch, torchvision, onnx, flatbuffers' 2>/dev/null ||
	apt_install python3-torch python3-torchvision python3-onnx python3-flatbuffers
$PY -c 'import torch, onnx' || die "$PY cannot import torch and onnx"
mkdir -p models .cache/detector
if [[ $what == all || $what == detector ]]; then
	log "training the crown detector (log: .cache/detector/train.log)"
	OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} $PY training/detector/train.py --data "$DATA" --out models/crown-detector.onnx \
		--ckpt .cache/detector/crown-detector.pt ${DETECTOR_ARGS:-} 2>&1 | tee .cache/detector/train.log
fi
if [[ $what == all || $what == segmenter ]]; then
	log "training the tree-cover segmenter"
	$PY training/segmenter/train.py --data "$DATA/train" --out models/treecover-seg.onnx
fi
sha256sum models/*.onnx
