// End-to-end tests of where the model comes from (src/ui/model_picker.rs, local_files.rs): the
// first-visit start card, the catalogue with sizes, a Hub repo + revision typed in, local files
// (picked one by one, as a folder, or dropped) and the errors of a wrong pick. dist/ (from
// `trunk build --release`) in headless Chromium through playwright-core.
//
//   node --test tests/e2e/sources.test.mjs
//
// One browser, one page load (`/?hub=<server>/hub`, no `model=`) that goes through every source
// in turn; each step checks the page (status, heatmap, tooltip against the golden "bank"
// fixture), the messages between the page and its worker (browser.mjs traceWorkerProtocol), and
// which model files were requested, both in the static server's log and in the browser's own
// (so that "local files never leave the machine" holds whoever would have answered).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  DIST,
  MODEL,
  MODEL_DIR,
  MODELS,
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
  readTrace,
  traceWorkerProtocol,
  waitInPage,
  waitReady,
  watchErrors,
} from './browser.mjs';
import { loadGolden } from './golden.mjs';
import { startServer } from './static-server.mjs';

const STEP_TIMEOUT = 30_000;
const LOAD_TIMEOUT = 60_000;
const WEIGHT_TOL = 2e-5;
const MODEL_FILES = ['config.json', 'tokenizer.json', 'model.safetensors'];
const BAD_REVISION = 'no-such-revision-e2e';
/** The test's own copies of the model files (for the drop), apart from the app's /hub. */
const FILES_PREFIX = '/e2e-files';

const BANK = loadGolden('bank');
const INDEX = JSON.parse(fs.readFileSync(path.join(DIST, 'models', 'index.json'), 'utf8'));
/** The catalogue as src/catalog.rs writes it: [{ repo, label, megabytes }]. */
const CATALOG = [
  ...fs.readFileSync(path.join(ROOT, 'src', 'catalog.rs'), 'utf8').matchAll(/Entry \{ repo: ([^,]+), label: "([^"]+)", megabytes: (\d+) \}/g),
].map((m) => ({ repo: m[1], label: m[2], megabytes: Number(m[3]) }));

let server;
let browser;
let tmp;
/** The one page: { context, page, watcher }. */
let ctx;
/** Every request the browser made for the page and its workers: { n, url, method }. */
const browserRequests = [];
const t0 = Date.now();
/** Which steps worked (later steps need an earlier one's model). */
const done = new Set();

before(async () => {
  checkPrerequisites();
  const bundled = INDEX.models?.find((m) => m.repo === MODEL);
  assert.ok(bundled, `dist/models/index.json does not list ${MODEL}: ${JSON.stringify(INDEX)}`);
  assert.ok(CATALOG.length >= 5, `could not read the catalogue from src/catalog.rs: ${JSON.stringify(CATALOG)}`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attention-viz-sources-'));
  fs.writeFileSync(path.join(tmp, 'vocab.txt'), '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n');
  // Not a real pickle: the page must refuse it by its name, before reading it.
  fs.writeFileSync(path.join(tmp, 'pytorch_model.bin'), Buffer.from('PK\u0003\u0004 not a real checkpoint'));
  server = await startServer({ root: DIST, port: 0, mounts: { '/hub': MODELS, [FILES_PREFIX]: MODEL_DIR } });
  browser = await launchBrowser();
});

after(async () => {
  await ctx?.context.close();
  await browser?.close();
  await server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`# sources.test.mjs took ${((Date.now() - t0) / 1e3).toFixed(1)} s`);
});

// ---------------------------------------------------------------------------------------------
// Helpers

const modelFile = (e) => MODEL_FILES.includes(path.posix.basename(e.path ?? ''));
/** Requests of model files by the app (not the test's own copies) since log id `since`. */
const appModelRequests = (since) => server.requests.filter((e) => e.id > since && modelFile(e) && e.mount !== FILES_PREFIX);
const lastLogId = () => server.requests.at(-1)?.id ?? 0;
/** Model-file requests the browser made (whoever answered them) after index `since`, except the test's own. */
const browserModelRequests = (since) =>
  browserRequests.slice(since).filter((r) => {
    const u = new URL(r.url);
    return MODEL_FILES.includes(path.posix.basename(u.pathname)) && !u.pathname.startsWith(`${FILES_PREFIX}/`);
  });
const describeRequests = (list) => list.map((e) => `${e.method} ${e.path} ${e.status}`).join('; ') || 'none';

/**
 * The app's model-file requests since log id `since` are one complete GET of each of the three
 * files under `dir` (plus, optionally, HEAD requests of those files for their sizes).
 */
function checkDownloads(since, dir, what) {
  const all = appModelRequests(since);
  const gets = all.filter((e) => e.method === 'GET');
  assert.deepEqual(
    gets.map((e) => `${e.path} ${e.status}`).sort(),
    MODEL_FILES.map((f) => `${dir}/${f} 200`).sort(),
    `${what}: one GET of each model file under ${dir}: ${describeRequests(all)}`,
  );
  assert.ok(gets.every((e) => !e.aborted && e.bytes === e.size), `${what}: complete downloads: ${describeRequests(gets)}`);
  const others = all.filter((e) => e.method !== 'GET' && !(e.method === 'HEAD' && gets.some((g) => g.path === e.path)));
  assert.deepEqual(others.map((e) => `${e.method} ${e.path}`), [], `${what}: other model-file requests`);
}

async function traceMark(page) {
  return (await readTrace(page)).length;
}

function requireStep(t, step) {
  if (done.has(step)) return false;
  t.skip(`needs step "${step}", which failed`);
  return true;
}

/**
 * Waits until the last model load the page sent after trace index `mark` has loaded and its
 * first run has answered; returns `{ load, run }` (the messages), or `{ load, error }` when the
 * worker failed it.
 */
async function waitLoaded({ page, watcher }, mark, timeout = LOAD_TIMEOUT) {
  const handle = await waitInPage(
    page,
    watcher,
    (mark) => {
      const t = (window.__e2eTrace ?? []).slice(mark);
      const load = t.filter((m) => m.dir === 'send' && (m.type === 'Load' || m.type === 'LoadLocal')).at(-1);
      if (!load) return null;
      const error = t.find((m) => m.dir === 'recv' && m.type === 'Error' && m.stage === 'Load' && (m.id === load.id || m.id == null));
      if (error) return { load, error: error.message };
      const loaded = t.find((m) => m.dir === 'recv' && m.type === 'Loaded' && m.load === load.id);
      if (!loaded) return null;
      const run = t.find((m) => m.dir === 'send' && m.type === 'Run' && m.t >= loaded.t);
      const ran = run && t.find((m) => m.dir === 'recv' && (m.type === 'Ran' || m.type === 'Error') && m.id === run.id);
      return ran ? { load, run: run.id, ran: ran.type } : null;
    },
    mark,
    timeout,
  );
  return handle.jsonValue();
}

/**
 * After a load: the status is ready, the heatmap shows run `run` with the bank sentence's
 * tokens, and one tooltip (bank → deposit at the selected layer and head) has the golden weight.
 */
async function checkHeatmap({ page, watcher }, run, what) {
  await waitReady(page, watcher, STEP_TIMEOUT);
  await waitInPage(
    page,
    watcher,
    ([panel, heat, run, n]) => {
      const el = document.querySelector(heat);
      return document.querySelector(panel)?.dataset.runId === String(run) && el?.dataset.draws && el.dataset.n === String(n);
    },
    [SEL.panel, SEL.heatmap, run, BANK.n],
    STEP_TIMEOUT,
  );
  assert.equal(await page.locator(SEL.text).inputValue(), BANK.meta.text, 'the text is still the golden "bank" sentence');
  const layer = Number(await page.locator(SEL.layer).inputValue());
  const head = Number(await page.locator(SEL.head).inputValue());
  const geo = await heatmapGeometry(page);
  assert.equal(geo.n, BANK.n, `${what}: heatmap data-n`);
  const [i, j] = [5, 7]; // bank → deposit
  const tip = await hoverCellNamed(page, geo, i, j, [BANK.tokens[i], BANK.tokens[j]]);
  const want = BANK.at(layer, head, i, j);
  assert.ok(Math.abs(tip.weight - want) <= WEIGHT_TOL, `${what}: layer ${layer} head ${head} ${tip.text} vs golden ${want.toFixed(8)}`);
  await page.mouse.move(2, 2);
  return { layer, head, tip: tip.text };
}

async function modelInfo(page) {
  return ((await page.locator(SEL.modelInfo).textContent()) ?? '').trim();
}

async function localError(page) {
  return (await page.locator(SEL.localError).count()) ? ((await page.locator(SEL.localError).textContent()) ?? '').trim() : null;
}

/** Waits for the local-file error to read something that `accept` takes. */
async function waitLocalError({ page, watcher }, accept, what) {
  try {
    await waitInPage(page, watcher, (sel) => document.querySelector(sel)?.textContent?.trim() || null, SEL.localError, 10_000);
  } catch (e) {
    assert.fail(`${what}: no [data-testid="local-error"] shown (${e.message.split('\n')[0]})`);
  }
  const deadline = Date.now() + 5_000;
  let text = await localError(page);
  while (!accept(text) && Date.now() < deadline) {
    await page.waitForTimeout(50);
    text = await localError(page);
  }
  return text;
}

/** The error box's text ("Problem: …"). */
async function errorText(page) {
  return ((await page.locator(SEL.error).textContent()) ?? '').trim();
}

function checkNoErrors(watcher, where) {
  assert.deepEqual(watcher.pageErrors, [], `${where}: uncaught page errors`);
  assert.deepEqual(watcher.fatalConsoleErrors(), [], `${where}: console errors other than network failures`);
}

// ---------------------------------------------------------------------------------------------

describe('model sources (dist/ in headless Chromium)', () => {
  test('first visit without model=: a start card, the catalogue with sizes, nothing downloaded before a click', { timeout: 60_000 }, async () => {
    const { context, page } = await newPage(browser);
    await noIsolationReload(context);
    await traceWorkerProtocol(context);
    context.on('request', (r) => browserRequests.push({ n: browserRequests.length, url: r.url(), method: r.method() }));
    const watcher = watchErrors(page, (t) => !isNetworkNoise(t));
    ctx = { context, page, watcher };
    await page.goto(`${server.url}/?hub=${server.url}/hub`, { waitUntil: 'load' });

    await orFail(watcher, page.locator(SEL.startCard).waitFor({ state: 'visible', timeout: STEP_TIMEOUT }));
    // Give the page every chance to start a download unasked: the worker is up (it would send
    // the load now) and the bundled index has arrived (the quick-start button names it).
    const bundled = INDEX.models.find((m) => m.repo === MODEL);
    const bundledSize = `${(bundled.bytes / 1e6).toFixed(1)} MB`;
    await waitInPage(page, watcher, () => (window.__e2eTrace ?? []).some((m) => m.dir === 'recv' && m.type === 'WorkerReady'), null, STEP_TIMEOUT);
    await waitInPage(page, watcher, ([sel, size]) => document.querySelector(sel)?.textContent.includes(size), [SEL.startQuick, bundledSize], STEP_TIMEOUT);
    await page.waitForTimeout(1_000);

    const status = await dataAttrs(page, SEL.status);
    assert.equal(status.state, 'idle', 'status data-state before any click');
    const statusText = ((await page.locator(SEL.status).textContent()) ?? '').trim();
    const defaultText = ((await page.locator(SEL.startDefault).textContent()) ?? '').trim();
    const quickText = ((await page.locator(SEL.startQuick).textContent()) ?? '').trim();
    console.log(`# start card: status "${statusText}"; default "${defaultText}"; quick "${quickText}"`);
    assert.match(defaultText, /bert-base-uncased/, 'the default button names bert-base-uncased');
    assert.match(defaultText, /\b440 MB\b/, 'the default button gives its size');
    assert.ok(quickText.includes('all-MiniLM-L6-v2'), `the quick start names the bundled model: ${quickText}`);
    assert.ok(quickText.includes(bundledSize), `the quick start gives the bundled size ${bundledSize}: ${quickText}`);
    assert.equal(await page.locator(SEL.error).count(), 0, 'no error on a first visit');
    const heat = await dataAttrs(page, SEL.heatmap);
    assert.ok(!heat?.draws, `no heatmap drawn before a model: ${JSON.stringify(heat)}`);

    // The catalogue, with sizes, before anything is fetched.
    const options = await page.locator(`${SEL.model} option`).evaluateAll((els) => els.map((o) => ({ value: o.value, text: o.textContent.trim(), selected: o.selected })));
    const texts = options.map((o) => o.text);
    for (const want of ['roberta-base (499 MB)', 'albert-base-v2 (47 MB)', 'bert-large-uncased (1340 MB)', 'bert-base-uncased (440 MB)']) {
      assert.ok(texts.includes(want), `the model select lists "${want}": ${JSON.stringify(texts)}`);
    }
    for (const e of CATALOG) {
      assert.ok(texts.includes(`${e.label} (${e.megabytes} MB)`), `catalogue entry ${e.label} (${e.megabytes} MB) is listed: ${JSON.stringify(texts)}`);
    }
    assert.ok(options.some((o) => o.value === `bundled:${MODEL}` && o.text.includes(bundledSize)), `the bundled model is offered with its size: ${JSON.stringify(options)}`);
    assert.equal(options.find((o) => o.selected)?.text, 'bert-base-uncased (440 MB)', 'the select shows the default model');

    const early = server.requests.filter(modelFile);
    assert.deepEqual(early.map((e) => e.path), [], 'model files requested before any click (server log)');
    assert.deepEqual(browserModelRequests(0).map((r) => r.url), [], 'model files requested before any click (browser)');
    const loads = (await readTrace(page)).filter((m) => m.dir === 'send' && (m.type === 'Load' || m.type === 'LoadLocal'));
    assert.deepEqual(loads, [], 'a load was sent to the worker before any click');

    // Quick start: the bundled model, from the site itself.
    const mark = await traceMark(page);
    const since = lastLogId();
    const sinceBrowser = browserRequests.length;
    await page.locator(SEL.startQuick).click();
    const r = await waitLoaded(ctx, mark);
    assert.ok(!r.error, `quick start failed: ${r.error}`);
    assert.equal(r.load.type, 'Load');
    const cell = await checkHeatmap(ctx, r.run, 'quick start');
    assert.equal(await page.locator(SEL.startCard).count(), 0, 'the start card goes once a model is chosen');
    checkDownloads(since, `/models/${MODEL}/resolve/main`, 'quick start (the bundled files, from the site)');
    // The browser-side log sees the worker's downloads too (so its silence later means something).
    const seen = new Set(browserModelRequests(sinceBrowser).map((r) => path.posix.basename(new URL(r.url).pathname)));
    assert.deepEqual([...seen].sort(), [...MODEL_FILES].sort(), 'the browser-side request log saw the three downloads');
    console.log(`# quick start: ${await modelInfo(page)}; ${cell.tip}`);
    checkNoErrors(watcher, 'start card');
    done.add('page');
  });

  test('a Hub repo and revision typed in load from the hub; a missing revision names the file (404)', { timeout: 90_000 }, async (t) => {
    if (requireStep(t, 'page')) return;
    const { page, watcher } = ctx;
    const hub = `${server.url}/hub`;
    let mark = await traceMark(page);
    let since = lastLogId();
    await page.locator(SEL.repo).fill(MODEL);
    await page.locator(SEL.revision).fill('main');
    await page.locator(SEL.revision).press('Enter');
    const r = await waitLoaded(ctx, mark);
    assert.ok(!r.error, `loading ${MODEL}@main from the hub failed: ${r.error}`);
    assert.deepEqual(r.load.source, { hub, repo: MODEL, revision: 'main' }, 'the load names the typed repo and revision');
    const cell = await checkHeatmap(ctx, r.run, 'repo + revision');
    checkDownloads(since, `/hub/${MODEL}/resolve/main`, 'the typed repo and revision (from the hub)');
    console.log(`# repo + revision: ${await modelInfo(page)}; ${cell.tip}`);

    // A revision the hub does not have.
    mark = await traceMark(page);
    since = lastLogId();
    await page.locator(SEL.revision).fill(BAD_REVISION);
    await page.locator('form.custom button[type="submit"]').click();
    const bad = await waitLoaded(ctx, mark);
    assert.ok(bad.error, `a load of revision ${BAD_REVISION} did not fail`);
    assert.deepEqual(bad.load.source, { hub, repo: MODEL, revision: BAD_REVISION });
    await orFail(watcher, page.locator(SEL.error).waitFor({ state: 'visible', timeout: STEP_TIMEOUT }));
    const text = await errorText(page);
    console.log(`# missing revision: ${text}`);
    const notFound = server.requests.filter((e) => e.id > since && e.status === 404);
    assert.ok(notFound.length >= 1, `the hub answered 404: ${describeRequests(server.requests.filter((e) => e.id > since))}`);
    const url = `${server.url}${notFound[0].path}`;
    assert.equal(notFound[0].path, `/hub/${MODEL}/resolve/${BAD_REVISION}/${path.posix.basename(notFound[0].path)}`);
    assert.ok(text.includes(url), `the error names the file URL ${url}: ${text}`);
    assert.match(text, /\b404\b/, `the error says 404: ${text}`);
    assert.ok(text.includes(BAD_REVISION), `the error mentions the revision: ${text}`);
    assert.match(text, /revision/i, `the error suggests checking the revision: ${text}`);
    assert.equal((await dataAttrs(page, SEL.status)).state, 'error');
    assert.equal(
      server.requests.filter((e) => e.id > since && e.status === 200 && modelFile(e)).length,
      0,
      'nothing of the missing revision was served',
    );
    checkNoErrors(watcher, 'repo + revision');
    done.add('hub');
    // The hub did answer (404): whatever else the page offers must not say it could not be reached.
    const offer = page.locator('[data-testid="bundled-offer"]');
    const offerText = (await offer.count()) ? ((await offer.textContent()) ?? '').trim() : '';
    if (offerText) console.log(`# offer after the 404: ${offerText}`);
    assert.doesNotMatch(offerText, /could not be reached/i, `after a 404 from the hub the page says the host could not be reached: "${offerText}"`);
  });

  test('local files: picked files load with no request; wrong picks are explained and keep the model', { timeout: 90_000 }, async (t) => {
    if (requireStep(t, 'page')) return;
    const { page, watcher } = ctx;
    const files = MODEL_FILES.map((f) => path.join(MODEL_DIR, f));
    let mark = await traceMark(page);
    let since = lastLogId();
    const sinceBrowser = browserRequests.length;
    await page.locator(SEL.localFiles).setInputFiles(files);
    const r = await waitLoaded(ctx, mark);
    assert.ok(!r.error, `loading the picked files failed: ${r.error}`);
    assert.equal(r.load.type, 'LoadLocal', 'the files go to the worker as bytes');
    assert.deepEqual(r.load.files, MODEL_FILES, 'in the order config, tokenizer, weights');
    const cell = await checkHeatmap(ctx, r.run, 'local files');
    assert.equal(await page.locator(SEL.error).count(), 0, 'the previous error is gone');
    const info = await modelInfo(page);
    assert.match(info, /local files/, `model info names the local model: ${info}`);
    console.log(`# local files: ${info}; ${cell.tip}`);
    assert.deepEqual(appModelRequests(since).map((e) => e.path), [], 'model files requested while loading local files');

    // config.json + vocab.txt: the missing files are named, the model stays.
    const ran = await dataAttrs(page, SEL.panel);
    mark = await traceMark(page);
    await page.locator(SEL.localFiles).setInputFiles([path.join(MODEL_DIR, 'config.json'), path.join(tmp, 'vocab.txt')]);
    let text = await waitLocalError(ctx, (s) => /tokenizer\.json/.test(s ?? ''), 'config.json + vocab.txt');
    console.log(`# config.json + vocab.txt: ${text}`);
    assert.match(text, /Missing tokenizer\.json, model\.safetensors/, `the error names both missing files: ${text}`);
    assert.match(text, /config\.json, vocab\.txt/, `the error says what was found: ${text}`);
    await page.waitForTimeout(300);
    assert.deepEqual((await readTrace(page, mark)).filter((m) => m.dir === 'send' && m.type.startsWith('Load')), [], 'a wrong pick sends no load');
    assert.equal((await dataAttrs(page, SEL.status)).state, 'ready', 'status after a wrong pick');
    assert.equal((await dataAttrs(page, SEL.panel)).runId, ran.runId, 'the shown run is kept');
    assert.equal(await modelInfo(page), info, 'the model is kept');
    // Still works: another layer and head come from the same model.
    await page.locator(SEL.layer).selectOption('3');
    await page.locator(SEL.head).selectOption('6');
    await waitInPage(page, watcher, (sel) => {
      const el = document.querySelector(sel);
      return el?.dataset.layer === '3' && el.dataset.head === '6';
    }, SEL.heatmap, STEP_TIMEOUT);
    await checkHeatmap(ctx, ran.runId, 'after a wrong pick');
    assert.ok(await page.locator(SEL.localError).isVisible(), 'the error stays until the next pick');

    // config.json + tokenizer.json + pytorch_model.bin: safetensors is needed, and how to get it.
    await page.locator(SEL.localFiles).setInputFiles([path.join(MODEL_DIR, 'config.json'), path.join(MODEL_DIR, 'tokenizer.json'), path.join(tmp, 'pytorch_model.bin')]);
    text = await waitLocalError(ctx, (s) => /pytorch_model\.bin/.test(s ?? ''), 'pytorch_model.bin');
    console.log(`# pytorch_model.bin: ${text}`);
    assert.match(text, /only pytorch_model\.bin/, `the error says the model is pytorch-only: ${text}`);
    assert.match(text, /model\.safetensors/, `the error names safetensors: ${text}`);
    assert.match(text, /save_pretrained\(dir, safe_serialization=True\)/, `the error says how to convert: ${text}`);
    assert.equal((await dataAttrs(page, SEL.status)).state, 'ready', 'status after a pytorch-only pick');
    assert.equal((await dataAttrs(page, SEL.panel)).runId, ran.runId, 'the shown run is kept');
    assert.deepEqual((await readTrace(page, mark)).filter((m) => m.dir === 'send' && m.type.startsWith('Load')), [], 'a wrong pick sends no load');

    // A folder (webkitdirectory): Playwright sends a directory to such an input (≥ 1.45).
    mark = await traceMark(page);
    await page.locator(SEL.localFolder).setInputFiles(MODEL_DIR);
    const f = await waitLoaded(ctx, mark);
    assert.ok(!f.error, `loading the picked folder failed: ${f.error}`);
    assert.equal(f.load.type, 'LoadLocal');
    assert.equal(f.load.name, 'main (local)', 'the load is named after the folder');
    const folderCell = await checkHeatmap(ctx, f.run, 'folder');
    assert.equal(await page.locator(SEL.localError).count(), 0, 'a good pick clears the error');
    const folderInfo = await modelInfo(page);
    assert.match(folderInfo, /main \(local\)/, `model info names the folder: ${folderInfo}`);
    console.log(`# folder: ${folderInfo}; ${folderCell.tip}`);
    assert.deepEqual(appModelRequests(since).map((e) => e.path), [], 'model files requested for local files or folders (server log)');
    assert.deepEqual(browserModelRequests(sinceBrowser).map((r) => r.url), [], 'model files requested for local files or folders (browser)');
    checkNoErrors(watcher, 'local files');
    done.add('local');
  });

  test('dropping the three files on the model controls loads them, with no request by the page', { timeout: 60_000 }, async (t) => {
    if (requireStep(t, 'page')) return;
    const { page, watcher } = ctx;
    const mark = await traceMark(page);
    const since = lastLogId();
    const sinceBrowser = browserRequests.length;
    const before = await modelInfo(page);
    // The test's own copies of the files (a separate mount, so the log tells them apart).
    const result = await orFail(
      watcher,
      page.evaluate(
        async ({ prefix, names, picker }) => {
          const files = [];
          for (const name of names) {
            const blob = await (await fetch(`${prefix}/${name}`)).blob();
            files.push(new File([blob], name, { type: name.endsWith('.json') ? 'application/json' : 'application/octet-stream' }));
          }
          const dt = new DataTransfer();
          for (const f of files) dt.items.add(f);
          const target = document.querySelector(picker).closest('.controls');
          const fire = (type) => target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
          fire('dragenter');
          const over = fire('dragover');
          const drop = fire('drop');
          return { sizes: files.map((f) => f.size), overAllowed: !over, dropHandled: !drop, count: dt.files.length };
        },
        { prefix: FILES_PREFIX, names: [...MODEL_FILES].reverse(), picker: SEL.model },
      ),
    );
    assert.equal(result.count, 3, 'the DataTransfer holds three files');
    assert.ok(result.overAllowed, 'dragover is cancelled by the page (so the browser allows the drop)');
    assert.ok(result.dropHandled, 'drop is cancelled by the page (so the browser does not open the file)');
    const r = await waitLoaded(ctx, mark);
    assert.ok(!r.error, `loading the dropped files failed: ${r.error}`);
    assert.equal(r.load.type, 'LoadLocal');
    assert.deepEqual(r.load.files, MODEL_FILES);
    const cell = await checkHeatmap(ctx, r.run, 'dropped files');
    const info = await modelInfo(page);
    assert.notEqual(info, before, 'the model info changed with the drop');
    assert.match(info, /local files/, `model info names the dropped files: ${info}`);
    console.log(`# drop: ${info}; ${cell.tip}`);
    assert.deepEqual(appModelRequests(since).map((e) => e.path), [], 'the page requested model files for dropped files (server log)');
    assert.deepEqual(browserModelRequests(sinceBrowser).map((r) => r.url), [], 'the page requested model files for dropped files (browser)');
    const testOwn = server.requests.filter((e) => e.id > since && e.mount === FILES_PREFIX).map((e) => `${e.path} ${e.status}`);
    assert.equal(testOwn.length, 3, `the test fetched its three files: ${testOwn}`);
    checkNoErrors(watcher, 'drop');
  });

  test('no console or page errors besides the 404 of the missing revision', { timeout: 10_000 }, async (t) => {
    if (requireStep(t, 'page')) return;
    const { watcher } = ctx;
    checkNoErrors(watcher, 'whole page');
    const noise = watcher.consoleErrors.filter(isNetworkNoise);
    if (noise.length) console.log(`# network noise: ${noise.join(' | ')}`);
    const unexpected = noise.filter((m) => !(m.includes('404') && m.includes(`/resolve/${BAD_REVISION}/`)));
    assert.deepEqual(unexpected, [], 'network errors other than the 404 of the missing revision');
    // Nothing went anywhere but the test's server (the hub parameter points there).
    const elsewhere = browserRequests.filter((r) => /^https?:/.test(r.url) && new URL(r.url).origin !== server.url).map((r) => r.url);
    assert.deepEqual(elsewhere, [], 'requests to hosts other than the test server');
    console.log(`# ${browserRequests.length} browser requests, all to ${server.url}`);
  });
});
