#!/usr/bin/env bash
# rollout.sh: a model rolled out to a fleet (issue 23; scripts/fleet
# --rollout, internal/fleet RunRollout). One canopy-cloud receiver on the
# test suite's Mosquitto and PostgreSQL; ROLLOUT_DEVICES (100) simulated
# devices (outbox, publisher, desired-state Manager) and one real
# canopy-agent; a 10 MB model (the shipped tree-cover model padded with an
# unknown ONNX field), in one wave.
#
#  1. Time for the model to reach every device, against the same rollout to
#     a tenth of the devices in the same run (the ratio: how the time grows
#     with the fleet through one receiver).
#  2. Bytes on the wire: chunk payload and frame bytes sent, against the
#     model's size times the devices.
#  3. The real agent's memory: peak before the rollout (classical
#     segmenter), the most while it downloads, the peak once it swapped to
#     the model; against the peak of the same agent started with that model
#     file (/usr/bin/time, --once over the same frames).
#
# Rewrites the `rollout` section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh
if [[ -f .cache/test.env ]]; then set -a; source .cache/test.env; set +a; fi
: "${CANOPY_TEST_POSTGRES:?needs the services (make services)}"
: "${CANOPY_TEST_MQTT:?needs the services (make services)}"
export CANOPY_ORT_LIB=${CANOPY_ORT_LIB:-$PWD/.cache/onnxruntime/linux-amd64/libonnxruntime.so.1}
[[ -x bin/canopy-cloud && -x bin/canopy-agent ]] || die "build first (make build)"
[[ -x /usr/bin/time ]] || apt_install time
devices=${ROLLOUT_DEVICES:-100}
size=$((10 << 20))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/fleet" ./scripts/fleet

run() { # DEVICES OUT
	log "rollout of a $((size >> 20)) MiB model to $1 devices and a real agent"
	nice "$tmp/fleet" --rollout --cloud bin/canopy-cloud --agent bin/canopy-agent --devices "$1" --model-bytes "$size" \
		--broker "$CANOPY_TEST_MQTT" --database-url "$CANOPY_TEST_POSTGRES" --deadline 10m --dir "$tmp/run-$1" --keep --json >"$2"
}
run "$devices" "$tmp/big.json"
run $((devices / 10)) "$tmp/small.json"

# The same agent started with the model file (the run's, kept): its peak
# memory over the same frames.
printf 'device: bench-direct\nselect: {min_share: 0, min_interval: 0s, duplicates: keep}\n' >"$tmp/direct.yaml"
/usr/bin/time -f %M -o "$tmp/direct.kib" bin/canopy-agent run --config "$tmp/direct.yaml" --once \
	--source "$tmp/run-$devices/agent/src" --data "$tmp/direct" --model "$tmp/run-$devices/model.onnx" --metrics-listen "" 2>"$tmp/direct.log" || { cat "$tmp/direct.log" >&2; die "direct run failed"; }

python3 - "$tmp" >"$tmp/section.md" <<'PY'
import json, os, sys, datetime
d = sys.argv[1]
big, small = json.load(open(f"{d}/big.json")), json.load(open(f"{d}/small.json"))
direct = int(open(f"{d}/direct.kib").read()) * 1024
mb = lambda b: f"{b/1e6:.1f} MB"
s = lambda ns: f"{ns/1e9:.1f} s"
print("## Rollout: a model to a fleet through one receiver")
print()
print(f"`scripts/bench.d/rollout.sh` (`go run ./scripts/fleet --rollout`), {datetime.date.today()}: one `canopy-cloud serve` "
      f"on the suite's Mosquitto and PostgreSQL; a {mb(big['ModelBytes'])} model (the shipped tree-cover model padded with an "
      f"unknown ONNX field) rolled out in one wave with `canopy-cloud rollout create` to simulated devices (each the real outbox, "
      f"publisher and `agent/desired` Manager: chunks of 120 KiB asked for 8 at a time, staged and fsynced, SHA-256 checked, "
      f"swapped in, tried) and one real `canopy-agent`. All on this 2-core machine, shared with the broker and the database.")
print()
print("| figure | value |")
print("| --- | --- |")
print(f"| time for the model to reach every device: {big['Devices']} devices | **{s(big['Reached'])}** |")
print(f"| the same, {small['Devices']} devices (reference, same run) | {s(small['Reached'])}; ratio **{big['Reached']/small['Reached']:.2f}** for {big['Devices']/small['Devices']:.1f} times the devices |")
print(f"| model bytes delivered a second through the receiver | {mb(big['ModelBytesSent']/(big['Reached']/1e9))}/s |")
n = big['ModelBytes'] * big['Devices']
print(f"| chunk payload bytes sent / model size x devices | {mb(big['ModelBytesSent'])} / {mb(n)} = **{big['ModelBytesSent']/n:.4f}** |")
print(f"| chunk frame bytes (headers included) / model size x devices | {mb(big['FrameBytes'])} / {mb(n)} = **{big['FrameBytes']/n:.4f}** |")
print(f"| real agent: peak resident memory before the rollout (classical segmenter) | {mb(big['AgentRSSBefore'])} |")
print(f"| real agent: most resident memory while it downloaded | **{mb(big['AgentRSSFetch'])}** ({big['AgentRSSFetch']/big['AgentRSSBefore']:.2f} x before) |")
print(f"| real agent: peak resident memory once it swapped to the model | **{mb(big['AgentRSSAfter'])}** |")
print(f"| the same agent started with the model file (reference) | {mb(direct)}; ratio **{big['AgentRSSAfter']/direct:.2f}** |")
print()
print("The download streams chunks to a staging file: the agent holds a few chunks, never the model, so its memory does not "
      "grow with the model while it downloads. After the swap its peak is the model loaded in ONNX Runtime, near what the same "
      "agent reaches when it starts with the model (the ratio above): a trial loads the new model in place of the old one (one "
      "model in memory at a time) and runs it on a frame before capturing.")
print()
print(f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC (load average {os.getloadavg()[0]:.2f}).")
PY
cat "$tmp/section.md"
scripts/bench_section.sh rollout "$tmp/section.md"
