import {z} from 'zod';
import type {EstimatorValue} from '../types.js';
import type {DenseNet} from '../../model/dense-net.js';
import {singularValues} from './local-rank/gram.js';

/**
 * Weight-trajectory features of docs/metrics.md, weights.features (Hu, Chen, Saphra, Cho, TMLR 2023; their code
 * src/metrics.py, get_matrix_metrics / get_distribution_stats), per checkpoint.
 *
 * Per weight matrix W (layout does not matter: every quantity is transpose-invariant):
 *   l1 = sum |w|, l2 = ||W||_F, trace = sum_i W_ii over the min dimension, spectral = s_max,
 *   code_sparsity = l1 / l2, computational_sparsity = trace / spectral,
 *   mean_singular_value, var_singular_value over the min(rows, cols) singular values after
 *   setting those < 1e-5 to 0.
 * Network level: each of those averaged over all matrices (dense layers, output layer
 * included, as the reference MLP code), plus mean_w, median_w, var_w over all weights and
 * mean_b, median_b, var_b over all biases.
 *
 * Conventions follow the reference (PyTorch) code: variances are unbiased (divisor n - 1,
 * torch.var), medians are the LOWER middle value for an even count (torch.median). Deviations:
 * a variance of a single value is 0 (torch gives NaN); a matrix with a non-finite entry gives
 * NaN features (the reference skips it). Singular values are square roots of the eigenvalues of
 * the smaller Gram matrix in float64 (absolute error ~sqrt(n eps) s_max for the smallest ones,
 * far below what moves their mean or variance).
 * Spec 8.1 calls mean/var of singular values `mean_lambda` / `variance_lambda`
 * (see HU_BASE_FEATURES for the mapping).
 */

export const SV_ZERO = 1e-5;

/** Names of the per-matrix features, in spec order. */
export const MATRIX_FEATURES = ['l1', 'l2', 'trace', 'spectral', 'code_sparsity', 'computational_sparsity', 'mean_singular_value', 'var_singular_value'] as const;
/** Names of the global weight/bias statistics. */
export const DISTRIBUTION_FEATURES = ['mean_w', 'median_w', 'var_w', 'mean_b', 'median_b', 'var_b'] as const;
/** Spec 8.1 "base" feature set (14 columns): spec name -> name here. */
export const HU_BASE_FEATURES: Record<string, string> = {
  l1: 'l1', l2: 'l2', trace: 'trace', spectral: 'spectral', code_sparsity: 'code_sparsity', computational_sparsity: 'computational_sparsity',
  mean_lambda: 'mean_singular_value', variance_lambda: 'var_singular_value',
  mean_w: 'mean_w', median_w: 'median_w', var_w: 'var_w', mean_b: 'mean_b', median_b: 'median_b', var_b: 'var_b',
};

function variance(a: ArrayLike<number>, mean: number): number {
  const n = a.length;
  if (n < 2) return 0;
  let s = 0;
  for (let i = 0; i < n; i++) s += (a[i] - mean) ** 2;
  return s / (n - 1);
}

function meanOf(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return a.length ? s / a.length : NaN;
}

/** Lower median (torch.median): element (n - 1) >> 1 of the sorted values. */
function lowerMedian(a: Float64Array): number {
  if (a.length === 0) return NaN;
  const s = Float64Array.from(a).sort();
  return s[(s.length - 1) >> 1];
}

/** Spec 8.1 features of one rows x cols row-major matrix. */
export function matrixFeatures(W: ArrayLike<number>, rows: number, cols: number): Record<(typeof MATRIX_FEATURES)[number], number> {
  const A = Float64Array.from({length: rows * cols}, (_, i) => W[i]);
  if (!A.every(Number.isFinite)) return Object.fromEntries(MATRIX_FEATURES.map((k) => [k, NaN])) as Record<(typeof MATRIX_FEATURES)[number], number>;
  let l1 = 0;
  let sq = 0;
  for (let i = 0; i < A.length; i++) {
    l1 += Math.abs(A[i]);
    sq += A[i] * A[i];
  }
  const l2 = Math.sqrt(sq);
  let trace = 0;
  for (let i = 0; i < Math.min(rows, cols); i++) trace += A[i * cols + i];
  const s = rows * cols > 0 ? singularValues(A, rows, cols) : new Float64Array(0);
  const spectral = s.length ? s[0] : 0;
  const clipped = s.map((v) => (v < SV_ZERO ? 0 : v));
  const mean = meanOf(clipped);
  return {
    l1,
    l2,
    trace,
    spectral,
    code_sparsity: l1 / l2,
    computational_sparsity: trace / spectral,
    mean_singular_value: mean,
    var_singular_value: variance(clipped, mean),
  };
}

/** Per-layer matrix features (layer index 1-based) of a network. */
export function layerWeightFeatures(net: DenseNet): Array<{layerIndex: number; features: Record<string, number>}> {
  return net.layers.map((l, i) => ({layerIndex: i + 1, features: matrixFeatures(l.W, l.rows, l.cols)}));
}

/** The 14 network-level features of docs/metrics.md, weights.features (matrix features averaged over layers + weight/bias statistics). */
export function weightFeatures(net: DenseNet): Record<string, number> {
  const per = layerWeightFeatures(net);
  const out: Record<string, number> = {};
  for (const k of MATRIX_FEATURES) out[k] = meanOf(per.map((p) => p.features[k]));
  const nW = net.layers.reduce((s, l) => s + l.W.length, 0);
  const nB = net.layers.reduce((s, l) => s + l.b.length, 0);
  const w = new Float64Array(nW);
  const b = new Float64Array(nB);
  let pw = 0;
  let pb = 0;
  for (const l of net.layers) {
    w.set(l.W, pw);
    pw += l.W.length;
    b.set(l.b, pb);
    pb += l.b.length;
  }
  const mw = meanOf(w);
  const mb = meanOf(b);
  Object.assign(out, {mean_w: mw, median_w: lowerMedian(w), var_w: variance(w, mw), mean_b: mb, median_b: lowerMedian(b), var_b: variance(b, mb)});
  return out;
}

const params = z.object({}).strict();

/** One row of `weights.features`: layerIndex -1 = whole network (averages + weight/bias statistics). */
export interface WeightFeatureRow extends EstimatorValue {
  layerIndex: number;
}

/**
 * `weights.features` (docs/metrics.md, weights.features): network-level rows (layerIndex -1: the 14 base features) and
 * per-layer rows (layerIndex 1.., the 8 matrix features of that layer's W). Needs weights only.
 */
export const weightsMetric = {
  name: 'weights.features',
  description: 'weight-trajectory features (Hu et al. 2023): norms, trace, spectral norm, sparsities, singular-value and weight/bias statistics',
  params,
  compute(net: DenseNet, _params: z.infer<typeof params> = {}): WeightFeatureRow[] {
    const rows: WeightFeatureRow[] = [];
    for (const [quantity, value] of Object.entries(weightFeatures(net))) rows.push({layerIndex: -1, quantity, value, unit: 'dimensionless'});
    for (const {layerIndex, features} of layerWeightFeatures(net)) {
      for (const [quantity, value] of Object.entries(features)) rows.push({layerIndex, quantity, value, unit: 'dimensionless'});
    }
    return rows;
  },
};
