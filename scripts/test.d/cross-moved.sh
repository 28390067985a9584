#!/usr/bin/env bash
# cross-moved.sh (test.d): the arm64 cross-build environment still points
# at the sysroot's libraries after the checkout has moved. A fake sysroot
# (empty .so files, no downloads) is made in one folder, the checkout's
# scripts beside it; then everything moves to another folder and
# `scripts/cross.sh env` must name only library folders that exist, for a
# .libdirs written the current way (relative to the sysroot) and for one
# written by an older cross.sh (absolute folders of the first checkout).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for format in relative legacy; do
	old=$tmp/$format/old new=$tmp/$format/moved/elsewhere
	mkdir -p "$old/scripts" "$(dirname "$new")"
	cp scripts/cross.sh scripts/lib.sh scripts/lib-arm64.sh scripts/lib-deb.sh "$old/scripts/"
	root=$old/.cache/sysroot-arm64
	for d in usr/lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu/blas usr/lib/aarch64-linux-gnu/lapack; do
		mkdir -p "$root/$d"
		: >"$root/$d/libfake.so.1"
	done
	if [[ $format == relative ]]; then
		printf '%s\n' /usr/lib/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu/blas /usr/lib/aarch64-linux-gnu/lapack >"$root/.libdirs"
	else
		find "$root" -name '*.so*' -printf '%h\n' | sort -u >"$root/.libdirs"
	fi
	mv "$old" "$new"
	env=$(cd "$new" && scripts/cross.sh env) || fail "$format: cross.sh env failed: $env"
	grep -q "$new/.cache/sysroot-arm64" <<<"$env" || fail "$format: the environment does not name the moved sysroot: $env"
	! grep -q "$old" <<<"$env" || fail "$format: the environment still names the old folder $old: $env"
	links=$(grep -o -- '-rpath-link,[^ "]*' <<<"$env" | sed 's/^-rpath-link,//')
	[[ $(wc -l <<<"$links") == 3 ]] || fail "$format: want 3 library folders, got: $links"
	while IFS= read -r d; do
		[[ -f $d/libfake.so.1 ]] || fail "$format: library folder $d does not exist"
	done <<<"$links"
	path=$(sed -n 's/^export CANOPY_ARM64_LIBPATH=//p' <<<"$env" | tr -d "'\"")
	[[ $path == /usr/lib/aarch64-linux-gnu:* ]] || fail "$format: CANOPY_ARM64_LIBPATH $path is not relative to the sysroot"
done
log "cross.sh env finds the sysroot's libraries after the checkout moved"
