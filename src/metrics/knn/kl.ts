import {z} from 'zod';
import type {Matrix} from '../../types.js';
import {Rng} from '../../util/prng.js';
import {lstsqMinNorm, whiten as whitenRows} from '../../linalg/dense.js';
import {digamma, lgamma, lnUnitBallVolume} from '../special.js';
import type {Estimator, EstimatorInput, EstimatorValue} from '../types.js';
import {knnAll, type Engine, type Metric} from './neighbors.js';

/**
 * Kozachenko-Leonenko entropy estimators (docs/metrics.md, mi.ksg and ent.kl): `ent.kl` and `ent.wkl`, plus the shared
 * data preparation used by all kNN estimators (float64 copies, standardisation, jitter).
 *
 * Conventions (all documented in the estimator descriptions):
 *  - Entropies are computed in nats and converted at the boundary.
 *  - `standardize` rescales each column to unit variance (population std) BEFORE the neighbour
 *    search, and the Jacobian sum_j ln std_j is added back, so H is still the entropy of the
 *    original variable (only the kNN geometry changes). Constant columns are left unscaled.
 *    Default off for the entropy estimators (KL entropy is equivariant to a common scale).
 *  - Duplicate rows (a zero distance among the neighbours the estimator uses, i.e. r_ik = 0 for
 *    KL, r_ij = 0 for any weighted j for WKL): all rows are jittered once with seeded Gaussian
 *    noise of 1e-10 * column std (1e-10 * max(1, |mean|) for a constant column), stream
 *    Rng(seed, 'knn-jitter'), and the search is repeated. Distances that are still zero after
 *    that (values so large that the jitter is below their ulp) are dropped from the average.
 *    Discrete data (e.g. the 12-bit inputs) is inappropriate for kNN estimators: the values are
 *    finite but meaningless (they are dominated by ln 1e-10).
 *  - I(T;Y) for discrete labels: H(T) - sum_y p(y) H(T | Y = y), each class re-fitted on its own
 *    rows (own standardisation / whitening). A class with n_y <= k rows uses k_y = n_y - 1
 *    neighbours; a class with a single row contributes H(T) (no information).
 */

export type Unit = 'bits' | 'nats';
export type Norm = 'max' | 'euclidean';

/** Converts a value in nats to `unit`. */
export function fromNats(v: number, unit: Unit): number {
  return unit === 'bits' ? v / Math.LN2 : v;
}

/** Float64 copy of a matrix's data (row-major). */
export function toFloat64(m: Matrix): Float64Array {
  const out = new Float64Array(m.rows * m.cols);
  out.set(m.data.subarray(0, m.rows * m.cols));
  return out;
}

/** Column means and population standard deviations. */
export function columnStats(x: Float64Array, n: number, d: number): {mean: Float64Array; std: Float64Array} {
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) {
      const t = x[i * d + j] - mean[j];
      std[j] += t * t;
    }
  for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j] / n);
  return {mean, std};
}

/**
 * Standardises columns in place: (x - mean) / std (population std); constant columns are only
 * centred. Returns sum_j ln std_j over the scaled columns (the entropy Jacobian).
 */
export function standardizeInPlace(x: Float64Array, n: number, d: number): number {
  const {mean, std} = columnStats(x, n, d);
  let logJac = 0;
  for (let j = 0; j < d; j++) {
    const s = std[j] > 0 && Number.isFinite(std[j]) ? std[j] : 1;
    if (s !== 1) logJac += Math.log(s);
    const inv = 1 / s;
    for (let i = 0; i < n; i++) x[i * d + j] = (x[i * d + j] - mean[j]) * inv;
  }
  return logJac;
}

/** Seeded tie-breaking jitter (see module doc): returns a jittered copy. */
export function jittered(x: Float64Array, n: number, d: number, seed: number): Float64Array {
  const {mean, std} = columnStats(x, n, d);
  const rng = new Rng(seed, 'knn-jitter');
  const out = new Float64Array(x.length);
  const scale = new Float64Array(d);
  for (let j = 0; j < d; j++) scale[j] = 1e-10 * (std[j] > 0 ? std[j] : Math.max(1, Math.abs(mean[j])));
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] = x[i * d + j] + scale[j] * rng.normal();
  return out;
}

/** [a | b]: n x (da + db). */
export function concatColumns(a: Float64Array, da: number, b: Float64Array, db: number, n: number): Float64Array {
  const d = da + db;
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < da; j++) out[i * d + j] = a[i * da + j];
    for (let j = 0; j < db; j++) out[i * d + da + j] = b[i * db + j];
  }
  return out;
}

/** Rows `rows` of an n x d matrix. */
export function takeRows(x: Float64Array, d: number, rows: Int32Array): Float64Array {
  const out = new Float64Array(rows.length * d);
  for (let r = 0; r < rows.length; r++) {
    const o = rows[r] * d;
    for (let j = 0; j < d; j++) out[r * d + j] = x[o + j];
  }
  return out;
}

/** Row indices per class label, in first-appearance order. */
export function classRows(y: Int32Array, n: number): Int32Array[] {
  const byLabel = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    let list = byLabel.get(y[i]);
    if (!list) byLabel.set(y[i], (list = []));
    list.push(i);
  }
  return [...byLabel.values()].map((l) => Int32Array.from(l));
}

function metricOf(norm: Norm): Metric {
  return norm === 'max' ? {kind: 'max'} : {kind: 'sqeuclid'};
}

/**
 * Weights of the weighted KL estimator for dimension d and k neighbours (Butakov et al.'s code,
 * after Berrett-Samworth-Yuan): d <= 4 -> (1, 0, ..., 0) (plain 1-NN KL); otherwise the
 * minimum-norm least-squares solution (rcond 1e-6) of: sum_j w_j / k = 1 / k; for
 * l = 1..floor(d/4): sum_j w_j Gamma(j + 2l/d) / Gamma(j) = 0 (row normalised); w_j = 0 for
 * every 1-based j not of the form floor(i k / d), i = 1..d.
 */
export function wklWeights(k: number, d: number, rcond = 1e-6): Float64Array {
  const w = new Float64Array(k);
  if (d <= 4 || k === 1) {
    w[0] = 1;
    return w;
  }
  const rows: number[][] = [];
  const rhs: number[] = [];
  rows.push(Array.from({length: k}, () => 1 / k));
  rhs.push(1 / k);
  for (let l = 1; l <= Math.floor(d / 4); l++) {
    const row = Array.from({length: k}, (_, j) => Math.exp(lgamma(j + 1 + (2 * l) / d) - lgamma(j + 1)));
    const norm = Math.hypot(...row);
    rows.push(row.map((v) => v / norm));
    rhs.push(0);
  }
  const nonzero = new Set<number>();
  for (let i = 1; i <= d; i++) nonzero.add(Math.floor((i * k) / d)); // 1-based j
  for (let j = 1; j <= k; j++) {
    if (nonzero.has(j)) continue;
    const row = new Array<number>(k).fill(0);
    row[j - 1] = 1;
    rows.push(row);
    rhs.push(0);
  }
  const A = Float64Array.from(rows.flat());
  return lstsqMinNorm(A, rows.length, k, Float64Array.from(rhs), rcond);
}

export interface KlOptions {
  k: number;
  norm: Norm;
  /** Weights over j = 1..k (weighted KL); omitted = plain KL with the k-th neighbour. */
  weights?: Float64Array;
  seed?: number;
  engine?: Engine;
}

/**
 * (Weighted) Kozachenko-Leonenko entropy in nats of the rows of x (n x d), no preprocessing:
 * H(j) = psi(n) - psi(j) + ln V_d + (d / n) sum_i ln r_ij, H = sum_j w_j H(j) (plain KL: j = k).
 * Duplicate handling as in the module doc.
 */
export function klEntropyRaw(x: Float64Array, n: number, d: number, opts: KlOptions): number {
  const {k, norm, weights} = opts;
  if (n < 2) throw new Error('KL entropy needs at least 2 rows');
  const kk = Math.min(k, n - 1);
  let w: Float64Array;
  if (weights) {
    w = new Float64Array(kk);
    // a shortened k keeps the leading weights renormalised to sum 1
    let s = 0;
    for (let j = 0; j < kk; j++) s += weights[j] ?? 0;
    for (let j = 0; j < kk; j++) w[j] = s !== 0 ? (weights[j] ?? 0) / s : j === 0 ? 1 : 0;
  } else {
    w = new Float64Array(kk);
    w[kk - 1] = 1;
  }
  let firstUsed = 0;
  while (firstUsed < kk - 1 && w[firstUsed] === 0) firstUsed++;
  const metric = metricOf(norm);
  let res = knnAll(x, n, d, kk, metric, opts.engine ?? 'auto');
  let hasZero = false;
  for (let i = 0; i < n && !hasZero; i++) if (!(res.dist[i * kk + firstUsed] > 0)) hasZero = true;
  if (hasZero) res = knnAll(jittered(x, n, d, opts.seed ?? 0), n, d, kk, metric, opts.engine ?? 'auto');
  const half = norm === 'euclidean' ? 0.5 : 1; // raw distances are squared for Euclidean
  const lnV = lnUnitBallVolume(d, norm);
  const psiN = digamma(n);
  let h = 0;
  for (let j = 0; j < kk; j++) {
    if (w[j] === 0) continue;
    let sum = 0;
    let cnt = 0;
    for (let i = 0; i < n; i++) {
      const r = res.dist[i * kk + j];
      if (r > 0) {
        sum += Math.log(r);
        cnt++;
      }
    }
    const meanLn = cnt > 0 ? (half * sum) / cnt : 0;
    h += w[j] * (psiN - digamma(j + 1) + lnV + d * meanLn);
  }
  return h;
}

export interface EntropyOptions {
  k: number;
  norm: Norm;
  weighted: boolean;
  standardize: boolean;
  whiten: boolean;
  seed?: number;
  engine?: Engine;
}

/**
 * Entropy in nats of the rows of x (n x d) with the estimator's preprocessing: optional
 * standardisation (Jacobian added back), optional whitening (0.5 ln det Sigma added back),
 * then (weighted) KL. x is not modified.
 */
export function entropyNats(x: Float64Array, n: number, d: number, o: EntropyOptions): number {
  let data = x;
  let jac = 0;
  if (o.standardize) {
    data = Float64Array.from(x);
    jac += standardizeInPlace(data, n, d);
  }
  if (o.whiten) {
    const w = whitenRows(data, n, d);
    data = w.white;
    jac += 0.5 * w.logDet;
  }
  const kk = Math.min(o.k, n - 1);
  const weights = o.weighted ? wklWeights(kk, d) : undefined;
  return klEntropyRaw(data, n, d, {k: kk, norm: o.norm, weights, seed: o.seed, engine: o.engine}) + jac;
}

/**
 * I(T;Y) = H(T) - sum_y p(y) H(T | Y = y) in nats, with each class re-fitted on its own rows.
 * `hT` may pass a precomputed H(T).
 */
export function conditionalMiNats(t: Float64Array, n: number, d: number, y: Int32Array, o: EntropyOptions, hT?: number): number {
  const classes = classRows(y, n);
  if (classes.length <= 1) return 0; // a single class carries no information (and saves two fits)
  const hAll = hT ?? entropyNats(t, n, d, o);
  let hCond = 0;
  for (const rows of classes) {
    const m = rows.length;
    const p = m / n;
    if (m < 2) {
      hCond += p * hAll;
      continue;
    }
    hCond += p * entropyNats(takeRows(t, d, rows), m, d, {...o, k: Math.min(o.k, m - 1)});
  }
  return hAll - hCond;
}

/** H(T), I(T;Y) and, when x is given, I(X;T) = H(X) + H(T) - H(X,T), all in nats. */
export function entropyFamilyNats(input: EstimatorInput, o: EntropyOptions): {H: number; I_TY: number; I_XT?: number} {
  const {rows: n, cols: d} = input.T;
  const t = toFloat64(input.T);
  const H = entropyNats(t, n, d, o);
  const I_TY = conditionalMiNats(t, n, d, input.y, o, H);
  let I_XT: number | undefined;
  if (input.x) {
    if (input.x.rows !== n) throw new Error(`x has ${input.x.rows} rows, T has ${n}`);
    const dx = input.x.cols;
    const x = toFloat64(input.x);
    const hx = entropyNats(x, n, dx, o);
    const hxt = entropyNats(concatColumns(x, dx, t, d, n), n, dx + d, o);
    I_XT = hx + H - hxt;
  }
  return {H, I_TY, I_XT};
}

/** Estimator outputs from nats values. */
export function entropyValues(v: {H?: number; I_TY: number; I_XT?: number}, unit: Unit): EstimatorValue[] {
  const out: EstimatorValue[] = [];
  if (v.H !== undefined) out.push({quantity: 'H', value: fromNats(v.H, unit), unit});
  if (v.I_XT !== undefined) out.push({quantity: 'I_XT', value: fromNats(v.I_XT, unit), unit});
  out.push({quantity: 'I_TY', value: fromNats(v.I_TY, unit), unit});
  return out;
}

const unit = z.enum(['bits', 'nats']).default('bits');
const norm = z.enum(['max', 'euclidean']);

const klParams = z
  .object({
    k: z.number().int().min(1).default(5),
    norm: norm.default('euclidean'),
    standardize: z.boolean().default(false),
    unit,
  })
  .strict();

/** `ent.kl`: Kozachenko-Leonenko k-NN differential entropy (docs/metrics.md, mi.ksg and ent.kl). */
export const entKl: Estimator<z.infer<typeof klParams>> = {
  name: 'ent.kl',
  description:
    'Kozachenko-Leonenko kNN entropy H = psi(N) - psi(k) + ln V_d + (d/N) sum ln r_ik (Euclidean ball or max-norm cube); ' +
    'I_TY = H(T) - sum_y p(y) H(T|y) re-fitted per class; I_XT = H(X) + H(T) - H(X,T) when X is given; ' +
    'standardize adds the Jacobian back; duplicates get 1e-10*std seeded jitter',
  params: klParams,
  memory: ({n, d}, p) => 40 * n * d + 16 * n * p.k + 128 * n,
  compute: (input, p) =>
    entropyValues(
      entropyFamilyNats(input, {k: p.k, norm: p.norm, weighted: false, standardize: p.standardize, whiten: false, seed: input.seed ?? 0}),
      p.unit,
    ),
};

const wklParams = z
  .object({
    k: z.number().int().min(1).default(5),
    norm: norm.default('euclidean'),
    whiten: z.boolean().default(true),
    standardize: z.boolean().default(false),
    unit,
  })
  .strict();

/** `ent.wkl`: weighted Kozachenko-Leonenko (Berrett-Samworth-Yuan weights as in Butakov et al.). */
export const entWkl: Estimator<z.infer<typeof wklParams>> = {
  name: 'ent.wkl',
  description:
    'weighted Kozachenko-Leonenko entropy (Berrett-Samworth-Yuan weights with the zero pattern of Butakov et al.; ' +
    'd <= 4 -> 1-NN KL), optional whitening with 0.5 ln det Sigma added back; I_TY per-class re-fit; I_XT with X',
  params: wklParams,
  memory: ({n, d}, p) => 40 * n * d + 16 * n * p.k + 128 * n + 16 * d * d,
  compute: (input, p) =>
    entropyValues(
      entropyFamilyNats(input, {k: p.k, norm: p.norm, weighted: true, standardize: p.standardize, whiten: p.whiten, seed: input.seed ?? 0}),
      p.unit,
    ),
};
