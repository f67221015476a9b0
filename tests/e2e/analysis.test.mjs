// End-to-end tests of the analysis views (issue 7) of the built app (dist/, from `trunk build
// --release`) in headless Chromium through playwright-core: token focus, aggregates (head
// fusion, rollout, flow and its limit), head statistics and roles, and compare (two models, two
// texts).
//
//   node --test tests/e2e/analysis.test.mjs
//
// One browser, one desktop page (1280 px): the model loads once; the compare view loads the
// fine-tuned model B from the site's bundled models. Every number is checked against fixtures
// computed outside the app: the PyTorch attention fixtures (tests/golden/fixtures/, golden.mjs),
// NumPy's analysis fixtures (`<case>.analysis.json` + `.analysis.gz`, make_analysis.py) and the
// compare fixtures (tests/golden/fixtures/compare/, make_finetuned.py).
//
// It also writes docs/screenshots/analysis-{focus,rollout,heads,compare}.png (1280 px, light).
//
// Environment: CHROMIUM (default /usr/bin/chromium), E2E_READY_TIMEOUT_MS (default 180000).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';

import { DIST, MODEL, MODELS, ROOT, SEL, TOOLTIP_RE, checkPrerequisites, launchBrowser, waitInPage, waitReady, watchErrors } from './browser.mjs';
import { FIXTURES_DIR, applyUnits, decodePlanes, headMatrix, loadGolden, optionUnits } from './golden.mjs';
import { startServer } from './static-server.mjs';

const SHOTS = path.join(ROOT, 'docs', 'screenshots');
const VIEWPORT = { width: 1280, height: 900 };
const PHONE_WIDTH = 390;
/** Tooltips print 6 decimals; candle vs PyTorch differ by ~1e-6. */
const TIP_TOL = 2e-5;
/** `data-values` carry the f32 itself. */
const VALUE_TOL = 1e-5;
/** Attention flow, and the compare metrics (the issue's tolerances). */
const FLOW_TOL = 1e-4;
const METRIC_TOL = 1e-4;
/** The table prints statistics with 3 decimals. */
const TABLE_TOL = 6e-4;
const STEP = 30_000;
/** all-MiniLM-L6-v2 has 6 layers: flow through all of them fits up to 39 tokens (FLOW_COST_LIMIT). */
const FLOW_MAX_6_LAYERS = 39;
const FINETUNED = 'attention-viz/minilm-bank-finetuned';

const tid = (id) => `[data-testid="${id}"]`;

const BANK = loadGolden('bank');
const COMPARE_DIR = path.join(FIXTURES_DIR, 'compare');
const MONEY_BASE = loadGolden('money.base', COMPARE_DIR);
const MONEY_TUNED = loadGolden('money.finetuned', COMPARE_DIR);
const RIVER_BASE = loadGolden('river.base', COMPARE_DIR);
const MONEY_METRICS = JSON.parse(fs.readFileSync(path.join(COMPARE_DIR, 'money.metrics.json'), 'utf8'));

/** `<case>.analysis.json` and its arrays (make_analysis.py's encoding: 24-bit fixed point planes). */
function loadAnalysis(name) {
  const doc = JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, `${name}.analysis.json`), 'utf8'));
  const total = doc.arrays.reduce((s, a) => s + a.shape.reduce((x, y) => x * y, 1), 0);
  const all = decodePlanes(gunzipSync(fs.readFileSync(path.join(FIXTURES_DIR, doc.values_file))), total);
  const arrays = {};
  for (const a of doc.arrays) arrays[a.name] = all.subarray(a.offset, a.offset + a.shape.reduce((x, y) => x * y, 1));
  return { ...doc, arrays };
}
const ANALYSIS = loadAnalysis('bank');

let server;
let browser;
/** { context, page, watcher } */
let desk;
const t0 = Date.now();

before(async () => {
  checkPrerequisites();
  assert.ok(fs.existsSync(path.join(DIST, 'models', FINETUNED, 'resolve', 'main', 'model.safetensors')), `dist/models/${FINETUNED} is missing: run scripts/make-finetuned.py, then trunk build`);
  server = await startServer({ root: DIST, port: 0, mounts: { '/hub': MODELS } });
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const watcher = watchErrors(page);
  await page.goto(`${server.url}/?hub=${server.url}/hub&model=${MODEL}`, { waitUntil: 'load' });
  await waitReady(page, watcher);
  assert.equal(await page.locator(SEL.text).inputValue(), BANK.meta.text, 'the default text is the golden "bank" sentence');
  desk = { context, page, watcher };
  console.log(`# page ready after ${((Date.now() - t0) / 1e3).toFixed(1)} s`);
});

after(async () => {
  await desk?.context.close();
  await browser?.close();
  await server?.close();
  console.log(`# analysis.test.mjs took ${((Date.now() - t0) / 1e3).toFixed(1)} s`);
});

// ---------------------------------------------------------------------------------------------
// Helpers

function noErrors(where) {
  assert.deepEqual(desk.watcher.pageErrors, [], `${where}: uncaught page errors`);
  assert.deepEqual(desk.watcher.consoleErrors, [], `${where}: console errors (a wasm panic shows as "panicked at")`);
}

function attrs(sel) {
  return desk.page.evaluate((s) => {
    const el = document.querySelector(s);
    return el ? { ...el.dataset } : null;
  }, sel);
}

/** Waits until `fn(element)` (run in the page on the first match of `sel`) is truthy. */
async function waitFor(sel, fn, what, timeout = STEP) {
  try {
    // The predicate is put together here, not in the page: the page's CSP refuses eval
    // (README "Security"), while Playwright compiles what it is given through DevTools.
    const pred = new Function('s', `const el = document.querySelector(s); return !!el && (${fn.toString()})(el);`);
    await waitInPage(desk.page, desk.watcher, pred, sel, timeout);
  } catch (e) {
    const got = await desk.page.evaluate((s) => {
      const el = document.querySelector(s);
      return el ? { data: { ...el.dataset }, text: el.textContent?.trim().slice(0, 300) } : null;
    }, sel);
    throw new Error(`${what}: ${sel} has ${JSON.stringify(got)?.slice(0, 600)} (${e.message.split('\n')[0]})`);
  }
}

/** The numbers in an element's `data-values`. */
const valuesOf = (a) => (a?.values ? a.values.split(',').map(Number) : []);

/** Waits until `sel`'s data-values has `n` numbers and `accept(values)`; returns them. */
async function waitValues(sel, n, what, accept = () => true) {
  let last = [];
  const deadline = Date.now() + STEP;
  for (;;) {
    await waitFor(sel, (el) => (el.dataset.values ?? '').split(',').filter((v) => v !== '').length > 0, what);
    last = valuesOf(await attrs(sel));
    if (last.length === n && accept(last)) return last;
    if (Date.now() > deadline) assert.fail(`${what}: ${sel} has ${last.length} values (want ${n}): ${last.slice(0, 8)}`);
    await desk.page.waitForFunction(([s, v]) => document.querySelector(s)?.dataset.values !== v, [sel, (await attrs(sel)).values], { timeout: STEP, polling: 'raf' }).catch(() => {});
  }
}

function assertClose(got, want, tol, what) {
  assert.ok(Number.isFinite(got) && Math.abs(got - want) <= tol, `${what}: app ${got} vs golden ${Number(want).toFixed(8)} (tolerance ${tol})`);
}

function assertAllClose(got, want, tol, what) {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  got.forEach((g, k) => {
    const d = Math.abs(g - want[k]);
    if (!(d <= worst)) {
      worst = d;
      at = k;
    }
  });
  assert.ok(worst <= tol, `${what}: entry ${at} off by ${worst} (app ${got[at]}, golden ${want[at]}; tolerance ${tol})`);
  return worst;
}

/** Viewport point of CSS point (x, y) of a canvas, scrolled into view. */
function canvasPoint(sel, x, y) {
  return desk.page.evaluate(([s, x, y]) => {
    const el = document.querySelector(s);
    let r = el.getBoundingClientRect();
    if (r.top + y < 60 || r.top + y > innerHeight - 60) {
      window.scrollBy(0, r.top + y - innerHeight / 2);
      r = el.getBoundingClientRect();
    }
    return { x: r.left + x, y: r.top + y };
  }, [sel, x, y]);
}

/** Hovers canvas point (x, y) and returns the tooltip `tip` once `accept(text)`. */
async function hover(sel, x, y, tip, accept, what) {
  await desk.page.mouse.move(2, 2);
  const pt = await canvasPoint(sel, x, y);
  await desk.page.mouse.move(pt.x, pt.y, { steps: 2 });
  try {
    // Put together here, not in the page (its CSP refuses eval).
    const pred = new Function('t', `const text = document.querySelector(t)?.textContent?.trim(); return text && (${accept.toString()})(text) ? text : null;`);
    const h = await desk.page.waitForFunction(pred, tip, { timeout: 10_000, polling: 'raf' });
    return await h.jsonValue();
  } catch {
    const text = await desk.page.evaluate((t) => document.querySelector(t)?.textContent?.trim() ?? null, tip);
    assert.fail(`${what}: tooltip ${tip} reads ${JSON.stringify(text)}`);
  }
}

/** Hovers matrix cell (i, j) of a heatmap-like canvas; checks the labels; returns the value. */
async function hoverMatrixCell(sel, tip, i, j, labels, what) {
  const a = await attrs(sel);
  const x = Number(a.originX) + (j + 0.5) * Number(a.cell);
  const y = Number(a.originY) + (i + 0.5) * Number(a.cell);
  const text = await hover(sel, x, y, tip, `(t) => t.startsWith(${JSON.stringify(`${labels[i]} \u2192 ${labels[j]} : `)})`, what);
  const m = TOOLTIP_RE.exec(text);
  assert.ok(m && m[1] === labels[i] && m[2] === labels[j], `${what}: tooltip ${text}`);
  return Number(m[3]);
}

/** Hovers cell (layer, head) of a layers × heads grid; returns the tooltip. */
async function hoverGridCell(sel, tip, layer, head, what) {
  const a = await attrs(sel);
  const pitch = Number(a.cell) + Number(a.gap);
  const x = Number(a.originX) + head * pitch + Number(a.cell) / 2;
  const y = Number(a.originY) + layer * pitch + Number(a.cell) / 2;
  return hover(sel, x, y, tip, `(t) => t.startsWith(${JSON.stringify(`Layer ${layer} \u00b7 Head ${head} \u00b7`)})`, what);
}

async function openTab(view) {
  await desk.page.locator(tid(`view-tab-${view}`)).click();
  await waitFor(SEL.panel, (el) => el.dataset.view !== undefined, 'panel');
  await waitInPage(desk.page, desk.watcher, ([s, v]) => document.querySelector(s)?.dataset.view === v, [SEL.panel, view]);
}

async function setLayerHead(layer, head) {
  if (layer !== null) await desk.page.locator(SEL.layer).selectOption(String(layer));
  if (head !== null) await desk.page.locator(SEL.head).selectOption(String(head));
  await waitInPage(desk.page, desk.watcher, ([s, l, h]) => {
    const d = document.querySelector(s)?.dataset;
    return d && (l === null || d.layer === String(l)) && (h === null || d.head === String(h));
  }, [SEL.panel, layer, head]);
}

/** Sets the text and waits for its run (of `tokens` tokens, if given) to be drawn; returns its token count. */
async function setText(text, tokens = null) {
  const before = (await attrs(SEL.panel)).runId;
  await desk.page.locator(SEL.text).fill(text);
  await waitInPage(desk.page, desk.watcher, ([s, b]) => (document.querySelector(s)?.dataset.runId ?? b) !== b, [SEL.panel, before], 60_000);
  await waitInPage(desk.page, desk.watcher, ([s, n]) => {
    const el = document.querySelector(s);
    return el?.dataset.state === 'ready' && (n === null ? /^\d+ tokens/ : new RegExp(`^${n} tokens`)).test(el.textContent.trim());
  }, [SEL.status, tokens], 60_000);
  return Number(/^(\d+) tokens/.exec((await desk.page.locator(SEL.status).textContent()).trim())[1]);
}

async function screenshot(name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await desk.page.mouse.move(2, 2);
  await desk.page.evaluate(() => window.scrollTo(0, 0));
  const file = path.join(SHOTS, `analysis-${name}.png`);
  await desk.page.screenshot({ path: file, fullPage: true, scale: 'css' });
  assert.ok(fs.statSync(file).size > 20_000, `${file} looks empty`);
  return file;
}

/** Row `i` and column `j` of an n × n matrix. */
const row = (m, n, i) => Array.from(m.subarray(i * n, (i + 1) * n));
const col = (m, n, j) => Array.from({ length: n }, (_, i) => m[i * n + j]);

/** The longest common subsequence of two token lists, earlier pairs first (align_tokens). */
function align(a, b) {
  const n = a.length;
  const m = b.length;
  const len = Array.from({ length: n + 1 }, () => new Array(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) len[i][j] = a[i] === b[j] ? len[i + 1][j + 1] + 1 : Math.max(len[i + 1][j], len[i][j + 1]);
  const pairs = [];
  for (let i = 0, j = 0; i < n && j < m; ) {
    if (a[i] === b[j]) pairs.push([i++, j++]);
    else if (len[i + 1][j] >= len[i][j + 1]) i++;
    else j++;
  }
  return pairs;
}

// ---------------------------------------------------------------------------------------------

describe('analysis views (dist/ in headless Chromium, checked against the golden fixtures)', () => {
  test('token focus: choosing "bank" updates the bars and the layers × heads grids with golden values', { timeout: 60_000 }, async () => {
    const { page } = desk;
    const g = BANK;
    const n = g.n;
    const [bank, deposit, money] = ['bank', 'deposit', 'money'].map((t) => g.tokens.indexOf(t));
    assert.deepEqual(ANALYSIS.relation.from, [bank]);
    assert.deepEqual(ANALYSIS.relation.to, [deposit, money]);
    await openTab('focus');
    const [L, H] = [2, 4];
    await setLayerHead(L, H);
    // Choose exactly "bank" (the view starts from the first word), target deposit + money.
    for (let i = 0; i < n; i++) {
      const pressed = (await page.locator(tid(`focus-token-${i}`)).getAttribute('aria-pressed')) === 'true';
      if (pressed !== (i === bank)) await page.locator(tid(`focus-token-${i}`)).click();
    }
    for (const t of [deposit, money]) await page.locator(tid(`focus-target-${t}`)).click();
    await waitFor(tid('focus-grid-title'), (el) => el.textContent.startsWith('bank \u2192 deposit + money'), 'grid title');
    const m = headMatrix(g, L, H);
    const to = await waitValues(tid('focus-bars-to'), n, 'bars: where bank attends', (v) => Math.abs(v[0] - m[bank * n]) < 1e-3);
    assertAllClose(to, row(m, n, bank), VALUE_TOL, `bars: bank's row of layer ${L} head ${H}`);
    const by = valuesOf(await attrs(tid('focus-bars-by')));
    assertAllClose(by, col(m, n, bank), VALUE_TOL, `bars: who attends to bank (column ${bank})`);
    const grid = await waitValues(tid('focus-grid'), g.layers * g.heads, 'relation grid');
    const worst = assertAllClose(grid, ANALYSIS.relation.grid, VALUE_TOL, 'relation grid bank \u2192 deposit + money vs NumPy');
    // The reverse grid: deposit + money → bank, per head, from the attention fixture.
    const back = valuesOf(await attrs(tid('focus-grid-back')));
    const want = [];
    for (let l = 0; l < g.layers; l++) for (let h = 0; h < g.heads; h++) want.push(g.at(l, h, deposit, bank) + g.at(l, h, money, bank));
    assertAllClose(back, want, VALUE_TOL, 'reverse grid deposit + money \u2192 bank');
    // Hover: the strongest head of the relation, and bank's bar to "deposit".
    const best = grid.indexOf(Math.max(...grid));
    const tip = await hoverGridCell(tid('focus-grid'), tid('focus-grid-tooltip'), Math.floor(best / g.heads), best % g.heads, 'relation grid');
    assertClose(Number(tip.split(' : ')[1]), ANALYSIS.relation.grid[best], TIP_TOL, tip);
    const b = await attrs(tid('focus-bars-to'));
    const btip = await hover(tid('focus-bars-to'), Number(b.originX) + (deposit + 0.5) * Number(b.col), Number(b.originY) - 2, tid('focus-bars-to-tooltip'), '(t) => t.startsWith("to deposit : ")', 'bar');
    assertClose(Number(btip.split(' : ')[1]), m[bank * n + deposit], TIP_TOL, btip);
    console.log(`# relation grid: worst |app - NumPy| = ${worst.toExponential(2)}; strongest head L${Math.floor(best / g.heads)} H${best % g.heads} (${tip})`);

    // Head mean as the bars' source.
    await page.locator(tid('source-select')).selectOption('mean');
    const fused = ANALYSIS.arrays.fusion_mean.subarray(L * n * n, (L + 1) * n * n);
    const meanTo = await waitValues(tid('focus-bars-to'), n, 'bars from the head mean', (v) => Math.abs(v[0] - fused[bank * n]) < 1e-3);
    assertAllClose(meanTo, row(fused, n, bank), VALUE_TOL, `bars: bank's row of layer ${L}'s head mean vs NumPy`);
    await page.locator(tid('source-select')).selectOption('head');

    // Hidden specials: the axis loses [CLS]/[SEP], rows renormalise, the grids follow.
    await page.locator(tid('opt-hide-special')).setChecked(true);
    const units = optionUnits(g.tokens, { hideSpecial: true });
    const r = applyUnits(m, n, units);
    const ub = units.findIndex((u) => u.label === 'bank');
    const hidden = await waitValues(tid('focus-bars-to'), units.length, 'bars without [CLS]/[SEP]');
    assertAllClose(hidden, row(r, units.length, ub), VALUE_TOL, 'bars with [CLS]/[SEP] hidden (renormalised rows)');
    assert.equal(await page.locator(tid('focus-token-0')).textContent(), 'he', 'the specials cannot be chosen when hidden');
    await page.locator(tid('opt-hide-special')).setChecked(false);
    await waitValues(tid('focus-bars-to'), n, 'bars with every token again');
    // A click on the relation's strongest head opens it: the bars follow.
    const [bl, bh] = [Math.floor(best / g.heads), best % g.heads];
    await hoverGridCell(tid('focus-grid'), tid('focus-grid-tooltip'), bl, bh, 'relation grid');
    await page.mouse.down();
    await page.mouse.up();
    await waitInPage(page, desk.watcher, ([s, l, h]) => document.querySelector(s)?.dataset.layer === String(l) && document.querySelector(s)?.dataset.head === String(h), [SEL.panel, bl, bh]);
    const bm = headMatrix(g, bl, bh);
    const strongest = await waitValues(tid('focus-bars-to'), n, 'bars of the strongest head', (v) => Math.abs(v[deposit] - bm[bank * n + deposit]) < 1e-3);
    assertAllClose(strongest, row(bm, n, bank), VALUE_TOL, `bars: bank's row of layer ${bl} head ${bh}`);
    await screenshot('focus');
    noErrors('token focus');
  });

  test('aggregates: head mean and rollout heatmaps equal NumPy, flow too; flow beyond its limit is refused, naming the limit', { timeout: 60_000 }, async () => {
    const { page } = desk;
    const g = BANK;
    const n = g.n;
    await openTab('heatmap');
    const labels = g.tokens;
    const [bank, deposit, money] = ['bank', 'deposit', 'money'].map((t) => labels.indexOf(t));
    const cell = (arr, l, i, j) => arr[(l * n + i) * n + j];

    await page.locator(tid('source-select')).selectOption('rollout');
    for (const L of [2, 5]) {
      await setLayerHead(L, null);
      await waitFor(tid('heatmap'), (el) => el.dataset.source === 'rollout', 'rollout drawn');
      await waitInPage(page, desk.watcher, ([s, l]) => document.querySelector(s)?.dataset.layer === String(l), [tid('heatmap'), L]);
      assert.ok(await page.locator(tid('source-note')).isVisible(), 'the rollout is explained');
      for (const [i, j] of [[bank, deposit], [bank, 0], [money, bank], [n - 1, n - 1]]) {
        const got = await hoverMatrixCell(tid('heatmap'), SEL.tooltip, i, j, labels, `rollout layer ${L}`);
        assertClose(got, cell(ANALYSIS.arrays.rollout_mean, L, i, j), TIP_TOL, `rollout through layer ${L}: ${labels[i]} \u2192 ${labels[j]}`);
      }
    }
    await screenshot('rollout');
    // Max over heads 0, 2 and 5 would need other chips; the mean over all heads is golden too.
    await page.locator(tid('source-select')).selectOption('max');
    await setLayerHead(3, null);
    await waitFor(tid('heatmap'), (el) => el.dataset.source === 'max' && el.dataset.layer === '3', 'max drawn');
    const mx = await hoverMatrixCell(tid('heatmap'), SEL.tooltip, bank, money, labels, 'max of heads');
    assertClose(mx, cell(ANALYSIS.arrays.fusion_max, 3, bank, money), TIP_TOL, 'max of heads, layer 3, bank \u2192 money');

    // Flow through every layer on the bank sentence (11 tokens fit).
    await page.locator(tid('source-select')).selectOption('flow');
    await setLayerHead(5, null);
    await waitFor(tid('heatmap'), (el) => el.dataset.source === 'flow' && el.dataset.layer === '5', 'flow drawn');
    const limit = await page.locator(tid('flow-limit')).textContent();
    assert.match(limit, new RegExp(`up to ${FLOW_MAX_6_LAYERS} tokens through layers 0\u20135 \\(this input: ${n}\\)`), `the flow limit is shown: ${limit}`);
    const fl = await hoverMatrixCell(tid('heatmap'), SEL.tooltip, bank, deposit, labels, 'flow');
    const flowIdx = bank * n + deposit;
    assertClose(fl, ANALYSIS.arrays.flow_upto5[flowIdx], FLOW_TOL, 'flow through layers 0\u20135, bank \u2192 deposit (networkx)');

    // A longer input: refused at once, with the limit; an earlier layer still fits.
    const long = 'On a grey morning in early spring the old fisherman walked slowly down to the river bank, where he had kept his small wooden boat for more than forty years, and sat there quietly watching the water.';
    const started = Date.now();
    const tokens = await setText(long);
    assert.ok(tokens > FLOW_MAX_6_LAYERS, `the long input has ${tokens} tokens`);
    await waitFor(tid('slice-refused'), (el) => /limit is 39 tokens through 6 layers/.test(el.textContent), 'flow refusal');
    const refusal = await page.locator(tid('slice-refused')).textContent();
    assert.ok(refusal.includes(`Attention flow through layers 0\u20135 on ${tokens} tokens would take too long`), refusal);
    assert.ok(!(await page.locator(tid('heatmap')).isVisible()), 'no stale picture under the refusal');
    assert.ok((await page.locator(tid('flow-limit')).textContent()).includes(`this input has ${tokens}`));
    console.log(`# flow refused for ${tokens} tokens after ${Date.now() - started} ms (with the run): ${refusal.trim()}`);
    await setLayerHead(1, null);
    await waitFor(tid('heatmap'), (el) => el.dataset.source === 'flow' && el.dataset.layer === '1' && el.dataset.n !== '11', 'flow through layers 0\u20131 of the long input');
    assert.equal(await page.locator(tid('slice-refused')).count(), 0, 'no refusal where flow fits');
    // The head view draws an aggregate as one set of lines.
    await page.locator(tid('source-select')).selectOption('rollout');
    await setText(BANK.meta.text, n);
    await openTab('head');
    await waitFor(tid('head-view'), (el) => el.dataset.source === 'rollout' && el.dataset.heads === '0' && Number(el.dataset.lineCount) > 0, 'head view of the rollout');
    await page.locator(tid('source-select')).selectOption('head');
    await waitFor(tid('head-view'), (el) => el.dataset.source === 'head' && el.dataset.heads.split(',').length === 12, 'head view back to its heads');
    await setLayerHead(0, null);
    noErrors('aggregates');
  });

  test('head statistics: golden numbers and roles, the table sorts, role labels carry their rule, corpus averages', { timeout: 60_000 }, async () => {
    const { page } = desk;
    const g = BANK;
    await openTab('heads');
    await waitFor(tid('stats-table'), (el) => el.querySelectorAll('tbody tr').length === 72, 'the table has a row per head');
    const read = () => page.evaluate(() => Array.from(document.querySelectorAll('[data-testid="stats-row"]')).map((tr) => ({
      layer: Number(tr.dataset.layer),
      head: Number(tr.dataset.head),
      role: tr.querySelector('[data-testid="role-label"]').textContent,
      rule: tr.querySelector('[data-testid="role-label"]').getAttribute('title'),
      cells: Object.fromEntries(Array.from(tr.querySelectorAll('td[data-col]')).map((td) => [td.dataset.col, td.textContent])),
    })));
    let rows = await read();
    const keys = ['entropy_bits', 'entropy_norm', 'distance', 'to_cls', 'to_sep', 'to_punct', 'to_self', 'to_prev', 'to_next'];
    let worst = 0;
    for (const r of rows) {
      const k = r.layer * g.heads + r.head;
      assert.equal(r.role, ANALYSIS.roles[k], `L${r.layer} H${r.head}: role`);
      for (const key of keys) {
        const d = Math.abs(Number(r.cells[key]) - ANALYSIS.stats[k][key]);
        worst = Math.max(worst, d);
        assert.ok(d <= TABLE_TOL, `L${r.layer} H${r.head} ${key}: ${r.cells[key]} vs NumPy ${ANALYSIS.stats[k][key]}`);
      }
    }
    // The grid (coloured by the previous-token share) carries the exact values.
    const grid = await waitValues(tid('stats-grid'), 72, 'stats grid');
    assertAllClose(grid, ANALYSIS.stats.map((s) => s.to_prev), VALUE_TOL, 'grid: share to the previous token vs NumPy');
    // Sorting: click "→ previous": largest first, the previous-token head on top; again: ascending.
    const th = page.locator('th[data-col="to_prev"]');
    assert.equal(await th.getAttribute('aria-sort'), 'none');
    await page.locator(tid('sort-to_prev')).click();
    await waitFor('th[data-col="to_prev"]', (el) => el.getAttribute('aria-sort') === 'descending', 'sorted descending');
    rows = await read();
    const prev = rows.map((r) => Number(r.cells.to_prev));
    assert.ok(prev.every((v, k) => k === 0 || v <= prev[k - 1]), `to_prev descending: ${prev.slice(0, 8)}`);
    assert.equal(await page.locator('th[data-col="layer"]').getAttribute('aria-sort'), 'none', 'only one column is sorted');
    const top = rows[0];
    assert.deepEqual([top.layer, top.head, top.role], [0, 2, 'previous-token'], `the previous-token head leads: ${JSON.stringify(top)}`);
    assert.match(top.rule, /^previous-token head: \u2265 50 % of attention on the previous token/, 'the role label explains its rule');
    await page.locator(tid('sort-to_prev')).click();
    await waitFor('th[data-col="to_prev"]', (el) => el.getAttribute('aria-sort') === 'ascending', 'sorted ascending');
    const asc = (await read()).map((r) => Number(r.cells.to_prev));
    assert.ok(asc.every((v, k) => k === 0 || v >= asc[k - 1]), 'to_prev ascending');
    await page.locator(tid('sort-role')).click();
    const roles = (await read()).map((r) => r.role);
    assert.deepEqual(roles, [...roles].sort(), 'sorted by role');
    const sink = (await read()).find((r) => r.role === 'cls-sink');
    assert.match(sink.rule, /^\[CLS\] sink: \u2265 50 % of attention on \[CLS\]/);
    const tip = await hoverGridCell(tid('stats-grid'), tid('stats-grid-tooltip'), 0, 2, 'stats grid');
    assert.match(tip, /previous-token head: \u2265 50 %/, `the grid's tooltip gives the rule: ${tip}`);
    await page.locator(tid('sort-layer')).click();
    await page.locator(`${tid('role-rules')} summary`).click();
    await screenshot('heads');

    // The built-in corpus: the worker runs 42 sentences, with progress, then the means.
    const started = Date.now();
    await page.locator(tid('stats-source')).selectOption('corpus');
    assert.match(await page.locator(tid('corpus-note')).textContent(), /42 varied English sentences .*CC0; assets\/corpus\/sentences\.txt/);
    await waitValues(tid('stats-grid'), 72, 'corpus means', (v) => Math.abs(v[2] - grid[2]) > 1e-4 || Math.abs(v[0] - grid[0]) > 1e-4);
    const corpusRows = await read();
    assert.equal(corpusRows.length, 72);
    assert.equal(corpusRows.find((r) => r.layer === 0 && r.head === 2).role, 'previous-token', 'L0 H2 is a previous-token head over the corpus too');
    console.log(`# corpus statistics in ${Date.now() - started} ms; stats worst |app - NumPy| (3 decimals) ${worst.toExponential(2)}`);
    await page.locator(tid('stats-source')).selectOption('input');
    noErrors('head statistics');
  });

  test('compare two models (base vs fine-tuned): per-head MAD/JS and a difference cell equal the golden fixtures', { timeout: 90_000 }, async () => {
    const { page } = desk;
    const base = MONEY_BASE;
    const tuned = MONEY_TUNED;
    const n = base.n;
    assert.equal(MONEY_METRICS.text, BANK.meta.text, 'the compare fixture uses the page\u2019s sentence');
    assert.deepEqual(base.tokens, BANK.tokens);
    await openTab('compare');
    const started = Date.now();
    await page.locator(tid('compare-mode')).selectOption('models');
    const chosen = await page.locator(tid('compare-model-b')).evaluate((s) => s.selectedOptions[0]?.textContent ?? '');
    assert.match(chosen, /fine-tuned/, `model B defaults to the bundled fine-tuned model: ${chosen}`);
    await waitFor(tid('compare-status'), (el) => el.dataset.state === 'ready', 'model B loads', 60_000);
    await waitFor(tid('compare-panel'), (el) => el.dataset.runB !== '' && el.dataset.busy === 'false', 'run B');
    console.log(`# model B loaded and ran in ${Date.now() - started} ms: ${(await page.locator(tid('compare-status')).textContent()).trim()}`);
    assert.equal(await page.locator(tid('compare-align-note')).count(), 0, 'one tokenizer, one text: everything lines up');
    assert.equal(await page.locator(tid('compare-shape-note')).count(), 0, 'same shapes: layer and head are shared');
    const mad = await waitValues(tid('compare-grid'), 72, 'MAD grid');
    const w1 = assertAllClose(mad, MONEY_METRICS.mean_abs_diff.flat(), METRIC_TOL, 'per-head mean |B - A| vs PyTorch');
    await page.locator(tid('compare-metric')).selectOption('js');
    const js = await waitValues(tid('compare-grid'), 72, 'JS grid', (v) => Math.abs(v[0] - mad[0]) > 1e-9);
    const w2 = assertAllClose(js, MONEY_METRICS.js_bits.flat(), METRIC_TOL, 'per-head Jensen\u2013Shannon (bits) vs PyTorch');
    console.log(`# compare models: worst MAD ${w1.toExponential(2)}, JS ${w2.toExponential(2)}`);
    // The head that changed most; its difference bank → money, hovered.
    await page.locator(tid('compare-metric')).selectOption('mad');
    const k = mad.indexOf(Math.max(...mad));
    const [L, H] = [Math.floor(k / base.heads), k % base.heads];
    await hoverGridCell(tid('compare-grid'), tid('compare-grid-tooltip'), L, H, 'compare grid');
    await page.mouse.down();
    await page.mouse.up();
    await waitInPage(page, desk.watcher, ([s, l, h]) => document.querySelector(s)?.dataset.layer === String(l) && document.querySelector(s)?.dataset.head === String(h), [SEL.panel, L, H]);
    assert.deepEqual([await page.locator(SEL.layer).inputValue(), await page.locator(SEL.head).inputValue()], [String(L), String(H)], 'the layer and head selects follow a click in the grid');
    // The weight of that head that changed most, from the fixtures.
    let [bi, bj] = [0, 0];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const d = Math.abs(tuned.at(L, H, i, j) - base.at(L, H, i, j));
        if (d > Math.abs(tuned.at(L, H, bi, bj) - base.at(L, H, bi, bj))) [bi, bj] = [i, j];
      }
    }
    const want = tuned.at(L, H, bi, bj) - base.at(L, H, bi, bj);
    await waitValues(tid('compare-diff'), n * n, 'difference of the picked head', (v) => Math.abs(v[bi * n + bj] - want) < 1e-3);
    const got = await hoverMatrixCell(tid('compare-diff'), tid('compare-diff-tooltip'), bi, bj, base.tokens, 'difference');
    assertClose(got, want, TIP_TOL, `B \u2212 A at layer ${L} head ${H}, ${base.tokens[bi]} \u2192 ${base.tokens[bj]}`);
    const a = await hoverMatrixCell(tid('compare-a'), tid('compare-a-tooltip'), bi, bj, base.tokens, 'pane A');
    assertClose(a, base.at(L, H, bi, bj), TIP_TOL, 'pane A is the base model');
    const b = await hoverMatrixCell(tid('compare-b'), tid('compare-b-tooltip'), bi, bj, base.tokens, 'pane B');
    assertClose(b, tuned.at(L, H, bi, bj), TIP_TOL, 'pane B is the fine-tuned model');
    console.log(`# layer ${L} head ${H} changed most (MAD ${mad[k].toFixed(4)}); its largest change ${base.tokens[bi]} \u2192 ${base.tokens[bj]}: ${a.toFixed(4)} \u2192 ${b.toFixed(4)}`);
    await screenshot('compare');
    noErrors('compare models');
  });

  test('compare two texts with different tokenisations: the note says so and only aligned tokens are compared', { timeout: 60_000 }, async () => {
    const { page } = desk;
    const a = MONEY_BASE;
    const b = RIVER_BASE;
    await openTab('compare');
    await page.locator(tid('compare-mode')).selectOption('texts');
    assert.equal(await page.locator(tid('compare-text-b')).inputValue(), b.meta.text, 'text B starts as the river sentence');
    await waitFor(tid('compare-align-note'), (el) => /tokenised differently/.test(el.textContent), 'alignment note');
    const note = await page.locator(tid('compare-align-note')).textContent();
    const pairs = align(a.tokens, b.tokens);
    assert.match(note, new RegExp(`\\(${a.n} and ${b.n} tokens\\): only the ${pairs.length} tokens that line up are compared`), note);
    assert.ok(note.includes(pairs.map(([i]) => a.tokens[i]).join(' ')), `the note lists the aligned tokens: ${note}`);
    const k = pairs.length;
    const [L, H] = [1, 3];
    await setLayerHead(L, H);
    const labels = pairs.map(([i]) => a.tokens[i]);
    const ib = labels.indexOf('bank');
    const ith = labels.indexOf('the');
    const want = b.at(L, H, pairs[ib][1], pairs[ith][1]) - a.at(L, H, pairs[ib][0], pairs[ith][0]);
    await waitValues(tid('compare-diff'), k * k, 'aligned difference', (v) => Math.abs(v[ib * k + ith] - want) < 1e-3);
    const got = await hoverMatrixCell(tid('compare-diff'), tid('compare-diff-tooltip'), ib, ith, labels, 'aligned difference');
    assertClose(got, want, TIP_TOL, `river \u2212 money at layer ${L} head ${H}, bank \u2192 the (aligned positions)`);
    // Per-head MAD over the aligned sub-matrices.
    const mad = await waitValues(tid('compare-grid'), a.layers * a.heads, 'aligned MAD grid');
    let sum = 0;
    for (const [ia, ib2] of pairs) for (const [ja, jb] of pairs) sum += Math.abs(b.at(0, 0, ib2, jb) - a.at(0, 0, ia, ja));
    assertClose(mad[0], sum / (k * k), METRIC_TOL, 'layer 0 head 0: mean |B - A| over the aligned tokens');
    noErrors('compare texts');
  });

  test('phone width (390 px): the analysis views do not scroll sideways', { timeout: 60_000 }, async () => {
    const { page } = desk;
    await page.setViewportSize({ width: PHONE_WIDTH, height: 844 });
    const widths = {};
    for (const view of ['focus', 'heads', 'compare']) {
      await openTab(view);
      await waitFor(tid(view === 'focus' ? 'focus-grid' : view === 'heads' ? 'stats-grid' : 'compare-grid'), (el) => el.hasAttribute('data-values'), `${view} drawn`);
      widths[view] = await page.evaluate(() => document.documentElement.scrollWidth);
    }
    console.log(`# scrollWidth at ${PHONE_WIDTH} px: ${JSON.stringify(widths)}`);
    for (const [view, w] of Object.entries(widths)) assert.ok(w <= PHONE_WIDTH, `${view} at ${PHONE_WIDTH} px scrolls sideways: ${w}`);
    await page.setViewportSize(VIEWPORT);
    noErrors('phone width');
  });
});
