#!/usr/bin/env bash
# telemetry.sh: the agent's cost of flight-controller telemetry. A live run
# of `canopy-agent run` following a folder into which a "camera" writes the
# real flight's frames (../shared/data/geo/mavlink, 1280x960 PNG) at 2 a
# second for TELEMETRY_BENCH_SECONDS (default 30), classical segmenter,
# every frame kept, no broker: once with `--telemetry udp://127.0.0.1:PORT`
# fed by `canopy-agent telemetry replay flight.tlog --skip 60s --speed 25
# --loop` (GLOBAL_POSITION_INT and ATTITUDE at about 50 Hz each, as an
# ArduPilot with its stream rates at 50), once without. Peak RSS and CPU time
# (user + system) by /usr/bin/time; TELEMETRY_BENCH_RUNS runs of each
# (default 3), median. Skips (exit 0, docs untouched) without the sample
# data. Rewrites the `telemetry` section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh
shared=${CANOPY_SHARED_DATA:-../shared/data}/geo/mavlink
if [[ ! -f $shared/flight.tlog ]]; then
	log "skipped: no $shared/flight.tlog (the MAVLink flight of the shared sample data)"
	exit 0
fi
bin=${CANOPY_BIN:-$PWD/bin}/canopy-agent
[[ -x $bin ]] || die "$bin missing (make build)"
[[ -x /usr/bin/time ]] || apt_install time
command -v pgrep >/dev/null || apt_install procps
runs=${TELEMETRY_BENCH_RUNS:-3}
secs=${TELEMETRY_BENCH_SECONDS:-30}
speed=25 # the flight (from the log's second minute) sends positions and attitude at 2 Hz: 50 Hz
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
frames=("$shared"/*.png)
cat >"$tmp/bench.yaml" <<'YAML'
device: bench-telemetry
capture: {follow: 100ms, settle: 50ms}
select: {min_share: 0, min_interval: 0s, duplicates: keep}
camera: {sensor_width_mm: 4.86, focal_length_mm: 4}
YAML

# measure MODE: one line "mode kib cpu_s frames items placed messages positions"
measure() {
	local mode=$1 data src port tel=() replay=
	data=$(mktemp -d "$tmp/data.XXXXXX")
	src=$(mktemp -d "$tmp/src.XXXXXX")
	if [[ $mode == telemetry ]]; then
		port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		tel=(--telemetry "udp://127.0.0.1:$port")
	fi
	/usr/bin/time -f '%M %U %S' -o "$tmp/time" "$bin" run --config "$tmp/bench.yaml" --board x86_64 --source "$src" \
		--data "$data" --segmenter classical --metrics-listen "" --log-format json "${tel[@]}" >/dev/null 2>"$tmp/log" &
	local timer=$! agent=
	sleep 1
	agent=$(pgrep -P "$timer") || die "agent did not start ($mode)"
	pids=("$agent")
	if [[ $mode == telemetry ]]; then
		"$bin" telemetry replay "$shared/flight.tlog" --to "udp://127.0.0.1:$port" --speed $speed --skip 60s --loop >/dev/null 2>&1 &
		replay=$!
		pids+=("$replay")
	fi
	local n=0 end=$((SECONDS + secs))
	while ((SECONDS < end)); do
		cp "${frames[n % ${#frames[@]}]}" "$src/.frame.tmp"
		mv "$src/.frame.tmp" "$src/frame-$(printf %05d $n).png"
		n=$((n + 1))
		sleep 0.5
	done
	sleep 2 # the last frames
	kill -TERM "$agent" # not /usr/bin/time's pid: it would not pass the signal on
	wait "$timer" || { cat "$tmp/log" >&2; die "agent failed ($mode)"; }
	[[ -n $replay ]] && { kill "$replay" 2>/dev/null || true; wait "$replay" 2>/dev/null || true; }
	python3 - "$tmp/log" "$mode" "$(cat "$tmp/time")" "$secs" <<'PY'
import json, sys
path, mode, tm, secs = sys.argv[1], sys.argv[2], sys.argv[3].split(), float(sys.argv[4])
frames = items = placed = messages = positions = 0
for line in open(path):
    try:
        l = json.loads(line)
    except ValueError:
        continue
    if l.get("msg") == "capture stopped":
        frames, items = l["frames_read"], l["items_put"]
    elif l.get("msg") == "item" and l.get("gps") and "geo_note" not in l:
        placed += 1
    elif l.get("msg") == "telemetry stopped":
        messages, positions = l["messages"], l.get("positions", 0)
print(mode, tm[0], float(tm[1]) + float(tm[2]), frames, items, placed, messages, positions)
PY
	rm -rf "$data" "$src"
}

for ((i = 0; i < runs; i++)); do
	measure none
	measure telemetry
done | tee "$tmp/runs.txt"

python3 - "$tmp/runs.txt" "$runs" "$secs" "$speed" >"$tmp/section.md" <<'PY'
import sys, statistics, datetime, os
path, runs, secs, speed = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
res = {}
for line in open(path):
    mode, kib, cpu, frames, items, placed, msgs, pos = line.split()
    res.setdefault(mode, []).append((int(kib) / 1024, float(cpu), int(frames), int(items), int(placed), int(msgs), int(pos)))
def med(mode, i):
    return statistics.median(r[i] for r in res[mode])
rss0, rss1 = med("none", 0), med("telemetry", 0)
cpu0, cpu1 = med("none", 1), med("telemetry", 1)
rate = med("telemetry", 5) / (secs + 2)
prate = med("telemetry", 6) / (secs + 2)
out = ["## Telemetry", "",
       "What MAVLink telemetry costs the agent. `canopy-agent run` follows a folder into which a \"camera\"",
       f"writes the real flight's frames (`../shared/data/geo/mavlink`, 1280x960 PNG) at 2 a second for {secs:.0f} s",
       "(classical segmenter, every frame kept, no broker), once with `--telemetry udp://127.0.0.1:PORT` fed live by",
       f"`canopy-agent telemetry replay flight.tlog --skip 60s --speed {speed} --loop` (the airborne part of the log, its",
       f"2 Hz made {prate:.0f} Hz: GLOBAL_POSITION_INT and ATTITUDE at that rate, {rate:.0f} messages a second from the",
       "vehicle in all), once without. Peak RSS and CPU time",
       f"(user + system) by `/usr/bin/time`, median of {runs} runs, same machine, same minutes.", "",
       "| run | frames, items | items placed by telemetry | peak RSS MiB | CPU s |",
       "| --- | --- | --- | --- | --- |"]
for mode, label in (("none", "without telemetry"), ("telemetry", f"with telemetry, positions at {prate:.0f} Hz")):
    out.append(f"| {label} | {int(med(mode, 2))}, {int(med(mode, 3))} | {int(med(mode, 4))} | {med(mode, 0):.1f} | {med(mode, 1):.2f} |")
out.append(f"| **ratio** | | | **{rss1 / rss0:.2f}** | **{cpu1 / cpu0:.2f}** |")
load = os.getloadavg()[0]
out += ["", f"Telemetry adds {rss1 - rss0:+.1f} MiB and {cpu1 - cpu0:+.2f} s of CPU over {secs:.0f} s "
        f"({(cpu1 - cpu0) / (secs + 2) * 100:.1f}% of a core for {rate:.0f} messages a second): the buffer keeps two",
        "minutes of samples, and gomavlib decodes every frame of the link.",
        "", f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC (load average {load:.2f}).",
        "Reproduce: `scripts/bench.d/telemetry.sh` (`TELEMETRY_BENCH_RUNS`, `TELEMETRY_BENCH_SECONDS`)."]
print("\n".join(out))
PY
cat "$tmp/section.md"
scripts/bench_section.sh telemetry "$tmp/section.md"
