// End-to-end tests of links, sharing and embedding (src/ui/link.rs, share.rs, embed.rs):
//   1. every piece of state opens from a link, and the address bar follows changes made in the
//      page (history.replaceState: no reload, no new history entry); the reopened link restores
//      them; Share copies that link;
//   2. a link with bad values opens the closest view and says what it ignored, fetching nothing;
//   3. a link to a model on another host asks before fetching anything from it;
//   4. "copy embed code" → three light embeds (320, 640, 1024 px) in a sandboxed iframe on a
//      page of another site: nothing downloads before a click, each fits its iframe, links back
//      to the full app. Writes docs/screenshots/embed.png.
//
//   node --test tests/e2e/share.test.mjs

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { DIST, MODEL, MODEL_DIR, MODELS, READY_TIMEOUT, ROOT, SEL, checkPrerequisites, isNetworkNoise, launchBrowser, newPage, orFail, waitInPage, waitReady, watchErrors } from './browser.mjs';
import { startServer } from './static-server.mjs';

const SHOTS = path.join(ROOT, 'docs', 'screenshots');
const TEXT = 'The bank & the "river" — café <b>bold</b> 🐟';
const PAIR = 'Fish swim there.';

let server; // the app, and the model under /hub and (as revision v1) under /revhub
let other; // another host with the same model (a hub the user has not confirmed)
let blog; // a page of another site that embeds the app
let blogHtml = '';
let browser;
let tmp;

before(async () => {
  checkPrerequisites();
  // /revhub: the model also answers as revision "v1" (a symlink to its main files).
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'av-share-'));
  const rev = path.join(tmp, MODEL, 'resolve');
  fs.mkdirSync(rev, { recursive: true });
  fs.symlinkSync(MODEL_DIR, path.join(rev, 'v1'));
  server = await startServer({ root: DIST, port: 0, mounts: { '/hub': MODELS, '/revhub': tmp } });
  other = await startServer({ root: tmp, port: 0, mounts: { '/hub': MODELS } });
  blog = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(blogHtml);
  });
  await new Promise((r) => blog.listen(0, r));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await other?.close();
  blog?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const hubUrl = (mount = '/hub') => `${server.url}${mount}`;
const params = (page) => page.evaluate(() => Object.fromEntries(new URLSearchParams(location.search)));
/** Waits until the address bar's query has `want` (a subset of keys; `null`: key absent). */
function waitForQuery(page, watcher, want) {
  return waitInPage(
    page,
    watcher,
    (w) => {
      const p = new URLSearchParams(location.search);
      return Object.entries(w).every(([k, v]) => (v === null ? !p.has(k) : p.get(k) === v));
    },
    want,
  );
}

/** What the page shows of each piece of state. */
async function shown(page) {
  return page.evaluate(() => {
    const q = (s) => document.querySelector(s);
    const panel = q('[data-testid="view-panel"]')?.dataset ?? {};
    const chips = [...document.querySelectorAll('[data-testid^="head-chip-"]')];
    return {
      model: q('[data-testid="model-info"]')?.textContent ?? '',
      text: q('[data-testid="text-input"]')?.value,
      pairOn: q('[data-testid="pair-toggle"]')?.checked,
      pair: q('[data-testid="pair-input"]')?.value ?? null,
      view: panel.view,
      layer: panel.layer,
      head: panel.head,
      token: panel.token,
      heads: chips.filter((c) => c.getAttribute('aria-pressed') === 'true').map((c) => Number(c.dataset.testid.split('-').pop())),
      hide: q('[data-testid="opt-hide-special"]')?.checked,
      merge: q('[data-testid="opt-merge-words"]')?.checked,
      filter: q('[data-testid="opt-filter"]')?.value,
      filterValue: q('[data-testid="opt-filter-value"]')?.value,
      pairs: q('[data-testid="pair-filter"]')?.value ?? null,
      source: q('[data-testid="source-select"]')?.value,
      scale: q('[data-testid="scale-select"]')?.value,
      theme: document.documentElement.dataset.theme,
    };
  });
}

describe('links, share and embed (dist/ in headless Chromium)', () => {
  test('1. every piece of state round-trips through the link; Share copies it', { timeout: 3 * READY_TIMEOUT }, async () => {
    const { context, page } = await newPage(browser);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    const watcher = watchErrors(page);
    try {
      const link = new URLSearchParams({
        hub: hubUrl('/revhub'),
        model: MODEL,
        revision: 'v1',
        text: TEXT,
        pair: PAIR,
        view: 'head',
        layer: '3',
        heads: '1,4',
        source: 'mean',
        token: '2',
        hide: '1',
        merge: '1',
        show: 'top:2',
        pairs: 'ab',
        theme: 'dark',
      });
      const historyLength = async () => page.evaluate(() => history.length);
      await page.goto(`${server.url}/?${link}`, { waitUntil: 'load' });
      await waitReady(page, watcher);
      // The model came from the linked host and revision.
      assert.ok(server.requests.some((r) => r.path === `/revhub/${MODEL}/resolve/v1/model.safetensors`), 'revision v1 fetched');
      const s = await shown(page);
      assert.match(s.model, /all-MiniLM-L6-v2/);
      assert.deepEqual(
        [s.text, s.pairOn, s.pair, s.view, s.layer, s.token, s.heads, s.hide, s.merge, s.filter, s.filterValue, s.pairs, s.source, s.theme],
        [TEXT, true, PAIR, 'head', '3', '2', [1, 4], true, true, 'topk', '2', 'ab', 'mean', 'dark'],
      );
      assert.equal(await page.locator('[data-testid="link-notes"]').count(), 0, 'a valid link gets no note');
      // The address bar keeps the link (in its canonical form).
      const p0 = await params(page);
      for (const [k, v] of link) assert.equal(p0[k], v, `address bar ${k}`);
      const len0 = await historyLength();

      // Change every piece in the page; the address bar follows without reloading.
      await page.evaluate(() => (window.__sameDocument = true));
      await page.click('[data-testid="head-chip-4"]');
      await page.click('[data-testid="head-chip-7"]');
      await waitForQuery(page, watcher, { heads: '1,7' });
      await page.selectOption('[data-testid="pair-filter"]', 'ba');
      await page.click(SEL.tab('heatmap'));
      await page.selectOption('[data-testid="source-select"]', 'head');
      await page.selectOption(SEL.layer, '1');
      await page.selectOption(SEL.head, '9');
      await page.selectOption('[data-testid="scale-select"]', 'unit');
      await page.uncheck('[data-testid="opt-merge-words"]');
      await page.uncheck('[data-testid="opt-hide-special"]');
      await page.selectOption('[data-testid="opt-filter"]', 'min');
      await page.click('[data-testid="theme-toggle"]');
      await page.fill(SEL.text, 'A new sentence about rivers.');
      await page.uncheck('[data-testid="pair-toggle"]');
      const changed = {
        hub: hubUrl('/revhub'),
        model: MODEL,
        revision: 'v1',
        text: 'A new sentence about rivers.',
        pair: null,
        view: null, // the heatmap is the default view
        layer: '1',
        head: '9',
        heads: '1,7',
        source: null,
        hide: null,
        merge: null,
        show: 'min:0.1',
        pairs: 'ba',
        scale: 'unit',
        theme: 'light',
      };
      await waitForQuery(page, watcher, changed);
      await waitReady(page, watcher);
      assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');
      assert.equal(await historyLength(), len0, 'replaceState: no new history entry');

      // Share copies exactly this link.
      await page.click('[data-testid="share-link"]');
      await page.waitForSelector('[data-testid="share-result"][data-what="link"][data-ok="true"]');
      const copied = await page.evaluate(() => navigator.clipboard.readText());
      assert.equal(copied, await page.evaluate(() => location.href));

      // The link reopens the same view.
      await page.goto(copied, { waitUntil: 'load' });
      await waitReady(page, watcher);
      const r = await shown(page);
      assert.deepEqual(
        [r.text, r.pairOn, r.view, r.layer, r.head, r.hide, r.merge, r.filter, r.filterValue, r.scale, r.source, r.theme],
        ['A new sentence about rivers.', false, 'heatmap', '1', '9', false, false, 'min', '0.1', 'unit', 'head', 'light'],
      );
      await page.click(SEL.tab('head'));
      const h = await shown(page);
      assert.deepEqual([h.heads, (await params(page)).pairs], [[1, 7], 'ba']);

      // Token focus and compare: chosen and target tokens, mode, text B and model B.
      const focus = new URLSearchParams({ hub: hubUrl(), model: MODEL, text: 'He went to the bank.', view: 'focus', focus: '2,5', target: '1' });
      await page.goto(`${server.url}/?${focus}`, { waitUntil: 'load' });
      await waitReady(page, watcher);
      const pressed = async (prefix) =>
        page.evaluate((p) => [...document.querySelectorAll(`[data-testid^="${p}"]`)].filter((b) => b.getAttribute('aria-pressed') === 'true').map((b) => Number(b.dataset.testid.split('-').pop())), prefix);
      assert.deepEqual(await pressed('focus-token-'), [2, 5]);
      assert.deepEqual(await pressed('focus-target-'), [1]);
      await page.click('[data-testid="focus-token-3"]');
      await waitForQuery(page, watcher, { focus: '2,3,5', target: '1', token: '2' });
      const cmp = new URLSearchParams({ hub: hubUrl(), model: MODEL, view: 'compare', compare: 'texts', text2: 'Fish live in the river.' });
      await page.goto(`${server.url}/?${cmp}`, { waitUntil: 'load' });
      await waitReady(page, watcher);
      assert.equal(await page.inputValue('[data-testid="compare-text-b"]'), 'Fish live in the river.');
      await page.selectOption('[data-testid="compare-mode"]', 'models');
      await waitForQuery(page, watcher, { compare: 'models', text2: 'Fish live in the river.' });
      assert.deepEqual(watcher.fatalConsoleErrors(), []);
      assert.deepEqual(watcher.pageErrors, []);
    } finally {
      await context.close();
    }
  });

  test('2. bad values: the closest view, a note for each, nothing fetched for a bad model', { timeout: READY_TIMEOUT + 60_000 }, async () => {
    const { context, page } = await newPage(browser);
    // The picker asks huggingface.co for sizes; with no network here, that is noise.
    const watcher = watchErrors(page, (t) => !isNetworkNoise(t));
    const requests = [];
    context.on('request', (r) => requests.push(r.url()));
    try {
      const bad = `view=sideways&layer=x&hub=javascript:alert(document.domain)&model=../../etc/passwd&theme=neon&show=min:9&heads=1,,2&layr=2&text=${encodeURIComponent('<img src=x onerror=alert(1)>')}`;
      await page.goto(`${server.url}/?${bad}`, { waitUntil: 'load' });
      await page.waitForSelector('[data-testid="link-notes"]');
      const notes = await page.locator('[data-testid="link-note"]').allTextContents();
      for (const key of ['view', 'layer', 'hub', 'model', 'theme', 'show', 'heads', 'layr']) {
        assert.ok(notes.some((n) => n.startsWith(`Ignored ${key}`)), `no note for ${key}: ${JSON.stringify(notes)}`);
      }
      assert.ok(notes.some((n) => n.includes('javascript:alert')), 'the refused value is quoted as text');
      // The defaults, the text as text (no element made of it), and no model fetched.
      assert.equal(await page.inputValue(SEL.text), '<img src=x onerror=alert(1)>');
      assert.equal(await page.locator('img[src="x"]').count(), 0);
      assert.equal((await page.locator(SEL.status).getAttribute('data-state')), 'idle');
      const fetched = requests.slice(1); // [0] is the page itself
      assert.ok(!fetched.some((u) => u.includes('passwd') || u.startsWith('javascript') || u.includes(MODEL)), fetched.join('\n'));
      await page.click('[data-testid="link-notes-close"]');
      assert.equal(await page.locator('[data-testid="link-notes"]').count(), 0);

      // Indices the model does not have: the nearest view and a note, once the model is known.
      await page.goto(`${server.url}/?hub=${hubUrl()}&model=${MODEL}&layer=40&head=12&heads=3,30&token=999&view=head`, { waitUntil: 'load' });
      await waitReady(page, watcher);
      await page.waitForSelector('[data-testid="link-note"] >> text=Token(s) 999');
      const after = await page.locator('[data-testid="link-note"]').allTextContents();
      assert.ok(after.some((n) => n.includes('Layer 40') && n.includes('6 layers')), JSON.stringify(after));
      assert.ok(after.some((n) => n.includes('Head 12') && n.includes('12 heads')), JSON.stringify(after));
      assert.ok(after.some((n) => n.includes('30') && n.includes('left out')), JSON.stringify(after));
      const s = await shown(page);
      assert.deepEqual([s.layer, s.head, s.heads, s.token], ['5', '11', [3], '']);
      await waitForQuery(page, watcher, { layer: '5', head: '11', heads: '3', token: null });
      assert.deepEqual(watcher.fatalConsoleErrors(), []);
      assert.deepEqual(watcher.pageErrors, []);
    } finally {
      await context.close();
    }
  });

  test('3. a model on another host: nothing is fetched from it before the user agrees', { timeout: READY_TIMEOUT + 60_000 }, async () => {
    const { context, page } = await newPage(browser);
    const watcher = watchErrors(page);
    try {
      const foreign = `${other.url}/hub`; // another port: another origin
      await page.goto(`${server.url}/?hub=${encodeURIComponent(foreign)}&model=${MODEL}`, { waitUntil: 'load' });
      const confirm = page.locator('[data-testid="host-confirm"]');
      await confirm.waitFor();
      const text = await page.locator('[data-testid="host-confirm-text"]').textContent();
      assert.match(text, new RegExp(`${MODEL}.*from 127.0.0.1:${other.port}`));
      // The page settled (worker up, storage asked, no request for 0.5 s) without touching it.
      assert.equal(await page.locator(SEL.status).getAttribute('data-state'), 'idle');
      await page.waitForLoadState('networkidle');
      assert.equal(other.requests.length, 0, 'a request reached the unconfirmed host');
      await page.click('[data-testid="host-confirm-load"]');
      await waitReady(page, watcher);
      assert.ok(other.requests.some((r) => r.path.endsWith('/model.safetensors')));
      assert.equal(await confirm.count(), 0);
      assert.deepEqual(watcher.fatalConsoleErrors(), []);
    } finally {
      await context.close();
    }
  });

  test('4. light embeds at 320, 640 and 1024 px on another site: click to load, fit, link back', { timeout: 3 * READY_TIMEOUT }, async () => {
    const { context, page } = await newPage(browser);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    const watcher = watchErrors(page);
    try {
      // The app's "copy embed code", on a heatmap view.
      const view = new URLSearchParams({ hub: hubUrl(), model: MODEL, text: 'He went to the bank to deposit money.', layer: '2', head: '4', hide: '1' });
      await page.goto(`${server.url}/?${view}`, { waitUntil: 'load' });
      await waitReady(page, watcher);
      await page.click('[data-testid="copy-embed"]');
      await page.waitForSelector('[data-testid="share-result"][data-what="embed code"][data-ok="true"]');
      const code = await page.evaluate(() => navigator.clipboard.readText());
      assert.match(code, /^<iframe src="[^"]+" width="\d+" height="\d+" title="[^"]*"[^>]* sandbox="allow-scripts allow-same-origin[^"]*"><\/iframe>$/);
      const src = code.match(/src="([^"]+)"/)[1].replaceAll('&amp;', '&');
      const embedParams = Object.fromEntries(new URL(src).searchParams);
      assert.deepEqual([embedParams.embed, embedParams.load, embedParams.layer, embedParams.head, embedParams.hide], ['1', 'click', '2', '4', '1']);
      const fullLink = page.url();

      // A blog page on another site with three of them, sandboxed as the issue says.
      const frame = (w) =>
        code.replace(/width="\d+"/, `width="${w}"`).replace(/height="\d+"/, 'height="520"').replace(/ sandbox="[^"]*"/, ' sandbox="allow-scripts allow-same-origin"').replace('<iframe ', `<iframe id="e${w}" `);
      blogHtml = `<!doctype html><meta charset="utf-8"><body style="margin:16px;font:16px Georgia,serif;background:#fbf8f3">
        <h2>What does BERT look at?</h2><p>The heatmap below runs in your browser. Click to load the model.</p>
        ${[320, 640, 1024].map(frame).join('<p>…</p>')}</body>`;
      const blogPage = await context.newPage();
      const blogWatcher = watchErrors(blogPage);
      await blogPage.setViewportSize({ width: 1100, height: 900 });
      const before = server.requests.length;
      await blogPage.goto(`http://localhost:${blog.address().port}/post`, { waitUntil: 'load' });
      for (const w of [320, 640, 1024]) {
        const f = blogPage.frameLocator(`#e${w}`);
        await f.locator('[data-testid="embed-load"]').waitFor({ timeout: 60_000 });
        await f.locator('[data-testid="embed-load"] >> text=/MB\\)/').waitFor();
        assert.match(await f.locator('[data-testid="embed-load"]').textContent(), /all-MiniLM-L6-v2 \(9\d\.\d MB\)/);
      }
      const gets = server.requests.slice(before).filter((r) => r.method === 'GET' && r.path.startsWith('/hub/'));
      assert.deepEqual(gets.map((r) => r.path), [], 'three light embeds downloaded model files before a click');

      const sizes = [];
      for (const w of [320, 640, 1024]) {
        const f = blogPage.frameLocator(`#e${w}`);
        await f.locator('[data-testid="embed-load"]').click();
        await orFail(blogWatcher, f.locator(SEL.ready).waitFor({ timeout: READY_TIMEOUT }));
        const frameHandle = await blogPage.locator(`#e${w}`).elementHandle();
        const inner = await frameHandle.contentFrame();
        const fit = await inner.evaluate(() => {
          const c = document.querySelector('[data-testid="heatmap"]').getBoundingClientRect();
          const a = document.querySelector('[data-testid="embed-open"]');
          return {
            overflowX: document.documentElement.scrollWidth - document.documentElement.clientWidth,
            canvasRight: c.right,
            canvasBottom: c.bottom,
            width: innerWidth,
            height: innerHeight,
            view: document.querySelector('[data-testid="view-panel"]').dataset,
            tabs: document.querySelector('[role="tablist"]').offsetParent !== null,
            picker: document.querySelector('[data-testid="model-select"]') !== null,
            href: a.href,
            target: a.target,
          };
        });
        assert.equal(fit.overflowX, 0, `${w}: the embed scrolls sideways`);
        assert.ok(fit.canvasRight <= fit.width + 0.5, `${w}: heatmap wider than the iframe (${fit.canvasRight} > ${fit.width})`);
        assert.ok(fit.canvasBottom <= fit.height + 0.5, `${w}: heatmap taller than the iframe (${fit.canvasBottom} > ${fit.height})`);
        assert.deepEqual([fit.view.view, fit.view.layer, fit.view.head], ['heatmap', '2', '4']);
        assert.ok(!fit.tabs && !fit.picker, `${w}: the embed shows the tabs or the model picker`);
        assert.equal(fit.href, fullLink, `${w}: the link back is the full app's link to this view`);
        assert.equal(fit.target, '_blank');
        sizes.push(`${w}: heatmap ${Math.round(fit.canvasRight)}×${Math.round(fit.canvasBottom)}`);
      }
      console.log(`# embeds: ${sizes.join(', ')}`);
      fs.mkdirSync(SHOTS, { recursive: true });
      await blogPage.setViewportSize({ width: 720, height: 900 });
      await blogPage.locator('#e640').scrollIntoViewIfNeeded();
      await blogPage.locator('#e640').screenshot({ path: path.join(SHOTS, 'embed.png') });
      assert.deepEqual(blogWatcher.fatalConsoleErrors(), []);
      assert.deepEqual(blogWatcher.pageErrors, []);
      assert.deepEqual(watcher.pageErrors, []);
    } finally {
      await context.close();
    }
  });
});
