#!/usr/bin/env node
// The side-by-side table of `make bench` (scripts/bench.sh), from the files its steps wrote:
//
//   node scripts/bench_table.mjs --native FILE --wasm FILE [--jsonl FILE ...] [--markdown]
//
//   --native  attention-bench's output: a header `model | MB | load | fwd 16 | fwd 32 | ...` and a
//             row per model (medians, ms);
//   --wasm    tests/wasm_bench.rs's lines with their `BENCH ` / `SPREAD ` prefixes: `BENCH label |
//             MB | load | t16 | t32 | t128 [| t512]` (medians; a `BENCH` header with `fwd N` cells
//             or a `median of N runs` phrase is read when there is one), and optionally
//             `SPREAD label | min–max | ...` in the same order. A cell holding several numbers
//             (`12.3 (11.0–15.2)`, `12.3 / 11.0 / 15.2`) counts as median first, then min, max;
//   --jsonl   rows of scripts/bench_threads.mjs, scripts/bench_ort.mjs and scripts/bench_torch.py
//             (engine, model, n, median, min, max; or kind load/peak).
// Prints, per model and token count: our wasm engine (tests/wasm_bench.rs; then our engine workers
// at 1 and N threads, bench_threads.mjs), ONNX Runtime Web 1 and 2 threads, PyTorch 1
// thread and all threads, our native engine (medians, ms), then ours ÷ each peer (> 1: ours is
// slower), the spread (min–max) of every engine, GFLOP/s at the median, load times and peak memory.

import fs from 'node:fs';
import os from 'node:os';

import { bertFlops, fmt } from './bench_lib.mjs';

const DEFAULT_LENGTHS = [16, 32, 128, 512];
const CONFIGS = {
  minilm: { hidden_size: 384, num_hidden_layers: 6, intermediate_size: 1536 },
  'bert-base': { hidden_size: 768, num_hidden_layers: 12, intermediate_size: 3072 },
};

function parseArgs(argv) {
  const o = { native: null, wasm: null, jsonl: [], markdown: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--native') o.native = next();
    else if (a === '--wasm') o.wasm = next();
    else if (a === '--jsonl') o.jsonl.push(next());
    else if (a === '--markdown') o.markdown = true;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

/** The model key of a label: 'minilm', 'bert-base' or the label itself. */
function modelKey(label) {
  const l = label.toLowerCase();
  if (l.includes('minilm')) return 'minilm';
  if (l.includes('bert-base')) return 'bert-base';
  return label.trim();
}

const numbers = (cell) => [...String(cell).matchAll(/-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/gi)].map((m) => Number(m[0]));

/** Lengths from header cells `fwd 16`, `16 tok`, ... (null when there are none). */
function lengthsOf(cells) {
  const ns = cells.map((c) => /(?:fwd|tokens?|n\s*=)\s*(\d+)|(\d+)\s*tok/i.exec(c)).filter(Boolean).map((m) => Number(m[1] ?? m[2]));
  return ns.length ? ns : null;
}

/** rows: Map key `${model}|${engine}|${n}` → { median, min, max }; extra: load/peak per engine+model. */
const table = new Map();
const extra = [];
const notes = [];
function put(model, engine, n, v) {
  table.set(`${model}|${engine}|${n}`, { ...(table.get(`${model}|${engine}|${n}`) ?? {}), ...v });
}

function readNative(file) {
  if (!file || !fs.existsSync(file)) return;
  let lengths = null;
  let runs = null;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (/median of (\d+)/.test(line)) runs = Number(/median of (\d+)/.exec(line)[1]);
    if (cells.length < 4) continue;
    if (/^model$/i.test(cells[0])) {
      lengths = lengthsOf(cells.slice(3)) ?? DEFAULT_LENGTHS;
      continue;
    }
    if (!lengths) continue;
    const model = modelKey(cells[0]);
    extra.push({ engine: 'native', model, kind: 'load', ms: numbers(cells[2])[0] });
    cells.slice(3).forEach((c, k) => {
      const [median, min, max] = numbers(c);
      if (median != null && lengths[k]) put(model, 'native', lengths[k], { median, min, max });
    });
  }
  if (runs) notes.push(`native: median of ${runs} runs`);
}

function readWasm(file) {
  if (!file || !fs.existsSync(file)) return;
  let lengths = DEFAULT_LENGTHS;
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /(BENCH|SPREAD)\s+(.*)$/.exec(raw);
    if (!m) continue;
    const [kind, rest] = [m[1], m[2]];
    const cells = rest.split('|').map((c) => c.trim());
    if (kind === 'BENCH' && /median of (\d+)/.test(rest)) notes.push(`ours wasm: ${rest.trim()}`);
    const header = lengthsOf(cells.slice(1));
    if (header && cells.every((c, k) => k === 0 || !/^[-\d.\s–()/]+$/.test(c) || /fwd|tok/i.test(c))) {
      lengths = header;
      continue;
    }
    if (cells.length < 2 || !/minilm|bert/i.test(cells[0])) continue;
    const model = modelKey(cells[0]);
    if (kind === 'BENCH') {
      extra.push({ engine: 'wasm', model, kind: 'load', ms: numbers(cells[2])[0] });
      cells.slice(3).forEach((c, k) => {
        const [median, min, max] = numbers(c);
        if (median != null && lengths[k]) put(model, 'wasm', lengths[k], { median, ...(min != null ? { min, max } : {}) });
      });
    } else {
      cells.slice(1).forEach((c, k) => {
        const [min, max] = numbers(c).map(Math.abs);
        if (min != null && lengths[k]) put(model, 'wasm', lengths[k], { min, max });
      });
    }
  }
}

function readJsonl(file) {
  if (!file || !fs.existsSync(file)) return;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    const model = modelKey(r.model);
    if (r.kind === 'first-heatmap') continue;
    if (r.n != null && !r.kind) put(model, r.engine, r.n, { median: r.median, min: r.min, max: r.max });
    else extra.push({ ...r, model });
  }
}

const opts = parseArgs(process.argv.slice(2));
readNative(opts.native);
readWasm(opts.wasm);
for (const f of opts.jsonl) readJsonl(f);

const engineNames = [...new Set([...table.keys()].map((k) => k.split('|')[1]))];
const torchAll = engineNames.find((e) => /^torch-(\d+)t$/.test(e) && e !== 'torch-1t');
// Our engine workers, when bench_threads.mjs ran: the single-threaded one (wasm-worker-1t) and the
// threaded one (wasm-threads-Nt), timed the same way, through the worker protocol.
const threaded = engineNames.find((e) => /^wasm-threads-\d+t$/.test(e));
const threadsN = threaded ? /\d+/.exec(threaded)[0] : null;
const worker1 = engineNames.includes('wasm-worker-1t') ? 'wasm-worker-1t' : null;
const ENGINES = [
  ['wasm', 'ours wasm'],
  ...(worker1 ? [[worker1, 'ours 1t']] : []),
  ...(threaded ? [[threaded, `ours ${threadsN}t`]] : []),
  ['ort-wasm-1t', 'ORT 1t'],
  ['ort-wasm-2t', 'ORT 2t'],
  ['torch-1t', 'torch 1t'],
  [torchAll ?? `torch-${os.cpus().length}t`, `torch ${torchAll ? /\d+/.exec(torchAll)[0] : os.cpus().length}t`],
  ['native', 'native ours'],
];
// PyTorch with all threads: the entry after PyTorch 1 thread.
const PT_ALL = ENGINES[ENGINES.findIndex(([e]) => e === 'torch-1t') + 1];
const RATIOS = [
  ['wasm', 'ort-wasm-1t', 'wasm÷ORT1'],
  ['wasm', 'ort-wasm-2t', 'wasm÷ORT2'],
  ...(threaded ? [[threaded, `ort-wasm-${threadsN}t`, `${threadsN}t÷ORT${threadsN}`], [threaded, worker1 ?? 'wasm', `${threadsN}t÷1t`]] : []),
  ['wasm', 'torch-1t', 'wasm÷pt1'],
  ['wasm', PT_ALL[0], `wasm÷pt${/\d+/.exec(PT_ALL[1])[0]}`],
  ['native', 'torch-1t', 'nat÷pt1'],
  ['native', PT_ALL[0], `nat÷pt${/\d+/.exec(PT_ALL[1])[0]}`],
];
const models = [...new Set([...table.keys()].map((k) => k.split('|')[0]))];
const lengthsFor = (m) => [...new Set([...table.keys()].filter((k) => k.startsWith(m + '|')).map((k) => Number(k.split('|')[2])))].sort((a, b) => a - b);
const get = (m, e, n) => table.get(`${m}|${e}|${n}`);

function print(title, head, body) {
  console.log(title);
  if (opts.markdown) {
    console.log(`| ${head.join(' | ')} |`);
    console.log(`|${head.map((h, k) => (k < 2 ? '---' : '---:')).join('|')}|`);
    for (const b of body) console.log(`| ${b.join(' | ')} |`);
  } else {
    const w = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c].length)));
    const line = (cells) => cells.map((c, k) => (k < 1 ? c.padEnd(w[k]) : c.padStart(w[k]))).join(' | ');
    console.log(line(head));
    console.log(w.map((n) => '-'.repeat(n)).join('-|-'));
    for (const b of body) console.log(line(b));
  }
  console.log('');
}

const rows = [];
const spread = [];
const gflops = [];
for (const m of models) {
  for (const n of lengthsFor(m)) {
    rows.push([
      m,
      String(n),
      ...ENGINES.map(([e]) => fmt(get(m, e, n)?.median)),
      ...RATIOS.map(([a, b]) => {
        const x = get(m, a, n)?.median;
        const y = get(m, b, n)?.median;
        return x && y ? `${(x / y).toFixed(2)}×` : '-';
      }),
    ]);
    spread.push([
      m,
      String(n),
      ...ENGINES.map(([e]) => {
        const v = get(m, e, n);
        return v?.min != null ? `${fmt(v.min)}–${fmt(v.max)}` : '-';
      }),
    ]);
    if (CONFIGS[m]) {
      gflops.push([
        m,
        String(n),
        fmt(bertFlops(CONFIGS[m], n) / 1e9),
        ...ENGINES.map(([e]) => {
          const v = get(m, e, n)?.median;
          return v ? (bertFlops(CONFIGS[m], n) / (v * 1e6)).toFixed(1) : '-';
        }),
      ]);
    }
  }
}
const names = ENGINES.map(([, l]) => l);
print('forward pass with every attention, median ms (ratios: ours ÷ peer; > 1 means ours is slower)', ['model', 'tokens', ...names, ...RATIOS.map(([, , l]) => l)], rows);
print('spread: min–max ms of the same runs', ['model', 'tokens', ...names], spread);
print('GFLOP/s at the median (matmul FLOPs of the forward pass, multiply-add = 2)', ['model', 'tokens', 'GFLOP', ...names], gflops);

const loads = [];
for (const m of models) {
  for (const [e, label] of ENGINES) {
    const cell = (kind) => extra.find((x) => x.model === m && x.engine === e && x.kind === kind);
    const load = cell('load');
    const peak = cell('peak');
    if (!load && !peak) continue;
    loads.push([m, label, fmt(load?.ms), peak ? `${(peak.bytes / 1e6).toFixed(0)} MB` : '-', peak?.grew != null ? `${(peak.grew / 1e6).toFixed(0)} MB` : '-']);
  }
}
print(
  'model load and peak memory (load: ours and ORT from bytes in memory, PyTorch from_pretrained from disk; peak: browser = renderer VmHWM, growth = over the empty page; PyTorch = process ru_maxrss, interpreter and torch included)',
  ['model', 'engine', 'load ms', 'peak', 'growth'],
  loads,
);
for (const n of notes) console.log(`note: ${n}`);
