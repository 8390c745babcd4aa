import {z} from 'zod';
import {Rng} from '../util/prng.js';
import {labelEntropy} from './transforms.js';
import type {Dataset, DatasetType} from './types.js';

const options = z
  .object({
    /** Input bits n: x in {-1, +1}^n uniform. */
    n: z.number().int().positive().default(40),
    /** Parity order k: y = x_1 * ... * x_k (the first k coordinates). */
    k: z.number().int().positive().default(3),
    /** Training rows (Hu et al. code default 1000). */
    rows: z.number().int().positive().default(1000),
    /** Test rows (default 100); train and test are the dataset's own split. */
    testRows: z.number().int().nonnegative().default(100),
    /** Seed of the data; default: the run seed. */
    dataSeed: z.number().int().nonnegative().optional(),
  })
  .strict()
  .refine((o) => o.k <= o.n, {message: 'k must be <= n', path: ['k']});

export type SparseParityOptions = z.infer<typeof options>;

/**
 * Sparse parity (docs/metrics.md, headline experiments, Hu et al.): x uniform in {-1,+1}^n, y = product of the first k
 * coordinates, as class 1 when the product is +1 and class 0 when it is -1. The first `rows` rows
 * are the training set, the next `testRows` the test set (exposed as the dataset's own split).
 */
export const sparseParity: DatasetType<SparseParityOptions> = {
  description: 'sparse parity: x in {-1,+1}^n, class 1 iff x_1...x_k = +1 (n 40, k 3, 1000 train / 100 test); seeded',
  options,
  shape: (o) => ({n: o.rows + o.testRows, inputShape: [o.n], classes: 2}),
  load(o, seed): Dataset {
    const rng = new Rng(o.dataSeed ?? seed, 'sparse-parity');
    const N = o.rows + o.testRows;
    const x = new Float32Array(N * o.n);
    const labels = new Int32Array(N);
    const split = new Int8Array(N);
    let positives = 0;
    for (let r = 0; r < N; r++) {
      let p = 1;
      for (let j = 0; j < o.n; j++) {
        const v = rng.nextU32() & 1 ? 1 : -1;
        x[r * o.n + j] = v;
        if (j < o.k) p *= v;
      }
      labels[r] = p > 0 ? 1 : 0;
      positives += labels[r];
      split[r] = r < o.rows ? 1 : 0;
    }
    return {name: 'sparse-parity', n: N, inputShape: [o.n], x, labels, classes: 2, split, facts: {positives, entropyY: labelEntropy(labels, 2), k: o.k, nTrain: o.rows, nTest: o.testRows}};
  },
};
