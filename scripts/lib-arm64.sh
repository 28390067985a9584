# lib-arm64.sh: the linux/arm64 cgo toolchain, shared by cross.sh (the
# agent) and package.sh (the cloud). Source it after lib.sh, from the
# repository root.
#
# The arm64 OpenCV libraries live in a sysroot (.cache/sysroot-arm64), built
# from Debian's arm64 packages with `apt-get download` + `dpkg-deb -x`, NOT
# installed with `apt-get install libopencv-dev:arm64`: in Debian 12 that
# install conflicts with the host's libopencv-dev (and, through gdal/vtk,
# with python3-torch), so apt removes the amd64 OpenCV and breaks the native
# build. Only the cross compiler and qemu-user-static are installed (they
# conflict with nothing). The sysroot also serves qemu (-L) and yields the
# .debs' Depends (soname -> Debian package, lib-deb.sh).

TRIPLET=aarch64-linux-gnu
SYSROOT=$PWD/.cache/sysroot-arm64
DEBS=$PWD/.cache/debs-arm64
ORT_LIB_ARM64=.cache/onnxruntime/linux-arm64/libonnxruntime.so.1

# arm64_toolchain installs the cross compiler and qemu, and adds the arm64
# package lists (nothing arm64 is installed).
arm64_toolchain() {
	apt_install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user-static pkg-config
	[[ -f $ORT_LIB_ARM64 ]] || scripts/deps.sh
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		log "adding the arm64 architecture to dpkg (package lists only; nothing arm64 is installed)"
		as_root dpkg --add-architecture arm64
	fi
	if ! apt-cache show libopencv-dev:arm64 >/dev/null 2>&1; then
		log "apt-get update (arm64 package lists)"
		as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
	fi
}

# The arm64 packages libopencv-dev needs, without the arch-all data packages.
arm64_sysroot_packages() {
	apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances libopencv-dev:arm64 |
		grep -v '^ ' | grep -v '^<' | grep ':arm64$' | sort -u
}

# arm64_sysroot builds $SYSROOT once (again when the package set changes).
# A lock keeps two builds (make cross, make package, in worktrees sharing
# .cache) from building it at once.
arm64_sysroot() {
	local pkgs stamp lock
	pkgs=$(arm64_sysroot_packages)
	stamp=$(sha256sum <<<"$pkgs" | cut -c1-16)
	mkdir -p "$(dirname "$SYSROOT")"
	exec {lock}>"$SYSROOT.lock"
	flock "$lock"
	if [[ -f $SYSROOT/.ready && $(cat "$SYSROOT/.ready") == "$stamp" ]]; then
		exec {lock}>&-
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
	# library goes on the search paths instead.
	# Recorded relative to the sysroot ("/usr/lib/aarch64-linux-gnu"), so
	# that a checkout moved elsewhere (or sharing .cache through a symlink)
	# still finds them.
	(cd "$SYSROOT" && find . -name '*.so*' \( -type f -o -type l \) -printf '%h\n') |
		sed -n 's|^\./|/|p' | sort -u >"$SYSROOT/.libdirs"
	echo "$stamp" >"$SYSROOT/.ready"
	exec {lock}>&-
	log "sysroot ready: $SYSROOT ($(du -sh "$SYSROOT" | cut -f1))"
}

# arm64_libdirs prints the sysroot's library folders relative to it. A
# sysroot made before they were recorded that way lists absolute folders of
# the checkout that made it (/work/main/.cache/sysroot-arm64/usr/lib/...):
# whatever comes before the sysroot's own name is dropped, wherever the
# sysroot is now.
arm64_libdirs() {
	sed -e "s|^.*/${SYSROOT##*/}/|/|" "$SYSROOT/.libdirs" | grep '^/' | sort -u
}

# arm64_env exports the environment of a cgo build against the sysroot
# (GoCV and ONNX Runtime), and the paths qemu needs to run the result.
arm64_env() {
	local dirs rpath="" d
	dirs=$(arm64_libdirs)
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
	# modules the binary calls, not all of opencv4.pc.
	export CGO_LDFLAGS="-Wl,--as-needed -Wl,--sysroot=$SYSROOT -L$SYSROOT/usr/lib/$TRIPLET$rpath"
	# For qemu-aarch64-static -L "$SYSROOT": the loader searches these.
	export CANOPY_ARM64_SYSROOT=$SYSROOT
	CANOPY_ARM64_LIBPATH=$(paste -sd: <<<"$dirs")
	export CANOPY_ARM64_LIBPATH
}

# arm64_env_print prints arm64_env's environment, to source.
arm64_env_print() {
	arm64_env
	declare -p CGO_ENABLED GOOS GOARCH CC CXX CGO_CFLAGS CGO_CXXFLAGS PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR CGO_LDFLAGS CANOPY_ARM64_SYSROOT CANOPY_ARM64_LIBPATH | sed 's/^declare -x /export /'
}
