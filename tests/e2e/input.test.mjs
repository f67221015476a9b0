// End-to-end test of odd and hostile text (issue "reliability"): one page load with
// all-MiniLM-L6-v2, then, one after the other, an empty text, whitespace, one emoji, RTL with
// combining, zero-width and control characters, "[SEP]" typed in sentence A, HTML and script
// fragments, 700 words (past the 512-token limit: the status says how many were dropped) and a
// 200 000-character paste (the page keeps painting; the link keeps its first 4000 characters).
// Each gets its message or runs; the last good view stays; nothing typed becomes markup; no
// dialog opens; no error reaches the console.
//
//   node --test tests/e2e/input.test.mjs

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DIST, MODEL, MODELS, READY_TIMEOUT, SEL, checkPrerequisites, launchBrowser, newPage, orFail, waitInPage, waitReady, watchErrors } from './browser.mjs';
import { startServer } from './static-server.mjs';

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

describe('odd and hostile text (dist/ in headless Chromium)', () => {
  test('each input runs or says why; the page stays usable and inert', { timeout: READY_TIMEOUT + 120_000 }, async () => {
    const { context, page } = await newPage(browser);
    const watcher = watchErrors(page);
    const dialogs = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      d.dismiss().catch(() => {});
    });
    try {
      await page.goto(`${server.url}/?hub=${server.url}/hub&model=${MODEL}&view=focus`, { waitUntil: 'load' });
      await waitReady(page, watcher);
      const runId = () => page.locator(SEL.panel).getAttribute('data-run-id');
      const status = () => page.locator(SEL.status).textContent();
      const labels = () => page.evaluate(() => [...document.querySelectorAll('[data-testid^="focus-token-"]')].map((b) => b.textContent));
      /** Types `text` (one input event, as a paste) and waits for a new run, ready and drawn. */
      const run = async (text) => {
        const before = await runId();
        await page.fill(SEL.text, text);
        await waitInPage(
          page,
          watcher,
          (prev) => document.querySelector('[data-testid="view-panel"]')?.dataset.runId !== prev && document.querySelector('[data-testid="status"]')?.dataset.state === 'ready',
          before,
          60_000,
        );
        return labels();
      };
      /** Types `text` and waits for the message `re`; the previous run stays on screen. */
      const refused = async (text, re) => {
        const before = await runId();
        await page.fill(SEL.text, text);
        // The message for this text (a previous one may still be on screen).
        await orFail(watcher, page.locator(SEL.error, { hasText: re }).waitFor({ state: 'visible', timeout: 10_000 }));
        assert.equal(await runId(), before, 'the last good run stays');
        assert.ok((await labels()).length > 0, 'the last good view stays');
      };

      await run('He went to the bank.');
      await refused('', /The text is empty: type a sentence/);
      await refused('  \n\t ', /The text is empty/);
      // The second sentence is checked too.
      await page.check('[data-testid="pair-toggle"]');
      await page.fill('[data-testid="pair-input"]', ' ');
      await refused('Fine.', /The second sentence is empty/);
      await page.uncheck('[data-testid="pair-toggle"]');

      assert.deepEqual(await run('🐟'), ['[CLS]', '[UNK]', '[SEP]']);
      assert.equal(await page.locator(SEL.error).count(), 0, 'the message goes once a text runs');

      const odd = await run('مرحبا بالعالم e\u0301te a\u200Bb c\u0007d \u202Eevil');
      assert.ok(odd.length > 4 && odd[0] === '[CLS]' && odd.at(-1) === '[SEP]', JSON.stringify(odd));

      // "[SEP]" typed in sentence A is the special token, as in transformers.
      const sep = await run('before [SEP] after');
      assert.deepEqual(sep, ['[CLS]', 'before', '[SEP]', 'after', '[SEP]']);

      // Markup is text: in the chips, the tooltip and the address bar; no element, no dialog.
      const html = '<img src=x onerror=alert(1)><script>alert(2)</script>" onmouseover="alert(3)';
      const tokens = await run(html);
      assert.ok(tokens.includes('<') && tokens.includes('im') && tokens.includes('script'), JSON.stringify(tokens));
      const inert = await page.evaluate(() => ({
        imgs: document.querySelectorAll('img').length,
        scripts: [...document.querySelectorAll('script')].filter((s) => (s.textContent || '').includes('alert')).length,
        chipChildren: [...document.querySelectorAll('[data-testid^="focus-token-"]')].filter((b) => b.children.length > 0).length,
      }));
      assert.deepEqual(inert, { imgs: 0, scripts: 0, chipChildren: 0 });
      await page.click(SEL.tab('heatmap'));
      await page.waitForSelector(`${SEL.heatmap}[data-n="${tokens.length}"]`);
      const box = await page.locator(SEL.heatmap).boundingBox();
      await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.4, { steps: 4 });
      await page.waitForSelector(SEL.tooltip);
      assert.equal(await page.locator(`${SEL.tooltip} *`).count(), 0, 'the tooltip is plain text');
      await page.waitForFunction((t) => new URLSearchParams(location.search).get('text') === t, html);

      // Past the model's 512 positions: cut, and the status says how much.
      await page.click(SEL.tab('focus'));
      const cut = await run('word '.repeat(700));
      assert.equal(cut.length, 512);
      assert.match(await status(), /512 tokens: 190 tokens dropped/);

      // A 200 000-character paste: the engine works in its worker; the page keeps painting.
      await page.evaluate(() => {
        window.__gaps = [];
        let last = performance.now();
        const tick = (t) => {
          window.__gaps.push(t - last);
          last = t;
          if (window.__gaps.length < 100000) requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      });
      const t0 = Date.now();
      const big = 'The bank by the river. '.repeat(8696).slice(0, 200_000);
      const bigTokens = await run(big);
      const took = Date.now() - t0;
      const worstGap = await page.evaluate(() => Math.max(...window.__gaps));
      assert.equal(bigTokens.length, 512);
      const dropped = Number((await status()).match(/(\d+) tokens dropped/)?.[1]);
      assert.ok(dropped > 40_000, `dropped ${dropped}`);
      assert.ok(worstGap < 2000, `the page froze for ${Math.round(worstGap)} ms after a 200 000-character paste`);
      await page.waitForSelector('[data-testid="share-long-note"]');
      await page.waitForFunction(() => (new URLSearchParams(location.search).get('text') || '').length === 4000);
      console.log(`# 200 000 characters: ${dropped} tokens dropped, ready in ${took} ms, longest frame gap ${Math.round(worstGap)} ms`);

      assert.deepEqual(await run('Back to normal.'), ['[CLS]', 'back', 'to', 'normal', '.', '[SEP]']);
      assert.deepEqual(dialogs, []);
      assert.deepEqual(watcher.fatalConsoleErrors(), []);
      assert.deepEqual(watcher.pageErrors, []);
    } finally {
      await context.close();
    }
  });
});
