#!/usr/bin/env python3
"""ONNX export of a BERT model folder for `make bench`'s ONNX Runtime Web peer (never CI).

    python3 scripts/export_onnx.py MODEL_DIR OUT.onnx

Loads MODEL_DIR (config.json + model.safetensors, Hub layout as the app reads it) with
transformers' BertModel, eager attention, and exports it with torch.onnx (the dynamo exporter,
which needs the pip packages onnx and onnxscript; `scripts/setup.sh bench` installs them):

  inputs   input_ids, attention_mask, token_type_ids: int64 [1, seq]   (seq is dynamic)
  outputs  last_hidden_state: float32 [1, seq, hidden]
           attention_0 ... attention_{L-1}: float32 [1, heads, seq, seq]  (every layer's softmax
           probabilities, as the page keeps them; one output per layer, so ORT adds no concat)

The export is checked against PyTorch with onnx's reference-free check (onnx.checker) and, when
the onnxruntime pip package is present, numerically at 16 tokens. Writes OUT.onnx atomically
(a .tmp then rename), so a broken export never leaves a file the bench would trust.
"""
import os
import sys
import time
import warnings

import torch
import transformers
from transformers import BertConfig, BertModel

transformers.logging.set_verbosity_error()
warnings.filterwarnings("ignore")


class WithAttentions(torch.nn.Module):
    """BertModel returning (last_hidden_state, attention_0, ..., attention_{L-1})."""

    def __init__(self, bert: BertModel):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        out = self.bert(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            output_attentions=True,
            return_dict=True,
        )
        return (out.last_hidden_state, *out.attentions)


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    folder, out = sys.argv[1], sys.argv[2]
    t0 = time.perf_counter()
    config = BertConfig.from_pretrained(folder)
    bert = BertModel.from_pretrained(folder, config=config, attn_implementation="eager", add_pooling_layer=False).eval()
    model = WithAttentions(bert).eval()
    layers = config.num_hidden_layers
    n = 16
    example = (
        torch.randint(1000, 2000, (1, n), dtype=torch.int64),
        torch.ones(1, n, dtype=torch.int64),
        torch.zeros(1, n, dtype=torch.int64),
    )
    names_in = ["input_ids", "attention_mask", "token_type_ids"]
    names_out = ["last_hidden_state"] + [f"attention_{i}" for i in range(layers)]
    seq = torch.export.Dim("seq", min=2, max=config.max_position_embeddings)
    tmp = out + ".tmp"
    with torch.no_grad():
        reference = model(*example)
        program = torch.onnx.export(
            model,
            example,
            dynamo=True,
            input_names=names_in,
            output_names=names_out,
            dynamic_shapes={"input_ids": {1: seq}, "attention_mask": {1: seq}, "token_type_ids": {1: seq}},
            optimize=True,
            verbose=False,
        )
    program.save(tmp)
    import onnx

    proto = onnx.load(tmp, load_external_data=False)
    onnx.checker.check_model(proto) if os.path.getsize(tmp) < 2**31 else None
    got_in = [i.name for i in proto.graph.input]
    got_out = [o.name for o in proto.graph.output]
    if got_in != names_in or got_out != names_out:
        raise SystemExit(f"unexpected graph signature: inputs {got_in}, outputs {got_out}")
    try:
        import onnxruntime as ort  # optional: a numeric check of the export
    except ImportError:
        ort = None
    if ort is not None:
        sess = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
        for k in (16, 37):
            ids = torch.randint(1000, 2000, (1, k), dtype=torch.int64)
            feeds = {"input_ids": ids.numpy(), "attention_mask": torch.ones(1, k, dtype=torch.int64).numpy(),
                     "token_type_ids": torch.zeros(1, k, dtype=torch.int64).numpy()}
            got = sess.run(None, feeds)
            with torch.no_grad():
                want = model(*(torch.from_numpy(feeds[x]) for x in names_in))
            err = max(float(abs(torch.from_numpy(g) - w).max()) for g, w in zip(got, want))
            if err > 1e-3:
                raise SystemExit(f"ONNX export differs from PyTorch at {k} tokens: max |diff| {err}")
            print(f"  checked with onnxruntime {ort.__version__} at {k} tokens: max |diff| {err:.2e}")
    os.replace(tmp, out)
    del reference
    print(
        f"exported {folder} -> {out} ({os.path.getsize(out) / 1e6:.1f} MB, {layers} layers, "
        f"torch {torch.__version__}, transformers {transformers.__version__}, {time.perf_counter() - t0:.0f} s)"
    )


if __name__ == "__main__":
    main()
