// attention-viz service worker: keeps the app shell (index.html, the page's JS, wasm and CSS,
// the engine worker's loader, JS and wasm) so that the app opens without a network after the
// first visit.
//
// - Only same-origin app files listed in MANIFEST are answered from the cache; every other
//   request (model files, other hosts) goes to the network untouched. Model files are kept by
//   the engine worker in its own Cache Storage cache (src/net/cache.rs), not here.
// - One cache per release, `attention-viz-shell-<version>`, the version being a hash of every
//   file's contents. A new release is a new sw.js (new version, new hashed file names from
//   trunk); it installs next to the old one, checks every file it saves against the hash in
//   its manifest (so a half-updated server cannot give it a mix), and waits until the page
//   asks it to take over ("Reload to update") or until no page uses the old one. Then it
//   deletes the old caches. Pages never get old and new files mixed.
//
// - Every app file it answers gets the headers that make the page cross-origin isolated
//   (COOP same-origin, COEP require-corp), which hosts like GitHub Pages cannot send: an isolated
//   page has SharedArrayBuffer, so it runs the multi-threaded engine (src/ui/engine.rs). A first
//   visit's page did not come through here; it reloads once when this worker takes control
//   (src/ui/isolation.rs).
//
// This file is a template: scripts/service-worker.mjs (a trunk post_build hook, Trunk.toml)
// writes dist/sw.js with MANIFEST filled in. Without a manifest (the template served as is),
// and under `trunk serve` (MANIFEST.dev), it removes itself and its caches instead.
'use strict';

const MANIFEST = null; // @@MANIFEST@@

const PREFIX = 'attention-viz-shell-';

/** Removes every app-shell cache (never the models' cache). */
async function deleteShellCaches(keep) {
  const names = await caches.keys();
  await Promise.all(names.filter((n) => n.startsWith(PREFIX) && n !== keep).map((n) => caches.delete(n)));
}

if (!MANIFEST || MANIFEST.dev) {
  // Development (or an unbuilt template): step aside, so a reload always shows the latest build.
  self.addEventListener('install', () => self.skipWaiting());
  self.addEventListener('activate', (event) => {
    event.waitUntil(
      (async () => {
        await deleteShellCaches(null);
        await self.registration.unregister();
        const pages = await self.clients.matchAll({ type: 'window' });
        for (const page of pages) page.navigate(page.url).catch(() => {});
      })(),
    );
  });
} else {
  const CACHE = PREFIX + MANIFEST.version;
  const scope = new URL(self.registration.scope);
  const INDEX = new URL('index.html', scope).href;
  /** URL (no query) → expected SHA-256 (hex) of every file of this release. */
  const FILES = new Map(MANIFEST.files.map((f) => [new URL(f.path, scope).href, f.sha256]));

  const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

  // COEP require-corp rather than credentialless (which Safari lacks): the app loads nothing
  // cross-origin without CORS (the model downloads are CORS requests). The engine's workers need
  // the same COEP as the page, or the isolated page may not start them. CORP cross-origin lets
  // an isolated page of another site embed the app (it also needs allow="cross-origin-isolated").
  const ISOLATION = [
    ['Cross-Origin-Opener-Policy', 'same-origin'],
    ['Cross-Origin-Embedder-Policy', 'require-corp'],
    ['Cross-Origin-Resource-Policy', 'cross-origin'],
  ];
  /** `response` with the isolation headers (a new Response: cached ones are immutable). */
  const isolate = (response) => {
    if (response.type === 'opaque' || response.type === 'opaqueredirect') return response;
    const headers = new Headers(response.headers);
    for (const [name, value] of ISOLATION) headers.set(name, value);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  };

  self.addEventListener('install', (event) => {
    event.waitUntil(
      (async () => {
        const cache = await caches.open(CACHE);
        for (const [url, sha256] of FILES) {
          const response = await fetch(url, { cache: 'no-store' });
          if (!response.ok) throw new Error(`${url}: ${response.status}`);
          const body = await response.clone().arrayBuffer();
          const digest = hex(await crypto.subtle.digest('SHA-256', body));
          // Another release was deployed meanwhile: do not save a mix; the next visit retries.
          if (digest !== sha256) throw new Error(`${url} does not belong to release ${MANIFEST.version}`);
          // Stored with the isolation headers, so that a hit is answered as the cache gives it:
          // a Response rebuilt around its body at every fetch streams through this worker's
          // thread (measured 36 ms slower to the first heatmap, median of paired visits).
          await cache.put(url, isolate(new Response(body, response)));
        }
      })().catch(async (e) => {
        await caches.delete(CACHE);
        throw e;
      }),
    );
  });

  self.addEventListener('activate', (event) => {
    event.waitUntil(
      (async () => {
        await deleteShellCaches(CACHE);
        // The first install takes the open page at once (it has no older version to mix with).
        await self.clients.claim();
      })(),
    );
  });

  self.addEventListener('message', (event) => {
    if (event.data === 'skip-waiting') self.skipWaiting();
  });

  self.addEventListener('fetch', (event) => {
    const request = event.request;
    if (request.method !== 'GET') return;
    const url = new URL(request.url);
    if (url.origin !== scope.origin) return;
    url.search = '';
    url.hash = '';
    let key = url.href;
    if (request.mode === 'navigate' && (key === scope.href || key === INDEX)) key = INDEX;
    if (!FILES.has(key)) return; // not an app file: the network, untouched
    event.respondWith(
      (async () => {
        const cache = await caches.open(CACHE);
        const hit = await cache.match(key);
        return hit ?? isolate(await fetch(request));
      })(),
    );
  });
}
