# lib-deb.sh: versions and Depends of the Debian packages, shared by
# cross.sh (the agent) and package.sh (the cloud). Source it after lib.sh
# (and lib-arm64.sh for arm64 packages), from the repository root.

# deb_version sets VERSION and COMMIT (as `make build` stamps the binary)
# and DEB_VERSION, a Debian-valid version: 1.2.3 (tag v1.2.3),
# 1.2.3+git4.abc1234 (4 commits later), 0.0.0~git20261123.abc1234 (no tag);
# +dirty for a tree with uncommitted changes.
deb_version() {
	VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
	COMMIT=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
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

# go_ldflags are the -ldflags that stamp VERSION and COMMIT (deb_version).
go_ldflags() {
	echo "-X github.com/canopy-forest/canopy/internal/version.Version=$VERSION -X github.com/canopy-forest/canopy/internal/version.Commit=$COMMIT"
}

# deb_depends ARCH FILE... maps the NEEDED sonames of the ELF files to the
# Debian packages that ship them: "pkg (>= upstream version), ...". For
# arm64 (on an amd64 machine) from the sysroot's file lists (lib-arm64.sh);
# for the machine's own architecture from its dpkg database, in one query.
deb_depends() {
	local arch=$1 readelf=readelf cross="" so sos pkg dep map="" multiarch deps=()
	shift
	if [[ $arch == arm64 && $(dpkg --print-architecture) != arm64 ]]; then
		cross=1
		readelf=$TRIPLET-readelf
	fi
	sos=$($readelf -d "$@" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u)
	if [[ -z $cross ]]; then
		multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
		map=$(dpkg -S $(sed "s|^|$multiarch/|" <<<"$sos") 2>/dev/null || true)
	fi
	for so in $sos; do
		if [[ -n $cross ]]; then
			dep=$(sysroot_dep "$(sed 's/[.+]/\\&/g' <<<"$so")") ||
				die "no $arch package ships $so (NEEDED by $*)"
		else
			pkg=$(grep -E "^[^ ]+: /.*/$multiarch/$(sed 's/[.+]/\\&/g' <<<"$so")\$" <<<"$map" | head -1 | cut -d: -f1)
			[[ -n $pkg ]] || die "no $arch package ships $so (NEEDED by $*)"
			dep=$(deb_dep "$pkg" "$(dpkg-query -W -f '${Version}' "$pkg:$arch" 2>/dev/null || dpkg-query -W -f '${Version}' "$pkg")")
		fi
		deps+=("$dep")
	done
	printf '%s\n' "${deps[@]}" | sort -u | paste -sd, | sed 's/,/, /g'
}

# sysroot_dep REGEX prints deb_dep of the arm64 sysroot's package
# (lib-arm64.sh) that ships a file /$TRIPLET/REGEX, or fails when none does.
sysroot_dep() {
	local list pkg
	list=$(grep -l -E "/$TRIPLET/$1\$" "$SYSROOT"/.pkgs/*.list | head -1) || return 1
	pkg=$(basename "$list" .list)
	deb_dep "$pkg" "$(cat "$SYSROOT/.pkgs/$pkg.version")"
}

# deb_dep PKG VERSION prints "PKG (>= UPSTREAM)", VERSION without its epoch
# and Debian revision: any rebuild of the same upstream will do.
deb_dep() {
	local ver=${2#*:}
	echo "$1 (>= ${ver%-*})"
}

# deb_build STAGE OUT writes the package in STAGE (with DEBIAN/) to OUT,
# compressed with $DEB_COMPRESSION (default xz; zstd needs dpkg 1.21.18,
# Debian 12, to install, and packs 80 MB in 2 s rather than 4 minutes).
deb_build() {
	dpkg-deb --root-owner-group "-Z${DEB_COMPRESSION:-xz}" --build "$1" "$2" >/dev/null
}

# The models the agent ships (the crown detector is the cloud's).
AGENT_MODELS='models/treecover-seg*'

# agent_config writes /etc/canopy/agent.yaml for models installed in $1.
agent_config() {
	local line='  model: ""   # no model shipped: the classical segmenter'
	if [[ -f models/treecover-seg.onnx ]]; then line="  model: $1/treecover-seg.onnx"; fi
	sed "s|@MODEL_LINE@|$line|" boards/deb/agent.yaml.in
}

# agent_deb ARCH BINARY ORT_LIB OUT packages the agent BINARY (built for
# ARCH) with ONNX Runtime ORT_LIB, the models, the board profiles, the
# hardened unit and /etc/canopy/agent.yaml as the Debian package OUT.
# cross.sh packages the arm64 build, package.sh the amd64 one (make build's).
agent_deb() {
	local arch=$1 bin=$2 ort=$3 out=$4 deb depends size videoio
	deb=$(mktemp -d)
	mkdir -p "$deb/DEBIAN" "$deb/usr/bin" "$deb/usr/lib/canopy" "$deb/usr/share/canopy/models" \
		"$deb/usr/share/canopy/boards" "$deb/usr/share/canopy/systemd" "$deb/etc/canopy" \
		"$deb/lib/systemd/system" "$deb/usr/share/doc/canopy-agent"
	install -m 0755 "$bin" "$deb/usr/bin/canopy-agent"
	install -m 0644 "$ort" "$deb/usr/lib/canopy/"
	if compgen -G "$AGENT_MODELS.onnx" >/dev/null; then install -m 0644 $AGENT_MODELS.onnx "$deb/usr/share/canopy/models/"; fi
	if compgen -G "$AGENT_MODELS.md" >/dev/null; then install -m 0644 $AGENT_MODELS.md "$deb/usr/share/canopy/models/"; fi
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
	depends=$(deb_depends "$arch" "$bin" "$ort")
	# libopencv_videoio is opened with dlopen beside libopencv_core when a
	# video source is opened (internal/cvvideo): not NEEDED, still needed.
	if [[ $arch == arm64 && $(dpkg --print-architecture) != arm64 ]]; then
		videoio=$(sysroot_dep 'libopencv_videoio\.so\.[0-9.]+') || videoio=
	else
		videoio=$(native_dep 'libopencv_videoio\.so\.[0-9.]+') || videoio=
	fi
	if [[ -n $videoio ]]; then depends+=", $videoio"; fi
	size=$(du -sk --exclude=DEBIAN "$deb" | cut -f1)
	sed -e "s|@VERSION@|$DEB_VERSION|" -e "s|@ARCH@|$arch|" -e "s|@DEPENDS@|$depends|" -e "s|@SIZE@|$size|" \
		boards/deb/control.in >"$deb/DEBIAN/control"
	deb_build "$deb" "$out"
	rm -rf "$deb"
	log "packaged $out; Depends: $depends"
}

# native_dep REGEX prints deb_dep of this machine's package that ships a
# library /usr/lib/<multiarch>/REGEX, or fails when none does.
native_dep() {
	local multiarch file pkg
	multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
	file=$(find "/usr/lib/$multiarch" -maxdepth 1 -regextype posix-extended -regex ".*/$1" | head -1)
	[[ -n $file ]] || return 1
	pkg=$(dpkg -S "$file" 2>/dev/null | head -1 | cut -d: -f1)
	[[ -n $pkg ]] || return 1
	deb_dep "$pkg" "$(dpkg-query -W -f '${Version}' "$pkg")"
}
