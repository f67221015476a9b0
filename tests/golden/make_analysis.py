#!/usr/bin/env python3
"""Golden fixtures for `src/analysis` (head fusion, rollout, flow, head statistics, relation
grid), computed in NumPy + networkx from the PyTorch attention fixtures, independently of the
Rust code.

Run by hand, not in CI (a dev tool; it needs numpy and networkx, ~5 minutes for the flows):

    python3 -m pip install numpy networkx
    python3 tests/golden/make_analysis.py

It reads `tests/golden/fixtures/<case>.json` + `<case>.attn.gz` (written by make_golden.py:
all-MiniLM-L6-v2's attention `[L, H, n, n]` as u32 = round(w * 2^24) in four gzipped byte
planes) and writes, for every case:

- `<case>.analysis.gz`: the arrays below, concatenated in the order of `arrays` in the JSON,
  each C order, in the attention fixtures' encoding (u32 = round(v * 2^24), 4 byte planes LSB
  first over the whole concatenation, gzip mtime=0; every value lies in [0, 1]);
- `<case>.analysis.json`: `arrays` (name, shape, offset in values), `stats` (per head,
  index layer * H + head: entropy_bits, entropy_norm, distance, to_cls, to_sep, to_punct,
  to_self, to_prev, to_next), `roles` (one name per head), the token kinds used, and for
  `bank` the relation grid.

Definitions (the paper each follows is cited in the Rust docs):

- fusion_<f>: element-wise mean/max/min over all heads of each layer, `[L, n, n]` (for
  `long` only the mean, to keep the fixtures small); fusion_mean_h025: mean over heads 0, 2,
  5 (bank only).
- rollout_<f>: Abnar & Zuidema 2020 with the authors' `compute_joint_attention`:
  Â = (A + I) / rowsum, R_0 = Â_0, R_l = Â_l @ R_{l-1}; `[L, n, n]` (mean for every case, max
  for bank).
- flow_upto<u>: attention flow on the mean fusion: networkx `maximum_flow_value` with
  Edmonds-Karp (the authors' choice) in the DiGraph with an edge (l+1, i) -> (l, j) of
  capacity Â_l[i][j] for l = 0..u, from (u+1, i) to (0, j); raw values (not row-normalised),
  `[n, n]`. Every case but `long`, for u = L - 1, and bank also for u = 2.
- stats: per head, means over rows: entropy in bits, entropy / log2 n, sum_j a_ij |i - j|,
  shares to [CLS] (position 0 when special), to [SEP] (every other special token), to
  punctuation (non-special tokens made only of Unicode category P* characters), to itself,
  to the previous token (mean over rows i >= 1), to the next (rows i <= n - 2).
- roles: the first rule that holds, in this order: previous-token (to_prev >= 0.5),
  next-token, self, sep-sink, cls-sink, punctuation (each share >= 0.5), broad
  (entropy_norm >= 0.8); else none.
- relation (bank): sum over from-rows and to-columns of each head, `[L * H]`.
"""
import argparse
import gzip
import json
import pathlib
import time
import unicodedata

import networkx as nx
import numpy as np
from networkx.algorithms.flow import edmonds_karp

CASES = ["bank", "pair", "unicode", "long", "single", "whitespace"]
SPECIAL = {"[CLS]", "[SEP]"}
SCALE = 1 << 24


def load(fixtures: pathlib.Path, case: str):
    meta = json.loads((fixtures / f"{case}.json").read_text())
    raw = gzip.decompress((fixtures / meta["attention_file"]).read_bytes())
    count = int(np.prod(meta["shape"]))
    planes = np.frombuffer(raw, dtype=np.uint8).reshape(4, count)
    q = planes.T.copy().view("<u4").reshape(count)
    return meta, (q.astype(np.float64) / SCALE).reshape(meta["shape"])


def residual(a: np.ndarray) -> np.ndarray:
    """Â = (A + I) / rowsum for each [.., n, n] matrix."""
    aug = a + np.eye(a.shape[-1])
    return aug / aug.sum(axis=-1, keepdims=True)


def rollout(fused: np.ndarray) -> np.ndarray:
    hat = residual(fused)
    out = np.zeros_like(hat)
    out[0] = hat[0]
    for layer in range(1, hat.shape[0]):
        out[layer] = hat[layer] @ out[layer - 1]
    return out


def flow(fused: np.ndarray, upto: int) -> np.ndarray:
    hat = residual(fused)
    n = hat.shape[-1]
    g = nx.DiGraph()
    for layer in range(upto + 1):
        for i in range(n):
            for j in range(n):
                c = float(hat[layer, i, j])
                if c > 0:
                    g.add_edge((layer + 1, i), (layer, j), capacity=c)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = nx.maximum_flow_value(g, (upto + 1, i), (0, j), flow_func=edmonds_karp)
    return out


def is_punct(token: str) -> bool:
    t = token.strip()
    return bool(t) and all(unicodedata.category(c).startswith("P") for c in t)


def kinds(tokens):
    special = [t in SPECIAL for t in tokens]
    cls = [i == 0 and special[0] for i in range(len(tokens))]
    sep = [i > 0 and special[i] for i in range(len(tokens))]
    punct = [not special[i] and is_punct(t) for i, t in enumerate(tokens)]
    return cls, sep, punct


def stats(m: np.ndarray, cls, sep, punct) -> dict:
    n = m.shape[0]
    a = np.where(np.isfinite(m) & (m > 0), m, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(a > 0, a * np.log2(np.where(a > 0, a, 1.0)), 0.0).sum(axis=1).mean()
    idx = np.arange(n)
    dist = (a * np.abs(idx[:, None] - idx[None, :])).sum(axis=1).mean()
    share = lambda flags: a[:, np.array(flags, dtype=bool)].sum(axis=1).mean() if any(flags) else 0.0
    neighbours = max(n - 1, 1)
    return {
        "entropy_bits": float(ent),
        "entropy_norm": float(ent / np.log2(n)) if n > 1 else 0.0,
        "distance": float(dist),
        "to_cls": float(share(cls)),
        "to_sep": float(share(sep)),
        "to_punct": float(share(punct)),
        "to_self": float(np.trace(a) / n),
        "to_prev": float(sum(a[i, i - 1] for i in range(1, n)) / neighbours),
        "to_next": float(sum(a[i, i + 1] for i in range(n - 1)) / neighbours),
    }


def role(s: dict) -> str:
    for name, key in [("previous-token", "to_prev"), ("next-token", "to_next"), ("self", "to_self"),
                      ("sep-sink", "to_sep"), ("cls-sink", "to_cls"), ("punctuation", "to_punct")]:
        if s[key] >= 0.5:
            return name
    return "broad" if s["entropy_norm"] >= 0.8 else "none"


def planes(values: np.ndarray) -> bytes:
    assert values.min() >= 0 and values.max() < 256, (values.min(), values.max())
    q = np.rint(values * SCALE).astype("<u4")
    return q.view(np.uint8).reshape(-1, 4).T.copy().tobytes()


def main() -> None:
    here = pathlib.Path(__file__).parent
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default=str(here / "fixtures"))
    ap.add_argument("--cases", nargs="*", default=CASES)
    args = ap.parse_args()
    fixtures = pathlib.Path(args.fixtures)
    for case in args.cases:
        t0 = time.time()
        meta, att = load(fixtures, case)
        layers, heads, n, _ = att.shape
        arrays = {"fusion_mean": att.mean(axis=1)}
        if case != "long":
            # Max and min would add 1.2 MB for `long`; they are element-wise, and the five
            # other cases cover them.
            arrays["fusion_max"] = att.max(axis=1)
            arrays["fusion_min"] = att.min(axis=1)
        arrays["rollout_mean"] = rollout(arrays["fusion_mean"])
        if case == "bank":
            arrays["fusion_mean_h025"] = att[:, [0, 2, 5]].mean(axis=1)
            arrays["rollout_max"] = rollout(arrays["fusion_max"])
        if case != "long":
            arrays[f"flow_upto{layers - 1}"] = flow(arrays["fusion_mean"], layers - 1)
            if case == "bank":
                arrays["flow_upto2"] = flow(arrays["fusion_mean"], 2)
        directory, offset = [], 0
        for name, v in arrays.items():
            directory.append({"name": name, "shape": list(v.shape), "offset": offset})
            offset += v.size
        blob = np.concatenate([v.ravel() for v in arrays.values()])
        (fixtures / f"{case}.analysis.gz").write_bytes(gzip.compress(planes(blob), 9, mtime=0))

        cls, sep, punct = kinds(meta["tokens"])
        head_stats = [stats(att[l, h], cls, sep, punct) for l in range(layers) for h in range(heads)]
        doc = {
            "name": case,
            "attention_fixture": f"{case}.json",
            "shape": meta["shape"],
            "values_file": f"{case}.analysis.gz",
            "values_encoding": "u32 = round(v * 2^24), 4 byte planes (LSB first) over all arrays, gzip",
            "arrays": directory,
            "kinds": {"cls": cls, "sep": sep, "punct": punct},
            "stats": head_stats,
            "roles": [role(s) for s in head_stats],
            "generator": f"tests/golden/make_analysis.py, numpy {np.__version__}, networkx {nx.__version__}",
        }
        if case == "bank":
            tokens = meta["tokens"]
            frm = [tokens.index("bank")]
            to = [tokens.index("deposit"), tokens.index("money")]
            grid = att[:, :, frm][:, :, :, to].sum(axis=(2, 3)).reshape(-1)
            doc["relation"] = {"from": frm, "to": to, "grid": [float(x) for x in grid]}
        # One line per key, and per head for the per-head lists: small, and diffs stay readable.
        lines = []
        for key, value in doc.items():
            if key in ("stats", "arrays"):
                inner = ",\n  ".join(json.dumps(v, ensure_ascii=False) for v in value)
                lines.append(f" {json.dumps(key)}: [\n  {inner}\n ]")
            else:
                lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
        (fixtures / f"{case}.analysis.json").write_text("{\n" + ",\n".join(lines) + "\n}\n")
        size = sum((fixtures / f).stat().st_size for f in (f"{case}.analysis.gz", f"{case}.analysis.json"))
        print(f"{case}: n = {n}, {', '.join(arrays)}; {size} bytes, {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
