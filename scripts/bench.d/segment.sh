#!/usr/bin/env bash
# segment.sh: frames per second of each segmenter at 640x480 and 1280x720,
# and the ONNX segmenter's time as a ratio to a bare ONNX Runtime Run on the
# same input tensor (our pre- and post-processing overhead), measured
# alternately in one benchmark so that both see the same machine load.
# Prints the table and rewrites the `segment` section of docs/benchmarks.md.
# BENCHTIME (default 20x) sets -benchtime.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CANOPY_ORT_LIB=${CANOPY_ORT_LIB:-$PWD/.cache/onnxruntime/linux-amd64/libonnxruntime.so.1}
benchtime=${BENCHTIME:-20x}
cmd="go test -tags opencv,onnx -count=1 -run '^\$' -bench 'BenchmarkSegment\$|BenchmarkOverhead\$' -benchtime $benchtime ./segment/classical ./segment/onnx"
raw=$(mktemp) table=$(mktemp)
trap 'rm -f "$raw" "$table"' EXIT
eval "$cmd" 2>&1 | grep -v onnxruntime_src | tee "$raw"
grep -q '^ok' "$raw" || { echo "segment.sh: benchmarks failed" >&2; exit 1; }
python3 - "$raw" "$cmd" "$benchtime" >"$table" <<'PY'
import re, sys, datetime, subprocess
raw, cmd, benchtime = sys.argv[1:]
pkg, rows = "", {}
for line in open(raw):
    if line.startswith("pkg: "):
        pkg = line.split("/")[-1].strip()
    m = re.match(r"Benchmark(\w+)/(\d+x\d+)-\d+\s+\d+\s+([\d.]+) ns/op(.*)", line)
    if not m:
        continue
    name, size, ns, rest = m.group(1), m.group(2), float(m.group(3)), m.group(4)
    metrics = {k: float(v) for v, k in re.findall(r"([\d.]+) (\w+)", rest)}
    rows[(pkg, name, size)] = (ns, metrics)
sizes = ["640x480", "1280x720"]
out = []
out.append("## Segmenters")
out.append("")
out.append("Frames per second of one `Segment` call (one thread for ONNX Runtime), and")
out.append("the ONNX segmenter's time over a bare ONNX Runtime `Run` on the same input")
out.append("tensor, timed alternately in one loop (`BenchmarkOverhead`): the ratio is")
out.append("our resize in, normalisation, decision and mapping back, plus the run.")
out.append("The shipped model `models/treecover-seg.onnx` runs at its default input of")
out.append("384x384 whatever the frame size.")
out.append("")
out.append("| segmenter | frame | frames/s | bare ONNX Runtime run, frames/s | time / bare run |")
out.append("| --- | --- | --- | --- | --- |")
for s in sizes:
    c = rows.get(("classical", "Segment", s))
    if c:
        out.append(f"| classical | {s} | {1e9 / c[0]:.0f} | - | - |")
for s in sizes:
    o = rows.get(("onnx", "Overhead", s))
    if o:
        m = o[1]
        out.append(f"| onnx (treecover-seg) | {s} | {m.get('fps', 0):.1f} | {m.get('bare_fps', 0):.1f} | {m.get('x_bare', 0):.2f} |")
out.append("")
when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
try:
    load = open("/proc/loadavg").read().split()[0]
except OSError:
    load = "?"
out.append(f"Measured {when} (load average {load}), benchtime {benchtime}. Reproduce: `scripts/bench.d/segment.sh`, which runs")
out.append("")
out.append(f"    {cmd}")
print("\n".join(out))
PY
echo
cat "$table"
scripts/bench_section.sh segment "$table"
