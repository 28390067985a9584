#!/usr/bin/env bash
# test.sh runs every test: the pure-Go build, the unit and integration tests
# against the real services in .cache/test.env, the end-to-end tests on the
# built binaries, and the arm64 check under qemu. `make test` calls it after
# deps, services and build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

set -a
source .cache/test.env
set +a
export CANOPY_ORT_LIB=${CANOPY_ORT_LIB:-$PWD/.cache/onnxruntime/linux-amd64/libonnxruntime.so.1}
export CANOPY_BIN=$PWD/bin
if [[ -d ../shared/data ]]; then export CANOPY_SHARED_DATA=$(cd ../shared/data && pwd); fi
TAGS=${TAGS:-opencv,onnx,proj}

log "pure Go (CGO_ENABLED=0): vet and test"
CGO_ENABLED=0 go vet ./...
# Integration tests skip here (no service addresses); they run in the cgo pass.
env -u CANOPY_TEST_POSTGRES -u CANOPY_TEST_MQTT -u CANOPY_TEST_AMQP -u CANOPY_TEST_S3_ENDPOINT \
	CGO_ENABLED=0 go test -count=1 ./...

log "all packages with cgo ($TAGS), integration and end-to-end included"
go vet -tags "$TAGS" ./...
go test -tags "$TAGS" -count=1 -timeout 20m ./...

for t in scripts/test.d/*.sh; do
	[[ -e $t ]] || continue
	log "running $t"
	bash "$t"
done
log "all tests passed"
