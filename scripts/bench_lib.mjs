// Helpers shared by the browser benchmarks (scripts/bench_*.mjs): statistics, FLOP counts,
// a fresh Chromium with a known browser process, and the renderer's memory read from /proc.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { LAUNCH_ARGS } from '../tests/e2e/browser.mjs';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** { n, median, min, max } of a list of numbers (median of an even count: the mean of the two middle ones). */
export function stats(xs) {
  const v = [...xs].sort((a, b) => a - b);
  const median = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  return { n: v.length, median, min: v[0], max: v[v.length - 1] };
}

export function fmt(x) {
  return x == null || Number.isNaN(x) ? '-' : x.toFixed(x >= 100 ? 0 : x >= 10 ? 1 : 2);
}

/**
 * Floating-point operations of one BERT encoder forward pass at `n` tokens (multiply-adds
 * counted as 2): per layer Q, K, V and the output projection (4 · 2·n·d²), scores and context
 * (2 · 2·n²·d), the feed-forward pair (2 · 2·n·d·ff). Softmax, LayerNorm, GELU and the
 * embeddings are left out (well under 1 % at these sizes).
 */
export function bertFlops({ hidden_size: d, num_hidden_layers: layers, intermediate_size: ff }, n) {
  return layers * (8 * n * d * d + 4 * n * n * d + 4 * n * d * ff);
}

/**
 * What our engine executes of that (src/model/bert.rs: when only attention is wanted, the last
 * layer stops after its probabilities): every layer but the last in full, then the last one's
 * query and key projections (2 · 2·n·d²) and scores (2·n²·d). The same matmul FLOPs, minus the
 * last layer's values, context, output projection and feed-forward.
 */
export function attentionFlops({ hidden_size: d, num_hidden_layers: layers, intermediate_size: ff }, n) {
  return (layers - 1) * (8 * n * d * d + 4 * n * n * d + 4 * n * d * ff) + 4 * n * d * d + 2 * n * n * d;
}

/**
 * Bytes of weights those matmuls read (f32): the engine's matrix product reads each weight once
 * per pass (src/model/kernels/mod.rs: a tile of `w`'s rows stays in L1 while every input row
 * passes), so this over the read bandwidth is the pass's memory bound.
 */
export function attentionWeightBytes({ hidden_size: d, num_hidden_layers: layers, intermediate_size: ff }) {
  return 4 * ((layers - 1) * (4 * d * d + 2 * d * ff) + 2 * d * d);
}

/** pid → parent pid, for every process. */
function parents() {
  const map = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      map.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  return map;
}

/** Renderer processes descending from the browser process `root`. */
export function renderers(root) {
  const pp = parents();
  const out = [];
  for (const pid of pp.keys()) {
    let p = pid;
    let ok = false;
    for (let hops = 0; hops < 8 && p > 1; hops++) {
      p = pp.get(p);
      if (p === root) {
        ok = true;
        break;
      }
    }
    if (!ok) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) out.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** { rss, hwm } of a process in bytes (VmRSS, VmHWM), or null when it is gone. */
export function procMemory(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** Resets the peak (VmHWM) of every renderer of `root`; returns pid → RSS now. */
export function resetPeaks(root) {
  const base = new Map();
  for (const pid of renderers(root)) {
    const s = procMemory(pid);
    if (!s) continue;
    base.set(pid, s.rss);
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
  }
  return base;
}

/** The renderer whose peak grew most since `base`: { pid, before, peak, after, grew }. */
export function biggestPeak(root, base) {
  let best = null;
  for (const pid of renderers(root)) {
    const s = procMemory(pid);
    if (!s || !base.has(pid)) continue;
    const grew = s.hwm - base.get(pid);
    if (!best || grew > best.grew) best = { pid, before: base.get(pid), peak: s.hwm, after: s.rss, grew };
  }
  return best;
}

/** The browser process of a persistent context (playwright does not expose it): by profile dir. */
export function findBrowserPid(profile) {
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes(`--user-data-dir=${profile}`) && !cmd.includes('--type=')) return Number(d);
    } catch {
      // gone
    }
  }
  throw new Error('cannot find the browser process');
}

/**
 * A fresh headless Chromium (new empty profile, the e2e tests' flags plus `extraArgs`):
 * { context, root (browser pid), close() }.
 */
export async function launchFresh({ extraArgs = [], viewport = { width: 1280, height: 1000 } } = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...LAUNCH_ARGS, ...extraArgs],
    viewport,
    deviceScaleFactor: 1,
  });
  const root = findBrowserPid(profile);
  return {
    context,
    root,
    version: context.browser()?.version() ?? null,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * A text of exactly `n` tokens for a BERT uncased vocabulary (as scripts/bench_views.mjs):
 * `n - 2` whole words of the vocabulary (+ [CLS] and [SEP]), in a fixed pseudo-random order.
 */
export function textOf(n, vocab) {
  const pool = `the of and to in is was he for it with as his on be at by had are but from or
    she an they which you one were her all we there been has when who will more no if out so said
    what up its about into than them can only other new some could time these two may then do first
    any my now such like our over man me even most made after also did many before must through back
    years where much your way well down should because each just those people how too little state
    good very make world still own see men work long get here between both life being under never day
    same another know while last might us great old year off come since against go came right used
    take three house bank river money water city music game night light story voice letter table`
    .split(/\s+/)
    .filter((w) => w && Object.hasOwn(vocab, w));
  let seed = 12345;
  const words = [];
  for (let k = 0; k < n - 2; k++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    words.push(pool[seed % pool.length]);
  }
  return words.join(' ');
}

/** CPU busy fraction of the whole machine (0..1, all cores) over `ms`, from /proc/stat. */
export async function cpuBusy(ms = 1000) {
  const read = () => {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  return b.total > a.total ? 1 - (b.idle - a.idle) / (b.total - a.total) : 0;
}

/**
 * Waits (at most `maxWaitMs`, env BENCH_QUIET_WAIT_S, default 0 = do not wait) until the machine
 * has been quiet (busy < `threshold` of all cores) for 3 consecutive seconds: on a shared machine
 * a build in the background makes every figure of a benchmark meaningless. Returns
 * { waitedMs, busy } (busy: the last second's fraction).
 */
export async function waitQuiet({ maxWaitMs = Number(process.env.BENCH_QUIET_WAIT_S || 0) * 1000, threshold = 0.15, label = '' } = {}) {
  const t0 = Date.now();
  let quiet = 0;
  let busy = await cpuBusy(1000);
  if (maxWaitMs <= 0) return { waitedMs: 0, busy };
  while (Date.now() - t0 < maxWaitMs) {
    if (busy < threshold) {
      if (++quiet >= 3) break;
    } else quiet = 0;
    busy = await cpuBusy(1000);
  }
  const waitedMs = Date.now() - t0;
  if (waitedMs > 5000) {
    console.log(`  (${label ? label + ': ' : ''}waited ${(waitedMs / 1000).toFixed(0)} s for a quiet machine; busy ${(busy * 100).toFixed(0)} % of ${os.cpus().length} cores${busy >= threshold ? ', gave up' : ''})`);
  }
  return { waitedMs, busy };
}
