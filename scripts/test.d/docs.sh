#!/usr/bin/env bash
# docs.sh (test.d): the documentation holds. Every relative link and
# #anchor in README.md, CONTRIBUTING.md and docs/*.md resolves, every shell
# block names its class, and every block marked run (and shared-data, where
# ../shared/data is) runs and exits 0 against the demo's data, with the
# binaries of make build. CONTRIBUTING.md ("Docs that run") says how to
# mark a block.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

go run ./scripts/docs check
go run ./scripts/docs run --bin "${CANOPY_BIN:-$PWD/bin}"
