#!/usr/bin/env bash
# segment.sh: frames per second of each segmenter at 640x480 and 1280x720,
# and the ONNX segmenter's cost as a ratio to a bare ONNX Runtime Run on the
# same input tensor (our pre- and post-processing overhead), measured
# alternately in one benchmark so that both see the same machine load, in
# CPU time (both run on one thread: CPU time is what they cost, without the
# waits for a core that a shared machine adds to wall-clock time), after a
# warm-up. SEGMENT_BENCH_RUNS runs (default 3); the table gives the median
# and every run. BenchmarkSteps breaks Segment down step by step.
# Prints the table and rewrites the `segment` section of docs/benchmarks.md.
# BENCHTIME (default 60x) sets -benchtime.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CANOPY_ORT_LIB=${CANOPY_ORT_LIB:-$PWD/.cache/onnxruntime/linux-amd64/libonnxruntime.so.1}
benchtime=${BENCHTIME:-60x} runs=${SEGMENT_BENCH_RUNS:-3}
cmd="go test -tags opencv,onnx -count=$runs -run '^\$' -bench 'BenchmarkSegment\$|BenchmarkOverhead\$|BenchmarkSteps\$' -benchtime $benchtime ./segment/classical ./segment/onnx"
raw=$(mktemp) table=$(mktemp)
trap 'rm -f "$raw" "$table"' EXIT
eval "$cmd" 2>&1 | grep -v onnxruntime_src | tee "$raw"
grep -q '^ok' "$raw" || { echo "segment.sh: benchmarks failed" >&2; exit 1; }
python3 - "$raw" "$cmd" "$benchtime" "$runs" >"$table" <<'PY'
import re, sys, datetime, statistics
raw, cmd, benchtime, runs = sys.argv[1:]
pkg, rows = "", {}
for line in open(raw):
    if line.startswith("pkg: "):
        pkg = line.split("/")[-1].strip()
    m = re.match(r"Benchmark(\w+)/(\d+x\d+)-\d+\s+\d+\s+([\d.]+) ns/op(.*)", line)
    if not m:
        continue
    name, size, ns, rest = m.group(1), m.group(2), float(m.group(3)), m.group(4)
    metrics = {k: float(v) for v, k in re.findall(r"([\d.]+) (\w+)", rest)}
    metrics["ns"] = ns
    rows.setdefault((pkg, name, size), []).append(metrics)
med = lambda runs, k: statistics.median(r.get(k, 0) for r in runs)
sizes = ["640x480", "1280x720"]
out = ["## Segmenters", "",
       "Frames per second of one `Segment` call (one thread for ONNX Runtime), and the ONNX",
       "segmenter's cost over a bare ONNX Runtime `Run` on the same input tensor, the two timed",
       "alternately in one loop after a warm-up (`BenchmarkOverhead`). The ratio is taken in CPU",
       "time: both run on one thread, so CPU time is what each costs, and it leaves out the waits",
       "for a core that the other jobs on this shared machine add to wall-clock time (the median",
       "wall-clock ratio of each pair is shown beside it). The ratio is our resize in,",
       "normalisation, decision, the mask at the frame's size and mapping back, plus the run.",
       f"The shipped model `models/treecover-seg.onnx` runs at its default input of 384x384",
       f"whatever the frame size, with ONNX Runtime's default memory mode (`fast`). Median of {runs} runs.", "",
       "| segmenter | frame | frames/s | bare run, frames/s of CPU | time / bare run (CPU) | every run | wall-clock pairs, median |",
       "| --- | --- | --- | --- | --- | --- | --- |"]
for s in sizes:
    c = rows.get(("classical", "Segment", s))
    if c:
        out.append(f"| classical | {s} | {1e9 / med(c, 'ns'):.0f} | - | - | - | - |")
for s in sizes:
    o = rows.get(("onnx", "Overhead", s))
    if o:
        every = ", ".join(f"{r.get('x_bare', 0):.2f}" for r in o)
        out.append(f"| onnx (treecover-seg) | {s} | {med(o, 'fps'):.1f} | {med(o, 'bare_cpu_fps'):.1f} | **{med(o, 'x_bare'):.2f}** | {every} | {med(o, 'x_bare_wall'):.2f} |")
steps = ["pre", "run", "decide", "mask_alloc", "map_back", "bare_after", "bare_warm"]
st = [(s, rows.get(("onnx", "Steps", s))) for s in sizes]
if any(r for _, r in st):
    out += ["", "Where `Segment`'s time goes (`BenchmarkSteps`, CPU ms per call, median of the runs): the",
            "steps of one call, then a bare run right after it and one more.", "",
            "| frame | " + " | ".join(steps) + " |", "| --- |" + " --- |" * len(steps)]
    for s, r in st:
        if r:
            out.append(f"| {s} | " + " | ".join(f"{med(r, n + '_cpu_ms'):.2f}" for n in steps) + " |")
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
