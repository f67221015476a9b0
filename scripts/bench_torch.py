#!/usr/bin/env python3
"""The PyTorch peer for `make bench`: Hugging Face transformers (PyTorch, CPU, eager attention,
output_attentions=True) on the same model folders and the same inputs as attention-bench and
tests/wasm_bench.rs ([CLS] + (n - 2) x "the" + [SEP]).

    bench_torch.py [--threads 1,all] [--lengths 16,32,128,512] [--runs 11] [--warmup 2]
                   [--jsonl FILE] NAME=DIR [NAME=DIR ...]

Optional: scripts/bench.sh runs it only when `import torch, transformers` works. Each model and
thread count runs in a fresh Python process (so its peak RSS, ru_maxrss, is its own): load
(from_pretrained, timed after an untimed first load that pays for lazy imports), then per length
--warmup untimed and --runs timed passes (time.perf_counter() around tokenizing, the forward pass
and torch.stack of the attentions, which is what the page keeps). Prints median, min and max per
length, GFLOP/s at the median, load time and peak RSS; --jsonl FILE appends one JSON object per row
(the input of scripts/bench_table.mjs).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time


def flops(cfg: dict, n: int) -> float:
    """As scripts/bench_lib.mjs bertFlops: the matmuls of one forward pass, multiply-add = 2."""
    d, layers, ff = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"]
    return layers * (8 * n * d * d + 4 * n * n * d + 4 * n * d * ff)


def fmt(x: float) -> str:
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def child(name: str, folder: str, threads: int, lengths, runs: int, warmup: int) -> list:
    import torch
    import transformers
    from transformers import AutoModel, AutoTokenizer

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    torch.set_num_threads(threads)
    AutoModel.from_pretrained(folder)  # untimed: the first load pays for lazy imports
    t0 = time.perf_counter()
    model = AutoModel.from_pretrained(folder, attn_implementation="eager").eval()
    load = (time.perf_counter() - t0) * 1e3
    tok = AutoTokenizer.from_pretrained(folder)
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    engine = f"torch-{threads}t"
    rows = [{"engine": engine, "model": name, "kind": "load", "ms": load}]
    head = f"{name}: PyTorch {torch.__version__} CPU, {torch.get_num_threads()} thread{'s' if threads > 1 else ''}"
    print(head, flush=True)
    for n in lengths:
        text = " ".join(["the"] * (n - 2))
        times = []
        with torch.no_grad():
            for i in range(warmup + runs):
                t0 = time.perf_counter()
                enc = tok(text, return_tensors="pt")
                out = model(**enc, output_attentions=True)
                torch.stack(out.attentions)  # what the page keeps: every layer's probabilities
                if i >= warmup:
                    times.append((time.perf_counter() - t0) * 1e3)
        assert enc["input_ids"].shape[1] == n, enc["input_ids"].shape
        med = statistics.median(times)
        print(
            f"  {n:>4} tokens: median {fmt(med):>7} ms  min {fmt(min(times)):>7}  max {fmt(max(times)):>7}"
            f"  ({len(times)} runs)  {flops(cfg, n) / (med * 1e6):.1f} GFLOP/s",
            flush=True,
        )
        rows.append({"engine": engine, "model": name, "n": n, "median": med, "min": min(times), "max": max(times), "runs": len(times)})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"  load (from_pretrained) {fmt(load)} ms; peak RSS {peak / 1e6:.0f} MB", flush=True)
    rows.append({"engine": engine, "model": name, "kind": "peak", "bytes": peak})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,all", help="comma-separated thread counts; 'all' = os.cpu_count()")
    ap.add_argument("--lengths", default="16,32,128,512")
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--jsonl")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("models", nargs="+", metavar="NAME=DIR")
    a = ap.parse_args()
    lengths = [int(x) for x in a.lengths.split(",")]
    threads = [(os.cpu_count() or 1) if t == "all" else int(t) for t in a.threads.split(",")]
    if a.child:  # one model, one thread count; rows as JSON on the last line
        name, folder = a.models[0].split("=", 1)
        rows = child(name, folder, threads[0], lengths, a.runs, a.warmup)
        print("ROWS " + json.dumps(rows), flush=True)
        return
    print(f"PyTorch peer, fresh process per model and thread count; median, min, max of {a.runs} runs after {a.warmup} warm-up, milliseconds")
    all_rows = []
    for spec in a.models:
        for t in dict.fromkeys(threads):
            cmd = [sys.executable, __file__, "--child", "--threads", str(t), "--lengths", a.lengths,
                   "--runs", str(a.runs), "--warmup", str(a.warmup), spec]
            p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
            for line in p.stdout.splitlines():
                if line.startswith("ROWS "):
                    all_rows += json.loads(line[5:])
                else:
                    print(line, flush=True)
            if p.returncode != 0:
                sys.exit(f"bench_torch.py: {spec} with {t} threads failed (exit {p.returncode})")
    if a.jsonl:
        with open(a.jsonl, "a") as f:
            for r in all_rows:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
