// Loader for the golden attention (and query/key) fixtures in tests/golden/fixtures/ (written by
// tests/golden/make_golden.py).
//
// `<name>.json` holds `tokens`, `shape` = [L, H, n, n] and `attention_file`; the attention
// file is gzip of four byte planes: for N = L*H*n*n values, bytes[0..N] are the least
// significant bytes of each u32, bytes[N..2N] the next, and so on; weight = u32 / 2^24;
// index = ((l*H + h)*n + i)*n + j  (i = "from" / query row, j = "to" / key column).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const FIXTURES_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'golden',
  'fixtures',
);

/** Decode the byte-plane buffer (already gunzipped) into a Float64Array of weights. */
export function decodePlanes(bytes, count) {
  if (bytes.length !== 4 * count) {
    throw new Error(`attention data has ${bytes.length} bytes, expected 4 * ${count}`);
  }
  const out = new Float64Array(count);
  const scale = 2 ** -24;
  for (let k = 0; k < count; k++) {
    const u =
      (bytes[k] | (bytes[count + k] << 8) | (bytes[2 * count + k] << 16) | (bytes[3 * count + k] << 24)) >>> 0;
    out[k] = u * scale;
  }
  return out;
}

/**
 * Load fixture `name` (e.g. "bank") from `dir`.
 * @returns {{meta: object, tokens: string[], shape: number[], layers: number, heads: number,
 *            n: number, values: Float64Array, at: (l: number, h: number, i: number, j: number) => number}}
 */
export function loadGolden(name, dir = FIXTURES_DIR) {
  const metaPath = path.join(dir, `${name}.json`);
  const meta = JSON.parse(fs.readFileSync(metaPath, 'utf8'));
  const { tokens, shape, attention_file: attentionFile } = meta;
  if (!Array.isArray(tokens) || !Array.isArray(shape) || shape.length !== 4 || !attentionFile) {
    throw new Error(`${metaPath}: expected fields tokens, shape [L,H,n,n], attention_file`);
  }
  const [layers, heads, n, n2] = shape;
  if (n !== n2 || n !== tokens.length) {
    throw new Error(`${metaPath}: shape ${JSON.stringify(shape)} does not match ${tokens.length} tokens`);
  }
  const count = layers * heads * n * n;
  const values = decodePlanes(gunzipSync(fs.readFileSync(path.join(dir, attentionFile))), count);
  const at = (l, h, i, j) => {
    for (const [v, max, what] of [[l, layers, 'layer'], [h, heads, 'head'], [i, n, 'i'], [j, n, 'j']]) {
      if (!Number.isInteger(v) || v < 0 || v >= max) throw new RangeError(`${what} ${v} out of range 0..${max - 1}`);
    }
    return values[((l * heads + h) * n + i) * n + j];
  };
  return { meta, tokens, shape, layers, heads, n, values, at };
}

/**
 * Load fixture `name`'s per-head queries and keys (`<name>.qk.gz`, named by `qk_file` in
 * `<name>.json`): gzip of little-endian float32 q followed by k, each [L, H, n, d] in C order,
 * taken after the projections' bias and before the 1/sqrt(d) scaling.
 * index = ((l*H + h)*n + i)*d + dim.
 * @returns {{shape: number[], q: Float32Array, k: Float32Array,
 *            qAt: (l: number, h: number, i: number, dim: number) => number,
 *            kAt: (l: number, h: number, j: number, dim: number) => number}}
 */
export function loadQk(name, dir = FIXTURES_DIR) {
  const metaPath = path.join(dir, `${name}.json`);
  const meta = JSON.parse(fs.readFileSync(metaPath, 'utf8'));
  const { qk_file: qkFile, qk_shape: shape, tokens } = meta;
  if (!qkFile || !Array.isArray(shape) || shape.length !== 4 || !shape.every((v) => Number.isInteger(v) && v > 0)) {
    throw new Error(`${metaPath}: expected fields qk_file and qk_shape [L,H,n,d] (run make_golden.py --only-qk)`);
  }
  const [layers, heads, n, d] = shape;
  if (Array.isArray(tokens) && n !== tokens.length) {
    throw new Error(`${metaPath}: qk_shape ${JSON.stringify(shape)} does not match ${tokens.length} tokens`);
  }
  const count = layers * heads * n * d;
  const raw = gunzipSync(fs.readFileSync(path.join(dir, qkFile)));
  if (raw.length !== 2 * 4 * count) {
    throw new Error(`${qkFile} has ${raw.length} bytes, expected 2 * 4 * ${count}`);
  }
  // Copy out of the (possibly unaligned, pooled) Buffer, reading little-endian explicitly.
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const read = (offset) => {
    const out = new Float32Array(count);
    for (let x = 0; x < count; x++) out[x] = view.getFloat32(offset + 4 * x, true);
    return out;
  };
  const q = read(0);
  const k = read(4 * count);
  const index = (l, h, t, dim, tokenName) => {
    for (const [v, max, what] of [[l, layers, 'layer'], [h, heads, 'head'], [t, n, tokenName], [dim, d, 'dim']]) {
      if (!Number.isInteger(v) || v < 0 || v >= max) throw new RangeError(`${what} ${v} out of range 0..${max - 1}`);
    }
    return ((l * heads + h) * n + t) * d + dim;
  };
  return {
    shape: [layers, heads, n, d],
    q,
    k,
    qAt: (l, h, i, dim) => q[index(l, h, i, dim, 'i')],
    kAt: (l, h, j, dim) => k[index(l, h, j, dim, 'j')],
  };
}

// ---------------------------------------------------------------------------------------------
// Pure helpers over the golden tensors, for tests that check what a view shows after its
// options. They re-derive the transformations from the fixture alone (never from the app).

/** WordPiece's special tokens as they appear in the fixtures' `tokens`. */
export const SPECIAL_TOKENS = new Set(['[CLS]', '[SEP]', '[PAD]', '[MASK]']);

/** Head (l, h) of a `loadGolden` result as a row-major n×n Float64Array (row = "from"). */
export function headMatrix(golden, l, h) {
  const { n } = golden;
  const start = (l * golden.heads + h) * n * n;
  return golden.values.slice(start, start + n * n);
}

/**
 * The rows/columns a view shows for `tokens` under the options, as
 * `[{ label, members, special, segment }]` (members: token indices, ascending).
 * - `mergeWords`: consecutive non-special tokens of the same input, where every later piece
 *   starts with "##", form one word, labelled by its pieces without "##";
 * - `hideSpecial`: [CLS]/[SEP] (`isSpecial`) are dropped;
 * - `segment`: 0 before the first token of input B (`typeIds[i] === 1`), 1 from there on.
 */
export function optionUnits(tokens, { hideSpecial = false, mergeWords = false, typeIds = null, isSpecial = (t) => SPECIAL_TOKENS.has(t) } = {}) {
  const bStart = typeIds ? typeIds.findIndex((t) => t === 1) : -1;
  const segment = (i) => (bStart >= 0 && i >= bStart ? 1 : 0);
  const units = [];
  tokens.forEach((t, i) => {
    const special = isSpecial(t);
    const last = units[units.length - 1];
    const joins =
      mergeWords && !special && t.startsWith('##') && last && !last.special && segment(last.members[0]) === segment(i);
    if (joins) {
      last.members.push(i);
      last.label += t.slice(2);
    } else {
      units.push({ label: t, members: [i], special, segment: segment(i) });
    }
  });
  return hideSpecial ? units.filter((u) => !u.special) : units;
}

/**
 * An n×n matrix mapped to `units`: a unit's row is the MEAN of its members' rows, a unit's
 * column the SUM of its members' columns (Clark et al. 2019); each row is then renormalised to
 * sum to 1 (what is left after hidden tokens drop out). Returns an m×m Float64Array.
 */
export function applyUnits(matrix, n, units) {
  const m = units.length;
  const out = new Float64Array(m * m);
  units.forEach((r, a) => {
    let total = 0;
    units.forEach((c, b) => {
      let sum = 0;
      for (const i of r.members) for (const j of c.members) sum += matrix[i * n + j];
      out[a * m + b] = sum / r.members.length;
      total += out[a * m + b];
    });
    if (total > 0) for (let b = 0; b < m; b++) out[a * m + b] /= total;
  });
  return out;
}

/** Mean over rows of the row entropy −Σ a·ln a (nats; 0·ln 0 = 0) of an n×n matrix. */
export function meanRowEntropy(matrix, n) {
  let total = 0;
  for (const a of matrix) if (a > 0) total -= a * Math.log(a);
  return total / n;
}

/**
 * Column indices of the `k` largest weights of `row`, ties to the lower index, plus the margin
 * between the k-th and (k+1)-th largest (how safely a rounding error cannot change the set).
 */
export function topK(row, k) {
  const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a] || a - b);
  const kept = new Set(order.slice(0, k));
  const margin = k < order.length && k > 0 ? row[order[k - 1]] - row[order[k]] : Infinity;
  return { kept, order, margin };
}

/**
 * How many weights of head matrices are `>= threshold`, over the (i, j) that `allow` accepts:
 * `{ count, low, high }` where `[low, high]` is the range a computation within `tolerance` of
 * the golden values can give (weights within `tolerance` of the threshold may go either way).
 */
export function countAtLeast(matrices, n, threshold, { allow = () => true, tolerance = 0 } = {}) {
  let count = 0;
  let low = 0;
  let high = 0;
  for (const mat of matrices) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (!allow(i, j)) continue;
        const w = mat[i * n + j];
        if (w >= threshold) count++;
        if (w >= threshold + tolerance) low++;
        if (w >= threshold - tolerance) high++;
      }
    }
  }
  return { count, low, high };
}
