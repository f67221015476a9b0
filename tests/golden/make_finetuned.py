#!/usr/bin/env python3
"""Fine-tune all-MiniLM-L6-v2 on the word sense of "bank" and write the compare view's model
pair: a small weight patch and golden fixtures for the base and the fine-tuned model.

Run by hand, not in CI (it needs torch + transformers + numpy + safetensors; a few minutes on
2 CPU cores):

    python3 tests/golden/make_finetuned.py            # train, write patch + fixtures + README numbers
    python3 tests/golden/make_finetuned.py --fixtures-only   # fixtures from the existing patch
    python3 tests/golden/make_finetuned.py --readme-only     # README.md from train-log.json

The task: is "bank" a financial institution (label 0) or the side of a river (label 1)? The
labelled set (~390 sentences) is built below from templates (frames x subjects x time phrases,
sampled with a fixed seed; about a third of them from "mixed" frames where the other words point the
wrong way, e.g. cash dropped on a river bank) plus handwritten sentences. The held-out split is
by frame: every sentence of a quarter of the frames (and a quarter of the handwritten ones) is
held out, so the test sentences are not the training frames with another subject. A further 16
harder handwritten sentences (indirect or misleading cues) are only ever evaluated.

The classifier reads the final hidden state of the "bank" token (the usual word-sense set-up;
the sentence is about the word) through a linear head (384 -> 2) that is not shipped.
"Before" is a linear probe: the head trained alone on the frozen base model. "After" starts
from that head and trains the head together with the attention query and key projections
(weights and biases) of all 6 layers; everything else (embeddings, values, attention output,
feed-forward, LayerNorms) stays frozen bit for bit, so the fine-tuned model is the base file
with 24 tensors replaced (6 layers x {query, key} x {weight, bias}, 7.1 MB of f32).

It writes:

- `tests/golden/models/minilm-bank/patch.safetensors`: those 24 tensors, f32, named exactly as
  in the base file; `scripts/make-finetuned.py` (stdlib only) builds the full model from it.
- `tests/golden/fixtures/compare/<case>.base.{json,attn.gz}` and `<case>.finetuned.{json,
  attn.gz}`: the same format as `make_golden.py` (see there), without `.qk.gz` to stay small
  (only `money.finetuned` has one: the fine-tuned queries and keys of the shortest case).
- `tests/golden/fixtures/compare/<case>.metrics.json`: per layer x head, the mean absolute
  difference of the two attention matrices (mean over all seq x seq weights) and the
  Jensen-Shannon divergence of each row (base-2 logs, 0 log 0 = 0, so in bits, 0..1), mean over
  the rows; computed with NumPy in float64 from PyTorch's float32 weights.

It prints the accuracies, the attention from "bank" to its cue words before and after, and the
heads that changed most, and checks that the patched base file reloads (through
`scripts/make-finetuned.py`) to exactly the fine-tuned attentions. After a training run, put the
two sha256 it prints (patch, assembled model) into `scripts/make-finetuned.py` and commit the
patch, its README and the fixtures together.
"""
import argparse
import gzip
import hashlib
import json
import pathlib
import random
import subprocess
import sys
import tempfile

import numpy as np
import torch
import transformers
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import AutoModel, AutoTokenizer

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
from make_golden import planes  # noqa: E402  (same fixture encoding)

BASE = ROOT / "models/sentence-transformers/all-MiniLM-L6-v2/resolve/main"
PATCH_DIR = HERE / "models/minilm-bank"
FIXTURES = HERE / "fixtures/compare"
SEED = 20261128
BANK_ID = 2924  # "bank" in MiniLM's (bert-base-uncased) vocabulary

# --- the labelled set -------------------------------------------------------------------------

SUBJECTS = ["She", "He", "I", "We", "They", "My uncle", "The old man", "Our neighbour",
            "The student", "My sister", "The farmer", "A tourist"]
WHEN = ["", " yesterday", " on Monday", " after work", " this morning", " last week",
        " every Friday", " before lunch"]

FIN_FRAMES = [
    "{s} deposited the cheque at the bank{w}.",
    "{s} went to the bank{w} to withdraw some cash.",
    "{s} asked the bank for a loan{w}.",
    "{s} opened a savings account at the bank{w}.",
    "{s} called the bank{w} about a missing payment.",
    "{s} paid the bills at the bank{w}.",
    "{s} queued at the bank{w} to speak to a teller.",
    "{s} transferred the money to another bank{w}.",
    "{s} met the manager of the bank{w} to discuss the mortgage.",
    "{s} changed dollars into euros at the bank{w}.",
    "{s} complained to the bank{w} about the high fees.",
    "{s} used the cash machine outside the bank{w}.",
    "{s} borrowed money from the bank{w} to buy a car.",
    "{s} checked the balance with the bank{w}.",
    "{s} kept the gold in a safe deposit box at the bank{w}.",
    "{s} applied for a credit card at the bank{w}.",
]
RIV_FRAMES = [
    "{s} fished from the grassy bank of the river{w}.",
    "{s} sat on the bank{w} and watched the water flow past.",
    "{s} pulled the canoe up onto the muddy bank{w}.",
    "{s} walked along the bank of the stream{w}.",
    "{s} had a picnic on the bank{w} under the willows.",
    "{s} slipped on the wet bank{w} and fell into the creek.",
    "{s} watched the ducks from the bank of the pond{w}.",
    "{s} planted reeds along the bank{w} to stop the erosion.",
    "{s} climbed down the steep bank{w} to the water.",
    "{s} camped on the far bank of the lake{w}.",
    "{s} tied the boat to a tree on the bank{w}.",
    "{s} found frogs in the mud of the bank{w}.",
    "{s} swam across to the other bank{w}.",
    "{s} picked blackberries on the bank of the canal{w}.",
    "{s} saw an otter on the river bank{w}.",
    "{s} lay in the sun on the sandy bank{w}.",
]
# Frames whose other words point the wrong way: the model must tell from the phrase around
# "bank" (at the bank / bank of the river), not from any money or water word in the sentence.
FIN_MIXED = [
    "{s} walked along the river{w} to the bank to pay in a cheque.",
    "{s} rowed across the lake{w} and then queued at the bank for cash.",
    "{s} paid for the fishing boat with a loan from the bank{w}.",
    "{s} left the muddy riverside path{w} and went into the bank to open an account.",
    "{s} took a photo of the stream{w} before withdrawing cash at the bank.",
    "{s} asked the bank{w} to lend the money for a house by the water.",
    "{s} fed the ducks on the pond{w} and then went to the bank to see the manager.",
    "{s} told the bank{w} that the flood had destroyed the shop.",
]
RIV_MIXED = [
    "{s} dropped a wallet full of cash on the grassy bank{w}.",
    "{s} counted the money{w} while sitting on the muddy bank by the water.",
    "{s} found an old coin{w} in the mud of the bank.",
    "{s} lost a credit card{w} while fishing from the bank.",
    "{s} read a letter from the tax office{w} on the bank of the canal.",
    "{s} sat on the bank{w} and worried about the mortgage.",
    "{s} hid the stolen money{w} in a hole in the bank by the stream.",
    "{s} paid the ferryman{w} and stepped onto the far bank.",
]
FIN_HAND = [
    "The bank raised its interest rates again.",
    "Her salary is paid straight into the bank.",
    "The bank was robbed by two masked men.",
    "Interest at that bank is barely above zero.",
    "The central bank cut rates to fight the recession.",
    "Which bank holds your pension?",
    "The bank closed its branch in our village.",
    "He works as a cashier at the bank on Main Street.",
    "The bank refused to lend them any more money.",
    "You need two forms of ID to open a bank account.",
    "The bank froze his account after the fraud.",
    "That bank charges a fee for every transfer.",
    "She has worked in investment at the bank for ten years.",
    "The bank statement arrived in the post.",
    "A new bank opened next to the supermarket.",
    "The bank sold the house after the owners defaulted.",
    "My bank sends me a text for every payment.",
    "The queue at the bank went out of the door.",
    "The bank's profits fell by a third.",
    "Put your savings in a bank, not under the mattress.",
    "The bank offers students a free overdraft.",
    "Shares in the bank collapsed overnight.",
    "The robbers escaped from the bank with the cash.",
    "I still owe the bank twenty thousand pounds.",
]
RIV_HAND = [
    "The river burst its bank after the storm.",
    "Wild flowers grew all along the bank.",
    "The heron stood motionless on the bank.",
    "Children threw stones into the water from the bank.",
    "The bank of the river was covered in moss.",
    "Willows lean over the bank at the bend.",
    "The cows came down the bank to drink.",
    "Floodwater washed away part of the bank.",
    "A kingfisher nested in a hole in the bank.",
    "The path follows the bank of the Thames.",
    "Fishermen lined the bank at dawn.",
    "The car rolled down the bank into the lake.",
    "Beavers had built their lodge against the bank.",
    "The boat drifted towards the opposite bank.",
    "Rabbits dig their burrows into the dry bank.",
    "The old mill stands on the east bank.",
    "We spread a blanket on the shady bank.",
    "The water rose almost to the top of the bank.",
    "Tall grass hid the bank from the road.",
    "The swans rested on the bank of the pond.",
    "A narrow bank of sand separates the lagoon from the sea.",
    "Moorhens nest in the reeds by the bank.",
    "The dog scrambled up the slippery bank.",
    "From the bank we could see fish in the shallows.",
]

# Held out too, never trained on: harder sentences whose cue is indirect or points the other
# way (a river next to a financial bank, coins on a river bank).
HARD = [
    ("The bank on the corner is closed on Sundays.", 0),
    ("She walked past the river to get to the bank before it closed.", 0),
    ("After the flood, the bank reopened its doors to customers.", 0),
    ("He parked by the canal and ran into the bank to sign the papers.", 0),
    ("My grandfather worked at the bank by the harbour for forty years.", 0),
    ("The bank near the lake hired three new clerks.", 0),
    ("They watched the boats before heading to the bank to sort out the overdraft.", 0),
    ("The bank sent him a letter in a brown envelope.", 0),
    ("The bank was so steep that the children slid down it on cardboard.", 1),
    ("After the rain, the bank was slippery and covered in mud.", 1),
    ("She sat on the bank counting the coins she had found in the shallows.", 1),
    ("The fisherman counted his money while sitting on the bank.", 1),
    ("The bank, overgrown with nettles, sloped down to the water.", 1),
    ("We left the car near the bank and waded across the ford.", 1),
    ("The bank had eroded so much that the fence now hung over the stream.", 1),
    ("Police searched the bank downstream for the missing boy's shoes.", 1),
]

PER_CLASS = 120  # templated sentences per class from the plain frames
PER_CLASS_MIXED = 50  # and from the mixed-cue frames (plus the handwritten ones)


def dataset(seed: int):
    """(train, test) lists of (sentence, label); the split holds out whole frames."""
    rng = random.Random(seed)
    train, test = [], []
    for label, plain, mixed, hand in ((0, FIN_FRAMES, FIN_MIXED, FIN_HAND),
                                      (1, RIV_FRAMES, RIV_MIXED, RIV_HAND)):
        for frames, count in ((plain, PER_CLASS), (mixed, PER_CLASS_MIXED)):
            held = set(rng.sample(range(len(frames)), len(frames) // 4))
            every = [(f, s, w) for f in range(len(frames)) for s in SUBJECTS for w in WHEN]
            for f, s, w in rng.sample(every, count):
                text = frames[f].format(s=s, w=w)
                (test if f in held else train).append((text, label))
        hand = hand[:]
        rng.shuffle(hand)
        q = len(hand) // 4
        test += [(t, label) for t in hand[:q]]
        train += [(t, label) for t in hand[q:]]
    rng.shuffle(train)
    rng.shuffle(test)
    return train, test


# --- training -----------------------------------------------------------------------------------

def qk_names(model):
    return [n for n, _ in model.named_parameters()
            if ".attention.self.query." in n or ".attention.self.key." in n]


def bank_states(model, enc):
    """Final hidden state of the first "bank" token of each sentence: [batch, hidden]."""
    out = model(**enc).last_hidden_state
    pos = (enc["input_ids"] == BANK_ID).int().argmax(dim=1)
    return out[torch.arange(out.shape[0]), pos]


def features(model, tok, data) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return torch.cat([bank_states(model, tok([t for t, _ in data[i:i + 64]], padding=True, return_tensors="pt"))
                          for i in range(0, len(data), 64)])


def evaluate(model, head, tok, data) -> dict:
    """Accuracy and mean cross-entropy (nats) of the classifier on `data`."""
    with torch.no_grad():
        logits = head(features(model, tok, data))
        y = torch.tensor([y for _, y in data])
        return {"accuracy": round(float((logits.argmax(-1) == y).float().mean()), 4),
                "loss": round(float(torch.nn.functional.cross_entropy(logits, y)), 5)}


def probe(head, x, y, steps, lr, seed, batch=16):
    """Trains the head alone on fixed features."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=0.0)
    for _ in range(steps):
        idx = torch.randint(len(y), (batch,), generator=g)
        loss = torch.nn.functional.cross_entropy(head(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()


def train(model, head, tok, data, params, steps, lr, seed, batch=16):
    g = random.Random(seed)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    loss_fn = torch.nn.CrossEntropyLoss()
    order = []
    for step in range(steps):
        if len(order) < batch:
            order = list(range(len(data)))
            g.shuffle(order)
        idx, order = order[:batch], order[batch:]
        b = [data[i] for i in idx]
        model.train()
        enc = tok([t for t, _ in b], padding=True, return_tensors="pt")
        loss = loss_fn(head(bank_states(model, enc)), torch.tensor([y for _, y in b]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == steps - 1:
            print(f"  step {step:>3}: loss {loss.item():.4f}")


# --- fixtures -----------------------------------------------------------------------------------

CASES = [
    ("both", "I deposited money at the bank before walking along the river bank."),
    ("river", "They fished from the grassy bank of the river all afternoon."),
    ("money", "He went to the bank to deposit money."),
]
QK_CASES = {"money"}  # the fine-tuned model's queries and keys, for the shortest case only


def attentions(model, tok, text):
    enc = tok(text, return_tensors="pt", return_offsets_mapping=True)
    offsets = enc.pop("offset_mapping")[0].tolist()
    with torch.no_grad():
        out = model(**enc, output_attentions=True)
    att = torch.stack(out.attentions)[:, 0].numpy()  # [L,H,n,n] float32
    return enc, offsets, att


def qk_of(model, tok, text):
    cfg = model.config
    heads, head_dim = cfg.num_attention_heads, cfg.hidden_size // cfg.num_attention_heads
    got = {"q": [], "k": []}

    def keep(which):
        def hook(_m, _i, output):
            n = output.shape[1]
            got[which].append(output[0].reshape(n, heads, head_dim).transpose(0, 1).detach().clone())
        return hook

    hooks = []
    for layer in model.encoder.layer:
        hooks.append(layer.attention.self.query.register_forward_hook(keep("q")))
        hooks.append(layer.attention.self.key.register_forward_hook(keep("k")))
    with torch.no_grad():
        model(**tok(text, return_tensors="pt"))
    for h in hooks:
        h.remove()
    return torch.stack(got["q"]).numpy(), torch.stack(got["k"]).numpy()


def js_bits(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence of the last axis, base-2 logs, 0 log 0 = 0."""
    m = (p + q) / 2

    def kl(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(a > 0, a * np.log2(np.where(a > 0, a, 1) / np.where(b > 0, b, 1)), 0.0)
        return t.sum(-1)

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def write_fixture(name, which, text, enc, offsets, att, tok, qk=None):
    ids = enc["input_ids"][0].tolist()
    stem = f"{name}.{which}"
    q = np.rint(att.astype(np.float64) * (1 << 24)).astype(np.uint32)
    (FIXTURES / f"{stem}.attn.gz").write_bytes(gzip.compress(planes(q), 9, mtime=0))
    meta = {
        "name": stem,
        "text": text,
        "pair": None,
        "model": which,
        "input_ids": ids,
        "token_type_ids": enc["token_type_ids"][0].tolist(),
        "tokens": tok.convert_ids_to_tokens(ids),
        "offsets": offsets,
        "shape": list(att.shape),
        "attention_file": f"{stem}.attn.gz",
        "attention_encoding": "u32 = round(w * 2^24), 4 byte planes (LSB first), gzip",
        "generator": f"transformers {transformers.__version__}, torch {torch.__version__}, eager attention",
    }
    if qk is not None:
        qa, ka = qk
        (FIXTURES / f"{stem}.qk.gz").write_bytes(
            gzip.compress(np.concatenate([qa.astype("<f4").ravel(), ka.astype("<f4").ravel()]).tobytes(), 9, mtime=0))
        meta.update({
            "qk_file": f"{stem}.qk.gz",
            "qk_shape": list(qa.shape),
            "qk_encoding": "little-endian float32 q then k, each [L, H, n, d] C order, gzip",
        })
    (FIXTURES / f"{stem}.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n")


def cue_report(base, tuned, tok, text, cues):
    """Prints, for each "bank", its attention to each cue word: layer-mean and the biggest head."""
    enc, _, a0 = attentions(base, tok, text)
    _, _, a1 = attentions(tuned, tok, text)
    toks = tok.convert_ids_to_tokens(enc["input_ids"][0].tolist())
    print(f"\n  {text}")
    for i, t in enumerate(toks):
        if t != "bank":
            continue
        for cue in cues:
            if cue not in toks:
                continue
            j = toks.index(cue)
            d = a1[:, :, i, j] - a0[:, :, i, j]
            l, h = np.unravel_index(np.abs(d).argmax(), d.shape)
            fmt = lambda a: " ".join(f"{v:.3f}" for v in a[:, :, i, j].mean(1))  # noqa: E731
            print(f"    bank@{i} -> {cue}@{j}: head mean per layer  base [{fmt(a0)}]  tuned [{fmt(a1)}]; "
                  f"biggest change L{l}H{h}: {a0[l, h, i, j]:.3f} -> {a1[l, h, i, j]:.3f}")


def write_readme() -> None:
    """README.md from train-log.json (written by the training run)."""
    log = json.loads((PATCH_DIR / "train-log.json").read_text())
    before, after = log["before_linear_probe"], log["after_finetuning"]
    patch = PATCH_DIR / "patch.safetensors"
    pct = lambda d: f"{100 * d['accuracy']:.1f} %"  # noqa: E731
    (PATCH_DIR / "README.md").write_text(
        "# minilm-bank: all-MiniLM-L6-v2 fine-tuned on the sense of \"bank\"\n\n"
        "`patch.safetensors` holds the 24 tensors that fine-tuning changed in "
        "sentence-transformers/all-MiniLM-L6-v2 (`models/sentence-transformers/all-MiniLM-L6-v2/`): "
        "the attention query and key projections, weights and biases, of all 6 layers "
        f"(`encoder.layer.N.attention.self.{{query,key}}.{{weight,bias}}`, f32, {patch.stat().st_size} bytes, "
        f"sha256 `{sha256(patch)}`); every other tensor is the base model's, bit for bit, and "
        "`scripts/make-finetuned.py` (Python stdlib only) builds the full model into "
        "`models/attention-viz/minilm-bank-finetuned/` for the compare view. "
        "It was made by `tests/golden/make_finetuned.py` (PyTorch, transformers, CPU): a word-sense "
        "classifier, financial institution (0) vs side of a river (1), reading the final hidden state "
        "of the \"bank\" token through a linear head that is not shipped, on "
        f"{log['train']} training sentences built in the script (templates x subjects x time phrases, "
        "a third of them with cue words pointing the wrong way, plus handwritten ones), seed "
        f"{log['seed']}. The head was first trained alone on the frozen base model "
        f"({log['probe_steps']} steps, AdamW lr {log['probe_lr']:g}, batch {log['batch']}); then the "
        f"head and the query/key projections were trained together for {log['steps']} steps (AdamW "
        f"lr {log['lr']:g}, no weight decay, batch {log['batch']}, dropout on) with the embeddings and "
        "everything else frozen. Accuracy before (linear probe on the frozen base) and after "
        f"fine-tuning: training set {pct(before['train'])} → {pct(after['train'])} (cross-entropy "
        f"{before['train']['loss']} → {after['train']['loss']}); held-out split ({log['held_out']} "
        f"sentences from frames never trained on) {pct(before['held_out'])} → {pct(after['held_out'])} "
        f"(cross-entropy {before['held_out']['loss']} → {after['held_out']['loss']}); {log['hard']} "
        "harder held-out sentences with indirect or misleading cues "
        f"{pct(before['hard'])} → {pct(after['hard'])} (cross-entropy {before['hard']['loss']} → "
        f"{after['hard']['loss']}). The base model already separates the two senses, so fine-tuning "
        "fits the training set but does not generalise better; what it does change, visibly, is "
        "attention: in some heads \"bank\" attends several times more to its cue words "
        "(\"money\", \"deposited\", \"river\"); the per-head differences are in "
        "`tests/golden/fixtures/compare/*.metrics.json`.\n")


def sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200, help="fine-tuning steps (batch 16)")
    ap.add_argument("--probe-steps", type=int, default=300, help="head-only steps before")
    ap.add_argument("--lr", type=float, default=5e-4, help="AdamW learning rate of q/k")
    ap.add_argument("--fixtures-only", action="store_true",
                    help="skip training; load the existing patch and write fixtures")
    ap.add_argument("--readme-only", action="store_true",
                    help="only rewrite the patch's README.md from its train-log.json")
    args = ap.parse_args()
    if args.readme_only:
        write_readme()
        return

    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    tok = AutoTokenizer.from_pretrained(BASE)
    base = AutoModel.from_pretrained(BASE, attn_implementation="eager").eval()
    tuned = AutoModel.from_pretrained(BASE, attn_implementation="eager")
    names = qk_names(tuned)
    assert len(names) == 24, names
    patch = PATCH_DIR / "patch.safetensors"

    if not args.fixtures_only:
        tr, te = dataset(SEED)
        print(f"data: {len(tr)} train, {len(te)} held out "
              f"({sum(y for _, y in tr)}/{sum(y for _, y in te)} river)")
        assert all((tok(t)["input_ids"].count(BANK_ID) == 1) for t, _ in tr + te + HARD), "one 'bank' each"
        for p in tuned.parameters():
            p.requires_grad_(False)
        head = torch.nn.Linear(tuned.config.hidden_size, 2)
        print(f"probe: head only on the frozen base, {args.probe_steps} steps, lr 1e-2")
        probe(head, features(tuned, tok, tr), torch.tensor([y for _, y in tr]), args.probe_steps, 1e-2, SEED)
        sets = {"train": tr, "held_out": te, "hard": HARD}
        before = {k: evaluate(tuned, head, tok, v) for k, v in sets.items()}
        print(f"before (linear probe): {before}")
        qk = [p for n, p in tuned.named_parameters() if n in names]
        for p in qk:
            p.requires_grad_(True)
        print(f"fine-tune: q/k of 6 layers + head, {args.steps} steps, lr {args.lr}")
        train(tuned, head, tok, tr, qk + list(head.parameters()), args.steps, args.lr, SEED + 1)
        after = {k: evaluate(tuned, head, tok, v) for k, v in sets.items()}
        print(f"after (fine-tuned): {after}")
        tuned.eval()
        # Nothing but q/k moved.
        bsd, tsd = base.state_dict(), tuned.state_dict()
        for n in bsd:
            same = torch.equal(bsd[n], tsd[n])
            assert same != (n in names), f"{n}: changed={not same}"
        PATCH_DIR.mkdir(parents=True, exist_ok=True)
        save_file({n: tsd[n].detach().to(torch.float32).contiguous() for n in names}, str(patch),
                  metadata={"format": "pt"})
        patch.chmod(0o644)
        print(f"wrote {patch.relative_to(ROOT)} ({patch.stat().st_size} bytes, sha256 {sha256(patch)})")
        (PATCH_DIR / "train-log.json").write_text(json.dumps({
            "seed": SEED, "train": len(tr), "held_out": len(te), "hard": len(HARD),
            "probe_steps": args.probe_steps, "probe_lr": 1e-2,
            "steps": args.steps, "lr": args.lr, "batch": 16, "optimizer": "AdamW, no weight decay",
            "before_linear_probe": before,
            "after_finetuning": after,
            "patch_sha256": sha256(patch),
            "generator": f"transformers {transformers.__version__}, torch {torch.__version__}",
        }, indent=1) + "\n")
        write_readme()
    else:
        with safe_open(str(patch), "pt") as f:
            sd = {n: f.get_tensor(n) for n in f.keys()}
        assert sorted(sd) == sorted(names), sorted(sd)
        missing, unexpected = tuned.load_state_dict(sd, strict=False)
        assert not unexpected, unexpected
        tuned.eval()

    # The attention change, on a few sentences.
    cue_report(base, tuned, tok, CASES[0][1], ["money", "deposited", "river", "walking"])
    cue_report(base, tuned, tok, CASES[1][1], ["river", "fished", "grassy"])
    cue_report(base, tuned, tok, CASES[2][1], ["money", "deposit"])

    # Fixtures.
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, text in CASES:
        enc, offsets, a0 = attentions(base, tok, text)
        _, _, a1 = attentions(tuned, tok, text)
        write_fixture(name, "base", text, enc, offsets, a0, tok)
        write_fixture(name, "finetuned", text, enc, offsets, a1, tok,
                      qk_of(tuned, tok, text) if name in QK_CASES else None)
        p, q = a0.astype(np.float64), a1.astype(np.float64)
        mad = np.abs(p - q).mean(axis=(2, 3))
        js = js_bits(p, q).mean(axis=2)
        (FIXTURES / f"{name}.metrics.json").write_text(json.dumps({
            "name": name,
            "text": text,
            "base": f"{name}.base.json",
            "finetuned": f"{name}.finetuned.json",
            "shape": list(a0.shape[:2]),
            "mean_abs_diff": [[round(float(v), 9) for v in row] for row in mad],
            "js_bits": [[round(float(v), 9) for v in row] for row in js],
            "definitions": "per layer x head, from PyTorch's float32 attentions in float64: "
                           "mean_abs_diff = mean over all seq x seq weights of |base - finetuned|; "
                           "js_bits = mean over rows of JS(base row, finetuned row) = "
                           "KL(P||M)/2 + KL(Q||M)/2, M = (P+Q)/2, log base 2, 0 log 0 = 0",
        }, indent=1) + "\n")
        l, h = np.unravel_index(js.argmax(), js.shape)
        print(f"{name}: {a0.shape[2]} tokens; per layer mean JS (bits) {np.round(js.mean(1), 4).tolist()}, "
              f"max JS L{l}H{h} = {js[l, h]:.4f} (MAD {mad[l, h]:.4f})")

    # The stdlib assembler gives exactly these weights.
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "model.safetensors"
        subprocess.run([sys.executable, str(ROOT / "scripts/make-finetuned.py"), "--assemble-only",
                        str(BASE / "model.safetensors"), str(patch), str(out)], check=True)
        print(f"assembled sha256 {sha256(out)}")
        for f in ("config.json", "tokenizer.json"):
            (pathlib.Path(tmp) / f).write_bytes((BASE / f).read_bytes())
        again = AutoModel.from_pretrained(tmp, attn_implementation="eager").eval()
        worst = 0.0
        for _, text in CASES:
            _, _, a1 = attentions(tuned, tok, text)
            _, _, a2 = attentions(again, tok, text)
            worst = max(worst, float(np.abs(a1 - a2).max()))
        print(f"assembled model vs fine-tuned model: max |attention diff| = {worst}")
        assert worst == 0.0


if __name__ == "__main__":
    main()
