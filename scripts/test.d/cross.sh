#!/usr/bin/env bash
# cross.sh (test.d): the linux/arm64 agent runs, under qemu-aarch64-static.
#
#  1. builds bin/linux-arm64/canopy-agent (scripts/cross.sh build: cached
#     after the first time);
#  2. `version`: linux/arm64, OpenCV 4.6, ONNX Runtime loaded;
#  3. `segment` on the sample images (../shared/data/trees, else synthetic
#     ones) with the classical segmenter and with ONNX Runtime and the
#     shipped model; forest shares must match the x86 build's within 0.02;
#     the onnx run asks for provider cuda, which must fall back to the CPU;
#  4. `run --once` on a folder of images, syncing through the embedded MQTT
#     broker of `canopy-cloud serve` on a free loopback port; the cloud must
#     list every item.
# Timings go to stderr (see docs/deploy.md). CANOPY_CROSS_SKIP=1 skips it.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

if [[ ${CANOPY_CROSS_SKIP:-} == 1 ]]; then
	log "skipped (CANOPY_CROSS_SKIP=1)"
	exit 0
fi
t0=$(date +%s.%N)

scripts/cross.sh build
build_s=$(elapsed "$t0")
# Only the paths: the cross environment (GOARCH=arm64, CC) must not leak
# into the native builds below.
eval "$(scripts/cross.sh env | grep -E '^export CANOPY_ARM64_(SYSROOT|LIBPATH)=')"
ORT_ARM64=$PWD/.cache/onnxruntime/linux-arm64/libonnxruntime.so.1
BIN=$PWD/bin/linux-arm64/canopy-agent

t1=$(date +%s.%N)
tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# arm64 runs the arm64 binary under qemu with the sysroot's libraries.
arm64() {
	env LD_LIBRARY_PATH="$CANOPY_ARM64_LIBPATH" CANOPY_ORT_LIB="$ORT_ARM64" \
		qemu-aarch64-static -L "$CANOPY_ARM64_SYSROOT" "$BIN" "$@"
}

# --- version ----------------------------------------------------------------
out=$(arm64 version 2>"$tmp/version.err") || fail "version: $out $(cat "$tmp/version.err")"
grep -q 'platform *linux/arm64' <<<"$out" || fail "version: not linux/arm64: $out"
grep -q 'opencv *4\.6\.' <<<"$out" || fail "version: no OpenCV 4.6: $out"
grep -qE 'onnxruntime *1\.[0-9]+\.[0-9]+ ' <<<"$out" || fail "version: ONNX Runtime did not load: $out"
# Capture first, then grep: with pipefail, grep -q closing the pipe early
# would fail the pipeline with SIGPIPE at random.
out_json=$(arm64 version --json) || fail "version --json: $out_json"
grep -q '"arch": "arm64"' <<<"$out_json" || fail "version --json: $out_json"
out_boards=$(arm64 boards) || fail "boards: $out_boards"
grep -q raspberry-pi-5 <<<"$out_boards" || fail "boards: $out_boards"
log "version: ok ($(grep -o '^canopy-agent [^ ]*' <<<"$out"), onnxruntime $(grep '^ *onnxruntime ' <<<"$out" | awk '{print $2}'))"

# --- images -----------------------------------------------------------------
data=${CANOPY_SHARED_DATA:-../shared/data}
images=()
if compgen -G "$data/trees/*.png" >/dev/null; then
	images=("$data"/trees/*.png)
else
	log "no $data/trees: synthetic images"
	mkdir -p "$tmp/synth"
	python3 - "$tmp/synth" <<-'EOF'
		import struct, sys, zlib, random
		def write(path, w, h, f):
		    rows = b"".join(b"\x00" + b"".join(bytes(f(x, y)) for x in range(w)) for y in range(h))
		    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
		    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
		                           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
		random.seed(1)
		for i in range(3):
		    # green crowns on brown ground
		    crowns = [(random.randrange(200), random.randrange(200), random.randrange(8, 25)) for _ in range(12 + 6 * i)]
		    def f(x, y):
		        for cx, cy, r in crowns:
		            if (x - cx) ** 2 + (y - cy) ** 2 < r * r:
		                return (40, 110 + (x * y) % 30, 35)
		        return (120, 100, 80)
		    write(f"{sys.argv[1]}/synthetic_{i}.png", 200, 200, f)
	EOF
	images=("$tmp"/synth/*.png)
fi
log "segment: ${#images[@]} images"

# shares FILE prints "name share" per JSON line (no error allowed).
shares() {
	python3 -c '
import json, os, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d.get("error"):
        sys.exit("segment error: %s: %s" % (d["file"], d["error"]))
    print(os.path.basename(d["file"]), d["forest_share"])
' "$1"
}
# agree A B: the same images with forest shares within 0.02.
agree() {
	python3 -c '
import sys
a = dict(l.split() for l in open(sys.argv[1]))
b = dict(l.split() for l in open(sys.argv[2]))
assert a.keys() == b.keys(), (sorted(a), sorted(b))
bad = {k: (a[k], b[k]) for k in a if abs(float(a[k]) - float(b[k])) > 0.02}
if bad: sys.exit("arm64 and amd64 forest shares differ: %s" % bad)
' "$1" "$2"
}
X86=bin/canopy-agent

for seg in classical onnx; do
	args=(--segmenter "$seg" --out "$tmp/$seg")
	if [[ $seg == onnx ]]; then
		if [[ ! -f models/treecover-seg.onnx ]]; then
			log "segment onnx: SKIPPED, models/treecover-seg.onnx is not there yet"
			continue
		fi
		# provider cuda: the bundled library has no CUDA, so this also checks
		# the fallback to the CPU (with a warning) of internal/ortenv.
		args+=(--model models/treecover-seg.onnx --ort-lib "$ORT_ARM64" --provider cuda --log-level warn)
	fi
	arm64 segment "${args[@]}" "${images[@]}" >"$tmp/$seg.arm64.jsonl" 2>"$tmp/$seg.err" ||
		fail "segment $seg: $(cat "$tmp/$seg.err")"
	if [[ $seg == onnx ]]; then
		grep -qi 'cuda' "$tmp/$seg.err" || fail "segment --provider cuda: no warning about the CPU fallback"
		log "segment onnx --provider cuda: fell back to the CPU with a warning"
	fi
	shares "$tmp/$seg.arm64.jsonl" >"$tmp/$seg.arm64" || fail "segment $seg: $(cat "$tmp/$seg.arm64.jsonl")"
	[[ $(wc -l <"$tmp/$seg.arm64") == "${#images[@]}" ]] || fail "segment $seg: want ${#images[@]} lines"
	compgen -G "$tmp/$seg/*.png" >/dev/null || fail "segment $seg: no mask written"
	if [[ -x $X86 ]]; then
		xargs=("${args[@]}")
		[[ $seg == onnx ]] && xargs=(--segmenter onnx --out "$tmp/$seg.x86" --model models/treecover-seg.onnx)
		"$X86" segment "${xargs[@]}" "${images[@]}" >"$tmp/$seg.amd64.jsonl"
		shares "$tmp/$seg.amd64.jsonl" >"$tmp/$seg.amd64"
		agree "$tmp/$seg.arm64" "$tmp/$seg.amd64" || fail "segment $seg"
		log "segment $seg: ok, forest shares equal to the x86 build's: $(paste -sd' ' "$tmp/$seg.arm64")"
	else
		log "segment $seg: ok ($X86 not built: no comparison): $(paste -sd' ' "$tmp/$seg.arm64")"
	fi
done

segment_s=$(elapsed "$t1")

# --- run --once through a broker on loopback -------------------------------
t2=$(date +%s.%N)
CLOUD=bin/canopy-cloud
if [[ ! -x $CLOUD ]]; then
	log "building $CLOUD (pure Go)"
	CGO_ENABLED=0 go build -o "$tmp/canopy-cloud" ./cloud/cmd/canopy-cloud
	CLOUD=$tmp/canopy-cloud
fi
mqtt=$(free_port)
http=$(free_port)
"$CLOUD" serve --auth=off --data "$tmp/cloud" --http "127.0.0.1:$http" --mqtt-listen "127.0.0.1:$mqtt" \
	--workers 1 >"$tmp/cloud.log" 2>&1 &
pids+=($!)
wait_port "$mqtt" 60 || fail "canopy-cloud serve did not listen on $mqtt: $(tail -20 "$tmp/cloud.log")"
wait_port "$http" 30 || fail "canopy-cloud serve did not listen on $http"

mkdir -p "$tmp/frames"
cp "${images[@]}" "$tmp/frames/"
device=qemu-arm64-$$
# Register the device: the embedded broker refuses unknown clients.
"$CLOUD" device add "$device" --data "$tmp/cloud" --out "$tmp/cred" >/dev/null 2>&1 || fail "canopy-cloud device add $device"
cat >"$tmp/agent.yaml" <<EOF
device: $device
board: raspberry-pi-5
data: $tmp/agent
capture:
  source: $tmp/frames
segmenter:
  kind: classical
select:
  min_share: 0
  min_interval: 0s
  duplicates: keep
sync:
  broker: tcp://127.0.0.1:$mqtt
  password_file: $tmp/cred/$device.password
  cloud_key: $(cat "$tmp/cred/cloud.key")
EOF
if ! timeout 150 env LD_LIBRARY_PATH="$CANOPY_ARM64_LIBPATH" CANOPY_ORT_LIB="$ORT_ARM64" \
	qemu-aarch64-static -L "$CANOPY_ARM64_SYSROOT" "$BIN" run --config "$tmp/agent.yaml" --once >"$tmp/agent.log" 2>&1; then
	fail "run --once: $(tail -30 "$tmp/agent.log")"
fi
want=${#images[@]}
got=0
for _ in $(seq 100); do
	got=$(curl -fsS "http://127.0.0.1:$http/v1/images?device=$device&limit=100" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["images"] if isinstance(d, dict) else d))' 2>/dev/null || echo 0)
	[[ $got -ge $want ]] && break
	sleep 0.2
done
[[ $got -ge $want ]] || fail "run --once: the cloud lists $got of $want items for $device: agent: $(tail -20 "$tmp/agent.log") cloud: $(tail -20 "$tmp/cloud.log")"
run_s=$(elapsed "$t2")
log "run --once: ok, $got items synced through the embedded broker on 127.0.0.1:$mqtt"
log "timings: build ${build_s}s (cached after the first), version+segment ${segment_s}s, run --once ${run_s}s, qemu check $(elapsed "$t1")s"
