// End-to-end tests of the page↔worker protocol (dist/, from `trunk build --release`, in
// headless Chromium through playwright-core): superseded downloads are aborted, runs do not
// queue up behind a slow one, a failed run keeps the previous run's slices, a dead worker is
// detected and restarted, slices are cached and hover only touches the overlay.
//
//   node --test tests/e2e/protocol.test.mjs
//
// One browser, three page loads:
//  1. the model from a throttled "hub" (tests/e2e/static-server.mjs at 2 MB/s), superseded by
//     the bundled one mid-download; then the slice cache and hover; then, in a page of its own
//     on a 24-layer model made of MiniLM's layers (slow runs), runs while typing;
//  2. a copy of the model whose tokenizer.json maps "zzqqzz" to an id past the vocabulary (so
//     any text with it fails to run); then a simulated out-of-memory crash of the worker.
// Besides the page's data-* hooks, the tests record the messages between the page and its
// worker (browser.mjs traceWorkerProtocol): that is how they see which runs were sent when.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  MODEL,
  MODEL_DIR,
  MODELS,
  DIST,
  READY_TIMEOUT,
  RUN_DEBOUNCE_MS,
  SEL,
  checkPrerequisites,
  dataAttrs,
  heatmapGeometry,
  hoverCell,
  isNetworkNoise,
  launchBrowser,
  newPage,
  opaquePixels,
  orFail,
  pageNow,
  readTimeline,
  readTrace,
  recordAttributes,
  traceWorkerProtocol,
  waitInPage,
  waitReady,
  watchErrors,
} from './browser.mjs';
import { startServer } from './static-server.mjs';

const SLOW_BYTES_PER_SECOND = 2_000_000; // model.safetensors (91 MB) would take ~45 s
const BAD_REPO = 'test/minilm-bad-vocab';
// MiniLM with its 6 layers stacked 4 times (24 layers, each a copy of a real one): a real model
// whose runs take about 4× MiniLM's, so that a run outlasts the edits' spacing on any engine the
// page may pick here (the threaded and relaxed-SIMD ones run MiniLM's 467 tokens in 230–370 ms,
// next to 340 ms between edits).
const DEEP_REPO = 'test/minilm-stacked-24';
const DEEP_STACKS = 4;
const BAD_TOKEN = 'zzqqzz';
const STEP_TIMEOUT = 30_000;
const LOAD_TIMEOUT = Math.min(READY_TIMEOUT, 90_000);
/** How long the status must stay ready once the superseding load is done. */
const STABLE_MS = 3_000;

// Every word below is one WordPiece of the model's vocabulary (checked in `before`), so a
// text's token count is its words and full stops, plus [CLS] and [SEP].
const SENTENCE = 'the old man went to the bank to get some money for his family .';
const LONG_TEXT = Array(31).fill(SENTENCE).join(' '); // 31 × 15 + 2 = 467 tokens
const EDITS = [' and a dog ran', ' into the park', ' she said it was late', ' then we walked home'];
const SHORT_TEXT = 'He went to the bank to deposit money.'; // the page's default text

let vocab;
/** Token count of a text made of whole-vocabulary words (lower-cased by the tokenizer). */
function tokenCount(text) {
  const words = text.toLowerCase().match(/[a-z]+|[.,!?]/g) ?? [];
  for (const w of words) assert.ok(vocab.has(w) || w === BAD_TOKEN, `"${w}" is not one token of ${MODEL}`);
  return words.length + 2;
}

let server;
let browser;
let tmp;
const slowPath = `/slowhub/${MODEL}/resolve/main/model.safetensors`;

before(async () => {
  checkPrerequisites();
  assert.ok(fs.existsSync(path.join(DIST, 'models', 'index.json')), 'dist/models/index.json is missing: the site bundles no model');
  const tokenizer = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'tokenizer.json'), 'utf8'));
  vocab = new Set(Object.keys(tokenizer.model.vocab));
  const vocabSize = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'config.json'), 'utf8')).vocab_size;

  // A copy of the model (weights and config linked, not copied) whose tokenizer knows one more
  // word, with the id just past the end of the embedding table.
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attention-viz-e2e-'));
  const bad = path.join(tmp, BAD_REPO, 'resolve', 'main');
  fs.mkdirSync(bad, { recursive: true });
  for (const f of ['config.json', 'model.safetensors']) {
    try {
      fs.symlinkSync(path.join(MODEL_DIR, f), path.join(bad, f));
    } catch {
      fs.copyFileSync(path.join(MODEL_DIR, f), path.join(bad, f));
    }
  }
  tokenizer.added_tokens.push({
    id: vocabSize,
    content: BAD_TOKEN,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: false,
  });
  fs.writeFileSync(path.join(bad, 'tokenizer.json'), JSON.stringify(tokenizer));
  writeStackedModel(path.join(tmp, DEEP_REPO, 'resolve', 'main'), DEEP_STACKS);

  server = await startServer({
    root: DIST,
    mounts: [
      { prefix: '/slowhub', dir: MODELS, bytesPerSecond: SLOW_BYTES_PER_SECOND },
      { prefix: '/fixtures', dir: tmp },
    ],
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * Writes MODEL_DIR's model with its encoder layers repeated `stacks` times (layer l of copy c
 * becomes layer l + c × layers) into `dir`: config.json with the new depth, the tokenizer linked,
 * model.safetensors rewritten (8-byte header length, JSON header, then the tensors' bytes).
 */
function writeStackedModel(dir, stacks) {
  fs.mkdirSync(dir, { recursive: true });
  const config = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'config.json'), 'utf8'));
  const layers = config.num_hidden_layers;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: layers * stacks }));
  fs.copyFileSync(path.join(MODEL_DIR, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
  const file = fs.readFileSync(path.join(MODEL_DIR, 'model.safetensors'));
  const headerLength = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + headerLength).toString('utf8'));
  const data = file.subarray(8 + headerLength);
  const out = {};
  const parts = [];
  let offset = 0;
  const add = (name, info) => {
    const bytes = data.subarray(info.data_offsets[0], info.data_offsets[1]);
    out[name] = { dtype: info.dtype, shape: info.shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  };
  let copied = 0;
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const m = /^(.*\blayer\.)(\d+)(\..*)$/.exec(name);
    if (!m) {
      add(name, info);
      continue;
    }
    for (let c = 0; c < stacks; c++) add(`${m[1]}${Number(m[2]) + c * layers}${m[3]}`, info);
    copied++;
  }
  assert.ok(copied > 0, `no encoder layer tensors in ${MODEL}'s safetensors`);
  const json = Buffer.from(JSON.stringify(out));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), Buffer.concat([length, json, ...parts]));
}

/** Opens a page with the protocol trace and a recorder of the status / shown run over time. */
async function openPage(url) {
  const { context, page } = await newPage(browser);
  await traceWorkerProtocol(context);
  await recordAttributes(context, [
    ['state', SEL.status, 'data-state'],
    ['run', SEL.panel, 'data-run-id'],
  ]);
  const watcher = watchErrors(page, (t) => !isNetworkNoise(t));
  await page.goto(url, { waitUntil: 'load' });
  return { context, page, watcher };
}

/** The heatmap's data-* hooks once `pred(attrs)` holds (and the status is ready, if asked). */
async function waitHeatmap(page, watcher, want, { ready = true, timeout = STEP_TIMEOUT } = {}) {
  await waitInPage(
    page,
    watcher,
    ([sel, status, want, ready]) => {
      const el = document.querySelector(sel);
      if (!el || !el.dataset.draws) return false;
      if (ready && document.querySelector(status)?.dataset.state !== 'ready') return false;
      return Object.entries(want).every(([k, v]) => el.dataset[k] === String(v));
    },
    [SEL.heatmap, SEL.status, want, ready],
    timeout,
  );
  return dataAttrs(page, SEL.heatmap);
}

async function panel(page) {
  const d = await dataAttrs(page, SEL.panel);
  return { ...d, runId: Number(d.runId), sliceRequests: Number(d.sliceRequests) };
}

async function errorText(page) {
  return ((await page.locator(SEL.error).textContent()) ?? '').trim();
}

/** A checksum of the heatmap's base picture. */
function pictureHash(page) {
  return page.evaluate((sel) => {
    const c = document.querySelector(sel);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let h = 2166136261;
    for (let k = 0; k < d.length; k += 7) h = Math.imul(h ^ d[k], 16777619) >>> 0;
    return `${c.width}x${c.height}:${h}`;
  }, SEL.heatmap);
}

/** Resolves once `cond()` holds (checked every 50 ms), rejects after `timeout` ms. */
async function waitUntil(cond, timeout) {
  const deadline = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeout} ms: ${cond}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function checkNoErrors(watcher) {
  const noise = watcher.consoleErrors.filter(isNetworkNoise);
  if (noise.length) console.log(`network noise in the console: ${noise.join(' | ')}`);
  if (watcher.expectedSeen.length) console.log(`expected errors seen: ${watcher.expectedSeen.join(' | ')}`);
  assert.deepEqual(watcher.pageErrors, [], 'uncaught page errors');
  assert.deepEqual(watcher.fatalConsoleErrors(), [], 'console errors other than network failures');
}

describe('page 1: a superseded download, the slice cache, runs while typing', () => {
  let ctx;
  let ready = false;
  const skipUnlessReady = (t) => {
    if (!ready) t.skip('the page never became ready');
    return !ready;
  };

  after(async () => {
    await ctx?.context.close();
  });

  test('picking the bundled model mid-download aborts the download and stays ready', { timeout: LOAD_TIMEOUT + 60_000 }, async () => {
    ctx = await openPage(`${server.url}/?hub=${server.url}/slowhub&model=${MODEL}`);
    const { page, watcher } = ctx;

    // The throttled weights are downloading and the page says so.
    await waitInPage(
      page,
      watcher,
      (sel) => {
        const el = document.querySelector(sel);
        return el?.dataset.state === 'loading' && /model\.safetensors/.test(el.textContent);
      },
      SEL.status,
      STEP_TIMEOUT,
    );
    const slow = await server.waitForRequest((e) => e.path === slowPath && e.bytes > 0, { done: false, timeout: STEP_TIMEOUT });
    const option = `bundled:${MODEL}`;
    await orFail(watcher, page.waitForSelector(`${SEL.model} option[value="${option}"]`, { state: 'attached', timeout: STEP_TIMEOUT }));
    const picked = await pageNow(page);
    await page.locator(SEL.model).selectOption(option);

    await waitReady(page, watcher, LOAD_TIMEOUT);
    const heat = await waitHeatmap(page, watcher, { n: tokenCount(SHORT_TEXT), layer: 0, head: 0 });
    assert.ok(Number(heat.draws) >= 1, 'the heatmap is drawn');
    ready = true;

    // The server saw the throttled download cut off, long before its end.
    const done = await server.waitForRequest((e) => e.id === slow.id, { timeout: 10_000 });
    assert.equal(done.aborted, true, `the superseded download was not aborted: ${JSON.stringify(done)}`);
    assert.ok(done.bytes < done.size, `sent ${done.bytes} of ${done.size} bytes`);
    // GETs only: the worker also asks each file's size with a HEAD first (the total it shows).
    const bundled = server.requests.filter((e) => e.path === `/models/${MODEL}/resolve/main/model.safetensors` && e.method === 'GET');
    assert.equal(bundled.length, 1, 'one download of the bundled weights');
    assert.ok(!bundled[0].aborted && bundled[0].bytes === bundled[0].size, 'the bundled weights downloaded in full');
    console.log(`superseded download aborted after ${done.bytes} of ${done.size} bytes`);

    // Stays ready: no late message of the old load may bring back "Downloading…". The
    // recorder sees every change of data-state, so the window needs no polling.
    const readyAt = await pageNow(page);
    await page.waitForTimeout(STABLE_MS);
    const states = (await readTimeline(page, 'state')).filter((s) => s.t >= picked);
    const firstReady = states.findIndex((s) => s.v === 'ready');
    assert.ok(firstReady >= 0, `never ready after the pick: ${JSON.stringify(states)}`);
    const later = states.slice(firstReady + 1);
    assert.deepEqual(later.map((s) => `${s.v}: ${s.text}`), [], `the status left "ready" within ${STABLE_MS} ms`);
    assert.equal(await page.locator(SEL.status).getAttribute('data-state'), 'ready');
    assert.ok((await pageNow(page)) - readyAt >= STABLE_MS);
    assert.equal(
      server.requests.filter((e) => e.path === slowPath && e.method === 'GET').length,
      1,
      'the superseded weights were not requested again',
    );

    // The worker said nothing more about the superseded load once the page had moved on.
    const trace = await readTrace(page);
    const loads = trace.filter((m) => m.dir === 'send' && m.type === 'Load');
    assert.equal(loads.length, 2, `two loads sent: ${JSON.stringify(loads)}`);
    const [first, second] = loads;
    const stale = trace.filter((m) => m.dir === 'recv' && m.load === first.id && m.t > second.t + 1_000);
    assert.deepEqual(stale, [], 'messages of the superseded load more than 1 s after it was replaced');
    assert.equal(await page.locator(SEL.error).count(), 0, 'no error shown');
    checkNoErrors(watcher);
  });

  test('slices are cached per run, kind and options; hover redraws only the overlay', { timeout: 60_000 }, async (t) => {
    if (skipUnlessReady(t)) return;
    const { page, watcher } = ctx;
    const before = await panel(page);

    await page.locator(SEL.head).selectOption('1');
    await waitHeatmap(page, watcher, { layer: 0, head: 1 });
    await page.locator(SEL.head).selectOption('0');
    await waitHeatmap(page, watcher, { layer: 0, head: 0 });
    const afterHeads = await panel(page);
    assert.equal(afterHeads.sliceRequests, before.sliceRequests + 1, 'head 1 fetched once, head 0 again from the cache');
    assert.equal(afterHeads.runId, before.runId, 'no run in between');

    // Another view and back: the head view asks for its own slice, the heatmap for none.
    await page.locator(SEL.tab('head')).click();
    await waitInPage(page, watcher, (sel) => Number(document.querySelector(sel)?.dataset.draws) >= 1, SEL.headView);
    const inHeadView = await panel(page);
    assert.equal(inHeadView.view, 'head');
    await page.locator(SEL.tab('heatmap')).click();
    await waitHeatmap(page, watcher, { layer: 0, head: 0 });
    const returned = await panel(page);
    assert.equal(returned.sliceRequests, inHeadView.sliceRequests, 'back on the heatmap: no new slice request');
    const sliceSends = (await readTrace(page)).filter((m) => m.dir === 'send' && m.type === 'Slice').length;
    assert.equal(returned.sliceRequests, sliceSends, 'data-slice-requests counts the Slice messages sent to the worker');
    console.log(`slice requests: ${before.sliceRequests} → heads ${afterHeads.sliceRequests} → head view ${inHeadView.sliceRequests} → heatmap ${returned.sliceRequests}`);

    // Hover: the tooltip follows the cells, the base canvas is left alone.
    const geo = await heatmapGeometry(page);
    const draws = Number(geo.attrs.draws);
    const picture = await pictureHash(page);
    const cells = [
      [0, 0],
      [1, 2],
      [3, 4],
      [geo.n - 1, 0],
      [2, geo.n - 1],
    ];
    let previous = null;
    const seen = [];
    for (const [i, j] of cells) {
      const tip = await hoverCell(page, geo, i, j, previous);
      seen.push(tip.text);
      previous = tip.text;
      assert.ok((await opaquePixels(page, SEL.overlay)) > 0, `the overlay shows the hovered cell (${i}, ${j})`);
    }
    assert.equal(new Set(seen).size, cells.length, `one tooltip per cell: ${JSON.stringify(seen)}`);
    assert.equal(Number(await page.locator(SEL.heatmap).getAttribute('data-draws')), draws, 'hover redrew the base canvas');
    assert.equal(await pictureHash(page), picture, 'hover changed the base picture');
    await page.mouse.move(geo.box.x - 30, geo.box.y - 30);
    await orFail(watcher, page.waitForSelector(SEL.tooltip, { state: 'detached', timeout: 5_000 }));
    assert.equal(await opaquePixels(page, SEL.overlay), 0, 'leaving the canvas clears the overlay');
    assert.equal((await panel(page)).sliceRequests, returned.sliceRequests, 'hover asked for no slice');
    checkNoErrors(watcher);
  });

  test('typing during a slow run sends one run at a time, the last with the newest text', { timeout: LOAD_TIMEOUT + 120_000 }, async (t) => {
    // Its own page, on the 24-layer model (slow runs), with the long input, which times a run.
    const own = await openPage(`${server.url}/?hub=${server.url}/fixtures&model=${DEEP_REPO}&text=${encodeURIComponent(LONG_TEXT)}`);
    t.after(() => own.context.close());
    const { page, watcher } = own;
    await waitReady(page, watcher, LOAD_TIMEOUT);
    await waitHeatmap(page, watcher, { n: tokenCount(LONG_TEXT) }, { timeout: 60_000 });
    const base = await panel(page);
    const timed = (await readTrace(page)).filter((m) => m.type === 'Ran' && m.id === base.runId)[0];
    assert.ok(timed, 'the trace has the long run');
    console.log(`${tokenCount(LONG_TEXT)} tokens: forward pass ${timed.ms.toFixed(0)} ms (run ${base.runId})`);
    // Enough edits that a queue (at most 2 + window / run time runs) and one run per edit differ:
    // n > 2 + n × spacing / run time. Runs faster than the spacing cannot show the difference.
    const spacing = RUN_DEBOUNCE_MS + 40;
    if (timed.ms < 1.15 * spacing) {
      t.skip(`runs of ${timed.ms.toFixed(0)} ms are too fast to tell a queue from one run per edit ${spacing} ms apart`);
      return;
    }
    const count = Math.min(12, Math.max(EDITS.length, Math.ceil(2 / (1 - spacing / timed.ms)) + 2));
    const edits = Array.from({ length: count }, (_, k) => EDITS[k] ?? ' again');

    // Edits > 300 ms apart (each one's debounce fires, so each asks for a run) while runs
    // compute; a layer change once the first run is sent, a head change after the second edit.
    // Scripted in the page (as `fill` and `selectOption` do it: set the value, fire the event)
    // so that the spacing does not depend on how busy the test's connection to the browser is.
    const mark = (await readTrace(page)).length;
    const texts = edits.map((_, k) => LONG_TEXT + edits.slice(0, k + 1).join(''));
    const current = texts.at(-1);
    const { editTimes, selectedAt } = await orFail(
      watcher,
      page.evaluate(
        async ({ sel, texts, spacing, mark }) => {
          const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
          const fire = (el, value, ...events) => {
            el.value = value;
            for (const e of events) el.dispatchEvent(new Event(e, { bubbles: true }));
          };
          const text = document.querySelector(sel.text);
          const editTimes = [];
          let selectedAt = null;
          for (const [k, value] of texts.entries()) {
            if (k > 0) await sleep(Math.max(0, editTimes[k - 1] + spacing - performance.now()));
            fire(text, value, 'input');
            editTimes.push(performance.now());
            if (k === 0) {
              const deadline = performance.now() + 5_000;
              while (!window.__e2eTrace.slice(mark).some((m) => m.dir === 'send' && m.type === 'Run')) {
                if (performance.now() > deadline) throw new Error('no run was sent after the first edit');
                await sleep(5);
              }
              selectedAt = performance.now();
              fire(document.querySelector(sel.layer), '3', 'input', 'change');
            }
            if (k === 1) fire(document.querySelector(sel.head), '7', 'input', 'change');
          }
          return { editTimes, selectedAt };
        },
        { sel: { text: SEL.text, layer: SEL.layer, head: SEL.head }, texts, spacing, mark },
      ),
    );
    const finalN = tokenCount(current);
    const final = await waitHeatmap(page, watcher, { n: finalN, layer: 3, head: 7 }, { timeout: 60_000 });
    const shown = await panel(page);

    const episode = (await readTrace(page, mark)).filter((m) => m.type === 'Run' || m.type === 'Ran' || (m.type === 'Error' && m.stage === 'Run'));
    const sent = episode.filter((m) => m.dir === 'send');
    const answered = new Map(episode.filter((m) => m.dir === 'recv').map((m) => [m.id, m.t]));
    const gaps = editTimes.slice(1).map((e, k) => e - editTimes[k]);
    assert.ok(Math.min(...gaps) > RUN_DEBOUNCE_MS, `edits must be more than ${RUN_DEBOUNCE_MS} ms apart: ${gaps}`);
    const log = sent.map((m) => `run ${m.id} at +${(m.t - editTimes[0]).toFixed(0)} ms (${tokenCount(m.text)} tokens)`);
    console.log(`edits at +${editTimes.map((e) => (e - editTimes[0]).toFixed(0)).join(', +')} ms; ${log.join('; ')}`);

    // One run in flight at a time: each run is sent only after the previous one answered.
    for (let k = 1; k < sent.length; k++) {
      const prev = answered.get(sent[k - 1].id);
      assert.ok(prev !== undefined && prev <= sent[k].t, `run ${sent[k].id} was sent while run ${sent[k - 1].id} was still computing: ${log.join('; ')}`);
    }
    // The last run took the newest text and is the one drawn.
    const last = sent.at(-1);
    assert.equal(last.text, current, 'the last run carries the final text');
    assert.equal(shown.runId, last.id, 'the shown run is the last one sent');
    assert.equal(Number(final.n), finalN, `the heatmap has the final text's ${finalN} tokens`);
    // Not one run per edit. A run is sent only when the previous one ends, and runs end at
    // most once per `runMs` (the fastest run of the episode), so while the edits' debounces fire
    // at most 2 + window / runMs runs are sent; the old page sent one per edit.
    const ranMs = episode.filter((m) => m.type === 'Ran').map((m) => m.ms);
    const runMs = Math.min(timed.ms, ...ranMs);
    const windowMs = editTimes.at(-1) + RUN_DEBOUNCE_MS - sent[0].t;
    const allowed = 2 + Math.floor(Math.max(0, windowMs) / runMs);
    console.log(`runs of ${ranMs.map((ms) => ms.toFixed(0)).join(', ')} ms; debounce window ${windowMs.toFixed(0)} ms: at most ${allowed} runs`);
    // Runs in the episode may be faster than the timed one: then the count cannot tell a queue
    // from one run per edit, and only the count is not checked.
    if (allowed < edits.length) {
      assert.ok(sent.length <= allowed, `${sent.length} runs for ${edits.length} edits (at most ${allowed}): ${log.join('; ')}`);
      assert.ok(shown.runId <= sent[0].id + allowed - 1, `final run id ${shown.runId}: more than the first run ${sent[0].id} + ${allowed - 1}`);
    } else {
      console.log(`note: runs of ${runMs.toFixed(0)} ms are too fast for ${edits.length} edits in ${windowMs.toFixed(0)} ms to tell a queue from one run per edit; the run count is not checked`);
    }
    const repeats = sent.filter((m, k) => k > 0 && m.text === sent[k - 1].text).map((m) => m.id);
    if (repeats.length) console.log(`note: run(s) ${repeats.join(', ')} repeated the previous run's text`);

    // The layer change was issued while a run was computing, and is drawn.
    const inFlight = sent.find((m) => m.t <= selectedAt && (answered.get(m.id) ?? Infinity) > selectedAt);
    assert.ok(inFlight, 'the layer was changed while a run was computing');
    assert.equal(shown.layer, '3');
    assert.equal(shown.head, '7');
    checkNoErrors(watcher);
  });
});

describe('page 2: a failed run, a crashed worker', () => {
  let ctx;
  let ready = false;
  const skipUnlessReady = (t) => {
    if (!ready) t.skip('the page never became ready');
    return !ready;
  };

  after(async () => {
    await ctx?.context.close();
  });

  test('a failed run leaves the previous run drawable for other layers and heads', { timeout: LOAD_TIMEOUT + 60_000 }, async () => {
    ctx = await openPage(`${server.url}/?hub=${server.url}/fixtures&model=${BAD_REPO}&text=${encodeURIComponent(SHORT_TEXT)}`);
    const { page, watcher } = ctx;
    await waitReady(page, watcher, LOAD_TIMEOUT);
    const n = tokenCount(SHORT_TEXT);
    await waitHeatmap(page, watcher, { n, layer: 0, head: 0 });
    ready = true;
    const good = await panel(page);

    await page.locator(SEL.text).fill(`He went to the ${BAD_TOKEN} bank.`);
    const err = await orFail(watcher, page.waitForSelector(SEL.error, { state: 'visible', timeout: STEP_TIMEOUT }));
    const message = ((await err.textContent()) ?? '').trim();
    assert.match(message, /id 30522 but the model's vocabulary has 30522 entries/, 'the error names the bad token id');
    assert.equal(await page.locator(SEL.status).getAttribute('data-state'), 'error');
    assert.equal(await page.locator(SEL.retry).count(), 0, 'a bad input is no reason to reload the model');
    const failed = await panel(page);
    assert.equal(failed.runId, good.runId, 'the page still shows the previous run');
    const runErrors = (await readTrace(page)).filter((m) => m.dir === 'recv' && m.type === 'Error' && m.stage === 'Run');
    assert.deepEqual(runErrors.map((m) => m.id), [good.runId + 1], 'the worker failed the next run, and only that one');

    await page.locator(SEL.layer).selectOption('4');
    await page.locator(SEL.head).selectOption('9');
    const heat = await waitHeatmap(page, watcher, { layer: 4, head: 9 }, { ready: false });
    assert.equal(Number(heat.n), n, "the redrawn heatmap has the previous run's tokens");
    const after = await panel(page);
    assert.ok(after.sliceRequests > failed.sliceRequests, 'the new head came from the worker');
    assert.equal(after.runId, good.runId);
    const sliceErrors = (await readTrace(page)).filter((m) => m.dir === 'recv' && m.type === 'Error' && m.stage === 'Slice');
    assert.deepEqual(sliceErrors, [], 'the worker answered the slices of the previous run');

    // A good text runs again and clears the error.
    await page.locator(SEL.text).fill('The money was safe there.');
    await waitHeatmap(page, watcher, { n: tokenCount('The money was safe there.'), layer: 4, head: 9 });
    assert.equal(await page.locator(SEL.error).count(), 0, 'the error is gone');
    checkNoErrors(watcher);
  });

  test('a worker that dies is reported, and Retry starts a new one', { timeout: LOAD_TIMEOUT + 60_000 }, async (t) => {
    if (skipUnlessReady(t)) return;
    const { page, watcher } = ctx;
    watcher.expect(/simulated out of memory/);
    const workers = page.workers();
    assert.equal(workers.length, 1, `one worker: ${workers.map((w) => w.url()).join(', ')}`);
    const before = await panel(page);
    await workers[0].evaluate(() =>
      setTimeout(() => {
        throw new Error('simulated out of memory');
      }, 0),
    );

    const err = await orFail(watcher, page.waitForSelector(SEL.error, { state: 'visible', timeout: STEP_TIMEOUT }));
    assert.match(((await err.textContent()) ?? '').trim(), /engine stopped/i);
    assert.equal(await page.locator(SEL.status).getAttribute('data-state'), 'error');
    const retry = page.locator(SEL.retry);
    await retry.waitFor({ state: 'visible', timeout: 5_000 });
    assert.equal(await page.locator(SEL.bundledOffer).count(), 0, 'a crash is not a network problem: no bundled-model offer');

    const mark = (await readTrace(page)).length;
    await retry.click();
    await waitReady(page, watcher, LOAD_TIMEOUT);
    const heat = await waitHeatmap(page, watcher, { n: tokenCount('The money was safe there.') });
    assert.ok(Number(heat.draws) >= 1);
    assert.equal(await page.locator(SEL.error).count(), 0, 'the error is gone');
    const after = await panel(page);
    assert.ok(after.runId > before.runId, 'a new run after the restart');

    const trace = await readTrace(page, mark);
    const newWorker = trace.find((m) => m.dir === 'recv' && m.type === 'WorkerReady');
    assert.ok(newWorker && newWorker.worker > 0, 'a new worker started');
    assert.ok(trace.some((m) => m.dir === 'send' && m.type === 'Load' && m.worker === newWorker.worker), 'the model was loaded into the new worker');
    assert.ok(!trace.some((m) => m.dir === 'send' && m.worker === 0), 'nothing was sent to the dead worker');
    await orFail(watcher, waitUntil(() => page.workers().length === 1, 5_000));
    assert.equal(page.workers().length, 1, 'the dead worker was terminated');
    checkNoErrors(watcher);
  });
});
