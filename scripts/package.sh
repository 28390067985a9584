#!/usr/bin/env bash
# package.sh builds canopy-cloud for linux/amd64 and linux/arm64 and
# packages it for the ways it runs as a service. `make package` calls it.
#
#   scripts/package.sh           all of the below
#   scripts/package.sh debs      the Debian packages
#   scripts/package.sh image     the OCI image archives
#   scripts/package.sh lambda    the AWS Lambda function and layer
#   scripts/package.sh agent     the agent's amd64 Debian package (the
#                                arm64 one: scripts/cross.sh)
#
# CANOPY_PACKAGE_ARCHES (default "amd64 arm64") picks the architectures,
# CANOPY_PACKAGE_TAGS (default opencv,onnx) the .debs' build tags.
# Outputs, in dist/ (VERSION: lib-deb.sh's deb_version):
#
#   canopy-cloud_VERSION_ARCH.deb        serve as a systemd service: the
#       full build (tags opencv,onnx), ONNX Runtime, the crown detector,
#       /etc/canopy/cloud.yaml and the hardened unit of cloud/deploy;
#       Depends computed from the NEEDED libraries, like the agent's
#   canopy-cloud_VERSION_ARCH.oci.tar    an OCI image archive (oci-archive
#       transport of skopeo and podman): a minimal Debian 12 root file
#       system (libc, libstdc++, CA certificates; built with mmdebstrap,
#       cached in .cache/package) and canopy-cloud with ONNX Runtime and
#       the model, packed with umoci; no Docker daemon
#   canopy-cloud-lambda_VERSION_ARCH.zip the Lambda function
#       (provided.al2023): bootstrap and models/crown-detector.onnx
#   canopy-onnxruntime-layer_ORTVERSION_ARCH.zip  the Lambda layer:
#       lib/libonnxruntime.so.1 (/opt/lib in the function)
#   canopy-agent_VERSION_amd64.deb       the field agent for x86 boards and
#       dev boxes, packaged as cross.sh packages the arm64 one (amd64 only)
#   SHA256SUMS
#
# The image and the Lambda function run the "slim" build (tag onnx only, no
# OpenCV: the learned counter; it needs nothing beyond glibc 2.34, the
# libc of provided.al2023). The arm64 builds reuse cross.sh's toolchain and
# sysroot (lib-arm64.sh).
set -euo pipefail
umask 022
cd "$(dirname "$0")/.."
source scripts/lib.sh
source scripts/lib-arm64.sh
source scripts/lib-deb.sh

mode=${1:-all}
ARCHES=${CANOPY_PACKAGE_ARCHES:-amd64 arm64}
# Build tags of the .debs' binary (the full build) and of the image's and
# the Lambda function's (the slim one).
FULL_TAGS=${CANOPY_PACKAGE_TAGS:-opencv,onnx}
# amd64 also gets PROJ (GeoTIFFs in any CRS placed on the map), as make
# build builds it; the arm64 sysroot has no libproj-dev, so the arm64
# package places only rasters in WGS 84 degrees (cloud/geo.ErrNoPROJ).
FULL_TAGS_AMD64=${CANOPY_PACKAGE_TAGS:-opencv,onnx,proj}
SLIM_TAGS=onnx
ORT_VERSION=$(cat .cache/onnxruntime/VERSION 2>/dev/null || echo unknown)
MODEL=models/crown-detector
IMAGE_UID=10001 # the image's canopy-cloud user and group
# The Debian 12 packages of the image's root file system (and their
# dependencies: gcc-12-base, libgcc-s1).
IMAGE_PACKAGES=(base-files netbase libc6 libstdc++6)
IMAGE_MIRRORS=(
	"deb http://deb.debian.org/debian bookworm main"
	"deb http://deb.debian.org/debian bookworm-updates main"
	"deb http://deb.debian.org/debian-security bookworm-security main"
)
# The cached base root file system is built again after this many days, to
# take Debian's security updates.
IMAGE_BASE_MAX_DAYS=${CANOPY_IMAGE_BASE_MAX_DAYS:-7}
CACHE=$PWD/.cache/package
# zstd: the .deb installs on Debian 12 (dpkg >= 1.21.18), 6 MB larger than
# with xz but packed in seconds instead of minutes.
DEB_COMPRESSION=${CANOPY_DEB_COMPRESSION:-zstd}

# ---- builds -----------------------------------------------------------------
# full ARCH builds bin/linux-ARCH/canopy-cloud with GoCV and ONNX Runtime.
full() {
	local arch=$1 out=bin/linux-$1
	mkdir -p "$out"
	log "go build canopy-cloud linux/$arch ($FULL_TAGS) version $VERSION"
	if [[ $arch == amd64 ]]; then
		# As `make build` builds it, so that its build cache serves.
		CGO_ENABLED=1 GOARCH=amd64 go build -tags "$FULL_TAGS_AMD64" -ldflags "$(go_ldflags)" -o "$out/canopy-cloud" ./cloud/cmd/canopy-cloud
	else
		(arm64_env && go build -tags "$FULL_TAGS" -ldflags "$(go_ldflags)" -o "$out/canopy-cloud" ./cloud/cmd/canopy-cloud)
	fi
}

# slim ARCH builds bin/linux-ARCH/slim/canopy-cloud with ONNX Runtime only.
slim() {
	local arch=$1 out=bin/linux-$1/slim cc=gcc
	[[ $arch == arm64 ]] && cc=$TRIPLET-gcc
	mkdir -p "$out"
	log "go build canopy-cloud linux/$arch ($SLIM_TAGS) version $VERSION"
	env -u CGO_LDFLAGS -u PKG_CONFIG_LIBDIR -u PKG_CONFIG_SYSROOT_DIR CGO_ENABLED=1 GOOS=linux GOARCH="$arch" CC="$cc" \
		go build -tags "$SLIM_TAGS" -ldflags "$(go_ldflags)" -o "$out/canopy-cloud" ./cloud/cmd/canopy-cloud
	local glibc
	glibc=$(max_glibc "$arch" "$out/canopy-cloud")
	# provided.al2023 has glibc 2.34.
	[[ $(printf '%s\n2.34\n' "$glibc" | sort -V | tail -1) == 2.34 ]] ||
		die "$out/canopy-cloud needs glibc $glibc; AWS Lambda's provided.al2023 has 2.34"
}

# max_glibc ARCH FILE prints the newest GLIBC_x.y symbol version FILE needs.
max_glibc() {
	local objdump=objdump
	[[ $1 == arm64 && $(dpkg --print-architecture) != arm64 ]] && objdump=$TRIPLET-objdump
	$objdump -T "$2" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -Vu | tail -1
}

ort_lib() { echo ".cache/onnxruntime/linux-$1/libonnxruntime.so.1"; }

# agent_amd64 builds bin/linux-amd64/canopy-agent (as make build does, so
# that its build cache serves) and packages it.
agent_amd64() {
	local out=bin/linux-amd64
	mkdir -p "$out"
	log "go build canopy-agent linux/amd64 ($FULL_TAGS_AMD64) version $VERSION"
	CGO_ENABLED=1 GOARCH=amd64 go build -tags "$FULL_TAGS_AMD64" -ldflags "$(go_ldflags)" -o "$out/canopy-agent" ./agent/cmd/canopy-agent
	agent_deb amd64 "$out/canopy-agent" "$(ort_lib amd64)" "dist/canopy-agent_${DEB_VERSION}_amd64.deb"
}

# ---- Debian package ---------------------------------------------------------
deb() {
	local arch=$1 stage depends size out
	stage=$STAGE/deb-$arch
	out=dist/canopy-cloud_${DEB_VERSION}_$arch.deb
	mkdir -p "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/lib/canopy-cloud" "$stage/usr/share/canopy/models" \
		"$stage/etc/canopy" "$stage/lib/systemd/system" "$stage/usr/share/doc/canopy-cloud"
	install -m 0755 "bin/linux-$arch/canopy-cloud" "$stage/usr/bin/"
	install -m 0644 "$(ort_lib "$arch")" "$stage/usr/lib/canopy-cloud/"
	install -m 0644 "$MODEL.onnx" "$MODEL.md" "$stage/usr/share/canopy/models/"
	install -m 0640 cloud/deploy/cloud.yaml "$stage/etc/canopy/cloud.yaml"
	install -m 0644 cloud/deploy/canopy-cloud.service "$stage/lib/systemd/system/"
	install -m 0644 docs/deploy.md cloud/deploy/deb/copyright "$stage/usr/share/doc/canopy-cloud/"
	install -m 0644 cloud/deploy/deb/conffiles "$stage/DEBIAN/"
	install -m 0755 cloud/deploy/deb/postinst cloud/deploy/deb/prerm cloud/deploy/deb/postrm "$stage/DEBIAN/"
	depends=$(deb_depends "$arch" "bin/linux-$arch/canopy-cloud" "$(ort_lib "$arch")")
	size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
	sed -e "s|@VERSION@|$DEB_VERSION|" -e "s|@ARCH@|$arch|" -e "s|@DEPENDS@|$depends|" -e "s|@SIZE@|$size|" \
		cloud/deploy/deb/control.in >"$stage/DEBIAN/control"
	deb_build "$stage" "$out"
	log "packaged $out ($(du -h "$out" | cut -f1)); Depends: $depends"
}

# ---- OCI image --------------------------------------------------------------
# image_base ARCH prints the path of the image's base layer (a tar of a
# minimal Debian 12 root file system), built with mmdebstrap when missing,
# older than IMAGE_BASE_MAX_DAYS or made for another package list.
image_base() {
	local arch=$1 tar stamp root debs lock
	tar=$CACHE/oci-base-$arch.tar
	stamp=$(printf '%s\n' "${IMAGE_PACKAGES[@]}" "${IMAGE_MIRRORS[@]}" "uid=$IMAGE_UID" "$(declare -f image_base)" | sha256sum | cut -c1-16)
	mkdir -p "$CACHE"
	exec {lock}>"$tar.lock"
	flock "$lock"
	if [[ -f $tar && $(cat "$tar.stamp" 2>/dev/null) == "$stamp" && -n $(find "$tar" -mtime "-$IMAGE_BASE_MAX_DAYS") ]]; then
		exec {lock}>&-
		echo "$tar"
		return
	fi
	apt_install mmdebstrap umoci
	root=$STAGE/base-$arch
	debs=$STAGE/base-$arch-debs
	mkdir -p "$debs"
	log "mmdebstrap: a Debian 12 $arch root file system of ${IMAGE_PACKAGES[*]} (about a minute; cached in $CACHE)"
	mmdebstrap --quiet --mode=root --variant=extract --architectures="$arch" \
		--include="$(
			IFS=,
			echo "${IMAGE_PACKAGES[*]}"
		)" \
		--extract-hook="sync-out /var/cache/apt/archives $debs" \
		bookworm "$root" "${IMAGE_MIRRORS[@]}" >&2
	# The extract variant runs no maintainer scripts: do what they would.
	# The dpkg database, so that scanners see the packages:
	local d
	for d in "$debs"/*.deb; do
		echo "Package: $(dpkg-deb -f "$d" Package)"
		echo "Status: install ok installed"
		dpkg-deb -f "$d" | grep -v -E '^Package:|^ '
		echo
	done >"$root/var/lib/dpkg/status"
	# CA certificates (TLS to S3, PostgreSQL, brokers), without the
	# ca-certificates package's dependencies (openssl, debconf, perl).
	local ca=$STAGE/ca
	mkdir -p "$ca"
	(cd "$ca" && apt-get download -qq ca-certificates 2>&1 | grep -v 'unsandboxed as root' >&2 || true)
	dpkg-deb -x "$ca"/ca-certificates_*.deb "$ca/x"
	mkdir -p "$root/etc/ssl/certs" "$root/usr/share/doc/ca-certificates"
	cat "$ca"/x/usr/share/ca-certificates/mozilla/*.crt >"$root/etc/ssl/certs/ca-certificates.crt"
	cp "$ca/x/usr/share/doc/ca-certificates/copyright" "$root/usr/share/doc/ca-certificates/"
	# Users: root, nobody and the service user.
	cat >"$root/etc/passwd" <<-EOF
		root:x:0:0:root:/root:/usr/sbin/nologin
		canopy-cloud:x:$IMAGE_UID:$IMAGE_UID:Canopy cloud receiver:/var/lib/canopy-cloud:/usr/sbin/nologin
		nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
	EOF
	cat >"$root/etc/group" <<-EOF
		root:x:0:
		canopy-cloud:x:$IMAGE_UID:
		nogroup:x:65534:
	EOF
	# What only an interactive system needs.
	rm -rf "$root"/usr/share/{man,info,locale,lintian} "$root"/var/cache/apt "$root"/var/lib/apt/lists \
		"$root"/etc/apt "$root"/var/log/*
	find "$root/usr/share/doc" -type f ! -name copyright -delete
	install -d -m 1777 "$root/tmp"
	tar -C "$root" --numeric-owner --sort=name -cf "$tar.new" .
	mv "$tar.new" "$tar"
	echo "$stamp" >"$tar.stamp"
	exec {lock}>&-
	log "image base: $tar ($(du -h "$tar" | cut -f1))"
	echo "$tar"
}

# image ARCH writes dist/canopy-cloud_VERSION_ARCH.oci.tar: the base layer
# and a layer with canopy-cloud (slim), ONNX Runtime, the model and the
# image's config.
image() {
	local arch=$1 base app layout ref out created
	base=$(image_base "$arch")
	app=$STAGE/app-$arch
	layout=$STAGE/oci-$arch
	ref=$layout:${DEB_VERSION//[~+]/-} # a tag is [A-Za-z0-9_.-]
	out=dist/canopy-cloud_${DEB_VERSION}_$arch.oci.tar
	created=$(git log -1 --format=%cI 2>/dev/null || date -u +%FT%TZ)
	mkdir -p "$app/usr/bin" "$app/usr/lib/canopy-cloud" "$app/usr/share/canopy/models" "$app/etc/canopy"
	install -m 0755 "bin/linux-$arch/slim/canopy-cloud" "$app/usr/bin/"
	install -m 0644 "$(ort_lib "$arch")" "$app/usr/lib/canopy-cloud/"
	install -m 0644 "$MODEL.onnx" "$MODEL.md" "$app/usr/share/canopy/models/"
	install -m 0644 cloud/deploy/image/cloud.yaml "$app/etc/canopy/cloud.yaml"
	install -d -m 0750 -o "$IMAGE_UID" -g "$IMAGE_UID" "$app/var/lib/canopy-cloud"
	tar -C "$app" --numeric-owner --sort=name --mtime="$created" -cf "$STAGE/app-$arch.tar" ./usr ./etc ./var

	umoci init --layout "$layout"
	umoci new --image "$ref"
	umoci raw add-layer --image "$ref" --history.created_by "mmdebstrap --variant=extract bookworm: ${IMAGE_PACKAGES[*]}" "$base"
	umoci raw add-layer --image "$ref" --history.created_by "canopy-cloud $VERSION, ONNX Runtime $ORT_VERSION, crown-detector.onnx" "$STAGE/app-$arch.tar"
	umoci config --image "$ref" --os linux --architecture "$arch" --created "$created" \
		--config.user "$IMAGE_UID:$IMAGE_UID" \
		--config.entrypoint /usr/bin/canopy-cloud \
		--config.cmd=serve --config.cmd=--config --config.cmd=/etc/canopy/cloud.yaml \
		--config.env PATH=/usr/bin:/bin \
		--config.env CANOPY_ORT_LIB=/usr/lib/canopy-cloud/libonnxruntime.so.1 \
		--config.workingdir /var/lib/canopy-cloud \
		--config.volume /var/lib/canopy-cloud \
		--config.exposedports 8080/tcp --config.exposedports 1883/tcp \
		--config.stopsignal SIGTERM \
		--config.label org.opencontainers.image.title=canopy-cloud \
		--config.label "org.opencontainers.image.description=Canopy cloud receiver: ingest, storage, tree counting, HTTP API" \
		--config.label "org.opencontainers.image.version=$DEB_VERSION" \
		--config.label "org.opencontainers.image.revision=$COMMIT" \
		--config.label org.opencontainers.image.source=https://github.com/canopy-forest/canopy \
		--config.label "org.opencontainers.image.created=$created"
	umoci gc --layout "$layout"
	tar -C "$layout" --numeric-owner --owner=0 --group=0 --mode=a+rX --sort=name -cf "$out" .
	log "packaged $out ($(du -h "$out" | cut -f1), base $(du -h "$base" | cut -f1) unpacked)"
}

# ---- AWS Lambda -------------------------------------------------------------
zipdir() { # zipdir DIR OUT: a zip of DIR's contents, modes kept
	rm -f "$2"
	(cd "$1" && find . -type f | sort | sed 's|^\./||' | zip -q -X "$OLDPWD/$2" -@)
}

lambda() {
	local arch=$1 fn=$STAGE/lambda-$arch layer=$STAGE/layer-$arch out
	mkdir -p "$fn/models" "$layer/lib"
	install -m 0755 "bin/linux-$arch/slim/canopy-cloud" "$fn/bootstrap"
	install -m 0644 "$MODEL.onnx" "$MODEL.md" "$fn/models/"
	out=dist/canopy-cloud-lambda_${DEB_VERSION}_$arch.zip
	zipdir "$fn" "$out"
	log "packaged $out ($(du -h "$out" | cut -f1))"
	install -m 0644 "$(ort_lib "$arch")" "$layer/lib/"
	out=dist/canopy-onnxruntime-layer_${ORT_VERSION}_$arch.zip
	zipdir "$layer" "$out"
	log "packaged $out ($(du -h "$out" | cut -f1))"
}

# ---- main -------------------------------------------------------------------
scripts/deps.sh
apt_install zip
[[ -f $MODEL.onnx ]] || die "$MODEL.onnx is missing (make model trains it)"
deb_version
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p dist
# Earlier versions' packages of the kinds built now.
for arch in $ARCHES; do
	case "$mode" in
	all) rm -f dist/canopy-cloud_*_"$arch".deb dist/canopy-cloud_*_"$arch".oci.tar dist/canopy-cloud-lambda_*_"$arch".zip dist/canopy-onnxruntime-layer_*_"$arch".zip ;;
	debs) rm -f dist/canopy-cloud_*_"$arch".deb ;;
	image) rm -f dist/canopy-cloud_*_"$arch".oci.tar ;;
	lambda) rm -f dist/canopy-cloud-lambda_*_"$arch".zip dist/canopy-onnxruntime-layer_*_"$arch".zip ;;
	esac
	if [[ $arch == amd64 && ($mode == all || $mode == agent) ]]; then rm -f dist/canopy-agent_*_amd64.deb; fi
done
case " $ARCHES " in *" arm64 "*)
	arm64_toolchain
	arm64_sysroot
	;;
esac

for arch in $ARCHES; do
	case "$mode" in
	all)
		full "$arch"
		slim "$arch"
		deb "$arch"
		image "$arch"
		lambda "$arch"
		if [[ $arch == amd64 ]]; then agent_amd64; fi
		;;
	agent) if [[ $arch == amd64 ]]; then agent_amd64; fi ;;
	debs) full "$arch" && deb "$arch" ;;
	image) slim "$arch" && image "$arch" ;;
	lambda) slim "$arch" && lambda "$arch" ;;
	*) die "usage: scripts/package.sh [all|debs|image|lambda|agent]" ;;
	esac
done
(cd dist && sha256sum -- *.deb *.oci.tar *.zip 2>/dev/null >SHA256SUMS || true)
log "dist/: $(cd dist && ls -- *.deb *.oci.tar *.zip 2>/dev/null | paste -sd' ')"
