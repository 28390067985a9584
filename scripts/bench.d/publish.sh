#!/usr/bin/env bash
# publish.sh measures the MQTT publisher (sync/publish): the drain rate to
# Mosquitto over loopback for 200 KB items, as a ratio to a plain paho
# publisher sending the same frames at QoS 1 in the same run, and the time
# from start to first publish with 100,000 items waiting, as a ratio to the
# same with 10 waiting. It prints the figures and rewrites the `publish`
# section of docs/benchmarks.md. Needs CANOPY_TEST_MQTT (bench.sh sets it).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh
[[ -n ${CANOPY_TEST_MQTT:-} ]] || die "CANOPY_TEST_MQTT is not set (source .cache/test.env)"

out=$(mktemp)
trap 'rm -f "$out" "$out.md"' EXIT
log "drain rate (3 runs of 100 x 200 KB) and first publish (100,000 waiting)"
go test -run '^$' -bench 'BenchmarkDrain$|BenchmarkFirstPublish$' -benchtime 3x -timeout 20m ./sync/publish/ | tee "$out"

# metric VALUE from a benchmark line: "BenchmarkX-2  3  ...  12.3 name ..."
metric() { awk -v b="$1" -v m="$2" '$1 ~ "^"b"(-[0-9]+)?$" { for (i = 3; i < NF; i++) if ($(i+1) == m) print $i }' "$out"; }

ci=$(metric BenchmarkDrain canopy_items/s) cm=$(metric BenchmarkDrain canopy_MB/s)
pi=$(metric BenchmarkDrain paho_items/s) pm=$(metric BenchmarkDrain paho_MB/s) pp=$(metric BenchmarkDrain paho_puback_MB/s)
dr=$(metric BenchmarkDrain ratio)
f100k=$(metric BenchmarkFirstPublish ms_100k) f10=$(metric BenchmarkFirstPublish ms_10)
fr=$(metric BenchmarkFirstPublish ratio)
[[ -n $dr && -n $fr ]] || die "benchmark output incomplete"

printf 'drain to Mosquitto: canopy %s items/s (%s MB/s), plain paho %s items/s (%s MB/s): ratio %s\n' "$ci" "$cm" "$pi" "$pm" "$dr"
printf 'first publish: %s ms with 100,000 waiting, %s ms with 10: ratio %s\n' "$f100k" "$f10" "$fr"

cat >"$out.md" <<MD
Measured by \`scripts/bench.d/publish.sh\` on $(date -u +%Y-%m-%d) ($(go env GOOS)/$(go env GOARCH), $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) at the end, Mosquitto on loopback).

| figure | canopy publisher | reference | ratio |
| --- | --- | --- | --- |
| drain, 100 items of 200 KB (items/s) | $ci | plain paho QoS 1: $pi | $dr |
| drain (MB/s) | $cm | $pm (all PUBACKs in: $pp) | $dr |
| start to first publish (ms) | 100,000 items waiting: $f100k | 10 items waiting: $f10 | $fr |

The drain is timed from \`Run\` to the last item acknowledged by a receiver
(reassembled with \`sync/wire\`, acked on \`<root>/v1/<device>/ack\`) and
removed from the bbolt outbox; the reference publishes the same chunk frames
(128 KiB, built before the clock starts) with a bare paho client at QoS 1 and
is timed until the same receiver has reassembled every item (the rate at
which all its PUBACKs were in is shown beside it). The canopy side also
reads each item from bbolt, checks its digest (chunking reuses it: one
SHA-256 per item), chunks it, waits for the receiver's ack and commits the
removal (acks that come together share one bbolt commit, \`outbox.AckMany\`);
on a shared 2-core machine these copies, the digest and the window's round
trips are what the ratio mostly measures. A ratio of 1 means the end-to-end acks, the window
(16 items) and the outbox cost nothing over the bare client. The first-publish
ratio compares opening the outbox and connecting with a backlog of 100,000
items against a backlog of 10: about 1 means start-up does not grow with the
backlog (the outbox keeps its counters in a meta bucket and \`Next\` seeks).
MD
scripts/bench_section.sh publish "$out.md"
log "docs/benchmarks.md: publish section updated"
