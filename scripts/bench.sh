#!/usr/bin/env bash
# Speed and size figures for the README (a benchmark: it prints, it asserts nothing).
#
# Usage: scripts/bench.sh [PART ...]     (default: all parts, in this order)
#   native  attention-bench (release, 11 runs; 5 at 512 tokens) on all-MiniLM-L6-v2 and a
#           bert-base-shaped model with seeded random weights (written to .cache/bench/bert-base-random
#           for the others), then one core's FMA peak (scripts/bench_peak.rs, the native bound),
#           then the same runs on one thread (RAYON_NUM_THREADS=1);
#   wasm    our engine in headless Chromium, both builds the site ships: wasm32+simd128, then with
#           relaxed SIMD (--features relaxed-simd): tests/wasm_bench.rs on the same files over HTTP
#           (its BENCH / SPREAD lines, and the PEAK / KERNEL lines of the bounds);
#   threads our engine workers of the built site (dist/, built first if its sources changed), in a
#           cross-origin isolated page: the single-threaded worker and the multi-threaded one at 2
#           threads (AV_BENCH_THREADS), through the worker protocol: scripts/bench_threads.mjs;
#   torch   the PyTorch peer (transformers, eager attention), 1 thread and all threads, when
#           python3 has torch and transformers: scripts/bench_torch.py;
#   ort     the ONNX Runtime Web peer (bench/package.json pins it; wasm, SIMD) in the same
#           Chromium at 1 thread and 2 threads (cross-origin isolated), on ONNX exports of the same
#           weights with every attention as an output (scripts/export_onnx.py, PyTorch; cached in
#           .cache/bench/onnx/): scripts/bench_ort.mjs;
#   table   side by side, per model and 16 / 32 / 128 / 512 tokens: ours (wasm, wasm relaxed,
#           the workers at 1 and N threads), ORT 1 and 2 threads, PyTorch 1 and all threads, ours (native); ours ÷ each peer;
#           spread; GFLOP/s; each of ours against its bound (% of the measured peak, compute and
#           memory lower bounds); the matrix product alone; load times and peak memory:
#           scripts/bench_table.mjs;
#   variants the same two builds paired: both of dist/'s workers in one page, taking turns on the
#           same texts, relaxed ÷ plain per round (scripts/bench_variants.mjs): on a shared
#           machine the wasm part's two sets of lines are minutes apart, these are not;
#   site    the size of the wasm binaries in dist/ (raw and gzip -9); dist/ is built first if
#           its sources changed (scripts/build-site.sh --if-changed);
#   first   time from page load to the first heatmap with the model cached (bert-base-shaped, 32
#           tokens, the real app): scripts/bench_first_heatmap.mjs;
#   views   the redraw speed of the views next to the issue's targets: scripts/bench_views.mjs;
#   memory  peak memory and input latency while the page loads bert-base- and bert-large-shaped
#           models (network, then Cache Storage): scripts/bench_memory.mjs.
# Every figure comes from this one run on this machine; each browser engine runs in its own
# fresh browser. The outputs are kept in target/bench/.
# Env: AV_BENCH_PYTHON (python3), AV_BENCH_RUNS (11), AV_BENCH_LENGTHS (16,32,128,512),
#      AV_BENCH_THREADS (2: the threaded worker's pool in part threads),
#      BENCH_QUIET_WAIT_S (before each engine, wait up to that many seconds for the machine to be
#      quiet: < 15 % busy for 3 s; default 0, only report how busy it is).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
RANDOM_DIR=.cache/bench/bert-base-random
MINILM=models/sentence-transformers/all-MiniLM-L6-v2/resolve/main
ONNX_DIR=.cache/bench/onnx
PYTHON="${AV_BENCH_PYTHON:-python3}"
RUNS="${AV_BENCH_RUNS:-11}"
LENGTHS="${AV_BENCH_LENGTHS:-16,32,128,512}"

ALL_PARTS=(native wasm threads torch ort table variants site first views memory)
PARTS=("$@")
[[ ${#PARTS[@]} -gt 0 ]] || PARTS=("${ALL_PARTS[@]}")
for p in "${PARTS[@]}"; do
  [[ " ${ALL_PARTS[*]} " == *" $p "* ]] || { echo "bench.sh: unknown part $p (parts: ${ALL_PARTS[*]})" >&2; exit 2; }
done
want() { [[ " ${PARTS[*]} " == *" $1 "* ]]; }
section() { printf '\n## %s (load average %s)\n' "$1" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
quiet() { node scripts/bench_quiet.mjs "$1"; }

OUT=target/bench
mkdir -p "$OUT"
echo "$(date -u '+%F %H:%M UTC'); machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(/usr/bin/chromium --version 2>/dev/null || echo 'no chromium'); $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo '+changes')"

if want native; then
  section "native: ours (attention-bench, release)"
  cargo build --quiet --release --bin attention-bench
  quiet native
  timer=()
  rm -f "$OUT/native.rss"
  if [[ -x /usr/bin/time ]]; then timer=(/usr/bin/time -f '%M' -o "$OUT/native.rss"); fi
  "${timer[@]}" "${CARGO_TARGET_DIR:-target}/release/attention-bench" --repeat "$RUNS" --write-random "$RANDOM_DIR" | tee "$OUT/native.txt"
  if [[ -s "$OUT/native.rss" ]]; then
    echo "peak RSS of the whole run (both models, the random weights generated in memory): $(( $(tail -n1 "$OUT/native.rss") / 1024 )) MB"
  fi
  # The bound of the native figures: compiled apart for this CPU (the crate targets baseline x86-64).
  rustc -C opt-level=3 -C target-cpu=native -o "$OUT/bench_peak" scripts/bench_peak.rs
  "$OUT/bench_peak" | tee -a "$OUT/native.txt"
  # The same on one thread (candle sizes its matmul pool from RAYON_NUM_THREADS), against
  # PyTorch's one thread: the issue's native target.
  quiet native
  RAYON_NUM_THREADS=1 "${CARGO_TARGET_DIR:-target}/release/attention-bench" --repeat "$RUNS" --write-random "$RANDOM_DIR" | tee "$OUT/native1.txt"
fi
[[ -f "$RANDOM_DIR/model.safetensors" ]] || cargo run --quiet --release --bin attention-bench -- --repeat 1 --write-random "$RANDOM_DIR" >/dev/null

if want wasm; then
  section "wasm: ours (tests/wasm_bench.rs, wasm32+simd128 and +relaxed-simd, headless Chromium)"
  # The wasm bench prints through the browser console; keep only its table lines. Both builds'
  # lines go to wasm.txt, each set under its own BENCH header (bench_table.mjs tells them apart).
  # (No --quiet: cargo would pass it on to wasm-bindgen-test-runner.)
  WASM_LOG=target/wasm-bench.log
  : >"$OUT/wasm.txt"
  for features in "" "--features relaxed-simd"; do
    # shellcheck disable=SC2086 # $features is zero or two words
    scripts/with-fixture-server.sh cargo test --release --target wasm32-unknown-unknown --features page $features --test wasm_bench --no-run >"$WASM_LOG" 2>&1 \
      || { tail -n 40 "$WASM_LOG" >&2; exit 1; }
    quiet wasm
    # shellcheck disable=SC2086
    if ! scripts/with-fixture-server.sh cargo test --release --target wasm32-unknown-unknown --features page $features --test wasm_bench -- --nocapture >"$WASM_LOG" 2>&1; then
      tail -n 40 "$WASM_LOG" >&2
      exit 1
    fi
    grep -E '(BENCH|SPREAD|PEAK|KERNEL) ' "$WASM_LOG" | sed -E 's/^.*((BENCH|SPREAD|PEAK|KERNEL) )/\1/' | tee -a "$OUT/wasm.txt"
  done
fi

if want threads; then
  section "wasm threads: ours, the engine workers of dist/ (cross-origin isolated page)"
  scripts/build-site.sh --if-changed >"$OUT/trunk.log" 2>&1 || { tail -n 30 "$OUT/trunk.log" >&2; exit 1; }
  : >"$OUT/threads.jsonl"
  node scripts/bench_threads.mjs --engines "single,threads:${AV_BENCH_THREADS:-2}" --lengths "$LENGTHS" --runs "$RUNS" --jsonl "$OUT/threads.jsonl" \
    --model "all-MiniLM-L6-v2=sentence-transformers/all-MiniLM-L6-v2:$MINILM" \
    --model "bert-base-shaped (random)=bench/bert-base-random:$RANDOM_DIR" | tee "$OUT/threads.txt"
fi

HAVE_TORCH=0
"$PYTHON" -c 'import torch, transformers' 2>/dev/null && HAVE_TORCH=1
if want torch; then
  section "PyTorch peer"
  : >"$OUT/torch.jsonl"
  if [[ $HAVE_TORCH -eq 1 ]]; then
    quiet PyTorch
    "$PYTHON" scripts/bench_torch.py --threads 1,all --lengths "$LENGTHS" --runs "$RUNS" --jsonl "$OUT/torch.jsonl" \
      "all-MiniLM-L6-v2=$MINILM" "bert-base-shaped (random)=$RANDOM_DIR" | tee "$OUT/torch.txt"
  else
    echo "(PyTorch peer skipped: $PYTHON cannot import torch and transformers; set AV_BENCH_PYTHON)" | tee "$OUT/torch.txt"
  fi
fi

if want ort; then
  section "ONNX Runtime Web peer"
  : >"$OUT/ort.jsonl"
  if [[ $HAVE_TORCH -ne 1 ]] || ! "$PYTHON" -c 'import onnx, onnxscript' 2>/dev/null; then
    echo "(ONNX Runtime Web peer skipped: the ONNX export needs $PYTHON with torch, transformers, onnx and onnxscript; scripts/setup.sh bench installs the last two)" | tee "$OUT/ort.txt"
  elif [[ ! -f bench/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs ]]; then
    echo "(ONNX Runtime Web peer skipped: bench/node_modules missing; run scripts/setup.sh bench)" | tee "$OUT/ort.txt"
  else
    mkdir -p "$ONNX_DIR"
    for m in "all-MiniLM-L6-v2=$MINILM" "bert-base-random=$RANDOM_DIR"; do
      name=${m%%=*} dir=${m#*=}
      onnx="$ONNX_DIR/$name.onnx"
      # Re-exported when the weights' content (attention-bench rewrites the random model at each
      # run, same bytes) or the export script changed since the cached export.
      sum=$(cd "$dir" && sha256sum config.json model.safetensors)
      if [[ ! -f $onnx || ! -f $onnx.src || "$(cat "$onnx.src")" != "$sum" || scripts/export_onnx.py -nt $onnx ]]; then
        "$PYTHON" scripts/export_onnx.py "$dir" "$onnx" 2>&1 | grep -v -e 'torchvision is not installed' -e '^Loading weights'
        printf '%s\n' "$sum" >"$onnx.src"
      fi
    done
    node scripts/bench_ort.mjs --threads 1,2 --lengths "$LENGTHS" --runs "$RUNS" --jsonl "$OUT/ort.jsonl" \
      --model "all-MiniLM-L6-v2=$ONNX_DIR/all-MiniLM-L6-v2.onnx:$MINILM" \
      --model "bert-base-shaped (random)=$ONNX_DIR/bert-base-random.onnx:$RANDOM_DIR" | tee "$OUT/ort.txt"
  fi
fi

if want table; then
  section "side by side"
  jsonl=()
  for f in "$OUT/threads.jsonl" "$OUT/ort.jsonl" "$OUT/torch.jsonl"; do
    if [[ -f $f ]]; then jsonl+=(--jsonl "$f"); fi
  done
  node scripts/bench_table.mjs --native "$OUT/native.txt" --native1 "$OUT/native1.txt" --wasm "$OUT/wasm.txt" "${jsonl[@]}" | tee "$OUT/table.txt"
  node scripts/bench_table.mjs --markdown --native "$OUT/native.txt" --native1 "$OUT/native1.txt" --wasm "$OUT/wasm.txt" "${jsonl[@]}" >"$OUT/table.md"
fi

if want site || want first || want views || want memory || want variants; then
  scripts/build-site.sh --if-changed >"$OUT/trunk.log" 2>&1 || { tail -n 30 "$OUT/trunk.log" >&2; exit 1; }
fi
if want variants; then
  section "wasm: ours, simd128 and relaxed SIMD paired in one page"
  quiet variants
  node scripts/bench_variants.mjs --lengths "$LENGTHS" | tee "$OUT/variants.txt"
fi
if want site; then
  section "wasm binaries (dist/, release)"
  for f in dist/*_bg.wasm; do
    printf '  %-44s %8.1f KB raw %8.1f KB gzip\n' "$(basename "$f")" "$(($(stat -c %s "$f")))e-3" "$(($(gzip -9 -c "$f" | wc -c)))e-3"
  done | tee "$OUT/site.txt"
fi
if want first; then
  section "first heatmap with the model cached"
  node scripts/bench_first_heatmap.mjs --model-dir "$RANDOM_DIR" --tokens 32 --visits 7 | tee "$OUT/first.txt"
fi
if want views; then
  section "views"
  node scripts/bench_views.mjs --trace --model-dir "$RANDOM_DIR" --json "$OUT/views.json" | tee "$OUT/views.txt"
fi
if want memory; then
  section "memory while loading"
  cargo run --quiet --release --bin attention-bench -- --write-random-large .cache/bench/bert-large-random
  node scripts/bench_memory.mjs | tee "$OUT/memory.txt"
fi
