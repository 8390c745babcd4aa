import {z} from 'zod';
import type {Matrix} from '../../types.js';
import {pcaProject} from '../../linalg/dense.js';
import type {Estimator} from '../types.js';
import {concatColumns, conditionalMiNats, entropyNats, entropyValues, toFloat64, type EntropyOptions} from './kl.js';

/**
 * Lossy-compression information-plane analysis of Butakov et al. (ICLR 2024), docs/metrics.md, ib.lossy:
 * compress T (and X when given) by PCA to `dims` components fitted on the evaluation rows
 * (at most the width), then weighted KL (k = 5, whitening on, Euclidean):
 *   I_XT = H(X') + H(T') - H(X', T'),   I_TY = H(T') - sum_y p(y) H(T' | y).
 * PCA is not injective, so the values are lower bounds of the uncompressed MI (data
 * processing). The stochastic-network part of the method (noise injected in training and
 * evaluation) is the training side's job; on a deterministic network only the compression
 * regularises the estimate. X is compressed by PCA too (the paper uses an autoencoder).
 */
export function lossyNats(input: {T: Matrix; y: Int32Array; x?: Matrix; seed?: number}, dims: number, k: number): {I_XT?: number; I_TY: number; H: number} {
  const {rows: n, cols: d} = input.T;
  const o: EntropyOptions = {k, norm: 'euclidean', weighted: true, standardize: false, whiten: true, seed: input.seed ?? 0};
  const m = Math.min(dims, d);
  const t = pcaProject(toFloat64(input.T), n, d, m).scores;
  const H = entropyNats(t, n, m, o);
  const I_TY = conditionalMiNats(t, n, m, input.y, o, H);
  let I_XT: number | undefined;
  if (input.x) {
    if (input.x.rows !== n) throw new Error(`x has ${input.x.rows} rows, T has ${n}`);
    const mx = Math.min(dims, input.x.cols);
    const x = pcaProject(toFloat64(input.x), n, input.x.cols, mx).scores;
    I_XT = entropyNats(x, n, mx, o) + H - entropyNats(concatColumns(x, mx, t, m, n), n, mx + m, o);
  }
  return {I_XT, I_TY, H};
}

const lossyParams = z
  .object({
    dims: z.number().int().min(1).default(4),
    k: z.number().int().min(1).default(5),
    unit: z.enum(['bits', 'nats']).default('bits'),
  })
  .strict();

/** `ib.lossy`: PCA compression to `dims` + weighted KL with whitening (Butakov et al.). */
export const ibLossy: Estimator<z.infer<typeof lossyParams>> = {
  name: 'ib.lossy',
  description:
    'Butakov et al. lossy-compression IB: PCA of T (and X) to min(dims, width) fitted on the evaluation rows, ' +
    'weighted KL (whitened, Euclidean); I_XT = H(X\') + H(T\') - H(X\',T\') needs X; I_TY per-class re-fit; lower bounds',
  params: lossyParams,
  memory: ({n, d}, p) => 8 * n * d + 16 * d * d + 40 * n * p.dims + 16 * n * p.k + 128 * n,
  compute: (input, p) => {
    const v = lossyNats(input, p.dims, p.k);
    return entropyValues({I_XT: v.I_XT, I_TY: v.I_TY}, p.unit);
  },
};
