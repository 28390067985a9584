#!/usr/bin/env bash
# agent.sh: the whole capture → segment → select → encode → sink loop of the
# built agent (bin/canopy-agent run --once) reading a 640x480 MJPG video
# file made for the run, with every selection rule off so that every frame
# is encoded and stored. Frames per second and peak resident memory (the
# agent's own "capture stopped" log line: getrusage maxrss), per segmenter,
# with the rate of reading the video alone (decode + conversion, the
# capture stage) as the reference. Rewrites the `agent` section of
# docs/benchmarks.md. AGENT_BENCH_FRAMES (default 300) sets the length.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CANOPY_ORT_LIB=${CANOPY_ORT_LIB:-$PWD/.cache/onnxruntime/linux-amd64/libonnxruntime.so.1}
bin=${CANOPY_BIN:-$PWD/bin}/canopy-agent
[[ -x $bin ]] || { echo "agent.sh: $bin missing (make build)" >&2; exit 1; }
frames=${AGENT_BENCH_FRAMES:-300}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

from=()
tile=${CANOPY_SHARED_DATA:-../shared/data}/treecover/5b3622402b6a08001185f8d8_10_00004.png
[[ -f $tile ]] && from=(-from "$tile") || tile=""
go build -tags opencv -o "$tmp/benchvideo" ./agent/internal/benchvideo
"$tmp/benchvideo" -o "$tmp/flight.avi" -n "$frames" -size 640x480 "${from[@]}" 2>/dev/null
"$tmp/benchvideo" -read "$tmp/flight.avi" 2>/dev/null >"$tmp/read.json"
cat >"$tmp/bench.yaml" <<'YAML'
device: bench-1
board: x86_64
select:
  min_share: 0
  min_interval: 0s
  duplicates: keep
YAML
# The state directory on this disk; and, for the classical segmenter, also
# on tmpfs, where fsync is free, to show what the sink's fsyncs cost.
shm=""
if [[ -d /dev/shm && -w /dev/shm ]]; then shm=$(mktemp -d /dev/shm/canopy-bench.XXXXXX); fi
trap 'rm -rf "$tmp" ${shm:+"$shm"}' EXIT
runs=("classical:$tmp/data-classical" "onnx:$tmp/data-onnx")
[[ -n $shm ]] && runs+=("classical:$shm/data")
i=0
for r in "${runs[@]}"; do
	seg=${r%%:*} data=${r#*:}
	"$bin" run --config "$tmp/bench.yaml" --once --source "$tmp/flight.avi" --data "$data" \
		--segmenter "$seg" --log-format json 2>"$tmp/run$i.log" || { cat "$tmp/run$i.log" >&2; exit 1; }
	grep '"capture stopped"' "$tmp/run$i.log" | tail -1 >"$tmp/run$i.json"
	cat "$tmp/run$i.json"
	i=$((i + 1))
done
table=$tmp/table.md
python3 - "$tmp" "$frames" "$tile" "$shm" >"$table" <<'PY'
import json, sys, datetime, os
tmp, frames, tile, shm = sys.argv[1:]
read = json.load(open(f"{tmp}/read.json"))
out = ["## Agent: capture to encode", "",
       f"`canopy-agent run --once` on a {frames}-frame 640x480 MJPG video made for the run"
       + (" (panning across the tree-cover tile of the sample data)" if tile else " (a synthetic canopy)")
       + ", every selection rule off, so that every frame is captured, converted, segmented,",
       "encoded (JPEG quality 85, PNG mask) and put in the agent's sink. Frames per second over",
       "the run (from the first frame read to the last item put, as the agent logs it) and peak",
       "resident memory of the whole process (getrusage maxrss). Reference: reading the same video",
       "alone (OpenCV decode and conversion to RGBA, the capture stage) in the same run.", "",
       "| segmenter | state directory | frames | frames/s | / capture alone | items | peak RSS, MiB |",
       "| --- | --- | --- | --- | --- | --- | --- |"]
rows = [("classical", "disk"), ("onnx", "disk")] + ([("classical", "tmpfs (no fsync cost)")] if shm else [])
for i, (seg, where) in enumerate(rows):
    l = json.load(open(f"{tmp}/run{i}.json"))
    out.append(f"| {seg} | {where} | {l['frames_read']} | {l['fps']:.1f} | {l['fps']/read['fps']:.3f} | {l['items_put']} | {l['peak_rss_mb']:.0f} |")
out.append(f"| (capture alone) | - | {read['frames']} | {read['fps']:.1f} | 1 | - | - |")
load = os.getloadavg()[0]
out += ["", "The sink is the one `run` uses: each item is on disk (fsync) before the next is taken,",
        "so on a slow disk the sink, not the segmenter, sets the pace of the classical loop.",
        "", f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC (load average {load:.2f}),"
        " ONNX Runtime with its default threads. Reproduce: `scripts/bench.d/agent.sh`",
        "(`AGENT_BENCH_FRAMES` sets the length)."]
print("\n".join(out))
PY
cat "$table"
scripts/bench_section.sh agent "$table"
