#!/usr/bin/env python3
"""Write golden attention fixtures with Hugging Face `transformers` (PyTorch, eager attention).

Run by hand, not in CI (it needs torch + transformers):

    python3 -m pip install torch transformers numpy
    python3 tests/golden/make_golden.py --model models/sentence-transformers/all-MiniLM-L6-v2/resolve/main

Each case becomes `<name>.json` (inputs, tokens, char offsets, shape) and `<name>.attn.gz`: all
attention weights `[layers, heads, seq, seq]` in fixed point, u32 = round(w * 2^24) (error
<= 3e-8, far below the 1e-5 the tests ask), stored as four byte planes (all low bytes, then the
next, ...) and gzipped. Small weights have zero high bytes, so the planes compress well.

It also writes `<name>.qk.gz` (the neuron view's inputs): every layer's per-head query and key
vectors, the outputs of `attention.self.query` / `.key` (after the bias, before the 1/sqrt(d)
scaling) captured with forward hooks, as gzip (mtime=0) of little-endian float32 q followed by
k, each `[layers, heads, seq, head_dim]` in C order; `<name>.json` names it in `qk_file` and
`qk_shape`. `--only-qk` writes only the `.qk.gz` files and merges those two fields into the
existing `<name>.json`, leaving the attention fixtures untouched.
"""
import argparse
import gzip
import json
import pathlib

import numpy as np
import torch
import transformers
from transformers import AutoModel, AutoTokenizer

LONG = (
    "The history of natural language processing generally started in the 1950s, although work "
    "can be found from earlier periods. In 1950, Alan Turing published an article titled "
    "\"Computing Machinery and Intelligence\" which proposed what is now called the Turing test "
    "as a criterion of intelligence. The Georgetown experiment in 1954 involved fully automatic "
    "translation of more than sixty Russian sentences into English. The authors claimed that "
    "within three or five years, machine translation would be a solved problem. However, real "
    "progress was much slower, and after the ALPAC report in 1966, which found that ten-year-long "
    "research had failed to fulfill the expectations, funding for machine translation was "
    "dramatically reduced. Little further research in machine translation was conducted until "
    "the late 1980s when the first statistical machine translation systems were developed. "
    "Some notably successful natural language processing systems developed in the 1960s were "
    "SHRDLU, a natural language system working in restricted \"blocks worlds\" with restricted "
    "vocabularies, and ELIZA, a simulation of a Rogerian psychotherapist, written by Joseph "
    "Weizenbaum between 1964 and 1966. Using almost no information about human thought or "
    "emotion, ELIZA sometimes provided a startlingly human-like interaction."
)

CASES = [
    ("bank", "He went to the bank to deposit money.", None),
    ("pair", "The cat sat on the mat.", "It was very comfortable there, wasn't it?"),
    ("unicode", "Café naïve façade — 東京タワー is tall! 🎉😀 Ünïcödé résumé, Straße.", None),
    ("long", LONG, None),
    ("single", "hello", None),
    ("whitespace", "  Tabs\tand\nnew  lines\r\n   and\u00a0non-breaking\u2003spaces  ", None),
]


def planes(q: np.ndarray) -> bytes:
    b = q.astype("<u4").view(np.uint8).reshape(-1, 4)
    return b.T.copy().tobytes()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="folder with config.json, tokenizer.json, model.safetensors")
    ap.add_argument("--out", default=str(pathlib.Path(__file__).parent / "fixtures"))
    ap.add_argument("--only-qk", action="store_true",
                    help="write only <name>.qk.gz and add qk_file/qk_shape to the existing <name>.json")
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModel.from_pretrained(args.model, attn_implementation="eager").eval()
    cfg = model.config
    heads, head_dim = cfg.num_attention_heads, cfg.hidden_size // cfg.num_attention_heads
    captured = {"q": [], "k": []}

    def keep(which):
        def hook(_module, _inputs, output):
            # [1, n, hidden] -> [heads, n, head_dim], as BertSelfAttention splits it.
            n = output.shape[1]
            captured[which].append(output[0].reshape(n, heads, head_dim).transpose(0, 1).detach().clone())
        return hook

    for layer in model.encoder.layer:
        layer.attention.self.query.register_forward_hook(keep("q"))
        layer.attention.self.key.register_forward_hook(keep("k"))

    for name, text, pair in CASES:
        enc = tok(text, pair, return_tensors="pt", return_offsets_mapping=True)
        offsets = enc.pop("offset_mapping")[0].tolist()
        captured["q"].clear()
        captured["k"].clear()
        with torch.no_grad():
            outputs = model(**enc, output_attentions=True)
        q_all = torch.stack(captured["q"]).numpy()  # [L,H,n,d]
        k_all = torch.stack(captured["k"]).numpy()
        assert q_all.shape == k_all.shape and q_all.shape[0] == cfg.num_hidden_layers, q_all.shape
        qk = np.concatenate([q_all.astype("<f4").ravel(), k_all.astype("<f4").ravel()])
        (out / f"{name}.qk.gz").write_bytes(gzip.compress(qk.tobytes(), 9, mtime=0))
        qk_fields = {
            "qk_file": f"{name}.qk.gz",
            "qk_shape": list(q_all.shape),
            "qk_encoding": "little-endian float32 q then k, each [L, H, n, d] C order, gzip",
        }
        if args.only_qk:
            meta_path = out / f"{name}.json"
            meta = json.loads(meta_path.read_text())
            if meta["input_ids"] != enc["input_ids"][0].tolist():
                raise SystemExit(f"{meta_path}: input ids differ from this tokenizer's; regenerate everything")
            meta.update(qk_fields)
            meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n")
            print(f"{name}: q/k shape {q_all.shape}")
            continue
        att = torch.stack(outputs.attentions)[:, 0].numpy().astype(np.float64)  # [L,H,n,n]
        q = np.rint(att * (1 << 24)).astype(np.uint32)
        (out / f"{name}.attn.gz").write_bytes(gzip.compress(planes(q), 9, mtime=0))
        ids = enc["input_ids"][0].tolist()
        meta = {
            "name": name,
            "text": text,
            "pair": pair,
            "input_ids": ids,
            "token_type_ids": enc["token_type_ids"][0].tolist(),
            "tokens": tok.convert_ids_to_tokens(ids),
            "offsets": offsets,
            "shape": list(att.shape),
            "attention_file": f"{name}.attn.gz",
            "attention_encoding": "u32 = round(w * 2^24), 4 byte planes (LSB first), gzip",
            "generator": f"transformers {transformers.__version__}, torch {torch.__version__}, eager attention",
            **qk_fields,
        }
        (out / f"{name}.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n")
        print(f"{name}: {len(ids)} tokens, shape {att.shape}")


if __name__ == "__main__":
    main()
