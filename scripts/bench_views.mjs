#!/usr/bin/env node
// Redraw speed of the views in headless Chromium (a benchmark: it prints, it asserts nothing;
// `make bench` runs it from scripts/bench.sh, `make test` never does).
//
//   node scripts/bench_views.mjs [--model-dir DIR] [--repeats N] [--warmup N] [--hovers N]
//                                [--trace] [--extra] [--json FILE]
//
// Serves dist/ (from `trunk build --release`) and the bert-base-shaped random model that
// `attention-bench --write-random DIR` writes (default DIR: .cache/bench/bert-base-random) in Hub
// layout (a temp dir holding `bench/bert-base-random/resolve/main` -> DIR), opens the page in
// Debian's Chromium through playwright-core (1280×1000, DPR 1, software raster as in the e2e
// tests), runs texts of exactly 128 and 512 tokens (checked on `data-n` and the status line),
// and times, per view:
//   - redraw: `window.dispatchEvent(new Event('resize'))` bumps the session's width tick and the
//     active view redraws its base canvas; we wait until `data-draws` increments, then read
//     `data-draw-ms` (the drawing code, timed by the app) — "draw code";
//     dispatched at the start of a frame (in a requestAnimationFrame callback, where Chrome also
//     delivers mouse moves): time to the end of that frame's rendering (a task posted from the
//     rAF callback runs once style, layout, paint and the canvas flush are done) — "frame";
//     dispatched right after a frame: wall time to the end of the next frame after the draw, so
//     it includes waiting for the 60 Hz frame — "to next frame";
//   - hover (heatmap, head view): synthetic mouse moves across cells / tokens, each one "frame"
//     and "to next frame" as above; the base canvas must not redraw (`data-draws` unchanged,
//     printed with the notes).
// Median, min, max of --repeats (default 31, at least 21) redraws after --warmup (5), and of
// --hovers (40). Targets from the issue: head view with all 12 heads at 128 tokens < 16 ms,
// model view 12 × 12 at 128 tokens < 100 ms, heatmap at 512 tokens < 16 ms ("meets": median).
// --trace adds, per case, a Chrome trace of a few frames split into page code (rAF callbacks and
// effects: Rust/wasm and its canvas calls), canvas raster (Skia running the recorded 2D calls at
// commit) and the display compositor. --extra adds the heatmap at 128 tokens and the head and
// model views at 512. --json FILE keeps every sample.
//
// Environment: CHROMIUM (default /usr/bin/chromium), BENCH_READY_TIMEOUT_MS (default 240000).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { startServer } from '../tests/e2e/static-server.mjs';
import { LAUNCH_ARGS } from '../tests/e2e/browser.mjs';
import { fmt, stats, textOf } from './bench_lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const READY_TIMEOUT = Number(process.env.BENCH_READY_TIMEOUT_MS || 240_000);
const REPO = 'bench/bert-base-random';

const SEL = {
  ready: '[data-testid="status"][data-state="ready"]',
  status: '[data-testid="status"]',
  error: '[data-testid="error"]',
  text: '[data-testid="text-input"]',
  tab: (v) => `[data-testid="view-tab-${v}"]`,
  heatmap: '[data-testid="heatmap"]',
  head: '[data-testid="head-view"]',
  model: '[data-testid="model-view"]',
};

const TARGETS = {
  heatmap: { tokens: 512, ms: 16 },
  head: { tokens: 128, ms: 16 },
  model: { tokens: 128, ms: 100 },
};

function parseArgs(argv) {
  const o = {
    modelDir: path.join(ROOT, '.cache/bench/bert-base-random'),
    repeats: 31,
    warmup: 5,
    hovers: 40,
    json: null,
    extra: false,
    trace: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
      return argv[++i];
    };
    if (a === '--model-dir') o.modelDir = path.resolve(next());
    else if (a === '--repeats') o.repeats = Number(next());
    else if (a === '--warmup') o.warmup = Number(next());
    else if (a === '--hovers') o.hovers = Number(next());
    else if (a === '--json') o.json = path.resolve(next());
    else if (a === '--extra') o.extra = true;
    else if (a === '--trace') o.trace = true;
    else if (a === '--help' || a === '-h') {
      const text = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
      console.log(text.slice(1, text.indexOf('')).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!(o.repeats >= 21)) throw new Error('--repeats must be at least 21');
  return o;
}

/**
 * Page-side helpers (installed once per page): `afterTask()` resolves in a task posted now
 * (after the pending microtasks, and after a rendering update that is due); `frameEnd()`
 * resolves in a task posted from the next requestAnimationFrame callback, i.e. once that frame's
 * rendering (style, layout, paint, canvas flush) is over; `inFrame(fn)` calls `fn` at the start
 * of the next frame (in a rAF callback, where Chrome also delivers mouse moves) and resolves
 * with the time from that call to the end of the same frame's rendering.
 */
const PAGE_HELPERS = `
  window.__bench = {
    afterTask: () => new Promise((r) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => r(performance.now());
      ch.port2.postMessage(0);
    }),
    frameEnd: () => new Promise((r) => requestAnimationFrame(() => __bench.afterTask().then(r))),
    inFrame: (fn) => new Promise((r) => requestAnimationFrame(() => {
      const t0 = performance.now();
      fn();
      __bench.afterTask().then((t) => r(t - t0));
    })),
  };`;

/**
 * Page side of a redraw measurement: `count` resize-triggered redraws of the canvas `sel`, each
 * measured twice: dispatched at the start of a frame (draw code, time to the draw, time to the
 * end of that frame), and dispatched right after a frame (wall time to the end of the next frame
 * after the draw, so it includes the wait for the next 60 Hz frame).
 */
async function measureRedraws(page, sel, count) {
  await page.evaluate(PAGE_HELPERS);
  return page.evaluate(
    async ({ sel, count }) => {
      const { afterTask, frameEnd, inFrame } = window.__bench;
      const canvas = document.querySelector(sel);
      if (!canvas) throw new Error(`no ${sel}`);
      const draws = () => Number(canvas.getAttribute('data-draws') || 0);
      const resize = () => window.dispatchEvent(new Event('resize'));
      const watch = () => {
        const before = draws();
        const result = { t: null, done: null };
        result.done = new Promise((resolve, reject) => {
          const mo = new MutationObserver(() => {
            if (draws() > before) {
              result.t = performance.now();
              mo.disconnect();
              resolve();
            }
          });
          mo.observe(canvas, { attributes: true, attributeFilter: ['data-draws'] });
          setTimeout(() => {
            mo.disconnect();
            reject(new Error(`${sel}: no redraw within 20 s after a resize event`));
          }, 20_000);
        });
        return { before, result };
      };
      const out = [];
      for (let k = 0; k < count; k++) {
        // 1. At the start of a frame: the frame's own cost.
        await frameEnd();
        let w = watch();
        let t0 = 0;
        const frame = await inFrame(() => {
          t0 = performance.now();
          resize();
        });
        await w.result.done;
        const drawMs = Number(canvas.getAttribute('data-draw-ms'));
        const toDrawn = w.result.t - t0;
        const drawsA = draws() - w.before;
        // 2. Right after a frame: wall time to the end of the next frame after the draw.
        await frameEnd();
        w = watch();
        t0 = performance.now();
        resize();
        await w.result.done;
        const tEnd = await frameEnd();
        out.push({ drawMs, toDrawn, frame, wall: tEnd - t0, draws: Math.max(drawsA, draws() - w.before) });
      }
      return out;
    },
    { sel, count },
  );
}

/**
 * Page side of a hover measurement: synthetic mousemoves at `points` (CSS px relative to the
 * canvas). Each point is hovered at the start of a frame (time to the end of that frame's
 * rendering); then the whole sequence again, each move followed by the next frame (wall time
 * per hover, 60 Hz frames included). Also returns how many base redraws happened meanwhile
 * (must be 0) and what the page showed for the hovered points.
 */
async function measureHovers(page, sel, points, check) {
  await page.evaluate(PAGE_HELPERS);
  return page.evaluate(
    async ({ sel, points, check }) => {
      const { frameEnd, inFrame } = window.__bench;
      const canvas = document.querySelector(sel);
      const draws = () => Number(canvas.getAttribute('data-draws') || 0);
      const move = ([x, y]) => {
        const r = canvas.getBoundingClientRect();
        canvas.dispatchEvent(
          new MouseEvent('mousemove', { clientX: r.left + x, clientY: r.top + y, bubbles: true, cancelable: true, view: window }),
        );
      };
      const shown = () =>
        check === 'tooltip'
          ? (document.querySelector('[data-testid="tooltip"]')?.textContent ?? '')
          : (canvas.getAttribute('data-focus') ?? '');
      await frameEnd();
      const before = draws();
      const frame = [];
      const seen = [];
      for (const p of points) {
        await frameEnd();
        frame.push(await inFrame(() => move(p)));
        seen.push(shown());
      }
      canvas.dispatchEvent(new MouseEvent('mouseleave', { bubbles: false }));
      await frameEnd();
      const wall = [];
      for (const p of points) {
        const t0 = performance.now();
        move(p);
        wall.push((await frameEnd()) - t0);
      }
      canvas.dispatchEvent(new MouseEvent('mouseleave', { bubbles: false }));
      await frameEnd();
      return { frame, wall, baseRedraws: draws() - before, distinct: new Set(seen).size, lastSeen: seen.at(-1) };
    },
    { sel, points, check },
  );
}

const TRACE_FRAMES = 5;
const TRACE_CATEGORIES = ['cc', 'benchmark', 'blink', 'devtools.timeline', 'v8.execute', 'viz'];

/**
 * Where a frame's time goes, from a Chrome trace of TRACE_FRAMES frames that each start with
 * `action` (the page-side code of `kind`: a resize, or a hover at the next of `points`): per
 * frame, the renderer's main-thread frame (ProxyMain::BeginMainFrame), inside it the rAF
 * callbacks with the page's effects (FireAnimationFrame: the view's Rust/wasm code and its canvas
 * calls, recorded, not yet drawn) and the canvas raster at commit (…ProduceCanvasResource: Skia
 * executes the recorded 2D calls), and the display compositor's draw (Display::DrawAndSwap, on its
 * own thread). Means per frame, in ms.
 */
async function traceFrames(browser, page, sel, kind, points = []) {
  await page.evaluate(PAGE_HELPERS);
  await browser.startTracing(page, { categories: TRACE_CATEGORIES });
  let buf;
  try {
    await page.evaluate(
      async ({ sel, kind, points, frames }) => {
        const { frameEnd, inFrame } = window.__bench;
        const canvas = document.querySelector(sel);
        await frameEnd();
        for (let k = 0; k < frames; k++) {
          await inFrame(() => {
            if (kind === 'resize') window.dispatchEvent(new Event('resize'));
            else {
              const [x, y] = points[k % points.length];
              const r = canvas.getBoundingClientRect();
              canvas.dispatchEvent(new MouseEvent('mousemove', { clientX: r.left + x, clientY: r.top + y, bubbles: true, view: window }));
            }
          });
          await frameEnd();
        }
        canvas.dispatchEvent(new MouseEvent('mouseleave', { bubbles: false }));
        await frameEnd();
      },
      { sel, kind, points, frames: TRACE_FRAMES },
    );
  } finally {
    buf = await browser.stopTracing();
  }
  const parsed = JSON.parse(buf.toString());
  const events = parsed.traceEvents ?? parsed;
  const threads = {};
  for (const e of events) if (e.ph === 'M' && e.name === 'thread_name') threads[`${e.pid}:${e.tid}`] = e.args?.name;
  const sum = { frame: 0, script: 0, raster: 0, compositor: 0 };
  for (const e of events) {
    if (e.ph !== 'X' || !e.dur) continue;
    const thread = threads[`${e.pid}:${e.tid}`];
    const ms = e.dur / 1000;
    if (thread === 'CrRendererMain') {
      if (e.name === 'ProxyMain::BeginMainFrame') sum.frame += ms;
      else if (e.name === 'FireAnimationFrame') sum.script += ms;
      else if (/ProduceCanvasResource/.test(e.name)) sum.raster += ms;
    } else if (thread === 'VizCompositorThread' && e.name === 'Display::DrawAndSwap') sum.compositor += ms;
  }
  const per = Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, v / TRACE_FRAMES]));
  per.other = Math.max(0, per.frame - per.script - per.raster);
  return per;
}

function printTrace(traces) {
  if (!traces.length) return;
  console.log(`where a frame goes (Chrome trace, mean of ${TRACE_FRAMES} frames, ms): main-thread frame = page code + canvas raster + other; compositor on its own thread`);
  const head = ['view', 'event', 'tokens', 'frame', 'page code', 'canvas raster', 'other', 'compositor'];
  const body = traces.map((t) => [t.view, t.event, String(t.tokens), fmt(t.frame), fmt(t.script), fmt(t.raster), fmt(t.other), fmt(t.compositor)]);
  const w = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c].length)));
  const line = (cells) => cells.map((c, k) => (k < 2 ? c.padEnd(w[k]) : c.padStart(w[k]))).join(' | ');
  console.log(line(head));
  console.log(w.map((n) => '-'.repeat(n)).join('-|-'));
  for (const b of body) console.log(line(b));
}

async function idleFrameInterval(page) {
  return page.evaluate(async () => {
    const ts = [];
    await new Promise((done) => {
      const tick = (t) => {
        ts.push(t);
        if (ts.length < 31) requestAnimationFrame(tick);
        else done();
      };
      requestAnimationFrame(tick);
    });
    const d = ts.slice(1).map((t, i) => t - ts[i]).sort((a, b) => a - b);
    return d[Math.floor(d.length / 2)];
  });
}

async function attr(page, sel, name) {
  return page.locator(sel).getAttribute(name);
}

async function fail(page, what) {
  const status = await page.locator(SEL.status).textContent().catch(() => '?');
  const error = await page.locator(SEL.error).textContent().catch(() => '');
  throw new Error(`${what} (status: ${status?.trim()}${error ? `; error: ${error.trim()}` : ''})`);
}

async function waitFor(page, selector, what, timeout = READY_TIMEOUT) {
  try {
    await page.waitForSelector(selector, { state: 'attached', timeout });
  } catch {
    await fail(page, `${what}: ${selector} did not appear within ${timeout / 1000} s`);
  }
}

/** Shows view `v` and waits until its canvas has drawn the current run with `n` tokens. */
async function show(page, v, n) {
  await page.locator(SEL.tab(v)).click();
  const sel = SEL[v];
  const hasN = v === 'model' ? '' : `[data-n="${n}"]`;
  await waitFor(page, `${sel}${hasN}[data-draws]`, `${v} view`);
  await waitFor(page, SEL.ready, `${v} view ready`);
  await page.locator(sel).scrollIntoViewIfNeeded();
  const status = (await page.locator(SEL.status).textContent())?.trim() ?? '';
  const tokens = Number(/^(\d+) tokens/.exec(status)?.[1]);
  if (tokens !== n) throw new Error(`the run has ${tokens} tokens, expected ${n} (status: ${status})`);
  return sel;
}

async function benchRedraw(browser, page, v, n, opts, rows, traces) {
  const sel = await show(page, v, n);
  const samples = await measureRedraws(page, sel, opts.warmup + opts.repeats);
  const kept = samples.slice(opts.warmup);
  const extra = [];
  if (v === 'head') {
    extra.push(`heads ${await attr(page, sel, 'data-heads')}`);
    extra.push(`${await attr(page, sel, 'data-line-count')} lines`);
  }
  if (v === 'model') {
    extra.push(`${await attr(page, sel, 'data-layers')}×${await attr(page, sel, 'data-heads')} thumbnails of ${await attr(page, sel, 'data-thumb')} px (side ${await attr(page, sel, 'data-side')})`);
  }
  if (v === 'heatmap') extra.push(`cell ${await attr(page, sel, 'data-cell')} px`);
  const canvasSize = await page.locator(sel).evaluate((c) => `${c.width}×${c.height} px`);
  extra.push(`canvas ${canvasSize}`);
  const target = TARGETS[v]?.tokens === n ? TARGETS[v].ms : null;
  rows.push({ view: v, what: 'redraw: draw code', tokens: n, ...stats(kept.map((s) => s.drawMs)), target });
  rows.push({ view: v, what: 'redraw: frame', tokens: n, ...stats(kept.map((s) => s.frame)), target });
  rows.push({ view: v, what: 'redraw: to next frame', tokens: n, ...stats(kept.map((s) => s.wall)), target: null });
  extra.push(`event -> draw done ${fmt(stats(kept.map((s) => s.toDrawn)).median)} ms (median)`);
  if (opts.trace) traces.push({ view: v, event: 'redraw', tokens: n, ...(await traceFrames(browser, page, sel, 'resize')) });
  const multi = kept.filter((s) => s.draws !== 1).length;
  return { view: v, tokens: n, notes: extra.join(', ') + (multi ? `; ${multi} samples drew more than once` : ''), samples: kept };
}

async function benchHover(browser, page, v, n, opts, rows, traces) {
  const sel = SEL[v];
  const total = opts.warmup + opts.hovers;
  let points;
  let check;
  if (v === 'heatmap') {
    const [ox, oy, cell] = await Promise.all(['data-origin-x', 'data-origin-y', 'data-cell'].map((a) => attr(page, sel, a).then(Number)));
    // Cells across the matrix: a different row and column each time.
    points = Array.from({ length: total }, (_, k) => {
      const i = (k * 37 + 3) % n;
      const j = (k * 53 + 11) % n;
      return [ox + (j + 0.5) * cell, oy + (i + 0.5) * cell];
    });
    check = 'tooltip';
  } else {
    const [lx, rx, ys] = await Promise.all(['data-left-x', 'data-right-x', 'data-ys'].map((a) => attr(page, sel, a)));
    const y = ys.split(',').map(Number);
    // Tokens down both columns, alternating sides ("from" left, "to" right).
    points = Array.from({ length: total }, (_, k) => {
      const i = (k * 7 + 1) % n;
      return [k % 2 ? Number(rx) + 10 : Number(lx) - 10, y[i]];
    });
    check = 'focus';
  }
  const r = await measureHovers(page, sel, points, check);
  if (opts.trace) traces.push({ view: v, event: 'hover', tokens: n, ...(await traceFrames(browser, page, sel, 'hover', points.slice(opts.warmup))) });
  const redrew = r.baseRedraws === 0 ? '0 (as it should)' : `${r.baseRedraws} (hover must not redraw the base)`;
  const note = `base redraws during ${2 * total} hovers: ${redrew}; ${r.distinct} distinct ${check === 'tooltip' ? 'tooltips' : 'focus tokens'} (last: ${JSON.stringify(r.lastSeen)})`;
  rows.push({ view: v, what: 'hover: frame', tokens: n, ...stats(r.frame.slice(opts.warmup)), target: null });
  rows.push({ view: v, what: 'hover: to next frame', tokens: n, ...stats(r.wall.slice(opts.warmup)), target: null });
  return { view: v, tokens: n, hover: true, notes: note, baseRedraws: r.baseRedraws, frame: r.frame, wall: r.wall };
}

function printTable(rows) {
  const head = ['view', 'measure', 'tokens', 'median ms', 'min', 'max', 'target', 'meets'];
  const body = rows.map((r) => [
    r.view,
    r.what,
    String(r.tokens),
    fmt(r.median),
    fmt(r.min),
    fmt(r.max),
    r.target == null ? '-' : `< ${r.target}`,
    r.target == null ? '-' : r.median < r.target ? 'yes' : 'NO',
  ]);
  const w = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c].length)));
  const line = (cells) => cells.map((c, k) => (k < 2 ? c.padEnd(w[k]) : c.padStart(w[k]))).join(' | ');
  console.log(line(head));
  console.log(w.map((n) => '-'.repeat(n)).join('-|-'));
  for (const b of body) console.log(line(b));
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  for (const [what, p] of [
    ['dist/index.html (run `trunk build --release`)', path.join(DIST, 'index.html')],
    [`the random model (run \`attention-bench --write-random ${opts.modelDir}\`)`, path.join(opts.modelDir, 'model.safetensors')],
    ['Chromium (scripts/setup.sh)', CHROMIUM],
  ]) {
    if (!fs.existsSync(p)) throw new Error(`missing ${what}: ${p}`);
  }
  const vocab = JSON.parse(fs.readFileSync(path.join(opts.modelDir, 'tokenizer.json'), 'utf8')).model.vocab;

  const hub = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-views-hub-'));
  const repoDir = path.join(hub, REPO, 'resolve');
  fs.mkdirSync(repoDir, { recursive: true });
  fs.symlinkSync(opts.modelDir, path.join(repoDir, 'main'), 'dir');

  const server = await startServer({ root: DIST, port: 0, mounts: { '/hub': hub } });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
  const rows = [];
  const results = [];
  const traces = [];
  let frame = null;
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && !/favicon/.test(m.location()?.url ?? '') && errors.push(m.text()));
    page.on('crash', () => errors.push('page crashed'));

    const t128 = textOf(128, vocab);
    const t512 = textOf(512, vocab);
    const url = `${server.url}/?hub=${encodeURIComponent(`${server.url}/hub`)}&model=${encodeURIComponent(REPO)}&text=${encodeURIComponent(t128)}`;
    const tLoad = Date.now();
    await page.goto(url, { waitUntil: 'load' });
    await waitFor(page, `${SEL.heatmap}[data-n="128"][data-draws]`, 'model load and first run');
    await waitFor(page, SEL.ready, 'first run');
    const loadS = (Date.now() - tLoad) / 1000;
    frame = await idleFrameInterval(page);

    // 128 tokens: head view and model view (targets), heatmap (for comparison).
    if (opts.extra) results.push(await benchRedraw(browser, page, 'heatmap', 128, opts, rows, traces));
    results.push(await benchRedraw(browser, page, 'head', 128, opts, rows, traces));
    results.push(await benchHover(browser, page, 'head', 128, opts, rows, traces));
    results.push(await benchRedraw(browser, page, 'model', 128, opts, rows, traces));

    // 512 tokens (the model's limit): the heatmap.
    await page.locator(SEL.tab('heatmap')).click();
    await page.locator(SEL.text).fill(t512);
    await waitFor(page, `${SEL.heatmap}[data-n="512"][data-draws]`, 'run at 512 tokens');
    results.push(await benchRedraw(browser, page, 'heatmap', 512, opts, rows, traces));
    results.push(await benchHover(browser, page, 'heatmap', 512, opts, rows, traces));
    if (opts.extra) {
      results.push(await benchRedraw(browser, page, 'head', 512, opts, rows, traces));
      results.push(await benchRedraw(browser, page, 'model', 512, opts, rows, traces));
    }
    if (errors.length) console.error(`page errors:\n  ${errors.join('\n  ')}`);

    const cpu = os.cpus()[0]?.model ?? '?';
    const version = browser.version();
    console.log(
      `views in headless Chromium ${version} (software raster; idle frame interval ${fmt(frame)} ms), ` +
        `${os.cpus().length} cores, ${cpu}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    );
    console.log(
      `bert-base-shaped random model (12 layers × 12 heads), loaded and first run in ${loadS.toFixed(1)} s; ` +
        `${opts.repeats} redraws after ${opts.warmup} warm-up, ${opts.hovers} hovers; viewport 1280×1000, DPR 1; milliseconds`,
    );
    printTable(rows);
    for (const r of results) if (r.notes) console.log(`  ${r.view} ${r.tokens}${r.hover ? ' hover' : ''}: ${r.notes}`);
    console.log(
      '  draw code = data-draw-ms (the drawing code, timed by the app); frame = event at the start of a frame -> ' +
        'end of that frame\'s rendering (effects, style, layout, paint, canvas flush; compositing is off the main thread); ' +
        'to next frame = event right after a frame -> end of the next frame after the draw (includes the wait for the ' +
        '60 Hz frame). meets: the median.',
    );
    if (traces.length) console.log();
    printTrace(traces);
    console.log(`  (${((Date.now() - started) / 1000).toFixed(0)} s in all)`);
    if (opts.json) {
      fs.mkdirSync(path.dirname(opts.json), { recursive: true });
      fs.writeFileSync(opts.json, JSON.stringify({ frame, rows, traces, results }, null, 1));
    }
    await context.close();
  } finally {
    await browser.close();
    await server.close();
    fs.unlinkSync(path.join(repoDir, 'main')); // the link only, never the model it points to
    fs.rmSync(hub, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`bench_views: ${e?.stack || e}`);
  process.exit(1);
});
