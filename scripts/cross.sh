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
# The arm64 OpenCV libraries live in a sysroot (.cache/sysroot-arm64), built
# from Debian's arm64 packages with `apt-get download` + `dpkg-deb -x`, NOT
# installed with `apt-get install libopencv-dev:arm64`: in Debian 12 that
# install conflicts with the host's libopencv-dev (and, through gdal/vtk,
# with python3-torch), so apt removes the amd64 OpenCV and breaks the native
# build. Only the cross compiler and qemu-user-static are installed (they
# conflict with nothing). The sysroot also serves qemu (-L) and yields the
# .deb's Depends (soname -> Debian package).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

mode=${1:-all}
TRIPLET=aarch64-linux-gnu
SYSROOT=$PWD/.cache/sysroot-arm64
DEBS=$PWD/.cache/debs-arm64
OUT=bin/linux-arm64
ORT_LIB=.cache/onnxruntime/linux-arm64/libonnxruntime.so.1
TAGS=${TAGS:-opencv,onnx}
# The models the agent uses (the crown detector is the cloud's).
MODELS='models/treecover-seg*'

# ---- toolchain -------------------------------------------------------------
toolchain() {
	apt_install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user-static pkg-config
	[[ -f $ORT_LIB ]] || scripts/deps.sh
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		log "adding the arm64 architecture to dpkg (package lists only; nothing arm64 is installed)"
		as_root dpkg --add-architecture arm64
	fi
	if ! apt-cache show libopencv-dev:arm64 >/dev/null 2>&1; then
		log "apt-get update (arm64 package lists)"
		as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
	fi
}

# ---- sysroot ---------------------------------------------------------------
# The arm64 packages libopencv-dev needs, without the arch-all data packages.
sysroot_packages() {
	apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances libopencv-dev:arm64 |
		grep -v '^ ' | grep -v '^<' | grep ':arm64$' | sort -u
}

sysroot() {
	local pkgs stamp
	pkgs=$(sysroot_packages)
	stamp=$(sha256sum <<<"$pkgs" | cut -c1-16)
	if [[ -f $SYSROOT/.ready && $(cat "$SYSROOT/.ready") == "$stamp" ]]; then
		return 0
	fi
	log "building the arm64 sysroot from $(wc -l <<<"$pkgs") Debian packages (download about 260 MB, once)"
	mkdir -p "$DEBS"
	# apt-get download skips nothing it already has only by name, so fetch the missing ones.
	local missing=() p
	for p in $pkgs; do
		compgen -G "$DEBS/${p%:arm64}_*_arm64.deb" >/dev/null || missing+=("$p")
	done
	if ((${#missing[@]})); then
		(cd "$DEBS" && apt-get download -qq "${missing[@]}" 2>&1 | grep -v 'unsandboxed as root' || true)
	fi
	rm -rf "$SYSROOT"
	mkdir -p "$SYSROOT/.pkgs"
	local deb
	for p in $pkgs; do
		deb=$(compgen -G "$DEBS/${p%:arm64}_*_arm64.deb" | sort -V | tail -1) ||
			die "sysroot: no .deb for $p in $DEBS (apt-get download failed?)"
		printf '%s\n' "$deb"
	done | xargs -P 2 -I{} sh -c '
		set -e
		deb=$1; root=$2
		name=$(dpkg-deb -f "$deb" Package); ver=$(dpkg-deb -f "$deb" Version)
		dpkg-deb -x "$deb" "$root"
		dpkg-deb -c "$deb" | awk "{print \$6}" | sed "s|^\./|/|" >"$root/.pkgs/$name.list"
		echo "$ver" >"$root/.pkgs/$name.version"
	' _ {} "$SYSROOT"
	# Absolute symlinks would point into the host's /; make them relative.
	local l target
	while IFS= read -r l; do
		target=$(readlink "$l")
		ln -sfn "$(realpath -m --relative-to="$(dirname "$l")" "$SYSROOT$target")" "$l"
	done < <(find "$SYSROOT" -type l -lname '/*')
	# Debian's alternatives (libblas.so.3, liblapack.so.3) are made by
	# postinst scripts, which do not run here: every folder holding a shared
	# library goes on the search paths instead. The folders are recorded
	# relative to the sysroot ("/usr/lib/aarch64-linux-gnu"), so that a
	# checkout moved elsewhere (or sharing .cache through a symlink) still
	# finds them.
	(cd "$SYSROOT" && find . -name '*.so*' \( -type f -o -type l \) -printf '%h\n') |
		sed -n 's|^\./|/|p' | sort -u >"$SYSROOT/.libdirs"
	echo "$stamp" >"$SYSROOT/.ready"
	log "sysroot ready: $SYSROOT ($(du -sh "$SYSROOT" | cut -f1))"
}

# ---- build -----------------------------------------------------------------
# libdirs prints the sysroot's library folders relative to it. A sysroot
# made before they were recorded that way lists absolute folders of the
# checkout that made it (/work/main/.cache/sysroot-arm64/usr/lib/...):
# whatever comes before the sysroot's own name is dropped, wherever the
# sysroot is now.
libdirs() {
	sed -e "s|^.*/${SYSROOT##*/}/|/|" "$SYSROOT/.libdirs" | grep '^/' | sort -u
}

build_env() {
	local dirs rpath="" d
	dirs=$(libdirs)
	for d in $dirs; do rpath+=" -Wl,-rpath-link,$SYSROOT$d"; done
	export CGO_ENABLED=1 GOOS=linux GOARCH=arm64
	export CC=$TRIPLET-gcc CXX=$TRIPLET-g++
	# Headers of the multiarch folder (jconfig.h of libjpeg-turbo, which
	# libjpeg.pc does not name): searched after the cross compiler's own.
	export CGO_CFLAGS="-O2 -g -idirafter $SYSROOT/usr/include/$TRIPLET"
	export CGO_CXXFLAGS="$CGO_CFLAGS"
	export PKG_CONFIG_SYSROOT_DIR=$SYSROOT
	export PKG_CONFIG_LIBDIR=$SYSROOT/usr/lib/$TRIPLET/pkgconfig:$SYSROOT/usr/share/pkgconfig
	# --as-needed: NEEDED (and so the .deb's Depends) lists only the OpenCV
	# modules the agent calls, not all of opencv4.pc.
	export CGO_LDFLAGS="-Wl,--as-needed -Wl,--sysroot=$SYSROOT -L$SYSROOT/usr/lib/$TRIPLET$rpath"
	# For qemu-aarch64-static -L "$SYSROOT": the loader searches these.
	export CANOPY_ARM64_SYSROOT=$SYSROOT
	CANOPY_ARM64_LIBPATH=$(paste -sd: <<<"$dirs")
	export CANOPY_ARM64_LIBPATH
}

version() {
	VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
	COMMIT=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
	# A Debian-valid version: 1.2.3 (tag v1.2.3), 1.2.3+git4.abc1234 (4
	# commits later), 0.0.0~git20261123.abc1234 (no tag); +dirty for a tree
	# with uncommitted changes.
	local tag desc n date dirty=""
	git diff --quiet HEAD -- 2>/dev/null || dirty="+dirty"
	if tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null); then
		n=$(git rev-list --count "$tag..HEAD")
		desc=${tag#v}
		desc=${desc//-/\~}
		if ((n > 0)); then desc+="+git$n.$COMMIT"; fi
	else
		date=$(git log -1 --format=%cd --date=format:%Y%m%d 2>/dev/null || date -u +%Y%m%d)
		desc="0.0.0~git$date.$COMMIT"
	fi
	DEB_VERSION=${DEB_VERSION:-$desc$dirty}
}

build() {
	build_env
	version
	log "go build linux/arm64 ($TAGS) version $VERSION"
	mkdir -p "$OUT"
	go build -tags "$TAGS" \
		-ldflags "-X github.com/canopy-forest/canopy/internal/version.Version=$VERSION -X github.com/canopy-forest/canopy/internal/version.Commit=$COMMIT" \
		-o "$OUT/canopy-agent" ./agent/cmd/canopy-agent
	cp -f "$ORT_LIB" "$OUT/"
	log "built $OUT/canopy-agent ($(du -h "$OUT/canopy-agent" | cut -f1))"
}

# ---- package ---------------------------------------------------------------
# debian_depends maps the binary's NEEDED sonames to the sysroot's packages,
# and libopencv_videoio, which the agent opens with dlopen beside
# libopencv_core when a video source is opened (internal/cvvideo).
debian_depends() {
	local so pkg ver deps=() needed
	needed=$($TRIPLET-readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
	needed+=" $(sed -n 's/^libopencv_core\(\.so\..*\)$/libopencv_videoio\1/p' <<<"$needed")"
	for so in $needed; do
		pkg=$(grep -l -E "/$TRIPLET/$(sed 's/[.+]/\\&/g' <<<"$so")\$" "$SYSROOT"/.pkgs/*.list | head -1) ||
			die "no arm64 package ships $so (NEEDED by $1)"
		pkg=$(basename "$pkg" .list)
		ver=$(cat "$SYSROOT/.pkgs/$pkg.version")
		ver=${ver#*:}  # epoch
		ver=${ver%-*}  # Debian revision: any rebuild of the same upstream will do
		deps+=("$pkg (>= $ver)")
	done
	printf '%s\n' "${deps[@]}" | sort -u | paste -sd, | sed 's/,/, /g'
}

# agent_config writes /etc/canopy/agent.yaml for models installed in $1.
agent_config() {
	local line='  model: ""   # no model shipped: the classical segmenter'
	if [[ -f models/treecover-seg.onnx ]]; then line="  model: $1/treecover-seg.onnx"; fi
	sed "s|@MODEL_LINE@|$line|" boards/deb/agent.yaml.in
}

package() {
	version
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
	depends=$(debian_depends "$OUT/canopy-agent")
	size=$(du -sk --exclude=DEBIAN "$deb" | cut -f1)
	sed -e "s|@VERSION@|$DEB_VERSION|" -e "s|@DEPENDS@|$depends|" -e "s|@SIZE@|$size|" \
		boards/deb/control.in >"$deb/DEBIAN/control"
	dpkg-deb --root-owner-group -Zxz --build "$deb" "dist/canopy-agent_${DEB_VERSION}_arm64.deb" >/dev/null
	log "packaged dist/$name.tar.gz and dist/canopy-agent_${DEB_VERSION}_arm64.deb"
	log "Depends: $depends"
}

case "$mode" in
all)
	toolchain
	sysroot
	build
	package
	;;
build)
	toolchain
	sysroot
	build
	;;
env)
	build_env
	declare -p CGO_ENABLED GOOS GOARCH CC CXX CGO_CFLAGS CGO_CXXFLAGS PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR CGO_LDFLAGS CANOPY_ARM64_SYSROOT CANOPY_ARM64_LIBPATH | sed 's/^declare -x /export /'
	;;
*) die "usage: scripts/cross.sh [all|build|env]" ;;
esac
