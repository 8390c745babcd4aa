import {z} from 'zod';
import type {Matrix} from '../../types.js';
import type {PairMetric} from '../types.js';
import {gramUpper} from '../../linalg/gram.js';
import {nativeCentredGram} from '../../native/spectral.js';
import {medianPairwiseDistance, sqDistancesUpper} from '../geometry/dse.js';
import {seededRows} from '../subsample.js';

/*
 * Centred kernel alignment (spec 13.1): similarity of two representations X (n x p) and Y (n x q)
 * of the same n rows. Columns are centred; K, L are the linear (X X^T) or RBF
 * (exp(-|x_i - x_j|^2 / (2 sigma^2))) kernels, H = I - 11^T / n.
 *   biased (Kornblith et al. 2019): HSIC = tr(K H L H) / (n - 1)^2,
 *   debiased (Song et al. 2012, as Nguyen et al. 2021), with K~, L~ = K, L with zero diagonals:
 *     HSIC_u = [tr(K~ L~) + (1'K~1)(1'L~1) / ((n-1)(n-2)) - 2/(n-2) 1'K~L~1] / (n (n-3)),
 *   CKA = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)).
 * RBF sigma: a number, or `median` = the median pairwise Euclidean distance over i < j (numpy's
 * median: mean of the two middle values for an even count), computed per matrix.
 *
 * Two exact evaluation paths, chosen by cost:
 *  - features (linear kernel, p + q <= n): one Gram of the (p + q) x n matrix [X_c Y_c]^T gives
 *    X_c'X_c, Y_c'Y_c and X_c'Y_c together; tr(K L) = ||Y_c' X_c||_F^2 and the debiased terms
 *    come from row norms and column sums (Kornblith et al.'s feature-space form). No n x n matrix.
 *    O(n (p + q)^2 / 2) flops, (p + q)^2 doubles.
 *  - samples (RBF, or linear with p + q > n): the two n x n kernels (upper triangles) and one pass
 *    over them. O(n^2 (p + q) / 2) flops for the Grams + O(n^2), 2 n^2 doubles (+ n^2 / 2 for the
 *    median). Use `maxRows` (seeded) beyond a few thousand rows.
 * The Grams run on float64 SIMD kernels of src/native/spectral.c. In the features path the rows
 * are copied once into WebAssembly memory, where one pass computes the column means, another
 * writes Z in the packed layout of the product kernels (with the centred rows' squared norms for
 * the debiased form) and the 4 x 4 tile kernel forms its Gram, so nothing of size n (p + q) is
 * built in JavaScript (`nativeCentredGram`); the TypeScript path (`TDLAB_NATIVE=0`) builds Z and
 * calls `gramUpper`. The samples path uses `gramUpper` (spectral.c gram_rows).
 *
 * Degenerate input: a constant representation (all rows identical) has HSIC(K, K) = 0, so CKA
 * is NaN with a reason; so are n < 2 (biased) or n < 4 (debiased), a median distance of 0, a
 * non-positive debiased self-HSIC and non-finite entries. The biased value is clipped to [0, 1]
 * (exact by Cauchy-Schwarz; round-off could otherwise give 1 + 1e-16); the debiased one can be
 * slightly negative and is not clipped.
 */

export const ckaParams = z
  .object({
    kernel: z.enum(['linear', 'rbf']).default('linear'),
    sigma: z.union([z.number().positive(), z.literal('median')]).default('median'),
    debiased: z.boolean().default(false),
  })
  .strict();

export type CkaParams = z.infer<typeof ckaParams>;

export interface CkaOptions extends Partial<CkaParams> {
  /** Seeded subset of at most this many rows (the same rows of X and Y). */
  maxRows?: number;
  /** Seed of that subset (default 0). */
  seed?: number;
}

export interface CkaResult {
  /** CKA, or NaN (see `reason`). */
  value: number;
  /** Why the value is NaN. */
  reason?: string;
  /** Rows used. */
  n: number;
  /** HSIC(K, L), HSIC(K, K), HSIC(L, L) (biased or unbiased, as requested). */
  hsic: number;
  hsicXX: number;
  hsicYY: number;
  /** RBF kernel widths used for X and Y. */
  sigmaX?: number;
  sigmaY?: number;
  method: 'features' | 'samples';
}

/** Column means of the selected rows of T; a non-finite entry makes its column's mean non-finite. */
function columnMeans(T: Matrix, rows: Int32Array | undefined): Float64Array {
  const d = T.cols;
  const n = rows ? rows.length : T.rows;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const o = (rows ? rows[i] : i) * d;
    for (let j = 0; j < d; j++) mean[j] += T.data[o + j];
  }
  for (let j = 0; j < d; j++) mean[j] /= n;
  return mean;
}

/** Column-centred float64 copy of the selected rows of T (row-major n x d). */
function centred(T: Matrix, rows: Int32Array | undefined, mean: Float64Array): Float64Array {
  const d = T.cols;
  const n = rows ? rows.length : T.rows;
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const o = (rows ? rows[i] : i) * d;
    for (let j = 0; j < d; j++) out[i * d + j] = T.data[o + j] - mean[j];
  }
  return out;
}

/** Writes the centred selected rows of T transposed (d x n) into Z from row `at` on, in 64-row tiles. */
function centredTransposed(T: Matrix, rows: Int32Array | undefined, mean: Float64Array, Z: Float64Array, at: number, n: number): void {
  const d = T.cols;
  for (let i0 = 0; i0 < n; i0 += 64) {
    const i1 = Math.min(n, i0 + 64);
    for (let j = 0; j < d; j++) {
      const o = (at + j) * n;
      const m = mean[j];
      for (let i = i0; i < i1; i++) Z[o + i] = T.data[(rows ? rows[i] : i) * d + j] - m;
    }
  }
}

/** True when every selected row of T equals the first one (a constant representation). */
function constantRows(T: Matrix, rows: Int32Array | undefined): boolean {
  const d = T.cols;
  const n = rows ? rows.length : T.rows;
  if (n === 0) return true;
  const o0 = (rows ? rows[0] : 0) * d;
  for (let i = 1; i < n; i++) {
    const o = (rows ? rows[i] : i) * d;
    for (let j = 0; j < d; j++) if (T.data[o + j] !== T.data[o0 + j]) return false;
  }
  return true;
}


/** The three HSIC sums of a pair of kernels, before the common normalisation. */
interface HsicTriple {
  kl: number;
  kk: number;
  ll: number;
}

/**
 * Unbiased HSIC numerators [tr(K~L~) + (1'K~1)(1'L~1)/((n-1)(n-2)) - 2/(n-2) 1'K~L~1] from the
 * pieces tr(K~L~), 1'K~1, 1'L~1 and 1'K~L~1.
 */
function unbiased(trKL: number, sumK: number, sumL: number, kl1: number, n: number): number {
  return (trKL + (sumK * sumL) / ((n - 1) * (n - 2)) - (2 / (n - 2)) * kl1) / (n * (n - 3));
}

/** Squared norms of the n columns of rows j0..j1 of Z (d x n, row-major): sum_j Z[j][i]^2 in ascending j. */
function columnSquares(Z: Float64Array, j0: number, j1: number, n: number): Float64Array {
  const sq = new Float64Array(n);
  for (let j = j0; j < j1; j++) {
    const o = j * n;
    for (let i = 0; i < n; i++) sq[i] += Z[o + i] * Z[o + i];
  }
  return sq;
}

/**
 * Linear-kernel HSICs in feature space from the Gram G = Z Z^T (upper triangle) of
 * Z = [X_c Y_c]^T ((p + q) x n, columns centred), which holds X_c'X_c, Y_c'Y_c and X_c'Y_c, and
 * (debiased) the centred rows' squared norms sqX_i = |x_i|^2 = K_ii, sqY_i = L_ii. O((p + q)^2 + n).
 */
function linearFeatureHsic(G: Float64Array, p: number, q: number, n: number, debiased: boolean, sqX: Float64Array | null, sqY: Float64Array | null): HsicTriple {
  const m = p + q;
  // ||X'X||_F^2, ||Y'Y||_F^2 and ||X'Y||_F^2 = tr(K K), tr(L L), tr(K L)
  let xx = 0;
  let yy = 0;
  let xy = 0;
  for (let i = 0; i < m; i++) {
    const o = i * m;
    const g = G[o + i];
    if (i < p) xx += g * g;
    else yy += g * g;
    for (let j = i + 1; j < m; j++) {
      const v = G[o + j] * G[o + j];
      if (j < p) xx += 2 * v;
      else if (i >= p) yy += 2 * v;
      else xy += v;
    }
  }
  if (!debiased) {
    const c = (n - 1) * (n - 1);
    return {kl: xy / c, kk: xx / c, ll: yy / c};
  }
  // Centred columns: K 1 = X_c (X_c' 1) = 0, so (K~ 1)_i = -K_ii and 1'K~1 = -tr K (as NumPy's
  // feature-space form); the same for L.
  let dxy = 0;
  let dxx = 0;
  let dyy = 0;
  let tx = 0;
  let ty = 0;
  for (let i = 0; i < n; i++) {
    const a = sqX![i];
    const b = sqY![i];
    dxy += a * b;
    dxx += a * a;
    dyy += b * b;
    tx += a;
    ty += b;
  }
  return {
    kl: unbiased(xy - dxy, -tx, -ty, dxy, n),
    kk: unbiased(xx - dxx, -tx, -tx, dxx, n),
    ll: unbiased(yy - dyy, -ty, -ty, dyy, n),
  };
}

/**
 * HSICs of two n x n kernels given by their upper triangles (j >= i; row-major), in one pass.
 * Biased: sums of (HKH)_ij (HLH)_ij; unbiased: the Song et al. terms. O(n^2).
 */
export function kernelHsic(K: Float64Array, L: Float64Array, n: number, debiased: boolean): HsicTriple {
  // full row sums from the upper triangles
  const rK = new Float64Array(n);
  const rL = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * n;
    rK[i] += K[o + i];
    rL[i] += L[o + i];
    for (let j = i + 1; j < n; j++) {
      rK[i] += K[o + j];
      rK[j] += K[o + j];
      rL[i] += L[o + j];
      rL[j] += L[o + j];
    }
  }
  if (!debiased) {
    let tK = 0;
    let tL = 0;
    for (let i = 0; i < n; i++) {
      tK += rK[i];
      tL += rL[i];
    }
    const mK = tK / (n * n);
    const mL = tL / (n * n);
    for (let i = 0; i < n; i++) {
      rK[i] /= n;
      rL[i] /= n;
    }
    let kl = 0;
    let kk = 0;
    let ll = 0;
    for (let i = 0; i < n; i++) {
      const o = i * n;
      const ai = mK - rK[i];
      const bi = mL - rL[i];
      let skl = 0;
      let skk = 0;
      let sll = 0;
      for (let j = i + 1; j < n; j++) {
        const a = K[o + j] + ai - rK[j];
        const b = L[o + j] + bi - rL[j];
        skl += a * b;
        skk += a * a;
        sll += b * b;
      }
      const a = K[o + i] + ai - rK[i];
      const b = L[o + i] + bi - rL[i];
      kl += 2 * skl + a * b;
      kk += 2 * skk + a * a;
      ll += 2 * sll + b * b;
    }
    const c = (n - 1) * (n - 1);
    return {kl: kl / c, kk: kk / c, ll: ll / c};
  }
  let kl = 0;
  let kk = 0;
  let ll = 0;
  let sK = 0;
  let sL = 0;
  for (let i = 0; i < n; i++) {
    const o = i * n;
    for (let j = i + 1; j < n; j++) {
      const a = K[o + j];
      const b = L[o + j];
      kl += a * b;
      kk += a * a;
      ll += b * b;
      sK += a;
      sL += b;
    }
    // off-diagonal row sums (K~ 1)_i
    rK[i] -= K[o + i];
    rL[i] -= L[o + i];
  }
  let rkl = 0;
  let rkk = 0;
  let rll = 0;
  for (let i = 0; i < n; i++) {
    rkl += rK[i] * rL[i];
    rkk += rK[i] * rK[i];
    rll += rL[i] * rL[i];
  }
  return {
    kl: unbiased(2 * kl, 2 * sK, 2 * sL, rkl, n),
    kk: unbiased(2 * kk, 2 * sK, 2 * sK, rkk, n),
    ll: unbiased(2 * ll, 2 * sL, 2 * sL, rll, n),
  };
}

/** Upper triangle of the RBF kernel of the rows of A (n x d) and the sigma used; sigma 0 when the median is 0. */
function rbfKernel(A: Float64Array, n: number, d: number, sigma: number | 'median'): {K: Float64Array; sigma: number} {
  const D = sqDistancesUpper(A, n, d);
  const s = sigma === 'median' ? medianPairwiseDistance(D, n) : sigma;
  if (!(s > 0)) return {K: D, sigma: s};
  const c = -1 / (2 * s * s);
  for (let i = 0; i < n; i++) {
    const o = i * n;
    D[o + i] = 1;
    for (let j = i + 1; j < n; j++) D[o + j] = Math.exp(c * D[o + j]);
  }
  return {K: D, sigma: s};
}

/**
 * CKA of X (n x p) and Y (n x q), rows matched (spec 13.1). Pure; float64 throughout.
 * Complexity: linear kernel O(n (p + q) min(n, p + q)) time and O(min(n, p + q)^2) memory;
 * RBF O(n^2 (p + q)) time and O(n^2) memory. `maxRows` caps n with a seeded subset.
 *
 * Example: cka(X, X) = {value: 1, ...}; cka(X, Y, {kernel: 'rbf', sigma: 'median', debiased: true}).
 */
export function cka(X: Matrix, Y: Matrix, opts: CkaOptions = {}): CkaResult {
  const {kernel, sigma, debiased} = ckaParams.parse({kernel: opts.kernel, sigma: opts.sigma, debiased: opts.debiased});
  if (X.rows !== Y.rows) throw new Error(`cka: X has ${X.rows} rows and Y ${Y.rows}; the rows must be the same inputs`);
  const rows = seededRows(X.rows, opts.maxRows, opts.seed ?? 0, 'sim.cka');
  const n = rows ? rows.length : X.rows;
  const p = X.cols;
  const q = Y.cols;
  const method: CkaResult['method'] = kernel === 'linear' && p + q <= n ? 'features' : 'samples';
  const fail = (reason: string, extra: Partial<CkaResult> = {}): CkaResult => ({value: NaN, reason, n, hsic: NaN, hsicXX: NaN, hsicYY: NaN, method, ...extra});
  if (n < (debiased ? 4 : 2)) return fail(`${n} rows: ${debiased ? 'debiased HSIC needs n >= 4' : 'CKA needs n >= 2'}`);
  const constX = constantRows(X, rows);
  const constY = constantRows(Y, rows);
  // features path: means, centring and the Gram in WebAssembly memory (null: the TypeScript path)
  const native = method === 'features' && !constX && !constY ? nativeCentredGram([X, Y], rows, n, debiased) : null;
  const meanX = native ? native.means[0] : columnMeans(X, rows);
  const meanY = native ? native.means[1] : columnMeans(Y, rows);
  if (!meanX.every(Number.isFinite) || !meanY.every(Number.isFinite)) return fail('non-finite values in the representation');
  if (constX || constY) return fail(`constant representation (${constX && constY ? 'both' : constX ? 'first' : 'second'}: every row identical), so HSIC with itself is 0`);
  let h: HsicTriple;
  let sigmaX: number | undefined;
  let sigmaY: number | undefined;
  if (native) h = linearFeatureHsic(native.G, p, q, n, debiased, native.squares[0], native.squares[1]);
  else if (method === 'features') {
    const Z = new Float64Array((p + q) * n);
    centredTransposed(X, rows, meanX, Z, 0, n);
    centredTransposed(Y, rows, meanY, Z, p, n);
    const sq = (j0: number, j1: number) => (debiased ? columnSquares(Z, j0, j1, n) : null);
    h = linearFeatureHsic(gramUpper(Z, p + q, n), p, q, n, debiased, sq(0, p), sq(p, p + q));
  } else if (kernel === 'linear') h = kernelHsic(gramUpper(centred(X, rows, meanX), n, p), gramUpper(centred(Y, rows, meanY), n, q), n, debiased);
  else {
    const Xc = centred(X, rows, meanX);
    const Yc = centred(Y, rows, meanY);
    const kx = rbfKernel(Xc, n, p, sigma);
    sigmaX = kx.sigma;
    if (!(sigmaX > 0)) return fail('median pairwise distance of the first representation is 0 (most rows identical): RBF kernel undefined', {sigmaX});
    const ky = rbfKernel(Yc, n, q, sigma);
    sigmaY = ky.sigma;
    if (!(sigmaY > 0)) return fail('median pairwise distance of the second representation is 0 (most rows identical): RBF kernel undefined', {sigmaX, sigmaY});
    h = kernelHsic(kx.K, ky.K, n, debiased);
  }
  const base = {n, hsic: h.kl, hsicXX: h.kk, hsicYY: h.ll, sigmaX, sigmaY, method};
  if (!(h.kk > 0) || !(h.ll > 0)) return {...base, value: NaN, reason: `HSIC of a representation with itself is ${h.kk > 0 ? h.ll : h.kk} (not positive)`};
  const v = h.kl / Math.sqrt(h.kk * h.ll);
  return {...base, value: debiased ? v : Math.min(1, Math.max(0, v))};
}

/** `sim.cka` (spec 13.1): one value (quantity `value`) per pair of representations; NaN with a reason when degenerate. */
export const simCka: PairMetric<CkaParams> = {
  name: 'sim.cka',
  description: 'centred kernel alignment of two representations of the same rows (linear or RBF kernel, biased or debiased HSIC)',
  params: ckaParams,
  // two representations of width ~d: in WebAssembly memory the raw rows of one (n x d), the centred (2d) x n transposed block and its Gram;
  // or two n x n kernels (RBF, or 2d > n) and the median's copy
  memory: ({n, d}, p) => (p.kernel === 'rbf' || 2 * d > n ? 16 * n * d + 20 * n * n : 24 * n * d + 32 * d * d),
  compare(X, Y, p, opts) {
    const r = cka(X, Y, {...p, maxRows: opts.maxRows, seed: opts.seed});
    return {quantity: 'value', value: r.value, unit: 'dimensionless', ...(r.reason ? {reason: r.reason} : {})};
  },
};
