#!/usr/bin/env bash
# count.sh: tree counting speed on this CPU. The learned counter (tiling,
# ONNX Runtime, decoding, merging across tiles) on a 400x400 NEON plot and
# on a 1000x1000 (1 megapixel) mosaic of it, against the bare ONNX Runtime
# run (fill the input tensor and Run) on the same tiles as the reference;
# and the classical counter per plot. Best of COUNT_BENCH_RUNS (default 3)
# runs of COUNT_BENCH_N (default 20) iterations each. Rewrites the `count`
# section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CANOPY_ORT_LIB=${CANOPY_ORT_LIB:-$PWD/.cache/onnxruntime/linux-amd64/libonnxruntime.so.1}
if [[ -z ${CANOPY_SHARED_DATA:-} && -d ../shared/data ]]; then export CANOPY_SHARED_DATA=$(cd ../shared/data && pwd); fi
[[ -f models/crown-detector.onnx ]] || { echo "count.sh: models/crown-detector.onnx missing" >&2; exit 1; }
runs=${COUNT_BENCH_RUNS:-3} n=${COUNT_BENCH_N:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -tags onnx -run '^$' -bench '^Benchmark(Count|Bare)$' -benchtime "${n}x" -count "$runs" \
	./cloud/count/learned/ | tee "$tmp/learned.txt" >&2
go test -tags opencv -run '^$' -bench '^BenchmarkCount$' -benchtime "${n}x" -count "$runs" \
	./cloud/count/classical/ | tee "$tmp/classical.txt" >&2
# best (lowest) ns/op per benchmark name
best() { awk -v name="$1" '$1 ~ "^"name"(-[0-9]+)?$" { if (min == "" || $3 < min) min = $3 } END { print min }' "$2"; }
cp400=$(best BenchmarkCount/plot400 "$tmp/learned.txt")
cmp=$(best BenchmarkCount/megapixel "$tmp/learned.txt")
bp400=$(best BenchmarkBare/plot400 "$tmp/learned.txt")
bmp=$(best BenchmarkBare/megapixel "$tmp/learned.txt")
cl400=$(best BenchmarkCount "$tmp/classical.txt")
sha=$(sha256sum models/crown-detector.onnx | cut -c1-12)
cpu=$(awk -F': ' '/^cpu:/ {print $2; exit}' "$tmp/learned.txt" | sed 's/[[:space:]]*$//')
ms() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
	echo "## Tree counting"
	echo
	echo "\`scripts/bench.d/count.sh\`, $(date -u +%Y-%m-%d), CPU: ${cpu:-unknown}, 2 ONNX Runtime threads,"
	echo "models/crown-detector.onnx (sha256 $sha...), 416x416 tiles overlapping by 128 px. Best of $runs runs"
	echo "of $n iterations. The reference is the bare ONNX Runtime run (input tensor filled, Run) on the same tiles."
	echo
	echo "| what | learned counter | bare ONNX Runtime | ratio |"
	echo "| --- | --- | --- | --- |"
	echo "| 400x400 plot (1 tile) | $(ms "$cp400") ms | $(ms "$bp400") ms | $(ratio "$cp400" "$bp400") |"
	echo "| 1 megapixel (1000x1000, 9 tiles) | $(ms "$cmp") ms | $(ms "$bmp") ms | $(ratio "$cmp" "$bmp") |"
	echo
	echo "Classical counter (GoCV, no model) on a 400x400 image: $(ms "$cl400") ms"
	echo "($(ratio "$cl400" "$bp400") x the bare ONNX Runtime run of one tile)."
	echo "The machine is shared with other jobs: absolute times are noisy, the ratios less so."
} >"$tmp/section.md"
cat "$tmp/section.md"
scripts/bench_section.sh count "$tmp/section.md"
