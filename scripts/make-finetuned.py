#!/usr/bin/env python3
"""Build the fine-tuned all-MiniLM-L6-v2 of the compare view from the base model and a patch.

    models/sentence-transformers/all-MiniLM-L6-v2/resolve/main/   (scripts/fetch-model.sh)
  + tests/golden/models/minilm-bank/patch.safetensors              (24 f32 tensors, 7.1 MB)
  = models/attention-viz/minilm-bank-finetuned/resolve/main/{config.json,tokenizer.json,model.safetensors}

The patch holds the attention query and key projections (weights and biases) of all 6 layers
after fine-tuning on the word sense of "bank" (tests/golden/make_finetuned.py, PyTorch, run by
hand; see tests/golden/models/minilm-bank/README.md). Every other tensor is the base model's.
The output is the base file with those tensors' bytes replaced: same header, same offsets, so
a valid safetensors file. config.json and tokenizer.json are the base model's.

Python 3 standard library only (no numpy, no torch). Idempotent: does nothing when the three
output files are in place with the pinned sha256; checks the base model and the patch against
their pinned sha256 before building, and the result before moving it into place.

Usage: scripts/make-finetuned.py [--force]
       scripts/make-finetuned.py --assemble-only BASE.safetensors PATCH.safetensors OUT.safetensors
         (no checksums: for tests/golden/make_finetuned.py after it writes a new patch)
"""
import hashlib
import json
import os
import pathlib
import shutil
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BASE_DIR = ROOT / "models/sentence-transformers/all-MiniLM-L6-v2/resolve/main"
PATCH = ROOT / "tests/golden/models/minilm-bank/patch.safetensors"
REPO_ID = "attention-viz/minilm-bank-finetuned"
DEST = ROOT / "models" / REPO_ID / "resolve/main"

# Inputs: the base files as scripts/fetch-model.sh pins them, and the patch.
BASE_SHA256 = {
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
}
PATCH_SHA256 = "b830ed3ad769b13341ac826db7b8af5156d17637aa6c7c705edb61bd899b6321"
# Output: config.json and tokenizer.json are copies; model.safetensors is the assembled file.
OUT_SHA256 = {
    "config.json": BASE_SHA256["config.json"],
    "tokenizer.json": BASE_SHA256["tokenizer.json"],
    "model.safetensors": "a6769222efd48bf46d1c4f7054bdc8d85f72770f7f7bfd6612ed34652f641311",
}

DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
               "U8": 1, "BOOL": 1}
MAX_HEADER = 100 << 20


class Fail(Exception):
    pass


def say(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def sha256(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_safetensors(path: pathlib.Path):
    """(header bytes incl. the 8-byte length, {name: info}, data bytes); checks the layout."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise Fail(f"{path}: {e.strerror}")
    if len(raw) < 8:
        raise Fail(f"{path}: {len(raw)} bytes, too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > MAX_HEADER or 8 + n > len(raw):
        raise Fail(f"{path}: header length {n} does not fit a {len(raw)}-byte file; not a safetensors file?")
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise Fail(f"{path}: header is not JSON ({e})")
    if not isinstance(header, dict):
        raise Fail(f"{path}: header is not a JSON object")
    data = memoryview(raw)[8 + n:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (start, end) = info["dtype"], info["shape"], info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise Fail(f"{path}: tensor {name!r} lacks dtype/shape/data_offsets: {info!r}")
        if dtype not in DTYPE_BYTES:
            raise Fail(f"{path}: tensor {name!r} has unknown dtype {dtype!r}")
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            raise Fail(f"{path}: tensor {name!r} has a bad shape {shape!r}")
        count = 1
        for d in shape:
            count *= d
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(data)):
            raise Fail(f"{path}: tensor {name!r} data_offsets {[start, end]} outside the {len(data)}-byte data")
        if end - start != count * DTYPE_BYTES[dtype]:
            raise Fail(f"{path}: tensor {name!r} holds {end - start} bytes, "
                       f"{dtype} {shape} needs {count * DTYPE_BYTES[dtype]}")
        tensors[name] = {"dtype": dtype, "shape": shape, "start": start, "end": end}
    spans = sorted((t["start"], t["end"], k) for k, t in tensors.items())
    for (s0, e0, a), (s1, e1, b) in zip(spans, spans[1:]):
        if s1 < e0:
            raise Fail(f"{path}: tensors {a!r} and {b!r} overlap")
    return raw[:8 + n], tensors, data


def assemble(base_path: pathlib.Path, patch_path: pathlib.Path, out_path: pathlib.Path) -> int:
    """Writes base with every patch tensor's bytes replaced; returns how many were replaced."""
    head, base, base_data = read_safetensors(base_path)
    _, patch, patch_data = read_safetensors(patch_path)
    if not patch:
        raise Fail(f"{patch_path}: no tensors")
    problems = []
    for name, p in sorted(patch.items()):
        b = base.get(name)
        if b is None:
            problems.append(f"{name}: not in the base model")
            continue
        if p["dtype"] != "F32" or b["dtype"] != "F32":
            problems.append(f"{name}: dtype {p['dtype']} in the patch, {b['dtype']} in the base (both must be F32)")
        if p["shape"] != b["shape"]:
            problems.append(f"{name}: shape {p['shape']} in the patch, {b['shape']} in the base")
    if problems:
        raise Fail(f"{patch_path} does not fit {base_path}:\n  " + "\n  ".join(problems))
    data = bytearray(base_data)
    for name, p in patch.items():
        b = base[name]
        data[b["start"]:b["end"]] = patch_data[p["start"]:p["end"]]
    assert len(data) == len(base_data)
    with open(out_path, "wb") as f:
        f.write(head)
        f.write(data)
    return len(patch)


def build(force: bool) -> None:
    files = list(OUT_SHA256)
    rel = DEST.relative_to(ROOT)
    if not force and all((DEST / f).is_file() and sha256(DEST / f) == OUT_SHA256[f] for f in files):
        say(f"model: {REPO_ID} already in {rel}/ (verified)")
        return
    for f, want in BASE_SHA256.items():
        p = BASE_DIR / f
        if not p.is_file():
            raise Fail(f"{p.relative_to(ROOT)} is missing: run scripts/fetch-model.sh first")
        if sha256(p) != want:
            raise Fail(f"{p.relative_to(ROOT)} does not match its pinned sha256: "
                       "run scripts/fetch-model.sh --force")
    if not PATCH.is_file():
        raise Fail(f"{PATCH.relative_to(ROOT)} is missing (it is committed; check out the repository fully)")
    got = sha256(PATCH)
    if got != PATCH_SHA256:
        raise Fail(f"{PATCH.relative_to(ROOT)} has sha256 {got}, this script expects {PATCH_SHA256}; "
                   "after re-running tests/golden/make_finetuned.py, update PATCH_SHA256 and "
                   "OUT_SHA256['model.safetensors'] here")
    DEST.mkdir(parents=True, exist_ok=True)
    tmp = DEST / "model.safetensors.tmp"
    try:
        n = assemble(BASE_DIR / "model.safetensors", PATCH, tmp)
        got = sha256(tmp)
        if got != OUT_SHA256["model.safetensors"]:
            raise Fail(f"assembled model has sha256 {got}, expected {OUT_SHA256['model.safetensors']}")
        for f in ("config.json", "tokenizer.json"):
            shutil.copyfile(BASE_DIR / f, DEST / f"{f}.tmp")
            os.replace(DEST / f"{f}.tmp", DEST / f)
        os.replace(tmp, DEST / "model.safetensors")
    finally:
        for f in files:
            (DEST / f"{f}.tmp").unlink(missing_ok=True)
    size = (DEST / "model.safetensors").stat().st_size
    say(f"model ready: {rel}/ (base + {n} fine-tuned tensors, {size} bytes of weights)")


def main(argv) -> int:
    try:
        if argv[:1] == ["--assemble-only"] and len(argv) == 4:
            n = assemble(*(pathlib.Path(a) for a in argv[1:]))
            say(f"wrote {argv[3]} (base + {n} patched tensors)")
        elif argv in ([], ["--force"]):
            build(force=bool(argv))
        elif argv[:1] in (["-h"], ["--help"]):
            print(__doc__.strip())
        else:
            raise Fail(f"unknown arguments {argv} (try --help)")
    except Fail as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
