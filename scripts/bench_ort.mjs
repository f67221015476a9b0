#!/usr/bin/env node
// The ONNX Runtime Web peer of `make bench` (a benchmark: it prints, it asserts nothing).
//
//   node scripts/bench_ort.mjs [--model NAME=ONNX:DIR ...] [--threads 1,2] [--lengths 16,32,128,512]
//                              [--runs 11] [--warmup 2] [--jsonl FILE]
//
// ONNX Runtime Web (bench/package.json pins the version; `scripts/setup.sh bench` installs it
// into bench/node_modules, never `make test`), wasm backend (SIMD), in Debian's headless
// Chromium through playwright-core, on the ONNX exports of scripts/export_onnx.py (every
// layer's attention is an output). Per model and thread count, a fresh browser (new profile)
// opens bench/ort.html served from 127.0.0.1 by this script; with more than one thread the page is
// served cross-origin isolated (COOP same-origin + COEP require-corp), and crossOriginIsolated
// is checked and printed. The page loads the model from bytes already fetched (timed: session
// creation), then per length runs --warmup untimed and --runs timed forward passes
// (performance.now() around building the int64 inputs, session.run and reading the outputs).
// The inputs are the token ids of the text that tests/wasm_bench.rs and attention-bench run:
// [CLS] + (n - 2) × "the" + [SEP]. Prints median, min and max per length, GFLOP/s at the median,
// the load time and the renderer's peak RSS (VmHWM from the page's start to the end of the runs).
//
// Default models: MiniLM and the bert-base-shaped random model, from .cache/bench/onnx/*.onnx with
// the config and tokenizer of the model folders. --jsonl FILE appends one JSON object per row (the
// input of scripts/bench_table.mjs).
//
// Environment: CHROMIUM (default /usr/bin/chromium), BENCH_QUIET_WAIT_S (wait up to that long for a
// quiet machine before each browser; default 0).

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { mimeType } from '../tests/e2e/static-server.mjs';
import { bertFlops, biggestPeak, fmt, launchFresh, resetPeaks, stats, waitQuiet } from './bench_lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ORT_DIST = path.join(ROOT, 'bench/node_modules/onnxruntime-web/dist');

function parseArgs(argv) {
  const o = { models: [], threads: [1, 2], lengths: [16, 32, 128, 512], runs: 11, warmup: 2, jsonl: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
      return argv[++i];
    };
    const list = (s) => s.split(',').map(Number);
    if (a === '--model') {
      const m = /^([^=]+)=([^:]+):(.+)$/.exec(next());
      if (!m) throw new Error('--model expects NAME=ONNX:DIR');
      o.models.push({ name: m[1], onnx: path.resolve(m[2]), dir: path.resolve(m[3]) });
    } else if (a === '--threads') o.threads = list(next());
    else if (a === '--lengths') o.lengths = list(next());
    else if (a === '--runs') o.runs = Number(next());
    else if (a === '--warmup') o.warmup = Number(next());
    else if (a === '--jsonl') o.jsonl = path.resolve(next());
    else if (a === '--help' || a === '-h') {
      const text = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
      console.log(text.slice(1, text.indexOf('')).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (o.models.length === 0) {
    o.models.push({
      name: 'all-MiniLM-L6-v2',
      onnx: path.join(ROOT, '.cache/bench/onnx/all-MiniLM-L6-v2.onnx'),
      dir: path.join(ROOT, 'models/sentence-transformers/all-MiniLM-L6-v2/resolve/main'),
    });
    o.models.push({
      name: 'bert-base-shaped (random)',
      onnx: path.join(ROOT, '.cache/bench/onnx/bert-base-random.onnx'),
      dir: path.join(ROOT, '.cache/bench/bert-base-random'),
    });
  }
  if (!(o.runs >= 11)) throw new Error('--runs must be at least 11');
  return o;
}

/**
 * Serves bench/ at /bench/, ORT's dist/ at /ort/ and the exports' folders at /onnx/ on
 * 127.0.0.1 (a free port), with COOP/COEP when `isolated`.
 */
function serve({ isolated, onnxDirs }) {
  const mounts = [
    ['/bench/', path.join(ROOT, 'bench')],
    ['/ort/', ORT_DIST],
    ...onnxDirs.map((d, k) => [`/onnx${k}/`, d]),
  ];
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const m = mounts.find(([p]) => url.startsWith(p));
    const headers = {
      'Cache-Control': 'no-store',
      ...(isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {}),
    };
    const file = m && path.resolve(m[1], '.' + path.posix.normalize('/' + url.slice(m[0].length)));
    if (!file || !file.startsWith(m[1] + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
      res.end(`not found: ${url}\n`);
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': mimeType(file), 'Content-Length': fs.statSync(file).size });
    if (req.method === 'HEAD') res.end();
    else fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((r) => (server.closeAllConnections?.(), server.close(() => r()))),
      }),
    ),
  );
}

/** [CLS], [SEP] and "the" in the model's WordPiece vocabulary. */
function tokenIds(dir) {
  const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')).model.vocab;
  const id = (t) => {
    if (!Object.hasOwn(vocab, t)) throw new Error(`${t} not in ${dir}/tokenizer.json`);
    return vocab[t];
  };
  return { cls: id('[CLS]'), sep: id('[SEP]'), fill: id('the') };
}

const mb = (b) => `${(b / 1e6).toFixed(0)} MB`;

async function runOne(model, threads, opts, out) {
  const isolated = threads > 1;
  const quiet = await waitQuiet({ label: `${model.name}, ${threads} thread(s)` });
  const server = await serve({ isolated, onnxDirs: [path.dirname(model.onnx)] });
  const browser = await launchFresh();
  try {
    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('crash', () => errors.push('page crashed'));
    page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
    await page.goto(`${server.url}/bench/ort.html`, { waitUntil: 'load' });
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
    const info = await page.evaluate(() => window.benchInfo());
    if (isolated && !info.crossOriginIsolated) throw new Error(`${threads} threads: the bench page is not cross-origin isolated`);
    const base = resetPeaks(browser.root);
    const config = JSON.parse(fs.readFileSync(path.join(model.dir, 'config.json'), 'utf8'));
    const result = await page.evaluate((p) => window.benchOrt(p), {
      model: `/onnx0/${path.basename(model.onnx)}`,
      threads,
      lengths: opts.lengths,
      warmup: opts.warmup,
      runs: opts.runs,
      ...tokenIds(model.dir),
    });
    const peak = biggestPeak(browser.root, base);
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    const engine = `ort-wasm-${threads}t`;
    const head = `ONNX Runtime Web ${info.ortVersion} wasm, ${threads} thread${threads > 1 ? 's' : ''}, crossOriginIsolated=${info.crossOriginIsolated}, Chromium ${browser.version ?? '?'}; machine ${(quiet.busy * 100).toFixed(0)} % busy before`;
    console.log(`${model.name}: ${head}`);
    console.log(`  load (session from bytes) ${fmt(result.loadMs)} ms; renderer peak RSS ${peak ? `${mb(peak.peak)} (+${mb(peak.grew)} over the empty page)` : '-'}; ${result.outputs} outputs`);
    const rows = [];
    for (const n of opts.lengths) {
      const s = stats(result.lengths[n]);
      const gflops = bertFlops(config, n) / (s.median * 1e6);
      console.log(`  ${String(n).padStart(4)} tokens: median ${fmt(s.median).padStart(7)} ms  min ${fmt(s.min).padStart(7)}  max ${fmt(s.max).padStart(7)}  (${s.n} runs)  ${gflops.toFixed(1)} GFLOP/s`);
      rows.push({ engine, model: model.name, ...s, n, runs: s.n });
    }
    rows.push({ engine, model: model.name, kind: 'load', ms: result.loadMs });
    if (peak) rows.push({ engine, model: model.name, kind: 'peak', bytes: peak.peak, grew: peak.grew });
    rows.push({ engine, model: model.name, kind: 'info', crossOriginIsolated: info.crossOriginIsolated, threads, ort: info.ortVersion });
    out.push(...rows);
  } finally {
    await browser.close();
    await server.close();
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(path.join(ORT_DIST, 'ort.wasm.min.mjs'))) {
    throw new Error(`missing ${ORT_DIST} (run scripts/setup.sh bench)`);
  }
  const version = JSON.parse(fs.readFileSync(path.join(ORT_DIST, '..', 'package.json'), 'utf8')).version;
  console.log(
    `ONNX Runtime Web ${version} (wasm, SIMD) in headless Chromium, fresh browser per model and thread count; median, min, max of ${opts.runs} runs after ${opts.warmup} warm-up, milliseconds`,
  );
  const rows = [];
  for (const model of opts.models) {
    if (!fs.existsSync(model.onnx)) {
      console.log(`(${model.name} skipped: ${model.onnx} missing; scripts/export_onnx.py writes it)`);
      continue;
    }
    for (const t of opts.threads) await runOne(model, t, opts, rows);
  }
  if (opts.jsonl) fs.appendFileSync(opts.jsonl, rows.map((r) => JSON.stringify(r) + '\n').join(''));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
