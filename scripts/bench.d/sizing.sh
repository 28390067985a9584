#!/usr/bin/env bash
# sizing.sh: how one receiver grows with its fleet (issue 25). For each
# fleet size in SIZING_DEVICES (default "100 1000"; the table in
# docs/deploy.md was made with "100 1000 10000", about an hour) and each
# broker (the harness's own Mosquitto with one receiver behind it, and the
# embedded broker of one receiver): every device connected and idle for
# 30 s, then sending an item of 20 KB a minute for SIZING_MINUTES minutes
# (default 2), with the agent's defaults (sync.status_interval 60 s,
# sync.ack_timeout 30 s). The harness (scripts/fleet) reads the receiver's
# (and its Mosquitto's) memory and CPU from /proc and the put-to-ack times
# from the devices. The sizes in SIZING_RAISED (default "10000") run once
# more on Mosquitto with --ingest-workers 16, the setting that raises the
# first limit this machine meets. Rewrites the `sizing` sections of
# docs/benchmarks.md and docs/deploy.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ -f .cache/test.env ]]; then set -a; source .cache/test.env; set +a; fi
: "${CANOPY_TEST_POSTGRES:?needs the services (make services)}"
[[ -x bin/canopy-cloud ]] || { echo "sizing.sh: build first (make build)" >&2; exit 1; }
sizes=${SIZING_DEVICES:-100 1000} minutes=${SIZING_MINUTES:-2} raised=${SIZING_RAISED:-10000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/fleet" ./scripts/fleet
run() { # devices, broker, workers
	echo "sizing.sh: $1 devices, $2 broker, $3 storage workers" >&2
	local args=(--ingest-workers "$3")
	[[ $2 == embedded ]] && args+=(--broker embedded)
	"$tmp/fleet" --cloud bin/canopy-cloud "${args[@]}" --devices "$1" --items "$minutes" --item-bytes 20000 \
		--receivers 1 --put-over "${minutes}m" --idle-for 30s --status-interval 60s \
		--kill-every 0 --broker-restart-at 0 --cut-devices 0 --faults-for 0 --deadline 30m \
		--json >"$tmp/$1-$2-$3.json" || true
}
for n in $sizes; do
	run "$n" mosquitto 4
	run "$n" embedded 4
	[[ " $raised " == *" $n "* ]] && run "$n" mosquitto 16
done
python3 - "$tmp" "$sizes" "$minutes" "$(nproc)" "$raised" >"$tmp/section.md" <<'PY'
import json, sys, datetime, os
d, sizes, minutes, cores, raised = sys.argv[1], sys.argv[2].split(), sys.argv[3], sys.argv[4], sys.argv[5].split()
s = lambda ns: f"{ns/1e9:.2f} s"
print("## Sizing: one receiver and its fleet")
print()
print(f"`scripts/bench.d/sizing.sh` (SIZING_DEVICES=\"{' '.join(sizes)}\"), {datetime.date.today()}, {cores} cores shared with "
      f"the harness's simulated devices (their CPU is shown) and the other jobs of the machine (load average "
      f"{os.getloadavg()[0]:.1f} at the end). Each device: its own bbolt outbox and publisher, connected and idle for 30 s, "
      f"then an item of 20 KB a minute for {minutes} minutes (put at random within each minute), status every 60 s, "
      f"ack timeout 30 s (the agent's defaults). One `canopy-cloud serve` receiver (4 storage workers, the default, or 16) with PostgreSQL "
      f"and versitygw (S3); the broker: the harness's own Mosquitto 2 with the receiver behind it, or the receiver's "
      f"embedded broker (each device logging in with its own identity). Memory per device is the receiver's resident "
      f"memory with every device connected and idle, less its memory before they connected, over the devices; CPU "
      f"per item is the receiver's CPU from the first put to the last outbox drained, over the items; the machine's "
      f"share of busy cores over the same time counts every process (the services, the devices, the other jobs).")
print()
print("| devices | broker | storage workers | devices up after | receiver RSS idle (per device) | receiver peak RSS | receiver CPU idle | receiver CPU per item | broker RSS idle (per device) | put to ack p50 / p99 / max | stored / put | resends | devices' CPU; machine busy |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for n in sizes:
    for broker, workers in [("mosquitto", 4), ("embedded", 4)] + ([("mosquitto", 16)] if n in raised else []):
        try:
            r = json.load(open(f"{d}/{n}-{broker}-{workers}.json"))
        except (OSError, ValueError):
            print(f"| {n} | {broker} | {workers} | (run failed) | | | | | | | | | |")
            continue
        u, b = r["Receiver"], r.get("OwnBroker")
        brk = f"{b['RSSIdleMiB']:.0f} MiB ({b['PerDeviceKiB']:.1f} KiB)" if b else "in the receiver"
        stored = f"{r['Stored']} / {r['Put']}" + ("" if r["Stored"] == r["Put"] and r["Lost"] == 0 and r["Duplicated"] == 0 else " **!**")
        print(f"| {n} | {broker} | {workers} | {s(r['ConnectTime'])} | {u['RSSIdleMiB']:.0f} MiB ({u['PerDeviceKiB']:.1f} KiB) | "
              f"{u['RSSPeakMiB']:.0f} MiB | {u['IdleCPU']*100:.1f}% of a core | {u['CPUPerItemMs']:.2f} ms | {brk} | "
              f"{s(r['P50'])} / {s(r['P99'])} / {s(r['Max'])} | {stored} | {r['Retransmitted']} | {r['DevicesCPU']:.0f} s; {100*r['MachineBusy']:.0f}% |")
PY
cat "$tmp/section.md"
scripts/bench_section.sh sizing "$tmp/section.md"
scripts/bench_section.sh sizing "$tmp/section.md" docs/deploy.md
