// End-to-end test of the page's Export row (src/ui/export_bar.rs): every format is downloaded
// and checked. JSON and .npy values equal the golden fixture (tests/golden/fixtures/bank.*);
// the SVGs parse and carry the token labels; the PNGs have the SVG's size × 1, 2, 4 and are
// not blank.
//
//   node --test tests/e2e/export.test.mjs

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { DIST, MODEL, MODELS, READY_TIMEOUT, ROOT, SEL, checkPrerequisites, launchBrowser, newPage, orFail, waitReady, watchErrors } from './browser.mjs';
import { loadGolden } from './golden.mjs';
import { startServer } from './static-server.mjs';

const TOLERANCE = 1e-5;

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

/** Clicks `testid` and returns the downloads it starts (`count` of them) as {name, bytes}. */
async function download(page, watcher, testid, count = 1) {
  const files = [];
  const all = new Promise((resolve) => {
    const on = async (d) => {
      const p = await d.path();
      files.push({ name: d.suggestedFilename(), bytes: fs.readFileSync(p) });
      if (files.length === count) {
        page.off('download', on);
        resolve();
      }
    };
    page.on('download', on);
  });
  await page.click(`[data-testid="${testid}"]`);
  await orFail(watcher, Promise.race([all, new Promise((_, r) => setTimeout(() => r(new Error(`${testid}: no download`)), 15_000))]));
  return files.sort((a, b) => a.name.localeCompare(b.name));
}

function maxDiff(values, golden) {
  assert.equal(values.length, golden.values.length, 'value count');
  let worst = 0;
  for (let k = 0; k < values.length; k++) worst = Math.max(worst, Math.abs(values[k] - golden.values[k]));
  return worst;
}

const escapeXml = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

describe('export (dist/ in headless Chromium)', () => {
  test('JSON, .npy, SVG and PNG downloads match the golden run', { timeout: READY_TIMEOUT + 60_000 }, async () => {
    const golden = loadGolden('bank');
    const { context, page } = await newPage(browser);
    const watcher = watchErrors(page);
    try {
      await page.goto(`${server.url}/?hub=${server.url}/hub&model=${MODEL}`, { waitUntil: 'load' });
      await waitReady(page, watcher);
      const t0 = Date.now();

      // JSON: the command line's document, values equal the golden ones.
      const [json] = await download(page, watcher, 'export-json');
      assert.equal(json.name, 'attention.json');
      const doc = JSON.parse(json.bytes.toString('utf8'));
      assert.deepEqual(doc.shape, golden.shape);
      assert.deepEqual(doc.tokens, golden.tokens);
      const jd = maxDiff(doc.attention.flat(3), golden);
      assert.ok(jd <= TOLERANCE, `JSON attention differs from golden by ${jd}`);

      // .npy + .tokens.json.
      const [npy, side] = await download(page, watcher, 'export-npy', 2);
      assert.deepEqual([npy.name, side.name], ['attention.npy', 'attention.tokens.json']);
      assert.equal(npy.bytes.subarray(0, 8).toString('latin1'), '\x93NUMPY\x01\x00');
      const hlen = npy.bytes.readUInt16LE(8);
      const header = npy.bytes.subarray(10, 10 + hlen).toString('latin1');
      assert.match(header, new RegExp(`'descr': '<f4'.*'shape': \\(${golden.shape.join(', ')}\\)`));
      const body = npy.bytes.subarray(10 + hlen);
      const values = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length));
      const nd = maxDiff(values, golden);
      assert.ok(nd <= TOLERANCE, `.npy differs from golden by ${nd}`);
      // NumPy itself reads the download (numpy.load), against the golden values.
      const npyFile = path.join(os.tmpdir(), `av-export-${process.pid}.npy`);
      const goldenFile = `${npyFile}.golden.f64`;
      fs.writeFileSync(npyFile, npy.bytes);
      fs.writeFileSync(goldenFile, Buffer.from(Float64Array.from(golden.values).buffer));
      const numpy = JSON.parse(execFileSync(
        'python3',
        ['-c', 'import sys, numpy as np; a = np.load(sys.argv[1]); g = np.fromfile(sys.argv[2], dtype="<f8").reshape(a.shape); import json; print(json.dumps({"dtype": str(a.dtype), "shape": list(a.shape), "worst": float(np.abs(a.astype("f8") - g).max())}))', npyFile, goldenFile],
        { encoding: 'utf8' },
      ));
      fs.rmSync(npyFile, { force: true });
      fs.rmSync(goldenFile, { force: true });
      assert.deepEqual([numpy.dtype, numpy.shape], ['float32', golden.shape], JSON.stringify(numpy));
      assert.ok(numpy.worst <= TOLERANCE, `numpy.load: max |npy - golden| = ${numpy.worst}`);
      const meta = JSON.parse(side.bytes.toString('utf8'));
      assert.deepEqual(meta.tokens, golden.tokens);
      assert.equal(meta.attention, undefined);

      // SVG and PNG of the heatmap, the head view and the model view.
      const sizes = [];
      for (const view of ['heatmap', 'head', 'model']) {
        await page.click(SEL.tab(view));
        const [svg] = await download(page, watcher, 'export-svg');
        const text = svg.bytes.toString('utf8');
        const parsed = await page.evaluate(async (t) => {
          const d = new DOMParser().parseFromString(t, 'image/svg+xml');
          const img = new Image();
          img.src = URL.createObjectURL(new Blob([t], { type: 'image/svg+xml' }));
          await img.decode();
          return {
            error: d.getElementsByTagName('parsererror').length > 0,
            root: d.documentElement.nodeName,
            width: Number(d.documentElement.getAttribute('width')),
            cssWidth: img.naturalWidth,
            cssHeight: img.naturalHeight,
          };
        }, text);
        assert.ok(!parsed.error && parsed.root === 'svg', `${view} SVG does not parse: ${JSON.stringify(parsed)}`);
        assert.ok(Math.abs(parsed.cssWidth - parsed.width) < 1, `${view} SVG drawn ${parsed.cssWidth} px wide, says ${parsed.width}`);
        if (view !== 'model') {
          for (const t of golden.tokens) assert.ok(text.includes(`>${escapeXml(t)}<`), `${view} SVG lacks the label ${t}`);
        }
        if (view === 'head') {
          // The README's picture of an exported SVG: the downloaded file itself, drawn by Chromium.
          const shot = await context.newPage();
          await shot.setContent(`<!doctype html><body style="margin:0;background:#fff">${text}</body>`);
          fs.mkdirSync(path.join(ROOT, 'docs', 'screenshots'), { recursive: true });
          await shot.locator('svg').first().screenshot({ path: path.join(ROOT, 'docs', 'screenshots', 'export-head.svg.png') });
          await shot.close();
        }
        for (const scale of [1, 2, 4]) {
          const [png] = await download(page, watcher, `export-png-${scale}`);
          assert.match(png.name, new RegExp(`@${scale}x\\.png$`));
          assert.equal(png.bytes.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'PNG signature');
          const [w, h] = [png.bytes.readUInt32BE(16), png.bytes.readUInt32BE(20)];
          assert.deepEqual([w, h], [parsed.cssWidth * scale, parsed.cssHeight * scale], `${view} PNG ${scale}× size`);
          const distinct = await page.evaluate(async (b64) => {
            const img = new Image();
            img.src = `data:image/png;base64,${b64}`;
            await img.decode();
            const c = document.createElement('canvas');
            [c.width, c.height] = [img.naturalWidth, img.naturalHeight];
            const ctx = c.getContext('2d');
            ctx.drawImage(img, 0, 0);
            const d = ctx.getImageData(0, 0, c.width, c.height).data;
            const seen = new Set();
            for (let k = 0; k < d.length && seen.size < 1000; k += 4) seen.add(((d[k] << 24) | (d[k + 1] << 16) | (d[k + 2] << 8) | d[k + 3]) >>> 0);
            return seen.size;
          }, png.bytes.toString('base64'));
          assert.ok(distinct > 10, `${view} PNG ${scale}× looks blank (${distinct} colours)`);
          sizes.push(`${view}@${scale}x ${w}×${h}`);
        }
      }
      console.log(`# ${sizes.join(', ')}; JSON/npy max diff ${jd.toExponential(2)}/${nd.toExponential(2)}; ${Date.now() - t0} ms`);

      // SVG and PNG are for the three drawn views only.
      await page.click(SEL.tab('neuron'));
      assert.ok(await page.locator('[data-testid="export-svg"]').isDisabled());
      assert.deepEqual(watcher.fatalConsoleErrors(), []);
      assert.deepEqual(watcher.pageErrors, []);
    } finally {
      await context.close();
    }
  });
});
