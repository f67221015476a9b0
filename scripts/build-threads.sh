#!/usr/bin/env bash
# Builds the multi-threaded engine worker into the site (README "Speed and size", threads):
#
#   worker_threads_loader.js   the module worker the page starts when it is cross-origin isolated
#                              (src/bin/worker_threads.js)
#   worker_threads.js          wasm-bindgen's glue (--target web: the module is shared with the
#   worker_threads_bg.wasm     pool's Web Workers), and the wasm, optimised by wasm-opt
#   worker_threads_pool.js     the pool's Web Workers (wasm-bindgen-rayon's workerHelpers.js, moved
#                              from wasm-bindgen's snippets/ folder: the site stays one flat folder)
#
# Run by trunk as a pre_build hook (Trunk.toml) into its staging directory, so the service worker
# hook (post_build) lists these files too; or by hand: scripts/build-threads.sh --out DIR.
# Skipped (nothing written; the page then always runs the single-threaded worker) under
# `trunk serve` (TRUNK_PROFILE=debug: no isolation there) and with AV_THREADS=0.
#
# Why nightly: wasm threads need the standard library compiled with atomics (`-Z build-std`),
# which only nightly cargo does; the toolchain is pinned in Cargo.toml
# ([package.metadata.attention-viz] threads-toolchain) and installed by scripts/setup.sh nightly.
# Its own target directory (target/threads): every crate is compiled with other flags than the
# stable build's, which therefore keeps its cache.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

OUT="${TRUNK_STAGING_DIR:-}"
if [[ ${1:-} == --out ]]; then OUT="$2"; shift 2; fi
[[ -n $OUT ]] || { echo "build-threads.sh: no output directory (run as a trunk hook, or pass --out DIR)" >&2; exit 2; }
if [[ ${TRUNK_PROFILE:-release} != release ]]; then
  echo "threads: skipped (trunk serve: the page is never cross-origin isolated there)"
  exit 0
fi
if [[ ${AV_THREADS:-1} == 0 ]]; then
  echo "threads: skipped (AV_THREADS=0)"
  exit 0
fi

TOOLCHAIN=$(sed -n 's/^threads-toolchain = "\(.*\)"$/\1/p' Cargo.toml)
[[ -n $TOOLCHAIN ]] || { echo "build-threads.sh: no threads-toolchain in Cargo.toml" >&2; exit 1; }
TARGET_DIR="${AV_THREADS_TARGET_DIR:-$ROOT/target/threads}"
WASM="$TARGET_DIR/wasm32-unknown-unknown/release/attention_viz.wasm"

# The stable build's wasm flags (.cargo/config.toml: RUSTFLAGS replaces them, so they are
# repeated here), plus what threads need: atomics and bulk memory in every crate and in std; a
# shared, imported memory (wasm-bindgen-rayon's workers instantiate the module on it) of up to
# 4 GiB like the single-threaded build's (rustc's default maximum for shared memory is 1 GiB, too
# small for bert-large); and the thread-local storage symbols wasm-bindgen sets up per thread.
# Recent nightlies no longer add the linker flags themselves with +atomics (rust-lang/rust#147225).
RUSTFLAGS_THREADS=(
  -C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128
  --cfg 'getrandom_backend="wasm_js"'
  -C link-arg=--shared-memory
  -C link-arg=--import-memory
  -C link-arg=--max-memory=4294967296
  -C link-arg=--export=__wasm_init_tls
  -C link-arg=--export=__tls_size
  -C link-arg=--export=__tls_align
  -C link-arg=--export=__tls_base
)

# The library as a cdylib, whose exports are its #[wasm_bindgen] functions (startEngine,
# initThreadPool, wasm-bindgen's own), rather than the `worker` binary: this nightly exports only
# `main` from a binary, and the loader must start the engine after the pool anyway.
start=$(date +%s)
echo "threads: cargo +$TOOLCHAIN rustc -Z build-std --features threads --lib --crate-type cdylib (target dir $TARGET_DIR)"
RUSTFLAGS="${RUSTFLAGS_THREADS[*]}" CARGO_TARGET_DIR="$TARGET_DIR" \
  cargo "+$TOOLCHAIN" rustc --release --target wasm32-unknown-unknown \
  -Z build-std=panic_abort,std --features threads --lib --crate-type cdylib

# wasm-bindgen and wasm-opt (a minute or two) only when the wasm or this script changed: trunk runs
# this hook on every build. The result is kept in $TARGET_DIR/site.
GLUE="$TARGET_DIR/site"
STAMP="$GLUE.sha256"
want=$(sha256sum "$WASM" "${BASH_SOURCE[0]}" | cut -d' ' -f1 | tr '\n' ' ')
if [[ -f $STAMP && "$(cat "$STAMP")" == "$want" && -f $GLUE/worker_threads_bg.wasm ]]; then
  echo "threads: $WASM unchanged since the last wasm-bindgen + wasm-opt"
else
  rm -rf "$GLUE" "$STAMP"
  mkdir -p "$GLUE"
  wasm-bindgen --target web --no-typescript --out-dir "$GLUE" --out-name worker_threads "$WASM"

  # wasm-bindgen-rayon's workers import the glue as '../../..' (a bundler resolves that directory
  # to the package's entry point; a browser would fetch the directory). Move the helper next to
  # the glue and point each at the other by file name (its `no-bundler` variant would instead
  # start the workers from blob: URLs, which a worker-src or script-src of 'self' refuses). Each
  # edit must match exactly once, or a new wasm-bindgen(-rayon) changed them: stop.
  mapfile -t helpers < <(find "$GLUE/snippets" -name workerHelpers.js)
  [[ ${#helpers[@]} -eq 1 ]] || { echo "build-threads.sh: expected one wasm-bindgen-rayon workerHelpers.js, found ${#helpers[@]}" >&2; exit 1; }
  rel=${helpers[0]#"$GLUE"/}
  once() { # file pattern replacement
    [[ $(grep -cF "$2" "$1") -eq 1 ]] || { echo "build-threads.sh: $1 does not hold $2 exactly once (wasm-bindgen or wasm-bindgen-rayon changed?)" >&2; exit 1; }
    sed -i "s|$2|$3|" "$1"
  }
  once "${helpers[0]}" "'../../..'" "'./worker_threads.js'"
  once "${helpers[0]}" "new URL('./workerHelpers.js', import.meta.url)" "new URL('./worker_threads_pool.js', import.meta.url)"
  once "$GLUE/worker_threads.js" "'./$rel'" "'./worker_threads_pool.js'"
  mv "${helpers[0]}" "$GLUE/worker_threads_pool.js"
  rm -r "$GLUE/snippets"

  # -O3 as trunk gives the single-threaded worker (index.html data-wasm-opt="3"), with the
  # features a threaded module uses.
  wasm-opt -O3 --enable-threads --enable-bulk-memory --enable-simd --enable-mutable-globals \
    --enable-sign-ext --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
    --output "$GLUE/worker_threads_bg.opt.wasm" "$GLUE/worker_threads_bg.wasm"
  mv "$GLUE/worker_threads_bg.opt.wasm" "$GLUE/worker_threads_bg.wasm"
  printf '%s' "$want" >"$STAMP"
fi

mkdir -p "$OUT"
cp "$GLUE/worker_threads.js" "$GLUE/worker_threads_bg.wasm" "$GLUE/worker_threads_pool.js" "$OUT/"
cp src/bin/worker_threads.js "$OUT/worker_threads_loader.js"
printf 'threads: worker_threads_bg.wasm %s KB, built in %s s\n' \
  "$(( $(stat -c %s "$OUT/worker_threads_bg.wasm") / 1000 ))" "$(( $(date +%s) - start ))"
