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
package() {
	deb_version
	local name=canopy-agent_${DEB_VERSION}_linux_arm64 tar
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
	if compgen -G "$AGENT_MODELS.onnx" >/dev/null; then install -m 0644 $AGENT_MODELS.onnx "$tar/share/models/"; fi
	if compgen -G "$AGENT_MODELS.md" >/dev/null; then install -m 0644 $AGENT_MODELS.md "$tar/share/models/"; fi
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

	agent_deb arm64 "$OUT/canopy-agent" "$ORT_LIB" "dist/canopy-agent_${DEB_VERSION}_arm64.deb"
	log "packaged dist/$name.tar.gz and dist/canopy-agent_${DEB_VERSION}_arm64.deb"
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
