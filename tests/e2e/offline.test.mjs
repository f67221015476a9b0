// End-to-end tests of downloads, the model cache and offline use (dist/ from
// `trunk build --release`, in headless Chromium through playwright-core):
//
//   node --test tests/e2e/offline.test.mjs
//
// One browser, one browser context (its Cache Storage and service worker carry over from test
// to test, as they would for one person), ten page loads, in order:
//  1. the model from `/hub`, its model.safetensors cut by the server at 30 %: the rest comes by
//     Range (206) and the attention is right; the model and the app shell end up cached;
//  2. reload with `/hub` stopped: the model comes from Cache Storage, no request reaches it;
//  3. reload offline (context.setOffline, and the server stopped too): the service worker serves
//     the page and the worker, the cache the model;
//  4. reload after corrupting the cached files (same-size garbage weights, a truncated config):
//     both are evicted and fetched again, the tokenizer is not; the model runs;
//  5. the storage panel lists the model with its size; Delete removes it; the next load (a
//     reload) downloads it again;
//  6. a server without `Accept-Ranges` (`/noranges`), cut at 30 %: the download starts over;
//  7. a download cut four times (`/flaky`): three retries resume by Range, then the page gives
//     up with a message naming the file; Retry loads it;
//  8. a throttled download from `/slowhub`, with speed and time left: Cancel aborts it on the
//     wire and the page says "cancelled";
//  9. Retry with `Cache.prototype.put` failing in the worker (a full storage): a note says so
//     and the model still runs.
// Then, in a second context on a copy of dist/, a new release (a changed index.html, a renamed
// CSS file, a new sw.js from scripts/service-worker.mjs): the open page keeps the old release
// until "Reload to update", then gets the new one whole, and the old app-shell cache is gone;
// and the same site as `trunk serve` gives it: the service worker removes itself.
// Besides the page's data-* hooks, the server's request log (tests/e2e/static-server.mjs:
// bytes sent, aborted and cut connections, Range headers) shows what went over the wire.

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
  MODEL_DIR,
  MODELS,
  READY_TIMEOUT,
  SEL,
  ROOT,
  checkPrerequisites,
  dataAttrs,
  isNetworkNoise,
  launchBrowser,
  orFail,
  readTrace,
  traceWorkerProtocol,
  waitInPage,
  waitReady,
  watchErrors,
  checkGoldenCells,
} from './browser.mjs';
import { startServer } from './static-server.mjs';

const MODEL_CACHE = 'attention-viz-models-v1'; // src/net/cache.rs
const SHELL_PREFIX = 'attention-viz-shell-'; // sw.js
const SLOW_BYTES_PER_SECOND = 2_000_000; // model.safetensors (91 MB) would take ~45 s
const CUT_FRACTION = 0.3;
const STEP_TIMEOUT = 30_000;
const LOAD_TIMEOUT = Math.min(READY_TIMEOUT, 90_000);
const WEIGHT_TOLERANCE = 2e-5;
const FILES = ['config.json', 'tokenizer.json', 'model.safetensors'];
const SIZE = Object.fromEntries(FILES.map((f) => [f, fs.statSync(path.join(MODEL_DIR, f)).size]));
const MODEL_BYTES = FILES.reduce((a, f) => a + SIZE[f], 0);

const S = {
  ...SEL,
  cancel: '[data-testid="cancel"]',
  fileProgress: '[data-testid="file-progress"]',
  stats: '[data-testid="download-stats"]',
  notes: '[data-testid="load-notes"]',
  progress: '[data-testid="progress"]',
  storage: '[data-testid="storage-panel"]',
  storageSummary: '[data-testid="storage-panel"] > summary',
  storageModel: '[data-testid="storage-model"]',
  storageQuota: '[data-testid="storage-quota"]',
  offline: '[data-testid="offline-status"]',
};

let server;
let browser;
let context;
let page;
let watcher;
let golden;
let ready = false;

const filePath = (mount, file) => `${mount}/${MODEL}/resolve/main/${file}`;
const hubUrl = (mount) => `${server.url}${mount}`;
const pageUrl = (mount) => `${server.url}/?hub=${encodeURIComponent(hubUrl(mount))}&model=${encodeURIComponent(MODEL)}`;
const lastId = () => server.requests.at(-1)?.id ?? 0;
const since = (mark, pred = () => true) => server.requests.filter((e) => e.id > mark && pred(e));
const describeLog = (entries) =>
  entries
    .map((e) => `${e.method} ${e.path} ${e.status ?? (e.refused ? 'refused' : '…')} ${e.bytes}/${e.size ?? '?'}${e.range ? ` ${e.range}` : ''}${e.cut ? ' cut' : ''}${e.aborted ? ' aborted' : ''}`)
    .join('\n  ');

before(async () => {
  checkPrerequisites();
  assert.ok(fs.existsSync(path.join(DIST, 'sw.js')), 'dist/sw.js is missing: build with trunk (its post_build hook writes it)');
  assert.match(fs.readFileSync(path.join(DIST, 'sw.js'), 'utf8'), /const MANIFEST = \{"version"/, 'dist/sw.js has no manifest');
  golden = loadGolden('bank');
  server = await startServer({
    root: DIST,
    mounts: [
      { prefix: '/hub', dir: MODELS },
      { prefix: '/slowhub', dir: MODELS, bytesPerSecond: SLOW_BYTES_PER_SECOND },
      { prefix: '/noranges', dir: MODELS, acceptRanges: false },
      { prefix: '/flaky', dir: MODELS },
    ],
  });
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, deviceScaleFactor: 1 });
  await traceWorkerProtocol(context);
  page = await context.newPage();
  watcher = watchErrors(page, (t) => !isNetworkNoise(t));
});

after(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
});

function skipUnlessReady(t) {
  if (!ready) t.skip('the first load did not succeed');
  return !ready;
}

/** Waits for the heatmap of the bank sentence, drawn and ready. */
async function waitBankHeatmap(timeout = LOAD_TIMEOUT) {
  await waitReady(page, watcher, timeout);
  await waitInPage(
    page,
    watcher,
    ([sel, status, n]) => {
      const el = document.querySelector(sel);
      return el?.dataset.draws && el.dataset.n === String(n) && document.querySelector(status)?.dataset.state === 'ready';
    },
    [S.heatmap, S.status, golden.n],
    STEP_TIMEOUT,
  );
  return dataAttrs(page, S.heatmap);
}

/** Hovers a few cells of layer 0 head 0 and compares the tooltips with PyTorch's weights. */
async function checkAttention() {
  await checkGoldenCells(page, golden, [[0, 0], [3, 5], [golden.n - 1, 1]], WEIGHT_TOLERANCE);
  await page.mouse.move(1, 1);
}

function text(selector) {
  return page.evaluate((sel) => document.querySelector(sel)?.textContent?.trim() ?? null, selector);
}

/** The model cache's entries: url → { length header, recorded bytes }. */
function cacheEntries() {
  return page.evaluate(async (name) => {
    const cache = await caches.open(name);
    const out = {};
    for (const req of await cache.keys()) {
      const r = await cache.match(req);
      out[req.url] = { length: Number(r.headers.get('content-length')), recorded: Number(r.headers.get('x-attention-viz-bytes')) };
    }
    return out;
  }, MODEL_CACHE);
}

async function openStoragePanel() {
  const open = await page.evaluate((sel) => document.querySelector(sel)?.open ?? false, S.storage);
  if (!open) await page.locator(S.storageSummary).click();
}

/** The storage panel's models (their data-* hooks), once `pred(list)` holds. */
async function storedModels(pred = () => true) {
  await openStoragePanel();
  const handle = await orFail(
    watcher,
    page.waitForFunction(
      // Put together here, not in the page: the page's CSP refuses eval (README "Security").
      new Function(
        '[sel, quota]',
        `const list = [...document.querySelectorAll(sel)].map((el) => ({ ...el.dataset, text: el.textContent.trim() }));
         const q = document.querySelector(quota)?.textContent ?? '';
         return /uses|does not say/.test(q) && (${pred.toString()})(list) ? list : null;`,
      ),
      [S.storageModel, S.storageQuota],
      { timeout: STEP_TIMEOUT, polling: 100 },
    ),
  );
  return handle.jsonValue();
}

function checkNoErrors() {
  const noise = watcher.consoleErrors.filter(isNetworkNoise);
  if (noise.length) console.log(`network noise in the console: ${noise.length} message(s), e.g. ${noise[0]}`);
  if (watcher.expectedSeen.length) console.log(`expected errors seen: ${watcher.expectedSeen.join(' | ')}`);
  assert.deepEqual(watcher.pageErrors, [], 'uncaught page errors');
  assert.deepEqual(watcher.fatalConsoleErrors(), [], 'console errors other than network failures');
}

describe('downloads, the model cache and offline use', () => {
  test('a download cut at 30 % resumes with Range; the model and the app are saved', { timeout: LOAD_TIMEOUT + 60_000 }, async () => {
    const weights = filePath('/hub', 'model.safetensors');
    const cutAt = Math.round(SIZE['model.safetensors'] * CUT_FRACTION);
    server.cutAfter(weights, cutAt);
    const mark = lastId();
    const t0 = Date.now();
    await page.goto(pageUrl('/hub'), { waitUntil: 'load' });
    const heat = await waitBankHeatmap();
    console.log(`first load (cut, resumed): ready in ${Date.now() - t0} ms`);
    assert.equal(Number(heat.n), golden.n);
    await checkAttention();
    ready = true;

    // The wire: the first GET of the weights was cut at 30 %, the second asked for the rest.
    const gets = since(mark, (e) => e.path === weights && e.method === 'GET');
    const log = describeLog(gets);
    assert.equal(gets.length, 2, `two GETs of the weights:\n  ${log}`);
    const [first, second] = gets;
    assert.ok(first.cut && first.aborted && first.status === 200 && first.range === null, `the first GET was cut:\n  ${log}`);
    assert.equal(first.bytes, cutAt);
    const from = Number(/^bytes=(\d+)-$/.exec(second.range ?? '')?.[1]);
    assert.ok(from > 0 && from <= cutAt, `the second GET resumes where the first stopped (${second.range}, cut at ${cutAt}):\n  ${log}`);
    assert.equal(second.status, 206, `the rest came as a 206:\n  ${log}`);
    assert.equal(second.bytes, SIZE['model.safetensors'] - from, 'the 206 carried exactly the rest');
    assert.ok(!second.aborted);
    console.log(`cut at ${cutAt} bytes; resumed from ${from} (${((100 * from) / SIZE['model.safetensors']).toFixed(1)} %) with a 206 of ${second.bytes} bytes`);
    for (const f of ['config.json', 'tokenizer.json']) {
      const got = since(mark, (e) => e.path === filePath('/hub', f) && e.method === 'GET');
      assert.deepEqual(got.map((e) => e.status), [200], `${f}: one GET`);
    }
    const heads = since(mark, (e) => e.mount === '/hub' && e.method === 'HEAD');
    assert.deepEqual(heads.map((e) => e.path.split('/').pop()).sort(), [...FILES].sort(), 'one HEAD per file, for the total');

    // The page told what happened, and knew the total of the three files from the start.
    const notes = await text(S.notes);
    assert.match(notes ?? '', /model\.safetensors: .*broke off.*Trying again in 0\.5 s \(1 of 3\), resuming at/, `notes: ${notes}`);
    const trace = await readTrace(page);
    const progress = trace.filter((m) => m.dir === 'recv' && m.type === 'Progress');
    assert.ok(progress.length > 3, 'progress messages');
    assert.equal(progress[0].all_total, MODEL_BYTES, 'the first progress message already knows the total of the three files');
    assert.ok(progress.every((m) => m.origin === 'Network'), 'everything came from the network');
    const last = progress.at(-1);
    assert.equal(last.all_received, MODEL_BYTES);
    assert.ok(trace.some((m) => m.type === 'Notice'), 'a Notice message');

    // Saved: the three files in the model cache, with their sizes.
    const entries = await cacheEntries();
    for (const f of FILES) {
      const e = entries[`${hubUrl('/hub')}/${MODEL}/resolve/main/${f}`];
      assert.ok(e, `${f} is cached: ${JSON.stringify(Object.keys(entries))}`);
      assert.equal(e.length, SIZE[f], `${f}: stored Content-Length`);
      assert.equal(e.recorded, SIZE[f]);
    }
    // The app shell: the service worker controls the page, its cache holds the release.
    await orFail(watcher, page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: STEP_TIMEOUT }));
    const names = await page.evaluate(() => caches.keys());
    const shell = names.filter((n) => n.startsWith(SHELL_PREFIX));
    assert.equal(shell.length, 1, `one app-shell cache: ${names}`);
    const shellFiles = await page.evaluate(async (name) => (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname), shell[0]);
    for (const want of ['/index.html', '/worker.js', '/worker_bg.wasm', '/worker_loader.js', '/models/index.json']) {
      assert.ok(shellFiles.includes(want), `${want} is in the app shell: ${shellFiles}`);
    }
    assert.ok(shellFiles.some((p) => /^\/attention-viz-[0-9a-f]+_bg\.wasm$/.test(p)), 'the page wasm is in the app shell');
    assert.ok(!shellFiles.some((p) => p.includes('resolve/')), 'no model file in the app shell');
    await openStoragePanel();
    await orFail(watcher, page.waitForSelector(`${S.offline}[data-state="ready"]`, { timeout: STEP_TIMEOUT }));
    checkNoErrors();
  });

  test('the storage panel lists the cached model with its size and the quota', { timeout: 60_000 }, async (t) => {
    if (skipUnlessReady(t)) return;
    const list = await storedModels((l) => l.length > 0);
    const hub = list.filter((m) => m.hub === hubUrl('/hub'));
    assert.equal(hub.length, 1, `one stored model from /hub: ${JSON.stringify(list)}`);
    const [m] = hub;
    assert.equal(m.repo, MODEL);
    assert.equal(m.revision, 'main');
    assert.equal(Number(m.bytes), MODEL_BYTES);
    assert.equal(m.complete, 'true');
    assert.ok(m.text.includes(`${(MODEL_BYTES / 1e6).toFixed(1)} MB`), `the size is shown: ${m.text}`);
    const quota = await text(S.storageQuota);
    assert.match(quota, /^This site uses [\d.]+ (MB|GB|B) of [\d.]+ (MB|GB) \([\d.]+ (MB|GB) free\)$/, quota);
    console.log(`storage panel: "${m.text}"; "${quota}"`);
    checkNoErrors();
  });

  test('a reload with the model server stopped loads from the cache: no model request', { timeout: LOAD_TIMEOUT + 30_000 }, async (t) => {
    if (skipUnlessReady(t)) return;
    server.setStopped('/hub');
    try {
      const mark = lastId();
      const t0 = Date.now();
      await page.reload({ waitUntil: 'load' });
      await waitBankHeatmap();
      console.log(`reload from the cache: ready in ${Date.now() - t0} ms`);
      assert.deepEqual(since(mark, (e) => e.mount === '/hub'), [], 'no request reached the model server');
      const shellHits = since(mark, (e) => /\.(wasm|css)$|worker(_loader)?\.js$|\/attention-viz-[0-9a-f]+\.js$/.test(e.path ?? ''));
      assert.deepEqual(shellHits, [], `the app shell came from the service worker:\n  ${describeLog(shellHits)}`);
      const progress = (await readTrace(page)).filter((m) => m.dir === 'recv' && m.type === 'Progress');
      assert.deepEqual([...new Set(progress.map((m) => m.origin))], ['Cache'], 'every file came from the cache');
      assert.deepEqual([...new Set(progress.map((m) => m.file))], FILES);
      assert.equal(await page.locator(S.notes).count(), 0, 'nothing to note');
      await checkAttention();
      checkNoErrors();
    } finally {
      server.setStopped('/hub', false);
    }
  });

  test('offline, the page, its worker and the cached model start without a network', { timeout: LOAD_TIMEOUT + 30_000 }, async (t) => {
    if (skipUnlessReady(t)) return;
    // Playwright's offline mode does not cover the service worker's own requests (its update
    // check of sw.js reached the server when tried), so the server is stopped as well: the
    // update check then fails, and Chromium may say so.
    watcher.expect(/ServiceWorker|sw\.js/);
    await context.setOffline(true);
    server.setStopped('/');
    server.setStopped('/hub');
    try {
      const mark = lastId();
      const t0 = Date.now();
      await page.reload({ waitUntil: 'load' });
      await waitBankHeatmap();
      console.log(`offline reload: ready in ${Date.now() - t0} ms`);
      const answered = since(mark, (e) => e.status !== null);
      assert.deepEqual(answered, [], `the server answered nothing:\n  ${describeLog(answered)}`);
      // One engine worker (the multi-threaded one also starts its pool's workers: this reload
      // came through the service worker, so the page is cross-origin isolated).
      const engines = page.workers().filter((w) => /\/worker(_threads|_relaxed)?_loader\.js$/.test(new URL(w.url()).pathname));
      assert.equal(engines.length, 1, `the engine worker started: ${page.workers().map((w) => w.url())}`);
      await checkAttention();
      checkNoErrors();
    } finally {
      await context.setOffline(false);
      server.setStopped('/', false);
      server.setStopped('/hub', false);
    }
  });

  test('corrupt cached files are evicted and fetched again, and the model runs', { timeout: LOAD_TIMEOUT + 30_000 }, async (t) => {
    if (skipUnlessReady(t)) return;
    const base = `${hubUrl('/hub')}/${MODEL}/resolve/main/`;
    // Same-size garbage weights (the size check passes, parsing fails) and a truncated config
    // (the size check fails), both with the headers they were saved with.
    await page.evaluate(
      async ({ name, base }) => {
        const cache = await caches.open(name);
        const w = await cache.match(`${base}model.safetensors`);
        const junk = new Uint8Array(Number(w.headers.get('content-length'))).fill(0xff);
        await cache.put(`${base}model.safetensors`, new Response(junk, { headers: new Headers(w.headers) }));
        const c = await cache.match(`${base}config.json`);
        const body = (await c.text()).slice(0, 100);
        await cache.put(`${base}config.json`, new Response(body, { headers: new Headers(c.headers) }));
      },
      { name: MODEL_CACHE, base },
    );
    const mark = lastId();
    await page.reload({ waitUntil: 'load' });
    await waitBankHeatmap();
    const gets = since(mark, (e) => e.mount === '/hub' && e.method === 'GET');
    assert.deepEqual(
      gets.map((e) => `${e.path.split('/').pop()} ${e.status}`),
      ['config.json 200', 'model.safetensors 200'],
      `only the broken files were fetched again:\n  ${describeLog(gets)}`,
    );
    const notes = await text(S.notes);
    assert.match(notes, /saved copy of config\.json could not be used \(it has 100 bytes instead of the 612/, notes);
    assert.match(notes, /saved copy of model\.safetensors could not be (?:used|loaded) \(.+\); it was removed and is downloaded again/, notes);
    // The cache holds good copies again.
    const head = await page.evaluate(async ({ name, url }) => {
      const r = await (await caches.open(name)).match(url);
      const buf = await r.arrayBuffer();
      return { bytes: buf.byteLength, headerLen: Number(new DataView(buf).getBigUint64(0, true)) };
    }, { name: MODEL_CACHE, url: `${base}model.safetensors` });
    assert.equal(head.bytes, SIZE['model.safetensors']);
    assert.ok(head.headerLen > 0 && head.headerLen < 1e6, `the cached weights start with a safetensors header (${head.headerLen})`);
    assert.equal((await cacheEntries())[`${base}config.json`]?.length, SIZE['config.json']);
    await checkAttention();
    console.log(`notes after the corrupt cache: ${notes}`);
    checkNoErrors();
  });

  test('Delete in the storage panel removes the model; the next load downloads it again', { timeout: LOAD_TIMEOUT + 30_000 }, async (t) => {
    if (skipUnlessReady(t)) return;
    const list = await storedModels((l) => l.some((m) => m.repo && m.complete === 'true'));
    assert.ok(list.some((m) => m.hub === hubUrl('/hub')));
    const usageBefore = await text(S.storageQuota);
    await page.locator(`${S.storageModel}[data-hub="${hubUrl('/hub')}"] [data-testid="storage-delete"]`).click();
    const hub = hubUrl('/hub');
    await storedModels(new Function('l', `return !l.some((m) => m.hub === ${JSON.stringify(hub)})`));
    const entries = await cacheEntries();
    assert.deepEqual(Object.keys(entries).filter((u) => u.startsWith(hub)), [], 'the cache has none of its files');
    console.log(`quota before Delete: "${usageBefore}"; after: "${await text(S.storageQuota)}"`);

    const mark = lastId();
    await page.reload({ waitUntil: 'load' });
    await waitBankHeatmap();
    const gets = since(mark, (e) => e.mount === '/hub' && e.method === 'GET');
    assert.deepEqual(gets.map((e) => `${e.path.split('/').pop()} ${e.status}`), FILES.map((f) => `${f} 200`), describeLog(gets));
    checkNoErrors();
  });

  test('without Accept-Ranges, a cut download starts over and completes', { timeout: LOAD_TIMEOUT + 30_000 }, async (t) => {
    if (skipUnlessReady(t)) return;
    const weights = filePath('/noranges', 'model.safetensors');
    server.cutAfter(weights, Math.round(SIZE['model.safetensors'] * CUT_FRACTION));
    const mark = lastId();
    await page.goto(pageUrl('/noranges'), { waitUntil: 'load' });
    await waitBankHeatmap();
    const gets = since(mark, (e) => e.path === weights && e.method === 'GET');
    const log = describeLog(gets);
    assert.equal(gets.length, 2, log);
    assert.ok(gets[0].cut && gets[0].range === null, log);
    assert.ok(gets[1].range === null && gets[1].status === 200 && gets[1].bytes === SIZE['model.safetensors'] && !gets[1].aborted, `the whole file again:\n  ${log}`);
    assert.match(await text(S.notes), /Trying again in 0\.5 s \(1 of 3\), from the start \(this server cannot resume\)/);
    await checkAttention();
    checkNoErrors();
  });

  test('a download that keeps breaking is given up after 3 retries, with a message; Retry loads it', { timeout: LOAD_TIMEOUT + 30_000 }, async (t) => {
    if (skipUnlessReady(t)) return;
    const weights = filePath('/flaky', 'model.safetensors');
    const cut = 5_000_000;
    server.cutAfter(weights, cut, { times: 4 });
    const mark = lastId();
    const t0 = Date.now();
    await page.goto(pageUrl('/flaky'), { waitUntil: 'load' });
    const box = await orFail(watcher, page.waitForSelector(S.error, { state: 'visible', timeout: STEP_TIMEOUT }));
    const message = ((await box.textContent()) ?? '').trim();
    console.log(`gave up after ${Date.now() - t0} ms: ${message}`);
    assert.match(message, /flaky\/.*\/model\.safetensors failed 4 times in a row and was given up at [\d.]+ MB of 90\.9 MB \(last error: .+\); check the connection and press Retry/, message);
    const gets = since(mark, (e) => e.path === weights && e.method === 'GET');
    const log = describeLog(gets);
    assert.equal(gets.length, 4, `one try and three retries:\n  ${log}`);
    assert.ok(gets.every((e) => e.cut), log);
    assert.equal(gets[0].range, null);
    for (const [k, e] of gets.slice(1).entries()) {
      const from = Number(/^bytes=(\d+)-$/.exec(e.range ?? '')?.[1]);
      assert.ok(e.status === 206 && from > k * cut * 0.5, `retry ${k + 1} resumes (${e.range}):\n  ${log}`);
    }
    const gaps = gets.slice(1).map((e, k) => e.start - gets[k].end);
    assert.ok(gaps[0] >= 400 && gaps[2] >= 1800, `back-off before the retries: ${gaps} ms`);
    assert.equal(await page.locator(S.notes).locator('li').count(), 3, 'one note per retry');
    await page.locator(S.retry).click();
    await waitBankHeatmap();
    assert.equal(await page.locator(S.error).count(), 0);
    checkNoErrors();
  });

  test('Cancel stops a throttled download on the wire; Retry with a full storage still runs the model', { timeout: LOAD_TIMEOUT + 90_000 }, async (t) => {
    if (skipUnlessReady(t)) return;
    const slow = filePath('/slowhub', 'model.safetensors');
    const mark = lastId();
    await page.goto(pageUrl('/slowhub'), { waitUntil: 'load' });
    // Downloading, with the file's progress, the total of the three, the speed and time left.
    await waitInPage(
      page,
      watcher,
      ([status, stats, file]) =>
        /Downloading model\.safetensors \(3 of 3\)/.test(document.querySelector(status)?.textContent ?? '') &&
        /MB\/s · about .* left/.test(document.querySelector(stats)?.textContent ?? '') &&
        /model\.safetensors: [\d.]+ MB \/ 90\.9 MB/.test(document.querySelector(file)?.textContent ?? ''),
      [S.status, S.stats, S.fileProgress],
      STEP_TIMEOUT,
    );
    const stats = await text(S.stats);
    assert.match(stats, new RegExp(`^total [\\d.]+ / ${(MODEL_BYTES / 1e6).toFixed(1)} MB · [\\d.]+ MB/s · about .+ left$`), stats);
    const rate = Number(/· ([\d.]+) MB\/s/.exec(stats)[1]);
    assert.ok(rate > 0.5 && rate < 4, `the speed shown (${rate} MB/s) is near the server's 2 MB/s`);
    const fraction = await page.evaluate((sel) => document.querySelector(sel).value, S.progress);
    assert.ok(fraction > 0 && fraction < 0.5, `the bar shows the three files together: ${fraction}`);
    console.log(`while downloading: "${await text(S.status)}" · "${await text(S.fileProgress)}" · "${stats}"`);

    await server.waitForRequest((e) => e.id > mark && e.path === slow && e.method === 'GET' && e.bytes > 1_000_000, {
      done: false,
      timeout: STEP_TIMEOUT,
    });
    const clickedAt = Date.now();
    await page.locator(S.cancel).click();
    await orFail(watcher, page.waitForSelector(`${S.status}[data-state="cancelled"]`, { timeout: STEP_TIMEOUT }));
    assert.equal(await text(S.status), 'Download cancelled');
    const aborted = await server.waitForRequest((e) => e.id > mark && e.path === slow && e.method === 'GET', { timeout: 5_000 });
    assert.ok(aborted.aborted && aborted.bytes < SIZE['model.safetensors'], `the request was aborted: ${describeLog([aborted])}`);
    console.log(`cancelled: the server saw the connection close ${aborted.end - clickedAt} ms after the click, at ${aborted.bytes} bytes`);
    await page.waitForTimeout(1500);
    assert.equal(since(aborted.id, (e) => e.mount === '/slowhub').length, 0, 'no retry after Cancel');
    assert.equal(await page.locator(S.cancel).count(), 0, 'no Cancel button once cancelled');
    assert.equal(await page.locator(S.error).count(), 0, 'a cancel is not an error');

    // A full storage: every put fails in this worker from now on.
    // The engine worker (not the multi-threaded engine's pool workers, if it runs).
    const workers = page.workers().filter((w) => /\/worker(_threads|_relaxed)?_loader\.js$/.test(new URL(w.url()).pathname));
    assert.equal(workers.length, 1);
    await workers[0].evaluate(() => {
      Cache.prototype.put = function put() {
        return Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError'));
      };
    });
    server.setThrottle('/slowhub', null);
    const retryMark = lastId();
    await page.locator(S.retry).click();
    await waitBankHeatmap();
    const notes = await text(S.notes);
    assert.match(notes, /Could not save model\.safetensors in the browser's storage \(QuotaExceededError: The quota has been exceeded\.\)\. The model runs from memory/, notes);
    const gets = since(retryMark, (e) => e.mount === '/slowhub' && e.method === 'GET');
    assert.deepEqual(
      gets.map((e) => `${e.path.split('/').pop()} ${e.status}${e.aborted ? ' aborted' : ''}`),
      ['model.safetensors 200'],
      `config and tokenizer, saved before the cancel, came from the cache:\n  ${describeLog(gets)}`,
    );
    const list = await storedModels((l) => l.some((m) => m.hub?.endsWith('/slowhub')));
    const partial = list.find((m) => m.hub === hubUrl('/slowhub'));
    assert.equal(partial.complete, 'false');
    assert.match(partial.text, /incomplete \(2 of 3 files\)/);
    assert.equal(await page.locator(S.error).count(), 0, 'a full storage is not an error');
    await checkAttention();
    checkNoErrors();
  });
});

describe('a new release replaces the old one cleanly', () => {
  let tmp;
  let site;
  let ctx;
  let pg;
  let w;

  before(async () => {
    // A copy of the built app (not the bundled model: the model comes from /hub).
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attention-viz-release-'));
    for (const f of fs.readdirSync(DIST)) {
      if (fs.statSync(path.join(DIST, f)).isFile()) fs.copyFileSync(path.join(DIST, f), path.join(tmp, f));
    }
    fs.mkdirSync(path.join(tmp, 'models'));
    fs.copyFileSync(path.join(DIST, 'models', 'index.json'), path.join(tmp, 'models', 'index.json'));
    site = await startServer({ root: tmp, mounts: [{ prefix: '/hub', dir: MODELS }] });
    ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 }, deviceScaleFactor: 1 });
    pg = await ctx.newPage();
    w = watchErrors(pg, (t) => !isNetworkNoise(t));
  });

  after(async () => {
    await ctx?.close();
    await site?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const shellCaches = () => pg.evaluate(async (prefix) => (await caches.keys()).filter((n) => n.startsWith(prefix)), SHELL_PREFIX);
  const release = () => pg.evaluate(() => document.querySelector('meta[name="release"]')?.content ?? '1');
  const cssFile = () => pg.evaluate(() => new URL(document.querySelector('link[rel="stylesheet"]').href).pathname);
  const waitReadyIn = async () => {
    await waitReady(pg, w, LOAD_TIMEOUT);
    await orFail(w, pg.waitForSelector(`${S.heatmap}[data-n="${golden.n}"]`, { state: 'attached', timeout: STEP_TIMEOUT }));
  };

  test('the open page keeps its release until "Reload to update", then gets the new one whole', { timeout: 2 * LOAD_TIMEOUT }, async (t) => {
    if (skipUnlessReady(t)) return;
    const url = `${site.url}/?hub=${encodeURIComponent(`${site.url}/hub`)}&model=${encodeURIComponent(MODEL)}`;
    await pg.goto(url, { waitUntil: 'load' });
    await waitReadyIn();
    await orFail(w, pg.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: STEP_TIMEOUT }));
    const [v1] = await shellCaches();
    const css1 = await cssFile();
    assert.ok(v1, 'release 1 is saved');

    // Release 2 on the server: another index.html, the CSS under a new name, a new sw.js.
    const html = fs.readFileSync(path.join(tmp, 'index.html'), 'utf8');
    const css2 = css1.replace(/\.css$/, '-r2.css');
    fs.renameSync(path.join(tmp, css1.slice(1)), path.join(tmp, css2.slice(1)));
    fs.writeFileSync(
      path.join(tmp, 'index.html'),
      html.replace('<head>', '<head>\n    <meta name="release" content="2" />').replace(`.${css1}"`, `.${css2}"`),
    );
    execFileSync('node', [path.join(ROOT, 'scripts', 'service-worker.mjs'), '--dir', tmp, '--template', path.join(ROOT, 'sw.js')]);

    // A reload still shows release 1 (from its cache, although its CSS file is gone from the
    // server), while release 2 installs beside it and the page offers to switch.
    await pg.reload({ waitUntil: 'load' });
    await waitReadyIn();
    assert.equal(await release(), '1');
    assert.equal(await cssFile(), css1);
    assert.ok(await pg.evaluate(() => getComputedStyle(document.body).fontFamily.includes('system-ui')), 'the old CSS still applies');
    await orFail(w, pg.waitForSelector('[data-testid="update-ready"]', { state: 'visible', timeout: STEP_TIMEOUT }));
    const both = await shellCaches();
    assert.equal(both.length, 2, `both releases are saved while the new one waits: ${both}`);
    assert.ok(both.includes(v1));

    // Switch: one reload, then everything is release 2, and release 1's cache is gone.
    const mark = site.requests.at(-1)?.id ?? 0;
    await pg.locator('[data-testid="update-reload"]').click();
    await orFail(w, pg.waitForFunction(() => document.querySelector('meta[name="release"]')?.content === '2', null, { timeout: STEP_TIMEOUT }));
    await waitReadyIn();
    assert.equal(await cssFile(), css2);
    const kept = await shellCaches();
    assert.equal(kept.length, 1, `only the new release is kept: ${kept}`);
    assert.notEqual(kept[0], v1);
    assert.equal(await pg.locator('[data-testid="update-ready"]').count(), 0);
    const shellFetches = site.requests.filter((e) => e.id > mark && e.method === 'GET' && !e.path.startsWith('/hub') && e.path !== '/sw.js');
    assert.deepEqual(shellFetches.map((e) => e.path), [], 'release 2 came from its cache, not the server');
    const models = await pg.evaluate(async (name) => (await (await caches.open(name)).keys()).length, MODEL_CACHE);
    assert.equal(models, 3, 'the model cache is not touched by an app update');
    console.log(`release ${v1.slice(SHELL_PREFIX.length)} → ${kept[0].slice(SHELL_PREFIX.length)}; CSS ${css1} → ${css2}`);
    assert.deepEqual(w.pageErrors, []);
    assert.deepEqual(w.fatalConsoleErrors(), []);
  });

  test('under trunk serve the service worker removes itself, and the page works from the network', { timeout: LOAD_TIMEOUT }, async (t) => {
    if (skipUnlessReady(t)) return;
    // What `trunk serve` does to the site: its live-reload script in the body (here an inert
    // one with the same address), and the post-build hook's development sw.js.
    const html = fs.readFileSync(path.join(tmp, 'index.html'), 'utf8');
    fs.writeFileSync(
      path.join(tmp, 'index.html'),
      html.replace('<body>', '<body><script>/* live reload: ws://127.0.0.1/.well-known/trunk/ws */</script>'),
    );
    execFileSync('node', [path.join(ROOT, 'scripts', 'service-worker.mjs'), '--dir', tmp, '--template', path.join(ROOT, 'sw.js')]);
    assert.match(fs.readFileSync(path.join(tmp, 'sw.js'), 'utf8'), /"dev":true/);
    await pg.reload({ waitUntil: 'load' });
    // The release still cached answers this reload; its page registers sw.js, which is now the
    // development one: it deletes the app-shell caches, unregisters and reloads the page.
    await orFail(w, pg.waitForSelector(`${S.offline}[data-state="development"]`, { state: 'attached', timeout: STEP_TIMEOUT }));
    await waitReadyIn();
    assert.equal(await pg.evaluate(async () => (await navigator.serviceWorker.getRegistration()) === undefined), true, 'no service worker');
    assert.equal(await pg.evaluate(() => navigator.serviceWorker.controller), null);
    assert.deepEqual(await shellCaches(), [], 'the app-shell caches are gone');
    const models = await pg.evaluate(async (name) => (await (await caches.open(name)).keys()).length, MODEL_CACHE);
    assert.equal(models, 3, 'the stored model is kept');
    assert.match(await pg.locator(S.offline).textContent(), /off on the development server \(trunk serve\)/);
    const mark = site.requests.at(-1)?.id ?? 0;
    await pg.reload({ waitUntil: 'load' });
    await waitReadyIn();
    const served = site.requests.filter((e) => e.id > mark && e.path === '/');
    assert.equal(served.length, 1, 'the page now comes from the server');
    assert.deepEqual(w.pageErrors, []);
    assert.deepEqual(w.fatalConsoleErrors(), []);
  });
});
