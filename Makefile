# Canopy: field agent and cloud receiver. `make help` lists the targets.
SHELL := bash
.DEFAULT_GOAL := build

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
# cgo parts sit behind these tags: opencv (GoCV), onnx (ONNX Runtime) and proj (PROJ).
TAGS    ?= opencv,onnx,proj
LDFLAGS := -X github.com/canopy-forest/canopy/internal/version.Version=$(VERSION) \
           -X github.com/canopy-forest/canopy/internal/version.Commit=$(COMMIT)
export CANOPY_ORT_LIB ?= $(CURDIR)/.cache/onnxruntime/linux-amd64/libonnxruntime.so.1

.PHONY: help deps services build test test-unit test-pure bench demo cross package model fuzz clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -ts $$'\t'

deps: ## install what the build needs (only what is missing)
	@scripts/deps.sh

services: ## start PostgreSQL, Mosquitto, RabbitMQ and an S3 server for the tests
	@scripts/services.sh

build: deps ## build bin/canopy-agent and bin/canopy-cloud
	go build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o bin/ ./agent/cmd/canopy-agent ./cloud/cmd/canopy-cloud
	@cp -f .cache/onnxruntime/linux-amd64/libonnxruntime.so.1 bin/

test-pure: ## the pure-Go build and tests, without cgo
	CGO_ENABLED=0 go vet ./...
	CGO_ENABLED=0 go test -count=1 ./...

test-unit: deps ## every Go test with cgo, no services needed (integration tests skip)
	go test -tags '$(TAGS)' -count=1 ./...

test: deps services build ## every test: unit, integration, end to end, arm64 under qemu
	@scripts/deps.sh chromium
	@scripts/test.sh

bench: build services ## benchmarks; figures go to docs/benchmarks.md
	@scripts/bench.sh

demo: build ## run the whole system on one machine on sample data
	@scripts/demo.sh

cross: ## build and package the agent for linux/arm64
	@scripts/cross.sh

package: ## canopy-cloud as .debs, OCI image and AWS Lambda zips for amd64 and arm64, in dist/
	@scripts/package.sh

model: ## train the crown detector and the tree-cover segmenter again (CPU is fine)
	@scripts/deps.sh python
	@scripts/model.sh

fuzz: ## run every fuzz target for FUZZTIME each (default 10s)
	@scripts/fuzz.sh $(or $(FUZZTIME),10s)

clean: ## remove build outputs (keeps the download cache)
	rm -rf bin dist
