#!/usr/bin/env bash
# fuzz.sh runs every Go fuzz target in the module for $1 (default 10s) each.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-10s}
TAGS=${TAGS:-opencv,onnx,proj}
for pkg in $(go list -tags "$TAGS" ./...); do
	dir=$(go list -tags "$TAGS" -f '{{.Dir}}' "$pkg")
	for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "== $pkg $f"
		go test -tags "$TAGS" -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg"
	done
done
