import {z} from 'zod';
import type {Matrix} from '../../types.js';
import {labelIds, toUnit} from '../discrete.js';
import {eigvalsh} from '../../linalg/eigen.js';
import type {Estimator} from '../types.js';
import {medianPairwiseDistance, rowsFloat64, sqDistancesUpper} from './dse.js';
import {finite, preparedSpectrum, spectrumMemory} from './spectrum.js';

/*
 * Matrix-based representation entropies (docs/metrics.md, entropy and geometry of representations). Float64 throughout; eigenvalues from
 * `eigvalsh` (linalg/eigen.ts) / `preparedSpectrum` (spectrum.ts), clipped at 0.
 *
 * ent.renyi (Giraldo, Rao, Principe 2015), docs/metrics.md, ent.renyi: A = K / N with the Gaussian kernel
 * K_ij = exp(-||z_i - z_j||^2 / (2 sigma^2)) (K_ii = 1, tr A = 1),
 *   S_alpha(A) = log2(sum lambda^alpha) / (1 - alpha)   (alpha = 1: -sum lambda log2 lambda).
 * With labels: B = K_Y / N, K_Y(i, j) = [y_i = y_j]; joint (A o B) / tr(A o B);
 *   I_alpha = S(A) + S(B) - S(A, B).
 * Both label-side matrices are block diagonal after sorting rows by class, which is used instead
 * of building them: K_Y's block of class c is the all-ones n_c x n_c matrix, so B has eigenvalues
 * n_c / N (and zeros) and S(B) is the Renyi entropy of the class proportions; tr(A o B) =
 * sum_i A_ii B_ii = 1/N, so (A o B) / tr = block-diag(K_c / N) with K_c the kernel among the rows
 * of class c, and its eigenvalues are those of the blocks. Cost: kernel O(N^2 d), eigenvalues
 * O(4/3 N^3) for S(A) plus sum_c O(4/3 n_c^3) for the joint; memory one N x N float64.
 * sigma: a number or `median` (default; the median pairwise distance over i < j of these rows,
 * see dse.ts); alpha default 1.01 (ours, docs/metrics.md, ent.renyi). Unit bits by default (`unit`).
 *
 * ent.matrix (Wei et al. 2024), docs/metrics.md, ent.matrix: centre (`center`, default true), L2-normalise every
 * row (rows of norm 0 stay 0), Sigma = Z^T Z / N, lambda = eigenvalues of Sigma / tr(Sigma),
 *   H = -sum lambda ln lambda / ln d  (dimensionless, [0, 1]); H = 0 when tr = 0 or d = 1.
 * ent.vne (Kim et al. 2023), docs/metrics.md, ent.vne: rows L2-normalised, not centred, C = Z^T Z / N,
 *   VNE = -sum lambda ln lambda (nats by default), in [0, ln min(N, d)].
 * Both: O(N d min(N, d)) for Z^T Z (or the Gram Z Z^T when N < d) + O(min(N, d)^3).
 * ent.mbe2 (GAPT / IBLM), docs/metrics.md, ent.mbe2: consecutive patches of P rows (`patch`, default 8), G = Z_p Z_p^T,
 *   MBE = max(0, ln(tr(G)^2 / ||G||_F^2)) (nats), mean over patches; an all-zero patch counts 0.
 * A trailing partial patch (N mod P rows) is dropped; when N < P the whole set is one patch.
 * O(N P d).
 */

const unitBits = z.enum(['bits', 'nats']).default('bits');
const unitNats = z.enum(['bits', 'nats']).default('nats');

/** Renyi alpha-entropy in bits of a spectrum summing to 1 (negative values clipped to 0). */
export function renyiBits(lambda: ArrayLike<number>, alpha: number): number {
  if (Math.abs(alpha - 1) < 1e-12) {
    let h = 0;
    for (let i = 0; i < lambda.length; i++) {
      const l = lambda[i];
      if (l > 0) h -= l * Math.log2(l);
    }
    return h;
  }
  let s = 0;
  for (let i = 0; i < lambda.length; i++) {
    const l = lambda[i];
    if (l > 0) s += l ** alpha;
  }
  return Math.log2(s) / (1 - alpha);
}

/** Eigenvalues of the Gaussian kernel / scale from squared distances (upper triangle, overwritten). */
function kernelEigenvalues(D: Float64Array, n: number, sigma: number, scale: number): Float64Array {
  const a = 1 / (2 * sigma * sigma);
  for (let i = 0; i < n; i++) {
    const o = i * n;
    D[o + i] = scale;
    for (let j = i + 1; j < n; j++) D[o + j] = Math.exp(-D[o + j] * a) * scale;
  }
  return eigvalsh(D, n, {uplo: 'U', overwrite: true});
}

/** S_alpha(A) and I_alpha(A; B) in bits (docs/metrics.md, ent.renyi; see the file comment). */
export function renyiEntropyMi(T: Matrix, y: Int32Array, alpha: number, sigma: number | 'median'): {H: number; I: number} {
  const n = T.rows;
  if (n === 0) return {H: 0, I: 0};
  const D = sqDistancesUpper(rowsFloat64(T), n, T.cols);
  let s = sigma === 'median' ? medianPairwiseDistance(D, n) : sigma;
  if (!(s > 0)) s = 1; // every row identical: K is all ones for any sigma
  // joint: per-class blocks of K / N, taken from D before it is overwritten
  const cl = labelIds(y);
  const members: number[][] = Array.from({length: cl.count}, () => []);
  for (let i = 0; i < n; i++) members[cl.ids[i]].push(i);
  const joint: number[] = [];
  const props: number[] = [];
  for (const rows of members) {
    const m = rows.length;
    props.push(m / n);
    const Dc = new Float64Array(m * m);
    for (let a = 0; a < m; a++)
      for (let b = a + 1; b < m; b++) {
        const i = rows[a];
        const j = rows[b];
        Dc[a * m + b] = i < j ? D[i * n + j] : D[j * n + i];
      }
    for (const l of kernelEigenvalues(Dc, m, s, 1 / n)) joint.push(l);
  }
  const H = renyiBits(kernelEigenvalues(D, n, s, 1 / n), alpha);
  const HY = renyiBits(props, alpha);
  const HJ = renyiBits(joint, alpha);
  return {H, I: H + HY - HJ};
}

const renyiParams = z
  .object({alpha: z.number().positive().default(1.01), sigma: z.union([z.number().positive(), z.literal('median')]).default('median'), unit: unitBits})
  .strict();

/** `ent.renyi`: matrix-based Renyi alpha-entropy `H` of the layer and `I_TY` with the labels (docs/metrics.md, ent.renyi). */
export const entRenyi: Estimator<z.infer<typeof renyiParams>> = {
  name: 'ent.renyi',
  description: 'matrix-based Renyi alpha-entropy (Giraldo et al.) of the Gaussian kernel K/N, and I(T;Y) with the label kernel',
  params: renyiParams,
  memory: ({n, d}) => 16 * n * n + 8 * n * d,
  compute({T, y}, p) {
    const ceiling = toUnit(T.rows > 0 ? Math.log2(T.rows) : 0, p.unit);
    const r = finite(T) ? renyiEntropyMi(T, y, p.alpha, p.sigma) : {H: NaN, I: NaN};
    return [
      {quantity: 'H', value: toUnit(r.H, p.unit), unit: p.unit, ceiling},
      {quantity: 'I_TY', value: toUnit(r.I, p.unit), unit: p.unit},
    ];
  },
};

/** -sum l ln l over l = lambda / total (lambda clipped at 0). */
function shannonNats(lambda: Float64Array, total: number): number {
  let h = 0;
  for (let i = 0; i < lambda.length; i++) {
    const l = lambda[i] / total;
    if (l > 0) h -= l * Math.log(l);
  }
  return h;
}

/** Normalised matrix entropy of docs/metrics.md, ent.matrix (dimensionless). */
export function matrixEntropy(T: Matrix, center: boolean): number {
  const {rows: n, cols: d} = T;
  if (n === 0 || d < 2) return 0;
  const {lam, nonzero} = preparedSpectrum(T, center, true);
  if (nonzero === 0) return 0;
  let tr = 0;
  for (let i = 0; i < lam.length; i++) if (lam[i] > 0) tr += lam[i];
  return shannonNats(lam, tr) / Math.log(d);
}

/** Von Neumann entropy of docs/metrics.md, ent.vne, nats. */
export function vonNeumannEntropy(T: Matrix): number {
  const {rows: n, cols: d} = T;
  if (n === 0 || d === 0) return 0;
  return shannonNats(preparedSpectrum(T, false, true).lam, n);
}

/** MBE (alpha = 2, linear kernel) of docs/metrics.md, ent.mbe2, nats, mean over patches of `patch` rows. */
export function mbe2(T: Matrix, patch: number): number {
  const {rows: n, cols: d, data} = T;
  if (n === 0) return 0;
  const P = Math.min(patch, n);
  const patches = Math.floor(n / P);
  let sum = 0;
  for (let q = 0; q < patches; q++) {
    const base = q * P * d;
    let tr = 0;
    let f2 = 0;
    for (let a = 0; a < P; a++)
      for (let b = a; b < P; b++) {
        const oa = base + a * d;
        const ob = base + b * d;
        let s = 0;
        for (let k = 0; k < d; k++) s += data[oa + k] * data[ob + k];
        if (a === b) {
          tr += s;
          f2 += s * s;
        } else f2 += 2 * s * s;
      }
    if (f2 > 0) sum += Math.max(0, Math.log((tr * tr) / f2));
  }
  return sum / patches;
}

const matrixParams = z.object({center: z.boolean().default(true)}).strict();

/** `ent.matrix`: normalised matrix entropy (Wei et al.), dimensionless in [0, 1] (docs/metrics.md, ent.matrix). */
export const entMatrix: Estimator<z.infer<typeof matrixParams>> = {
  name: 'ent.matrix',
  description: 'normalised matrix entropy (Wei et al.): -sum l ln l / ln d of the trace-normalised covariance of centred, L2-normalised rows',
  params: matrixParams,
  memory: spectrumMemory,
  compute({T}, p) {
    return [{quantity: 'H', value: finite(T) ? matrixEntropy(T, p.center) : NaN, unit: 'dimensionless', ceiling: 1}];
  },
};

const vneParams = z.object({unit: unitNats}).strict();

/** `ent.vne`: von Neumann entropy of Z^T Z / N with L2-normalised rows (Kim et al.; docs/metrics.md, ent.vne), nats by default. */
export const entVne: Estimator<z.infer<typeof vneParams>> = {
  name: 'ent.vne',
  description: 'von Neumann entropy (Kim et al.) of Z^T Z / N with L2-normalised rows, not centred',
  params: vneParams,
  memory: spectrumMemory,
  compute({T}, p) {
    const m = Math.min(T.rows, T.cols);
    const ceiling = toUnit(m > 0 ? Math.log2(m) : 0, p.unit);
    const v = finite(T) ? vonNeumannEntropy(T) / Math.LN2 : NaN;
    return [{quantity: 'H', value: toUnit(v, p.unit), unit: p.unit, ceiling}];
  },
};

const mbeParams = z.object({patch: z.number().int().min(1).default(8), unit: unitNats}).strict();

/** `ent.mbe2`: alpha = 2 matrix-based entropy of patches of `patch` rows (GAPT; docs/metrics.md, ent.mbe2), nats by default. */
export const entMbe2: Estimator<z.infer<typeof mbeParams>> = {
  name: 'ent.mbe2',
  description: 'alpha-2 matrix-based entropy ln(tr(G)^2 / ||G||_F^2) of the linear Gram of each patch of rows, mean over patches',
  params: mbeParams,
  memory: ({n, d}, p) => 8 * n * d + 16 * p.patch * p.patch,
  compute({T}, p) {
    const P = Math.min(p.patch, T.rows);
    const ceiling = toUnit(P > 0 ? Math.log2(P) : 0, p.unit);
    const v = finite(T) ? mbe2(T, p.patch) / Math.LN2 : NaN;
    return [{quantity: 'H', value: toUnit(v, p.unit), unit: p.unit, ceiling}];
  },
};
