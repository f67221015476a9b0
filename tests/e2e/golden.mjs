// Loader for the golden attention fixtures in tests/golden/fixtures/ (written by
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
