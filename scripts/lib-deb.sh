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
