#!/usr/bin/env bash
# demo.sh runs the whole system on one machine on sample data (make demo,
# after make build): canopy-cloud serve on its embedded defaults (in-process
# MQTT broker, blob folder, SQLite) on free ports, then canopy-agent run
# --once over a sample folder; it waits until the agent's outbox is empty
# and the cloud has stored every item, prints a summary and stops both.
#
#   scripts/demo.sh [--source DIR]      (or DEMO_SOURCE=DIR)
#
# The sample source: the three images of ../shared/data/trees and ten of
# ../shared/data/train, or synthetic frames when that folder is absent.
# Everything is written under ./demo-data (git-ignored), emptied each run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

source_dir=${DEMO_SOURCE:-}
while (($#)); do
	case $1 in
	--source) source_dir=$2; shift 2 ;;
	--source=*) source_dir=${1#--source=}; shift ;;
	*) die "unknown argument $1 (usage: demo.sh [--source DIR])" ;;
	esac
done

bin=${CANOPY_BIN:-$PWD/bin}
for b in canopy-cloud canopy-agent; do
	[[ -x $bin/$b ]] || die "$bin/$b is missing: run make build first"
done

data=$PWD/demo-data
rm -rf "$data"
mkdir -p "$data"

# --- The sample source.
if [[ -z $source_dir ]]; then
	source_dir=$data/source
	mkdir -p "$source_dir"
	shared=${CANOPY_SHARED_DATA:-$PWD/../shared/data}
	if [[ -d $shared/trees ]]; then
		cp "$shared"/trees/*.png "$source_dir"/ 2>/dev/null || true
		find "$shared/train" -type f \( -name '*.jpg' -o -name '*.png' -o -name '*.tif' \) 2>/dev/null |
			sort | sed -n '1,10p' | while read -r f; do cp "$f" "$source_dir"/; done
		log "sample source: $(ls "$source_dir" | wc -l) images from $shared"
	else
		log "no $shared: generating 12 synthetic frames"
		go run scripts/demo/synth.go "$source_dir" 12
	fi
fi
[[ -d $source_dir ]] || die "source $source_dir is not a folder"
frames=$(find "$source_dir" -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' -o -iname '*.tif' -o -iname '*.tiff' \) | wc -l)
((frames > 0)) || die "no images in $source_dir"

# --- Free ports (never 1883: a system Mosquitto may hold it).
read -r http_port mqtt_port < <(python3 -c '
import socket
s=[socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
http=127.0.0.1:$http_port
mqtt=tcp://127.0.0.1:$mqtt_port

cloud_pid=
stop_cloud() {
	[[ -n $cloud_pid ]] || return 0
	kill -INT "$cloud_pid" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$cloud_pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$cloud_pid" 2>/dev/null || true
	wait "$cloud_pid" 2>/dev/null || true
	cloud_pid=
}
trap stop_cloud EXIT

# --- The device's identity: registered with the cloud, which prints its
# MQTT password (shown once) and the cloud's public key for signed receipts,
# and writes what the board needs as a board would get it (device add
# --out): $data/agent.d/demo-1.yaml (device, broker, username, password
# file, cloud key), read by the agent after $data/agent.yaml.
"$bin/canopy-cloud" device add demo-1 --data "$data/cloud" --broker "$mqtt" --out "$data" --board-dir "$data" \
	>"$data/demo-1.json" 2>/dev/null || die "canopy-cloud device add failed"
cloud_key=$(cat "$data/cloud.key")

# --- The cloud, on embedded defaults.
"$bin/canopy-cloud" serve --auth=off --data "$data/cloud" --http "$http" --mqtt-listen "127.0.0.1:$mqtt_port" \
	>"$data/cloud.log" 2>&1 &
cloud_pid=$!
for i in $(seq 150); do
	curl -fsS "http://$http/readyz" >/dev/null 2>&1 && break
	kill -0 "$cloud_pid" 2>/dev/null || { cat "$data/cloud.log" >&2; die "canopy-cloud exited"; }
	((i < 150)) || { cat "$data/cloud.log" >&2; die "canopy-cloud not ready after 15 s"; }
	sleep 0.1
done
log "canopy-cloud ready: http://$http, MQTT $mqtt"

# --- The agent: every frame selected (the demo wants them all).
cat >"$data/agent.yaml" <<YAML
select:
  min_share: 0
  min_interval: "0s"
  duplicates: keep
YAML
log "canopy-agent run --once over $source_dir ($frames frames)"
if ! "$bin/canopy-agent" run --once --config "$data/agent.yaml" --source "$source_dir" \
	--data "$data/agent" --scan-id demo-scan >"$data/agent.log" 2>&1; then
	tail -20 "$data/agent.log" >&2
	die "canopy-agent failed (log: $data/agent.log)"
fi

# --- Wait for the cloud to have stored every item the agent sent.
captured=$(grep -o 'items_put=[0-9]*' "$data/agent.log" | tail -1 | cut -d= -f2)
sent=$(grep -o 'acked=[0-9]*' "$data/agent.log" | tail -1 | cut -d= -f2)
captured=${captured:-$frames} sent=${sent:-$captured}  # the agent logs items_put and acked; fall back to the frame count
stored=0
for i in $(seq 300); do
	stored=$(curl -fsS "http://$http/v1/images?device=demo-1&limit=500" |
		python3 -c 'import json,sys; print(len(json.load(sys.stdin)["images"]))')
	((stored >= captured)) && break
	((i < 300)) || die "the cloud stored $stored of $captured items within 30 s"
	sleep 0.1
done
# --- Wait (up to 60 s) for the counting workers to count the scan's images.
scan='{}'
for i in $(seq 600); do
	scan=$(curl -fsS "http://$http/v1/scans/demo-scan" || echo '{}')
	python3 -c 'import json,sys; s=json.loads(sys.argv[1]); sys.exit(0 if s.get("counted",0)>=s.get("image_count",1) else 1)' "$scan" && break
	sleep 0.1
done
trees=$(python3 -c 'import json,sys; s=json.loads(sys.argv[1]); print("%d trees in %d of %d images (scan demo-scan)" % (s.get("total_trees",0), s.get("counted",0), s.get("image_count",0)))' "$scan")
first=$(curl -fsS "http://$http/v1/images?limit=1" | python3 -c 'import json,sys; i=json.load(sys.stdin)["images"]; print(i[0]["item_id"] if i else "")')

cat <<SUMMARY

Canopy demo
  source frames      $frames ($source_dir)
  items captured     $captured
  items sent, acked  $sent
  items stored       $stored
  trees counted      $trees
  cloud HTTP         http://$http   (stopped now; look again: bin/canopy-cloud serve --auth=off --data $data/cloud --mqtt-listen 127.0.0.1:18830)
  cloud data         $data/cloud    (blobs/raw/..., canopy.db)
  agent data         $data/agent    (outbox.db, state)
  device identity    demo-1 (canopy-cloud device add --out: $data/agent.d/demo-1.yaml, $data/demo-1.password), receipts signed by $cloud_key
  logs               $data/cloud.log, $data/agent.log
  try                curl -s 'http://127.0.0.1:8080/v1/images?device=demo-1&limit=5'
                     curl -s http://127.0.0.1:8080/v1/images/$first

SUMMARY
stop_cloud
((stored == captured && sent == captured)) || die "stored $stored, sent $sent, captured $captured: they should all match"
log "done"
