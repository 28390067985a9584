#!/usr/bin/env bash
# publish.sh measures the MQTT publisher (sync/publish): the drain rate to
# Mosquitto over loopback for 200 KB items, as a ratio to a plain paho
# publisher sending the same frames at QoS 1 in the same rounds (median of
# PUBLISH_BENCH_RUNS runs, default 3, of PUBLISH_BENCH_ROUNDS rounds each,
# default 15: on a shared machine a round's ratio swings with the other
# jobs, and the median of 15 settles where that of 5 does not), and the time
# from start to first publish with 100,000 items waiting, as a ratio to the
# same with 10 waiting. It prints the figures and rewrites the `publish`
# section of docs/benchmarks.md. Needs CANOPY_TEST_MQTT (bench.sh sets it).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh
[[ -n ${CANOPY_TEST_MQTT:-} ]] || die "CANOPY_TEST_MQTT is not set (source .cache/test.env)"

out=$(mktemp)
trap 'rm -f "$out" "$out.md"' EXIT
runs=${PUBLISH_BENCH_RUNS:-3} rounds=${PUBLISH_BENCH_ROUNDS:-15} items=${CANOPY_BENCH_ITEMS:-200}
log "drain rate ($runs runs of $rounds rounds, $items x 200 KB each) and first publish (100,000 waiting)"
CANOPY_BENCH_ITEMS=$items go test -run '^$' -bench 'BenchmarkDrain$' -benchtime "${rounds}x" -count "$runs" -timeout 30m ./sync/publish/ | tee "$out"
go test -run '^$' -bench 'BenchmarkFirstPublish$' -benchtime 3x -timeout 20m ./sync/publish/ | tee -a "$out"

python3 - "$out" "$runs" "$items" "$(go env GOOS)/$(go env GOARCH)" "$(nproc)" "$rounds" >"$out.md" <<'PY'
import re, sys, statistics, datetime
path, runs, items, plat, cores, rounds = sys.argv[1:]
drain, first = [], {}
for line in open(path):
    f = line.split()
    if not f or not re.match(r"Benchmark(Drain|FirstPublish)(-\d+)?$", f[0]):
        continue
    m = {f[i + 1]: float(f[i]) for i in range(2, len(f) - 1) if re.match(r"^[\d.e+-]+$", f[i])}
    if f[0].startswith("BenchmarkDrain"):
        drain.append(m)
    else:
        first = m
if not drain or not first:
    sys.exit("benchmark output incomplete")
med = lambda k: statistics.median(d[k] for d in drain)
ratios = [d["ratio"] for d in drain]
load = open("/proc/loadavg").read().split()[0]
print(f"""## Publish

Measured by `scripts/bench.d/publish.sh` on {datetime.date.today()} ({plat}, {cores} cores, load average {load} at the end, Mosquitto on loopback).
Median of {runs} runs; each run is {rounds} rounds of {items} items of 200 KB (after an untimed warm-up round),
and a run's ratio is the median of its rounds' ratios.

| figure | canopy publisher | reference | ratio |
| --- | --- | --- | --- |
| drain (items/s) | {med('canopy_items/s'):.1f} | plain paho QoS 1: {med('paho_items/s'):.1f} | **{statistics.median(ratios):.2f}** |
| drain (MB/s) | {med('canopy_MB/s'):.1f} | {med('paho_MB/s'):.1f} (all PUBACKs in: {med('paho_puback_MB/s'):.1f}) | every run: {", ".join(f"{r:.2f}" for r in ratios)} |
| start to first publish (ms) | 100,000 items waiting: {first['ms_100k']:.0f} | 10 items waiting: {first['ms_10']:.0f} | {first['ratio']:.2f} |

In each round the plain paho publisher and the canopy publisher send the same items, in turn, the
order alternating from round to round (the second of two back-to-back runs finds warmer caches).
The drain is timed from the publisher reporting its connection to the last item acknowledged by a
receiver (reassembled with `sync/wire`, acked on `<root>/v1/<device>/ack`) and removed from the
bbolt outbox; the reference publishes the same chunk frames (128 KiB, built before the clock starts)
with a bare paho client at QoS 1, connected before its clock starts, and is timed until the same
receiver has reassembled every item (the rate at which all its PUBACKs were in is shown beside it).
The canopy side also reads each item from bbolt (stored as the wire frames it sends: one copy out of
the file and a CRC-32C check, no SHA-256 and no re-framing), hands its frames to a writer goroutine
that publishes them while the session reads the next items and takes acks, verifies each ack's
Ed25519 signature, and commits the removals in groups (acks gather for up to 25 ms into one bbolt
commit, `outbox.AckMany`), with its default window of 64 items (16 MiB). A ratio of 1 means the
end-to-end acks, the window and the outbox cost nothing over the bare client. The first-publish ratio compares opening
the outbox and connecting with a backlog of 100,000 items against a backlog of 10: about 1 means
start-up does not grow with the backlog (the outbox keeps its counters in a meta bucket and `Next`
seeks).""")
PY
cat "$out.md"
scripts/bench_section.sh publish "$out.md"
log "docs/benchmarks.md: publish section updated"
