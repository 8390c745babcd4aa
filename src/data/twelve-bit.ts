import {z} from 'zod';
import type {Dataset, DatasetType} from './types.js';

/**
 * The 12-bit task of Shwartz-Ziv & Tishby (var_u.mat), rebuilt exactly from a rule
 * (docs/metrics.md, headline experiments): 12 binary inputs on the vertices of an icosahedron; the label depends on
 * how many points are active (w), how many icosahedron edges they span (E) and how many
 * antipodal pairs they contain (P). Row r is the 12-bit binary expansion of r, MSB first.
 */
const EDGES: ReadonlyArray<readonly [number, number]> = [
  [0, 1], [0, 3], [0, 5], [0, 10], [0, 11], [1, 2], [1, 3], [1, 4], [1, 11], [2, 3], [2, 4], [2, 8], [2, 9],
  [3, 8], [3, 10], [4, 6], [4, 9], [4, 11], [5, 6], [5, 7], [5, 10], [5, 11], [6, 7], [6, 9], [6, 11],
  [7, 8], [7, 9], [7, 10], [8, 9], [8, 10],
];
const ANTIPODAL: ReadonlyArray<readonly [number, number]> = [[0, 9], [1, 7], [2, 5], [3, 6], [4, 10], [8, 11]];

/** Label of one 12-bit pattern given as a bit mask whose bit (11 - i) is input column i. */
export function twelveBitLabel(row: number): number {
  const on = (i: number) => (row >> (11 - i)) & 1;
  let w = 0;
  for (let i = 0; i < 12; i++) w += on(i);
  const count = (pairs: ReadonlyArray<readonly [number, number]>) =>
    pairs.reduce((acc, [a, b]) => acc + (on(a) & on(b)), 0);
  const E = count(EDGES);
  const P = count(ANTIPODAL);
  if (w <= 4) return 0;
  if (w >= 8) return 1;
  if (w === 5) return E >= 7 ? 1 : 0;
  if (w === 6) return E >= 7 || (E === 6 && P === 0) ? 1 : 0;
  return E >= 9 || (E === 8 && P <= 1) ? 1 : 0; // w === 7
}

export const twelveBit = {
  description: 'Shwartz-Ziv & Tishby 12-bit task: all 4096 binary patterns, deterministic labels (2118 positives)',
  options: z.object({}).strict(),
  shape: () => ({n: 4096, inputShape: [12], classes: 2}),
  load(): Dataset {
    const n = 4096;
    const x = new Float32Array(n * 12);
    const labels = new Int32Array(n);
    let positives = 0;
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < 12; i++) x[r * 12 + i] = (r >> (11 - i)) & 1;
      labels[r] = twelveBitLabel(r);
      positives += labels[r];
    }
    const p = positives / n;
    const hy = -(p * Math.log2(p) + (1 - p) * Math.log2(1 - p));
    return {name: 'twelve-bit', n, inputShape: [12], x, labels, classes: 2, facts: {positives, entropyY: hy}};
  },
} satisfies DatasetType<Record<string, never>>;
