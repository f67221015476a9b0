// End-to-end test of the site as the GitHub Pages workflow publishes it
// (.github/workflows/pages.yml): the release build with `--public-url /attention-viz/`, served
// under that sub-path, in headless Chromium.
//
//   node --test tests/e2e/deploy.test.mjs
//
// The site under test is dist/ (from `trunk build --release`, as `make test` builds it) turned
// into the `--public-url /attention-viz/` build without a second trunk run. Built from the same
// sources both ways and compared once (trunk 0.21.14, 2026-11-28), the two dist/ directories
// differed in exactly two files:
//   - index.html: each `./<file>` trunk writes (the CSS link, the page's JS import and wasm
//     path, the modulepreload and preload links; 5 in all) becomes `/attention-viz/<file>`;
//     the integrity hashes, worker_loader.js (which stays relative), every other file and
//     models/ are byte-identical;
//   - sw.js: the post_build hook (scripts/service-worker.mjs) hashes index.html into its
//     manifest and version.
// So this rewrites those references in a copy of index.html and runs the same hook on the copy
// with the template dist/sw.js was written from; the result was byte-identical to trunk's own
// `--public-url /attention-viz/` output. A second trunk build would cost `make test` about
// 2¼ minutes on 2 cores even with cargo having nothing to compile: trunk runs wasm-bindgen and
// wasm-opt on both binaries again (measured 136 s).
//
// The server (tests/e2e/static-server.mjs) has an empty root and the site mounted at
// /attention-viz, so a request that escapes the prefix gets a 404 and shows in its log. One
// browser context, as one visitor:
//  1. a deep link `/attention-viz/?hub=…/attention-viz/models&model=…&text=…&pair=…` on a cold
//     cache: first paint, the shell (status line) on screen before the model is ready, the worker
//     from /attention-viz/, the bundled MiniLM from /attention-viz/models/, the heatmap equal to
//     PyTorch's, the service worker registered with scope /attention-viz/;
//  2. the same link reloaded offline (server stopped): the service worker serves the shell, the
//     model comes from Cache Storage, the text and pair are restored;
//  3. a first visit to `/attention-viz/`: the start card; Quick start loads the bundled model
//     from /attention-viz/models;
// then: every request the server saw is under /attention-viz/, and no console errors.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { loadGolden } from './golden.mjs';
import {
  DIST,
  MODEL,
  MODELS,
  READY_TIMEOUT,
  ROOT,
  SEL,
  checkPrerequisites,
  dataAttrs,
  isNetworkNoise,
  launchBrowser,
  orFail,
  readTimeline,
  readTrace,
  recordAttributes,
  traceWorkerProtocol,
  waitReady,
  watchErrors,
  checkGoldenCells,
} from './browser.mjs';
import { startServer } from './static-server.mjs';

const PREFIX = '/attention-viz';
const LOAD_TIMEOUT = Math.min(READY_TIMEOUT, 90_000);
const STEP_TIMEOUT = 30_000;
const WEIGHT_TOLERANCE = 2e-5;
const SW_MARKER = 'const MANIFEST = null; // @@MANIFEST@@';

let site; // the --public-url build, outside dist/
let outside; // the server's root: nothing
let server;
let browser;
let context;
let page;
let watcher;
let golden;
let deepLink;
const done = new Set();

/**
 * Copies dist/ (its files and models/index.json; the models themselves are mounted from dist/)
 * and applies to it what `trunk build --public-url <prefix>/` does differently (see the top).
 */
function makeSubpathSite(dir) {
  for (const f of fs.readdirSync(DIST)) {
    const p = path.join(DIST, f);
    if (!f.startsWith('.') && fs.statSync(p).isFile()) fs.copyFileSync(p, path.join(dir, f));
  }
  fs.mkdirSync(path.join(dir, 'models'));
  fs.copyFileSync(path.join(DIST, 'models', 'index.json'), path.join(dir, 'models', 'index.json'));

  const indexFile = path.join(dir, 'index.html');
  const html = fs.readFileSync(indexFile, 'utf8');
  assert.ok(!html.includes('.well-known/trunk/ws'), 'dist/ is a `trunk serve` build: run `trunk build --release`');
  let count = 0;
  const rewritten = html.replace(/(["'])\.\//g, (_, q) => {
    count++;
    return `${q}${PREFIX}/`;
  });
  assert.ok(count >= 5, `trunk wrote ${count} "./" references in dist/index.html (the rewrite was checked on 5)`);
  // Every local reference is now under the prefix (anything else would be a new kind of link).
  const refs = [...rewritten.matchAll(/(?:href|src)=["']([^"']+)["']|from ["']([^"']+)["']|module_or_path: ["']([^"']+)["']/g)]
    .map((m) => m[1] ?? m[2] ?? m[3])
    .filter((u) => !u.startsWith('data:'));
  assert.ok(refs.length >= 5 && refs.every((u) => u.startsWith(`${PREFIX}/`)), `references in index.html: ${refs}`);
  fs.writeFileSync(indexFile, rewritten);

  // The service worker template dist/sw.js was written from, then the post_build hook again.
  const sw = fs.readFileSync(path.join(DIST, 'sw.js'), 'utf8');
  const template = sw.replace(/^const MANIFEST = \{.*\};$/m, SW_MARKER);
  assert.notEqual(template, sw, 'dist/sw.js has no manifest line');
  const templateFile = path.join(os.tmpdir(), `attention-viz-sw-template-${process.pid}.js`); // not in the site
  fs.writeFileSync(templateFile, template);
  try {
    execFileSync('node', [path.join(ROOT, 'scripts', 'service-worker.mjs'), '--dir', dir, '--template', templateFile]);
  } finally {
    fs.rmSync(templateFile, { force: true });
  }
}

before(async () => {
  checkPrerequisites();
  golden = loadGolden('pair');
  site = fs.mkdtempSync(path.join(os.tmpdir(), 'attention-viz-pages-'));
  outside = fs.mkdtempSync(path.join(os.tmpdir(), 'attention-viz-outside-'));
  makeSubpathSite(site);
  // The bundled models' folders (one per owner: sentence-transformers/, attention-viz/) straight
  // from dist/models/ (longest prefix wins over the site's mount).
  const owners = fs.readdirSync(path.join(DIST, 'models'), { withFileTypes: true }).filter((e) => e.isDirectory());
  server = await startServer({
    root: outside,
    mounts: [
      { prefix: PREFIX, dir: site },
      ...owners.map((e) => ({ prefix: `${PREFIX}/models/${e.name}`, dir: path.join(DIST, 'models', e.name) })),
    ],
  });
  const hub = `${server.url}${PREFIX}/models`;
  const q = new URLSearchParams({ hub, model: MODEL, text: golden.meta.text, pair: golden.meta.pair });
  deepLink = `${server.url}${PREFIX}/?${q}`;
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, deviceScaleFactor: 1 });
  await traceWorkerProtocol(context);
  await recordAttributes(context, [
    ['status', SEL.status, 'data-state'],
    ['startCard', SEL.startCard, 'data-testid'],
  ]);
  page = await context.newPage();
  watcher = watchErrors(page, (t) => !isNetworkNoise(t));
});

after(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
  for (const d of [site, outside]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

function requireStep(t, step) {
  if (!done.has(step)) t.skip(`needs the "${step}" step, which did not pass`);
  return !done.has(step);
}

/** The heatmap of the pair fixture, drawn; a few tooltips equal PyTorch's weights. */
async function checkPairHeatmap() {
  await orFail(watcher, page.waitForSelector(`${SEL.heatmap}[data-draws][data-n="${golden.n}"]`, { state: 'attached', timeout: STEP_TIMEOUT }));
  await checkGoldenCells(page, golden, [[0, 0], [4, 12], [golden.n - 1, 2]], WEIGHT_TOLERANCE);
  await page.mouse.move(1, 1);
}

async function checkRestored() {
  assert.equal(await page.locator(SEL.text).inputValue(), golden.meta.text, 'text= restored');
  assert.equal(await page.locator('[data-testid="pair-input"]').inputValue(), golden.meta.pair, 'pair= restored');
}

/** FCP and navigation figures of the current document (ms since navigation start). */
async function paintFigures() {
  // The paint entry is queued a frame or so after the paint itself.
  await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0, null, { timeout: 5_000 }).catch(() => {});
  return page.evaluate(() => ({
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
    domContentLoaded: performance.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd ?? null,
  }));
}

const firstTime = (timeline, pred) => timeline.find(pred)?.t ?? null;
const ms = (x) => (x == null ? 'n/a' : `${Math.round(x)} ms`);

describe(`the site under ${PREFIX}/ (the GitHub Pages build)`, () => {
  test('a deep link on a cold cache: shell first, worker and bundled model from the prefix, service worker scoped to it', { timeout: LOAD_TIMEOUT + 30_000 }, async () => {
    await page.goto(deepLink, { waitUntil: 'load' });
    await waitReady(page, watcher, LOAD_TIMEOUT);
    await checkPairHeatmap();
    await checkRestored();

    // First paint, and the shell on screen before the model is ready.
    const { fcp, domContentLoaded } = await paintFigures();
    const status = await readTimeline(page, 'status');
    const shown = status.find((e) => e.v !== null);
    const shownAt = shown?.t ?? null;
    const readyAt = firstTime(status, (e) => e.v === 'ready');
    console.log(
      `cold deep link: first contentful paint ${ms(fcp)}, DOMContentLoaded ${ms(domContentLoaded)}, ` +
        `status line on screen at ${ms(shownAt)} ("${shown?.text}"), model ready at ${ms(readyAt)}; ` +
        `states: ${status.filter((e) => e.v !== null).map((e) => e.v).join(' → ')}`,
    );
    assert.ok(fcp > 0, 'a first-contentful-paint entry');
    assert.ok(shownAt != null && readyAt != null && shownAt < readyAt, 'the shell shows before the model is ready');
    assert.notEqual(shown.v, 'ready', 'the first state shown is not "ready"');

    // The worker came from the prefix (the relaxed-SIMD build where Chromium validates it:
    // tests/e2e/engine_variant.test.mjs); the model files from the site's models/.
    const variant = (await dataAttrs(page, '[data-testid="engine"]'))?.variant;
    const engine = { relaxed: 'worker_relaxed', threads: 'worker_threads', plain: 'worker' }[variant];
    const workers = page.workers().map((w) => new URL(w.url()).pathname);
    assert.deepEqual(workers, [`${PREFIX}/${engine}_loader.js`], 'the engine worker');
    const load = (await readTrace(page)).find((m) => m.dir === 'send' && m.type === 'Load');
    assert.equal(load?.source?.hub, `${server.url}${PREFIX}/models`, `the Load message: ${JSON.stringify(load)}`);
    const modelGets = server.requests.filter((e) => e.method === 'GET' && e.path?.includes('/resolve/'));
    assert.deepEqual(
      modelGets.map((e) => `${e.path} ${e.status}`).sort(),
      ['config.json', 'model.safetensors', 'tokenizer.json'].map((f) => `${PREFIX}/models/${MODEL}/resolve/main/${f} 200`),
      'the bundled model, from the site',
    );
    for (const p of ['/', '/attention-viz-', `/${engine}.js`, `/${engine}_bg.wasm`, '/models/index.json', '/sw.js']) {
      assert.ok(server.requests.some((e) => e.status === 200 && e.path.startsWith(`${PREFIX}${p}`)), `${PREFIX}${p}… was served`);
    }

    // The service worker: scope = the prefix, controlling the page, the shell cached.
    await orFail(watcher, page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: STEP_TIMEOUT }));
    const sw = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.getRegistration();
      const shell = (await caches.keys()).find((n) => n.startsWith('attention-viz-shell-'));
      const files = shell ? (await (await caches.open(shell)).keys()).map((r) => new URL(r.url).pathname) : [];
      return { scope: reg?.scope, script: reg?.active?.scriptURL, files };
    });
    assert.equal(sw.scope, `${server.url}${PREFIX}/`, 'service worker scope');
    assert.equal(sw.script, `${server.url}${PREFIX}/sw.js`);
    assert.ok(sw.files.length >= 8 && sw.files.every((p) => p.startsWith(`${PREFIX}/`)), `the app shell cache: ${sw.files}`);
    assert.ok(sw.files.includes(`${PREFIX}/index.html`) && sw.files.includes(`${PREFIX}/worker_bg.wasm`), `the app shell cache: ${sw.files}`);
    done.add('deep link');
  });

  test('the deep link reloaded offline: the service worker serves the shell, the cache the model', { timeout: LOAD_TIMEOUT + 30_000 }, async (t) => {
    if (requireStep(t, 'deep link')) return;
    // The service worker's update check of sw.js fails with the server stopped; Chromium may say so.
    watcher.expect(/ServiceWorker|sw\.js/);
    await context.setOffline(true);
    server.setStopped('/');
    server.setStopped(PREFIX);
    try {
      const mark = server.requests.at(-1)?.id ?? 0;
      const t0 = Date.now();
      await page.reload({ waitUntil: 'load' });
      await waitReady(page, watcher, LOAD_TIMEOUT);
      await checkPairHeatmap();
      await checkRestored();
      const { fcp } = await paintFigures();
      console.log(`offline reload: ready in ${Date.now() - t0} ms, first contentful paint ${ms(fcp)}`);
      const answered = server.requests.filter((e) => e.id > mark && e.status !== null);
      assert.deepEqual(answered.map((e) => e.path), [], 'the server answered nothing');
      // One engine worker (the multi-threaded one also starts its pool's workers: this reload
      // came through the service worker, so the page is cross-origin isolated).
      const engines = page.workers().filter((w) => /\/worker(_threads|_relaxed)?_loader\.js$/.test(new URL(w.url()).pathname));
      assert.equal(engines.length, 1, `the engine worker started: ${page.workers().map((w) => w.url())}`);
      done.add('offline');
    } finally {
      await context.setOffline(false);
      server.setStopped('/', false);
      server.setStopped(PREFIX, false);
    }
  });

  test(`a first visit to ${PREFIX}/: the start card, then Quick start runs the bundled model`, { timeout: LOAD_TIMEOUT + 30_000 }, async (t) => {
    if (requireStep(t, 'deep link')) return;
    await page.goto(`${server.url}${PREFIX}/`, { waitUntil: 'load' });
    await orFail(watcher, page.locator(SEL.startCard).waitFor({ state: 'visible', timeout: STEP_TIMEOUT }));
    const { fcp } = await paintFigures();
    const cardAt = firstTime(await readTimeline(page, 'startCard'), (e) => e.v !== null);
    console.log(`first visit (service worker): first contentful paint ${ms(fcp)}, start card at ${ms(cardAt)}`);
    await orFail(watcher, page.waitForFunction((sel) => /bundled/.test(document.querySelector(sel)?.textContent ?? ''), SEL.startQuick, { timeout: STEP_TIMEOUT }));
    await page.locator(SEL.startQuick).click();
    await waitReady(page, watcher, LOAD_TIMEOUT);
    const load = (await readTrace(page)).find((m) => m.dir === 'send' && m.type === 'Load');
    assert.deepEqual(load?.source, { hub: `${server.url}${PREFIX}/models`, repo: MODEL, revision: 'main' }, 'Quick start loads the bundled model from the site');
    await orFail(watcher, page.waitForSelector(`${SEL.heatmap}[data-draws]`, { state: 'attached', timeout: STEP_TIMEOUT }));
  });

  test(`no request left ${PREFIX}/, and no console errors`, async (t) => {
    if (requireStep(t, 'deep link')) return;
    const escaped = server.requests.filter((e) => !(e.path ?? '').startsWith(`${PREFIX}/`));
    assert.deepEqual(escaped.map((e) => `${e.method} ${e.url} ${e.status}`), [], 'requests outside the prefix');
    const failed = server.requests.filter((e) => e.status != null && e.status >= 400);
    assert.deepEqual(failed.map((e) => `${e.method} ${e.url} ${e.status}`), [], 'failed requests');
    console.log(`${server.requests.length} requests, all under ${PREFIX}/`);
    const noise = watcher.consoleErrors.filter(isNetworkNoise);
    if (noise.length) console.log(`network noise in the console: ${noise.length} message(s), e.g. ${noise[0]}`);
    assert.deepEqual(watcher.pageErrors, [], 'uncaught page errors');
    assert.deepEqual(watcher.fatalConsoleErrors(), [], 'console errors other than network failures');
  });
});
