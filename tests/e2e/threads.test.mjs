// End-to-end test of the multi-threaded engine (README "Speed and size", threads): the release
// build's worker_threads_loader.js (scripts/build-threads.sh, nightly, wasm-bindgen-rayon) in
// Debian's Chromium.
//
// - First visit from a plain static server (no COOP/COEP, like GitHub Pages): the service worker
//   takes control, the page reloads once and is then cross-origin isolated, the footer names the
//   threaded engine; every golden input (tests/golden/fixtures, what tests/wasm_golden.rs checks)
//   exported as .npy from that engine is within 1e-5 of PyTorch.
// - Not isolated (service worker blocked, relaxed SIMD refused): the plain single-threaded
//   engine, the same bytes exactly.
// - An embed in another site's page: no reload, single-threaded, works.
// - Isolated by the server's own headers but the threaded wasm missing: the page falls back to
//   the single-threaded engine with a console note, and still works.
//
//   node --test tests/e2e/threads.test.mjs

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { DIST, MODEL, MODELS, READY_TIMEOUT, SEL, checkPrerequisites, isNetworkNoise, launchBrowser, newPage, orFail, refuseRelaxedSimd, earlyRequestAnswers, waitReady, watchErrors } from './browser.mjs';
import { loadGolden } from './golden.mjs';
import { startServer } from './static-server.mjs';

const TOLERANCE = 1e-5;
const CASES = ['bank', 'pair', 'unicode', 'long', 'single', 'whitespace'];
const ENGINE = '[data-testid="engine"]';

let server;
let isolatedServer;
let blog;
let browser;

/** A server that sends COOP/COEP itself (scripts/serve.mjs --isolated does the same). */
function withIsolation(inner) {
  const proxy = http.createServer((req, res) => {
    const up = http.request(`${inner.url}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, { ...r.headers, 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  return new Promise((resolve) =>
    proxy.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${proxy.address().port}`, close: () => new Promise((r) => (proxy.closeAllConnections?.(), proxy.close(() => r()))) }),
    ),
  );
}

before(async () => {
  checkPrerequisites();
  assert.ok(fs.existsSync(`${DIST}/worker_threads_loader.js`), 'dist/worker_threads_loader.js is missing: the build skipped the threaded worker (AV_THREADS=0?)');
  server = await startServer({ root: DIST, port: 0, mounts: { '/hub': MODELS } });
  isolatedServer = await withIsolation(server);
  blog = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><meta charset="utf-8"><p>A post with an embed:</p>
      <iframe id="embed" width="640" height="520" sandbox="allow-scripts allow-same-origin"
        src="${server.url}/?hub=${encodeURIComponent(`${server.url}/hub`)}&model=${encodeURIComponent(MODEL)}&embed=1&load=click"></iframe>`);
  });
  await new Promise((r) => blog.listen(0, '127.0.0.1', r));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await isolatedServer?.close();
  await server?.close();
  await new Promise((r) => (blog ? blog.close(r) : r()));
});

/** `fn` evaluated in the page until it returns something truthy (across reloads). */
async function until(page, watcher, fn, what, timeout = 60_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await orFail(watcher, page.evaluate(fn).catch(() => null));
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The page's .npy export of the current run, as float32 values with its shape. */
async function exportNpy(page, watcher) {
  const files = [];
  const done = new Promise((resolve) => {
    const on = async (d) => {
      files.push({ name: d.suggestedFilename(), bytes: fs.readFileSync(await d.path()) });
      if (files.length === 2) {
        page.off('download', on);
        resolve();
      }
    };
    page.on('download', on);
  });
  await page.click('[data-testid="export-npy"]');
  await orFail(watcher, Promise.race([done, new Promise((_, r) => setTimeout(() => r(new Error('no .npy download')), 30_000))]));
  const npy = files.find((f) => f.name === 'attention.npy');
  assert.ok(npy, `downloads: ${files.map((f) => f.name)}`);
  const hlen = npy.bytes.readUInt16LE(8);
  const header = npy.bytes.subarray(10, 10 + hlen).toString('latin1');
  const shape = /'shape': \(([\d, ]+)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const body = npy.bytes.subarray(10 + hlen);
  return { shape, bytes: body, values: new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length)) };
}

function worstDiff(values, golden) {
  assert.equal(values.length, golden.values.length, 'value count');
  let worst = 0;
  for (let k = 0; k < values.length; k++) worst = Math.max(worst, Math.abs(values[k] - golden.values[k]));
  return worst;
}

const caseUrl = (base, golden) => {
  const p = new URLSearchParams({ hub: `${base}/hub`, model: MODEL, text: golden.meta.text });
  if (golden.meta.pair != null) p.set('pair', golden.meta.pair);
  return `${base}/?${p}`;
};

/** Opens each golden case (a link with its text) and returns its .npy export, checked to 1e-5. */
async function checkCases(page, watcher, base, label, names = CASES) {
  const out = {};
  for (const name of names) {
    const golden = loadGolden(name);
    await page.goto(caseUrl(base, golden), { waitUntil: 'load' });
    await waitReady(page, watcher);
    const npy = await exportNpy(page, watcher);
    assert.deepEqual(npy.shape, golden.shape, `${label} ${name}: shape`);
    const worst = worstDiff(npy.values, golden);
    assert.ok(worst <= TOLERANCE, `${label} ${name}: max |ours - PyTorch| = ${worst}`);
    console.log(`# ${label} ${name.padEnd(10)} ${String(golden.n).padStart(3)} tokens: max |ours - PyTorch| = ${worst.toExponential(2)}`);
    out[name] = npy.bytes;
  }
  return out;
}

const engineThreads = async (page) => Number(await page.getAttribute(ENGINE, 'data-threads'));

describe('multi-threaded engine (dist/ in headless Chromium)', () => {
  let threaded;

  test('first visit: one reload into isolation, then the threaded engine matches PyTorch to 1e-5', { timeout: 6 * 60_000 }, async (t) => {
    const { context, page } = await newPage(browser);
    const watcher = watchErrors(page, (m) => !isNetworkNoise(m));
    try {
      let loads = 0;
      page.on('load', () => loads++);
      await page.goto(`${server.url}/?hub=${encodeURIComponent(`${server.url}/hub`)}`, { waitUntil: 'load' });
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      if (!(cores >= 2)) {
        t.skip(`navigator.hardwareConcurrency is ${cores}: the page never starts threads on one core`);
        return;
      }
      assert.equal(await page.evaluate(() => self.crossOriginIsolated), false, 'the first visit is not isolated (the server sends no COOP/COEP)');
      // The service worker installs, takes control, and the idle page reloads through it.
      await until(page, watcher, () => self.crossOriginIsolated && navigator.serviceWorker.controller !== null, 'the reload into isolation');
      await page.waitForLoadState('load');
      await page.waitForTimeout(500); // the load event of the new document may trail its scripts
      assert.equal(loads, 2, 'exactly one reload');
      assert.equal(await page.evaluate(() => sessionStorage.getItem('attention-viz-isolation-reload')), '1');
      await page.locator(ENGINE).waitFor({ timeout: READY_TIMEOUT });
      const want = Math.min(cores, 8);
      assert.equal(await engineThreads(page), want, 'the footer names the threaded engine');
      // src/boot/boot.js started this very worker before the page loaded (it chose as the page does).
      assert.equal(await page.getAttribute(ENGINE, 'data-prestarted'), 'true');
      assert.match(await page.textContent(ENGINE), new RegExp(`^wasm simd128, ${want} threads$`));
      await page.waitForTimeout(1_000);
      assert.equal(loads, 2, 'no second reload');

      // Every golden case through the threaded worker (the tab stays isolated: the documents now
      // come through the service worker).
      threaded = await checkCases(page, watcher, server.url, `${want} threads`);
      assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
      assert.equal(await engineThreads(page), want);
      const workers = page.workers().map((w) => new URL(w.url()).pathname);
      assert.ok(workers.includes('/worker_threads_loader.js'), `the page's workers: ${workers}`);
      assert.ok(!workers.includes('/worker_loader.js'), `the single-threaded worker runs too: ${workers}`);
      // Its loader keeps a request sent before the engine listens (src/bin/worker_threads.js).
      assert.deepEqual(await earlyRequestAnswers(page, `./worker_threads_loader.js?threads=${want}`, true), ['WorkerReady', 'Storage']);
      assert.deepEqual(watcher.fatalConsoleErrors(), []);
      assert.deepEqual(watcher.pageErrors, []);
    } finally {
      await context.close();
    }
  });

  test('not isolated: the single-threaded engine, the same bytes as the threaded one', { timeout: 4 * 60_000 }, async (t) => {
    if (!threaded) return t.skip('no threaded run to compare with');
    const context = await browser.newContext({ serviceWorkers: 'block', viewport: { width: 1280, height: 1000 } });
    // The plain simd128 worker, the one built like the threaded engine: where the browser has
    // relaxed SIMD the page would run the relaxed worker, whose fused multiply-adds round
    // differently (tests/e2e/engine_variant.test.mjs checks it against PyTorch instead).
    await refuseRelaxedSimd(context);
    const page = await context.newPage();
    const watcher = watchErrors(page, (m) => !isNetworkNoise(m));
    try {
      const single = await checkCases(page, watcher, server.url, '1 thread');
      assert.equal(await page.evaluate(() => self.crossOriginIsolated), false);
      assert.equal(await engineThreads(page), 1);
      assert.equal(await page.getAttribute(ENGINE, 'data-variant'), 'plain');
      assert.equal(await page.getAttribute(ENGINE, 'data-prestarted'), 'true');
      assert.equal(await page.textContent(ENGINE), 'wasm simd128, 1 thread');
      // Splitting the products over threads changes no rounding (src/model/kernels/parallel.rs).
      for (const name of CASES) assert.ok(single[name].equals(threaded[name]), `${name}: threaded and single-threaded exports differ`);
      assert.deepEqual(watcher.fatalConsoleErrors(), []);
    } finally {
      await context.close();
    }
  });

  // Another site (localhost): Chromium, blocking third-party cookies as it does by default here,
  // gives the frame no service worker at all. The same site on another port (another origin):
  // the frame's service worker takes control, and only being in a frame keeps it from reloading
  // (load=click: the embed waits idle for a click).
  for (const [where, host] of [['another site', 'localhost'], ['another origin of the same site', '127.0.0.1']]) {
    test(`an embed on ${where}: no reload, single-threaded, ready`, { timeout: READY_TIMEOUT + 60_000 }, async () => {
      const { context, page } = await newPage(browser);
      const watcher = watchErrors(page, (m) => !isNetworkNoise(m));
      try {
        let frameLoads = 0;
        page.on('framenavigated', (f) => f !== page.mainFrame() && frameLoads++);
        await page.goto(`http://${host}:${blog.address().port}/post`, { waitUntil: 'load' });
        const frame = page.frameLocator('#embed');
        await orFail(watcher, frame.locator('[data-testid="embed-load"]').waitFor({ timeout: READY_TIMEOUT }));
        const inner = await (await page.locator('#embed').elementHandle()).contentFrame();
        if (host === '127.0.0.1') await until(inner, watcher, () => navigator.serviceWorker.controller !== null, "the embed's service worker");
        await page.waitForTimeout(2_000);
        const sw = await inner.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => (r?.active ? 'active' : 'none'), (e) => e.name));
        console.log(`# embed on ${where}: service worker ${sw}, controlled ${await inner.evaluate(() => navigator.serviceWorker.controller !== null)}`);
        assert.equal(frameLoads, 1, 'the embed reloaded');
        assert.equal(await inner.evaluate(() => self.crossOriginIsolated), false);
        await frame.locator('[data-testid="embed-load"]').click();
        await orFail(watcher, frame.locator(SEL.ready).waitFor({ timeout: READY_TIMEOUT }));
        assert.equal(await frame.locator(SEL.status).getAttribute('data-threads'), '1');
        assert.equal(frameLoads, 1, 'the embed reloaded');
        assert.deepEqual(watcher.fatalConsoleErrors(), []);
      } finally {
        await context.close();
      }
    });
  }

  test('isolated by the server but the threaded wasm missing: falls back to one thread and works', { timeout: READY_TIMEOUT + 60_000 }, async () => {
    const context = await browser.newContext({ serviceWorkers: 'block', viewport: { width: 1280, height: 1000 } });
    await context.route('**/worker_threads_bg.wasm', (route) => route.fulfill({ status: 404, body: 'gone' }));
    const page = await context.newPage();
    const watcher = watchErrors(page, (m) => !isNetworkNoise(m));
    watcher.expect(/threaded engine did not start/);
    const notes = [];
    page.on('console', (m) => m.type() === 'warning' && notes.push(m.text()));
    try {
      const golden = loadGolden('bank');
      await page.goto(caseUrl(isolatedServer.url, golden), { waitUntil: 'load' });
      assert.equal(await page.evaluate(() => self.crossOriginIsolated), true, 'COOP/COEP from the server isolate the page');
      await waitReady(page, watcher);
      assert.equal(await engineThreads(page), 1);
      assert.ok(notes.some((n) => /engine \(wasm simd128, \d+ threads\) did not start .*, 1 thread$/.test(n)), `console: ${notes}`);
      // The next engine in line: relaxed SIMD where the browser has it (Chromium does). The
      // threaded worker boot.js started failed before the page adopted it: its error event was
      // replayed to the page, which then started this one itself.
      assert.equal(await page.getAttribute(ENGINE, 'data-variant'), 'relaxed');
      assert.equal(await page.getAttribute(ENGINE, 'data-prestarted'), 'false');
      const npy = await exportNpy(page, watcher);
      assert.ok(worstDiff(npy.values, golden) <= TOLERANCE);
      assert.deepEqual(watcher.pageErrors, []);
    } finally {
      await context.close();
    }
  });
});
