import {Rng} from '../util/prng.js';

/**
 * Rows to keep of `n` when at most `max` are wanted: a seeded subset (increasing order) drawn with
 * `Rng(seed, label)`, or undefined (all rows) when `max` is absent or at least n. The same seed and
 * label give the same rows, so a metric sees the same rows at every epoch. O(n).
 */
export function seededRows(n: number, max: number | undefined, seed: number, label: string): Int32Array | undefined {
  if (max === undefined || n <= max) return undefined;
  return new Rng(seed, label).permutation(n).slice(0, max).sort();
}
