import {z} from 'zod';
import type {Matrix} from '../../types.js';
import {Rng} from '../../util/prng.js';
import {labelIds, toUnit} from '../discrete.js';
import {eigvalsh} from '../../linalg/eigen.js';
import {gramUpper} from '../../linalg/gram.js';
import type {Estimator} from '../types.js';

/*
 * Diffusion spectral entropy and mutual information (Liao et al. 2023; docs/metrics.md, geom.dse), following the
 * reference code (ChenLiu-1996/DiffusionSpectralEntropy, dse.py / dsmi.py / diffusion.py):
 *   G_ij = exp(-||z_i - z_j||^2 / (2 sigma^2))   (the code's 1/(sigma sqrt(2 pi)) factor cancels),
 *   K = Deg^(-1/2) G Deg^(-1/2),  p_i = |lambda_i(K)|^t / sum_j |lambda_j|^t,
 *   DSE = -sum_i (p_i + eps) log2(p_i + eps),  eps = 2^-52 (numpy's finfo(float).eps, added to
 *   every p_i exactly as the reference does; with N = 2000 it moves DSE by < 1e-10 bits).
 *   DSMI(Z;Y) = sum_c p(c) [ mean_{r=1..R} DSE(Z*_{c,r}) - DSE(Z | Y = c) ],
 * Z*_{c,r} = n_c rows drawn without replacement from all N rows; the generator is reset to
 * `input.seed` (default 0) before the R draws of every class, as the reference re-seeds per class.
 * (The draws come from tdlab's Rng, not Python's `random`, so individual subsets differ from
 * the reference; the estimator is the same.)
 *
 * sigma: a number (absolute, reference default 10) or `median` = the median pairwise Euclidean
 * distance over the i < j pairs of the rows being measured (numpy's median: the mean of the two
 * middle values for an even count). For DSMI the median is taken once over all N rows and used
 * for every class and subset, so that all terms share one kernel width.
 *
 * Cost (float64, blocking): distances via the Gram matrix O(N^2 d / 2) (||a||^2 + ||b||^2 - 2 a.b,
 * clamped at 0; identical rows give exactly 0), kernel O(N^2), eigenvalues O(4/3 N^3) with
 * `eigvalsh` (linalg/eigen.ts; no eigenvectors). Memory: one N x N float64 (32 MB at
 * N = 2000) plus N(N-1)/2 doubles for `median`. N = 2000 takes a few seconds; the cubic term
 * makes N = 4096 ~9x that, so callers should subsample (maxRows) to <= 2000 rows, seeded.
 * DSMI adds sum_c (R + 1) n_c^3 (for C balanced classes (R + 1) N^3 / C^2: small next to DSE(Z)).
 */

const EPS = 2 ** -52;

/** Float64 copy of a float32/float64 row-major matrix, optionally of selected rows only. */
export function rowsFloat64(T: Matrix, rows?: ArrayLike<number>): Float64Array {
  const d = T.cols;
  if (!rows) return Float64Array.from(T.data);
  const out = new Float64Array(rows.length * d);
  for (let r = 0; r < rows.length; r++) {
    const o = rows[r] * d;
    for (let k = 0; k < d; k++) out[r * d + k] = T.data[o + k];
  }
  return out;
}

/**
 * Squared Euclidean distances of the n rows of X (n x d, float64): n x n row-major, upper
 * triangle (j > i) filled, diagonal 0, lower triangle unspecified.
 */
export function sqDistancesUpper(X: Float64Array, n: number, d: number): Float64Array {
  const D = gramUpper(X, n, d);
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) sq[i] = D[i * n + i];
  for (let i = 0; i < n; i++) {
    const o = i * n;
    const si = sq[i];
    D[o + i] = 0;
    for (let j = i + 1; j < n; j++) {
      const v = si + sq[j] - 2 * D[o + j];
      D[o + j] = v > 0 ? v : 0;
    }
  }
  return D;
}

/** k-th smallest (0-based) of a (reordered in place): Hoare quickselect. */
function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const pivot = a[(lo + hi) >>> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/**
 * Median of the pairwise Euclidean distances over i < j from squared distances `D` (upper
 * triangle, as `sqDistancesUpper`); mean of the two middle values for an even count; 0 for n < 2.
 */
export function medianPairwiseDistance(D: Float64Array, n: number): number {
  const m = (n * (n - 1)) / 2;
  if (m === 0) return 0;
  const all = new Float64Array(m);
  let c = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) all[c++] = D[i * n + j];
  const hi = select(all, m >> 1);
  let v = hi;
  if (m % 2 === 0) {
    // the largest value below position m/2 (all[0..m/2-1] <= hi after select)
    let lo = -Infinity;
    for (let i = 0; i < m >> 1; i++) if (all[i] > lo) lo = all[i];
    v = (Math.sqrt(lo) + Math.sqrt(hi)) / 2;
    return v;
  }
  return Math.sqrt(v);
}

/**
 * Eigenvalues (descending) of the symmetrically normalised Gaussian kernel
 * Deg^-1/2 G Deg^-1/2 from squared distances D (upper triangle; overwritten).
 */
export function diffusionEigenvalues(D: Float64Array, n: number, sigma: number): Float64Array {
  const a = 1 / (2 * sigma * sigma);
  const deg = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * n;
    D[o + i] = 1;
    let s = 1;
    for (let j = i + 1; j < n; j++) {
      const g = Math.exp(-D[o + j] * a);
      D[o + j] = g;
      s += g;
      deg[j] += g;
    }
    deg[i] += s;
  }
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) r[i] = 1 / Math.sqrt(deg[i]);
  for (let i = 0; i < n; i++) {
    const o = i * n;
    const ri = r[i];
    for (let j = i; j < n; j++) D[o + j] *= ri * r[j];
  }
  return eigvalsh(D, n, {uplo: 'U', overwrite: true});
}

/** DSE in bits from the kernel eigenvalues: p = |lambda|^t / sum, -sum (p + eps) log2(p + eps). */
export function spectralEntropyBits(lambda: Float64Array, t: number): number {
  const n = lambda.length;
  const q = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = Math.abs(lambda[i]) ** t;
    q[i] = v;
    sum += v;
  }
  if (!(sum > 0)) return 0;
  let h = 0;
  for (let i = 0; i < n; i++) {
    const p = q[i] / sum + EPS;
    h -= p * Math.log2(p);
  }
  return h;
}

/** DSE (bits) of rows X (n x d float64) with kernel width sigma and diffusion time t. */
export function dseBits(X: Float64Array, n: number, d: number, sigma: number, t: number): number {
  if (n === 0) return 0;
  return spectralEntropyBits(diffusionEigenvalues(sqDistancesUpper(X, n, d), n, sigma), t);
}

function checkFinite(T: Matrix): boolean {
  const data = T.data;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return false;
  return true;
}

const sigmaParam = z.union([z.number().positive(), z.literal('median')]).default(10);
const unit = z.enum(['bits', 'nats']).default('bits');

const dseParams = z.object({sigma: sigmaParam, t: z.number().positive().default(1), unit}).strict();

/**
 * `geom.dse`: diffusion spectral entropy of the layer's rows (docs/metrics.md, geom.dse), bits by default, ceiling
 * log2 N. With `sigma: median` the kernel width is the median pairwise distance of these rows.
 * Non-finite activations give NaN.
 */
export const geomDse: Estimator<z.infer<typeof dseParams>> = {
  name: 'geom.dse',
  description: 'diffusion spectral entropy (Liao et al.): entropy of the |eigenvalues|^t of the normalised Gaussian kernel (sigma, t)',
  params: dseParams,
  memory: ({n, d}) => 12 * n * n + 8 * n * d,
  compute({T}, p) {
    const n = T.rows;
    const ceiling = toUnit(n > 0 ? Math.log2(n) : 0, p.unit);
    if (!checkFinite(T)) return [{quantity: 'H', value: NaN, unit: p.unit, ceiling}];
    const D = sqDistancesUpper(rowsFloat64(T), n, T.cols);
    const sigma = p.sigma === 'median' ? medianPairwiseDistance(D, n) : p.sigma;
    const h = n === 0 ? 0 : sigma > 0 ? spectralEntropyBits(diffusionEigenvalues(D, n, sigma), p.t) : 0;
    return [{quantity: 'H', value: toUnit(h, p.unit), unit: p.unit, ceiling}];
  },
};

const dsmiParams = z
  .object({sigma: sigmaParam, t: z.number().positive().default(1), repetitions: z.number().int().positive().default(5), unit})
  .strict();

/**
 * Rows of the r-th random subset for class `label` (n_c of the N rows, without replacement).
 * The default draws from tdlab's Rng (see `seededSubsets`); tests pass fixed subsets to check the
 * formula against an independent implementation.
 */
export type SubsetDraw = (label: number, r: number, n: number, nc: number) => ArrayLike<number>;

/**
 * The estimator's subsets: the generator is reset to `seed` before the draws of every class, as
 * the reference re-seeds per class; a partial Fisher-Yates shuffle gives a uniform subset.
 */
export function seededSubsets(seed: number): SubsetDraw {
  let rng = new Rng(seed, 'dsmi');
  let perm = new Int32Array(0);
  return (_label, r, n, nc) => {
    if (r === 0) rng = new Rng(seed, 'dsmi');
    if (perm.length !== n) perm = new Int32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    for (let i = 0; i < nc; i++) {
      const j = i + rng.int(n - i);
      const tmp = perm[i];
      perm[i] = perm[j];
      perm[j] = tmp;
    }
    return perm.subarray(0, nc);
  };
}

/**
 * DSMI(Z;Y) in bits (docs/metrics.md, geom.dse): per class c, mean DSE of `repetitions` random row subsets of size
 * n_c minus the DSE of the class's rows, weighted by p(c) = n_c / N. Subsets come from `draw`
 * (default: `seededSubsets(seed)`).
 */
export function dsmiBits(T: Matrix, y: Int32Array, sigma: number | 'median', t: number, repetitions: number, seed: number, draw: SubsetDraw = seededSubsets(seed)): number {
  const n = T.rows;
  const d = T.cols;
  if (n === 0) return 0;
  const X = rowsFloat64(T);
  let s = typeof sigma === 'number' ? sigma : 0;
  if (sigma === 'median') s = medianPairwiseDistance(sqDistancesUpper(X, n, d), n);
  if (!(s > 0)) return 0; // every row identical: every DSE is 0
  const cl = labelIds(y);
  const members: number[][] = Array.from({length: cl.count}, () => []);
  for (let i = 0; i < n; i++) members[cl.ids[i]].push(i);
  let mi = 0;
  for (const rows of members) {
    const nc = rows.length;
    const hCond = dseBits(rowsFloat64({data: X, rows: n, cols: d}, rows), nc, d, s, t);
    let hRand = 0;
    for (let r = 0; r < repetitions; r++) hRand += dseBits(rowsFloat64({data: X, rows: n, cols: d}, draw(y[rows[0]], r, n, nc)), nc, d, s, t);
    mi += (nc / n) * (hRand / repetitions - hCond);
  }
  return mi;
}

/**
 * `geom.dsmi`: diffusion spectral mutual information with the labels, DSMI(Z;Y) (docs/metrics.md, geom.dse), bits
 * by default. No ceiling is attached: log2 C (the D4 value) is not an upper bound for uneven
 * class geometry. Subsets are seeded from
 * `input.seed` (0 when absent). Non-finite activations give NaN.
 */
export const geomDsmi: Estimator<z.infer<typeof dsmiParams>> = {
  name: 'geom.dsmi',
  description: 'diffusion spectral MI with labels (Liao et al.): sum_c p(c) [DSE(random n_c rows) - DSE(rows of class c)]',
  params: dsmiParams,
  memory: ({n, d}) => 12 * n * n + 8 * n * d,
  compute({T, y, seed}, p) {
    if (!checkFinite(T)) return [{quantity: 'I_TY', value: NaN, unit: p.unit}];
    const v = dsmiBits(T, y, p.sigma, p.t, p.repetitions, seed ?? 0);
    return [{quantity: 'I_TY', value: toUnit(v, p.unit), unit: p.unit}];
  },
};
