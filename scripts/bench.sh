#!/usr/bin/env bash
# bench.sh runs every benchmark script in scripts/bench.d/. Each prints its
# figures (ratios against a reference measured in the same run) and rewrites
# its own section of docs/benchmarks.md. `make bench` calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
set -a
source .cache/test.env
set +a
export CANOPY_ORT_LIB=${CANOPY_ORT_LIB:-$PWD/.cache/onnxruntime/linux-amd64/libonnxruntime.so.1}
export CANOPY_BIN=$PWD/bin
if [[ -d ../shared/data ]]; then export CANOPY_SHARED_DATA=$(cd ../shared/data && pwd); fi
for b in scripts/bench.d/*.sh; do
	[[ -e $b ]] || continue
	log "running $b"
	bash "$b"
done
