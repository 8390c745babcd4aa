/**
 * Discrete (plug-in) entropies of integer-coded states. Everything is float64 and in bits;
 * convert at the boundary with `toUnit`.
 */

export interface StateIds {
  /** State id per row, 0..count-1 in order of first appearance. */
  ids: Int32Array;
  /** Number of distinct states. */
  count: number;
}

function hashRow(codes: Int32Array, off: number, d: number): number {
  let h = 0x811c9dc5 ^ d;
  for (let j = 0; j < d; j++) {
    h = Math.imul(h ^ codes[off + j], 0x01000193);
    h ^= h >>> 15;
  }
  return Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
}

function rowsEqual(codes: Int32Array, a: number, b: number, d: number): boolean {
  for (let j = 0; j < d; j++) if (codes[a + j] !== codes[b + j]) return false;
  return true;
}

/**
 * Assigns one id per distinct row of an N x d integer matrix (rows compared exactly), with an
 * open-addressing hash table: O(N d) time, no per-row allocation.
 */
export function distinctRows(codes: Int32Array, rows: number, cols: number): StateIds {
  let size = 16;
  while (size < rows * 2) size <<= 1;
  const mask = size - 1;
  const slotRow = new Int32Array(size).fill(-1);
  const slotId = new Int32Array(size);
  const ids = new Int32Array(rows);
  let count = 0;
  for (let i = 0; i < rows; i++) {
    const off = i * cols;
    let s = hashRow(codes, off, cols) & mask;
    for (;;) {
      const r = slotRow[s];
      if (r < 0) {
        slotRow[s] = i;
        slotId[s] = count;
        ids[i] = count++;
        break;
      }
      if (rowsEqual(codes, r * cols, off, cols)) {
        ids[i] = slotId[s];
        break;
      }
      s = (s + 1) & mask;
    }
  }
  return {ids, count};
}

/**
 * Input identity per row of a float32 matrix (rows compared value by value; -0 equals 0), or
 * undefined when all rows are distinct, which is the common case (then H(T|X) = 0).
 */
export function rowIds(x: Float32Array, n: number): Int32Array | undefined {
  if (x.length === 0) return undefined; // no inputs recorded (an imported run without x.npy)
  let copy: Float32Array | undefined;
  for (let i = 0; i < x.length; i++) {
    if (Object.is(x[i], -0)) (copy ??= Float32Array.from(x))[i] = 0;
  }
  const v = copy ?? x;
  const bits = new Int32Array(v.buffer, v.byteOffset, v.length);
  const s = distinctRows(bits, n, n > 0 ? v.length / n : 0);
  return s.count === n ? undefined : s.ids;
}

/** Ids of distinct (a, b) pairs. */
export function pairIds(a: StateIds, b: StateIds): StateIds {
  const n = a.ids.length;
  const codes = new Int32Array(2 * n);
  for (let i = 0; i < n; i++) {
    codes[2 * i] = a.ids[i];
    codes[2 * i + 1] = b.ids[i];
  }
  return distinctRows(codes, n, 2);
}

/** Ids of arbitrary integer labels (e.g. class labels or input ids). */
export function labelIds(labels: Int32Array): StateIds {
  return distinctRows(labels, labels.length, 1);
}

/** Shannon entropy in bits of the empirical distribution of `s` (each row weight 1/N). */
export function entropyBits(s: StateIds): number {
  const n = s.ids.length;
  if (n === 0) return 0;
  const counts = new Float64Array(s.count);
  for (let i = 0; i < n; i++) counts[s.ids[i]]++;
  // summed in increasing order of count, not in order of first appearance: the result depends
  // only on the multiset of counts, so permuting the rows gives bit-identical entropies
  counts.sort();
  let acc = 0;
  for (let k = 0; k < s.count; k++) {
    const c = counts[k];
    acc += c * Math.log2(c);
  }
  // H = -sum (c/N) log2(c/N) = log2 N - (1/N) sum c log2 c
  const h = Math.log2(n) - acc / n;
  return h < 0 ? 0 : h;
}

/**
 * I(X;T) and I(T;Y) of a discretised representation, in bits, under the empirical distribution:
 * I(X;T) = H(T) - H(T|X), I(T;Y) = H(T) - H(T|Y), with H(T|V) = H(T,V) - H(V).
 */
export function discreteMi(t: StateIds, y: Int32Array, xIds?: Int32Array): {ixt: number; ity: number; ht: number} {
  const ht = entropyBits(t);
  let htx = 0;
  if (xIds) {
    const x = labelIds(xIds);
    htx = entropyBits(pairIds(t, x)) - entropyBits(x);
  }
  const yy = labelIds(y);
  const hty = entropyBits(pairIds(t, yy)) - entropyBits(yy);
  return {ixt: Math.max(0, ht - htx), ity: Math.max(0, ht - hty), ht};
}

export const LN2 = Math.LN2;

/** Converts a value in bits to the requested unit. */
export function toUnit(bits: number, unit: 'bits' | 'nats'): number {
  return unit === 'nats' ? bits * LN2 : bits;
}
