import {z} from 'zod';
import {weightMatrices} from '../../model/checkpoint.js';
import type {DenseNet} from '../../model/dense-net.js';
import type {Matrix} from '../../types.js';
import type {ModelMetric, ModelMetricValue} from './index.js';
import {gramEigenvalues} from '../../linalg/gram.js';

/*
 * Heavy-tailed empirical spectral density of weight matrices (spec 13.3; Martin & Mahoney, as
 * WeightWatcher fits it). For W (in x out; conv kernels as (k k C_in) x filters), N = max(in, out),
 * M = min(in, out): lambda = the M eigenvalues of (1/N) W'W, i.e. s^2 / N.
 *
 * Power-law fit (Clauset, Shalizi & Newman 2009, continuous MLE; the `powerlaw` package that
 * WeightWatcher calls): sort lambda ascending; every distinct positive eigenvalue except the
 * largest ceil(1%) of them is a candidate xmin; the tail is {lambda_i >= xmin} (n_tail values),
 *   alpha(xmin) = 1 + n_tail / sum_tail ln(lambda_i / xmin),
 *   D(xmin) = max_i |F(x_(i)) - i / n_tail|, i = 0..n_tail-1 over the sorted tail, with
 *             F(x) = 1 - (x / xmin)^(1 - alpha) (the empirical CDF just below each point, as
 *             Clauset's plfit.m and powerlaw's `cdf`; tied values take the CDF of their first
 *             occurrence, as powerlaw's searchsorted rule),
 * and the xmin with the smallest D wins (the first on ties). Values per matrix: alpha, xmin,
 * ks = D, alpha_weighted = alpha log10(lambda_max), log_spectral_norm = log10(lambda_max),
 * stable_rank = sum(lambda) / lambda_max, n_tail. Matrices with M < 20 get NaN for all of them,
 * with a reason. "Largest 1%" is ceil(0.01 M) (at least one, so the tail has two or more values).
 *
 * Cost per matrix: the Gram of the smaller side O(in out M) + its eigenvalues O(4/3 M^3) (float64
 * SIMD kernels of eigen.ts), then the fit O(M^2) (one O(n_tail) KS pass per candidate; suffix sums
 * of ln lambda make each alpha O(1)). A 1024 x 1024 matrix is a few seconds; nothing grows with the
 * number of data rows.
 */

export const ESD_MIN_DIM = 20;

export interface PowerLawFit {
  alpha: number;
  xmin: number;
  ks: number;
  n_tail: number;
}

export interface EsdValues extends PowerLawFit {
  alpha_weighted: number;
  log_spectral_norm: number;
  stable_rank: number;
}

export interface EsdResult extends EsdValues {
  /** max(in, out), min(in, out). */
  N: number;
  M: number;
  /** Why the values are NaN. */
  reason?: string;
}

/** The M = min(in, out) eigenvalues of (1/N) W'W, ascending, clipped at 0. O(in out M + M^3). */
export function esdEigenvalues(W: Matrix): Float64Array {
  const {rows, cols} = W;
  const N = Math.max(rows, cols);
  const lam = gramEigenvalues(W.data instanceof Float64Array ? W.data : Float64Array.from(W.data), rows, cols);
  const out = new Float64Array(lam.length);
  for (let i = 0; i < lam.length; i++) out[lam.length - 1 - i] = lam[i] > 0 ? lam[i] / N : 0;
  return out;
}

/**
 * Clauset-Shalizi-Newman power-law fit of positive data sorted ascending: xmin by the smallest KS
 * distance over the candidates (all distinct positive values but the largest ceil(1%)). O(M^2).
 */
export function powerLawFit(sorted: Float64Array): PowerLawFit {
  const M = sorted.length;
  const none: PowerLawFit = {alpha: NaN, xmin: NaN, ks: NaN, n_tail: NaN};
  if (M < 2) return none;
  // suffix sums of ln(lambda) over positive values
  const logSuffix = new Float64Array(M + 1);
  for (let i = M - 1; i >= 0; i--) logSuffix[i] = logSuffix[i + 1] + (sorted[i] > 0 ? Math.log(sorted[i]) : 0);
  const lastCandidate = M - Math.max(1, Math.ceil(0.01 * M)) - 1;
  let best = none;
  for (let s = 0; s <= lastCandidate; s++) {
    const x = sorted[s];
    if (!(x > 0) || (s > 0 && sorted[s - 1] === x)) continue; // positive, first occurrence only
    const nTail = M - s;
    const L = logSuffix[s] - nTail * Math.log(x);
    if (!(L > 0)) continue; // the whole tail equals xmin
    const alpha = 1 + nTail / L;
    let D = 0;
    let first = 0; // index (within the tail) of the first occurrence of the current value
    for (let i = 0; i < nTail; i++) {
      const v = sorted[s + i];
      if (i > 0 && v !== sorted[s + i - 1]) first = i;
      const F = 1 - Math.pow(v / x, 1 - alpha);
      const diff = Math.abs(F - first / nTail);
      if (diff > D) D = diff;
    }
    if (Number.isNaN(best.ks) || D < best.ks) best = {alpha, xmin: x, ks: D, n_tail: nTail};
  }
  return best;
}

/** Spec 13.3 values of one weight matrix W (in x out, row-major). See the module comment for the cost. */
export function matrixEsd(W: Matrix): EsdResult {
  const N = Math.max(W.rows, W.cols);
  const M = Math.min(W.rows, W.cols);
  const nan = (reason: string): EsdResult => ({alpha: NaN, xmin: NaN, ks: NaN, n_tail: NaN, alpha_weighted: NaN, log_spectral_norm: NaN, stable_rank: NaN, N, M, reason});
  if (M < ESD_MIN_DIM) return nan(`min(in, out) = ${M} < ${ESD_MIN_DIM}: too few eigenvalues for a power-law fit`);
  for (let i = 0; i < W.data.length; i++) if (!Number.isFinite(W.data[i])) return nan('non-finite weights');
  const lam = esdEigenvalues(W);
  const lmax = lam[M - 1];
  if (!(lmax > 0)) return nan('all weights are 0');
  let sum = 0;
  for (const v of lam) sum += v;
  const fit = powerLawFit(lam);
  const logMax = Math.log10(lmax);
  const out: EsdResult = {...fit, alpha_weighted: fit.alpha * logMax, log_spectral_norm: logMax, stable_rank: sum / lmax, N, M};
  if (Number.isNaN(fit.alpha)) out.reason = 'no usable xmin candidate (the spectrum is flat)';
  return out;
}

/** Per-matrix values and the network means of alpha and alpha_weighted (over matrices with a finite fit). Sum of `matrixEsd` costs. */
export function networkEsd(matrices: Matrix[]): {layers: EsdResult[]; alpha: number; alpha_weighted: number} {
  const layers = matrices.map(matrixEsd);
  const ok = layers.filter((l) => Number.isFinite(l.alpha));
  const mean = (f: (l: EsdResult) => number) => (ok.length ? ok.reduce((s, l) => s + f(l), 0) / ok.length : NaN);
  return {layers, alpha: mean((l) => l.alpha), alpha_weighted: mean((l) => l.alpha_weighted)};
}

const ESD_QUANTITIES = ['alpha', 'xmin', 'ks', 'alpha_weighted', 'log_spectral_norm', 'stable_rank', 'n_tail'] as const;

/** Rows of weights.esd for a list of matrices: per matrix (layerIndex from `planIndex`, default 1..) and the network means (-1). */
function esdRows(net: DenseNet, planIndex?: number[]): ModelMetricValue[] {
  const r = networkEsd(net.layers.map((l) => ({data: l.W, rows: l.rows, cols: l.cols})));
  const none = Number.isNaN(r.alpha) ? {reason: `no weight matrix with min(in, out) >= ${ESD_MIN_DIM} and a usable fit`} : {};
  const out: ModelMetricValue[] = [
    {layerIndex: -1, quantity: 'alpha', value: r.alpha, unit: 'dimensionless', n: 0, ...none},
    {layerIndex: -1, quantity: 'alpha_weighted', value: r.alpha_weighted, unit: 'dimensionless', n: 0, ...none},
  ];
  r.layers.forEach((m, i) => {
    for (const q of ESD_QUANTITIES) {
      out.push({layerIndex: planIndex ? planIndex[i] : i + 1, quantity: q, value: m[q], unit: q === 'n_tail' ? 'count' : 'dimensionless', n: 0, ...(m.reason ? {reason: m.reason} : {})});
    }
  });
  return out;
}

/** `weights.esd` (spec 13.3): every weight matrix (dense W, conv kernels as (k k C_in) x filters), output layer included. */
const esdParams = z.object({}).strict();

export const weightsEsd: ModelMetric<z.infer<typeof esdParams>> = {
  name: 'weights.esd',
  description: 'heavy-tailed spectra of the weight matrices (WeightWatcher-style power-law fit): alpha, xmin, KS distance, weighted alpha, spectral norm, stable rank',
  params: esdParams,
  // one matrix at a time: a float64 copy and the Gram of its smaller side
  memory: ({d, inputDim = d}) => 8 * (Math.max(inputDim, d) * d + 2 * d * d),
  needsInputs: false,
  compute: (net) => esdRows(net),
  async computeModel(model) {
    const {net, planIndex} = weightMatrices(model);
    return esdRows(net, planIndex);
  },
};
