#!/usr/bin/env bash
# register.sh: what registering a scan's photos by their content costs
# (issue 22), against counting the same photos in the same run: the
# counting workers (learned counter) on every photo, then the registrar
# from scratch (keypoints, pairs, adjustment, mosaic), then one more
# photo and the registrar again (incremental). Seconds and the process's
# peak resident memory (VmHWM, reset between phases) of each. Scans: the
# 18 drone photos of ../shared/data/geo/drone_photos (skipped without the
# sample data) and 200 synthetic photos cut at known offsets from one
# large scene, with no GPS (BenchmarkScan in cloud/worker). Rewrites the
# `register` section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CANOPY_ORT_LIB=${CANOPY_ORT_LIB:-$PWD/.cache/onnxruntime/linux-amd64/libonnxruntime.so.1}
if [[ -z ${CANOPY_SHARED_DATA:-} && -d ../shared/data ]]; then export CANOPY_SHARED_DATA=$(cd ../shared/data && pwd); fi
[[ -n ${CANOPY_SHARED_DATA:-} ]] || echo "register.sh: no ../shared/data (CANOPY_SHARED_DATA): the drone photos are skipped" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nice -n 10 go test -tags opencv,onnx -run '^$' -bench '^BenchmarkScan$' -benchtime 1x -timeout 60m ./cloud/worker/ |
	tee "$tmp/out.txt" >&2
cpu=$(awk -F': ' '/^cpu:/ {print $2; exit}' "$tmp/out.txt" | sed 's/[[:space:]]*$//')
python3 - "$tmp/out.txt" "${cpu:-unknown}" >"$tmp/section.md" <<'PY'
import sys, re, datetime, os
path, cpu = sys.argv[1:]
rows = {}
for line in open(path):
    m = re.match(r"BenchmarkScan/(\S+?)-\d+\s+\d+\s+\d+ ns/op\s+(.*)", line)
    if not m:
        continue
    vals = dict((k, float(v)) for v, k in re.findall(r"([\d.eE+-]+) (\S+)", m.group(2)))
    rows[m.group(1)] = vals
names = {"drone18": "18 drone photos, 4000x2250 at 1.7 cm, GPS", "synthetic200": "200 synthetic photos, 4000x2248 at 1.25 cm, no GPS"}
out = ["## Registration", "",
       f"`scripts/bench.d/register.sh` (`BenchmarkScan` in cloud/worker), {datetime.date.today()}, CPU: {cpu}.",
       "One process counts all but the last of a scan's photos with the learned counter (decode, count at 0.1 m,",
       "store; the reference), registers them from scratch (keypoints on 1024 px views, pairs, adjustment, merge, mosaic),",
       "then counts the last photo and registers again (incremental: only its keypoints and pairs are new). Seconds",
       "and the process's peak resident memory during each phase (VmHWM, reset before it; the counter's model",
       "stays loaded throughout; \"start\" is the process before the first phase).", "",
       "| scan | count | register | register / count | registered, pairs matched of tried | reprojection error | incremental: the last photo | peak memory: start, count, register, incremental |",
       "| --- | --- | --- | --- | --- | --- | --- | --- |"]
for key in ("drone18", "synthetic200"):
    v = rows.get(key)
    if not v:
        out.append(f"| {names[key]} | skipped | | | | | | |")
        continue
    err = f"{v['reprojection_error_m']:.2f} m"
    if "truth_error_m" in v:
        err += f" (photo centres {v['truth_error_m']:.2f} m from the truth)"
    out.append(f"| {names[key]} | {v['count_s']:.1f} s | {v['register_s']:.1f} s | **{v['register/count']:.2f}** | "
               f"{v['photos_registered']:.0f} of {v['photos']:.0f}, {v['pairs_matched']:.0f} of {v['pairs_tried']:.0f} | {err} | "
               f"{v['incremental_s']:.1f} s, {v['incremental_pairs']:.0f} new pairs, {v['incremental_registered']:.0f} registered | {v['start_MiB']:.0f}, {v['count_peak_MiB']:.0f}, {v['register_peak_MiB']:.0f}, {v['incremental_peak_MiB']:.0f} MiB |")
load = os.getloadavg()[0]
out += ["", "Goal (issue 22): registering a 200-photo scan costs less than counting it (ratio below 1).",
        f"Load average at the end: {load:.1f} on 2 cores (other jobs share the machine: the seconds are noisy,",
        "the ratio less so). Reproduce: `scripts/bench.d/register.sh`."]
print("\n".join(out))
PY
cat "$tmp/section.md"
scripts/bench_section.sh register "$tmp/section.md"
