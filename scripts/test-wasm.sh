#!/usr/bin/env bash
# The wasm32 numeric test (tests/wasm_golden.rs) in headless Chromium: the golden comparison
# compiled to wasm32 + simd128, fetching the model and fixtures over HTTP from 127.0.0.1.
# Built with --release and the page's features: the same profile, flags and feature resolution
# as `trunk build --release` (index.html builds the workers with `page` too), so after a site
# build it compiles only the test itself (and it runs the code the site ships).
#
# Usage: scripts/test-wasm.sh [extra cargo test args, e.g. -- --nocapture]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
printf '==> %s\n' "cargo test --release --target wasm32-unknown-unknown --features page --test wasm_golden $* (headless Chromium)"
exec "$ROOT/scripts/with-fixture-server.sh" cargo test --release --target wasm32-unknown-unknown --features page --test wasm_golden "$@"
