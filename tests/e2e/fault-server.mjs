// A fault-injecting HTTP server for tests/e2e/faults.test.mjs (node:http only), on 127.0.0.1.
//
//   startFaultServer({ root, hub: { prefix, dir }, port = 0 }) -> Promise<{ url, port, requests, setFault,
//     clearFault, clearFaults, release, waitForRequest, close }>
//
// - serves the built site from `root` (GET/HEAD, `/` = index.html, Content-Type from the
//   extension, an exact Content-Length, `Cache-Control: no-store`, CORS `*` with the download
//   headers exposed, `Accept-Ranges: bytes` and single byte ranges);
// - serves one model directory `hub.dir` under every repo of the hub:
//   `<prefix>/<any repo>/resolve/<any revision>/<file>` is `hub.dir/<file>`, so each test case
//   can use its own repo (its own Cache Storage entries) and the same three files; the
//   weights' answers (GET and HEAD) carry their SHA-256 as `X-Linked-Etag`, as the Hub's do;
// - `setFault(path, fault)` makes requests for that exact URL path (or, with a function, the
//   paths it accepts) misbehave until `clearFault(path)`; `fault` is one of:
//     { status, body?, headers? }          an answer with that status and body (404, 403, an
//                                          HTML page with 200: a captive portal)
//     { body, contentLength?, hold? }      200 with these bytes instead of the file, optionally
//                                          with a Content-Length that lies (more or fewer bytes
//                                          than sent); the connection is closed after the body,
//                                          or with `hold` kept open (and idle) until released
//     { cutAfter: n }                      the file's headers and n bytes, then the connection
//                                          is destroyed (a download that breaks off)
//     { stallAfter: n }                    the headers and n bytes, then silence: the
//                                          connection stays open and idle until released
//                                          (`release()`) or the client gives up
//     { refuse: true }                     the connection is destroyed before any answer
//   `methods` (default ['GET']) limits a fault to some methods (HEAD requests for sizes get
//   the real answer unless 'HEAD' is listed);
// - `release()` ends every stalled response (destroys its connection);
// - `requests`: the log, oldest first: { id, method, path, status, bytes, fault, done }.
// `waitForRequest(pred, { timeout })` resolves with the first entry (logged or to come) for
// which `pred` holds, checked whenever an entry changes.

import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import { mimeType, parseRange } from './static-server.mjs';

const HOST = '127.0.0.1';
const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Content-Length, Content-Type, Accept-Ranges, Content-Range, X-Linked-Etag',
  'Cross-Origin-Resource-Policy': 'cross-origin',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

export function startFaultServer({ root, hub, port: listenPort = 0 }) {
  const rootDir = path.resolve(root);
  const hubPrefix = '/' + hub.prefix.replace(/^\/+|\/+$/g, '');
  const hubDir = path.resolve(hub.dir);
  // Like the Hub for its LFS files, the weights' answers carry their SHA-256 (X-Linked-Etag).
  const weightsSha = crypto.createHash('sha256').update(fs.readFileSync(path.join(hubDir, 'model.safetensors'))).digest('hex');
  const faults = new Map(); // path or predicate id -> { match, fault }
  const stalled = new Set();
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const requests = [];
  let nextId = 1;

  const findFault = (method, p) => {
    for (const { match, fault } of faults.values()) {
      if ((fault.methods ?? ['GET']).includes(method) && match(p)) return fault;
    }
    return null;
  };

  /** The file a URL path names: the site, or the model under any hub repo. */
  const fileFor = (p) => {
    if (p.startsWith(hubPrefix + '/')) {
      const m = /\/resolve\/[^/]+\/([^/]+)$/.exec(p);
      return m ? path.join(hubDir, m[1]) : null;
    }
    const rel = p === '/' ? 'index.html' : p.slice(1);
    const file = path.resolve(rootDir, rel);
    return file.startsWith(rootDir + path.sep) ? file : null;
  };

  const server = http.createServer((req, res) => {
    let p;
    try {
      p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      p = null;
    }
    const entry = { id: nextId++, method: req.method, path: p, status: null, bytes: 0, fault: null, done: false };
    requests.push(entry);
    const changed = () => events.emit('entry', entry);
    res.on('close', () => {
      entry.status ??= res.headersSent ? res.statusCode : null;
      entry.done = true;
      changed();
    });
    changed();
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...CORS, 'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS', 'Access-Control-Allow-Headers': '*', 'Content-Length': 0 });
      res.end();
      return;
    }
    const fault = p && findFault(req.method, p);
    if (fault) {
      entry.fault = fault.name ?? Object.keys(fault).find((k) => k !== 'methods' && k !== 'name');
      serveFault(req, res, entry, fault, p, changed);
      return;
    }
    const file = p && fileFor(p);
    let st = null;
    try {
      st = file && fs.statSync(file);
    } catch {
      st = null;
    }
    if (!st || !st.isFile()) {
      const body = Buffer.from(`not found: ${p}\n`);
      entry.status = 404;
      res.writeHead(404, { ...CORS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const range = req.method === 'GET' ? parseRange(req.headers.range, st.size) : null;
    if (range === 'unsatisfiable') {
      entry.status = 416;
      res.writeHead(416, { ...CORS, 'Content-Range': `bytes */${st.size}`, 'Content-Length': 0 });
      res.end();
      return;
    }
    const length = range ? range.end - range.start + 1 : st.size;
    entry.status = range ? 206 : 200;
    res.writeHead(entry.status, {
      ...CORS,
      'Content-Type': mimeType(file),
      'Content-Length': length,
      'Accept-Ranges': 'bytes',
      ...(range ? { 'Content-Range': `bytes ${range.start}-${range.end}/${st.size}` } : {}),
      ...(p.startsWith(hubPrefix + '/') && p.endsWith('/model.safetensors') ? { 'X-Linked-Etag': `"${weightsSha}"` } : {}),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = fs.createReadStream(file, range ?? {});
    stream.on('data', (b) => {
      entry.bytes += b.length;
      changed();
    });
    stream.on('error', () => res.destroy());
    res.on('close', () => stream.destroy());
    stream.pipe(res);
  });

  function serveFault(req, res, entry, fault, p, changed) {
    if (fault.refuse) {
      req.socket.destroy();
      return;
    }
    if (fault.status) {
      const body = Buffer.from(fault.body ?? `status ${fault.status}\n`);
      entry.status = fault.status;
      res.writeHead(fault.status, { ...CORS, 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': body.length, ...(fault.headers ?? {}) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const file = fileFor(p);
    const body = fault.body != null ? Buffer.from(fault.body) : fs.readFileSync(file);
    const length = fault.contentLength ?? body.length;
    entry.status = 200;
    res.writeHead(200, {
      ...CORS,
      'Content-Type': fault.contentType ?? (file ? mimeType(file) : 'application/octet-stream'),
      'Content-Length': length,
      'Accept-Ranges': 'bytes',
      Connection: 'close',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // node:http does not check a body against its Content-Length (strictContentLength is off),
    // which is the point here; `Connection: close` keeps a lying length off a reused connection.
    const send = (buf) => {
      entry.bytes += buf.length;
      changed();
      return new Promise((done) => res.write(buf, () => done()));
    };
    if (fault.cutAfter != null) {
      send(body.subarray(0, fault.cutAfter)).then(() => res.destroy());
    } else if (fault.stallAfter != null || fault.hold) {
      stalled.add(res);
      res.on('close', () => stalled.delete(res));
      send(body.subarray(0, fault.stallAfter ?? body.length));
    } else {
      send(body).then(() => res.end());
    }
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, HOST, () => {
      const port = server.address().port;
      resolve({
        url: `http://${HOST}:${port}`,
        port,
        requests,
        /** Makes requests for `match` (a URL path, or a predicate on it) misbehave as `fault` says. */
        setFault(match, fault) {
          const key = typeof match === 'string' ? match : Symbol('fault');
          faults.set(key, { match: typeof match === 'string' ? (p) => p === match : match, fault });
          return key;
        },
        clearFault(key) {
          faults.delete(key);
        },
        clearFaults() {
          faults.clear();
        },
        /** Ends every stalled response (its connection is destroyed). */
        release() {
          for (const res of stalled) res.destroy();
          stalled.clear();
        },
        waitForRequest(pred, { timeout = 10_000 } = {}) {
          const found = requests.find(pred);
          if (found) return Promise.resolve(found);
          return new Promise((ok, fail) => {
            const on = (e) => {
              if (!pred(e)) return;
              clearTimeout(timer);
              events.off('entry', on);
              ok(e);
            };
            const timer = setTimeout(() => {
              events.off('entry', on);
              const tail = requests.slice(-6).map((e) => `${e.method} ${e.path} ${e.status} ${e.bytes}${e.fault ? ` [${e.fault}]` : ''}`);
              fail(new Error(`no request matched within ${timeout} ms; last: ${tail.join('; ')}`));
            }, timeout);
            events.on('entry', on);
          });
        },
        close: () =>
          new Promise((done) => {
            for (const res of stalled) res.destroy();
            server.close(() => done());
            server.closeAllConnections?.();
          }),
      });
    });
  });
}
