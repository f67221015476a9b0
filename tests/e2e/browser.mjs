// Shared helpers for the end-to-end tests: Debian's Chromium through playwright-core, error
// watching, readiness waits and the page's data-* hooks.
//
// Environment: CHROMIUM (default /usr/bin/chromium), E2E_READY_TIMEOUT_MS (default 180000).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = path.join(ROOT, 'dist');
export const MODELS = path.join(ROOT, 'models');
export const MODEL = 'sentence-transformers/all-MiniLM-L6-v2';
/** The bundled model's files in Hub layout. */
export const MODEL_DIR = path.join(MODELS, MODEL, 'resolve', 'main');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const READY_TIMEOUT = Number(process.env.E2E_READY_TIMEOUT_MS || 180_000);
/** The page re-runs this long after the last keystroke (src/ui/app.rs RUN_DELAY). */
export const RUN_DEBOUNCE_MS = 300;

export const SEL = {
  status: '[data-testid="status"]',
  ready: '[data-testid="status"][data-state="ready"]',
  error: '[data-testid="error"]',
  retry: '[data-testid="retry"]',
  bundledOffer: '[data-testid="bundled-offer"] button',
  panel: '[data-testid="view-panel"]',
  heatmap: '[data-testid="heatmap"]',
  overlay: '[data-testid="heatmap-overlay"]',
  headView: '[data-testid="head-view"]',
  tooltip: '[data-testid="tooltip"]',
  layer: 'select[data-testid="layer-select"]',
  head: 'select[data-testid="head-select"]',
  text: '[data-testid="text-input"]',
  model: 'select[data-testid="model-select"]',
  repo: '[data-testid="repo-input"]',
  tab: (view) => `[data-testid="view-tab-${view}"]`,
  // The model picker (src/ui/model_picker.rs).
  revision: '[data-testid="revision-input"]',
  startCard: '[data-testid="start-card"]',
  startDefault: '[data-testid="start-default"]',
  startQuick: '[data-testid="start-quick"]',
  localFiles: 'input[data-testid="local-files"]',
  localFolder: 'input[data-testid="local-folder"]',
  localError: '[data-testid="local-error"]',
  modelInfo: '[data-testid="model-info"]',
  // The head view's line budget (src/ui/head_view_draw.rs LINE_BUDGET).
  lineBudgetNote: '[data-testid="line-budget-note"]',
};

// "from → to : 0.123456" (U+2192); the token parts may themselves contain spaces or colons.
export const TOOLTIP_RE = /^(.+?) \u2192 (.+) : (-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)$/;

export const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Console noise of failed or cancelled network requests (not an app error by itself). */
export const isNetworkNoise = (t) => t.includes('Failed to load resource') || t.includes('net::ERR');

/** Fails with a clear message when dist/, the model or Chromium is missing. */
export function checkPrerequisites() {
  assert.ok(
    fs.existsSync(path.join(DIST, 'index.html')),
    'dist/index.html is missing: run `trunk build --release` first (make build)',
  );
  assert.ok(fs.existsSync(path.join(MODEL_DIR, 'config.json')), `models/${MODEL} is missing: run scripts/fetch-model.sh first`);
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} not found: run scripts/setup.sh (apt chromium)`);
}

export async function launchBrowser() {
  const launch = () => chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
  try {
    return await launch();
  } catch (e) {
    // A browser that dies while starting, before any page (seen once in a fresh-clone run on
    // this shared machine: SIGSEGV at launch, every other file's launch fine), says nothing
    // about the app: one more try, said in the output; a second failure fails the file.
    console.log(`# Chromium did not start (${String(e?.message ?? e).split('\n')[0]}); launching it once more`);
    return launch();
  }
}

export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  return { context, page };
}

/**
 * Record console errors (page + its workers, including workers started later) and uncaught
 * page errors. `failed` rejects on the first one that `isFatal` accepts, so waits can fail
 * fast; `expect(re)` marks matching messages as expected from now on (neither recorded nor fatal).
 */
export function watchErrors(page, isFatal = () => true) {
  const consoleErrors = [];
  const pageErrors = [];
  const expected = [];
  const expectedSeen = [];
  const seen = new Set();
  let reject;
  const failed = new Promise((_, r) => {
    reject = r;
  });
  failed.catch(() => {}); // observed via Promise.race only
  const isExpected = (t) => expected.some((re) => re.test(t));
  const onConsole = (where) => (msg) => {
    if (msg.type() !== 'error') return;
    const loc = msg.location();
    // Chromium asks for /favicon.ico by itself; its 404 says nothing about the app.
    if (/\/favicon\.ico(\?|$)/.test(loc?.url ?? '')) return;
    if (isExpected(msg.text())) {
      expectedSeen.push(`${where}${msg.text()}`);
      return;
    }
    const at = loc?.url ? ` (${loc.url}:${loc.lineNumber})` : '';
    const key = msg.text() + at;
    if (seen.has(key)) return; // a worker's message may arrive on both channels
    seen.add(key);
    const text = `${where}console.error: ${msg.text()}${at}`;
    consoleErrors.push(text);
    if (isFatal(msg.text())) reject(new Error(text));
  };
  page.on('console', onConsole(''));
  page.on('worker', (w) => w.on('console', onConsole('[worker] ')));
  page.on('pageerror', (err) => {
    const text = `pageerror: ${err?.stack || err}`;
    if (isExpected(String(err?.message ?? err))) {
      expectedSeen.push(text);
      return;
    }
    pageErrors.push(text);
    reject(new Error(text));
  });
  page.on('crash', () => {
    pageErrors.push('page crashed');
    reject(new Error('page crashed'));
  });
  // Content-Security-Policy violations (index.html's policy, README "Security") become console
  // errors, so an e2e run with the CSP on fails on any violation unless a test expects it.
  page
    .addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline code'} at ${e.sourceFile || '?'}:${e.lineNumber}`);
      });
    })
    .catch(() => {});
  return {
    consoleErrors,
    pageErrors,
    /** Messages that matched `expect` (not errors of the app). */
    expectedSeen,
    failed,
    expect: (re) => expected.push(re),
    /** Console errors that are not network noise. */
    fatalConsoleErrors: () => consoleErrors.filter((t) => !isNetworkNoise(t)),
  };
}

/** Races `promise` against the watcher's first fatal error. */
export function orFail(watcher, promise) {
  return Promise.race([promise, watcher.failed]);
}

/** Wait until the status says ready; fail early on a page error or a shown error box. */
export async function waitReady(page, watcher, timeout = READY_TIMEOUT) {
  const ready = page.waitForSelector(SEL.ready, { state: 'attached', timeout });
  const errorShown = page.waitForSelector(SEL.error, { state: 'visible', timeout }).then(async (el) => {
    throw new Error(`the page shows an error instead of becoming ready: ${(await el.textContent())?.trim()}`);
  });
  errorShown.catch(() => {});
  ready.catch(() => {});
  await Promise.race([ready, errorShown, watcher.failed]);
}

/** Waits for `fn(arg)` (run in the page) to be truthy; fails fast on a fatal error. */
export function waitInPage(page, watcher, fn, arg, timeout = 30_000) {
  return orFail(watcher, page.waitForFunction(fn, arg, { timeout, polling: 'raf' }));
}

/** The `data-*` attributes of the first element matching `selector` (null if none). */
export function dataAttrs(page, selector) {
  return page.evaluate((sel) => {
    const el = document.querySelector(sel);
    return el ? { ...el.dataset } : null;
  }, selector);
}

/**
 * Installs (before any page script) a recorder of attribute values over time: for each
 * `[name, selector, attribute]`, every distinct value the first matching element takes, with
 * `performance.now()`. Read with `readTimeline(page, name)`.
 */
export function recordAttributes(context, watches) {
  return context.addInitScript((watches) => {
    const log = (window.__e2eTimeline = {});
    const last = {};
    for (const [name] of watches) log[name] = [];
    const check = () => {
      for (const [name, sel, attr] of watches) {
        const el = document.querySelector(sel);
        const v = el ? el.getAttribute(attr) : null;
        if (v !== last[name]) {
          last[name] = v;
          log[name].push({ t: performance.now(), v, text: el?.textContent?.trim().slice(0, 200) ?? null });
        }
      }
    };
    new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  }, watches);
}

export function readTimeline(page, name) {
  return page.evaluate((name) => window.__e2eTimeline?.[name] ?? [], name);
}

/** Geometry of the heatmap canvas from its data-* hooks plus its box on the screen. */
export async function heatmapGeometry(page) {
  const canvas = page.locator(SEL.heatmap);
  await canvas.scrollIntoViewIfNeeded();
  const attrs = await canvas.evaluate((el) => ({ tag: el.tagName, ...el.dataset }));
  assert.equal(attrs.tag, 'CANVAS', 'the heatmap element must be a <canvas>');
  const geo = { n: Number(attrs.n), originX: Number(attrs.originX), originY: Number(attrs.originY), cell: Number(attrs.cell) };
  for (const [k, v] of Object.entries(geo)) {
    assert.ok(Number.isFinite(v), `heatmap data attribute for ${k} is not a number: ${JSON.stringify(attrs)}`);
  }
  assert.ok(geo.cell > 0, `data-cell must be > 0: ${JSON.stringify(attrs)}`);
  const box = await canvas.boundingBox();
  assert.ok(box, 'heatmap canvas has no bounding box (not visible?)');
  return { ...geo, box, attrs };
}

/**
 * Hovers heatmap cell (from=i, to=j) and returns the tooltip once it changed from `previous`
 * and parses as "from → to : weight".
 */
export async function hoverCell(page, geo, i, j, previous = null, timeout = 10_000) {
  const x = geo.box.x + geo.originX + (j + 0.5) * geo.cell;
  const y = geo.box.y + geo.originY + (i + 0.5) * geo.cell;
  await page.mouse.move(x, y, { steps: 3 });
  const handle = await page.waitForFunction(
    ([sel, prev]) => {
      const t = document.querySelector(sel)?.textContent?.trim();
      return t && t !== prev ? t : null;
    },
    [SEL.tooltip, previous],
    { timeout, polling: 'raf' },
  );
  const text = await handle.jsonValue();
  const m = TOOLTIP_RE.exec(text);
  assert.ok(m, `tooltip text ${JSON.stringify(text)} does not look like "from \u2192 to : 0.123456"`);
  return { from: m[1], to: m[2], weight: Number(m[3]), text };
}

/**
 * Layer 0 head 0 of the heatmap against PyTorch: hovers each cell of `cells` and compares its
 * tooltip's weight with `golden.at(0, 0, i, j)` within `tolerance`.
 */
export async function checkGoldenCells(page, golden, cells, tolerance = 2e-5) {
  const attrs = await dataAttrs(page, SEL.heatmap);
  assert.equal(`${attrs.layer}/${attrs.head}`, '0/0', 'the heatmap shows layer 0, head 0');
  const geo = await heatmapGeometry(page);
  let previous = null;
  for (const [i, j] of cells) {
    const tip = await hoverCell(page, geo, i, j, previous);
    previous = tip.text;
    const want = golden.at(0, 0, i, j);
    assert.ok(Math.abs(tip.weight - want) <= tolerance, `cell (${i}, ${j}): ${tip.weight} vs PyTorch ${want}`);
  }
}

/**
 * Hovers heatmap cell (from=i, to=j), coming from outside the canvas so that the move is a
 * fresh one, and returns the tooltip once it names `want` = [from token, to token]; fails with
 * the last tooltip text if it does not within `timeout`.
 */
export async function hoverCellNamed(page, geo, i, j, want, timeout = 10_000) {
  const x = geo.box.x + geo.originX + (j + 0.5) * geo.cell;
  const y = geo.box.y + geo.originY + (i + 0.5) * geo.cell;
  await page.mouse.move(Math.max(0, geo.box.x - 20), Math.max(0, geo.box.y - 20));
  await page.mouse.move(x, y, { steps: 5 });
  const read = () => page.evaluate((sel) => document.querySelector(sel)?.textContent?.trim() ?? '', SEL.tooltip);
  const named = (t) => {
    const m = TOOLTIP_RE.exec(t);
    return m && m[1] === want[0] && m[2] === want[1];
  };
  let text = '';
  try {
    const handle = await page.waitForFunction(
      ([sel, want, re]) => {
        const t = document.querySelector(sel)?.textContent?.trim();
        const m = t && new RegExp(re).exec(t);
        return m && m[1] === want[0] && m[2] === want[1] ? t : null;
      },
      [SEL.tooltip, want, TOOLTIP_RE.source],
      { timeout, polling: 100 },
    );
    text = await handle.jsonValue();
  } catch {
    text = await read();
  }
  const m = TOOLTIP_RE.exec(text);
  assert.ok(m, `tooltip text ${JSON.stringify(text)} does not look like "from \u2192 to : 0.123456"`);
  assert.ok(named(text), `tooltip ${JSON.stringify(text)} names the wrong tokens for cell (${i}, ${j}): want ${want.join(' \u2192 ')}`);
  return { from: m[1], to: m[2], weight: Number(m[3]), weightText: m[3], text };
}

/** How many pixels of a canvas are not fully transparent (e.g. what an overlay shows). */
export function opaquePixels(page, selector) {
  return page.evaluate((sel) => {
    const c = document.querySelector(sel);
    if (!c || !c.width || !c.height) return 0;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let k = 3; k < d.length; k += 4) if (d[k] !== 0) n++;
    return n;
  }, selector);
}

/**
 * Installs (before any page script) a trace of the page↔worker protocol: every message the
 * page posts to a Worker and every message a Worker posts back, with `performance.now()`,
 * the worker's index (0 = first worker the page started) and the message decoded from its
 * JSON (bulky fields summarised: `tokens` → its length, `info` → layers/heads, the slice's
 * matrix → its length as `floats`). Read with `readTrace(page)`.
 */
export function traceWorkerProtocol(context) {
  return context.addInitScript(() => {
    const trace = (window.__e2eTrace = []);
    const summarize = (data) => {
      const json = Array.isArray(data) ? data[0] : data;
      let o;
      try {
        o = JSON.parse(json);
      } catch {
        return { type: '?', raw: String(json).slice(0, 200) };
      }
      if (typeof o === 'string') return { type: o };
      const type = Object.keys(o)[0];
      const out = { type };
      for (const [k, v] of Object.entries(o[type] ?? {})) {
        if (k === 'tokens' && Array.isArray(v)) out.tokens = v.length;
        else if (k === 'info' && v) out.info = { layers: v.layers, heads: v.heads };
        else out[k] = v;
      }
      if (Array.isArray(data) && data[1] && typeof data[1].length === 'number') out.floats = data[1].length;
      return out;
    };
    const Original = window.Worker;
    let count = 0;
    window.Worker = class extends Original {
      constructor(...args) {
        super(...args);
        const worker = count++;
        this.__e2eIndex = worker;
        this.addEventListener('message', (ev) => trace.push({ t: performance.now(), dir: 'recv', worker, ...summarize(ev.data) }));
        this.addEventListener('error', (ev) => trace.push({ t: performance.now(), dir: 'error', worker, type: 'error', message: ev.message }));
      }
      postMessage(message, ...rest) {
        trace.push({ t: performance.now(), dir: 'send', worker: this.__e2eIndex, ...summarize(message) });
        return super.postMessage(message, ...rest);
      }
    };
  });
}

export function readTrace(page, since = 0) {
  return page.evaluate((since) => (window.__e2eTrace ?? []).slice(since), since);
}

export function pageNow(page) {
  return page.evaluate(() => performance.now());
}

/**
 * Marks each tab of `context` as having reloaded for cross-origin isolation already (the
 * page's own once-per-tab flag, src/ui/isolation.rs), for tests that visit bare URLs of a
 * fresh profile and wait idle on them: when the service worker, installing from that visit or
 * the one before, takes control, an idle page reloads once into isolation
 * (tests/e2e/threads.test.mjs checks that), which would cut a check in the middle.
 */
export function noIsolationReload(context) {
  return context.addInitScript(() => {
    try {
      sessionStorage.setItem('attention-viz-isolation-reload', '1');
    } catch {
      // no sessionStorage: the page does not reload either
    }
  });
}

/**
 * Makes every page of `context` behave as a browser without relaxed SIMD: `WebAssembly.validate`
 * refuses modules holding f32x4.relaxed_madd (0xfd 0x85 0x02), as such a browser does, so the
 * page's probe (src/ui/engine_variant.rs) fails and it starts the plain simd128 worker.
 */
export function refuseRelaxedSimd(context) {
  return context.addInitScript(() => {
    const validate = WebAssembly.validate;
    WebAssembly.validate = function (bytes, ...rest) {
      const b = new Uint8Array(ArrayBuffer.isView(bytes) ? bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) : bytes);
      for (let k = 0; k + 2 < b.length; k++) if (b[k] === 0xfd && b[k + 1] === 0x85 && b[k + 2] === 0x02) return false;
      return validate.call(this, bytes, ...rest);
    };
  });
}

/**
 * Starts another engine worker at `url` from `page` and sends it a Storage request at once,
 * before its wasm has even loaded (as the page sends its model's load as soon as it starts,
 * src/ui/session.rs): the worker's loader must keep the request until the engine listens
 * (src/boot/worker_loader.js). Returns the kinds of the responses, in order, once a Storage
 * report came or after 20 s (a request lost: WorkerReady only).
 */
export function earlyRequestAnswers(page, url, module = false) {
  return page.evaluate(
    ([url, module]) =>
      new Promise((resolve, reject) => {
        const worker = new Worker(url, module ? { type: 'module' } : undefined);
        const kinds = [];
        const finish = () => {
          worker.terminate();
          resolve(kinds);
        };
        const timer = setTimeout(finish, 20_000);
        worker.onmessage = (event) => {
          const value = JSON.parse(Array.isArray(event.data) ? event.data[0] : event.data);
          kinds.push(typeof value === 'string' ? value : Object.keys(value)[0]);
          if (kinds.includes('Storage')) {
            clearTimeout(timer);
            finish();
          }
        };
        worker.onerror = (event) => {
          clearTimeout(timer);
          worker.terminate();
          reject(new Error(`the worker at ${url} failed: ${event.message}`));
        };
        worker.postMessage(JSON.stringify('Storage'));
      }),
    [url, module],
  );
}
