#!/usr/bin/env bash
# package.sh (test.d): what `make package` builds installs and runs.
#
#  1. scripts/package.sh for amd64, and arm64 unless CANOPY_CROSS_SKIP=1
#     (cached after the first time: about a minute);
#  2. every .deb: its files, modes, conffile, control fields and Depends;
#  3. the amd64 .deb installed with `dpkg -i` into a throw-away copy of this
#     machine (an overlay of / in a private mount namespace, entered with
#     chroot; the machine itself is not touched): the postinst made the
#     canopy-cloud user, /var/lib/canopy-cloud and the config's owner;
#     systemd-analyze verify accepts the installed unit; serve runs as the
#     unit runs it (its User, Environment and ExecStart) and says READY=1
#     on $NOTIFY_SOCKET, answers /readyz, counts an uploaded image with the
#     packaged ONNX Runtime and model, and says STOPPING=1 on SIGTERM;
#     `dpkg --purge` removes the user and the state;
#  3b. the amd64 agent .deb installed the same way: as the unit runs it, the
#     agent refuses to start with the packaged /etc/canopy/agent.yaml (it has
#     a broker and no cloud key) and says where the key comes from; with
#     what `canopy-cloud device add --broker URL --out DIR` wrote copied to
#     /etc/canopy/ (agent.d/ID.yaml, the password file), it starts and syncs
#     a folder of photos to a canopy-cloud serve on loopback;
#  4. the arm64 .deb's binary prints its version under qemu;
#  5. each OCI archive, unpacked with umoci: its config (user, entrypoint,
#     command, ports); the amd64 root file system runs `canopy-cloud
#     version` and the image's own command (serve) with chroot as the
#     image's user, which counts an uploaded image; the arm64 one runs
#     `version` under qemu with the root file system's libraries;
#  6. the Lambda function and layer: bootstrap needs glibc 2.34 at most;
#     the amd64 function, with the layer's lib/ on the library path as
#     /opt/lib is in AWS Lambda, counts a recorded S3 notification through
#     the Lambda Runtime API (TestLambdaRuntime).
#
# Needs root (mounts, chroot); without it, steps 3 and 5 are skipped with a
# note. CANOPY_PACKAGE_SKIP=1 skips everything. Timings go to stderr.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

if [[ ${CANOPY_PACKAGE_SKIP:-} == 1 ]]; then
	log "skipped (CANOPY_PACKAGE_SKIP=1)"
	exit 0
fi
t0=$(date +%s.%N)

arches="amd64 arm64"
[[ ${CANOPY_CROSS_SKIP:-} == 1 ]] && arches=amd64
CANOPY_PACKAGE_ARCHES=$arches scripts/package.sh
build_s=$(elapsed "$t0")
source scripts/lib-deb.sh
deb_version

tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
can_mount() { [[ $(id -u) == 0 ]] && unshare -m --propagation private true 2>/dev/null; }

# in_root OVERLAY ROOT SHARE CMD... runs CMD (exec: its pid is CMD's) in a
# private mount namespace, so that every mount ends with it: ROOT gets
# /proc, /dev and SHARE as /run/canopy-test; with OVERLAY (a folder), ROOT
# is first mounted as an overlay of this machine's / that writes to
# OVERLAY/upper, so that nothing done in ROOT reaches the machine.
# in_root_bg does the same in the background, with its pid in BG_PID.
ROOT_SCRIPT='
	set -e
	ov=$1 root=$2 share=$3
	shift 3
	if [[ -n $ov ]]; then
		mount -t overlay overlay -o "lowerdir=/,upperdir=$ov/upper,workdir=$ov/work" "$root"
	fi
	mount -t proc proc "$root/proc"
	mkdir -p "$root/dev" "$root/run/canopy-test"
	mount --bind /dev "$root/dev"
	mount --bind "$share" "$root/run/canopy-test"
	exec "$@"
'
in_root() { unshare -m --propagation private bash -c "$ROOT_SCRIPT" _ "$@"; }
in_root_bg() {
	unshare -m --propagation private bash -c "$ROOT_SCRIPT" _ "$@" &
	BG_PID=$!
	pids+=("$BG_PID")
}

# An image to upload: a sample plot when there is one, else synthetic.
sample=$tmp/plot.png
if compgen -G "${CANOPY_SHARED_DATA:-../shared/data}/trees/*.png" >/dev/null; then
	cp "$(compgen -G "${CANOPY_SHARED_DATA:-../shared/data}/trees/*.png" | head -1)" "$sample"
else
	python3 - "$sample" <<-'EOF'
		import struct, sys, zlib, random
		random.seed(2)
		w = h = 200
		crowns = [(random.randrange(w), random.randrange(h), random.randrange(8, 20)) for _ in range(25)]
		def px(x, y):
		    for cx, cy, r in crowns:
		        if (x - cx) ** 2 + (y - cy) ** 2 < r * r:
		            return bytes((40, 110 + (x * y) % 30, 35))
		    return bytes((120, 100, 80))
		rows = b"".join(b"\x00" + b"".join(px(x, y) for x in range(w)) for y in range(h))
		chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
		open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
		                               + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
	EOF
fi

# notify_listen SOCKET OUT: a stand-in for systemd's notify socket; every
# datagram is appended to OUT, one per line.
notify_listen() {
	python3 - "$1" "$2" <<-'EOF' &
		import socket, sys
		s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
		s.bind(sys.argv[1])
		import os; os.chmod(sys.argv[1], 0o777)
		with open(sys.argv[2], "a", buffering=1) as out:
		    while True:
		        out.write(s.recv(4096).decode().replace("\n", " ") + "\n")
	EOF
	pids+=($!)
	for _ in $(seq 50); do [[ -S $1 ]] && return 0; sleep 0.1; done
	fail "notify socket $1 did not appear"
}

# read_unit UNIT UPPER reads the installed unit file UNIT: UNIT_IDS is
# "uid:gid" of its User and Group (chroot --userspec takes numbers: the
# names live in the installed copy's /etc/passwd and /etc/group under
# UPPER), UNIT_EXEC its ExecStart and UNIT_ENV its Environment= lines
# (arrays).
read_unit() {
	local u g
	u=$(awk -F: -v u="$(sed -n 's/^User=//p' "$1")" '$1 == u {print $3}' "$2/etc/passwd")
	g=$(awk -F: -v g="$(sed -n 's/^Group=//p' "$1")" '$1 == g {print $3}' "$2/etc/group")
	[[ -n $u && -n $g ]] || fail "the User and Group of $1 are not in the installed system"
	UNIT_IDS=$u:$g
	read -r -a UNIT_EXEC <<<"$(sed -n 's/^ExecStart=//p' "$1")"
	mapfile -t UNIT_ENV < <(sed -n 's/^Environment=//p' "$1")
}

# wait_for FILE PATTERN SECONDS
wait_for() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# upload_and_count HTTP TOKEN: uploads the sample and waits for its count;
# prints the count JSON.
upload_and_count() {
	local http=$1 token=$2 id body
	body=$(curl -fsS -H "Authorization: Bearer $token" -F "image=@$sample" \
		-F 'metadata={"scan_id":"package-test","address_id":"a1","tree_type":"pine"}' "http://$http/v1/images") ||
		fail "upload to $http failed"
	id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["item_id"])' <<<"$body")
	for _ in $(seq 300); do
		body=$(curl -fsS -H "Authorization: Bearer $token" "http://$http/v1/images/$id")
		if python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d.get("count") else 1)' <<<"$body"; then
			python3 -c 'import json,sys; c=json.load(sys.stdin)["count"]; print(json.dumps({k: c.get(k) for k in ("count", "method", "model")}))' <<<"$body"
			return 0
		fi
		sleep 0.2
	done
	fail "image $id was not counted within a minute: $body"
}

# ---- 2. the .debs -------------------------------------------------------------
t1=$(date +%s.%N)
for arch in $arches; do
	deb=dist/canopy-cloud_${DEB_VERSION}_$arch.deb
	[[ -f $deb ]] || fail "no $deb"
	dpkg-deb -c "$deb" | awk '{print $1, $2, $6}' >"$tmp/contents-$arch"
	for want in \
		"-rwxr-xr-x root/root ./usr/bin/canopy-cloud" \
		"-rw-r--r-- root/root ./usr/lib/canopy-cloud/libonnxruntime.so.1" \
		"-rw-r--r-- root/root ./usr/share/canopy/models/crown-detector.onnx" \
		"-rw-r--r-- root/root ./usr/share/canopy/models/crown-detector.md" \
		"-rw-r----- root/root ./etc/canopy/cloud.yaml" \
		"-rw-r--r-- root/root ./lib/systemd/system/canopy-cloud.service" \
		"-rw-r--r-- root/root ./usr/share/doc/canopy-cloud/copyright" \
		"-rw-r--r-- root/root ./usr/share/doc/canopy-cloud/deploy.md"; do
		grep -qxF -- "$want" "$tmp/contents-$arch" || fail "$deb lacks $want: $(cat "$tmp/contents-$arch")"
	done
	[[ $(dpkg-deb -f "$deb" Package) == canopy-cloud && $(dpkg-deb -f "$deb" Architecture) == "$arch" &&
		$(dpkg-deb -f "$deb" Version) == "$DEB_VERSION" ]] || fail "$deb: control $(dpkg-deb -f "$deb")"
	depends=$(dpkg-deb -f "$deb" Depends)
	for want in libc6 libstdc++6 libopencv-core406 libopencv-imgproc406 adduser; do
		sed 's/ ([^)]*)//g; s/, /\n/g' <<<"$depends" | grep -qxF "$want" || fail "$deb: Depends lacks $want: $depends"
	done
	dpkg-deb --ctrl-tarfile "$deb" | tar -tf - | sort | paste -sd' ' >"$tmp/ctrl-$arch"
	for f in ./conffiles ./control ./postinst ./postrm ./prerm; do
		grep -qw -- "$f" "$tmp/ctrl-$arch" || fail "$deb: no $f in DEBIAN ($(cat "$tmp/ctrl-$arch"))"
	done
	[[ $(dpkg-deb -I "$deb" conffiles) == /etc/canopy/cloud.yaml ]] || fail "$deb: conffiles $(dpkg-deb -I "$deb" conffiles)"
	log "deb $arch: files, modes, conffile and Depends ok ($(du -h "$deb" | cut -f1))"
done

# ---- 3. install the amd64 .deb into a copy of this machine -------------------
deb=$PWD/dist/canopy-cloud_${DEB_VERSION}_amd64.deb
if can_mount && command -v chroot >/dev/null; then
	ov=$tmp/overlay
	mkdir -p "$ov/upper" "$ov/work" "$ov/root" "$tmp/share"
	cp "$deb" "$tmp/share/canopy-cloud.deb"
	chmod 0777 "$tmp/share"
	in_copy() { in_root "$ov" "$ov/root" "$tmp/share" "$@"; }
	in_copy chroot "$ov/root" sh -c 'DEBIAN_FRONTEND=noninteractive dpkg -i /run/canopy-test/canopy-cloud.deb' >"$tmp/dpkg.log" 2>&1 ||
		fail "dpkg -i: $(cat "$tmp/dpkg.log")"
	in_copy chroot "$ov/root" sh -c '
		set -e
		id canopy-cloud
		stat -c "%U:%G %a %n" /var/lib/canopy-cloud /etc/canopy/cloud.yaml
		dpkg-query -W -f "\${Status}\n" canopy-cloud
		canopy-cloud version
	' >"$tmp/installed" 2>&1 || fail "after dpkg -i: $(cat "$tmp/installed")"
	grep -q '^uid=[0-9]*(canopy-cloud) gid=[0-9]*(canopy-cloud)' "$tmp/installed" || fail "no canopy-cloud user: $(cat "$tmp/installed")"
	grep -qx 'canopy-cloud:canopy-cloud 750 /var/lib/canopy-cloud' "$tmp/installed" || fail "state dir: $(cat "$tmp/installed")"
	grep -qx 'root:canopy-cloud 640 /etc/canopy/cloud.yaml' "$tmp/installed" || fail "config: $(cat "$tmp/installed")"
	grep -qx 'install ok installed' "$tmp/installed" || fail "dpkg status: $(cat "$tmp/installed")"
	grep -q '^canopy-cloud .*(commit ' "$tmp/installed" || fail "version: $(cat "$tmp/installed")"
	security="no systemd-analyze"
	if command -v systemd-analyze >/dev/null; then
		in_copy chroot "$ov/root" systemd-analyze verify /lib/systemd/system/canopy-cloud.service >"$tmp/verify" 2>&1 ||
			fail "systemd-analyze verify: $(cat "$tmp/verify")"
		[[ ! -s $tmp/verify ]] || fail "systemd-analyze verify: $(cat "$tmp/verify")"
		security=$(in_copy chroot "$ov/root" systemd-analyze security --offline=yes /lib/systemd/system/canopy-cloud.service 2>/dev/null |
			grep -o 'exposure level .*' || echo "exposure level unknown")
		security="systemd-analyze verify: no complaints, security: $security"
	fi
	log "deb amd64: dpkg -i made the user, /var/lib/canopy-cloud (750) and /etc/canopy/cloud.yaml (root:canopy-cloud 640); $security"

	# serve as the unit runs it.
	unit=$tmp/installed.service
	in_copy chroot "$ov/root" cat /lib/systemd/system/canopy-cloud.service >"$unit"
	read_unit "$unit" "$ov/upper"
	http=127.0.0.1:$(free_port)
	mqtt=127.0.0.1:$(free_port)
	notify_listen "$tmp/share/notify.sock" "$tmp/notify"
	in_copy chroot --userspec="$UNIT_IDS" "$ov/root" /usr/bin/canopy-cloud token create --scope write --name package-test \
		--data /var/lib/canopy-cloud >"$tmp/token" 2>"$tmp/token.err" || fail "token create: $(cat "$tmp/token.err")"
	token=$(tail -1 "$tmp/token")
	in_root_bg "$ov" "$ov/root" "$tmp/share" chroot --userspec="$UNIT_IDS" "$ov/root" env -i "${UNIT_ENV[@]}" \
		NOTIFY_SOCKET=/run/canopy-test/notify.sock "${UNIT_EXEC[@]}" --http "$http" --mqtt-listen "$mqtt" >"$tmp/serve.log" 2>&1
	serve_pid=$BG_PID
	wait_for "$tmp/notify" 'READY=1' 60 || fail "no READY=1 from serve: $(tail -20 "$tmp/serve.log")"
	curl -fsS "http://$http/readyz" >/dev/null || fail "/readyz after READY=1: $(curl -sS "http://$http/readyz")"
	counted=$(upload_and_count "$http" "$token")
	grep -q '"method": "learned"' <<<"$counted" || fail "the installed package counted without its model: $counted"
	kill -TERM "$serve_pid"
	wait_for "$tmp/notify" 'STOPPING=1' 30 || fail "no STOPPING=1: $(cat "$tmp/notify")"
	wait "$serve_pid" || fail "serve exited with $? on SIGTERM: $(tail -20 "$tmp/serve.log")"
	log "deb amd64: serve as the unit runs it: READY=1, /readyz ok, counted $counted, STOPPING=1 on SIGTERM"

	in_copy chroot "$ov/root" sh -c 'dpkg --purge canopy-cloud >/dev/null; id canopy-cloud 2>&1 || true; ls -d /var/lib/canopy-cloud /usr/bin/canopy-cloud 2>&1 || true' >"$tmp/purged" 2>&1
	grep -q 'no such user' "$tmp/purged" && ! grep -qE '^/(var|usr)/' "$tmp/purged" || fail "after dpkg --purge: $(cat "$tmp/purged")"
	log "deb amd64: dpkg --purge removed the binary, the user and /var/lib/canopy-cloud"
else
	log "deb amd64: install test SKIPPED (needs root and mount namespaces for an overlay of /)"
fi
deb_s=$(elapsed "$t1")

# ---- 3b. the amd64 agent .deb: no start without the cloud's key ---------------
t4=$(date +%s.%N)
agent_deb=$PWD/dist/canopy-agent_${DEB_VERSION}_amd64.deb
[[ -f $agent_deb ]] || fail "no $agent_deb"
dpkg-deb -c "$agent_deb" | awk '{print $1, $2, $6}' >"$tmp/agent-contents"
for want in "-rwxr-xr-x root/root ./usr/bin/canopy-agent" "-rw-r----- root/root ./etc/canopy/agent.yaml" \
	"-rw-r--r-- root/root ./lib/systemd/system/canopy-agent.service"; do
	grep -qxF -- "$want" "$tmp/agent-contents" || fail "$agent_deb lacks $want"
done
[[ $(dpkg-deb -f "$agent_deb" Architecture) == amd64 && $(dpkg-deb -I "$agent_deb" conffiles) == /etc/canopy/agent.yaml ]] ||
	fail "$agent_deb: control $(dpkg-deb -f "$agent_deb"), conffiles $(dpkg-deb -I "$agent_deb" conffiles)"
if can_mount && command -v chroot >/dev/null; then
	ova=$tmp/overlay-agent ashare=$tmp/share-agent
	mkdir -p "$ova/upper" "$ova/work" "$ova/root" "$ashare/frames"
	cp "$agent_deb" "$ashare/canopy-agent.deb"
	cp "$sample" "$ashare/frames/"
	chmod -R a+rX "$ashare" && chmod 0777 "$ashare"
	in_agent() { in_root "$ova" "$ova/root" "$ashare" "$@"; }
	in_agent chroot "$ova/root" sh -c 'DEBIAN_FRONTEND=noninteractive dpkg -i /run/canopy-test/canopy-agent.deb' >"$tmp/agent-dpkg.log" 2>&1 ||
		fail "dpkg -i canopy-agent: $(cat "$tmp/agent-dpkg.log")"
	# The agent as the unit runs it: its User, Group, Environment and ExecStart.
	unit=$tmp/agent.service
	in_agent chroot "$ova/root" cat /lib/systemd/system/canopy-agent.service >"$unit"
	read_unit "$unit" "$ova/upper"
	# run_agent SECONDS FLAGS...: the unit's command with FLAGS added.
	run_agent() {
		local limit=$1
		shift
		in_agent chroot --userspec="$UNIT_IDS" "$ova/root" timeout "$limit" env -i "${UNIT_ENV[@]}" "${UNIT_EXEC[@]}" "$@"
	}
	if run_agent 60 --once >"$tmp/agent-refused.log" 2>&1; then
		fail "the agent started with the packaged config: $(tail -20 "$tmp/agent-refused.log")"
	fi
	grep -q 'sync.cloud_key is required' "$tmp/agent-refused.log" && grep -q 'canopy-cloud device add' "$tmp/agent-refused.log" ||
		fail "the packaged agent's refusal does not say where the key comes from: $(cat "$tmp/agent-refused.log")"
	log "deb amd64 agent: as installed (broker, no cloud key) it refuses to start: $(grep -o 'sync.cloud_key is required[^:]*' "$tmp/agent-refused.log")"

	# The cloud it belongs to (this build's canopy-cloud on loopback) and
	# the board's files from device add --out, copied to /etc/canopy/.
	CLOUD=bin/canopy-cloud
	if [[ ! -x $CLOUD ]]; then
		CGO_ENABLED=0 go build -o "$tmp/canopy-cloud" ./cloud/cmd/canopy-cloud
		CLOUD=$tmp/canopy-cloud
	fi
	ahttp=127.0.0.1:$(free_port) amqtt=$(free_port)
	"$CLOUD" serve --auth=off --workers 0 --data "$tmp/agent-cloud" --http "$ahttp" --mqtt-listen "127.0.0.1:$amqtt" >"$tmp/agent-cloud.log" 2>&1 &
	pids+=($!)
	wait_port "$amqtt" 60 || fail "canopy-cloud serve did not listen on $amqtt: $(tail -20 "$tmp/agent-cloud.log")"
	"$CLOUD" device add pkg-agent --data "$tmp/agent-cloud" --broker "tcp://127.0.0.1:$amqtt" --out "$ashare/board" >/dev/null 2>"$tmp/device-add.log" ||
		fail "device add --out: $(cat "$tmp/device-add.log")"
	in_agent chroot "$ova/root" sh -c 'cp -r /run/canopy-test/board/. /etc/canopy/ && chown canopy /etc/canopy/pkg-agent.password' ||
		fail "copying device add's files to /etc/canopy"
	# --select all: a sample plot of ../shared/data may be under the default min_share (SJER: 3% forest).
	run_agent 150 --source /run/canopy-test/frames --select all --once >"$tmp/agent-run.log" 2>&1 ||
		fail "the agent with device add's fragment: $(tail -30 "$tmp/agent-run.log")"
	got=0
	for _ in $(seq 100); do
		got=$(curl -fsS "http://$ahttp/v1/images?device=pkg-agent" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["images"]))' 2>/dev/null || echo 0)
		((got > 0)) && break
		sleep 0.2
	done
	((got > 0)) || fail "the cloud stored nothing from the packaged agent: $(tail -20 "$tmp/agent-run.log")"
	grep -q 'outbox drained' "$tmp/agent-run.log" && ! grep -q 'INSECURE' "$tmp/agent-run.log" ||
		fail "the packaged agent did not drain its outbox on signed receipts: $(tail -20 "$tmp/agent-run.log")"
	log "deb amd64 agent: with /etc/canopy/agent.d/pkg-agent.yaml from device add --out it started as the unit runs it and synced $got item(s), receipts signed"
else
	log "deb amd64 agent: install test SKIPPED (needs root and mount namespaces for an overlay of /)"
fi
agent_s=$(elapsed "$t4")

# ---- 4. the arm64 .deb's binary under qemu -----------------------------------
if [[ $arches == *arm64* ]]; then
	source scripts/lib-arm64.sh
	eval "$(scripts/cross.sh env | grep -E '^export CANOPY_ARM64_(SYSROOT|LIBPATH)=')"
	mkdir -p "$tmp/arm64deb"
	dpkg-deb -x "dist/canopy-cloud_${DEB_VERSION}_arm64.deb" "$tmp/arm64deb"
	out=$(LD_LIBRARY_PATH="$CANOPY_ARM64_LIBPATH" qemu-aarch64-static -L "$CANOPY_ARM64_SYSROOT" "$tmp/arm64deb/usr/bin/canopy-cloud" version) ||
		fail "arm64 .deb version: $out"
	grep -q 'platform  linux/arm64' <<<"$out" && grep -q 'opencv    4\.6\.' <<<"$out" || fail "arm64 .deb version: $out"
	log "deb arm64: canopy-cloud version under qemu: linux/arm64, OpenCV 4.6"
fi

# ---- 5. the OCI images -------------------------------------------------------
t2=$(date +%s.%N)
for arch in $arches; do
	archive=dist/canopy-cloud_${DEB_VERSION}_$arch.oci.tar
	[[ -f $archive ]] || fail "no $archive"
	layout=$tmp/oci-$arch
	mkdir -p "$layout"
	tar -xf "$archive" -C "$layout"
	tag=$(umoci ls --layout "$layout")
	[[ -n $tag ]] || fail "$archive: no tag"
	umoci unpack --image "$layout:$tag" "$tmp/bundle-$arch" >/dev/null
	rootfs=$tmp/bundle-$arch/rootfs
	python3 - "$tmp/bundle-$arch/config.json" "$arch" >"$tmp/process-$arch" <<-'EOF' || fail "$archive: runtime config: $(cat "$tmp/process-$arch")"
		import json, sys
		c = json.load(open(sys.argv[1]))
		p = c["process"]
		assert p["args"] == ["/usr/bin/canopy-cloud", "serve", "--config", "/etc/canopy/cloud.yaml"], p["args"]
		assert (p["user"]["uid"], p["user"]["gid"]) == (10001, 10001), p["user"]
		assert p["cwd"] == "/var/lib/canopy-cloud", p["cwd"]
		assert any(e.startswith("CANOPY_ORT_LIB=") for e in p["env"]), p["env"]
		print(" ".join(p["env"]))
	EOF
	size=$(du -sh "$rootfs" | cut -f1)
	[[ -x $rootfs/usr/bin/canopy-cloud && -f $rootfs/etc/ssl/certs/ca-certificates.crt && -f $rootfs/usr/share/canopy/models/crown-detector.onnx ]] ||
		fail "$archive: root file system lacks the binary, the CA bundle or the model"
	[[ $(stat -c %u:%g "$rootfs/var/lib/canopy-cloud") == 10001:10001 ]] || fail "$archive: /var/lib/canopy-cloud is not the image user's"
	if [[ $arch == arm64 ]]; then
		out=$(qemu-aarch64-static -L "$rootfs" "$rootfs/usr/bin/canopy-cloud" version) || fail "arm64 image version: $out"
		grep -q 'platform  linux/arm64' <<<"$out" || fail "arm64 image version: $out"
		log "image arm64: $tag, root file system $size: canopy-cloud version under qemu with only its libraries: ok"
		continue
	fi
	if ! can_mount; then
		out=$(env -i "$rootfs/lib64/ld-linux-x86-64.so.2" --library-path "$rootfs/lib/x86_64-linux-gnu:$rootfs/usr/lib/x86_64-linux-gnu" "$rootfs/usr/bin/canopy-cloud" version) ||
			fail "image version: $out"
		log "image amd64: version with the root file system's loader and libraries ok; serve SKIPPED (needs root for chroot)"
		continue
	fi
	mkdir -p "$tmp/share-img" && chmod 0777 "$tmp/share-img"
	[[ ! -e $rootfs/bin/sh && ! -e $rootfs/usr/bin/env ]] || fail "$archive: the image has a shell or coreutils: not minimal"
	# in_image CMD...: CMD chrooted in the image's root file system as its
	# user; /proc is there (os.Executable, and so the model, is found through it).
	in_image() { in_root "" "$rootfs" "$tmp/share-img" chroot --userspec=10001:10001 "$rootfs" "$@"; }
	out=$(in_image /usr/bin/canopy-cloud version) || fail "image: canopy-cloud version: $out"
	grep -q 'platform  linux/amd64' <<<"$out" || fail "image version: $out"
	in_image /usr/bin/canopy-cloud token create --scope write --name package-test --data /var/lib/canopy-cloud \
		>"$tmp/img-token" 2>"$tmp/img-token.err" || fail "image: token create: $(cat "$tmp/img-token.err")"
	token=$(tail -1 "$tmp/img-token")
	http=127.0.0.1:$(free_port)
	mqtt=127.0.0.1:$(free_port)
	read -r -a img_env <"$tmp/process-$arch"
	notify_listen "$tmp/share-img/notify.sock" "$tmp/img-notify"
	# The image's own command and environment, with the ports moved to free ones.
	in_root_bg "" "$rootfs" "$tmp/share-img" env -i "${img_env[@]}" NOTIFY_SOCKET=/run/canopy-test/notify.sock \
		"$(command -v chroot)" --userspec=10001:10001 "$rootfs" /usr/bin/canopy-cloud serve --config /etc/canopy/cloud.yaml \
		--http "$http" --mqtt-listen "$mqtt" >"$tmp/img-serve.log" 2>&1
	img_pid=$BG_PID
	wait_for "$tmp/img-notify" 'READY=1' 60 || fail "image serve: no READY=1: $(tail -20 "$tmp/img-serve.log")"
	curl -fsS "http://$http/readyz" >/dev/null || fail "image serve /readyz: $(curl -sS "http://$http/readyz")"
	counted=$(upload_and_count "$http" "$token")
	grep -q '"method": "learned"' <<<"$counted" || fail "the image counted without its model: $counted"
	kill -TERM "$img_pid"
	wait "$img_pid" || fail "image serve exited with $? on SIGTERM: $(tail -20 "$tmp/img-serve.log")"
	log "image amd64: $tag, root file system $size (no shell), version ok; serve (the image's command, as uid 10001) counted $counted"
done
image_s=$(elapsed "$t2")

# ---- 6. the Lambda function and layer ------------------------------------------
t3=$(date +%s.%N)
for arch in $arches; do
	fn=dist/canopy-cloud-lambda_${DEB_VERSION}_$arch.zip
	layer=dist/canopy-onnxruntime-layer_$(cat .cache/onnxruntime/VERSION)_$arch.zip
	mkdir -p "$tmp/fn-$arch" "$tmp/layer-$arch"
	unzip -q "$fn" -d "$tmp/fn-$arch"
	unzip -q "$layer" -d "$tmp/layer-$arch"
	[[ -x $tmp/fn-$arch/bootstrap && -f $tmp/fn-$arch/models/crown-detector.onnx && -f $tmp/layer-$arch/lib/libonnxruntime.so.1 ]] ||
		fail "$fn / $layer: want bootstrap (executable), models/crown-detector.onnx and lib/libonnxruntime.so.1"
	want=x86-64
	[[ $arch == arm64 ]] && want=aarch64
	file -b "$tmp/fn-$arch/bootstrap" | grep -q "ELF 64-bit.*$want" || fail "$fn: bootstrap is $(file -b "$tmp/fn-$arch/bootstrap")"
	objdump=objdump
	[[ $arch == arm64 ]] && objdump=aarch64-linux-gnu-objdump
	glibc=$($objdump -T "$tmp/fn-$arch/bootstrap" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -Vu | tail -1)
	[[ $(printf '%s\n2.34\n' "$glibc" | sort -V | tail -1) == 2.34 ]] || fail "$fn: needs glibc $glibc (provided.al2023 has 2.34)"
	log "lambda $arch: bootstrap ELF $want, needs glibc $glibc at most; function $(du -h "$fn" | cut -f1), layer $(du -h "$layer" | cut -f1)"
done
if [[ -n ${CANOPY_TEST_POSTGRES:-} && -n ${CANOPY_TEST_S3_ENDPOINT:-} ]]; then
	CANOPY_LAMBDA_BOOTSTRAP=$tmp/fn-amd64/bootstrap LD_LIBRARY_PATH=$tmp/layer-amd64/lib CANOPY_ORT_LIB= \
		go test -count=1 -run '^TestLambdaRuntime$' -v ./cloud/cmd/canopy-cloud >"$tmp/lambda.log" 2>&1 ||
		fail "the packaged function: $(tail -40 "$tmp/lambda.log")"
	grep -q 'with learned' "$tmp/lambda.log" || fail "the packaged function did not count with the learned counter: $(grep 'counted' "$tmp/lambda.log")"
	log "lambda amd64: the packaged function with its layer $(grep -o 'counted [0-9]* trees with [a-z]*' "$tmp/lambda.log") through the Runtime API"
else
	log "lambda amd64: Runtime API run SKIPPED (no CANOPY_TEST_POSTGRES / CANOPY_TEST_S3_ENDPOINT: source .cache/test.env)"
fi
lambda_s=$(elapsed "$t3")
log "timings: make package ${build_s}s (cached after the first), debs ${deb_s}s, agent deb ${agent_s}s, images ${image_s}s, lambda ${lambda_s}s, all $(elapsed "$t0")s"
