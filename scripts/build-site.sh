#!/usr/bin/env bash
# `trunk build --release` into dist/, under the shared trunk lock, remembering what was built.
#
# Usage: scripts/build-site.sh [--if-changed | --check] [extra trunk build args, e.g. --public-url /x/]
#
#   - Every build runs as `flock /tmp/attention-viz-trunk.lock trunk build --release ...`
#     (AV_TRUNK_LOCK to change the path): two trunk builds at once break dist/ for each other.
#     When an ancestor process already holds the lock (`flock LOCK make test`), it is not taken
#     again (that would wait for ever).
#   - After a build, target/dist-build.txt records the trunk arguments, the build-time settings
#     (ATTENTION_VIZ_HUB, RUSTFLAGS, AV_THREADS) and dist/index.html's mtime; its own mtime is the
#     build's start. trunk's pre_build hook builds the multi-threaded engine worker too
#     (scripts/build-threads.sh, nightly; AV_THREADS=0 leaves it out).
#   - --if-changed: build only when dist/ is not what this build would give: no stamp, other
#     arguments or settings, dist/ rebuilt since by something else, or an input newer than the
#     build's start (src/, index.html, Trunk.toml, its hook scripts and what they import, sw.js,
#     Cargo.*, .cargo/, rust-toolchain.toml, style/, assets/, models/). `make serve` uses it: a built tree starts
#     serving in seconds instead of re-running wasm-opt for minutes.
#   - --check: only say whether dist/ is up to date (exit 0) or would be rebuilt, and why (exit 1).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

LOCK="${AV_TRUNK_LOCK:-/tmp/attention-viz-trunk.lock}"
STAMP="$ROOT/target/dist-build.txt"
IF_CHANGED=0
CHECK=0
if [[ ${1:-} == --if-changed ]]; then IF_CHANGED=1; shift; fi
if [[ ${1:-} == --check ]]; then IF_CHANGED=1; CHECK=1; shift; fi

# What this build is: its arguments and the settings that change its output.
describe() {
  local args=""
  [[ $# -eq 0 ]] || args=$(printf ' %q' "$@")
  printf 'trunk build --release%s | ATTENTION_VIZ_HUB=%s | RUSTFLAGS=%s | AV_THREADS=%s\n' \
    "$args" "${ATTENTION_VIZ_HUB-<unset>}" "${RUSTFLAGS-<unset>}" "${AV_THREADS-<unset>}"
}
WANT="$(describe "$@")"

mtime() { stat -c %Y.%y "$1" 2>/dev/null || echo none; }

# The build's inputs that exist: sources, trunk's hook scripts (named in Trunk.toml) and the
# scripts they import, sw.js (the service worker's template the hook fills in).
inputs() {
  local f hooks
  hooks=$(grep '^command' Trunk.toml 2>/dev/null | grep -o 'scripts/[A-Za-z0-9_./-]*' | sort -u)
  for f in src index.html Trunk.toml Cargo.toml Cargo.lock build.rs .cargo rust-toolchain.toml style assets models sw.js \
           $hooks $(for h in $hooks; do [[ -f $h ]] && sed -n "s|^import .* from '\./\([A-Za-z0-9_.-]*\)';|scripts/\1|p" "$h"; done); do
    if [[ -e $f ]]; then printf '%s\n' "$f"; fi
  done
}

# Empty when dist/ is up to date, else why not.
stale_reason() {
  [[ -f dist/index.html ]] || { echo "no dist/index.html"; return; }
  [[ -f $STAMP ]] || { echo "no build record ($STAMP)"; return; }
  [[ "$(sed -n 1p "$STAMP")" == "$WANT" ]] || { echo "last built as: $(sed -n 1p "$STAMP")"; return; }
  [[ "$(sed -n 2p "$STAMP")" == "dist/index.html $(mtime dist/index.html)" ]] || { echo "dist/ was rebuilt by something else since"; return; }
  local newer
  mapfile -t ins < <(inputs)
  newer=$(find "${ins[@]}" -newer "$STAMP" \( -type f -o -type l \) -print -quit 2>/dev/null || true)
  [[ -z $newer ]] || { echo "changed since the last build: $newer"; return; }
}

if [[ $IF_CHANGED -eq 1 ]]; then
  reason=$(stale_reason)
  if [[ -z $reason ]]; then
    printf '==> dist/ is up to date (built %s; %s)\n' "$(date -r "$STAMP" '+%F %T')" "$WANT"
    exit 0
  fi
  if [[ $CHECK -eq 1 ]]; then printf '==> dist/ would be rebuilt: %s\n' "$reason"; exit 1; fi
  printf '==> building dist/: %s\n' "$reason"
fi

# Is the lock held by one of our ancestors (e.g. `flock LOCK make test`)?
ancestor_holds_lock() {
  local pid=$PPID cmd
  while [[ $pid -gt 1 ]]; do
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
    [[ $cmd == flock*"$LOCK"* || $cmd == */flock*"$LOCK"* ]] && return 0
    pid=$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null || echo 1)
  done
  return 1
}

mkdir -p "$ROOT/target"
START="$STAMP.start"
build() {
  touch "$START"
  trunk build --release "$@"
  { echo "$WANT"; echo "dist/index.html $(mtime dist/index.html)"; } >"$STAMP"
  touch -r "$START" "$STAMP"
  rm -f "$START"
}

printf '==> %s\n' "flock $LOCK trunk build --release $*"
if ancestor_holds_lock; then
  build "$@"
else
  exec 9>>"$LOCK"
  if ! flock -n 9; then
    printf '    (waiting for another trunk build to finish: %s)\n' "$LOCK"
    flock 9
  fi
  build "$@"
fi
