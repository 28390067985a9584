#!/usr/bin/env bash
# countcost.sh: what counting costs a user, command by command, for the
# shipped crown detector and any other models beside it (COUNT_MODELS, a
# space-separated list of ONNX files; default models/crown-detector.onnx).
# `canopy-cloud count --threads 2` of a 400x400 NEON plot and of one
# 4000x2250 drone photo (geo/drone_photos/images/DJI_0020.JPG), wall time
# (best of COUNT_COST_RUNS, default 3) and peak resident memory, and the
# same photo through the Lambda's build (tag onnx only, no OpenCV: the
# Lambda function's binary) for its peak memory. Without ../shared/data a
# synthetic frame stands in for the plot (no photo). Budgets (issue 21): 2 s for the plot,
# 20 s for the photo, 512 MB in the Lambda. Rewrites the `countcost`
# section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CANOPY_ORT_LIB=${CANOPY_ORT_LIB:-$PWD/.cache/onnxruntime/linux-amd64/libonnxruntime.so.1}
data=${CANOPY_SHARED_DATA:-../shared/data}
runs=${COUNT_COST_RUNS:-3}
models=${COUNT_MODELS:-models/crown-detector.onnx}
bin=${CANOPY_BIN:-$PWD/bin}
[[ -x $bin/canopy-cloud ]] || make build >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -tags onnx -o "$tmp/canopy-cloud-lambda" ./cloud/cmd/canopy-cloud

plot=$data/trees/OSBS_029.png photo=$data/geo/drone_photos/images/DJI_0020.JPG
if [[ ! -f $plot ]]; then
	# no shared data: a synthetic frame stands in for the plot, and there is no drone photo
	go run scripts/demo/synth.go "$tmp/synth" 1 >&2
	plot=$(ls "$tmp"/synth/* | head -1)
fi
[[ -f $photo ]] || photo=""

# run BIN MODEL IMAGE [FLAGS...]: "best-wall-seconds peak-KiB count"
run() {
	local b=$1 m=$2 img=$3
	shift 3
	local best="" peak=0 n=""
	for _ in $(seq "$runs"); do
		/usr/bin/time -f '%e %M' -o "$tmp/time" "$b" count --threads 2 --model "$m" "$@" "$img" >"$tmp/out" 2>/dev/null
		read -r s kb <"$tmp/time"
		n=$(awk -F'\t' 'NR==1 {print $2}' "$tmp/out")
		best=$(awk -v a="$best" -v b="$s" 'BEGIN { print (a == "" || b < a) ? b : a }')
		((kb > peak)) && peak=$kb
	done
	echo "$best $peak $n"
}

{
	echo "## Counting cost, command by command"
	echo
	echo "\`scripts/bench.d/countcost.sh\`, $(date -u +%Y-%m-%d), $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)),"
	echo "load average $(cut -d' ' -f1 /proc/loadavg) at the start. \`canopy-cloud count --threads 2\`: wall time, best of $runs"
	echo "(the process: start, model load, decode, count), and peak resident memory; the Lambda column is the"
	echo "photo counted by the Lambda function's build (tag \`onnx\`, no OpenCV). Budgets (issue 21): plot 2 s,"
	echo "photo 20 s, Lambda 512 MB."
	echo
	echo "| model | plot 400x400: s, MB, trees | photo 4000x2250: s, MB, trees | Lambda build, photo: MB |"
	echo "| --- | --- | --- | --- |"
	for m in $models; do
		read -r ps pk pn < <(run "$bin/canopy-cloud" "$m" "$plot")
		mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k * 1024 / 1e6 }'; }
		photo_cell="no photo (no ../shared/data)" lambda_cell="-"
		if [[ -n $photo ]]; then
			read -r fs fk fn < <(run "$bin/canopy-cloud" "$m" "$photo")
			read -r _ lk _ < <(run "$tmp/canopy-cloud-lambda" "$m" "$photo")
			photo_cell="$fs s, $(mb "$fk") MB, $fn" lambda_cell="$(mb "$lk") MB"
		fi
		echo "| \`$m\` ($(sha256sum "$m" | cut -c1-8)) | $ps s, $(mb "$pk") MB, $pn | $photo_cell | $lambda_cell |"
	done
	echo
	echo "Plot: \`$(basename "$plot")\`; photo: \`$(basename "${photo:-none}")\` (counted at the 0.1 m of the model:"
	echo "the photo's 1.7 cm pixels are resized first, so it is a few tiles, not 9 megapixels of them)."
} >"$tmp/section.md"
cat "$tmp/section.md"
scripts/bench_section.sh countcost "$tmp/section.md"
