#!/usr/bin/env node
// Completes the Content-Security-Policy <meta> of a built index.html (README "Security"):
//
// - script-src: 'self' 'wasm-unsafe-eval' plus the SHA-256 of every inline <script> of the built
//   page. trunk injects one inline module script (it imports the page's JS under its hashed
//   name and starts the wasm); its text changes with every build, so its hash is computed
//   here, after the build, and nothing else inline may run.
// - connect-src: the origin of ATTENTION_VIZ_HUB (a build-time model host, src/catalog.rs) is
//   added when it is set and not already allowed.
// - under `trunk serve` (its live-reload script is in index.html) ws: and wss: are allowed for
//   the reload socket.
//
// Idempotent: it rewrites those two directives from the policy in index.html each time, so it
// may run again on a page whose inline script was changed (tests/e2e/deploy.test.mjs rewrites
// the paths for a sub-path, then runs scripts/service-worker.mjs, which calls this first).
//
//   node scripts/csp.mjs [--dir dist]       (or imported: applyCsp(dir))

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const META = /(<meta\s+http-equiv="Content-Security-Policy"\s+content=")([^"]*)(")/i;
const INLINE_SCRIPT = /<script\b(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi;

/** The policy's directives as [name, value] pairs, in order. */
function parsePolicy(policy) {
  return policy
    .split(';')
    .map((d) => d.trim())
    .filter(Boolean)
    .map((d) => {
      const i = d.search(/\s/);
      return i < 0 ? [d, ''] : [d.slice(0, i), d.slice(i + 1).trim()];
    });
}

function serialize(directives) {
  return directives.map(([k, v]) => (v ? `${k} ${v}` : k)).join('; ');
}

/** Hashes of the inline scripts of `html`, as CSP sources ('sha256-…'). */
export function inlineScriptHashes(html) {
  const out = [];
  for (const m of html.matchAll(INLINE_SCRIPT)) {
    out.push(`'sha256-${crypto.createHash('sha256').update(m[1], 'utf8').digest('base64')}'`);
  }
  return [...new Set(out)];
}

/** `html` with its CSP meta completed; throws when the page has no such meta. */
export function completeCsp(html, { hub = process.env.ATTENTION_VIZ_HUB } = {}) {
  const m = META.exec(html);
  if (!m) throw new Error('index.html has no <meta http-equiv="Content-Security-Policy" content="…">');
  const directives = parsePolicy(m[2].replace(/&#39;|&apos;/g, "'"));
  const set = (name, value) => {
    const i = directives.findIndex(([k]) => k === name);
    if (i < 0) directives.push([name, value]);
    else directives[i][1] = value;
  };
  const get = (name) => directives.find(([k]) => k === name)?.[1] ?? '';
  const dev = html.includes('.well-known/trunk/ws');
  set('script-src', ["'self'", "'wasm-unsafe-eval'", ...inlineScriptHashes(html)].join(' '));
  const connect = get('connect-src').split(/\s+/).filter((s) => s && s !== 'ws:' && s !== 'wss:');
  if (hub) {
    let origin = null;
    try {
      const u = new URL(hub);
      if (u.protocol === 'https:' || u.protocol === 'http:') origin = u.origin;
    } catch {
      // Not an absolute URL (a relative hub is the page's own origin: 'self').
    }
    if (origin && !connect.includes(origin)) connect.push(origin);
  }
  if (dev) connect.push('ws:', 'wss:');
  set('connect-src', connect.join(' '));
  return html.replace(META, (_, a, __, c) => `${a}${serialize(directives)}${c}`);
}

/** Completes `dir`/index.html in place; returns the policy written. */
export function applyCsp(dir) {
  const file = path.join(dir, 'index.html');
  const html = completeCsp(fs.readFileSync(file, 'utf8'));
  fs.writeFileSync(file, html);
  return META.exec(html)[2];
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  try {
    const argv = process.argv.slice(2);
    let dir = process.env.TRUNK_STAGING_DIR;
    for (let i = 0; i < argv.length; i++) {
      if (argv[i] === '--dir') dir = argv[++i];
      else throw new Error(`unknown argument ${argv[i]} (use --dir DIR)`);
    }
    if (!dir) throw new Error('no site directory: pass --dir (or run as a trunk hook)');
    console.log(`csp: ${applyCsp(dir)}`);
  } catch (e) {
    console.error(`scripts/csp.mjs: ${e.message}`);
    process.exit(1);
  }
}
