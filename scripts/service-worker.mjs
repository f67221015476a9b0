#!/usr/bin/env node
// Writes the site's service worker: sw.js (the template at the repo root) with MANIFEST filled
// in — every app-shell file of this build with its SHA-256, and a version hashed from them.
//
// First completes index.html's Content-Security-Policy (scripts/csp.mjs: the hash of trunk's
// inline script), since index.html is one of the hashed files.
//
// Run by trunk after each build (Trunk.toml, [[hooks]] stage "post_build"), on the staging
// directory that becomes dist/. Also runnable by hand on a built site:
//
//   node scripts/service-worker.mjs [--dir dist] [--template sw.js]
//
// The shell is every file of the build except bundled models (models/*, but models/index.json
// is kept: the page reads it at start) and sw.js itself. Under `trunk serve` (its live-reload
// script is in index.html) the manifest says `dev: true`, and the service worker removes itself
// instead of caching: a reload must always show the latest build.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { applyCsp } from './csp.mjs';

const MARKER = /^const MANIFEST = null; \/\/ @@MANIFEST@@$/m;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function args(argv) {
  const out = {
    dir: process.env.TRUNK_STAGING_DIR,
    template: path.join(process.env.TRUNK_SOURCE_DIR || ROOT, 'sw.js'),
  };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--dir') out.dir = argv[++i];
    else if (argv[i] === '--template') out.template = argv[++i];
    else throw new Error(`unknown argument ${argv[i]} (use --dir DIR --template FILE)`);
  }
  if (!out.dir) throw new Error('no site directory: run as a trunk hook (TRUNK_STAGING_DIR) or pass --dir');
  return out;
}

/** Files under `dir`, as '/'-separated paths relative to it, sorted. */
function listFiles(dir, rel = '') {
  const out = [];
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.name.startsWith('.')) continue;
    if (entry.isDirectory()) out.push(...listFiles(dir, p));
    else if (entry.isFile()) out.push(p);
  }
  return out.sort();
}

function isShell(p) {
  if (p === 'sw.js') return false;
  if (p.startsWith('models/')) return p === 'models/index.json';
  if (p.startsWith('screenshots/')) return false; // written by the tests, not part of the app
  return true;
}

function main() {
  const { dir, template } = args(process.argv.slice(2));
  const source = fs.readFileSync(template, 'utf8');
  if (!MARKER.test(source)) throw new Error(`${template}: the line "const MANIFEST = null; // @@MANIFEST@@" is missing`);
  // The CSP's inline-script hashes first: index.html is part of the shell hashed below.
  const policy = applyCsp(dir);
  console.log(`csp: ${policy}`);
  const index = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
  const dev = index.includes('.well-known/trunk/ws');
  const files = listFiles(dir)
    .filter(isShell)
    .map((p) => {
      const body = fs.readFileSync(path.join(dir, p));
      return { path: p, bytes: body.length, sha256: crypto.createHash('sha256').update(body).digest('hex') };
    });
  const version = crypto
    .createHash('sha256')
    .update(files.map((f) => `${f.path} ${f.sha256}\n`).join(''))
    .digest('hex')
    .slice(0, 16);
  const manifest = { version, dev, files: files.map(({ path, sha256 }) => ({ path, sha256 })) };
  const out = source.replace(MARKER, `const MANIFEST = ${JSON.stringify(manifest)};`);
  fs.writeFileSync(path.join(dir, 'sw.js'), out);
  const total = files.reduce((a, f) => a + f.bytes, 0);
  console.log(
    `service worker: ${dev ? 'development (removes itself)' : `release ${version}`}, ${files.length} files, ${(total / 1e6).toFixed(1)} MB`,
  );
}

try {
  main();
} catch (e) {
  console.error(`scripts/service-worker.mjs: ${e.message}`);
  process.exit(1);
}
