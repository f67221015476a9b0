#!/usr/bin/env bash
# Speed and size figures for the README (a benchmark: it prints, it asserts nothing).
#   1. native: attention-bench (release) on all-MiniLM-L6-v2 and a bert-base-shaped model with
#      seeded random weights (written to .cache/bench/bert-base-random for step 2);
#   2. wasm32+simd128 in headless Chromium: tests/wasm_bench.rs on the same files over HTTP;
#   3. the peer, PyTorch + transformers on the same files, when python3 has them;
#   4. the size of the two wasm binaries in dist/ (raw and gzip -9);
#   5. the redraw speed of the views (dist/ in headless Chromium, the random model of step 1)
#      next to the issue's targets: scripts/bench_views.mjs;
#   6. peak memory and input latency while the page loads bert-base- and bert-large-shaped
#      models (network, then Cache Storage): scripts/bench_memory.mjs.
# Every figure comes from this one run on this machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
RANDOM_DIR=.cache/bench/bert-base-random
MINILM=models/sentence-transformers/all-MiniLM-L6-v2/resolve/main
PYTHON="${AV_BENCH_PYTHON:-python3}"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo
OUT=target/bench
mkdir -p "$OUT"
cargo run --quiet --release --bin attention-bench -- --write-random "$RANDOM_DIR" | tee "$OUT/native.txt"
echo
# The wasm bench prints through the browser console; keep only its table lines.
# (No --quiet: cargo would pass it on to wasm-bindgen-test-runner.)
WASM_LOG=target/wasm-bench.log
if ! scripts/with-fixture-server.sh cargo test --release --target wasm32-unknown-unknown --test wasm_bench -- --nocapture >"$WASM_LOG" 2>&1; then
  tail -n 40 "$WASM_LOG" >&2
  exit 1
fi
grep 'BENCH' "$WASM_LOG" | sed 's/^.*BENCH //' | tee "$OUT/wasm.txt"
echo
if "$PYTHON" -c 'import torch, transformers' 2>/dev/null; then
  "$PYTHON" scripts/bench_torch.py "$MINILM" "$RANDOM_DIR" | tee "$OUT/torch.txt"
else
  : >"$OUT/torch.txt"
  echo "(PyTorch peer skipped: $PYTHON cannot import torch and transformers; set AV_BENCH_PYTHON)"
fi
echo
# Ratios per model and column (load, fwd 16/32/128): how much slower the page's engine is.
ratios() { # name, numerator file, denominator file
  [[ -s "$3" ]] || return 0
  echo "$1"
  awk -F'|' 'NR==FNR { if (NF >= 6) { k=$1; gsub(/ +$/, "", k); for (i=3; i<=NF; i++) d[k,i]=$i } ; next }
             NF >= 6 { k=$1; gsub(/ +$/, "", k); if ((k,3) in d) { line=sprintf("  %-28s", k);
               for (i=3; i<=NF; i++) line=line sprintf(" | %8.2fx", $i / d[k,i]); print line } }' "$3" "$2"
}
ratios "wasm / native   (load | fwd 16 | fwd 32 | fwd 128)" "$OUT/wasm.txt" "$OUT/native.txt"
ratios "wasm / PyTorch  (load | fwd 16 | fwd 32 | fwd 128)" "$OUT/wasm.txt" "$OUT/torch.txt"
echo
trunk build --release >target/bench/trunk.log 2>&1 || { tail -n 30 target/bench/trunk.log >&2; exit 1; }
echo "wasm binaries (dist/, release):"
for f in dist/*_bg.wasm; do
  printf '  %-44s %8.1f KB raw %8.1f KB gzip\n' "$(basename "$f")" "$(($(stat -c %s "$f")))e-3" "$(($(gzip -9 -c "$f" | wc -c)))e-3"
done
echo
node scripts/bench_views.mjs --trace --model-dir "$RANDOM_DIR" --json "$OUT/views.json" | tee "$OUT/views.txt"
echo
cargo run --quiet --release --bin attention-bench -- --write-random-large .cache/bench/bert-large-random
node scripts/bench_memory.mjs | tee "$OUT/memory.txt"
