#!/usr/bin/env node
// Zero-dependency static file server for the tests (node:http only).
//
//   node tests/e2e/static-server.mjs --root DIR --port N [--mount /prefix=DIR ...] [--verbose]
//
// - listens on 127.0.0.1 only; prints `listening on http://127.0.0.1:PORT` once ready
//   (--port 0 picks a free port);
// - GET / HEAD; `/dir/` serves `dir/index.html`; `/dir` redirects to `/dir/`;
// - Content-Type from the extension (.wasm → application/wasm, ...), an exact
//   Content-Length on every response (the app's download progress reads it),
//   no compression, `Cache-Control: no-store`;
// - CORS: `Access-Control-Allow-Origin: *` on every response, OPTIONS preflight answered;
// - `--mount /hub=models` serves `models/x` at `/hub/x` (longest prefix wins);
// - 404 for missing files, 403 for paths escaping the served directory.
//
// Also importable: `startServer({ root, port = 0, mounts }) -> Promise<{ url, port, close }>`,
// where mounts is `{ '/hub': dir }` or `[['/hub', dir]]` or `[{ prefix: '/hub', dir }]`.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HOST = '127.0.0.1';

export const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.map': 'application/json',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.safetensors': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.npy': 'application/octet-stream',
  '.gz': 'application/gzip',
};

export function mimeType(file) {
  return MIME_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

const COMMON_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Content-Length, Content-Type',
  'Cross-Origin-Resource-Policy': 'cross-origin',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

function normalizeMounts(mounts) {
  if (!mounts) return [];
  let entries;
  if (Array.isArray(mounts)) {
    entries = mounts.map((m) => (Array.isArray(m) ? m : [m.prefix, m.dir]));
  } else {
    entries = Object.entries(mounts);
  }
  return entries
    .map(([prefix, dir]) => {
      let p = '/' + String(prefix).replace(/^\/+|\/+$/g, '');
      if (p === '/') throw new Error(`mount prefix must not be "/" (use root): ${prefix}`);
      return { prefix: p, dir: path.resolve(dir) };
    })
    .sort((a, b) => b.prefix.length - a.prefix.length);
}

/** Map a decoded URL path to { base, file } or null when it escapes its base. */
function resolvePath(root, mounts, urlPath) {
  let base = root;
  let rel = urlPath;
  for (const m of mounts) {
    if (urlPath === m.prefix || urlPath.startsWith(m.prefix + '/')) {
      base = m.dir;
      rel = urlPath.slice(m.prefix.length) || '/';
      break;
    }
  }
  const file = path.resolve(base, '.' + path.posix.normalize('/' + rel));
  if (file !== base && !file.startsWith(base + path.sep)) return null;
  return { base, file };
}

function send(res, status, body, extra = {}) {
  const buf = Buffer.from(body ?? '');
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': buf.length,
    ...extra,
  });
  res.end(res.req.method === 'HEAD' ? undefined : buf);
}

function makeHandler(root, mounts, log) {
  return (req, res) => {
    res.on('finish', () => log(req, res));
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...COMMON_HEADERS,
        'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
        'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] || '*',
        'Access-Control-Max-Age': '600',
        'Content-Length': 0,
      });
      res.end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD, OPTIONS' });
      return;
    }

    let urlPath;
    let search;
    try {
      const u = new URL(req.url, 'http://localhost');
      urlPath = decodeURIComponent(u.pathname);
      search = u.search;
    } catch {
      send(res, 400, 'bad request\n');
      return;
    }
    if (urlPath.includes('\0') || urlPath.split('/').includes('..')) {
      send(res, 403, 'forbidden\n');
      return;
    }
    const resolved = resolvePath(root, mounts, urlPath);
    if (!resolved) {
      send(res, 403, 'forbidden\n');
      return;
    }

    let file = resolved.file;
    let st;
    try {
      st = fs.statSync(file);
      if (st.isDirectory()) {
        if (!urlPath.endsWith('/')) {
          send(res, 301, 'moved\n', { Location: encodeURI(urlPath + '/') + search });
          return;
        }
        file = path.join(file, 'index.html');
        st = fs.statSync(file);
      }
      if (!st.isFile()) throw new Error('not a file');
    } catch {
      send(res, 404, `not found: ${urlPath}\n`);
      return;
    }

    res.writeHead(200, {
      ...COMMON_HEADERS,
      'Content-Type': mimeType(file),
      'Content-Length': st.size,
      'Last-Modified': st.mtime.toUTCString(),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = fs.createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  };
}

/**
 * Start a server. `port` 0 (default) picks a free port.
 * @returns {Promise<{url: string, port: number, server: http.Server, close: () => Promise<void>}>}
 */
export function startServer({ root, port = 0, mounts, verbose = false } = {}) {
  if (!root) throw new Error('startServer: root is required');
  const rootDir = path.resolve(root);
  if (!fs.existsSync(rootDir) || !fs.statSync(rootDir).isDirectory()) {
    return Promise.reject(new Error(`startServer: root is not a directory: ${rootDir}`));
  }
  const mountList = normalizeMounts(mounts);
  const log = (req, res) => {
    if (verbose || res.statusCode >= 400) {
      process.stderr.write(`[static-server] ${req.method} ${req.url} -> ${res.statusCode}\n`);
    }
  };
  const server = http.createServer(makeHandler(rootDir, mountList, log));
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      const actual = server.address().port;
      resolve({
        url: `http://${HOST}:${actual}`,
        port: actual,
        server,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections?.();
          }),
      });
    });
  });
}

function parseArgs(argv) {
  const opts = { root: null, port: 8080, mounts: [], verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
      return argv[++i];
    };
    if (a === '--root') opts.root = next();
    else if (a === '--port') opts.port = Number(next());
    else if (a === '--mount') {
      const spec = next();
      const eq = spec.indexOf('=');
      if (eq <= 0) throw new Error(`--mount expects /prefix=DIR, got ${spec}`);
      opts.mounts.push([spec.slice(0, eq), spec.slice(eq + 1)]);
    } else if (a === '--verbose' || a === '-v') opts.verbose = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: static-server.mjs --root DIR --port N [--mount /prefix=DIR ...] [--verbose]');
      process.exit(0);
    } else throw new Error(`unknown argument: ${a}`);
  }
  if (!opts.root) throw new Error('--root DIR is required');
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    throw new Error(`bad --port`);
  }
  return opts;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`static-server: ${e.message}`);
    process.exit(2);
  }
  startServer(opts).then(
    ({ url, close }) => {
      console.log(`listening on ${url}`);
      const stop = () => close().then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    (e) => {
      console.error(`static-server: ${e.message}`);
      process.exit(1);
    },
  );
}
