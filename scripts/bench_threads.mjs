#!/usr/bin/env node
// Our engine workers as the page runs them, 1 thread and N threads (a benchmark: it prints, it
// asserts nothing). Part `threads` of `make bench` (scripts/bench.sh).
//
//   node scripts/bench_threads.mjs [--engines single,threads:2] [--model NAME=REPO:DIR ...]
//                                  [--lengths 16,32,128,512] [--runs 11] [--warmup 2] [--jsonl FILE]
//
// Serves the built site (dist/, with the threaded worker of scripts/build-threads.sh) and the
// model folders in Hub layout from 127.0.0.1, cross-origin isolated (COOP same-origin + COEP
// require-corp, as the service worker makes the real page), and per engine and model opens a
// fresh Chromium on a blank page of that origin, which starts the engine worker itself:
//   single     worker_loader.js (the stable single-threaded build the page runs by default);
//   threads:N  worker_threads_loader.js?threads=N (the nightly build, N rayon threads).
// It loads the model through the worker's protocol (Request::Load from the local hub; the
// worker downloads it and keeps it in Cache Storage, as the page does), then per length runs
// --warmup untimed and --runs timed `Run`s of [CLS] + (n - 2) × "the" + [SEP] (the text of
// tests/wasm_bench.rs, attention-bench and scripts/bench_ort.mjs), each timed with
// performance.now() from posting the request to its `Ran` answer: tokenization and the forward
// pass with every attention, plus one message each way (well under a millisecond).
// --jsonl FILE appends one JSON object per row (engines `wasm-worker-1t` and `wasm-threads-Nt`,
// read by scripts/bench_table.mjs).
//
// Environment: CHROMIUM (default /usr/bin/chromium), BENCH_QUIET_WAIT_S (wait up to that long for
// a quiet machine before each browser; default 0).

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { mimeType } from '../tests/e2e/static-server.mjs';
import { bertFlops, fmt, launchFresh, stats, waitQuiet } from './bench_lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');

function parseArgs(argv) {
  const o = { engines: ['single', 'threads:2'], models: [], lengths: [16, 32, 128, 512], runs: 11, warmup: 2, jsonl: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
      return argv[++i];
    };
    if (a === '--engines') o.engines = next().split(',');
    else if (a === '--model') {
      const m = /^([^=]+)=([^:]+):(.+)$/.exec(next());
      if (!m) throw new Error('--model expects NAME=REPO:DIR');
      o.models.push({ name: m[1], repo: m[2], dir: path.resolve(m[3]) });
    } else if (a === '--lengths') o.lengths = next().split(',').map(Number);
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
    o.models.push({ name: 'all-MiniLM-L6-v2', repo: 'sentence-transformers/all-MiniLM-L6-v2', dir: path.join(ROOT, 'models/sentence-transformers/all-MiniLM-L6-v2/resolve/main') });
    o.models.push({ name: 'bert-base-shaped (random)', repo: 'bench/bert-base-random', dir: path.join(ROOT, '.cache/bench/bert-base-random') });
  }
  for (const e of o.engines) if (!/^(single|threads:\d+)$/.test(e)) throw new Error(`--engines: ${e} is neither single nor threads:N`);
  if (!(o.runs >= 11)) throw new Error('--runs must be at least 11');
  return o;
}

/** dist/ at /, each model folder at /hub/<repo>/resolve/main/, and a blank page; isolated. */
function serve(models) {
  const mounts = [...models.map((m) => [`/hub/${m.repo}/resolve/main/`, m.dir]), ['/', DIST]];
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const headers = { 'Cache-Control': 'no-store', 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
    if (url === '/bench.html') {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/html; charset=utf-8' });
      return res.end('<!doctype html><meta charset="utf-8"><title>engine bench</title>');
    }
    const m = mounts.find(([p]) => url.startsWith(p));
    const file = m && path.resolve(m[1], '.' + path.posix.normalize('/' + url.slice(m[0].length)));
    if (!file || !file.startsWith(m[1] + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
      return res.end(`not found: ${url}\n`);
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

/** In the page: starts the engine worker, loads the model, times the runs. */
async function inPage({ script, module, hub, repo, lengths, warmup, runs }) {
  const worker = new Worker(script, module ? { type: 'module' } : undefined);
  let failure = null;
  worker.addEventListener('error', (e) => (failure = new Error(`worker error: ${e.message ?? 'script did not load'}`)));
  const next = (want) =>
    new Promise((resolve, reject) => {
      const timer = setInterval(() => failure && (cleanup(), reject(failure)), 100);
      const cleanup = () => (clearInterval(timer), worker.removeEventListener('message', on));
      const on = (ev) => {
        const json = Array.isArray(ev.data) ? ev.data[0] : ev.data;
        let o;
        try {
          o = JSON.parse(json);
        } catch {
          return;
        }
        const type = typeof o === 'string' ? o : Object.keys(o)[0];
        const body = typeof o === 'string' ? {} : o[type];
        if (type === 'Error' || type === 'Unreachable') {
          cleanup();
          reject(new Error(`${type}: ${JSON.stringify(body)}`));
        } else if (want(type, body)) {
          cleanup();
          resolve(body);
        }
      };
      worker.addEventListener('message', on);
    });
  await next((t) => t === 'WorkerReady');
  const t0 = performance.now();
  worker.postMessage(JSON.stringify({ Load: { id: 1, source: { hub, repo, revision: 'main' } } }));
  await next((t, b) => t === 'Loaded' && b.load === 1);
  const out = { loadMs: performance.now() - t0, lengths: {} };
  let id = 0;
  for (const n of lengths) {
    const text = Array(n - 2).fill('the').join(' ');
    const once = async () => {
      id += 1;
      const t = performance.now();
      worker.postMessage(JSON.stringify({ Run: { id, text, pair: null } }));
      const ran = await next((type, b) => type === 'Ran' && b.id === id);
      const ms = performance.now() - t;
      if (ran.tokens.length !== n) throw new Error(`${n} tokens asked, ${ran.tokens.length} run`);
      return ms;
    };
    for (let k = 0; k < warmup; k++) await once();
    const samples = [];
    for (let k = 0; k < runs; k++) samples.push(await once());
    out.lengths[n] = samples;
  }
  worker.terminate();
  return out;
}

async function runOne(engine, model, opts, rows) {
  const threads = engine === 'single' ? 1 : Number(engine.split(':')[1]);
  const name = engine === 'single' ? 'wasm-worker-1t' : `wasm-threads-${threads}t`;
  const quiet = await waitQuiet({ label: `${model.name}, ${engine}` });
  const server = await serve(opts.models);
  const browser = await launchFresh();
  try {
    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('crash', () => errors.push('page crashed'));
    await page.goto(`${server.url}/bench.html`, { waitUntil: 'load' });
    const info = await page.evaluate(() => ({ isolated: self.crossOriginIsolated, cores: navigator.hardwareConcurrency }));
    if (threads > 1 && !info.isolated) throw new Error('the bench page is not cross-origin isolated');
    const result = await page.evaluate(inPage, {
      script: engine === 'single' ? '/worker_loader.js' : `/worker_threads_loader.js?threads=${threads}`,
      module: engine !== 'single',
      hub: `${server.url}/hub`,
      repo: model.repo,
      lengths: opts.lengths,
      warmup: opts.warmup,
      runs: opts.runs,
    });
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    const config = JSON.parse(fs.readFileSync(path.join(model.dir, 'config.json'), 'utf8'));
    const what = engine === 'single' ? 'worker_loader.js, 1 thread' : `worker_threads_loader.js, ${threads} threads`;
    console.log(`${model.name}: ours, ${what}, crossOriginIsolated=${info.isolated}, ${info.cores} cores, Chromium ${browser.version ?? '?'}; machine ${(quiet.busy * 100).toFixed(0)} % busy before`);
    console.log(`  load (download from 127.0.0.1 into Cache Storage, parse) ${fmt(result.loadMs)} ms`);
    for (const n of opts.lengths) {
      const s = stats(result.lengths[n]);
      const gflops = bertFlops(config, n) / (s.median * 1e6);
      console.log(`  ${String(n).padStart(4)} tokens: median ${fmt(s.median).padStart(7)} ms  min ${fmt(s.min).padStart(7)}  max ${fmt(s.max).padStart(7)}  (${s.n} runs)  ${gflops.toFixed(1)} GFLOP/s`);
      rows.push({ engine: name, model: model.name, ...s, n, runs: s.n });
    }
    rows.push({ engine: name, model: model.name, kind: 'info', crossOriginIsolated: info.isolated, threads });
  } finally {
    await browser.close();
    await server.close();
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(path.join(DIST, 'worker_loader.js'))) throw new Error('dist/ is not built (make build)');
  if (opts.engines.some((e) => e !== 'single') && !fs.existsSync(path.join(DIST, 'worker_threads_loader.js'))) {
    throw new Error('dist/worker_threads_loader.js missing (built without the threaded worker: AV_THREADS=0?)');
  }
  console.log(`ours in headless Chromium through the engine workers' protocol; median, min, max of ${opts.runs} runs after ${opts.warmup} warm-up, milliseconds`);
  const rows = [];
  for (const model of opts.models) {
    if (!fs.existsSync(path.join(model.dir, 'model.safetensors'))) {
      console.log(`(${model.name} skipped: ${model.dir}/model.safetensors missing)`);
      continue;
    }
    for (const engine of opts.engines) await runOne(engine, model, opts, rows);
  }
  if (opts.jsonl) fs.appendFileSync(opts.jsonl, rows.map((r) => JSON.stringify(r) + '\n').join(''));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
