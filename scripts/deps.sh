#!/usr/bin/env bash
# deps.sh installs what the build needs, and only what is missing:
# Debian's OpenCV 4.6 and pkg-config (for GoCV), PROJ's headers (libproj-dev,
# for github.com/twpayne/go-proj, build tag proj), GDAL's command-line tools
# (gdal-bin: gdalinfo, gdal_translate and ogr2ogr read orthophotos window by
# window and write GeoPackages), and the ONNX Runtime shared
# library for linux/amd64 and linux/arm64, unpacked from the onnxruntime-node
# npm package into .cache/onnxruntime/ (no npm install script runs).
#
#   scripts/deps.sh            build dependencies
#   scripts/deps.sh python     also python3-torch, torchvision, onnx, flatbuffers (make model)
#   scripts/deps.sh chromium   also chromium and chromium-driver (browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ORT_VERSION=${ORT_VERSION:-1.24.3}

pkgs=(libopencv-dev pkg-config gstreamer1.0-plugins-base libproj-dev gdal-bin)
for extra in "$@"; do
	case "$extra" in
	python) pkgs+=(python3-torch python3-torchvision python3-onnx python3-flatbuffers python3-numpy python3-pil) ;;
	chromium) pkgs+=(chromium chromium-driver) ;;
	*) die "deps.sh: unknown extra $extra (want python or chromium)" ;;
	esac
done
apt_install "${pkgs[@]}"

ort_dir=.cache/onnxruntime
if [[ ! -f $ort_dir/linux-amd64/libonnxruntime.so.1 || ! -f $ort_dir/linux-arm64/libonnxruntime.so.1 ]]; then
	command -v npm >/dev/null || apt_install npm
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	log "fetching onnxruntime-node@$ORT_VERSION (shared libraries only)"
	(cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
	tar -xzf "$tmp"/onnxruntime-node-*.tgz -C "$tmp" \
		package/bin/napi-v6/linux/x64/libonnxruntime.so.1 \
		package/bin/napi-v6/linux/arm64/libonnxruntime.so.1
	mkdir -p "$ort_dir/linux-amd64" "$ort_dir/linux-arm64"
	cp "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$ort_dir/linux-amd64/"
	cp "$tmp/package/bin/napi-v6/linux/arm64/libonnxruntime.so.1" "$ort_dir/linux-arm64/"
	echo "$ORT_VERSION" >"$ort_dir/VERSION"
	log "ONNX Runtime $ORT_VERSION in $ort_dir"
fi
