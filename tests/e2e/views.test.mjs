// End-to-end tests of the four views (heatmap, head view, model view, neuron view) of the built
// app (dist/, from `trunk build --release`) in headless Chromium through playwright-core.
//
//   node --test tests/e2e/views.test.mjs
//
// One browser, two page loads: a desktop page (1280 px wide) that goes through every view with
// several inputs (typing re-runs the model; the model itself loads once), and a phone page
// (390 × 844, touch). Every number a view shows is checked against the PyTorch golden fixtures
// (tests/golden/fixtures/, see golden.mjs); whatever the options do to a matrix (hiding
// [CLS]/[SEP], merging word pieces, top-k, pair filters, entropies) is recomputed here from the
// fixture, never read back from the app.
//
// It also writes the README's screenshots: docs/screenshots/view-<name>[-dark|-phone|-phone-dark].png for
// name in heatmap, head, model, neuron.
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
  TOOLTIP_RE,
  checkPrerequisites,
  launchBrowser,
  waitInPage,
  waitReady,
  watchErrors,
} from './browser.mjs';
import { applyUnits, countAtLeast, headMatrix, loadGolden, loadQk, meanRowEntropy, optionUnits, topK } from './golden.mjs';
import { startServer } from './static-server.mjs';

const SHOTS = path.join(ROOT, 'docs', 'screenshots');
const DESKTOP = { width: 1280, height: 800 };
const LAPTOP = { width: 1366, height: 768 };
const PHONE = { width: 390, height: 844 };
/** Room for the head view's picture and strip together (the hover tests move between them). */
const TALL = { width: 1280, height: 1300 };

/** Attention weights: the tooltips print 6 decimals; PyTorch vs candle differ by ~1e-6. */
const WEIGHT_TOL = 2e-5;
/** Queries and keys (values of a few units). */
const QK_TOL = 1e-4;
/** Scores q·k/√d: a sum of 32 products of such values. */
const SCORE_TOL = 1e-3;
/** The model view prints entropies with 3 decimals. */
const ENTROPY_TOL = 1e-3;
/** The head view draws weights >= 0.01 (src/ui/head_view_draw.rs MIN_WEIGHT)... */
const LINE_MIN_WEIGHT = 0.01;
/** ...but at most the 1500 strongest lines (LINE_BUDGET); data-min-weight is then the weakest drawn. */
const LINE_BUDGET = 1500;
const STEP_TIMEOUT = 30_000;
/** Viridis at 0: the colour of a weight the top-k filter hides. */
const ZERO_COLOUR = [68, 1, 84];

const tid = (id) => `[data-testid="${id}"]`;
const CANVAS = { heatmap: tid('heatmap'), head: tid('head-view'), model: tid('model-view'), neuron: tid('neuron-view') };
const NUM = '(-?\\d+\\.\\d{6})';
const STRIP_RE = new RegExp(`^head (\\d+) \u00b7 (.+?) \u2192 (.+) : ${NUM}$`);
const MODEL_RE = /^Layer (\d+) \u00b7 Head (\d+) \u00b7 entropy (-?\d+\.\d{3}) nats$/;
const NEURON_RE = new RegExp(`^(q|k|q\u2218k|q\u00b7k/\u221ad|softmax)(?:\\[(\\d+)\\])? \\((.+)\\) = ${NUM}$`);

const BANK = loadGolden('bank');
const PAIR = loadGolden('pair');
const UNICODE = loadGolden('unicode');
const LONG = loadGolden('long');

let server;
let browser;
/** The desktop page: { context, page, watcher }. */
let desk;
const t0 = Date.now();

before(async () => {
  checkPrerequisites();
  server = await startServer({ root: DIST, port: 0, mounts: { '/hub': MODELS } });
  browser = await launchBrowser();
  desk = await openPage(DESKTOP);
  console.log(`# desktop page ready after ${((Date.now() - t0) / 1e3).toFixed(1)} s`);
});

after(async () => {
  await desk?.context.close();
  await browser?.close();
  await server?.close();
  console.log(`# views.test.mjs took ${((Date.now() - t0) / 1e3).toFixed(1)} s`);
});

// ---------------------------------------------------------------------------------------------
// Page helpers

async function openPage(viewport, extra = {}) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, ...extra });
  const page = await context.newPage();
  const watcher = watchErrors(page);
  await page.goto(`${server.url}/?hub=${server.url}/hub&model=${MODEL}`, { waitUntil: 'load' });
  await waitReady(page, watcher);
  assert.equal(await page.locator(SEL.text).inputValue(), BANK.meta.text, 'the default text is the golden "bank" sentence');
  return { context, page, watcher };
}

function noErrors(watcher, where) {
  assert.deepEqual(watcher.pageErrors, [], `${where}: uncaught page errors`);
  assert.deepEqual(watcher.consoleErrors, [], `${where}: console errors (a wasm panic shows as "panicked at")`);
}

/** The element's data-* attributes (null if absent). */
function attrs(page, sel) {
  return page.evaluate((s) => {
    const el = document.querySelector(s);
    return el ? { ...el.dataset } : null;
  }, sel);
}

/** Waits until the element's data-* attributes include `want` (compared as strings). */
async function waitAttrs({ page, watcher }, sel, want, timeout = STEP_TIMEOUT) {
  const wanted = Object.fromEntries(Object.entries(want).map(([k, v]) => [k, String(v)]));
  try {
    await waitInPage(
      page,
      watcher,
      ([s, w]) => {
        const el = document.querySelector(s);
        return el && Object.entries(w).every(([k, v]) => el.dataset[k] === v);
      },
      [sel, wanted],
      timeout,
    );
  } catch (e) {
    const got = await attrs(page, sel);
    const shown = got && Object.fromEntries(Object.keys(wanted).map((k) => [k, got[k]]));
    throw new Error(`${sel}: waited for ${JSON.stringify(wanted)}, has ${JSON.stringify(shown)} (${e.message.split('\n')[0]})`);
  }
  return attrs(page, sel);
}

const labelsOf = (a) => (a.labels === '' ? [] : a.labels.split('\u001f'));

async function statusReady({ page, watcher }, tokens = null, timeout = STEP_TIMEOUT) {
  await waitInPage(
    page,
    watcher,
    ([sel, n]) => {
      const el = document.querySelector(sel);
      return el?.dataset.state === 'ready' && (n === null || el.textContent.trim().startsWith(`${n} tokens`));
    },
    [SEL.status, tokens],
    timeout,
  );
}

/** Shows `view` (heatmap, head, model, neuron) and waits until its picture is drawn. */
async function openView(p, view) {
  await p.page.locator(tid(`view-tab-${view}`)).click();
  await waitAttrs(p, SEL.panel, { view });
  assert.equal(await p.page.locator(tid(`view-tab-${view}`)).getAttribute('aria-selected'), 'true');
  await waitInPage(p.page, p.watcher, (s) => document.querySelector(s)?.hasAttribute('data-draws'), CANVAS[view]);
  await statusReady(p);
  return attrs(p.page, CANVAS[view]);
}

/** Sets the text (and the second sentence, or none) and waits for the run of `tokens` tokens. */
async function setText(p, text, pair, tokens) {
  const { page } = p;
  const before = (await attrs(page, SEL.panel)).runId;
  const pairOn = await page.locator(tid('pair-toggle')).isChecked();
  if ((await page.locator(SEL.text).inputValue()) === text && pairOn === (pair !== null)) {
    if (pair === null || (await page.locator(tid('pair-input')).inputValue()) === pair) return;
  }
  if (pairOn !== (pair !== null)) await page.locator(tid('pair-toggle')).setChecked(pair !== null);
  if (pair !== null) await page.locator(tid('pair-input')).fill(pair);
  await page.locator(SEL.text).fill(text);
  await waitInPage(page, p.watcher, ([s, b]) => (document.querySelector(s)?.dataset.runId ?? b) !== b, [SEL.panel, before], 120_000);
  await statusReady(p, tokens, 120_000);
}

async function setLayerHead(p, layer, head) {
  if (layer !== null) await p.page.locator(SEL.layer).selectOption(String(layer));
  if (head !== null) await p.page.locator(SEL.head).selectOption(String(head));
  const want = {};
  if (layer !== null) want.layer = layer;
  if (head !== null) want.head = head;
  await waitAttrs(p, SEL.panel, want);
}

async function setCheck(p, id, on) {
  await p.page.locator(tid(id)).setChecked(on);
}

/**
 * Viewport coordinates of point (x, y) of a canvas (CSS pixels from its top-left corner),
 * scrolling the page (and the canvas' wrapper) so that the point is on screen.
 */
function canvasPoint(page, sel, x, y) {
  return page.evaluate(
    ([s, x, y]) => {
      const el = document.querySelector(s);
      let r = el.getBoundingClientRect();
      const vy = r.top + y;
      if (vy < 60 || vy > innerHeight - 60) {
        window.scrollBy(0, vy - innerHeight / 2);
        r = el.getBoundingClientRect();
      }
      const wrap = el.closest('.canvas-wrap');
      const wr = wrap?.getBoundingClientRect();
      if (wr && (r.left + x < wr.left + 5 || r.left + x > wr.right - 5)) {
        wrap.scrollLeft += r.left + x - (wr.left + wr.width / 2);
        r = el.getBoundingClientRect();
      }
      return { x: r.left + x, y: r.top + y };
    },
    [sel, x, y],
  );
}

/** Reads a tooltip until `accept(text)`; fails with the last text after `timeout`. */
async function waitTip(page, sel, accept, what, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const text = await page.evaluate((s) => document.querySelector(s)?.textContent?.trim() ?? null, sel);
    if (text !== null && accept(text)) return text;
    if (Date.now() > deadline) assert.fail(`${what}: tooltip ${sel} reads ${JSON.stringify(text)}`);
    await page.waitForTimeout(40);
  }
}

/** Moves the mouse off every picture (hover ends) and waits until `tipSel` is gone. */
async function mouseAway(page, tipSel) {
  await page.mouse.move(2, 2);
  if (tipSel) await page.waitForSelector(tipSel, { state: 'detached', timeout: 5_000 });
}

/**
 * Scrolls the head view's picture and strip area near the top of the viewport (so the strip,
 * once shown, is on screen without scrolling under the pointer), moves the pointer off it, and
 * returns the viewport boxes of the picture (`canvas`) and the area's `right` edge.
 */
async function hoverArea(page) {
  await mouseAway(page, null);
  return page.evaluate((sel) => {
    const area = document.querySelector('.head-area');
    area.scrollIntoView({ block: 'start' });
    window.scrollBy(0, -70);
    const c = document.querySelector(sel).getBoundingClientRect();
    const r = area.getBoundingClientRect();
    return { canvas: { left: c.left, top: c.top, right: c.right, bottom: c.bottom }, right: r.right };
  }, CANVAS.head);
}

/** Hovers canvas point (x, y) and returns the tooltip once `accept` takes it. */
async function hoverTip(page, canvasSel, x, y, tipSel, accept, what) {
  await mouseAway(page, tipSel);
  const pt = await canvasPoint(page, canvasSel, x, y);
  await page.mouse.move(pt.x, pt.y, { steps: 2 });
  return waitTip(page, tipSel, accept, what);
}

/** Hovers heatmap cell (from i, to j); checks the tooltip names labels[i] → labels[j]. */
async function hoverHeatmapCell(page, i, j, labels) {
  const a = await attrs(page, CANVAS.heatmap);
  const x = Number(a.originX) + (j + 0.5) * Number(a.cell);
  const y = Number(a.originY) + (i + 0.5) * Number(a.cell);
  const text = await hoverTip(
    page,
    CANVAS.heatmap,
    x,
    y,
    SEL.tooltip,
    (t) => {
      const m = TOOLTIP_RE.exec(t);
      return m && m[1] === labels[i] && m[2] === labels[j];
    },
    `heatmap cell (${i} ${labels[i]} \u2192 ${j} ${labels[j]})`,
  );
  const m = TOOLTIP_RE.exec(text);
  assert.match(m[3], /^-?\d+\.\d{6}$/, `tooltip weight with 6 decimals: ${text}`);
  return { text, weight: Number(m[3]), x, y };
}

function assertClose(got, want, tol, what) {
  assert.ok(Number.isFinite(got) && Math.abs(got - want) <= tol, `${what}: app ${got} vs golden ${want.toFixed(8)} (tolerance ${tol})`);
}

/** RGBA of the canvas' backing store under CSS point (x, y). */
function pixelAt(page, sel, x, y) {
  return page.evaluate(
    ([s, x, y]) => {
      const c = document.querySelector(s);
      const k = c.width / c.getBoundingClientRect().width;
      return Array.from(c.getContext('2d').getImageData(Math.floor(x * k), Math.floor(y * k), 1, 1).data);
    },
    [sel, x, y],
  );
}

const sameRgb = (px, rgb) => px[0] === rgb[0] && px[1] === rgb[1] && px[2] === rgb[2];

/** "rgb(1, 2, 3)" → [1, 2, 3]. */
const parseRgb = (css) => css.match(/\d+/g).slice(0, 3).map(Number);

/** Matrices of every head of layer `l`. */
const layerMatrices = (g, l, heads = [...Array(g.heads).keys()]) => heads.map((h) => headMatrix(g, l, h));

/**
 * Golden number of head-view lines at threshold `min`: weights >= `min` over the (i, j) that
 * `allow` accepts and, with `topk`, among the k largest of their row (ties to the lower index).
 * `{ count, low, high }`: [low, high] is what a computation within WEIGHT_TOL of the golden
 * weights can give (weights that close to `min`, or near ties at the k-th weight, may go either way).
 */
function goldenLines(mats, n, min, { allow = () => true, topk = null } = {}) {
  if (topk === null) return countAtLeast(mats, n, min, { allow, tolerance: WEIGHT_TOL });
  let count = 0;
  let low = 0;
  let high = 0;
  for (const m of mats) {
    for (let i = 0; i < n; i++) {
      const row = Array.from(m.subarray(i * n, (i + 1) * n));
      const { kept, margin } = topK(row, topk);
      for (const j of kept) {
        if (!allow(i, j)) continue;
        if (row[j] >= min) count++;
        if (row[j] >= min + WEIGHT_TOL && margin > WEIGHT_TOL) low++;
        if (row[j] >= min - WEIGHT_TOL) high++;
      }
      if (margin <= WEIGHT_TOL) high++; // a near tie may swap the k-th and (k+1)-th weights
    }
  }
  return { count, low, high };
}

/**
 * The head view's lines against the golden weights. `data-min-weight` is the weakest weight
 * drawn: 0.01, or more when the line budget cut the faintest lines. Checks that
 * - `data-line-count` is the golden number of weights >= `data-min-weight` after the filters
 *   (recomputed from the fixture), and never more than LINE_BUDGET;
 * - lines are cut exactly when the golden weights >= 0.01 (after the filters) exceed the budget;
 * - the budget note shows exactly when `data-min-weight` > 0.01, and names the budget and cut.
 * Returns `{ lines, golden, min, full }` (full: the golden count at 0.01).
 */
async function checkLines(p, a, mats, n, filters, what) {
  const min = Number(a.minWeight);
  assert.ok(Number.isFinite(min) && min >= LINE_MIN_WEIGHT, `${what}: data-min-weight ${JSON.stringify(a.minWeight)} is not a weight >= ${LINE_MIN_WEIGHT}`);
  const lines = Number(a.lineCount);
  const want = goldenLines(mats, n, min, filters);
  assert.ok(
    lines >= want.low && lines <= want.high,
    `${what}: data-line-count ${lines}, golden ${want.count} weights >= data-min-weight ${a.minWeight} ` +
      `(${want.low}..${want.high} allowing weights within ${WEIGHT_TOL} of it)`,
  );
  assert.ok(lines <= LINE_BUDGET, `${what}: ${lines} lines drawn, more than the budget of ${LINE_BUDGET} (data-min-weight ${a.minWeight})`);
  const full = goldenLines(mats, n, LINE_MIN_WEIGHT, filters);
  const cut = min > LINE_MIN_WEIGHT;
  if (full.low > LINE_BUDGET) {
    assert.ok(cut, `${what}: golden has ${full.count} lines >= ${LINE_MIN_WEIGHT}, over the budget, but data-min-weight is ${a.minWeight}`);
  }
  if (full.high <= LINE_BUDGET) {
    assert.ok(!cut, `${what}: golden has ${full.count} lines >= ${LINE_MIN_WEIGHT}, within the budget, but data-min-weight is ${a.minWeight}`);
  }
  await checkBudgetNote(p, min, what);
  return { lines, golden: want.count, min, full: full.count };
}

/** The line-budget note shows exactly when lines were cut (`min` > 0.01), naming the budget and `min`. */
async function checkBudgetNote({ page, watcher }, min, what) {
  const cut = min > LINE_MIN_WEIGHT;
  const shown = () => page.evaluate((sel) => {
    const el = document.querySelector(sel);
    return el && el.getClientRects().length > 0 ? el.textContent.trim() : null;
  }, SEL.lineBudgetNote);
  try {
    await waitInPage(page, watcher, ([sel, cut]) => {
      const el = document.querySelector(sel);
      return (!!el && el.getClientRects().length > 0) === cut;
    }, [SEL.lineBudgetNote, cut], 5_000);
  } catch {
    // reported below
  }
  const text = await shown();
  assert.equal(text !== null, cut, `${what}: the line-budget note ${cut ? 'is missing' : 'shows'} with data-min-weight ${min}: ${JSON.stringify(text)}`);
  if (!cut) return;
  assert.ok(text.includes(String(LINE_BUDGET)), `${what}: the budget note names the budget ${LINE_BUDGET}: ${text}`);
  const m = /\u2265\s*(\d+\.\d+)/.exec(text);
  assert.ok(m && Math.abs(Number(m[1]) - min) <= 6e-4, `${what}: the budget note gives the weakest weight drawn (${min}): ${text}`);
}

async function screenshot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.mouse.move(2, 2);
  await page.evaluate(() => window.scrollTo(0, 0));
  const file = path.join(SHOTS, `view-${name}.png`);
  await page.screenshot({ path: file, fullPage: true, scale: 'css' });
  return file;
}

// ---------------------------------------------------------------------------------------------

describe('views (dist/ in headless Chromium, checked against the golden fixtures)', () => {
  test('1. heatmap: golden cell, top-k colours, hide [CLS]/[SEP] renormalised', { timeout: 90_000 }, async () => {
    const { page } = desk;
    const g = BANK;
    const n = g.n;
    await openView(desk, 'heatmap');
    await setLayerHead(desk, 1, 3);
    let a = await waitAttrs(desk, CANVAS.heatmap, { layer: 1, head: 3, n });
    assert.deepEqual(labelsOf(a), g.tokens, 'heatmap data-labels are the golden tokens');
    const m = headMatrix(g, 1, 3);

    // A plain cell: bank → deposit.
    const [bi, dj] = [5, 7];
    let got = await hoverHeatmapCell(page, bi, dj, g.tokens);
    assertClose(got.weight, m[bi * n + dj], WEIGHT_TOL, `layer 1 head 3 ${got.text}`);

    // Top-k (k = 3): a weight outside its row's top 3 is drawn in the zero colour, but its
    // tooltip still gives the exact weight; the row's largest keeps its colour.
    const row = Array.from(m.subarray(bi * n, (bi + 1) * n));
    const { order, margin } = topK(row, 3);
    assert.ok(margin > 1e-4, `golden row ${bi} has a near tie at its 3rd/4th weight (${margin}); pick another row`);
    const [inside, outside] = [order[0], order[3]];
    const cellCentre = (i, j) => [Number(a.originX) + (j + 0.5) * Number(a.cell), Number(a.originY) + (i + 0.5) * Number(a.cell)];
    const before = await pixelAt(page, CANVAS.heatmap, ...cellCentre(bi, outside));
    if (row[outside] / Math.max(...m) > 0.05) {
      assert.ok(!sameRgb(before, ZERO_COLOUR), `cell (${bi}, ${outside}) = ${row[outside]} should not be the zero colour before filtering: ${before}`);
    }
    const draws = Number(a.draws);
    await page.locator(tid('opt-filter')).selectOption('topk');
    assert.equal(await page.locator(tid('opt-filter-value')).inputValue(), '3', 'top-k starts at k = 3');
    await waitInPage(page, desk.watcher, ([s, d]) => Number(document.querySelector(s)?.dataset.draws) > d, [CANVAS.heatmap, draws]);
    a = await attrs(page, CANVAS.heatmap);
    const hidden = await pixelAt(page, CANVAS.heatmap, ...cellCentre(bi, outside));
    assert.deepEqual(hidden.slice(0, 3), ZERO_COLOUR, `top-3: cell (${g.tokens[bi]} \u2192 ${g.tokens[outside]}), the row's 4th weight, is viridis(0)`);
    const kept = await pixelAt(page, CANVAS.heatmap, ...cellCentre(bi, inside));
    assert.ok(!sameRgb(kept, ZERO_COLOUR), `top-3: the row's largest weight keeps its colour, got ${kept}`);
    // A cell of another row that is outside that row's top 3, to be sure it is per row.
    const otherRow = Array.from(m.subarray(2 * n, 3 * n));
    const other = topK(otherRow, 3);
    assert.deepEqual((await pixelAt(page, CANVAS.heatmap, ...cellCentre(2, other.order[n - 1]))).slice(0, 3), ZERO_COLOUR);
    got = await hoverHeatmapCell(page, bi, outside, g.tokens);
    assertClose(got.weight, row[outside], WEIGHT_TOL, `top-3 hides ${got.text} from the picture, not from the tooltip`);
    await page.locator(tid('opt-filter')).selectOption('all');
    await waitInPage(page, desk.watcher, ([s, d]) => Number(document.querySelector(s)?.dataset.draws) > d, [CANVAS.heatmap, Number(a.draws)]);
    assert.ok(!sameRgb(await pixelAt(page, CANVAS.heatmap, ...cellCentre(bi, outside)), ZERO_COLOUR) || row[outside] / Math.max(...m) <= 0.05);

    // Hide [CLS]/[SEP]: rows renormalised.
    await mouseAway(page, SEL.tooltip);
    assert.equal(await page.locator(tid('renorm-note')).count(), 0, 'no renorm note before hiding');
    await setCheck(desk, 'opt-hide-special', true);
    const units = optionUnits(g.tokens, { hideSpecial: true });
    a = await waitAttrs(desk, CANVAS.heatmap, { n: units.length });
    assert.deepEqual(labelsOf(a), units.map((u) => u.label), 'labels without [CLS]/[SEP]');
    assert.ok(await page.locator(tid('renorm-note')).isVisible(), 'the renorm note shows');
    const r = applyUnits(m, n, units);
    const mm = units.length;
    for (const [i, j] of [[4, 6], [0, 0], [mm - 1, 2]]) {
      got = await hoverHeatmapCell(page, i, j, units.map((u) => u.label));
      assertClose(got.weight, r[i * mm + j], WEIGHT_TOL, `hidden specials, renormalised: ${got.text}`);
    }
    await mouseAway(page, SEL.tooltip);
    await setCheck(desk, 'opt-hide-special', false);
    await waitAttrs(desk, CANVAS.heatmap, { n });
    assert.equal(await page.locator(tid('renorm-note')).count(), 0, 'the renorm note goes with the option');
    noErrors(desk.watcher, 'heatmap');
  });

  test('2. head view: line counts per head set, solo/restore, focus strip, line colours', { timeout: 90_000 }, async () => {
    const { page } = desk;
    const g = BANK;
    const n = g.n;
    const L = 2;
    await openView(desk, 'head');
    await setLayerHead(desk, L, null);
    const all = [...Array(g.heads).keys()];
    let a = await waitAttrs(desk, CANVAS.head, { layer: L, heads: all.join(','), n, filter: 'all' });
    assert.deepEqual(labelsOf(a), g.tokens);
    const golden = await checkLines(desk, a, layerMatrices(g, L), n, {}, `layer ${L}, all heads`);
    console.log(`# head view layer ${L}: ${a.lineCount} lines >= ${a.minWeight} (golden ${golden.golden})`);

    // Solo head 4 (double-click), then all heads again (double-click again).
    const solo = 4;
    await page.locator(tid(`head-chip-${solo}`)).dblclick();
    a = await waitAttrs(desk, CANVAS.head, { heads: String(solo) });
    await checkLines(desk, a, layerMatrices(g, L, [solo]), n, {}, `layer ${L}, head ${solo} alone`);
    for (const h of all) {
      assert.equal(await page.locator(tid(`head-chip-${h}`)).getAttribute('aria-pressed'), String(h === solo), `chip ${h} aria-pressed`);
    }
    // Lines on the base canvas are the head's colour (that of its chip) over the background.
    const colour = parseRgb(await page.locator(`${tid(`head-chip-${solo}`)} .swatch`).evaluate((el) => getComputedStyle(el).backgroundColor));
    const lines = await page.evaluate(
      ([s, c]) => {
        const el = document.querySelector(s);
        const k = el.width / el.getBoundingClientRect().width;
        const ctx = el.getContext('2d');
        const bg = Array.from(ctx.getImageData(1, 1, 1, 1).data);
        const x0 = Math.ceil((Number(el.dataset.leftX) + 6) * k);
        const x1 = Math.floor((Number(el.dataset.rightX) - 6) * k);
        const d = ctx.getImageData(x0, 0, x1 - x0, el.height).data;
        const cb = [0, 1, 2].map((q) => c[q] - bg[q]);
        const len2 = cb.reduce((s, v) => s + v * v, 0);
        let ink = 0;
        let onColour = 0;
        for (let p = 0; p < d.length; p += 4) {
          const pb = [0, 1, 2].map((q) => d[p + q] - bg[q]);
          if (Math.max(...pb.map(Math.abs)) <= 2) continue;
          ink++;
          const t = pb.reduce((s, v, q) => s + v * cb[q], 0) / len2;
          const resid = Math.hypot(...pb.map((v, q) => v - t * cb[q]));
          if (t > 0 && t <= 1.02 && resid <= 12) onColour++;
        }
        return { ink, onColour, bg };
      },
      [CANVAS.head, colour],
    );
    console.log(`# head ${solo} alone: ${lines.onColour} of ${lines.ink} inked pixels between the columns are rgb(${colour}) over the background`);
    assert.ok(lines.onColour > 300, `head ${solo} alone: few pixels in its colour rgb(${colour}) on the base canvas: ${JSON.stringify(lines)}`);
    assert.ok(lines.onColour >= 0.95 * lines.ink, `head ${solo} alone: pixels between the columns that are not its colour: ${JSON.stringify(lines)}`);
    await page.locator(tid(`head-chip-${solo}`)).dblclick();
    a = await waitAttrs(desk, CANVAS.head, { heads: all.join(',') });
    await checkLines(desk, a, layerMatrices(g, L), n, {}, `layer ${L}, all heads restored`);

    // Hover a token ("from" side): focus, strip, and a strip cell's weight.
    const ys = a.ys.split(',').map(Number);
    const [fi, tj] = [5, 7]; // bank, deposit
    await mouseAway(page, null);
    let pt = await canvasPoint(page, CANVAS.head, Number(a.leftX) - 10, ys[fi]);
    await page.mouse.move(pt.x, pt.y, { steps: 2 });
    await waitAttrs(desk, CANVAS.head, { focus: `from:${fi}` });
    await page.waitForSelector(`.strip-wrap:not(.hidden) ${tid('head-strip')}[data-rows]`, { timeout: 10_000 });
    let s = await attrs(page, tid('head-strip'));
    assert.deepEqual([Number(s.rows), Number(s.cols)], [g.heads, n], 'strip: a row per head, a column per token');
    // Click pins the focus (the strip sits outside the picture, so the pointer has to leave it).
    await page.mouse.click(pt.x, pt.y);
    await mouseAway(page, null);
    await waitAttrs(desk, CANVAS.head, { focus: `from:${fi}` });
    s = await attrs(page, tid('head-strip'));
    // The pointer goes from outside the picture to the strip in a straight line (which may cross
    // the picture); the strip must still be that of the pinned token.
    const stripCell = async (row, col, what, pinnedFocus) => {
      const text = await hoverTip(
        page,
        tid('head-strip'),
        Number(s.originX) + (col + 0.5) * Number(s.cellW),
        Number(s.originY) + (row + 0.5) * Number(s.cellH),
        tid('strip-tooltip'),
        (t) => STRIP_RE.test(t) && Number(STRIP_RE.exec(t)[1]) === row,
        what,
      );
      const focus = await page.locator(CANVAS.head).getAttribute('data-focus');
      assert.equal(
        focus,
        pinnedFocus,
        `${what}: with ${pinnedFocus} pinned (clicked), the pointer went to the strip and the focus is now ${focus} ` +
          `(strip tooltip ${JSON.stringify(text)}): a token the pointer crossed on the way overrides the pinned one and sticks`,
      );
      return STRIP_RE.exec(text);
    };
    let mt = await stripCell(solo, tj, 'strip cell', `from:${fi}`);
    assert.deepEqual([mt[2], mt[3]], [g.tokens[fi], g.tokens[tj]], `strip tooltip ${mt[0]}`);
    assertClose(Number(mt[4]), g.at(L, solo, fi, tj), WEIGHT_TOL, `strip ${mt[0]}`);

    // The "to" side: who attends to "deposit".
    await mouseAway(page, null);
    pt = await canvasPoint(page, CANVAS.head, Number(a.rightX) + 10, ys[tj]);
    await page.mouse.click(pt.x, pt.y);
    await mouseAway(page, null);
    await waitAttrs(desk, CANVAS.head, { focus: `to:${tj}` });
    s = await attrs(page, tid('head-strip'));
    mt = await stripCell(9, 2, 'strip cell (to side)', `to:${tj}`);
    assert.deepEqual([mt[2], mt[3]], [g.tokens[2], g.tokens[tj]], `strip tooltip ${mt[0]}`);
    assertClose(Number(mt[4]), g.at(L, 9, 2, tj), WEIGHT_TOL, `strip ${mt[0]}`);
    noErrors(desk.watcher, 'head view');
  });

  test('2c. head view: a hovered token keeps the focus while the pointer goes down to its strip; leaving both clears it', { timeout: 60_000 }, async () => {
    const { page } = desk;
    const g = BANK;
    const n = g.n;
    const L = 2;
    const h = 4;
    // Tall enough for the picture and its strip on one screen (the pointer must not leave the page).
    await page.setViewportSize(TALL);
    try {
      // A fresh head view (no pinned token), on bank, layer 2, all heads.
      await openView(desk, 'heatmap');
      let a = await openView(desk, 'head');
      await setLayerHead(desk, L, null);
      a = await waitAttrs(desk, CANVAS.head, { layer: L, focus: '', heads: [...Array(g.heads).keys()].join(',') });
      const ys = a.ys.split(',').map(Number);
      const area = await hoverArea(page);
      const stripShown = () => page.evaluate(() => !document.querySelector('.strip-wrap').classList.contains('hidden'));
      /** After a move that must not change the focus: it is still `want` and the strip shows. */
      const stillFocused = async (want, what) => {
        await page.waitForTimeout(100); // let a (wrong) change land
        const [focus, strip] = [await page.locator(CANVAS.head).getAttribute('data-focus'), await stripShown()];
        assert.ok(focus === want && strip, `${what}: data-focus ${JSON.stringify(focus)} (want ${want}), strip shown ${strip}`);
      };
      const stripCell = async (row, col) => {
        const s = await attrs(page, tid('head-strip'));
        const box = await page.locator(tid('head-strip')).boundingBox();
        return { x: box.x + Number(s.originX) + (col + 0.5) * Number(s.cellW), y: box.y + Number(s.originY) + (row + 0.5) * Number(s.cellH), box };
      };
      const readStrip = async (row, from, to, what) => {
        const text = await waitTip(page, tid('strip-tooltip'), (t) => STRIP_RE.test(t) && Number(STRIP_RE.exec(t)[1]) === row, what);
        const m = STRIP_RE.exec(text);
        assert.deepEqual([Number(m[1]), m[2], m[3]], [row, g.tokens[from], g.tokens[to]], `${what}: ${text}`);
        assertClose(Number(m[4]), g.at(L, row, from, to), WEIGHT_TOL, `${what}: ${text}`);
        return text;
      };
      const cleared = async (what) => {
        try {
          await waitAttrs(desk, CANVAS.head, { focus: '' }, 5_000);
        } catch (e) {
          assert.fail(`${what}: the focus stays (${e.message})`);
        }
        assert.equal(await stripShown(), false, `${what}: the strip hides with the focus`);
      };

      // 1. The last "from" token ([SEP]): straight down from its label, through the picture's
      //    bottom margin and the gap, onto its strip; then sideways along the strip to a cell.
      const last = n - 1;
      const x0 = area.canvas.left + Number(a.leftX) - 10;
      await page.mouse.move(x0, area.canvas.top + ys[last], { steps: 2 });
      await waitAttrs(desk, CANVAS.head, { focus: `from:${last}` });
      await page.waitForSelector(`.strip-wrap:not(.hidden) ${tid('head-strip')}[data-rows]`, { timeout: 10_000 });
      await page.mouse.move(x0, area.canvas.bottom + 3, { steps: 4 });
      await stillFocused(`from:${last}`, `pointer below the picture, on its way to the strip of "${g.tokens[last]}"`);
      let cell = await stripCell(h, 7);
      await page.mouse.move(x0, cell.y, { steps: 6 });
      await stillFocused(`from:${last}`, `pointer on the strip of "${g.tokens[last]}"`);
      await page.mouse.move(cell.x, cell.y, { steps: 4 });
      await stillFocused(`from:${last}`, `pointer on a cell of the strip of "${g.tokens[last]}"`);
      let text = await readStrip(h, last, 7, `strip of the hovered token ${g.tokens[last]}`);
      console.log(`# hovered (not clicked) [SEP], pointer moved down onto its strip: ${text}`);

      // 2. Leaving the picture and the strip together (down, out of both) clears the focus.
      const below = await page.evaluate(() => document.querySelector('.head-area').getBoundingClientRect().bottom + 12);
      assert.ok(below < (await page.evaluate(() => innerHeight)), `the strip ends on screen: ${below}`);
      await page.mouse.move(cell.x, below, { steps: 4 });
      await cleared('pointer left the strip downwards, out of the picture and the strip');

      // 3. A "to" token (deposit): right, out of the picture (but not of its wrapper), down, and
      //    left onto its strip.
      const tj = 7;
      const xr = area.canvas.left + Number(a.rightX) + 10;
      await page.mouse.move(xr, area.canvas.top + ys[tj], { steps: 2 });
      await waitAttrs(desk, CANVAS.head, { focus: `to:${tj}` });
      await page.waitForSelector(`.strip-wrap:not(.hidden) ${tid('head-strip')}[data-rows]`, { timeout: 10_000 });
      assert.ok(area.canvas.right + 40 < area.right, `the picture leaves room on its right at 1280 px: ${JSON.stringify(area)}`);
      const xOut = area.canvas.right + 30;
      await page.mouse.move(xOut, area.canvas.top + ys[tj], { steps: 3 });
      await stillFocused(`to:${tj}`, 'pointer right of the picture');
      cell = await stripCell(9, 2);
      await page.mouse.move(xOut, cell.y, { steps: 6 });
      await stillFocused(`to:${tj}`, 'pointer right of the strip');
      await page.mouse.move(cell.x, cell.y, { steps: 6 });
      text = await readStrip(9, 2, tj, `strip of the hovered token ${g.tokens[tj]} (to side)`);
      console.log(`# hovered "deposit" (to side), pointer moved round onto its strip: ${text}`);

      // 4. Back up into the picture: the hover follows the token under the pointer again.
      await page.mouse.move(x0, cell.y, { steps: 3 });
      await page.mouse.move(x0, area.canvas.top + ys[8], { steps: 6 });
      await waitAttrs(desk, CANVAS.head, { focus: 'from:8' });

      // 5. Leaving the picture (sideways, out of the panel) clears the focus too.
      await page.mouse.move(area.right + 8, area.canvas.top + ys[8], { steps: 3 });
      await cleared('pointer left the picture sideways');
    } finally {
      await page.setViewportSize(DESKTOP);
    }
    noErrors(desk.watcher, 'hovered strip');
  });

  test('2d. head view: the strip of a hovered middle token can be reached from its label', { timeout: 60_000 }, async () => {
    const { page } = desk;
    const g = BANK;
    const L = 2;
    await page.setViewportSize(TALL);
    try {
      await openView(desk, 'heatmap');
      let a = await openView(desk, 'head');
      await setLayerHead(desk, L, null);
      a = await waitAttrs(desk, CANVAS.head, { layer: L, focus: '', heads: [...Array(g.heads).keys()].join(',') });
      const ys = a.ys.split(',').map(Number);
      const area = await hoverArea(page);
      const [fi, tj, h] = [5, 7, 4];
      // Hover "bank" on the "from" side, then go for its strip as a person would: a straight
      // move from the label to the cell (any way down from a left label crosses the tokens below).
      await page.mouse.move(area.canvas.left + Number(a.leftX) - 10, area.canvas.top + ys[fi], { steps: 2 });
      await waitAttrs(desk, CANVAS.head, { focus: `from:${fi}` });
      await page.waitForSelector(`.strip-wrap:not(.hidden) ${tid('head-strip')}[data-rows]`, { timeout: 10_000 });
      const s = await attrs(page, tid('head-strip'));
      const box = await page.locator(tid('head-strip')).boundingBox();
      const to = { x: box.x + Number(s.originX) + (tj + 0.5) * Number(s.cellW), y: box.y + Number(s.originY) + (h + 0.5) * Number(s.cellH) };
      const seen = [];
      for (let k = 1; k <= 10; k++) {
        const from = { x: area.canvas.left + Number(a.leftX) - 10, y: area.canvas.top + ys[fi] };
        await page.mouse.move(from.x + ((to.x - from.x) * k) / 10, from.y + ((to.y - from.y) * k) / 10);
        seen.push(await page.locator(CANVAS.head).getAttribute('data-focus'));
      }
      const focus = await page.locator(CANVAS.head).getAttribute('data-focus');
      assert.equal(
        focus,
        `from:${fi}`,
        `moving the pointer from the hovered token "${g.tokens[fi]}" to its strip re-focuses every token it passes ` +
          `(data-focus along the way: ${[...new Set(seen)].join(' → ')}): the strip shown is that of "${g.tokens[Number(focus?.split(':')[1])]}", ` +
          `so the strip of a hovered token above the last row cannot be read without clicking it`,
      );
      const text = await waitTip(page, tid('strip-tooltip'), (t) => STRIP_RE.test(t), 'strip of a hovered token');
      const m = STRIP_RE.exec(text);
      assert.deepEqual([Number(m[1]), m[2], m[3]], [h, g.tokens[fi], g.tokens[tj]], text);
      assertClose(Number(m[4]), g.at(L, h, fi, tj), WEIGHT_TOL, text);
      await mouseAway(page, null);
    } finally {
      await page.setViewportSize(DESKTOP);
    }
    noErrors(desk.watcher, 'hovered strip from a middle token');
  });

  test('3. model view: 6 × 12 grid on a 1366 × 768 screen, golden entropies, click opens the heatmap', { timeout: 90_000 }, async () => {
    const { page } = desk;
    const g = BANK;
    await page.setViewportSize(LAPTOP);
    try {
      await openView(desk, 'model');
      const a = await waitAttrs(desk, CANVAS.model, { layers: 6, heads: 12 });
      assert.deepEqual([Number(a.layers), Number(a.heads)], [g.layers, g.heads], 'MiniLM: 6 layers × 12 heads');
      const box = await page.evaluate((s) => {
        const el = document.querySelector(s);
        el.scrollIntoView({ block: 'start' });
        const r = el.getBoundingClientRect();
        const wrap = el.closest('.canvas-wrap');
        return { x: r.x, y: r.y, w: r.width, h: r.height, wrapW: wrap.clientWidth, wrapScroll: wrap.scrollWidth };
      }, CANVAS.model);
      assert.ok(
        box.x >= 0 && box.y >= 0 && box.x + box.w <= LAPTOP.width && box.y + box.h <= LAPTOP.height,
        `the whole grid fits a ${LAPTOP.width}×${LAPTOP.height} viewport: ${JSON.stringify(box)}`,
      );
      console.log(`# model view grid at ${LAPTOP.width}×${LAPTOP.height}: ${box.w}×${box.h} px, thumbnails ${a.thumb} px`);
      assert.ok(box.wrapScroll <= box.wrapW, `the grid does not scroll sideways: ${JSON.stringify(box)}`);
      const centre = (l, h) => [
        Number(a.originX) + h * (Number(a.thumb) + Number(a.gap)) + Number(a.thumb) / 2,
        Number(a.originY) + l * (Number(a.thumb) + Number(a.gap)) + Number(a.thumb) / 2,
      ];
      for (const [l, h] of [[0, 0], [2, 5], [5, 11], [3, 8]]) {
        const text = await hoverTip(page, CANVAS.model, ...centre(l, h), tid('model-tooltip'), (t) => {
          const m = MODEL_RE.exec(t);
          return m && Number(m[1]) === l && Number(m[2]) === h;
        }, `model view thumbnail (${l}, ${h})`);
        const want = meanRowEntropy(headMatrix(g, l, h), g.n);
        assertClose(Number(MODEL_RE.exec(text)[3]), want, ENTROPY_TOL, text);
      }
      // Click (3, 8): the heatmap opens on that head.
      const pt = await canvasPoint(page, CANVAS.model, ...centre(3, 8));
      await page.mouse.click(pt.x, pt.y);
      await waitAttrs(desk, SEL.panel, { view: 'heatmap', layer: 3, head: 8 });
      await waitAttrs(desk, CANVAS.heatmap, { layer: 3, head: 8 });
      assert.equal(await page.locator(tid('view-tab-heatmap')).getAttribute('aria-selected'), 'true');
      assert.deepEqual([await page.locator(SEL.layer).inputValue(), await page.locator(SEL.head).inputValue()], ['3', '8']);
    } finally {
      await page.setViewportSize(DESKTOP);
    }
    noErrors(desk.watcher, 'model view');
  });

  test('4. neuron view: golden q, k, q∘k, scores and softmax; clicks and arrows change the token', { timeout: 90_000 }, async () => {
    const { page } = desk;
    const g = BANK;
    const qk = loadQk('bank');
    const [, , n, d] = qk.shape;
    const [L, H] = [2, 4];
    await openView(desk, 'neuron');
    await setLayerHead(desk, L, H);
    let a = await waitAttrs(desk, CANVAS.neuron, { layer: L, head: H, n, d });
    const num = (k) => Number(a[k]);
    const rowY = (j) => num('rowsY') + (j + 0.5) * num('rowH');
    const from = 5; // bank
    // Click the label of row "bank": it becomes the query token.
    let pt = await canvasPoint(page, CANVAS.neuron, 4, rowY(from));
    await page.mouse.click(pt.x, pt.y);
    a = await waitAttrs(desk, CANVAS.neuron, { token: from });
    await waitAttrs(desk, SEL.panel, { token: from });

    const read = async (x, y, kind, dim, token, what) => {
      const text = await hoverTip(page, CANVAS.neuron, x, y, tid('neuron-tooltip'), (t) => {
        const m = NEURON_RE.exec(t);
        return m && m[1] === kind && (dim === null ? m[2] === undefined : Number(m[2]) === dim) && m[3] === g.tokens[token];
      }, what);
      return { text, value: Number(NEURON_RE.exec(text)[4]) };
    };
    const q = (dim) => qk.qAt(L, H, from, dim);
    const k = (j, dim) => qk.kAt(L, H, j, dim);
    const dimX = (x0, dim) => x0 + (dim + 0.5) * num('dimW');
    for (const dim of [0, 5, d - 1]) {
      const r = await read(dimX(num('kX'), dim), num('qY'), 'q', dim, from, `q[${dim}]`);
      assertClose(r.value, q(dim), QK_TOL, r.text);
    }
    for (const [j, dim] of [[7, 9], [0, 31], [10, 0]]) {
      let r = await read(dimX(num('kX'), dim), rowY(j), 'k', dim, j, `k[${dim}] of ${g.tokens[j]}`);
      assertClose(r.value, k(j, dim), QK_TOL, r.text);
      r = await read(dimX(num('pX'), dim), rowY(j), 'q\u2218k', dim, j, `q∘k[${dim}] of ${g.tokens[j]}`);
      assertClose(r.value, q(dim) * k(j, dim), QK_TOL * Math.max(1, Math.abs(q(dim)) + Math.abs(k(j, dim))), r.text);
    }
    for (const j of [7, from, 0, n - 1]) {
      let score = 0;
      for (let dim = 0; dim < d; dim++) score += q(dim) * k(j, dim);
      score /= Math.sqrt(d);
      let r = await read(num('sX') + num('barW') / 2, rowY(j), 'q\u00b7k/\u221ad', null, j, `score of ${g.tokens[j]}`);
      assertClose(r.value, score, SCORE_TOL, r.text);
      r = await read(num('probX') + num('barW') / 2, rowY(j), 'softmax', null, j, `softmax of ${g.tokens[j]}`);
      assertClose(r.value, g.at(L, H, from, j), WEIGHT_TOL, r.text);
    }

    // Another row: the query token changes (canvas and the shared selection).
    pt = await canvasPoint(page, CANVAS.neuron, num('sX') + 2, rowY(7));
    await page.mouse.click(pt.x, pt.y);
    a = await waitAttrs(desk, CANVAS.neuron, { token: 7 });
    await waitAttrs(desk, SEL.panel, { token: 7 });
    const r = await read(dimX(num('kX'), 3), num('qY'), 'q', 3, 7, 'q of "deposit"');
    assertClose(r.value, qk.qAt(L, H, 7, 3), QK_TOL, r.text);
    // ↑ / ↓ on the focused picture.
    await mouseAway(page, tid('neuron-tooltip'));
    await page.locator('.canvas-wrap', { has: page.locator(CANVAS.neuron) }).focus();
    await page.keyboard.press('ArrowUp');
    await waitAttrs(desk, CANVAS.neuron, { token: 6 });
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await waitAttrs(desk, CANVAS.neuron, { token: 8 });
    noErrors(desk.watcher, 'neuron view');
  });

  test('5. keyboard: heatmap arrows move the highlighted cell, model view arrows the head', { timeout: 60_000 }, async () => {
    const { page } = desk;
    const g = BANK;
    await openView(desk, 'heatmap');
    await setLayerHead(desk, 1, 3);
    await waitAttrs(desk, CANVAS.heatmap, { layer: 1, head: 3, n: g.n });
    await mouseAway(page, SEL.tooltip);
    await page.locator('.canvas-wrap', { has: page.locator(CANVAS.heatmap) }).focus();
    // No cell yet: the first arrow starts from (0, 0).
    const expectTip = async (i, j) => {
      const text = await waitTip(page, SEL.tooltip, (t) => {
        const m = TOOLTIP_RE.exec(t);
        return m && m[1] === g.tokens[i] && m[2] === g.tokens[j];
      }, `keyboard cell (${i}, ${j})`);
      assertClose(Number(TOOLTIP_RE.exec(text)[3]), g.at(1, 3, i, j), WEIGHT_TOL, `keyboard ${text}`);
    };
    await page.keyboard.press('ArrowDown');
    await expectTip(1, 0);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await expectTip(1, 2);
    for (let k = 0; k < 4; k++) await page.keyboard.press('ArrowDown');
    await expectTip(5, 2);
    await page.keyboard.press('ArrowLeft');
    await expectTip(5, 1);
    for (let k = 0; k < 20; k++) await page.keyboard.press('ArrowDown');
    await expectTip(g.n - 1, 1); // clamped at the last row
    await page.keyboard.press('Escape');
    await page.waitForSelector(SEL.tooltip, { state: 'detached', timeout: 5_000 });

    // Head view: ↑/↓ move the focused token, ←/→ switch sides.
    await openView(desk, 'head');
    await mouseAway(page, null);
    await page.locator('.canvas-wrap', { has: page.locator(CANVAS.head) }).focus();
    await page.keyboard.press('ArrowDown');
    await waitAttrs(desk, CANVAS.head, { focus: 'from:1' });
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowRight');
    await waitAttrs(desk, CANVAS.head, { focus: 'to:2' });
    await page.keyboard.press('ArrowLeft');
    await waitAttrs(desk, CANVAS.head, { focus: 'from:2' });
    await waitAttrs(desk, SEL.panel, { token: 2 });

    // Model view: arrows move the selected layer/head, Enter opens it.
    await openView(desk, 'model');
    await mouseAway(page, null);
    await page.locator('.canvas-wrap', { has: page.locator(CANVAS.model) }).focus();
    await page.keyboard.press('ArrowDown');
    await waitAttrs(desk, SEL.panel, { layer: 2, head: 3 });
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await waitAttrs(desk, SEL.panel, { layer: 2, head: 5 });
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowLeft');
    await waitAttrs(desk, SEL.panel, { layer: 1, head: 4 });
    const tip = await waitTip(page, tid('model-tooltip'), (t) => MODEL_RE.test(t), 'model view keyboard tooltip');
    assert.deepEqual(MODEL_RE.exec(tip).slice(1, 3).map(Number), [1, 4], `the tooltip follows the keyboard: ${tip}`);
    await page.keyboard.press('Enter');
    await waitAttrs(desk, SEL.panel, { view: 'heatmap', layer: 1, head: 4 });
    await waitAttrs(desk, CANVAS.heatmap, { layer: 1, head: 4 });
    noErrors(desk.watcher, 'keyboard');
  });

  test('6. switching views keeps layer and head', { timeout: 60_000 }, async () => {
    const { page } = desk;
    await openView(desk, 'heatmap');
    await setLayerHead(desk, 3, 7);
    await waitAttrs(desk, CANVAS.heatmap, { layer: 3, head: 7 });
    await openView(desk, 'neuron');
    await waitAttrs(desk, CANVAS.neuron, { layer: 3, head: 7 });
    assert.deepEqual([await page.locator(SEL.layer).inputValue(), await page.locator(SEL.head).inputValue()], ['3', '7']);
    await openView(desk, 'head');
    await waitAttrs(desk, CANVAS.head, { layer: 3 });
    await openView(desk, 'heatmap');
    await waitAttrs(desk, CANVAS.heatmap, { layer: 3, head: 7 });
    assert.deepEqual([await page.locator(SEL.layer).inputValue(), await page.locator(SEL.head).inputValue()], ['3', '7']);
    noErrors(desk.watcher, 'switching views');
  });

  test('9. README screenshots at 1280 px, light and dark', { timeout: 90_000 }, async () => {
    const { page } = desk;
    const shots = [];
    for (const theme of ['light', 'dark']) {
      if ((await page.evaluate(() => document.documentElement.dataset.theme)) !== theme) {
        await page.locator(tid('theme-toggle')).click();
        await page.waitForSelector(`html[data-theme="${theme}"]`, { state: 'attached', timeout: 10_000 });
      }
      const suffix = theme === 'dark' ? '-dark' : '';
      await openView(desk, 'heatmap');
      await setLayerHead(desk, 2, 4);
      await waitAttrs(desk, CANVAS.heatmap, { layer: 2, head: 4 });
      shots.push(await screenshot(page, `heatmap${suffix}`));

      const a = await openView(desk, 'head');
      const ys = a.ys.split(',').map(Number);
      const pt = await canvasPoint(page, CANVAS.head, Number(a.leftX) - 10, ys[5]);
      await page.mouse.click(pt.x, pt.y); // pins "bank"
      await waitAttrs(desk, CANVAS.head, { focus: 'from:5' });
      await page.waitForSelector(`.strip-wrap:not(.hidden) ${tid('head-strip')}[data-rows]`, { timeout: 10_000 });
      shots.push(await screenshot(page, `head${suffix}`));

      await openView(desk, 'model');
      shots.push(await screenshot(page, `model${suffix}`));

      await openView(desk, 'neuron');
      await waitAttrs(desk, CANVAS.neuron, { layer: 2, head: 4, token: 5 });
      shots.push(await screenshot(page, `neuron${suffix}`));

      // Each picture is drawn on the theme's background.
      for (const sel of [CANVAS.neuron]) {
        const px = await pixelAt(page, sel, 1, 1);
        const dark = px[0] + px[1] + px[2] < 150;
        assert.equal(dark, theme === 'dark', `${sel} background in the ${theme} theme: ${px}`);
      }
    }
    await page.locator(tid('theme-toggle')).click();
    await page.waitForSelector('html[data-theme="light"]', { state: 'attached', timeout: 10_000 });
    for (const f of shots) assert.ok(fs.statSync(f).size > 10_000, `${f} looks empty`);
    console.log(`# wrote ${shots.map((f) => path.relative(ROOT, f)).join(', ')}`);
    noErrors(desk.watcher, 'screenshots');
  });

  test('2b. head view on a sentence pair: each pair filter draws the golden number of lines (within the line budget)', { timeout: 120_000 }, async () => {
    const { page } = desk;
    const g = PAIR;
    const n = g.n;
    await openView(desk, 'head');
    await setText(desk, g.meta.text, g.meta.pair, n);
    const L = 0;
    await setLayerHead(desk, L, null);
    let a = await waitAttrs(desk, CANVAS.head, { layer: L, n, heads: [...Array(g.heads).keys()].join(',') });
    assert.deepEqual(labelsOf(a), g.tokens, 'pair tokens');
    const units = optionUnits(g.tokens, { typeIds: g.meta.token_type_ids });
    const seg = units.map((u) => u.segment);
    const ys = a.ys.split(',').map(Number);
    const bStart = seg.indexOf(1);
    assert.ok(ys[bStart] - ys[bStart - 1] > ys[bStart - 1] - ys[bStart - 2] + 1, `sentence B is set apart: ys ${a.ys}`);
    const allow = {
      all: () => true,
      aa: (i, j) => seg[i] === 0 && seg[j] === 0,
      bb: (i, j) => seg[i] === 1 && seg[j] === 1,
      ab: (i, j) => seg[i] === 0 && seg[j] === 1,
      ba: (i, j) => seg[i] === 1 && seg[j] === 0,
    };
    const mats = layerMatrices(g, L);
    const counts = {};
    for (const f of ['aa', 'bb', 'ab', 'ba', 'all']) {
      await page.locator(tid('pair-filter')).selectOption(f);
      a = await waitAttrs(desk, CANVAS.head, { filter: f });
      const got = await checkLines(desk, a, mats, n, { allow: allow[f] }, `pair filter ${f}`);
      counts[f] = `${a.lineCount}/${got.golden} >= ${a.minWeight} (${got.full} >= ${LINE_MIN_WEIGHT})`;
    }
    console.log(`# pair filters (app/golden lines): ${JSON.stringify(counts)}`);

    // Top 2 per row, with the A→B filter: the strongest filter and the pair filter combine.
    await page.locator(tid('pair-filter')).selectOption('ab');
    await page.locator(tid('opt-filter')).selectOption('topk');
    a = await waitAttrs(desk, CANVAS.head, { filter: 'ab' });
    // A range input cannot be typed into: set it as a drag would, with an input event.
    await page.locator(tid('opt-filter-value')).evaluate((el) => {
      el.value = '2';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await waitInPage(page, desk.watcher, ([s, d]) => Number(document.querySelector(s)?.dataset.draws) > d, [CANVAS.head, Number(a.draws)]);
    a = await attrs(page, CANVAS.head);
    const top2 = await checkLines(desk, a, mats, n, { allow: allow.ab, topk: 2 }, 'top-2 and A\u2192B');
    console.log(`# top-2 and A\u2192B: ${a.lineCount} lines >= ${a.minWeight} (golden ${top2.golden})`);
    await page.locator(tid('opt-filter')).selectOption('all');
    await page.locator(tid('pair-filter')).selectOption('all');
    await waitAttrs(desk, CANVAS.head, { filter: 'all' });
    noErrors(desk.watcher, 'pair');
  });

  test('1b. heatmap: merged word pieces (sum of columns, mean of rows)', { timeout: 120_000 }, async () => {
    const { page } = desk;
    const g = UNICODE;
    const n = g.n;
    await openView(desk, 'heatmap');
    await setText(desk, g.meta.text, null, n);
    const [L, H] = [4, 2];
    await setLayerHead(desk, L, H);
    let a = await waitAttrs(desk, CANVAS.heatmap, { layer: L, head: H, n });
    assert.deepEqual(labelsOf(a), g.tokens, 'unicode tokens');
    const m = headMatrix(g, L, H);
    assert.equal(await page.locator(tid('merge-note')).count(), 0);
    for (const [merge, hide] of [[true, false], [true, true]]) {
      await setCheck(desk, 'opt-merge-words', merge);
      await setCheck(desk, 'opt-hide-special', hide);
      const units = optionUnits(g.tokens, { mergeWords: merge, hideSpecial: hide });
      const labels = units.map((u) => u.label);
      const merged = units.filter((u) => u.members.length > 1);
      assert.ok(merged.length >= 2, `the unicode fixture has split words: ${labels}`);
      a = await waitAttrs(desk, CANVAS.heatmap, { n: units.length });
      assert.deepEqual(labelsOf(a), labels, `labels with merge=${merge} hide=${hide}`);
      assert.ok(await page.locator(tid('merge-note')).isVisible(), 'the merge note shows');
      assert.equal(await page.locator(tid('renorm-note')).isVisible().catch(() => false), hide);
      const r = applyUnits(m, n, units);
      const um = units.length;
      const [w1, w2] = merged.map((u) => units.indexOf(u));
      const single = labels.indexOf('tall');
      for (const [i, j] of [[w1, single], [single, w1], [w1, w2], [w2, w2]]) {
        const got = await hoverHeatmapCell(page, i, j, labels);
        assertClose(got.weight, r[i * um + j], WEIGHT_TOL, `merge=${merge} hide=${hide}: ${got.text}`);
      }
    }
    await mouseAway(page, SEL.tooltip);
    await setCheck(desk, 'opt-merge-words', false);
    await setCheck(desk, 'opt-hide-special', false);
    await waitAttrs(desk, CANVAS.heatmap, { n });
    assert.equal(await page.locator(tid('merge-note')).count(), 0, 'the merge note goes with the option');
    noErrors(desk.watcher, 'merge');
  });

  test('7. a ~500-token input works in every view; the head view keeps to its line budget', { timeout: 150_000 }, async () => {
    const { page } = desk;
    const g = LONG;
    // The long fixture alone (232 tokens): tens of thousands of weights >= 0.01 per layer, so
    // the head view draws only the strongest LINE_BUDGET, checked against the fixture.
    await openView(desk, 'head');
    await setText(desk, g.meta.text, null, g.n);
    await setLayerHead(desk, 0, null);
    let a = await waitAttrs(desk, CANVAS.head, { layer: 0, n: g.n, heads: [...Array(g.heads).keys()].join(','), filter: 'all' });
    assert.deepEqual(labelsOf(a), g.tokens, 'long fixture tokens');
    const budget = await checkLines(desk, a, layerMatrices(g, 0), g.n, {}, `long fixture (${g.n} tokens), layer 0`);
    assert.ok(budget.min > LINE_MIN_WEIGHT, `the budget cut lines of the long fixture: data-min-weight ${a.minWeight}`);
    console.log(`# long fixture, layer 0: ${a.lineCount} lines >= ${a.minWeight} (golden ${budget.golden}; ${budget.full} weights >= ${LINE_MIN_WEIGHT})`);

    const content = g.tokens.slice(1, -1);
    const text = [g.meta.text, g.meta.text, g.meta.text].join(' ');
    const max = 512;
    const expected = ['[CLS]', ...[...content, ...content, ...content].slice(0, max - 2), '[SEP]'];
    await openView(desk, 'heatmap');
    const started = Date.now();
    await setText(desk, text, null, max);
    const status = (await page.locator(SEL.status).textContent()).trim();
    assert.match(status, /truncated to 512 tokens/, `the status says the input was truncated: ${status}`);
    console.log(`# long input: ${status} (ran and drew in ${((Date.now() - started) / 1e3).toFixed(1)} s)`);
    a = await waitAttrs(desk, CANVAS.heatmap, { n: max });
    const labels = labelsOf(a);
    assert.equal(labels.length, max);
    assert.deepEqual(labels, expected, 'heatmap labels: the text\'s first 510 pieces between [CLS] and [SEP]');
    for (const [i, j] of [[300, 17], [max - 1, 0], [42, 400]]) {
      const got = await hoverHeatmapCell(page, i, j, labels);
      assert.ok(got.weight >= 0 && got.weight <= 1, got.text);
    }
    await mouseAway(page, SEL.tooltip);

    a = await openView(desk, 'head');
    a = await waitAttrs(desk, CANVAS.head, { n: max });
    assert.ok(Number(a.lineCount) > max, `head view draws lines for 512 tokens: ${a.lineCount}`);
    assert.ok(Number(a.lineCount) <= LINE_BUDGET, `512 tokens: ${a.lineCount} lines drawn, more than the budget of ${LINE_BUDGET}`);
    assert.ok(Number(a.minWeight) > LINE_MIN_WEIGHT, `512 tokens: the budget cut the faintest lines (data-min-weight ${a.minWeight})`);
    await checkBudgetNote(desk, Number(a.minWeight), '512 tokens');
    console.log(`# 512 tokens: ${a.lineCount} lines >= ${a.minWeight}`);
    const ys = a.ys.split(',').map(Number);
    assert.equal(ys.length, max);
    const pt = await canvasPoint(page, CANVAS.head, Number(a.leftX) - 10, ys[100]);
    await page.mouse.move(pt.x, pt.y, { steps: 2 });
    await waitAttrs(desk, CANVAS.head, { focus: 'from:100' });
    await mouseAway(page, null);

    a = await openView(desk, 'model');
    assert.equal(a.layers, '6');
    a = await openView(desk, 'neuron');
    await waitAttrs(desk, CANVAS.neuron, { n: max });
    noErrors(desk.watcher, 'long input');
  });

  test('8. phone (390 × 844, touch): no sideways scrolling, tapping a token focuses it', { timeout: 120_000 }, async () => {
    const phone = await openPage(PHONE, { isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const { page } = phone;
    try {
      const widths = {};
      const fits = {};
      for (const view of ['heatmap', 'head', 'model', 'neuron']) {
        const a = await openView(phone, view);
        if (view === 'head') {
          const ys = a.ys.split(',').map(Number);
          const pt = await canvasPoint(page, CANVAS.head, Number(a.leftX) - 10, ys[5]);
          await page.touchscreen.tap(pt.x, pt.y);
          await waitAttrs(phone, CANVAS.head, { focus: 'from:5' });
          await page.waitForSelector(`.strip-wrap:not(.hidden) ${tid('head-strip')}[data-rows]`, { timeout: 10_000 });
        }
        if (view === 'neuron') await waitAttrs(phone, CANVAS.neuron, { token: 5 });
        const w = await page.evaluate(() => ({
          scroll: document.documentElement.scrollWidth,
          body: document.body.scrollWidth,
          inner: innerWidth,
        }));
        widths[view] = w.scroll;
        assert.ok(w.scroll <= PHONE.width && w.inner === PHONE.width, `${view} view at 390 px scrolls sideways: ${JSON.stringify(w)}`);
        // An 11-token sentence should not need the picture's own sideways scrolling either.
        fits[view] = await page.evaluate(([s, panel]) => {
          const c = document.querySelector(s);
          const wrap = c.closest('.canvas-wrap');
          const r = c.getBoundingClientRect();
          const p = document.querySelector(panel).getBoundingClientRect();
          return { canvas: r.width, wrap: wrap.clientWidth, left: r.left, right: r.right, panelLeft: p.left, panelRight: p.right };
        }, [CANVAS[view], SEL.panel]);
        await screenshot(page, `${view}-phone`);
      }
      // The dark theme at phone width too (the README shows both themes at both widths).
      await page.locator('[data-testid="theme-toggle"]').tap();
      await page.waitForSelector('html[data-theme="dark"]', { state: 'attached', timeout: 10_000 });
      for (const view of ['heatmap', 'head', 'model', 'neuron']) {
        await openView(phone, view);
        const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        const [r, g, b] = bg.match(/\d+/g).map(Number);
        assert.ok(r + g + b < 150, `${view} at 390 px in the dark theme has a light page: ${bg}`);
        await screenshot(page, `${view}-phone-dark`);
      }
      console.log(`# phone scrollWidth per view: ${JSON.stringify(widths)}; picture/wrapper widths: ${JSON.stringify(fits)}`);
      const clipped = Object.entries(fits).filter(([, f]) => f.canvas > f.wrap + 0.5);
      assert.deepEqual(clipped, [], 'at 390 px these pictures are wider than their wrapper (cut off, scroll inside the panel)');
      // Every picture, the neuron view included, lies within its panel.
      const outside = Object.entries(fits).filter(([, f]) => f.left < f.panelLeft - 0.5 || f.right > f.panelRight + 0.5);
      assert.deepEqual(outside, [], 'at 390 px these pictures stick out of the view panel');
      noErrors(phone.watcher, 'phone');
    } finally {
      await phone.context.close();
    }
  });
});
