#!/usr/bin/env bash
# cloud.sh: ingest throughput against writing the same objects and rows
# straight into S3 and PostgreSQL from one process (same run, as many
# goroutines as the receiver has storage workers, the two alternating over
# four rounds so that the machine's load drifts over both alike):
#
#  - mqtt: four devices (the agent's window of 8 items each) through
#    Mosquitto to the receiver (reassembly, checks, S3, PostgreSQL, signed
#    ack), until every item is acknowledged: in frames of 128 KiB (AWS IoT
#    Core's limit; two an item), and again in frames of 1 MiB (where the
#    broker allows: Mosquitto, the embedded broker; one an item);
#  - compat_amqp: the original design's JSON+base64 messages through a
#    RabbitMQ queue to the compat input, until every one is stored; also
#    against RabbitMQ alone (the same messages published and consumed,
#    nothing stored).
#
# CLOUD_BENCH_N items (default 400) of about 200 KB, over 8 rounds; a run's
# ratio is the median of its rounds' ratios; CLOUD_BENCH_RUNS runs (default
# 3); the figure is the median run. Rewrites the `cloud` section
# of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ -f .cache/test.env ]]; then set -a; source .cache/test.env; set +a; fi
: "${CANOPY_TEST_MQTT:?needs the services (make services)}"
n=${CLOUD_BENCH_N:-400} runs=${CLOUD_BENCH_RUNS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((i = 0; i < runs; i++)); do
	CANOPY_BENCH_CLOUD=1 CANOPY_BENCH_N=$n go test -count=1 -run '^TestBench(Cloud|Compat)$' -v ./cloud/ingest/ |
		sed -n 's/^BENCH //p' >>"$tmp/runs.jsonl"
done
python3 - "$tmp/runs.jsonl" "$runs" >"$tmp/section.md" <<'PY'
import json, sys, datetime, statistics
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in runs:
    by.setdefault(r["path"], []).append(r)
def median_run(rs):
    rs = sorted(rs, key=lambda r: r["ratio"])
    return rs[len(rs) // 2]
m, m1, c = median_run(by["mqtt"]), median_run(by["mqtt_1mib"]), median_run(by["compat_amqp"])
print("## Cloud ingest")
print()
print(f"`scripts/bench.d/cloud.sh`, {datetime.date.today()}: {m['items']} items of {m['avg_item_kb']:.0f} KB on average, "
      f"the path under test and the reference alternating over {m['rounds']} rounds in each run; the median of "
      f"{len(by['mqtt'])} runs; a run's ratio is the median of its rounds' ratios (a round is the reference and the path on "
      f"{m['items'] // m['rounds'] // 2} items each). **mqtt**: {m['devices']} devices with the agent's window of {m['window']} items in flight, "
      f"JPEG and PNG mask as wire frames made beforehand (as the device's outbox stores them), through Mosquitto to a receiver "
      f"({m['workers']} storage workers: reassembly into one buffer hashed as the chunks come, checks, versitygw (S3), "
      f"PostgreSQL, signed ack) until every item is acknowledged; in frames of 128 KiB (AWS IoT Core's limit, the default "
      f"`sync.chunk_size`: two an item), and in frames of 1 MiB where the broker allows it (Mosquitto, the embedded broker: one an item), "
      f"each on items of its own. **compat_amqp**: the same JPEGs "
      f"as the original design's JSON+base64 messages through a RabbitMQ queue to the compat input ({c['workers']} workers) "
      f"until every one is stored. Reference: the same objects and rows written straight into S3 and PostgreSQL from one "
      f"process with {m['workers']} goroutines.")
print()
print("| path | items/s | MB/s | straight writes, items/s | **ratio** | every run |")
print("| --- | --- | --- | --- | --- | --- |")
for name, r in (("ingest over MQTT, 128 KiB frames", m), ("ingest over MQTT, 1 MiB frames", m1), ("compat JSON+base64 over RabbitMQ", c)):
    every = ", ".join(f"{x['ratio']:.2f}" for x in by[r["path"]])
    print(f"| {name} | {r['ingest_items_per_s']:.1f} | {r['ingest_mb_per_s']:.1f} | {r['direct_items_per_s']:.1f} | **{r['ratio']:.2f}** | {every} |")
print()
print(f"RabbitMQ alone (the same messages published and consumed, acked at once, nothing stored) moved "
      f"{c['broker_items_per_s']:.1f} items/s in the median run; the compat path reached {c['ratio_to_broker']:.2f} of that. "
      "On this shared 2-core machine the broker and the storage services (versitygw, PostgreSQL) take turns on the same cores, "
      "so a path through a second server costs about what that server costs.")
PY
cat "$tmp/section.md"
scripts/bench_section.sh cloud "$tmp/section.md"
