#!/usr/bin/env python3
"""The peer for `make bench`: Hugging Face transformers (PyTorch, CPU, eager attention,
output_attentions=True) on the same model folders and the same inputs as attention-bench.

Optional: scripts/bench.sh runs it only when `import torch, transformers` works.
Prints rows in attention-bench's format: model | MB | load ms | fwd 16 | fwd 32 | fwd 128.
"""
import os
import statistics
import sys
import time

import torch
import transformers
from transformers import AutoModel, AutoTokenizer

transformers.logging.set_verbosity_error()
transformers.logging.disable_progress_bar()

LENGTHS = (16, 32, 128)
REPEAT = 5


def measure(label: str, folder: str) -> None:
    AutoModel.from_pretrained(folder)  # untimed: the first load pays for lazy imports
    t0 = time.perf_counter()
    model = AutoModel.from_pretrained(folder, attn_implementation="eager").eval()
    load = (time.perf_counter() - t0) * 1e3
    tok = AutoTokenizer.from_pretrained(folder)
    size = os.path.getsize(os.path.join(folder, "model.safetensors")) / 1e6
    cells = [f"{label:<28}", f"{size:>8.1f}", f"{load:>9.0f}"]
    for n in LENGTHS:
        text = " ".join(["the"] * (n - 2))
        times = []
        with torch.no_grad():
            for i in range(REPEAT + 1):
                t0 = time.perf_counter()
                enc = tok(text, return_tensors="pt")
                out = model(**enc, output_attentions=True)
                torch.stack(out.attentions)  # what the page keeps: every layer's probabilities
                if i:  # first run is warm-up
                    times.append((time.perf_counter() - t0) * 1e3)
        assert enc["input_ids"].shape[1] == n
        cells.append(f"{statistics.median(times):>9.1f}")
    print(" | ".join(cells), flush=True)


def main() -> None:
    minilm, base = sys.argv[1], sys.argv[2]
    torch.set_num_threads(os.cpu_count() or 1)
    print(f"PyTorch {torch.__version__} CPU ({torch.get_num_threads()} threads), median of {REPEAT} runs, milliseconds")
    measure("all-MiniLM-L6-v2", minilm)
    measure("bert-base-shaped (random)", base)


if __name__ == "__main__":
    main()
