// End-to-end fault injection (dist/ from `trunk build --release`, headless Chromium through
// playwright-core): bad answers, bad files and bad connections from a model host, a worker that
// dies or never starts, a reload mid-download, two tabs on one model, and the page's
// Content-Security-Policy.
//
//   node --test tests/e2e/faults.test.mjs
//
// One browser. The site and a hub are served by tests/e2e/fault-server.mjs on 127.0.0.1; the
// hub serves the tiny BERT fixture (tests/golden/models/bert, 250 kB) under every repo, and each
// case loads its own repo (`fault/<case>`), so nothing it cached helps the next one. Each case:
// the fault is set, the repo is loaded from the page's repo field, the page shows an error
// naming the file or field and the problem (data-state="error"), the fault is removed, Retry
// loads the model (data-state="ready", the heatmap drawn). The console may show the failed
// requests (network noise) and nothing else: an uncaught error, a panic or a CSP violation
// fails the case at once (browser.mjs watchErrors). Cases already covered elsewhere are not
// repeated: a download cut mid-body (resumed, or given up after retries) and a full Cache
// Storage are in offline.test.mjs, a worker crashing after a model loaded in protocol.test.mjs,
// a missing revision (404) in sources.test.mjs.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  DIST,
  ROOT,
  SEL,
  checkPrerequisites,
  dataAttrs,
  isNetworkNoise,
  launchBrowser,
  newPage,
  orFail,
  waitInPage,
  waitReady,
  watchErrors,
} from './browser.mjs';
import { startFaultServer } from './fault-server.mjs';

const FIXTURE = path.join(ROOT, 'tests', 'golden', 'models', 'bert');
const FILES = ['config.json', 'tokenizer.json', 'model.safetensors'];
const STEP_TIMEOUT = 30_000;
/** The stall timeout the worker uses in this file (src/net/watchdog.rs STALL_OVERRIDE). */
const STALL_MS = 1_000;
const CONFIG = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'config.json'), 'utf8'));
const WEIGHTS = fs.readFileSync(path.join(FIXTURE, 'model.safetensors'));
const CAPTIVE_PORTAL = '<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form>Accept the terms to use the Wi-Fi</form></body></html>\n';

let server;
let browser;
/** The main page: { context, page, watcher }. */
let main;
const t0 = Date.now();
const results = [];

/** The URL path of `file` of repo `fault/<name>`. */
const filePath = (name, file) => `/hub/fault/${name}/resolve/main/${file}`;

// ---------------------------------------------------------------------------------------------
// Broken files, made from the fixture.

/** The fixture's safetensors with its header JSON replaced by `edit(header)` (an object or a string). */
function withHeader(edit) {
  const n = Number(WEIGHTS.readBigUInt64LE(0));
  const header = JSON.parse(WEIGHTS.subarray(8, 8 + n).toString('utf8'));
  const edited = edit(header);
  const json = Buffer.from(typeof edited === 'string' ? edited : JSON.stringify(edited));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([prefix, json, WEIGHTS.subarray(8 + n)]);
}

const configWith = (fields) => JSON.stringify({ ...CONFIG, ...fields });

// ---------------------------------------------------------------------------------------------
// Page helpers

function checkNoErrors(watcher, where) {
  assert.deepEqual(watcher.pageErrors, [], `${where}: uncaught page errors`);
  assert.deepEqual(watcher.fatalConsoleErrors(), [], `${where}: console errors other than failed requests`);
}

async function openPage(url) {
  const { context, page } = await newPage(browser);
  const watcher = watchErrors(page, (t) => !isNetworkNoise(t));
  await page.goto(url, { waitUntil: 'load' });
  return { context, page, watcher };
}

/** The engine worker (not the service worker). */
async function engineWorker(page) {
  for (let i = 0; i < 200; i++) {
    const w = page.workers().find((w) => /worker(_relaxed)?_loader\.js/.test(w.url()));
    if (w) return w;
    await page.waitForTimeout(25);
  }
  throw new Error(`no engine worker: ${page.workers().map((w) => w.url())}`);
}

/** The error box's message: without "Problem: " and its buttons. */
async function errorText(page) {
  const text = await page.evaluate((sel) => {
    const el = document.querySelector(sel)?.cloneNode(true);
    el?.querySelectorAll('button').forEach((b) => b.remove());
    return el?.textContent ?? '';
  }, SEL.error);
  return text.replace(/^\s*Problem:\s*/, '').trim();
}

/** Loads repo `fault/<name>` from the repo field (revision main). */
async function loadRepo({ page }, name) {
  await page.locator(SEL.repo).fill(`fault/${name}`);
  await page.locator(SEL.revision).fill('main');
  await page.locator(SEL.revision).press('Enter');
}

/** Waits for the error box of a failed load; returns its text (without "Problem: "). */
async function waitError({ page, watcher }, what) {
  try {
    await orFail(watcher, page.locator(SEL.error).waitFor({ state: 'visible', timeout: STEP_TIMEOUT }));
  } catch (e) {
    const status = ((await page.locator(SEL.status).textContent()) ?? '').trim();
    throw new Error(`${what}: no error shown (status: "${status}"): ${e.message.split('\n')[0]}`);
  }
  await waitInPage(page, watcher, (sel) => document.querySelector(sel)?.dataset.state === 'error', SEL.status, STEP_TIMEOUT);
  return errorText(page);
}

/** The model `fault/<name>` is loaded and drawn: status ready, the heatmap of a run of it. */
async function waitModel({ page, watcher }, name) {
  await waitReady(page, watcher, STEP_TIMEOUT);
  await waitInPage(
    page,
    watcher,
    ([info, heat, repo]) => (document.querySelector(info)?.textContent ?? '').includes(repo) && !!document.querySelector(heat)?.dataset.draws,
    [SEL.modelInfo, SEL.heatmap, `fault/${name}`],
    STEP_TIMEOUT,
  );
  assert.equal(await page.locator(SEL.error).count(), 0, `fault/${name}: no error once loaded`);
}

/** Retry (the fault removed by the caller): the model loads. */
async function retryLoads(ctx, name) {
  const retry = ctx.page.locator(SEL.retry);
  await orFail(ctx.watcher, retry.waitFor({ state: 'visible', timeout: 5_000 }));
  await retry.click();
  await waitModel(ctx, name);
}

/**
 * One case on the main page: set the faults, load `fault/<name>`, check the message with
 * `expect` (regexes that must all match), clear the faults, Retry, check the model loaded.
 */
async function faultCase(name, faults, expect, { before: setUp, after: tearDown } = {}) {
  const ctx = main;
  const keys = Object.entries(faults).map(([file, fault]) => server.setFault(filePath(name, file), fault));
  await setUp?.(ctx);
  const started = Date.now();
  await loadRepo(ctx, name);
  const shown = await waitError(ctx, name);
  const ms = Date.now() - started;
  // The main page had a model before (the healthy one, then each case's): it stays, and the
  // error box says what failed and what is still shown around the load's own message.
  const framed = /^fault\/(\S+) could not be loaded: ([\s\S]*) The page still shows fault\/\S+\.$/.exec(shown);
  assert.ok(framed, `${name}: the error names the failed model and the one still shown: ${shown}`);
  assert.equal(framed[1], name);
  const message = framed[2];
  for (const re of expect) assert.match(message, re, `${name}: the message`);
  for (const k of keys) server.clearFault(k);
  await tearDown?.(ctx);
  await retryLoads(ctx, name);
  checkNoErrors(ctx.watcher, name);
  results.push({ name, ms, message });
  console.log(`# ${name} (${ms} ms): ${message}`);
  return message;
}

/** A free TCP port on 127.0.0.1 that nothing listens on (yet). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------

before(async () => {
  checkPrerequisites();
  for (const f of FILES) assert.ok(fs.existsSync(path.join(FIXTURE, f)), `${FIXTURE}/${f} is missing`);
  server = await startFaultServer({ root: DIST, hub: { prefix: '/hub', dir: FIXTURE } });
  browser = await launchBrowser();
});

after(async () => {
  await main?.context.close();
  await browser?.close();
  await server?.close();
  console.log(`# faults.test.mjs: ${results.length} fault cases in ${((Date.now() - t0) / 1e3).toFixed(1)} s`);
});

describe('faults (dist/ in headless Chromium)', () => {
  test('the built page carries a strict CSP: inline scripts hashed, no eval, an injected script does not run', { timeout: 60_000 }, async () => {
    const html = fs.readFileSync(path.join(DIST, 'index.html'), 'utf8');
    const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/i.exec(html);
    assert.ok(meta, 'dist/index.html has a CSP meta tag');
    const policy = meta[1];
    console.log(`# CSP: ${policy}`);
    const directive = (name) => policy.split(';').map((d) => d.trim()).find((d) => d.startsWith(`${name} `)) ?? '';
    assert.match(directive('default-src'), /^default-src 'none'$/);
    const scriptSrc = directive('script-src');
    // No 'unsafe-eval' (eval and new Function are refused; wasm needs only 'wasm-unsafe-eval').
    assert.doesNotMatch(scriptSrc, /'unsafe-inline'|'unsafe-eval'|\*|https?:/, 'script-src allows no inline code, eval or hosts');
    assert.match(scriptSrc, /'wasm-unsafe-eval'/);
    const { inlineScriptHashes } = await import('../../scripts/csp.mjs');
    const hashes = inlineScriptHashes(html);
    assert.ok(hashes.length >= 1, 'trunk writes one inline module script');
    for (const h of hashes) assert.ok(scriptSrc.includes(h), `script-src lists the inline script's hash ${h}`);
    assert.doesNotMatch(directive('style-src'), /'unsafe-inline'/, 'no inline styles');
    assert.match(directive('connect-src'), /^connect-src 'self' https:\/\/huggingface\.co /);
    // The meta tag precedes every script (a policy applies only to what follows it).
    assert.ok(html.indexOf('Content-Security-Policy') < html.indexOf('<script'), 'the CSP comes before the first script');

    main = await openPage(`${server.url}/?hub=${encodeURIComponent(`${server.url}/hub`)}`);
    const { page, watcher } = main;
    await orFail(watcher, page.locator(SEL.repo).waitFor({ state: 'visible', timeout: STEP_TIMEOUT }));
    assert.equal(await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.content), policy);
    // An injected inline script is refused (the violation it causes is expected here only).
    // (eval cannot be tried from here: code the test evaluates through DevTools bypasses CSP.)
    watcher.expect(/CSP violation: script-src|Content Security Policy directive 'script-src/);
    const injected = await page.evaluate(async () => {
      const seen = new Promise((resolve) => document.addEventListener('securitypolicyviolation', (e) => resolve(e.violatedDirective), { once: true }));
      const s = document.createElement('script');
      s.textContent = 'window.__injected = true';
      document.head.append(s);
      return { ran: window.__injected === true, directive: await seen };
    });
    assert.equal(injected.ran, false, 'an injected inline script did not run');
    assert.match(injected.directive, /^script-src/, 'the injected script was reported as a script-src violation');
    assert.ok(watcher.expectedSeen.length >= 1, 'the violation reached the console');
    watcher.expectedSeen.length = 0;

    // A healthy load of the fixture from the hub, under the CSP.
    await loadRepo(main, 'healthy');
    await waitModel(main, 'healthy');
    checkNoErrors(watcher, 'healthy load');
  });

  test('a failed or cancelled load leaves the model before it loaded and usable; Retry loads the failed one', { timeout: 90_000 }, async (t) => {
    if (!main) return t.skip('no page');
    const { page, watcher } = main;
    const heatDraws = () => page.locator(SEL.heatmap).getAttribute('data-draws');
    // A broken weights file (after config and tokenizer parsed, while the weights stream in).
    const key = server.setFault(filePath('keep-previous', 'model.safetensors'), { status: 404, body: 'Entry not found' });
    const ordinal = server.requests.length;
    await loadRepo(main, 'keep-previous');
    const message = await waitError(main, 'keep-previous');
    assert.match(message, /^fault\/keep-previous could not be loaded: .*model\.safetensors/, message);
    assert.match(message, /The page still shows fault\/healthy\.$/, message);
    assert.ok(server.requests.slice(ordinal).some((r) => r.path === filePath('keep-previous', 'model.safetensors')), 'the weights were requested');
    // The model before it is back: its name, its heatmap, and it runs a new text.
    await waitInPage(page, watcher, (sel) => (document.querySelector(sel)?.textContent ?? '').includes('fault/healthy'), SEL.modelInfo, STEP_TIMEOUT);
    assert.match(await page.locator(SEL.status).textContent(), /Could not load fault\/keep-previous · showing fault\/healthy/);
    // The address bar names the model shown (it follows changes 250 ms after the last one).
    await waitInPage(page, watcher, () => /model=fault(%2F|\/)healthy/.test(location.search), undefined, STEP_TIMEOUT);
    const before = Number(await heatDraws());
    await page.locator(SEL.text).fill('The previous model still answers.');
    await waitInPage(page, watcher, ([sel, n]) => Number(document.querySelector(sel)?.dataset.draws) > n, [SEL.heatmap, before], STEP_TIMEOUT);

    // Cancel a load that stalls in its weights: back to the model before, no error.
    server.clearFault(key);
    const stall = server.setFault(filePath('keep-cancel', 'model.safetensors'), { stallAfter: 1024 });
    await loadRepo(main, 'keep-cancel');
    await orFail(watcher, page.locator('[data-testid="cancel"]').waitFor({ state: 'visible', timeout: STEP_TIMEOUT }));
    await page.locator('[data-testid="cancel"]').click();
    await waitReady(page, watcher, STEP_TIMEOUT);
    assert.match(await page.locator(SEL.modelInfo).textContent(), /fault\/healthy/);
    assert.equal(await page.locator(SEL.error).count(), 0, 'a cancel is not an error');
    server.release();
    server.clearFault(stall);

    // The failed model loads once its file is whole.
    await loadRepo(main, 'keep-previous');
    await waitModel(main, 'keep-previous');
    checkNoErrors(watcher, 'keep previous');
    results.push({ name: 'failed load keeps the previous model', message });
    console.log(`# keep previous: ${message}`);
  });

  test('HTTP errors on each model file: 404 and 403 name the file and the cause; Retry loads', { timeout: 120_000 }, async (t) => {
    if (!main) return t.skip('no page');
    for (const file of FILES) {
      const m404 = await faultCase(`404-${file}`, { [file]: { status: 404, body: 'Entry not found' } }, [/\b404\b/, /was not found/]);
      assert.ok(m404.includes(`${server.url}${filePath(`404-${file}`, file)}`), `the 404 names the file's URL: ${m404}`);
      const m403 = await faultCase(`403-${file}`, { [file]: { status: 403, body: 'Forbidden' } }, [/answered 403/, /gated or private/]);
      assert.ok(m403.includes(filePath(`403-${file}`, file)), `the 403 names the file's URL: ${m403}`);
    }
  });

  test('an HTML page (a captive portal) with status 200 in place of each file is named as such', { timeout: 90_000 }, async (t) => {
    if (!main) return t.skip('no page');
    for (const file of FILES) {
      await faultCase(`portal-${file}`, { [file]: { body: CAPTIVE_PORTAL, contentType: 'text/html; charset=utf-8' } }, [
        new RegExp(`^${file.replace('.', '\\.')} is not valid: it is an HTML page`),
        /captive portal/,
      ]);
    }
  });

  test('broken config.json: not JSON, an unsupported family, absurd sizes, a vocabulary the tokenizer exceeds', { timeout: 90_000 }, async (t) => {
    if (!main) return t.skip('no page');
    const cfg = (name, body, expect) => faultCase(`config-${name}`, { 'config.json': { body } }, expect);
    await cfg('not-json', '{"model_type": "bert", hidden_size: 32', [/^config\.json is not valid: /, /line 1 column/]);
    await cfg('gpt2', configWith({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'] }), [/^unsupported model: model_type "gpt2"/, /it runs: bert/]);
    await cfg('heads', configWith({ num_attention_heads: 5 }), [/^config\.json is not valid: hidden_size 32 is not divisible by num_attention_heads 5/]);
    await cfg('layers', configWith({ num_hidden_layers: 1_000_000_000 }), [/^config\.json is not valid: num_hidden_layers 1000000000 is more layers than this engine takes \(at most 256\)/]);
    await cfg('vocab', configWith({ vocab_size: 500 }), [/^tokenizer\.json is not valid: /, /ids up to 822/, /vocab_size is 500/, /does not belong to this model/]);
    // Past wasm32's usize: serde refuses it, and the message names the field.
    await cfg('huge', configWith({ vocab_size: 4e18 }), [/^config\.json is not valid: "vocab_size": invalid value: integer `4000000000000000000`/]);
  });

  test('broken tokenizer.json: not parsing, not a tokenizer', { timeout: 60_000 }, async (t) => {
    if (!main) return t.skip('no page');
    await faultCase('tokenizer-garbage', { 'tokenizer.json': { body: '{"version": "1.0", "model": ' } }, [/^tokenizer\.json is not valid: /, /EOF|line 1/]);
    await faultCase('tokenizer-other', { 'tokenizer.json': { body: '{"version": "1.0", "model": {"type": "NoSuchModel"}}' } }, [/^tokenizer\.json is not valid: /]);
  });

  test('broken model.safetensors: truncated, absurd header length, bad JSON, overlapping and out-of-range offsets, unknown dtype, wrong shapes', { timeout: 120_000 }, async (t) => {
    if (!main) return t.skip('no page');
    // The host describes the broken file it serves (its HEAD too, so no SHA-256 of the good
    // file is given for it): these cases are about what parsing finds.
    const w = (name, body, expect) => faultCase(`weights-${name}`, { 'model.safetensors': { body, methods: ['GET', 'HEAD'] } }, expect);
    const half = Math.floor(WEIGHTS.length / 2);
    await w('truncated', WEIGHTS.subarray(0, half), [/^model\.safetensors is not valid: it ends after \d+ of its 248008 bytes \(an incomplete copy\?\)/]);
    const absurd = Buffer.from(WEIGHTS);
    absurd.writeBigUInt64LE(50n << 20n, 0);
    await w('header-length', absurd, [/^model\.safetensors is not valid: its first 8 bytes give a header of 52428800 bytes, but the file is only 248008 bytes long/]);
    const garbage = Buffer.from(WEIGHTS);
    garbage.writeBigUInt64LE(1n << 62n, 0);
    await w('header-length-huge', garbage, [/^model\.safetensors is not valid: it does not start like a safetensors file/]);
    await w('json', withHeader((h) => JSON.stringify(h).replace('"dtype"', 'dtype')), [/^model\.safetensors is not valid: its header is not valid JSON/]);
    await w('overlap', withHeader((h) => ({ ...h, 'pooler.dense.bias': { ...h['pooler.dense.bias'], data_offsets: [239700, 239828] } })), [
      /^model\.safetensors is not valid: its header gives tensors overlapping byte ranges \(\d+\.\.\d+ and \d+\.\.\d+\)/,
    ]);
    await w('out-of-range', withHeader((h) => ({ ...h, 'pooler.dense.weight': { dtype: 'F32', shape: [100_000_000], data_offsets: [239872, 239872 + 400_000_000] } })), [
      /^model\.safetensors is not valid: its header describes \d+ bytes of tensors, but the file is only \d+ bytes long/,
    ]);
    await w('dtype', withHeader((h) => ({ ...h, 'embeddings.LayerNorm.bias': { ...h['embeddings.LayerNorm.bias'], dtype: 'Q4_K' } })), [
      /^model\.safetensors is not valid: tensor "embeddings\.LayerNorm\.bias" has the unknown dtype Q4_K/,
    ]);
    await w('shape', withHeader((h) => ({ ...h, 'embeddings.word_embeddings.weight': { ...h['embeddings.word_embeddings.weight'], shape: [32, 823] } })), [
      /^model\.safetensors is not valid: tensor "embeddings\.word_embeddings\.weight" has shape \[32, 823\], config\.json implies \[823, 32\]/,
    ]);
  });

  test('SHA-256: a download that does not match the hash its host gives is refused; a damaged cached copy is downloaded again', { timeout: 90_000 }, async (t) => {
    if (!main) return t.skip('no page');
    const sha = crypto.createHash('sha256').update(WEIGHTS).digest('hex');
    // One byte of tensor data changed: the file still parses, only its hash tells.
    const flipped = Buffer.from(WEIGHTS);
    flipped[flipped.length - 1] ^= 0x40;
    const badSha = crypto.createHash('sha256').update(flipped).digest('hex');
    const message = await faultCase('sha-download', { 'model.safetensors': { body: flipped } }, [
      new RegExp(`^model\\.safetensors does not match the checksum its host gives \\(SHA-256 ${badSha}, expected ${sha}\\)`),
      /it was not kept\. Retry downloads it again/,
    ]);
    assert.ok(message.length > 0);

    // A cached copy damaged on disk (same size, one byte changed): removed, downloaded again.
    const { page, watcher } = main;
    await loadRepo(main, 'sha-cache');
    await waitModel(main, 'sha-cache');
    const stored = await page.evaluate(async (url) => {
      const cache = await caches.open('attention-viz-models-v1');
      const entry = await cache.match(url);
      const bytes = new Uint8Array(await entry.arrayBuffer());
      bytes[bytes.length - 1] ^= 0x40;
      await cache.put(url, new Response(bytes, { status: 200, headers: entry.headers }));
      return entry.headers.get('x-attention-viz-sha256');
    }, `${server.url}${filePath('sha-cache', 'model.safetensors')}`);
    assert.equal(stored, sha, 'the cached copy records the SHA-256 its host gave');
    await loadRepo(main, 'healthy');
    await waitModel(main, 'healthy');
    const ordinal = server.requests.length;
    await loadRepo(main, 'sha-cache');
    await waitModel(main, 'sha-cache');
    const notes = (await page.locator('[data-testid="load-notes"]').textContent()) ?? '';
    assert.match(notes, new RegExp(`The saved copy of model\\.safetensors could not be used \\(its contents do not match the SHA-256 its host gave \\([0-9a-f]{64}, expected ${sha}\\)\\); it was removed and is downloaded again`), notes);
    const again = server.requests.slice(ordinal).filter((r) => r.method === 'GET' && r.path === filePath('sha-cache', 'model.safetensors'));
    assert.equal(again.length, 1, 'the weights were downloaded again, once');
    // And the new copy is whole: the next load reads it from the cache, hash checked, silently.
    await loadRepo(main, 'healthy');
    await waitModel(main, 'healthy');
    const ordinal2 = server.requests.length;
    await loadRepo(main, 'sha-cache');
    await waitModel(main, 'sha-cache');
    assert.deepEqual(server.requests.slice(ordinal2).filter((r) => r.method === 'GET' && r.path.includes('/hub/')).map((r) => r.path), [], 'read from the cache');
    assert.equal(await page.locator('[data-testid="load-notes"]').count(), 0, 'nothing to note');
    checkNoErrors(watcher, 'sha-cache');
    results.push({ name: 'damaged cached copy', message: notes });
    console.log(`# damaged cached copy: ${notes}`);
  });

  test('SHA-256 once: a checked copy is recorded with its XXH64; later loads compare that, and a record that does not match is settled by the SHA-256', { timeout: 90_000 }, async (t) => {
    if (!main) return t.skip('no page');
    // src/net/verify.rs: after the download's SHA-256 matched, the copy's XXH64 is kept in a
    // record next to it; a cached load compares the XXH64 of what it reads with the record
    // (no second read, no SHA-256). A record gone wrong (here: rewritten) is no reason to throw
    // a good copy away: the SHA-256 decides, and the record is renewed.
    const sha = crypto.createHash('sha256').update(WEIGHTS).digest('hex');
    const { page, watcher } = main;
    const url = `${server.url}${filePath('sha-record', 'model.safetensors')}`;
    const record = (u) =>
      page.evaluate(async (u) => {
        const r = await (await caches.open('attention-viz-models-v1')).match(`${u}.attention-viz-check`);
        return r ? Object.fromEntries(['x-attention-viz-xxh64', 'x-attention-viz-sha256', 'x-attention-viz-bytes'].map((h) => [h, r.headers.get(h)])) : null;
      }, u);
    await loadRepo(main, 'sha-record');
    await waitModel(main, 'sha-record');
    const first = await record(url);
    assert.ok(first, 'a record was written after the download matched its SHA-256');
    assert.match(first['x-attention-viz-xxh64'], /^[0-9a-f]{16}$/);
    assert.equal(first['x-attention-viz-sha256'], sha);
    assert.equal(Number(first['x-attention-viz-bytes']), WEIGHTS.length);
    // The record is not a file of the model: the storage listing counts three.
    const listed = await page.evaluate(async () => {
      const all = await (await caches.open('attention-viz-models-v1')).matchAll();
      return all.filter((r) => r.headers.get('x-attention-viz-repo') === 'fault/sha-record' && !r.headers.get('x-attention-viz-xxh64')).length;
    });
    assert.equal(listed, 3);
    // A wrong record: the copy is hashed, found good, kept (no download, no note), the record renewed.
    await page.evaluate(async (u) => {
      const cache = await caches.open('attention-viz-models-v1');
      const r = await cache.match(`${u}.attention-viz-check`);
      const headers = new Headers(r.headers);
      headers.set('x-attention-viz-xxh64', '0123456789abcdef');
      await cache.put(`${u}.attention-viz-check`, new Response(null, { status: 200, headers }));
    }, url);
    await loadRepo(main, 'healthy');
    await waitModel(main, 'healthy');
    const ordinal = server.requests.length;
    await loadRepo(main, 'sha-record');
    await waitModel(main, 'sha-record');
    assert.deepEqual(server.requests.slice(ordinal).filter((r) => r.method === 'GET' && r.path.includes('/hub/')).map((r) => r.path), [], 'read from the cache');
    assert.equal(await page.locator('[data-testid="load-notes"]').count(), 0, 'nothing to note');
    assert.deepEqual(await record(url), first, 'the record is renewed');
    checkNoErrors(watcher, 'sha-record');
  });

  test('a Content-Length that lies, either way', { timeout: 60_000 }, async (t) => {
    if (!main) return t.skip('no page');
    // More than is sent, the connection kept open: the header is checked against the stated
    // size as soon as it arrives, before anything is reserved for the tensors.
    await faultCase('length-more', { 'model.safetensors': { body: WEIGHTS, contentLength: WEIGHTS.length * 3, hold: true } }, [
      /^model\.safetensors is not valid: its header describes 248008 bytes, but the file is 744024 bytes long/,
    ], { after: () => server.release() });
    // More than is sent, then the connection closes: a broken download, retried, then given up.
    await faultCase('length-more-closed', { 'model.safetensors': { body: WEIGHTS.subarray(0, 4096), contentLength: WEIGHTS.length } }, [
      /^download of \S+\/model\.safetensors failed 4 times in a row and was given up/,
      /check the connection and press Retry/,
    ]);
    // Less than is sent: the browser reads what the header says, and the file ends early.
    await faultCase('length-less', { 'model.safetensors': { body: WEIGHTS, contentLength: 200_000 } }, [
      /^model\.safetensors is not valid: it ends after 200000 of its 248008 bytes/,
    ]);
  });

  test('a server that stalls mid-download times out, is retried, then given up with a message; Retry loads', { timeout: 90_000 }, async (t) => {
    if (!main) return t.skip('no page');
    const name = 'stall';
    await faultCase(name, { 'model.safetensors': { stallAfter: 100_000 } }, [/model\.safetensors failed 4 times in a row/, /nothing arrived for 1 s/, /press Retry/], {
      before: async ({ page }) => {
        const w = await engineWorker(page);
        await w.evaluate((ms) => {
          self.__attentionVizStallMs = ms;
        }, STALL_MS);
      },
      after: async ({ page }) => {
        server.release();
        const w = await engineWorker(page);
        await w.evaluate(() => {
          delete self.__attentionVizStallMs;
        });
      },
    });
    const gets = server.requests.filter((e) => e.method === 'GET' && e.path === filePath(name, 'model.safetensors'));
    assert.ok(gets.filter((e) => e.fault).length === 4, `four stalled GETs: ${gets.map((e) => `${e.status} ${e.bytes}${e.fault ? ' stalled' : ''}`)}`);
    const notes = ((await main.page.locator('[data-testid="load-notes"]').textContent().catch(() => '')) ?? '').trim();
    if (notes) console.log(`# stall notes: ${notes}`);
  });

  test('a worker that dies mid-download: the page offers a restart, Retry recovers', { timeout: 60_000 }, async (t) => {
    if (!main) return t.skip('no page');
    const { page, watcher } = main;
    const name = 'crash';
    watcher.expect(/simulated crash mid-download/);
    const key = server.setFault(filePath(name, 'model.safetensors'), { stallAfter: 50_000 });
    await loadRepo(main, name);
    await server.waitForRequest((e) => e.path === filePath(name, 'model.safetensors') && e.method === 'GET' && e.bytes >= 50_000);
    const w = await engineWorker(page);
    await w.evaluate(() =>
      setTimeout(() => {
        throw new Error('simulated crash mid-download');
      }, 0),
    );
    const message = await waitError(main, name);
    assert.match(message, /engine stopped/i);
    assert.match(message, /Retry starts a new engine/);
    server.clearFault(key);
    server.release();
    await retryLoads(main, name);
    checkNoErrors(watcher, name);
    results.push({ name, message });
    console.log(`# ${name}: ${message}`);
  });

  test('connection refused: the host is named as unreachable; Retry loads once it listens', { timeout: 90_000 }, async (t) => {
    if (!main) return t.skip('no page');
    const port = await freePort();
    const hub = `http://127.0.0.1:${port}/hub`;
    const ctx = await openPage(`${server.url}/?hub=${encodeURIComponent(hub)}&model=fault/refused`);
    try {
      // Another host than the site's and the default: the page asks before fetching from it.
      const confirm = ctx.page.locator('[data-testid="host-confirm-load"]');
      await orFail(ctx.watcher, confirm.waitFor({ state: 'visible', timeout: STEP_TIMEOUT }));
      assert.match(await ctx.page.locator('[data-testid="host-confirm-text"]').textContent(), new RegExp(`127\\.0\\.0\\.1:${port}`));
      await confirm.click();
      const message = await waitError(ctx, 'refused');
      assert.match(message, new RegExp(`could not reach http://127\\.0\\.0\\.1:${port}/hub/fault/refused/resolve/main/config\\.json`));
      assert.match(message, /offline, unreachable, or does not allow cross-origin requests/);
      // A second server on that port, serving the hub: Retry reaches it.
      const late = await startFaultServerOn(port);
      try {
        await retryLoads(ctx, 'refused');
      } finally {
        await late.close();
      }
      checkNoErrors(ctx.watcher, 'refused');
      results.push({ name: 'refused', message });
      console.log(`# refused: ${message}`);
    } finally {
      await ctx.context.close();
    }
  });

  test('a reload in the middle of a download, and two tabs loading the same model', { timeout: 120_000 }, async (t) => {
    if (!main) return t.skip('no page');
    // Reload mid-download: the first page's download is held at 100 kB; the reloaded page loads
    // the model whole (nothing half-written is used).
    const name = 'reload';
    const url = `${server.url}/?hub=${encodeURIComponent(`${server.url}/hub`)}&model=fault/${name}`;
    const key = server.setFault(filePath(name, 'model.safetensors'), { stallAfter: 100_000 });
    const ctx = await openPage(url);
    try {
      await server.waitForRequest((e) => e.path === filePath(name, 'model.safetensors') && e.method === 'GET' && e.bytes >= 100_000);
      server.clearFault(key);
      await ctx.page.reload({ waitUntil: 'load' });
      server.release();
      await waitModel(ctx, name);
      const gets = server.requests.filter((e) => e.method === 'GET' && e.path === filePath(name, 'model.safetensors'));
      assert.equal(gets.length, 2, `the weights were requested again after the reload: ${gets.map((e) => `${e.status} ${e.bytes}`)}`);
      checkNoErrors(ctx.watcher, 'reload');
      results.push({ name: 'reload mid-download' });

      // Two tabs of one browser (one Cache Storage) load one model at the same time; both run
      // it, and a third visit loads it from the cache without a request.
      const two = 'two-tabs';
      const twoUrl = `${server.url}/?hub=${encodeURIComponent(`${server.url}/hub`)}&model=fault/${two}`;
      const second = await ctx.context.newPage();
      const secondWatcher = watchErrors(second, (t) => !isNetworkNoise(t));
      await Promise.all([ctx.page.goto(twoUrl, { waitUntil: 'load' }), second.goto(twoUrl, { waitUntil: 'load' })]);
      await Promise.all([waitModel(ctx, two), waitModel({ page: second, watcher: secondWatcher }, two)]);
      const mark = server.requests.at(-1)?.id ?? 0;
      await second.reload({ waitUntil: 'load' });
      await waitModel({ page: second, watcher: secondWatcher }, two);
      const again = server.requests.filter((e) => e.id > mark && e.method === 'GET' && e.path?.startsWith(`/hub/fault/${two}/`));
      assert.deepEqual(again.map((e) => e.path), [], 'the third visit reads the model from the cache');
      checkNoErrors(ctx.watcher, 'two tabs (first)');
      checkNoErrors(secondWatcher, 'two tabs (second)');
      results.push({ name: 'two tabs' });
    } finally {
      await ctx.context.close();
    }
  });

  test('a worker script that 404s (a wrong sub-path): the page says the engine could not start; Retry recovers', { timeout: 60_000 }, async (t) => {
    if (!main) return t.skip('no page');
    // Both engine builds' loaders: the relaxed one 404s first, the page falls back to the plain
    // one (src/ui/engine_variant.rs), which 404s too.
    const keys = ['/worker_relaxed_loader.js', '/worker_loader.js'].map((p) => server.setFault(p, { status: 404, body: 'not found' }));
    const { context, page } = await newPage(browser);
    const watcher = watchErrors(page, (t) => !isNetworkNoise(t));
    try {
      // The service worker would serve the shell from its cache: this context has none yet.
      await page.goto(`${server.url}/?hub=${encodeURIComponent(`${server.url}/hub`)}&model=fault/no-worker`, { waitUntil: 'load' });
      const message = await waitError({ page, watcher }, 'no-worker');
      assert.match(message, /engine/i);
      assert.match(message, /worker_loader\.js/, `the message names the worker script: ${message}`);
      keys.forEach((k) => server.clearFault(k));
      await retryLoads({ page, watcher }, 'no-worker');
      checkNoErrors(watcher, 'no-worker');
      results.push({ name: 'worker 404', message });
      console.log(`# worker 404: ${message}`);
    } finally {
      keys.forEach((k) => server.clearFault(k));
      await context.close();
    }
  });

  test('a worker whose script never arrives: after 90 s the page says the engine could not start; Retry recovers', { timeout: 60_000 }, async (t) => {
    if (!main) return t.skip('no page');
    // The server sends the loader's headers and then nothing (a hung CDN). The page's clock is
    // Playwright's, fast-forwarded past the 90 s start limit (src/ui/session.rs
    // WORKER_START_LIMIT) instead of waiting for it.
    // Both engine builds' loaders hang: after the limit the page falls back from the relaxed one
    // to the plain one (src/ui/engine_variant.rs), which gets the limit again.
    const keys = ['/worker_relaxed_loader.js', '/worker_loader.js'].map((p) => server.setFault(p, { stallAfter: 0 }));
    const { context, page } = await newPage(browser);
    const watcher = watchErrors(page, (t) => !isNetworkNoise(t));
    try {
      await page.clock.install();
      await page.goto(`${server.url}/?hub=${encodeURIComponent(`${server.url}/hub`)}&model=fault/slow-worker`, { waitUntil: 'load' });
      await server.waitForRequest((r) => r.path === '/worker_relaxed_loader.js', { timeout: STEP_TIMEOUT });
      const mark = server.requests.at(-1)?.id ?? 0;
      await page.clock.fastForward(91_000);
      await server.waitForRequest((r) => r.id > mark && r.path === '/worker_loader.js', { timeout: STEP_TIMEOUT });
      await page.clock.fastForward(60_000);
      assert.equal(await page.locator(SEL.error).count(), 0, 'no error before the limit');
      await page.clock.fastForward(31_000);
      const message = await waitError({ page, watcher }, 'slow-worker');
      assert.match(message, /The engine could not start \(it did not answer within 90 s\)/, message);
      assert.match(message, /worker_loader\.js/, message);
      keys.forEach((k) => server.clearFault(k));
      server.release();
      await retryLoads({ page, watcher }, 'slow-worker');
      checkNoErrors(watcher, 'slow-worker');
      results.push({ name: 'worker start timeout', message });
      console.log(`# worker start timeout: ${message}`);
    } finally {
      keys.forEach((k) => server.clearFault(k));
      server.release();
      await context.close();
    }
  });

  test('no console errors on the main page besides failed requests', (t) => {
    if (!main) return t.skip('no page');
    checkNoErrors(main.watcher, 'main page');
    const status = dataAttrs(main.page, SEL.status);
    return status.then((s) => assert.equal(s.state, 'ready'));
  });
});

/** A fault server (no faults) on a given port, for the refused-connection case. */
function startFaultServerOn(port) {
  return startFaultServer({ root: DIST, hub: { prefix: '/hub', dir: FIXTURE }, port });
}
