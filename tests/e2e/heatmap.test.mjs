// End-to-end test of the built app (dist/, from `trunk build --release`) in headless
// Chromium, driven by playwright-core (no downloaded browsers: Debian's /usr/bin/chromium).
//
//   node --test tests/e2e/*.test.mjs
//
// The page is served by tests/e2e/static-server.mjs: dist/ at `/`, the repo's models/
// directory at `/hub`, and opened as `/?hub=<url>/hub&model=sentence-transformers/all-MiniLM-L6-v2`.
// Attention weights shown by the tooltip are compared with the golden fixture
// tests/golden/fixtures/bank.json (+ its .attn.gz), written by tests/golden/make_golden.py.
//
// Environment: CHROMIUM (default /usr/bin/chromium), E2E_READY_TIMEOUT_MS (default 180000).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  DIST,
  MODEL,
  MODELS,
  READY_TIMEOUT,
  ROOT,
  SEL,
  checkPrerequisites,
  heatmapGeometry,
  hoverCellNamed,
  isNetworkNoise,
  launchBrowser,
  newPage,
  orFail,
  waitReady,
  watchErrors,
} from './browser.mjs';
import { loadGolden } from './golden.mjs';
import { startServer } from './static-server.mjs';

const SCREENSHOT = path.join(DIST, 'screenshots', 'heatmap.png');
const DOCS_SCREENSHOT = path.join(ROOT, 'docs', 'screenshots', 'heatmap.png');
const DARK_SCREENSHOT = path.join(DIST, 'screenshots', 'heatmap-dark.png');
const DOCS_DARK_SCREENSHOT = path.join(ROOT, 'docs', 'screenshots', 'heatmap-dark.png');
const WEIGHT_TOLERANCE = 2e-5;

let server;
let browser;

before(async () => {
  checkPrerequisites();
  server = await startServer({ root: DIST, port: 0, mounts: { '/hub': MODELS } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Hover cell (from=i, to=j) and return the parsed tooltip once it names tokens[i] → tokens[j]. */
async function hoverCell(page, i, j, golden) {
  const geo = await heatmapGeometry(page);
  assert.equal(geo.n, golden.n, `data-n (${geo.n}) != number of golden tokens (${golden.n})`);
  const got = await hoverCellNamed(page, geo, i, j, [golden.tokens[i], golden.tokens[j]]);
  assert.match(got.weightText, /^-?\d+\.\d{6}$/, `tooltip weight should have 6 decimals: ${JSON.stringify(got.text)}`);
  return { ...got, geo };
}

async function selectedLayerHead(page) {
  const layer = Number(await page.locator(SEL.layer).inputValue());
  const head = Number(await page.locator(SEL.head).inputValue());
  assert.ok(Number.isInteger(layer) && Number.isInteger(head), `bad select values: layer=${layer} head=${head}`);
  return { layer, head };
}

async function checkCell(page, golden, i, j) {
  const { layer, head } = await selectedLayerHead(page);
  const got = await hoverCell(page, i, j, golden);
  const want = golden.at(layer, head, i, j);
  assert.ok(
    Math.abs(got.weight - want) <= WEIGHT_TOLERANCE,
    `layer ${layer} head ${head} cell (${i} ${golden.tokens[i]} \u2192 ${j} ${golden.tokens[j]}): ` +
      `tooltip ${got.weight} vs golden ${want.toFixed(8)} (tolerance ${WEIGHT_TOLERANCE})`,
  );
  return { layer, head, ...got, want };
}

describe('attention heatmap (dist/ in headless Chromium)', () => {
  test('loads the bundled model, draws the heatmap, tooltips match the golden weights', { timeout: READY_TIMEOUT + 120_000 }, async () => {
    const golden = loadGolden('bank');
    const { context, page } = await newPage(browser);
    const watcher = watchErrors(page);
    try {
      const url = `${server.url}/?hub=${server.url}/hub&model=${MODEL}`;
      await page.goto(url, { waitUntil: 'load' });
      await waitReady(page, watcher);

      if (typeof golden.meta.text === 'string') {
        const shown = await page.locator(SEL.text).inputValue();
        assert.equal(shown, golden.meta.text, 'the default text must be the golden "bank" sentence');
      }

      // The canvas has real content: many colours, not a blank/flat fill.
      const pixels = await page.locator(SEL.heatmap).evaluate((el) => {
        const ctx = el.getContext('2d');
        if (!ctx) return { error: 'no 2d context' };
        const { width, height } = el;
        if (!width || !height) return { width, height, distinct: 0 };
        const d = ctx.getImageData(0, 0, width, height).data;
        const seen = new Set();
        for (let k = 0; k < d.length && seen.size < 100_000; k += 4) {
          seen.add(((d[k] << 24) | (d[k + 1] << 16) | (d[k + 2] << 8) | d[k + 3]) >>> 0);
        }
        return { width, height, distinct: seen.size };
      });
      assert.ok(!pixels.error, `heatmap canvas: ${pixels.error}`);
      assert.ok(pixels.distinct > 50, `heatmap looks undrawn: ${JSON.stringify(pixels)}`);

      const [i, j] = [3, 4];
      const first = await checkCell(page, golden, i, j);
      console.log(`# layer ${first.layer} head ${first.head}: ${first.text} (golden ${first.want.toFixed(6)})`);

      await page.locator(SEL.layer).selectOption('2');
      await page.locator(SEL.head).selectOption('5');
      await orFail(watcher, page.waitForSelector(`${SEL.heatmap}[data-layer="2"][data-head="5"]`, { state: 'attached', timeout: 30_000 }));
      const second = await checkCell(page, golden, i, j);
      assert.deepEqual([second.layer, second.head], [2, 5], 'the selects should now read layer 2 / head 5');
      console.log(`# layer 2 head 5: ${second.text} (golden ${second.want.toFixed(6)})`);

      fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      fs.mkdirSync(path.dirname(DOCS_SCREENSHOT), { recursive: true });
      fs.copyFileSync(SCREENSHOT, DOCS_SCREENSHOT);

      // Dark theme: the canvas is redrawn on a dark background, and screenshotted for the README.
      await page.locator('[data-testid="theme-toggle"]').click();
      await page.waitForSelector('html[data-theme="dark"]', { state: 'attached', timeout: 10_000 });
      await checkCell(page, golden, i, j);
      const corner = await page.evaluate((sel) => {
        const c = document.querySelector(sel);
        return Array.from(c.getContext('2d').getImageData(1, 1, 1, 1).data);
      }, SEL.heatmap);
      assert.ok(corner[0] + corner[1] + corner[2] < 150, `dark canvas background, got ${corner}`);
      await page.screenshot({ path: DARK_SCREENSHOT, fullPage: true });
      fs.copyFileSync(DARK_SCREENSHOT, DOCS_DARK_SCREENSHOT);

      // Editing the text re-runs the model (debounced) and redraws with the new tokens.
      await page.locator(SEL.text).fill('He went to the bank to deposit money. Then he went home.');
      await orFail(watcher, page.waitForSelector(`${SEL.heatmap}[data-n="16"]`, { state: 'attached', timeout: 30_000 }));
      await page.waitForSelector(SEL.ready, { state: 'attached', timeout: 30_000 });

      assert.deepEqual(watcher.pageErrors, [], 'uncaught page errors');
      assert.deepEqual(watcher.consoleErrors, [], 'console errors (a wasm panic shows as "panicked at ...")');
    } finally {
      await context.close();
    }
  });

  test('an unreachable hub shows an error and leaves the page usable', { timeout: 120_000 }, async () => {
    const { context, page } = await newPage(browser);
    const watcher = watchErrors(page, (t) => !isNetworkNoise(t));
    try {
      const hub = 'http://127.0.0.1:9/nohub';
      await page.goto(`${server.url}/?hub=${hub}&model=${MODEL}`, { waitUntil: 'load' });
      // Another origin than the page's and the default hub's: the page asks first.
      await page.click('[data-testid="host-confirm-load"]');
      const err = await orFail(watcher, page.waitForSelector(SEL.error, { state: 'visible', timeout: 60_000 }));
      const text = ((await err.textContent()) ?? '').trim();
      assert.ok(text.length > 0, 'the error element is visible but empty');
      console.log(`# error shown: ${text}`);

      const input = page.locator(SEL.text);
      assert.ok(await input.isEditable(), 'the text input should still be editable');
      await input.fill('Still editable after a failed load.');
      assert.equal(await input.inputValue(), 'Still editable after a failed load.');
      await page.waitForTimeout(500); // let any reaction to the edit surface its errors

      // The site bundles all-MiniLM-L6-v2 (models/index.json): the page offers it, and it runs
      // the edited text once chosen.
      const offer = page.locator(SEL.bundledOffer);
      await offer.first().waitFor({ state: 'visible', timeout: 10_000 });
      await offer.first().click();
      await orFail(watcher, page.waitForSelector(SEL.ready, { state: 'attached', timeout: 120_000 }));
      assert.equal(await page.locator(SEL.error).count(), 0, 'the error is gone once the bundled model runs');
      const n = await page.locator(SEL.heatmap).getAttribute('data-n');
      assert.equal(n, '10', 'heatmap of "Still editable after a failed load." ([CLS] + 8 + [SEP])');

      assert.deepEqual(watcher.pageErrors, [], 'uncaught page errors');
      assert.deepEqual(watcher.fatalConsoleErrors(), [], 'console errors other than network failures');
    } finally {
      await context.close();
    }
  });
});
