#!/usr/bin/env bash
# Run a command (a wasm32 test in headless Chromium) with the repo root served over HTTP on
# 127.0.0.1:8471 (CORS *): the wasm tests and benchmarks fetch /models/... and
# /tests/golden/fixtures/... from it. Sets up wasm-bindgen-test-runner + chromedriver
# (capabilities from webdriver.json) as cargo's runner for wasm32.
#
# Usage: scripts/with-fixture-server.sh COMMAND [ARGS...]
# Env:   AV_FIXTURE_PORT (8471), WASM_BINDGEN_TEST_TIMEOUT (600 s), CHROMEDRIVER (/usr/bin/chromedriver)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

PORT="${AV_FIXTURE_PORT:-8471}"
# Read at compile time by the test (option_env!); cargo rebuilds when it changes.
export AV_FIXTURE_BASE="${AV_FIXTURE_BASE:-http://127.0.0.1:$PORT}"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="${WASM_BINDGEN_TEST_WEBDRIVER_JSON:-$ROOT/webdriver.json}"
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-600}"
export WASM_BINDGEN_TEST_DRIVER_TIMEOUT="${WASM_BINDGEN_TEST_DRIVER_TIMEOUT:-60}"
# A stray GECKODRIVER/…_REMOTE in the environment would win over CHROMEDRIVER.
unset GECKODRIVER GECKODRIVER_REMOTE CHROMEDRIVER_REMOTE SAFARIDRIVER MSEDGEDRIVER NO_HEADLESS 2>/dev/null || true

command -v wasm-bindgen-test-runner >/dev/null || die "wasm-bindgen-test-runner not found: run scripts/setup.sh"
[[ -x "$CHROMEDRIVER" ]] || die "$CHROMEDRIVER not found: run scripts/setup.sh (apt chromium-driver)"
[[ -f "$ROOT/models/sentence-transformers/all-MiniLM-L6-v2/resolve/main/model.safetensors" ]] \
  || die "model missing: run scripts/fetch-model.sh"

LOG="$ROOT/target/static-server-$PORT.log"
mkdir -p "$ROOT/target"
say "static server on 127.0.0.1:$PORT (repo root, CORS *)"
node "$ROOT/tests/e2e/static-server.mjs" --root "$ROOT" --port "$PORT" >"$LOG" 2>&1 &
SERVER_PID=$!
cleanup() {
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq 1 100); do
  grep -q '^listening on ' "$LOG" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOG" >&2; die "static server exited (port $PORT busy?)"; }
  sleep 0.1
done
grep -q '^listening on ' "$LOG" || { cat "$LOG" >&2; die "static server did not start within 10 s"; }

status=0
"$@" || status=$?
if [[ $status -ne 0 && -s "$LOG" ]]; then
  echo "--- static server log ($LOG) ---" >&2
  tail -n 50 "$LOG" >&2
fi
exit "$status"
