#!/usr/bin/env node
// Zero-dependency static file server for the tests (node:http only).
//
//   node tests/e2e/static-server.mjs --root DIR --port N [--mount /prefix=DIR ...]
//                                    [--throttle /prefix=BYTES_PER_SECOND ...] [--verbose]
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
// - a mount with `sha256: true` (importable only) sends each file's SHA-256 as `X-Linked-Etag`,
//   as the Hugging Face Hub does for LFS files (hashed once per file and mtime);
// - `--throttle /slowhub=2000000` limits what a mount sends to that many bytes per second
//   (per response), to test what a page does while a big download is in progress;
// - keeps a log of the requests (bounded: the newest `logLimit`, default 10 000).
// - Range: `Range: bytes=A-B` / `bytes=A-` / `bytes=-N` on a file gets a 206 with `Content-Range`
//   (416 when unsatisfiable); files are sent with `Accept-Ranges: bytes`. A mount with
//   `acceptRanges: false` neither says so nor honours Range (always the whole file, 200).
//
// Also importable:
//   startServer({ root, port = 0, mounts, verbose, logLimit })
//     -> Promise<{ url, port, server, close, requests, waitForRequest, clearLog, setThrottle,
//                  cutAfter, setStopped }>
// where mounts is `{ '/hub': dir }` or `{ '/hub': { dir, bytesPerSecond, acceptRanges } }` or
// `[['/hub', dir]]` / `[['/hub', dir, { bytesPerSecond }]]` or `[{ prefix: '/hub', dir, bytesPerSecond }]`.
// - `cutAfter(match, bytes, { times = 1 })`: the next `times` GETs of a file matching `match` (a
//   URL path, or a predicate on the log entry) are cut: the server writes `bytes` bytes of the
//   body and closes the connection (a download that breaks off). The entry gets `cut: true`.
// - `setStopped(prefix, stopped = true)`: a stopped mount (or '/' for the root) answers nothing:
//   each request's connection is closed at once (logged with `refused: true`, `status: null`).
//
// `requests` is the log, oldest first; each entry is
//   { id, method, url, path, mount, bytesPerSecond, status, size, bytes, aborted, done, start, end }
// - `path`: the decoded URL path; `mount`: the prefix that served it (null for root);
// - `size`: the Content-Length sent (null before the headers), `bytes`: body bytes written so far;
// - `aborted`: the client closed the connection before the response's end (a cancelled fetch);
// - `done`: the response is over (finished or aborted); `start`/`end`: Date.now() ms;
// - `range`: the request's Range header (or null); `cut`: the server cut the body (cutAfter);
//   `refused`: a stopped mount closed the connection without an answer.
// `waitForRequest(predicate, { timeout = 10000, done = true })` resolves with the first entry
// (already logged or still to come) that matches — once it is over, unless `done: false`; the
// predicate is checked as each request starts, writes body bytes and ends — and rejects after
// `timeout` ms with the log's tail in the message.

import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
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
  'Access-Control-Expose-Headers': 'Content-Length, Content-Type, Accept-Ranges, Content-Range',
  'Cross-Origin-Resource-Policy': 'cross-origin',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

function checkRate(bps, prefix) {
  if (bps == null) return null;
  const n = Number(bps);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`bytesPerSecond of mount ${prefix} must be > 0: ${bps}`);
  return n;
}

function normalizePrefix(prefix) {
  const p = '/' + String(prefix).replace(/^\/+|\/+$/g, '');
  if (p === '/') throw new Error(`mount prefix must not be "/" (use root): ${prefix}`);
  return p;
}

function normalizeMounts(mounts) {
  if (!mounts) return [];
  let entries;
  if (Array.isArray(mounts)) {
    entries = mounts.map((m) => (Array.isArray(m) ? [m[0], m[1], m[2] ?? {}] : [m.prefix, m.dir, m]));
  } else {
    entries = Object.entries(mounts).map(([prefix, v]) =>
      typeof v === 'object' && v !== null ? [prefix, v.dir, v] : [prefix, v, {}],
    );
  }
  return entries
    .map(([prefix, dir, opts]) => {
      const p = normalizePrefix(prefix);
      if (!dir) throw new Error(`mount ${p} has no dir`);
      return {
        prefix: p,
        dir: path.resolve(dir),
        bytesPerSecond: checkRate(opts?.bytesPerSecond, p),
        acceptRanges: opts?.acceptRanges !== false,
        sha256: opts?.sha256 === true,
      };
    })
    .sort((a, b) => b.prefix.length - a.prefix.length);
}

const sha256Memo = new Map();

/** A file's SHA-256 (hex), hashed once per path, size and mtime. */
function sha256Of(file, st) {
  const key = `${file}\0${st.size}\0${st.mtimeMs}`;
  if (!sha256Memo.has(key)) {
    const h = crypto.createHash('sha256');
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(8 << 20);
      for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
    sha256Memo.set(key, h.digest('hex'));
  }
  return sha256Memo.get(key);
}

/** The mount serving a decoded URL path (longest prefix), or null for the root. */
function findMount(mounts, urlPath) {
  return mounts.find((m) => urlPath === m.prefix || urlPath.startsWith(m.prefix + '/')) ?? null;
}

/** Map a decoded URL path to { base, file } or null when it escapes its base. */
function resolvePath(root, mount, urlPath) {
  let base = root;
  let rel = urlPath;
  if (mount) {
    base = mount.dir;
    rel = urlPath.slice(mount.prefix.length) || '/';
  }
  const file = path.resolve(base, '.' + path.posix.normalize('/' + rel));
  if (file !== base && !file.startsWith(base + path.sep)) return null;
  return { base, file };
}

/**
 * Pipes `file` into `res` at most `bps` bytes per second (measured from the first byte, so
 * the average holds whatever the chunking), honouring back-pressure. Stops, and lets go of
 * the file and the timer, as soon as the response closes (client gone or server closing).
 */
function sendThrottled(res, file, bps, entry, onProgress, range = null) {
  const chunk = Math.max(1024, Math.min(64 * 1024, Math.floor(bps / 20)));
  const stream = fs.createReadStream(file, { highWaterMark: chunk, ...(range ?? {}) });
  const t0 = Date.now();
  let timer = null;
  stream.on('data', (buf) => {
    stream.pause();
    entry.bytes += buf.length;
    onProgress(entry);
    const flushed = res.write(buf);
    const resume = () => {
      const wait = Math.max(0, t0 + (entry.bytes / bps) * 1000 - Date.now());
      timer = setTimeout(() => {
        timer = null;
        stream.resume();
      }, wait);
    };
    if (flushed) resume();
    else res.once('drain', resume);
  });
  stream.on('end', () => res.end());
  stream.on('error', () => res.destroy());
  res.on('close', () => {
    if (timer) clearTimeout(timer);
    timer = null;
    stream.destroy();
  });
}

/**
 * A `Range` header against a file of `size` bytes: `{ start, end }` (inclusive), `'unsatisfiable'`,
 * or null when there is none or it is not a single byte range (then the whole file is sent).
 */
export function parseRange(header, size) {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/**
 * Sends `file` (or its `range`) but only `cutAt` bytes of it, then closes the connection, as a
 * network failure mid-download would.
 */
function sendCut(res, file, range, cutAt, entry, onProgress) {
  const stream = fs.createReadStream(file, range ?? {});
  let stopped = false;
  stream.on('data', (buf) => {
    if (stopped) return;
    const room = cutAt - entry.bytes;
    if (buf.length < room) {
      entry.bytes += buf.length;
      onProgress(entry);
      if (!res.write(buf)) {
        stream.pause();
        res.once('drain', () => stream.resume());
      }
      return;
    }
    stopped = true;
    stream.destroy();
    const part = buf.subarray(0, Math.max(0, room));
    entry.bytes += part.length;
    entry.cut = true;
    onProgress(entry);
    res.write(part, () => res.destroy());
  });
  stream.on('end', () => res.end());
  stream.on('error', () => res.destroy());
  res.on('close', () => stream.destroy());
}

function send(res, status, body, extra = {}) {
  const buf = Buffer.from(body ?? '');
  if (res.logEntry) {
    res.logEntry.size = buf.length;
    if (res.req.method !== 'HEAD') res.logEntry.bytes += buf.length;
  }
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': buf.length,
    ...extra,
  });
  res.end(res.req.method === 'HEAD' ? undefined : buf);
}

function makeHandler(root, mounts, requestLog, faults = { cuts: [], stopped: new Set() }) {
  return (req, res) => {
    const entry = requestLog.open(req, res);
    res.on('close', () => requestLog.close(entry, res));
    if (faults.stopped.size) {
      const p = pathOf(req.url);
      const m = p == null ? null : findMount(mounts, p);
      if (faults.stopped.has(m?.prefix ?? '/')) {
        entry.path = p;
        entry.mount = m?.prefix ?? null;
        entry.refused = true;
        req.socket.destroy();
        return;
      }
    }
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
    const mount = findMount(mounts, urlPath);
    entry.path = urlPath;
    entry.mount = mount?.prefix ?? null;
    entry.bytesPerSecond = mount?.bytesPerSecond ?? null;
    const resolved = resolvePath(root, mount, urlPath);
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

    const ranges = mount?.acceptRanges !== false;
    const range = ranges && req.method === 'GET' ? parseRange(req.headers.range, st.size) : null;
    if (range === 'unsatisfiable') {
      send(res, 416, 'range not satisfiable\n', { 'Content-Range': `bytes */${st.size}` });
      return;
    }
    const length = range ? range.end - range.start + 1 : st.size;
    res.writeHead(range ? 206 : 200, {
      ...COMMON_HEADERS,
      'Content-Type': mimeType(file),
      'Content-Length': length,
      'Last-Modified': st.mtime.toUTCString(),
      ...(ranges ? { 'Accept-Ranges': 'bytes' } : {}),
      ...(range ? { 'Content-Range': `bytes ${range.start}-${range.end}/${st.size}` } : {}),
      ...(mount?.sha256 ? { 'X-Linked-Etag': `"${sha256Of(file, st)}"`, 'Access-Control-Expose-Headers': `${COMMON_HEADERS['Access-Control-Expose-Headers']}, X-Linked-Etag` } : {}),
    });
    entry.size = length;
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const cut = faults.cuts.find((c) => c.times > 0 && c.matches(entry));
    if (cut) {
      cut.times -= 1;
      sendCut(res, file, range, cut.bytes, entry, (e) => requestLog.progress(e));
      return;
    }
    if (mount?.bytesPerSecond) {
      sendThrottled(res, file, mount.bytesPerSecond, entry, (e) => requestLog.progress(e), range);
      return;
    }
    const stream = fs.createReadStream(file, range ?? {});
    stream.on('data', (buf) => {
      entry.bytes += buf.length;
      requestLog.progress(entry);
    });
    stream.on('error', () => res.destroy());
    res.on('close', () => stream.destroy());
    stream.pipe(res);
  };
}

function pathOf(url) {
  try {
    return decodeURIComponent(new URL(url, 'http://localhost').pathname);
  } catch {
    return null;
  }
}

/** The bounded log of requests, with waiters for entries to come. */
class RequestLog extends EventEmitter {
  constructor({ limit = 10_000, verbose = false } = {}) {
    super();
    this.setMaxListeners(0);
    this.limit = Math.max(1, limit);
    this.verbose = verbose;
    this.entries = [];
    this.nextId = 1;
  }

  open(req, res) {
    const entry = {
      id: this.nextId++,
      method: req.method,
      url: req.url,
      path: pathOf(req.url),
      mount: null,
      bytesPerSecond: null,
      status: null,
      size: null,
      bytes: 0,
      range: req.headers.range ?? null,
      cut: false,
      refused: false,
      aborted: false,
      done: false,
      start: Date.now(),
      end: null,
    };
    res.logEntry = entry;
    this.entries.push(entry);
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
    this.emit('entry', entry);
    return entry;
  }

  close(entry, res) {
    entry.status = entry.refused ? null : res.statusCode;
    entry.aborted = !res.writableFinished;
    entry.done = true;
    entry.end = Date.now();
    if (this.verbose || entry.status >= 400 || entry.aborted) {
      const what = entry.refused
        ? ' refused (stopped)'
        : entry.aborted
          ? ` ${entry.cut ? 'cut' : 'aborted'} after ${entry.bytes}/${entry.size ?? '?'} bytes`
          : '';
      process.stderr.write(`[static-server] ${entry.method} ${entry.url} -> ${entry.status}${what}\n`);
    }
    this.emit('entry', entry);
  }

  /** More of the body was written (lets `waitFor` match on `bytes` while a response is open). */
  progress(entry) {
    if (this.listenerCount('entry') > 0) this.emit('entry', entry);
  }

  clear() {
    this.entries.length = 0;
  }

  /** The first entry matching `predicate` (and over, unless `done` is false). */
  waitFor(predicate, { timeout = 10_000, done = true } = {}) {
    const matches = (e) => (!done || e.done) && predicate(e);
    const found = this.entries.find(matches);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onEntry = (e) => {
        if (!matches(e)) return;
        clearTimeout(timer);
        this.off('entry', onEntry);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.off('entry', onEntry);
        const tail = this.entries
          .slice(-8)
          .map((e) => `${e.method} ${e.url} ${e.status ?? '…'} ${e.bytes}/${e.size ?? '?'}${e.aborted ? ' aborted' : ''}${e.done ? '' : ' (open)'}`)
          .join('; ');
        reject(new Error(`no request matched within ${timeout} ms; last requests: ${tail || 'none'}`));
      }, timeout);
      this.on('entry', onEntry);
    });
  }
}

/**
 * Start a server. `port` 0 (default) picks a free port.
 * @returns {Promise<{url: string, port: number, server: http.Server, close: () => Promise<void>,
 *   requests: object[], waitForRequest: Function, clearLog: () => void,
 *   setThrottle: (prefix: string, bytesPerSecond: number | null) => void}>}
 */
export function startServer({ root, port = 0, mounts, verbose = false, logLimit = 10_000 } = {}) {
  if (!root) throw new Error('startServer: root is required');
  const rootDir = path.resolve(root);
  if (!fs.existsSync(rootDir) || !fs.statSync(rootDir).isDirectory()) {
    return Promise.reject(new Error(`startServer: root is not a directory: ${rootDir}`));
  }
  let mountList;
  try {
    mountList = normalizeMounts(mounts);
  } catch (e) {
    return Promise.reject(e);
  }
  const requestLog = new RequestLog({ limit: logLimit, verbose });
  const faults = { cuts: [], stopped: new Set() };
  const server = http.createServer(makeHandler(rootDir, mountList, requestLog, faults));
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
        /** The request log, oldest first (live: entries are updated as responses progress). */
        requests: requestLog.entries,
        waitForRequest: (predicate, opts) => requestLog.waitFor(predicate, opts),
        clearLog: () => requestLog.clear(),
        /** Changes (or with null removes) a mount's rate limit; applies to responses started later. */
        setThrottle: (prefix, bytesPerSecond) => {
          const p = normalizePrefix(prefix);
          const m = mountList.find((x) => x.prefix === p);
          if (!m) throw new Error(`setThrottle: no mount ${p}`);
          m.bytesPerSecond = checkRate(bytesPerSecond, p);
        },
        /** Cuts the next `times` GETs matching `match` (a URL path or a predicate) after `bytes` body bytes. */
        cutAfter: (match, bytes, { times = 1 } = {}) => {
          const matches = typeof match === 'function' ? match : (e) => e.path === match;
          faults.cuts.push({ matches, bytes: Math.max(0, Math.floor(bytes)), times });
        },
        /** Stops (or restarts) a mount, or the root with '/': its requests get no answer. */
        setStopped: (prefix, stopped = true) => {
          const p = prefix === '/' ? '/' : normalizePrefix(prefix);
          if (p !== '/' && !mountList.some((x) => x.prefix === p)) throw new Error(`setStopped: no mount ${p}`);
          if (stopped) faults.stopped.add(p);
          else faults.stopped.delete(p);
        },
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
  const throttles = [];
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
      opts.mounts.push([spec.slice(0, eq), spec.slice(eq + 1), {}]);
    } else if (a === '--throttle') {
      const spec = next();
      const eq = spec.indexOf('=');
      if (eq <= 0) throw new Error(`--throttle expects /prefix=BYTES_PER_SECOND, got ${spec}`);
      throttles.push([normalizePrefix(spec.slice(0, eq)), Number(spec.slice(eq + 1))]);
    } else if (a === '--verbose' || a === '-v') opts.verbose = true;
    else if (a === '--help' || a === '-h') {
      console.log(
        'usage: static-server.mjs --root DIR --port N [--mount /prefix=DIR ...] [--throttle /prefix=BYTES_PER_SECOND ...] [--verbose]',
      );
      process.exit(0);
    } else throw new Error(`unknown argument: ${a}`);
  }
  if (!opts.root) throw new Error('--root DIR is required');
  for (const [prefix, bps] of throttles) {
    const m = opts.mounts.find(([p]) => normalizePrefix(p) === prefix);
    if (!m) throw new Error(`--throttle ${prefix}: no --mount with that prefix`);
    m[2].bytesPerSecond = checkRate(bps, prefix);
  }
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
