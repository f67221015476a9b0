# attention-viz: build, serve and test.
#
#   make serve   install what is missing, build dist/ if its sources changed, serve it on http://127.0.0.1:8080
#   make build   install what is missing, then `trunk build --release` into dist/
#   make site PUBLIC_URL=/attention-viz/   the same for a host's sub-path (the GitHub Pages build)
#   make test    install what is missing, then: native tests, release build, wasm test in
#                headless Chromium, end-to-end browser tests (stops at the first failure)
#   make bench   install what is missing (and the bench's peers: setup.sh bench), then scripts/bench.sh
#   make setup   only the installs (scripts/setup.sh; `scripts/setup.sh --check` to just look;
#                SETUP_STEPS="rust trunk ..." for some of them, as .github/workflows/pages.yml)
#
# Each recipe line runs with bash -euo pipefail; make stops at the first failing line.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO_BIN := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin
# wasm-opt (npm binaryen) and the cargo-installed trunk / wasm-bindgen must be found by trunk.
export PATH := $(CURDIR)/node_modules/.bin:$(CARGO_BIN):$(PATH)

SERVE_ADDRESS ?= 127.0.0.1
SERVE_PORT ?= 8080
# `make site`: where the site will live on its host (trunk --public-url); ./ = relative URLs.
PUBLIC_URL ?= ./
# `make setup`: scripts/setup.sh's steps (empty: all of them).
SETUP_STEPS ?=

.PHONY: help setup serve build site test test-native test-wasm test-e2e bench clean

help:
	@sed -n '3,11p' Makefile | sed 's/^# \{0,1\}//'

setup:
	scripts/setup.sh $(SETUP_STEPS)

# Every trunk build goes through scripts/build-site.sh: it holds /tmp/attention-viz-trunk.lock
# (concurrent trunk builds break dist/) and records what it built, so that `make serve` (and
# `make test`) rebuild only when an input changed: a built tree serves in seconds, not after
# minutes of wasm-opt. scripts/serve.mjs serves dist/ (the bundled models are in dist/models/).
serve: setup
	scripts/build-site.sh --if-changed
	exec node scripts/serve.mjs --root dist --address $(SERVE_ADDRESS) --port $(SERVE_PORT)

build: setup
	scripts/build-site.sh

site: setup
	scripts/build-site.sh --public-url '$(PUBLIC_URL)'

# The release build comes before the wasm test: both are wasm32 release builds with the same
# flags, so the test reuses every dependency trunk compiled (minutes saved on two cores).
test: setup
	$(MAKE) --no-print-directory test-native
	scripts/build-site.sh --if-changed
	$(MAKE) --no-print-directory test-wasm
	$(MAKE) --no-print-directory test-e2e

# The steps of `make test`, without the setup (run `make setup` once first).
test-native:
	cargo test

# Both engine builds the site ships: simd128, then with relaxed SIMD (the second worker).
test-wasm:
	scripts/test-wasm.sh
	scripts/test-wasm.sh --features relaxed-simd

test-e2e:
	node --test tests/e2e/*.test.mjs

bench: setup
	scripts/setup.sh bench
	scripts/bench.sh

# A bounded fuzzing run of the model loading path (tests/fuzz_loading.rs: config.json,
# tokenizer.json and model.safetensors mutated, through the worker's parsers and the engine),
# then the safetensors stream fuzzer (src/model/stream.rs); not part of `make test`.
# FUZZ_SECONDS (default 300) each; a panic is saved under target/fuzz-findings/.
FUZZ_SECONDS ?= 300
.PHONY: fuzz
fuzz:
	AV_FUZZ_SECONDS=$(FUZZ_SECONDS) cargo test --test fuzz_loading fuzz -- --ignored --nocapture
	AV_FUZZ_SECONDS=$(FUZZ_SECONDS) cargo test --lib stream::tests::fuzz -- --ignored --nocapture

clean:
	rm -rf dist
	cargo clean
