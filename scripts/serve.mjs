#!/usr/bin/env node
// Serves the built site (dist/) for `make serve`: a static server with node:http only.
//
//   node scripts/serve.mjs [--root dist] [--address 127.0.0.1] [--port 8080] [--isolated] [--quiet]
//
// - GET / HEAD; `/dir/` serves `dir/index.html`, `/dir` redirects to `/dir/`; 404 otherwise;
//   paths escaping the root get 403;
// - Content-Type from the extension (tests/e2e/static-server.mjs's table: .wasm is
//   application/wasm, so streaming compilation works), an exact Content-Length, byte ranges
//   (the app resumes a broken model download with Range), `Cache-Control: no-cache` with
//   Last-Modified / If-Modified-Since (a rebuilt site is picked up at the next load);
// - the bundled models are part of dist/ (index.html's `copy-dir models`), so
//   `/models/<repo>/resolve/main/<file>` is served as the trunk build arranged it;
// - --isolated adds COOP same-origin + COEP require-corp (crossOriginIsolated, for
//   SharedArrayBuffer); off by default, as with `trunk serve`.
// Prints `serving DIR on http://ADDRESS:PORT/` once listening.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import { mimeType, parseRange } from '../tests/e2e/static-server.mjs';

function parseArgs(argv) {
  const o = { root: 'dist', address: '127.0.0.1', port: 8080, isolated: false, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
      return argv[++i];
    };
    if (a === '--root') o.root = next();
    else if (a === '--address') o.address = next();
    else if (a === '--port') o.port = Number(next());
    else if (a === '--isolated') o.isolated = true;
    else if (a === '--quiet') o.quiet = true;
    else throw new Error(`unknown argument: ${a}`);
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new Error('bad --port');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const root = path.resolve(opts.root);
if (!fs.existsSync(path.join(root, 'index.html'))) {
  console.error(`serve: ${root}/index.html missing (run make build)`);
  process.exit(1);
}
const base = {
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
  ...(opts.isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {}),
};

function send(res, status, text, extra = {}) {
  const body = Buffer.from(text);
  res.writeHead(status, { ...base, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

const server = http.createServer((req, res) => {
  const t0 = Date.now();
  res.on('finish', () => {
    if (!opts.quiet && res.statusCode >= 400) console.log(`${req.method} ${req.url} ${res.statusCode} (${Date.now() - t0} ms)`);
  });
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
  let url;
  try {
    url = new URL(req.url, 'http://localhost');
  } catch {
    return send(res, 400, 'bad request\n');
  }
  let p;
  try {
    p = decodeURIComponent(url.pathname);
  } catch {
    return send(res, 400, 'bad request\n');
  }
  if (p.includes('\0') || p.split('/').includes('..')) return send(res, 403, 'forbidden\n');
  let file = path.resolve(root, '.' + path.posix.normalize('/' + p));
  if (file !== root && !file.startsWith(root + path.sep)) return send(res, 403, 'forbidden\n');
  let st;
  try {
    st = fs.statSync(file);
    if (st.isDirectory()) {
      if (!p.endsWith('/')) return send(res, 301, 'moved\n', { Location: encodeURI(p + '/') + url.search });
      file = path.join(file, 'index.html');
      st = fs.statSync(file);
    }
    if (!st.isFile()) throw new Error('not a file');
  } catch {
    return send(res, 404, `not found: ${p}\n`);
  }
  const lastModified = st.mtime.toUTCString();
  const since = Date.parse(req.headers['if-modified-since'] ?? '');
  if (!req.headers.range && Number.isFinite(since) && Math.floor(st.mtimeMs / 1000) * 1000 <= since) {
    res.writeHead(304, { ...base, 'Last-Modified': lastModified });
    return res.end();
  }
  const range = req.method === 'GET' ? parseRange(req.headers.range, st.size) : null;
  if (range === 'unsatisfiable') return send(res, 416, 'range not satisfiable\n', { 'Content-Range': `bytes */${st.size}` });
  res.writeHead(range ? 206 : 200, {
    ...base,
    'Content-Type': mimeType(file),
    'Content-Length': range ? range.end - range.start + 1 : st.size,
    'Last-Modified': lastModified,
    'Accept-Ranges': 'bytes',
    ...(range ? { 'Content-Range': `bytes ${range.start}-${range.end}/${st.size}` } : {}),
  });
  if (req.method === 'HEAD') return res.end();
  const stream = fs.createReadStream(file, range ?? {});
  stream.on('error', () => res.destroy());
  res.on('close', () => stream.destroy());
  stream.pipe(res);
});

server.on('error', (e) => {
  console.error(`serve: ${e.message}${e.code === 'EADDRINUSE' ? ` (port ${opts.port} is busy: make serve SERVE_PORT=...)` : ''}`);
  process.exit(1);
});
server.listen(opts.port, opts.address, () => {
  const { port } = server.address();
  const host = opts.address.includes(':') ? `[${opts.address}]` : opts.address;
  console.log(`serving ${path.relative(process.cwd(), root) || '.'} on http://${host}:${port}/${opts.isolated ? ' (cross-origin isolated)' : ''}`);
  console.log('  Ctrl-C stops it');
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)) && server.closeAllConnections?.());
