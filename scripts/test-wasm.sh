#!/usr/bin/env bash
# The wasm32 numeric test (tests/wasm_golden.rs) in headless Chromium: the golden comparison
# compiled to wasm32 + simd128, fetching the model and fixtures over HTTP from 127.0.0.1.
# Built with --release: the same profile and flags as `trunk build --release`, so after a site
# build it compiles only the test itself (and it runs the code the site ships).
#
# Usage: scripts/test-wasm.sh [extra cargo test args, e.g. -- --nocapture]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
printf '==> %s\n' "cargo test --release --target wasm32-unknown-unknown --test wasm_golden (headless Chromium)"
exec "$ROOT/scripts/with-fixture-server.sh" cargo test --release --target wasm32-unknown-unknown --test wasm_golden "$@"
