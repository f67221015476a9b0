// Which single-threaded engine the page runs (src/ui/engine_variant.rs, src/ui/engine.rs): the relaxed-SIMD worker where
// `WebAssembly.validate` accepts the page's probe (Chromium ships relaxed SIMD), else the plain
// simd128 one; both give PyTorch's attention.
//
//   node --test tests/e2e/engine_variant.test.mjs
//
// One browser, two page loads of the built site (dist/) with the bundled MiniLM: as is, then
// with `WebAssembly.validate` patched (before any page script) to refuse modules holding the
// relaxed multiply-add (0xfd 0x85 0x02), as a browser without relaxed SIMD does. Each checks the
// footer's engine label, which worker script the page started, and a few attention weights of
// the default sentence against the golden fixture. The label's data-prestarted says the page
// adopted the worker src/boot/boot.js started before the page loaded: boot.js chose the same
// engine as the page (one worker in all, so none was stopped and replaced). The first page also
// starts each single-threaded loader once more and sends it a request at once, before its wasm
// has loaded: the loader keeps it until the engine listens.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  DIST,
  MODEL,
  MODELS,
  SEL,
  checkPrerequisites,
  launchBrowser,
  newPage,
  waitInPage,
  waitReady,
  watchErrors,
  checkGoldenCells,
  refuseRelaxedSimd,
  earlyRequestAnswers,
} from './browser.mjs';
import { loadGolden } from './golden.mjs';
import { startServer } from './static-server.mjs';

const VARIANT = '[data-testid="engine"]';
const WEIGHT_TOLERANCE = 2e-5;

let server;
let browser;
let golden;

before(async () => {
  checkPrerequisites();
  assert.ok(fs.existsSync(path.join(DIST, 'worker_relaxed_loader.js')), 'dist/ has no relaxed worker: rebuild it (index.html links it)');
  golden = loadGolden('bank');
  server = await startServer({ root: DIST, port: 0, mounts: { '/hub': MODELS } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Opens the page (after `prepare(context)`), waits for the bank sentence's heatmap, and returns
 *  the footer's label, the engine worker's script and the page's probe calls. */
async function open(prepare = async () => {}) {
  const { context, page } = await newPage(browser);
  // Added after `prepare`'s scripts, so this count wraps (and sees) any patched validate.
  await prepare(context);
  await context.addInitScript(() => {
    window.__e2eProbes = 0;
    const validate = WebAssembly.validate;
    WebAssembly.validate = function (bytes, ...rest) {
      window.__e2eProbes++;
      return validate.call(this, bytes, ...rest);
    };
  });
  const watcher = watchErrors(page);
  await page.goto(`${server.url}/?hub=${server.url}/hub&model=${MODEL}`, { waitUntil: 'load' });
  await waitReady(page, watcher);
  await waitInPage(
    page,
    watcher,
    ([sel, n]) => {
      const el = document.querySelector(sel);
      return el?.dataset.draws && el.dataset.n === String(n);
    },
    [SEL.heatmap, golden.n],
  );
  const label = await page.evaluate((sel) => {
    const el = document.querySelector(sel);
    return el && { variant: el.dataset.variant, text: el.textContent.trim(), prestarted: el.dataset.prestarted };
  }, VARIANT);
  const workers = page.workers().map((w) => path.basename(new URL(w.url()).pathname));
  const probes = await page.evaluate(() => window.__e2eProbes);
  return { context, page, watcher, label, workers, probes };
}

/** A few cells of layer 0 head 0 against PyTorch's weights. */
function checkAttention(page) {
  return checkGoldenCells(page, golden, [[0, 0], [3, 5], [golden.n - 1, 1]], WEIGHT_TOLERANCE);
}

describe('engine variant (dist/ in headless Chromium)', () => {
  test('Chromium validates relaxed SIMD: the page runs the relaxed worker, with the golden attention', { timeout: 240_000 }, async () => {
    const { context, page, watcher, label, workers, probes } = await open();
    try {
      console.log(`# ${JSON.stringify(label)}; workers ${workers.join(', ')}`);
      assert.ok(probes >= 1, 'the page asked WebAssembly.validate');
      assert.deepEqual(label, { variant: 'relaxed', text: 'wasm simd128 + relaxed FMA, 1 thread', prestarted: 'true' });
      assert.deepEqual(workers, ['worker_relaxed_loader.js'], 'only the relaxed worker started');
      await checkAttention(page);
      // Both single-threaded loaders keep a request sent before the engine listens.
      for (const loader of ['worker_loader.js', 'worker_relaxed_loader.js']) {
        assert.deepEqual(await earlyRequestAnswers(page, `./${loader}`), ['WorkerReady', 'Storage'], `${loader}: a request sent at once is answered`);
      }
      assert.deepEqual(watcher.pageErrors, [], 'uncaught page errors');
      assert.deepEqual(watcher.consoleErrors, [], 'console errors');
    } finally {
      await context.close();
    }
  });

  test('where validate refuses the probe: the plain simd128 worker, with the golden attention', { timeout: 240_000 }, async () => {
    const { context, page, watcher, label, workers, probes } = await open(refuseRelaxedSimd);
    try {
      console.log(`# ${JSON.stringify(label)}; workers ${workers.join(', ')}`);
      assert.ok(probes >= 1, 'the page asked WebAssembly.validate');
      assert.deepEqual(label, { variant: 'plain', text: 'wasm simd128, 1 thread', prestarted: 'true' });
      assert.deepEqual(workers, ['worker_loader.js'], 'only the plain worker started');
      await checkAttention(page);
      assert.deepEqual(watcher.pageErrors, [], 'uncaught page errors');
      assert.deepEqual(watcher.consoleErrors, [], 'console errors');
    } finally {
      await context.close();
    }
  });
});
