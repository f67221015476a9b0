#!/usr/bin/env node
// Peak memory and input responsiveness while the page loads a model (a benchmark: it prints,
// it asserts nothing; `make bench` runs it from scripts/bench.sh).
//
//   node scripts/bench_memory.mjs [--model NAME=DIR ...]
//
// For each model (default: the bert-base- and bert-large-shaped random models that
// `attention-bench --write-random DIR` / `--write-random-large DIR` write under .cache/bench/),
// in a fresh Chromium profile:
//   1. open the page with nothing stored (the start card: no download), wait, and read the
//      resident memory (VmRSS) of every renderer process; reset their peaks
//      (`echo 5 > /proc/PID/clear_refs` resets VmHWM);
//   2. type the repo into the picker and load it from a local Hub-layout server (download,
//      parse, saved to Cache Storage), typing into the text box all along; then read each
//      renderer's peak (VmHWM). The page and its worker live in one renderer process: its peak
//      minus its resident memory before the load is what loading cost, shown against the size
//      of model.safetensors (issue 6's target: at most 1.5× for bert-base);
//   3. the same from Cache Storage in a new tab (the second visit);
//   4. input responsiveness: every keypress while loading is an Event Timing entry (input to
//      the next paint); the slowest is printed (target: 100 ms).
// A model that does not load prints the page's message instead (bert-large must load, or fail
// early with a message saying why).
//
// Environment: CHROMIUM (default /usr/bin/chromium), BENCH_READY_TIMEOUT_MS (default 300000),
// BENCH_GC_PROBE=1 (launch with --expose-gc and print the renderer's memory before and after a
// forced GC once loaded: how much of the peak was garbage).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { startServer } from '../tests/e2e/static-server.mjs';
import { LAUNCH_ARGS } from '../tests/e2e/browser.mjs';
import { findBrowserPid, renderers } from './bench_lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const READY_TIMEOUT = Number(process.env.BENCH_READY_TIMEOUT_MS || 300_000);

const SEL = {
  status: '[data-testid="status"]',
  ready: '[data-testid="status"][data-state="ready"]',
  failed: '[data-testid="status"][data-state="failed"]',
  error: '[data-testid="error"]',
  start: '[data-testid="start-card"]',
  repo: '[data-testid="repo-input"]',
  text: '[data-testid="text-input"]',
};

function args() {
  const models = [];
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--model') {
      const [name, dir] = a[++i].split('=');
      models.push({ name, dir: path.resolve(dir) });
    } else {
      throw new Error(`unknown option ${a[i]}`);
    }
  }
  if (models.length === 0) {
    models.push({ name: 'bert-base-shaped', dir: path.join(ROOT, '.cache/bench/bert-base-random') });
    models.push({ name: 'bert-large-shaped', dir: path.join(ROOT, '.cache/bench/bert-large-random') });
  }
  return models;
}

function status(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

const mb = (b) => `${(b / 1e6).toFixed(0)} MB`;

/** Resident memory of every renderer now; their peaks are reset. */
function baseline(root) {
  const base = new Map();
  for (const pid of renderers(root)) {
    const s = status(pid);
    if (!s) continue;
    base.set(pid, s.rss);
    try {
      fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch (e) {
      throw new Error(`cannot reset the peak of renderer ${pid} (${e.message})`);
    }
  }
  return base;
}

/** The renderer whose peak grew most since `base`: { pid, before, peak, after }. */
function peak(root, base) {
  let best = null;
  for (const pid of renderers(root)) {
    const s = status(pid);
    if (!s || !base.has(pid)) continue;
    const grew = s.hwm - base.get(pid);
    if (!best || grew > best.grew) best = { pid, before: base.get(pid), peak: s.hwm, after: s.rss, grew };
  }
  return best;
}

/**
 * A first visit's idle page reloads once into cross-origin isolation when the service worker
 * takes control (src/ui/isolation.rs; only where there are threads to gain, 2 cores or more):
 * waits for the page that stays, so the load is measured on it and not cut by the reload.
 */
async function isolated(page) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const settled = await page
      .evaluate(() => navigator.serviceWorker.controller !== null && (self.crossOriginIsolated || navigator.hardwareConcurrency < 2))
      .catch(() => false); // the reload destroyed the context: ask the new document
    if (settled) break;
    if (Date.now() > deadline) throw new Error('the page did not come under its service worker within 60 s');
    await page.waitForTimeout(100);
  }
  await page.waitForLoadState('load');
}

/** Loads `repo` through the picker, typing meanwhile; returns what happened. */
async function load(page, root, repo, fileBytes) {
  await page.waitForSelector(SEL.start, { timeout: 60_000 });
  // Let the page settle (fonts, first paint, worker start) before the baseline.
  await page.waitForFunction(() => document.readyState === 'complete');
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 500))));
  await page.evaluate(() => {
    window.__events = [];
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) window.__events.push({ name: e.name, duration: e.duration });
    }).observe({ type: 'event', durationThreshold: 16, buffered: false });
  });
  const base = baseline(root);
  const t0 = Date.now();
  await page.fill(SEL.repo, repo);
  await page.press(SEL.repo, 'Enter');
  // Type while the model downloads and parses (keypresses every 150 ms into the text box).
  let typed = 0;
  const outcome = (async () => {
    const done = await Promise.race([
      page.waitForSelector(SEL.ready, { timeout: READY_TIMEOUT }).then(() => 'ready'),
      page.waitForSelector(SEL.failed, { timeout: READY_TIMEOUT }).then(() => 'failed'),
    ]);
    return done;
  })();
  let finished = null;
  outcome.then((o) => (finished = o), (e) => (finished = `timeout: ${e.message}`));
  await page.click(SEL.text).catch(() => {});
  while (finished === null) {
    await page.keyboard.press(typed % 2 ? 'Backspace' : 'x').catch(() => {});
    typed++;
    await new Promise((r) => setTimeout(r, 150));
  }
  const ms = Date.now() - t0;
  const p = peak(root, base);
  const events = await page.evaluate(() => window.__events);
  const worst = events.reduce((m, e) => Math.max(m, e.duration), 0);
  if (process.env.BENCH_GC_PROBE) {
    const before = status(p.pid).rss;
    for (const w of page.workers()) await w.evaluate(() => globalThis.gc && gc()).catch(() => {});
    await page.evaluate(() => globalThis.gc && gc());
    await new Promise((r) => setTimeout(r, 1000));
    console.log(`  gc probe: rss ${mb(before)} -> ${mb(status(p.pid).rss)}`);
  }
  const message = finished === 'ready' ? await page.textContent(SEL.status) : await page.textContent(SEL.error).catch(() => finished);
  return { finished, ms, peak: p, fileBytes, typed, worstInput: worst, slowInputs: events.filter((e) => e.duration > 100).length, message };
}

function row(name, visit, r) {
  const p = r.peak;
  const cost = p ? p.peak - p.before : NaN;
  const cells = [
    name.padEnd(20),
    visit.padEnd(8),
    mb(r.fileBytes).padStart(8),
    r.finished === 'ready' ? `${(r.ms / 1000).toFixed(1)} s`.padStart(8) : 'failed'.padStart(8),
    p ? mb(p.before).padStart(8) : '-',
    p ? mb(p.peak).padStart(8) : '-',
    p ? `${mb(cost)} (${(cost / r.fileBytes).toFixed(2)}×)`.padStart(16) : '-',
    `${r.worstInput.toFixed(0)} ms / ${r.typed}`.padStart(12),
  ];
  console.log(cells.join(' | '));
  if (r.finished !== 'ready') console.log(`  ${name}: ${r.message}`);
}

async function main() {
  const models = args();
  for (const p of [path.join(DIST, 'index.html'), CHROMIUM]) {
    if (!fs.existsSync(p)) throw new Error(`missing ${p} (run trunk build --release / scripts/setup.sh)`);
  }
  const hub = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-memory-hub-'));
  for (const m of models) {
    if (!fs.existsSync(path.join(m.dir, 'model.safetensors'))) {
      console.log(`(${m.name} skipped: ${m.dir}/model.safetensors missing; attention-bench --write-random[-large] writes it)`);
      continue;
    }
    const d = path.join(hub, 'bench', m.name, 'resolve');
    fs.mkdirSync(d, { recursive: true });
    fs.symlinkSync(m.dir, path.join(d, 'main'), 'dir');
  }
  const server = await startServer({ root: DIST, port: 0, mounts: { '/hub': hub } });
  console.log('memory while loading, in headless Chromium (renderer = page + worker; cost = its peak RSS − its RSS before)');
  console.log(
    ['model'.padEnd(20), 'visit'.padEnd(8), 'file'.padStart(8), 'ready in'.padStart(8), 'before'.padStart(8), 'peak'.padStart(8), 'cost'.padStart(16), 'worst input / keys'.padStart(12)].join(' | '),
  );
  try {
    for (const m of models) {
      const file = path.join(m.dir, 'model.safetensors');
      if (!fs.existsSync(file)) continue;
      const bytes = fs.statSync(file).size;
      const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-memory-profile-'));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: process.env.BENCH_GC_PROBE ? [...LAUNCH_ARGS, '--js-flags=--expose-gc'] : LAUNCH_ARGS,
        viewport: { width: 1280, height: 1000 },
        deviceScaleFactor: 1,
      });
      try {
        const root = findBrowserPid(profile);
        const url = `${server.url}/?hub=${encodeURIComponent(`${server.url}/hub`)}`;
        let page = await context.newPage();
        await page.goto(url, { waitUntil: 'load' });
        await isolated(page);
        const first = await load(page, root, `bench/${m.name}`, bytes);
        row(m.name, 'network', first);
        if (first.finished === 'ready') {
          await page.close();
          page = await context.newPage();
          await page.goto(url, { waitUntil: 'load' });
          const second = await load(page, root, `bench/${m.name}`, bytes);
          row(m.name, 'cache', second);
        }
      } finally {
        await context.close();
        fs.rmSync(profile, { recursive: true, force: true });
      }
    }
  } finally {
    await server.close();
    fs.rmSync(hub, { recursive: true, force: true });
  }
  console.log('worst input = slowest keypress (input → next paint, Event Timing) while loading; target 100 ms');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
