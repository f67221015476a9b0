// End-to-end tests of the encoder families (BERT, DistilBERT, RoBERTa, ALBERT, ALBERT with
// weight groups) and of the first visit with the default model already stored. dist/ (from
// `trunk build --release`) in headless Chromium through playwright-core:
//
//   node --test tests/e2e/families.test.mjs
//
// The small checkpoints of tests/golden/models/<family>/ are served in Hub layout from a temp
// dir of symlinks mounted at /fam (`/fam/golden/<family>/resolve/main/<file>`, and the bert one
// once more as `/fam/google-bert/bert-base-uncased/...`, the page's default model).
//  1. One page, opened on golden/bert; then family after family through the repo input (no
//     reload). For each family and each of its single-sentence fixtures
//     (tests/golden/fixtures/<family>/): status ready, the model info names the family, the
//     heatmap has the fixture's token count, its labels read as typed (no byte-level BPE
//     mojibake, no SentencePiece "▁"), and hovered cells' tooltips match PyTorch (2e-5) at two
//     layer/head choices; ALBERT says its layers share weights, and which ("Layer l (weights g)").
//  2. A first visit (no `model=`) loads at once when the default model is complete in Cache
//     Storage (no request for its files), and shows the start card (requesting nothing) when the
//     cache is empty or holds only another model.
//  3. No console errors or page errors besides network noise.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  DIST,
  ROOT,
  SEL,
  checkPrerequisites,
  dataAttrs,
  heatmapGeometry,
  hoverCellNamed,
  isNetworkNoise,
  launchBrowser,
  newPage,
  noIsolationReload,
  orFail,
  readTimeline,
  readTrace,
  recordAttributes,
  traceWorkerProtocol,
  waitInPage,
  waitReady,
  watchErrors,
} from './browser.mjs';
import { FIXTURES_DIR, loadGolden } from './golden.mjs';
import { startServer } from './static-server.mjs';

const STEP_TIMEOUT = 30_000;
const WEIGHT_TOL = 2e-5;
const MODEL_CACHE = 'attention-viz-models-v1'; // src/net/cache.rs
const MODEL_FILES = ['config.json', 'tokenizer.json', 'model.safetensors'];
const GOLDEN_MODELS = path.join(ROOT, 'tests', 'golden', 'models');
const MOUNT = '/fam';
/** The page's default model (src/catalog.rs DEFAULT_REPO), which a visit without `model=` names. */
const DEFAULT_REPO = 'google-bert/bert-base-uncased';
const SHARED_NOTE = '[data-testid="shared-layers-note"]';

/** family dir → what `[data-testid="model-info"]` must call it, and its tokenizer kind. */
const FAMILIES = [
  { dir: 'bert', name: 'BERT', kind: 'wordpiece' },
  { dir: 'distilbert', name: 'DistilBERT', kind: 'wordpiece' },
  { dir: 'roberta', name: 'RoBERTa', kind: 'bytelevel' },
  { dir: 'albert', name: 'ALBERT', kind: 'sentencepiece' },
  { dir: 'albert_groups', name: 'ALBERT', kind: 'sentencepiece' },
];
/** Special tokens as the fixtures spell them (labelled as they are). */
const SPECIAL = new Set(['[CLS]', '[SEP]', '[PAD]', '[MASK]', '<s>', '</s>', '<pad>', '<mask>']);
/** Words of the "unicode" sentence that a byte-level BPE label must show as typed. */
const TYPED = ['é', 'ré', 'sumé', 'Straße', '—', '🎉', '😀'];

/** Every single-sentence fixture of a family, "bank" first (the page opens on it). */
function singleSentenceCases(dir) {
  const names = fs
    .readdirSync(path.join(FIXTURES_DIR, dir))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .filter((name) => JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, dir, `${name}.json`), 'utf8')).pair == null)
    .sort((a, b) => (a === 'bank' ? -1 : b === 'bank' ? 1 : a.localeCompare(b)));
  return names.map((name) => ({ name, golden: loadGolden(name, path.join(FIXTURES_DIR, dir)) }));
}

/**
 * ALBERT's layer schedule as `transformers`' AlbertTransformer runs it: step i of
 * num_hidden_layers runs group int(i / (num_hidden_layers / num_hidden_groups)), and each group
 * its inner_group_num layers in turn; weight set = group * inner_group_num + inner layer.
 */
function albertSchedule(config) {
  const layers = config.num_hidden_layers;
  const groups = config.num_hidden_groups ?? 1;
  const inner = config.inner_group_num ?? 1;
  const out = [];
  for (let i = 0; i < layers; i++) {
    const g = Math.trunc(i / (layers / groups));
    for (let j = 0; j < inner; j++) out.push(g * inner + j);
  }
  return out;
}

/**
 * What each token's label should read, derived from the fixture alone: specials as they are;
 * WordPiece pieces as spelled (`##` says "continues the word"); byte-level BPE pieces as the text
 * they cover (their offsets in the typed sentence); SentencePiece pieces without `▁`. A piece
 * that is only a word marker (a lone `Ġ` covering nothing, a lone `▁`) has no such reading:
 * `want` is null and `markerOnly` says so.
 */
function expectedLabels(kind, golden) {
  const chars = Array.from(golden.meta.text);
  return golden.tokens.map((t, i) => {
    if (SPECIAL.has(t)) return { token: t, want: t, special: true };
    if (kind === 'bytelevel') {
      const [s, e] = golden.meta.offsets[i];
      const covered = chars.slice(s, e).join('');
      return covered.trim() ? { token: t, want: covered } : { token: t, want: null, markerOnly: true };
    }
    if (kind === 'sentencepiece') {
      const bare = t.replace(/^\u2581+/, '');
      return bare ? { token: t, want: bare } : { token: t, want: null, markerOnly: true };
    }
    return { token: t, want: t };
  });
}

/** A label as drawn (`data-labels`): the label itself, or its start cut with "…" to fit. */
const fits = (shown, want) => shown === want || (shown.endsWith('\u2026') && want.startsWith(shown.slice(0, -1)));

let server;
let browser;
let tmp;
/** The page of part 1: { context, page, watcher }. */
let one;
const t0 = Date.now();

before(async () => {
  checkPrerequisites();
  for (const f of FAMILIES) {
    for (const file of MODEL_FILES) {
      assert.ok(fs.existsSync(path.join(GOLDEN_MODELS, f.dir, file)), `tests/golden/models/${f.dir}/${file} is missing: run tests/golden/make_families.py`);
    }
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attention-viz-families-'));
  const link = (repo, dir) => {
    const at = path.join(tmp, repo, 'resolve', 'main');
    fs.mkdirSync(at, { recursive: true });
    for (const file of MODEL_FILES) fs.symlinkSync(path.join(GOLDEN_MODELS, dir, file), path.join(at, file));
  };
  for (const f of FAMILIES) link(`golden/${f.dir}`, f.dir);
  link(DEFAULT_REPO, 'bert');
  server = await startServer({ root: DIST, port: 0, mounts: { [MOUNT]: tmp } });
  browser = await launchBrowser();
});

after(async () => {
  await one?.context.close();
  await browser?.close();
  await server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`# families.test.mjs took ${((Date.now() - t0) / 1e3).toFixed(1)} s`);
});

// ---------------------------------------------------------------------------------------------
// Helpers

const hubUrl = () => `${server.url}${MOUNT}`;
const pageUrl = (params) => `${server.url}/?${new URLSearchParams({ hub: hubUrl(), ...params })}`;
const lastLogId = () => server.requests.at(-1)?.id ?? 0;
const famRequests = (since) => server.requests.filter((e) => e.id > since && e.mount === MOUNT);
const describeRequests = (list) => list.map((e) => `${e.method} ${e.path} ${e.status}`).join('; ') || 'none';

async function text(page, selector) {
  return page.evaluate((sel) => document.querySelector(sel)?.textContent?.trim() ?? null, selector);
}

function checkNoErrors(watcher, where) {
  const noise = watcher.consoleErrors.filter(isNetworkNoise);
  if (noise.length) console.log(`# ${where}: network noise in the console: ${noise.length} message(s), e.g. ${noise[0]}`);
  assert.deepEqual(watcher.pageErrors, [], `${where}: uncaught page errors`);
  assert.deepEqual(watcher.fatalConsoleErrors(), [], `${where}: console errors other than network failures`);
}

/** Waits until the page shows `repo` loaded and its run drawn (of `golden`'s sentence, unless null). */
async function waitModel({ page, watcher }, repo, golden, timeout = STEP_TIMEOUT) {
  await waitReady(page, watcher, timeout);
  await waitInPage(
    page,
    watcher,
    ([info, status, heat, repo, n]) =>
      (document.querySelector(info)?.textContent ?? '').trim().startsWith(`${repo} \u00b7`) &&
      document.querySelector(status)?.dataset.state === 'ready' &&
      (n == null || document.querySelector(heat)?.dataset.n === String(n)),
    [SEL.modelInfo, SEL.status, SEL.heatmap, repo, golden?.n ?? null],
    timeout,
  );
}

/** Types `golden`'s sentence and waits for its run to be drawn. */
async function runText({ page, watcher }, golden) {
  const before = (await dataAttrs(page, SEL.panel))?.runId ?? '';
  await page.locator(SEL.text).fill(golden.meta.text);
  await waitInPage(
    page,
    watcher,
    ([panel, status, heat, before, n]) =>
      (document.querySelector(panel)?.dataset.runId ?? '') !== before &&
      document.querySelector(status)?.dataset.state === 'ready' &&
      document.querySelector(heat)?.dataset.n === String(n),
    [SEL.panel, SEL.status, SEL.heatmap, before, golden.n],
    STEP_TIMEOUT,
  );
}

/** Selects layer `l`, head `h` and waits for the heatmap to show them. */
async function showHead({ page, watcher }, l, h) {
  await page.locator(SEL.layer).selectOption(String(l));
  await page.locator(SEL.head).selectOption(String(h));
  await waitInPage(
    page,
    watcher,
    ([heat, status, l, h]) => {
      const el = document.querySelector(heat);
      return el?.dataset.layer === String(l) && el.dataset.head === String(h) && document.querySelector(status)?.dataset.state === 'ready';
    },
    [SEL.heatmap, SEL.status, l, h],
    STEP_TIMEOUT,
  );
}

/** The heatmap's geometry with cell (i, j) scrolled into the viewport. */
async function geometryFor(page, i, j) {
  let geo = await heatmapGeometry(page);
  const viewport = page.viewportSize();
  const x = geo.box.x + geo.originX + (j + 0.5) * geo.cell;
  const y = geo.box.y + geo.originY + (i + 0.5) * geo.cell;
  if (y < 40 || y > viewport.height - 40 || x < 40 || x > viewport.width - 40) {
    await page.evaluate(([dx, dy]) => window.scrollBy(dx, dy), [x - viewport.width / 2, y - viewport.height / 2]);
    const box = await page.locator(SEL.heatmap).boundingBox();
    geo = { ...geo, box };
  }
  return geo;
}

/**
 * Hovers cell (i, j) at layer `l` head `h` and compares the tooltip with PyTorch's weight;
 * returns the tooltip text.
 */
async function checkCell(ctx, golden, labels, l, h, i, j, what) {
  const { page } = ctx;
  await showHead(ctx, l, h);
  const geo = await geometryFor(page, i, j);
  assert.equal(geo.n, golden.n, `${what}: heatmap data-n`);
  const tip = await hoverCellNamed(page, geo, i, j, [labels[i].want, labels[j].want]);
  const want = golden.at(l, h, i, j);
  assert.ok(
    Math.abs(tip.weight - want) <= WEIGHT_TOL,
    `${what}: layer ${l} head ${h} cell (${i}, ${j}) "${tip.text}" vs PyTorch ${want.toFixed(8)} (off by ${Math.abs(tip.weight - want).toExponential(2)})`,
  );
  await page.mouse.move(2, 2);
  return tip.text;
}

/**
 * The label problems of one run (empty when the labels read right): the count, each label
 * against what the fixture says it should read, and the family's readability rules.
 */
function labelProblems(kind, golden, shown) {
  const problems = [];
  const plan = expectedLabels(kind, golden);
  if (shown.length !== golden.n) return [`data-labels has ${shown.length} labels for ${golden.n} tokens`];
  const typed = golden.meta.text;
  plan.forEach((p, i) => {
    const s = shown[i];
    // A token that stands for a space alone (a lone Ġ or ▁) is shown as a visible space.
    if (p.markerOnly && s !== '\u2423') {
      problems.push(`token ${i} ${JSON.stringify(p.token)} covers only a space and is labelled ${JSON.stringify(s)}, want "\u2423"`);
      return;
    }
    if (p.markerOnly) return;
    if (p.want != null && !fits(s, p.want)) problems.push(`token ${i} ${JSON.stringify(p.token)} is labelled ${JSON.stringify(s)}, want ${JSON.stringify(p.want)}`);
    if (kind === 'bytelevel') {
      if (s.includes('\u0120')) problems.push(`token ${i} ${JSON.stringify(p.token)} is labelled ${JSON.stringify(s)}: byte-level "Ġ" shown${p.markerOnly ? ' (a space-only token, covering nothing)' : ''}`);
      else if (!p.special && !typed.includes(s.replace(/\u2026$/, ''))) problems.push(`token ${i} ${JSON.stringify(p.token)} is labelled ${JSON.stringify(s)}, which is not in the typed text`);
    }
    if (kind === 'sentencepiece' && s.includes('\u2581')) problems.push(`token ${i} ${JSON.stringify(p.token)} is labelled ${JSON.stringify(s)}: SentencePiece "▁" shown${p.markerOnly ? ' (a lone word marker)' : ''}`);
  });
  if (kind === 'bytelevel' && golden.meta.name === 'unicode') {
    for (const w of TYPED) if (!shown.includes(w)) problems.push(`no label reads ${JSON.stringify(w)} as typed`);
  }
  return problems;
}

/**
 * Two layer/head choices, each with a cell whose labels are both readings of the fixture (never
 * a lone word marker): a content token's row (a third, then two thirds into the sentence) and
 * the column it attends to most, so that the weight compared is a large one.
 */
function pickCells(golden, labels) {
  const [L, H] = golden.shape;
  const labelled = labels.map((p, i) => (p.want != null ? i : -1)).filter((i) => i >= 0);
  const content = labelled.filter((i) => !labels[i].special);
  const row = (f) => content[Math.min(content.length - 1, Math.floor(f * content.length))];
  const strongest = (l, h, i) => labelled.reduce((best, j) => (golden.at(l, h, i, j) > golden.at(l, h, i, best) ? j : best), labelled[0]);
  return [
    [Math.floor((L - 1) / 2), H - 1, 1 / 3],
    [L - 1, 0, 2 / 3],
  ].map(([l, h, f]) => {
    const i = row(f);
    return [l, h, i, strongest(l, h, i)];
  });
}

/** The layer select's options and whether the shared-layers note shows. */
async function layerUi(page) {
  const options = await page.locator(`${SEL.layer} option`).evaluateAll((els) => els.map((o) => o.textContent.trim()));
  const heads = await page.locator(`${SEL.head} option`).count();
  const note = (await page.locator(SHARED_NOTE).count()) ? await text(page, SHARED_NOTE) : null;
  return { options, heads, note };
}

// ---------------------------------------------------------------------------------------------

describe('encoder families on one page (dist/ in headless Chromium)', () => {
  FAMILIES.forEach((family, index) => {
    test(`${family.dir}: ${family.name} runs like PyTorch, with readable labels`, { timeout: 60_000 }, async (t) => {
      const repo = `golden/${family.dir}`;
      const cases = singleSentenceCases(family.dir);
      assert.ok(cases.length >= 2, `${family.dir}: single-sentence fixtures: ${cases.map((c) => c.name)}`);
      const config = JSON.parse(fs.readFileSync(path.join(GOLDEN_MODELS, family.dir, 'config.json'), 'utf8'));
      const started = Date.now();
      const since = lastLogId();

      if (index === 0) {
        const { context, page } = await newPage(browser);
        const watcher = watchErrors(page, (m) => !isNetworkNoise(m));
        one = { context, page, watcher };
        await page.goto(pageUrl({ model: repo, text: cases[0].golden.meta.text }), { waitUntil: 'load' });
      } else {
        if (!one) return t.skip('the page of the first family did not open');
        await one.page.locator(SEL.repo).fill(repo);
        await one.page.locator(SEL.repo).press('Enter');
      }
      const { page, watcher } = one;
      // The text is the URL's or the previous family's last: check that case first, if it is one.
      const current = await page.locator(SEL.text).inputValue();
      const order = [...cases].sort((a, b) => (b.golden.meta.text === current) - (a.golden.meta.text === current));
      const typed = order[0].golden.meta.text === current;
      await waitModel(one, repo, typed ? order[0].golden : null);
      const loadedIn = Date.now() - started;

      // What the page says about the model.
      const info = await text(page, SEL.modelInfo);
      const [L, H] = order[0].golden.shape;
      const m = /^(\S+) \u00b7 (\S+) \u00b7 (\d+) layers \u00d7 (\d+) heads \u00b7/.exec(info ?? '');
      assert.ok(m, `model info "${info}" does not read "<repo> · <family> · L layers × H heads · …"`);
      assert.deepEqual([m[1], m[2], Number(m[3]), Number(m[4])], [repo, family.name, L, H], `model info "${info}"`);
      const gets = famRequests(since).filter((e) => e.method === 'GET');
      assert.deepEqual(
        gets.map((e) => `${e.path} ${e.status}`).sort(),
        MODEL_FILES.map((f) => `${MOUNT}/${repo}/resolve/main/${f} 200`).sort(),
        `the three files of ${repo} come from the hub: ${describeRequests(famRequests(since))}`,
      );

      // Layers: ALBERT names each layer's weights and says they are shared; others do not.
      const ui = await layerUi(page);
      assert.equal(ui.heads, H, 'head options');
      if (family.kind === 'sentencepiece') {
        const schedule = albertSchedule(config);
        assert.equal(schedule.length, L, `the fixture has ${L} layers, the ALBERT schedule ${schedule.length}`);
        assert.deepEqual(ui.options, schedule.map((g, l) => `Layer ${l} (weights ${g})`), 'layer options name the weights each layer runs');
        assert.ok(ui.note, `${family.dir}: no [data-testid="shared-layers-note"]`);
        const sets = new Set(schedule).size;
        assert.match(ui.note, new RegExp(`\\(${sets} set\\(s\\) of weights`), `the note gives ${sets} weight set(s): ${ui.note}`);
        assert.match(ui.note, /share weights/, ui.note);
      } else {
        assert.deepEqual(ui.options, Array.from({ length: L }, (_, l) => `Layer ${l}`), 'layer options');
        assert.equal(ui.note, null, `${family.dir}: the shared-layers note shows: ${ui.note}`);
      }

      // Each sentence: token count, labels, and two tooltips against PyTorch.
      const problems = [];
      const tips = [];
      for (const [k, { name, golden }] of order.entries()) {
        if (k > 0 || !typed) await runText(one, golden);
        assert.deepEqual(golden.shape.slice(0, 2), [L, H], `${name}: fixture shape`);
        const heat = await dataAttrs(page, SEL.heatmap);
        assert.equal(Number(heat.n), golden.n, `${family.dir}/${name}: heatmap data-n`);
        const shown = (heat.labels ?? '').split('\u001f');
        problems.push(...labelProblems(family.kind, golden, shown).map((p) => `${name}: ${p}`));
        const labels = expectedLabels(family.kind, golden);
        for (const [l, h, i, j] of pickCells(golden, labels)) {
          tips.push(`${name} L${l}H${h} ${await checkCell(one, golden, labels, l, h, i, j, `${family.dir}/${name}`)}`);
        }
        // The labels do not depend on the layer shown.
        const after = (await dataAttrs(page, SEL.heatmap)).labels;
        assert.equal(after, heat.labels, `${name}: labels changed with the layer/head`);
      }
      // The note and the layer names stay after the runs.
      assert.deepEqual((await layerUi(page)).options, ui.options);
      console.log(`# ${family.dir}: "${info}" (ready ${loadedIn} ms after the ${index === 0 ? 'page load' : 'submit'}); cases ${order.map((c) => `${c.name} (${c.golden.n})`).join(', ')}`);
      console.log(`#   ${tips.join(' | ')}`);
      if (ui.note) console.log(`#   note: ${ui.note}`);
      checkNoErrors(watcher, family.dir);
      assert.deepEqual(problems, [], `${family.dir}: heatmap labels that do not read as typed`);
    });
  });
});

describe('a first visit loads the default model at once only when it is stored', () => {
  const BANK = loadGolden('bank', path.join(FIXTURES_DIR, 'bert'));

  /** Waits until the worker answered the page's first storage listing; returns its models. */
  async function firstStorageAnswer(page, watcher) {
    const handle = await waitInPage(
      page,
      watcher,
      () => (window.__e2eTrace ?? []).find((m) => m.dir === 'recv' && m.type === 'Storage') ?? null,
      null,
      STEP_TIMEOUT,
    );
    return (await handle.jsonValue()).models ?? [];
  }

  /** The page stays on the start card: idle, nothing loaded, no model file requested. */
  async function checkStartCard(page, watcher, since, what) {
    await orFail(watcher, page.locator(SEL.startCard).waitFor({ state: 'visible', timeout: STEP_TIMEOUT }));
    const models = await firstStorageAnswer(page, watcher);
    await page.waitForTimeout(700); // time enough to start a load, if it were going to
    assert.equal((await dataAttrs(page, SEL.status))?.state, 'idle', `${what}: status`);
    assert.ok(await page.locator(SEL.startCard).isVisible(), `${what}: the start card shows`);
    assert.equal(await text(page, SEL.modelInfo), '', `${what}: no model info`);
    const loads = (await readTrace(page)).filter((m) => m.dir === 'send' && (m.type === 'Load' || m.type === 'LoadLocal'));
    assert.deepEqual(loads, [], `${what}: a load was sent to the worker`);
    assert.deepEqual(famRequests(since).map((e) => `${e.method} ${e.path}`), [], `${what}: model files requested`);
    return models;
  }

  test('stored default model: a visit without model= loads it from the cache, asking the hub nothing', { timeout: 60_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, deviceScaleFactor: 1 });
    try {
      await noIsolationReload(context);
      await traceWorkerProtocol(context);
      await recordAttributes(context, [['startCard', SEL.startCard, 'data-testid']]);
      const page = await context.newPage();
      const watcher = watchErrors(page, (m) => !isNetworkNoise(m));
      const ctx = { page, watcher };

      // Another model stored (golden/distilbert): the first visit still waits for a click.
      await page.goto(pageUrl({ model: 'golden/distilbert', text: BANK.meta.text }), { waitUntil: 'load' });
      await waitModel(ctx, 'golden/distilbert', loadGolden('bank', path.join(FIXTURES_DIR, 'distilbert')));
      let since = lastLogId();
      await page.goto(pageUrl({}), { waitUntil: 'load' });
      const listed = await checkStartCard(page, watcher, since, 'only golden/distilbert stored');
      assert.ok(
        listed.some((m) => m.source?.repo === 'golden/distilbert' && m.source?.hub === hubUrl()),
        `the storage listing has golden/distilbert: ${JSON.stringify(listed.map((m) => m.source))}`,
      );
      assert.match(await text(page, SEL.startDefault), /bert-base-uncased/);

      // Store the default model: one visit naming it.
      since = lastLogId();
      await page.goto(pageUrl({ model: DEFAULT_REPO }), { waitUntil: 'load' });
      await waitModel(ctx, DEFAULT_REPO, BANK);
      assert.deepEqual(
        famRequests(since).filter((e) => e.method === 'GET').map((e) => `${e.path} ${e.status}`).sort(),
        MODEL_FILES.map((f) => `${MOUNT}/${DEFAULT_REPO}/resolve/main/${f} 200`).sort(),
        'the default model is downloaded once',
      );
      const urls = MODEL_FILES.map((f) => `${hubUrl()}/${DEFAULT_REPO}/resolve/main/${f}`);
      const cached = () =>
        page.evaluate(async ([name, urls]) => {
          const cache = await caches.open(name);
          const found = [];
          for (const u of urls) if (await cache.match(u)) found.push(u);
          return found;
        }, [MODEL_CACHE, urls]);
      const deadline = Date.now() + STEP_TIMEOUT;
      let stored = await cached();
      while (stored.length < urls.length && Date.now() < deadline) {
        await page.waitForTimeout(100);
        stored = await cached();
      }
      assert.deepEqual(stored, urls, `the default model's files are in Cache Storage under their URLs`);

      // The first visit: no model=, the default is stored → it loads at once, from the cache.
      since = lastLogId();
      const visitAt = Date.now();
      await page.goto(pageUrl({}), { waitUntil: 'load' });
      await waitModel(ctx, DEFAULT_REPO, BANK);
      const readyMs = Date.now() - visitAt;
      assert.equal(await page.locator(SEL.startCard).count(), 0, 'no start card once loaded');
      assert.equal(await page.locator(SEL.text).inputValue(), BANK.meta.text, 'the default text');
      const info = await text(page, SEL.modelInfo);
      assert.match(info, new RegExp(`^${DEFAULT_REPO} \u00b7 BERT \u00b7 2 layers \u00d7 4 heads \u00b7`), info);
      assert.deepEqual(famRequests(since).map((e) => `${e.method} ${e.path} ${e.status}`), [], 'requests to the hub (the files must come from the cache)');
      const trace = await readTrace(page);
      const storageAt = trace.findIndex((m) => m.dir === 'recv' && m.type === 'Storage');
      const loads = trace.filter((m) => m.dir === 'send' && m.type === 'Load');
      assert.equal(loads.length, 1, `one load: ${JSON.stringify(loads)}`);
      assert.deepEqual(loads[0].source, { hub: hubUrl(), repo: DEFAULT_REPO, revision: 'main' }, 'the load names the default source');
      assert.ok(storageAt >= 0 && trace.indexOf(loads[0]) > storageAt, 'the load follows the storage listing');
      const progress = trace.filter((m) => m.dir === 'recv' && m.type === 'Progress');
      assert.ok(progress.length > 0 && progress.every((m) => m.origin === 'Cache'), `every file read from the cache: ${JSON.stringify(progress.map((m) => [m.file, m.origin]))}`);
      // The tooltip still has PyTorch's weight (layer 1, head 2: bank → deposit).
      const labels = expectedLabels('wordpiece', BANK);
      const tip = await checkCell(ctx, BANK, labels, 1, 2, 5, 7, 'default model from the cache');
      // How long the start card was up before the stored model took over (it shows while the
      // worker starts and lists the cache).
      const timeline = await readTimeline(page, 'startCard');
      const shown = timeline.find((e) => e.v === 'start-card');
      const gone = shown && timeline.find((e) => e.t > shown.t && e.v !== 'start-card');
      const flash = shown ? `the start card showed for ${((gone?.t ?? shown.t) - shown.t).toFixed(0)} ms first` : 'the start card never showed';
      console.log(`# stored default: ready ${readyMs} ms after the visit, no hub request; ${flash}; ${tip}`);
      checkNoErrors(watcher, 'stored default model');
    } finally {
      await context.close();
    }
  });

  test('empty cache: a visit without model= shows the start card and requests no model file', { timeout: 60_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, deviceScaleFactor: 1 });
    try {
      await noIsolationReload(context);
      await traceWorkerProtocol(context);
      const page = await context.newPage();
      const watcher = watchErrors(page, (m) => !isNetworkNoise(m));
      const since = lastLogId();
      await page.goto(pageUrl({}), { waitUntil: 'load' });
      const listed = await checkStartCard(page, watcher, since, 'empty cache');
      assert.deepEqual(listed, [], 'a fresh context stores no model');
      console.log(`# empty cache: "${await text(page, SEL.status)}"; "${await text(page, SEL.startDefault)}"`);
      checkNoErrors(watcher, 'empty cache');
    } finally {
      await context.close();
    }
  });
});
