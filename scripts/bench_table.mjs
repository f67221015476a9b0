#!/usr/bin/env node
// The side-by-side table of `make bench` (scripts/bench.sh), from the files its steps wrote:
//
//   node scripts/bench_table.mjs --native FILE --wasm FILE [--jsonl FILE ...] [--markdown]
//
//   --native  attention-bench's output: a header `model | MB | load | fwd 16 | fwd 32 | ...` and a
//             row per model (medians, ms); `on N threads` in its first line, and scripts/bench.sh's
//             `PEAK native FMA: X GFLOP/s per core` (scripts/bench_peak.rs) when present;
//   --native1 the same, on one thread (RAYON_NUM_THREADS=1): the column `native ours 1t`;
//   --wasm    tests/wasm_bench.rs's lines with their `BENCH ` / `SPREAD ` / `PEAK ` / `KERNEL `
//             prefixes, one set per build: `BENCH label | MB | load | t16 | t32 | t128 [| t512]`
//             (medians; a `BENCH` header with `fwd N` cells or a `median of N runs` phrase is read
//             when there is one; a header naming `relaxed-simd` starts the relaxed build's set,
//             one naming `wasm32` the plain build's), and optionally `SPREAD label | min–max |
//             ...` in the same order. A cell holding several numbers (`12.3 (11.0–15.2)`,
//             `12.3 / 11.0 / 15.2`) counts as median first, then min, max. `PEAK what | X GFLOP/s`
//             (or `GB/s`) and `KERNEL shape | X GFLOP/s` are the bounds measured in that build;
//   --jsonl   rows of scripts/bench_threads.mjs, scripts/bench_ort.mjs and scripts/bench_torch.py (engine, model, n, median,
//             min, max; or kind load/peak).
// Prints, per model and token count: our wasm engine (simd128, and relaxed SIMD when measured;
// then our engine workers at 1 and N threads, bench_threads.mjs),
// ONNX Runtime Web 1 and 2 threads, PyTorch 1 thread and all threads, our native engine (medians,
// ms), then ours ÷ each peer (> 1: ours is slower), the spread (min–max) of every engine, GFLOP/s
// at the median, each of our engines against its bound (FLOPs executed, GFLOP/s, % of the
// measured peak, compute and memory lower bounds), the matrix product alone, load times and peak
// memory.

import fs from 'node:fs';
import os from 'node:os';

import { attentionFlops, attentionWeightBytes, bertFlops, fmt } from './bench_lib.mjs';

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
    else if (a === '--native1') o.native1 = next();
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
/** Bounds measured by each of our engines: engine → { gflops, gbps, per, threads }; kernels. */
const peaks = new Map();
const kernels = [];
const setPeak = (engine, v) => peaks.set(engine, { ...(peaks.get(engine) ?? {}), ...v });
function put(model, engine, n, v) {
  table.set(`${model}|${engine}|${n}`, { ...(table.get(`${model}|${engine}|${n}`) ?? {}), ...v });
}

function readNative(file, engine = 'native') {
  if (!file || !fs.existsSync(file)) return;
  let lengths = null;
  let runs = null;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (/median of (\d+)/.test(line)) runs = line.trim();
    if (/on (\d+) threads?/.test(line)) setPeak(engine, { threads: Number(/on (\d+) threads?/.exec(line)[1]) });
    const peak = /^PEAK native FMA\D*?([\d.]+) GFLOP\/s per core/.exec(line.trim());
    if (peak) setPeak(engine, { per: Number(peak[1]) });
    if (cells.length < 4) continue;
    if (/^model$/i.test(cells[0])) {
      lengths = lengthsOf(cells.slice(3)) ?? DEFAULT_LENGTHS;
      continue;
    }
    if (!lengths) continue;
    const model = modelKey(cells[0]);
    extra.push({ engine, model, kind: 'load', ms: numbers(cells[2])[0] });
    cells.slice(3).forEach((c, k) => {
      const [median, min, max] = numbers(c);
      if (median != null && lengths[k]) put(model, engine, lengths[k], { median, min, max });
    });
  }
  if (runs) notes.push(`${engine}: ${runs}`);
}

function readWasm(file) {
  if (!file || !fs.existsSync(file)) return;
  let lengths = DEFAULT_LENGTHS;
  let engine = 'wasm';
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /(BENCH|SPREAD|PEAK|KERNEL)\s+(.*)$/.exec(raw);
    if (!m) continue;
    const [kind, rest] = [m[1], m[2]];
    const cells = rest.split('|').map((c) => c.trim());
    if (kind === 'PEAK' || kind === 'KERNEL') {
      const v = numbers(cells[1] ?? '')[0];
      if (v == null) continue;
      if (kind === 'KERNEL') kernels.push({ engine, shape: cells[0], value: v, best: /best/.test(cells[1]) ? numbers(cells[1])[1] : null, ms: /\bms\b/.test(cells[1]) });
      else if (/GB\/s/.test(cells[1])) setPeak(engine, { gbps: v });
      // Each build's bound is its own multiply-add: mul + add in the plain one, relaxed_madd in the other.
      else if (/relaxed/i.test(cells[0]) === (engine === 'wasm-relaxed')) setPeak(engine, { gflops: v, what: cells[0] });
      continue;
    }
    if (kind === 'BENCH' && !/minilm|bert/i.test(cells[0]) && /wasm32/.test(rest)) engine = /relaxed/i.test(rest) ? 'wasm-relaxed' : 'wasm';
    if (kind === 'BENCH' && /median of (\d+)/.test(rest)) notes.push(`ours ${engine}: ${rest.trim()}`);
    const header = lengthsOf(cells.slice(1));
    if (header && cells.every((c, k) => k === 0 || !/^[-\d.\s–()/]+$/.test(c) || /fwd|tok/i.test(c))) {
      lengths = header;
      continue;
    }
    if (cells.length < 2 || !/minilm|bert/i.test(cells[0])) continue;
    const model = modelKey(cells[0]);
    if (kind === 'BENCH') {
      extra.push({ engine, model, kind: 'load', ms: numbers(cells[2])[0] });
      cells.slice(3).forEach((c, k) => {
        const [median, min, max] = numbers(c);
        if (median != null && lengths[k]) put(model, engine, lengths[k], { median, ...(min != null ? { min, max } : {}) });
      });
    } else {
      cells.slice(1).forEach((c, k) => {
        const [min, max] = numbers(c).map(Math.abs);
        if (min != null && lengths[k]) put(model, engine, lengths[k], { min, max });
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
readNative(opts.native1, 'native-1t');
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
  ['wasm-relaxed', 'ours wasm relaxed'],
  ...(worker1 ? [[worker1, 'ours 1t']] : []),
  ...(threaded ? [[threaded, `ours ${threadsN}t`]] : []),
  ['ort-wasm-1t', 'ORT 1t'],
  ['ort-wasm-2t', 'ORT 2t'],
  ['torch-1t', 'torch 1t'],
  [torchAll ?? `torch-${os.cpus().length}t`, `torch ${torchAll ? /\d+/.exec(torchAll)[0] : os.cpus().length}t`],
  ['native', 'native ours'],
  ...(engineNames.includes('native-1t') ? [['native-1t', 'native ours 1t']] : []),
];
// PyTorch with all threads: the entry after PyTorch 1 thread.
const PT_ALL = ENGINES[ENGINES.findIndex(([e]) => e === 'torch-1t') + 1];
const RATIOS = [
  ['wasm-relaxed', 'wasm', 'relax÷wasm'],
  ['wasm-relaxed', 'ort-wasm-1t', 'relax÷ORT1'],
  ['wasm', 'ort-wasm-1t', 'wasm÷ORT1'],
  ['wasm', 'ort-wasm-2t', 'wasm÷ORT2'],
  ...(threaded ? [[threaded, `ort-wasm-${threadsN}t`, `${threadsN}t÷ORT${threadsN}`], [threaded, worker1 ?? 'wasm', `${threadsN}t÷1t`]] : []),
  ['wasm', 'torch-1t', 'wasm÷pt1'],
  ['wasm', PT_ALL[0], `wasm÷pt${/\d+/.exec(PT_ALL[1])[0]}`],
  ['native', 'torch-1t', 'nat÷pt1'],
  ['native', PT_ALL[0], `nat÷pt${/\d+/.exec(PT_ALL[1])[0]}`],
  ...(engineNames.includes('native-1t') ? [['native-1t', 'torch-1t', 'nat1t÷pt1']] : []),
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
const bounds = [];
/** An engine's compute peak (GFLOP/s): native = one core's FMA peak × the threads candle uses. */
const peakOf = (e) => {
  const p = peaks.get(e);
  // The one-thread run has no PEAK line of its own: the per-core peak is the same.
  const per = p?.per ?? (e.startsWith('native') ? peaks.get('native')?.per : null);
  if (e.startsWith('native')) return per ? per * (p?.threads ?? 1) : null;
  return p?.gflops ?? null;
};
/** Read bandwidth: measured in the browser on one core (the native row borrows it). */
const bandwidth = peaks.get('wasm')?.gbps ?? peaks.get('wasm-relaxed')?.gbps ?? null;
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
      for (const e of ['wasm', 'wasm-relaxed', 'native', 'native-1t']) {
        const v = get(m, e, n)?.median;
        if (!v) continue;
        const flops = attentionFlops(CONFIGS[m], n);
        const peak = peakOf(e);
        const compute = peak ? flops / (peak * 1e6) : null;
        const memory = bandwidth ? attentionWeightBytes(CONFIGS[m]) / (bandwidth * 1e6) : null;
        const bound = Math.max(compute ?? 0, memory ?? 0) || null;
        bounds.push([
          m,
          String(n),
          ENGINES.find(([k]) => k === e)[1],
          fmt(flops / 1e9),
          fmt(v),
          (flops / (v * 1e6)).toFixed(1),
          peak ? `${((100 * flops) / (v * 1e6) / peak).toFixed(0)} %` : '-',
          fmt(compute),
          fmt(memory),
          bound ? `${(v / bound).toFixed(2)}×` : '-',
        ]);
      }
    }
  }
}
const names = ENGINES.map(([, l]) => l);
print('forward pass with every attention, median ms (ratios: ours ÷ peer; > 1 means ours is slower)', ['model', 'tokens', ...names, ...RATIOS.map(([, , l]) => l)], rows);
print('spread: min–max ms of the same runs', ['model', 'tokens', ...names], spread);
print('GFLOP/s at the median (matmul FLOPs of the forward pass, multiply-add = 2)', ['model', 'tokens', 'GFLOP', ...names], gflops);

// The bounds (the issue: "for each figure, state the bound and the distance to it"). Our engines
// skip the last layer's work after its attention, so their FLOPs are what they execute
// (attentionFlops), not the full pass above. Compute bound: those FLOPs at the engine's peak,
// measured on this machine in the same run: a loop of independent 4-lane multiply-adds with no
// loads in the same Chromium (tests/wasm_bench.rs: mul + add for simd128, relaxed_madd, i.e.
// one FMA, for the relaxed build), and natively scripts/bench_peak.rs's FMA loop at the widest
// vectors the CPU has, times the threads candle's matmul uses. Memory bound: the weights the
// pass reads (each once) at one core's read bandwidth (also measured in the browser).
const peakNote = [
  ['wasm', 'ours wasm'],
  ['wasm-relaxed', 'ours wasm relaxed'],
  ['native', 'native ours'],
  ['native-1t', 'native ours 1t'],
]
  .filter(([e]) => peakOf(e))
  .map(([e, label]) => {
    const p = peaks.get(e);
    return e.startsWith('native')
      ? `${label} ${fmt(peakOf(e))} (FMA ${fmt(peaks.get('native')?.per)} per core × ${p?.threads ?? 1} threads)`
      : `${label} ${fmt(peakOf(e))} (${p.what})`;
  });
print(
  `against the bound: GFLOP executed, GFLOP/s at the median, % of the engine's peak GFLOP/s [${peakNote.join('; ') || 'no PEAK lines'}]; ` +
    `lower bounds in ms: compute (FLOPs at peak) and memory (weights read once at ${bandwidth ? `${fmt(bandwidth)} GB/s` : '? GB/s'}); median ÷ the larger`,
  ['model', 'tokens', 'engine', 'GFLOP', 'median ms', 'GFLOP/s', '% of peak', 'compute ms', 'memory ms', '÷ bound'],
  bounds,
);
if (kernels.length) {
  const shapes = [...new Set(kernels.map((k) => k.shape))];
  const kEngines = [...new Set(kernels.map((k) => k.engine))];
  print(
    'kernels alone (tests/wasm_bench.rs KERNEL lines): matrix products as linear layers, GFLOP/s at the median and the best of 9 and % of that build\'s peak; element-wise ones in ms (median of 5)',
    ['shape', ...kEngines.map((e) => ENGINES.find(([k]) => k === e)?.[1] ?? e)],
    shapes.map((sh) => [
      sh,
      ...kEngines.map((e) => {
        const k = kernels.find((x) => x.shape === sh && x.engine === e);
        const p = peakOf(e);
        if (!k) return '-';
        if (k.ms) return `${k.value.toFixed(2)} ms`;
        const pct = (v) => (p ? ` (${((100 * v) / p).toFixed(0)} %)` : '');
        return `${k.value.toFixed(1)}${pct(k.value)}${k.best != null ? `, best ${k.best.toFixed(1)}${pct(k.best)}` : ''}`;
      }),
    ]),
  );
}

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
