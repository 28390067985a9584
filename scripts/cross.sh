#!/usr/bin/env bash
# cross.sh builds the field agent for linux/arm64 with cgo (GoCV against
# Debian 12's OpenCV 4.6 for arm64, ONNX Runtime's arm64 library) and
# packages it. `make cross` calls it.
#
#   scripts/cross.sh           toolchain, sysroot, build, tarball and .deb
#   scripts/cross.sh build     toolchain, sysroot and build only
#   scripts/cross.sh env       print the environment the build uses (to source)
#
# Outputs: bin/linux-arm64/canopy-agent (+ libonnxruntime.so.1 beside it),
# dist/canopy-agent_<version>_linux_arm64.tar.gz and
# dist/canopy-agent_<version>_arm64.deb.
#
# The toolchain and the arm64 sysroot (why a sysroot and not
# libopencv-dev:arm64: scripts/lib-arm64.sh) are shared with package.sh,
# which builds canopy-cloud the same way; so are the package version and
# Depends (scripts/lib-deb.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source scripts/lib-arm64.sh
source scripts/lib-deb.sh

mode=${1:-all}
OUT=bin/linux-arm64
ORT_LIB=$ORT_LIB_ARM64
TAGS=${TAGS:-opencv,onnx}
# The models the agent uses (the crown detector is the cloud's).
MODELS='models/treecover-seg*'

build() {
	arm64_env
	deb_version
	log "go build linux/arm64 ($TAGS) version $VERSION"
	mkdir -p "$OUT"
	go build -tags "$TAGS" -ldflags "$(go_ldflags)" -o "$OUT/canopy-agent" ./agent/cmd/canopy-agent
	cp -f "$ORT_LIB" "$OUT/"
	log "built $OUT/canopy-agent ($(du -h "$OUT/canopy-agent" | cut -f1))"
}

# ---- package ---------------------------------------------------------------
# agent_config writes /etc/canopy/agent.yaml for models installed in $1.
agent_config() {
	local line='  model: ""   # no model shipped: the classical segmenter'
	if [[ -f models/treecover-seg.onnx ]]; then line="  model: $1/treecover-seg.onnx"; fi
	sed "s|@MODEL_LINE@|$line|" boards/deb/agent.yaml.in
}

package() {
	deb_version
	local name=canopy-agent_${DEB_VERSION}_linux_arm64 tar deb
	STAGE=$(mktemp -d)
	trap 'rm -rf "$STAGE"' EXIT
	local stage=$STAGE
	mkdir -p dist

	# Tarball: one folder, meant for /opt/canopy; the library sits in
	# ../lib beside the binary, where internal/ortenv finds it on its own.
	tar=$stage/$name
	mkdir -p "$tar/bin" "$tar/lib" "$tar/share/models" "$tar/share/boards" "$tar/etc" "$tar/systemd"
	install -m 0755 "$OUT/canopy-agent" "$tar/bin/"
	install -m 0644 "$ORT_LIB" "$tar/lib/"
	if compgen -G "$MODELS.onnx" >/dev/null; then install -m 0644 $MODELS.onnx "$tar/share/models/"; fi
	if compgen -G "$MODELS.md" >/dev/null; then install -m 0644 $MODELS.md "$tar/share/models/"; fi
	install -m 0644 boards/profiles/*.yaml "$tar/share/boards/"
	agent_config /opt/canopy/share/models >"$tar/etc/agent.yaml"
	if [[ -f agent/canopy-agent.example.yaml ]]; then install -m 0644 agent/canopy-agent.example.yaml "$tar/etc/agent.example.yaml"; fi
	install -m 0644 boards/systemd/canopy-agent.service boards/systemd/jetson.conf "$tar/systemd/"
	cat >"$tar/systemd/opt.conf" <<-'EOF'
		# Drop-in for the tarball installed in /opt/canopy: install as
		#   /etc/systemd/system/canopy-agent.service.d/opt.conf
		[Service]
		ExecStart=
		ExecStart=/opt/canopy/bin/canopy-agent run --config /etc/canopy/agent.yaml
		Environment=CANOPY_ORT_LIB=/opt/canopy/lib/libonnxruntime.so.1
	EOF
	if [[ -f docs/deploy.md ]]; then install -m 0644 docs/deploy.md "$tar/"; fi
	tar -C "$stage" --owner=0 --group=0 --sort=name -czf "dist/$name.tar.gz" "$name"

	# Debian package.
	deb=$stage/deb
	mkdir -p "$deb/DEBIAN" "$deb/usr/bin" "$deb/usr/lib/canopy" "$deb/usr/share/canopy/models" \
		"$deb/usr/share/canopy/boards" "$deb/usr/share/canopy/systemd" "$deb/etc/canopy" \
		"$deb/lib/systemd/system" "$deb/usr/share/doc/canopy-agent"
	install -m 0755 "$OUT/canopy-agent" "$deb/usr/bin/"
	install -m 0644 "$ORT_LIB" "$deb/usr/lib/canopy/"
	if compgen -G "$MODELS.onnx" >/dev/null; then install -m 0644 $MODELS.onnx "$deb/usr/share/canopy/models/"; fi
	if compgen -G "$MODELS.md" >/dev/null; then install -m 0644 $MODELS.md "$deb/usr/share/canopy/models/"; fi
	install -m 0644 boards/profiles/*.yaml "$deb/usr/share/canopy/boards/"
	install -m 0644 boards/systemd/canopy-agent.service "$deb/lib/systemd/system/"
	install -m 0644 boards/systemd/jetson.conf "$deb/usr/share/canopy/systemd/"
	agent_config /usr/share/canopy/models >"$deb/etc/canopy/agent.yaml"
	if [[ -f agent/canopy-agent.example.yaml ]]; then
		install -m 0644 agent/canopy-agent.example.yaml "$deb/usr/share/doc/canopy-agent/agent.example.yaml"
	fi
	chmod 0640 "$deb/etc/canopy/agent.yaml"
	if [[ -f docs/deploy.md ]]; then install -m 0644 docs/deploy.md "$deb/usr/share/doc/canopy-agent/"; fi
	install -m 0644 boards/deb/copyright "$deb/usr/share/doc/canopy-agent/"
	install -m 0644 boards/deb/conffiles "$deb/DEBIAN/"
	install -m 0755 boards/deb/postinst boards/deb/prerm boards/deb/postrm "$deb/DEBIAN/"
	local depends size
	depends=$(deb_depends arm64 "$OUT/canopy-agent" "$ORT_LIB")
	# libopencv_videoio is opened with dlopen beside libopencv_core when a
	# video source is opened (internal/cvvideo): not NEEDED, still needed.
	local videoio
	if videoio=$(sysroot_dep 'libopencv_videoio\.so\.[0-9.]+'); then
		depends+=", $videoio"
	fi
	size=$(du -sk --exclude=DEBIAN "$deb" | cut -f1)
	sed -e "s|@VERSION@|$DEB_VERSION|" -e "s|@DEPENDS@|$depends|" -e "s|@SIZE@|$size|" \
		boards/deb/control.in >"$deb/DEBIAN/control"
	deb_build "$deb" "dist/canopy-agent_${DEB_VERSION}_arm64.deb"
	log "packaged dist/$name.tar.gz and dist/canopy-agent_${DEB_VERSION}_arm64.deb"
	log "Depends: $depends"
}

case "$mode" in
all)
	arm64_toolchain
	arm64_sysroot
	build
	package
	;;
build)
	arm64_toolchain
	arm64_sysroot
	build
	;;
env) arm64_env_print ;;
*) die "usage: scripts/cross.sh [all|build|env]" ;;
esac
