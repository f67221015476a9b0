#!/usr/bin/env node
// The site's two engine builds side by side, paired (a benchmark: it prints, it asserts
// nothing; scripts/bench.sh's `wasm` part runs it after tests/wasm_bench.rs).
//
//   node scripts/bench_variants.mjs [--model NAME=DIR ...] [--lengths 16,32,128,512] [--rounds 7] [--rounds-long 3] [--dist DIR]
//
// On a shared machine two builds timed one after the other differ by whatever else ran
// meanwhile (the wasm bench's two sets of lines can be 30 % apart both ways). Here both workers
// of dist/ (worker_loader.js: simd128; worker_relaxed_loader.js: relaxed SIMD's FMA) run in one
// page of one headless Chromium, each with the same model (served in Hub layout from 127.0.0.1),
// and take turns on the same text: run k of one build is next to run k of the other, so a busy
// moment hits both. Each time is the worker's own `ms` of the run (`Response::Ran`). Prints per
// model and length the median of each build and the median of the per-round ratios (relaxed ÷
// plain; < 1: the relaxed build is faster), after one warm-up round. Default models: MiniLM and
// the bert-base-shaped random model (.cache/bench/bert-base-random); 7 rounds, 3 (--rounds-long)
// at 512 tokens and more.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startServer } from '../tests/e2e/static-server.mjs';
import { fmt, launchFresh, stats } from './bench_lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILDS = [
  ['plain', './worker_loader.js'],
  ['relaxed', './worker_relaxed_loader.js'],
];

function parseArgs(argv) {
  const o = { models: [], lengths: [16, 32, 128, 512], rounds: 7, roundsLong: 3, dist: path.join(ROOT, 'dist') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--model') {
      const [name, dir] = next().split('=');
      o.models.push({ name, dir: path.resolve(dir) });
    } else if (a === '--lengths') o.lengths = next().split(',').map(Number);
    else if (a === '--rounds') o.rounds = Number(next());
    else if (a === '--rounds-long') o.roundsLong = Number(next());
    else if (a === '--dist') o.dist = path.resolve(next());
    else throw new Error(`unknown option ${a}`);
  }
  if (!o.models.length) {
    o.models = [
      { name: 'all-MiniLM-L6-v2', dir: path.join(ROOT, 'models/sentence-transformers/all-MiniLM-L6-v2/resolve/main') },
      { name: 'bert-base-shaped (random)', dir: path.join(ROOT, '.cache/bench/bert-base-random') },
    ];
  }
  return o;
}

/** In the page: starts both workers, loads `repo` into each, then alternates runs of `texts`. */
async function pagePaired({ builds, hub, repo, texts, rounds, roundsLong }) {
  const start = (url) =>
    new Promise((resolve, reject) => {
      const w = new Worker(url);
      const waiting = [];
      w.onmessage = (ev) => {
        const json = Array.isArray(ev.data) ? ev.data[0] : ev.data;
        const msg = JSON.parse(json);
        const type = typeof msg === 'string' ? msg : Object.keys(msg)[0];
        const body = typeof msg === 'string' ? {} : msg[type];
        if (type === 'Error') return waiting.shift()?.reject(new Error(`${url}: ${JSON.stringify(body)}`));
        const i = waiting.findIndex((x) => x.type === type);
        if (i >= 0) waiting.splice(i, 1)[0].resolve(body);
      };
      w.onerror = (e) => reject(new Error(`${url}: ${e.message}`));
      const expect = (type) => new Promise((res, rej) => waiting.push({ type, resolve: res, reject: rej }));
      expect('WorkerReady').then(() => resolve({ w, expect }), reject);
    });
  const workers = [];
  for (const [, url] of builds) workers.push(await start(url));
  let id = 0;
  for (const { w, expect } of workers) {
    id++;
    const loaded = expect('Loaded');
    w.postMessage(JSON.stringify({ Load: { id, source: { hub, repo, revision: 'main' } } }));
    await loaded;
  }
  const run = async ({ w, expect }, text) => {
    const ran = expect('Ran');
    w.postMessage(JSON.stringify({ Run: { id: ++id, text, pair: null } }));
    const r = await ran;
    return { ms: r.ms, n: r.shape.seq };
  };
  const out = [];
  for (const [n, text] of texts) {
    const times = workers.map(() => []);
    const r = n >= 512 ? roundsLong : rounds;
    for (let k = 0; k <= r; k++) {
      // Alternate which build goes first, so neither always follows the other.
      const order = k % 2 ? [1, 0] : [0, 1];
      for (const b of order) {
        const t = await run(workers[b], text);
        if (t.n !== n) throw new Error(`expected ${n} tokens, got ${t.n}`);
        if (k > 0) times[b].push(t.ms);
      }
    }
    out.push({ n, times });
  }
  for (const { w } of workers) w.terminate();
  return out;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  for (const f of ['worker_loader.js', 'worker_relaxed_loader.js']) {
    if (!fs.existsSync(path.join(opts.dist, f))) throw new Error(`missing ${opts.dist}/${f}: build the site (scripts/build-site.sh)`);
  }
  const hub = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-variants-hub-'));
  for (const m of opts.models) {
    m.repo = `bench/${m.name.replace(/\W+/g, '-')}`;
    fs.mkdirSync(path.join(hub, m.repo, 'resolve'), { recursive: true });
    fs.symlinkSync(m.dir, path.join(hub, m.repo, 'resolve', 'main'), 'dir');
  }
  const server = await startServer({ root: opts.dist, port: 0, mounts: { '/hub': { dir: hub } } });
  const browser = await launchFresh();
  try {
    console.log(
      `both engine builds alternated in one page (the worker's own ms per run), ${opts.rounds} rounds after 1 warm-up (${opts.roundsLong} at 512 tokens); ` +
        `load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    );
    console.log(`${'model'.padEnd(28)} | tokens | plain ms | relaxed ms | relaxed ÷ plain (median of rounds, min–max)`);
    for (const m of opts.models) {
      const page = await browser.context.newPage();
      // A blank page of the site's origin: the workers' scripts are relative to it.
      await page.route(`${server.url}/variants.html`, (r) => r.fulfill({ contentType: 'text/html', body: '<!doctype html><title>variants</title>' }));
      await page.goto(`${server.url}/variants.html`);
      const texts = opts.lengths.map((n) => [n, Array(n - 2).fill('the').join(' ')]);
      const res = await page.evaluate(pagePaired, { builds: BUILDS, hub: `${server.url}/hub`, repo: m.repo, texts, rounds: opts.rounds, roundsLong: opts.roundsLong });
      for (const { n, times } of res) {
        const [p, r] = times.map((t) => stats(t));
        const ratios = stats(times[1].map((t, k) => t / times[0][k]));
        console.log(
          `${m.name.padEnd(28)} | ${String(n).padStart(6)} | ${fmt(p.median).padStart(8)} | ${fmt(r.median).padStart(10)} | ` +
            `${ratios.median.toFixed(3)} (${ratios.min.toFixed(3)}–${ratios.max.toFixed(3)})`,
        );
      }
      await page.close();
    }
  } finally {
    await browser.close();
    await server.close();
    fs.rmSync(hub, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`bench_variants: ${e.stack || e}`);
  process.exit(1);
});
