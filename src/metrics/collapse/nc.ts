import {z} from 'zod';
import type {Matrix} from '../../types.js';
import type {Estimator, EstimatorValue} from '../types.js';
import {eigh} from '../../linalg/eigen.js';
import {seededRows} from '../subsample.js';

/*
 * Neural collapse (Papyan, Han & Donoho 2020; spec 13.4) of the last hidden layer H (n x d) with
 * labels y. mu_k: class means, mu_G: the global mean of the rows, M = [mu_k - mu_G] (K x d).
 *   NC1 = tr(Sigma_W Sigma_B^+) / K, Sigma_W = (1/n) sum_i (h_i - mu_yi)(h_i - mu_yi)',
 *         Sigma_B = (1/K) M'M;
 *   NC2_norm = std_k |mu_k - mu_G| / mean_k |mu_k - mu_G| (population std);
 *   NC2_angle = mean over k != k' of |cos(mu_k - mu_G, mu_k' - mu_G) + 1/(K-1)|;
 *   NC3 = || W'/||W||_F - M/||M||_F ||_F^2 (W = classifier weights, d x K);
 *   NC4 = fraction of rows whose nearest class mean (Euclidean) differs from argmax(h W + b).
 *
 * Computation (no d x d matrix): with the eigen-decomposition M M' = U diag(s^2) U' (K x K),
 * Sigma_B^+ = K sum_j v_j v_j' / s_j^2 with v_j = M' u_j / s_j, hence
 *   NC1 = sum_j u_j' C u_j / s_j^4,  C = M Sigma_W M' = A'A / n,  A = (H - mu_y) M' (n x K).
 * O(n d K + K^2 d + K^3) time, O(n K + K d) memory; `maxRows` caps n with a seeded subset.
 * Pseudo-inverse: since mu_G is the row mean, sum_k n_k (mu_k - mu_G) = 0, so rank(M) <= K - 1
 * always; the smallest eigenvalue is dropped and the others count when s_j^2 > 1e-12 s_1^2 (a
 * relative cutoff well above the round-off of the Gram, far below any class structure).
 *
 * K is the number of classes present among the rows (sorted label values). With classifier
 * weights W (d x C) and bias b (C), labels must lie in 0..C-1; NC3 uses the columns of the
 * present classes; NC4 predicts over all C columns (ties: the lowest index, as argmax).
 * Degenerate cases give NaN with a reason: fewer than 2 classes, coinciding class means
 * (Sigma_B = 0), a class mean equal to the global mean (NC2_angle), non-finite values.
 */

export const ncParams = z.object({}).strict();

export interface NcOptions {
  /** Classifier weights d x C (input-by-output, z = h W + b) and bias (length C): NC3, NC4. */
  W?: Matrix;
  b?: ArrayLike<number>;
  /** Seeded subset of at most this many rows. */
  maxRows?: number;
  seed?: number;
}

export interface NcResult {
  NC1: number;
  NC2_norm: number;
  NC2_angle: number;
  /** Present when W was given. */
  NC3?: number;
  NC4?: number;
  /** Classes present, rows used. */
  K: number;
  n: number;
  /** Why a value is NaN, by quantity. */
  reasons: Record<string, string>;
}

const RANK_CUTOFF = 1e-12;

/**
 * Neural-collapse statistics NC1-NC4 of H (n x d) with labels y (length n), and NC3/NC4 when the
 * classifier weights are given. Pure; float64. O(n d K + K^2 d + K^3).
 *
 * Example: features at their class means on a simplex ETF with W' = M give NC1 = NC2 = NC3 = 0.
 */
export function neuralCollapse(H: Matrix, y: Int32Array, opts: NcOptions = {}): NcResult {
  if (y.length !== H.rows) throw new Error(`nc.collapse: ${y.length} labels for ${H.rows} rows`);
  const d = H.cols;
  const W = opts.W;
  if (W && W.rows !== d) throw new Error(`nc.collapse: classifier weights have ${W.rows} rows but the features have ${d} columns (W must be d x K, input-by-output)`);
  if (W && opts.b && opts.b.length !== W.cols) throw new Error(`nc.collapse: bias has ${opts.b.length} values for ${W.cols} classifier outputs`);
  const sel = seededRows(H.rows, opts.maxRows, opts.seed ?? 0, 'nc.collapse');
  const n = sel ? sel.length : H.rows;
  const row = (i: number) => (sel ? sel[i] : i);
  const labels = Int32Array.from({length: n}, (_, i) => y[row(i)]);
  const classes = [...new Set(labels)].sort((a, b) => a - b);
  if (W) {
    const bad = classes.find((c) => c < 0 || c >= W.cols);
    if (bad !== undefined) throw new Error(`nc.collapse: label ${bad} outside the classifier's 0..${W.cols - 1}`);
  }
  const K = classes.length;
  const classIndex = new Map(classes.map((c, k) => [c, k]));
  const reasons: Record<string, string> = {};
  const nan = (why: string): NcResult => {
    const out: NcResult = {NC1: NaN, NC2_norm: NaN, NC2_angle: NaN, K, n, reasons: {NC1: why, NC2_norm: why, NC2_angle: why}};
    if (W) {
      out.NC3 = NaN;
      out.NC4 = NaN;
      out.reasons.NC3 = why;
      out.reasons.NC4 = why;
    }
    return out;
  };
  if (K < 2) return nan(`${K} class${K === 1 ? '' : 'es'} among ${n} rows: neural collapse needs at least 2`);
  // the rows used, as one float64 block (monomorphic loops below)
  const X = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const o = row(i) * d;
    for (let j = 0; j < d; j++) {
      const v = H.data[o + j];
      if (!Number.isFinite(v)) return nan('non-finite values in the features');
      X[i * d + j] = v;
    }
  }

  // class means and the global mean
  const mu = new Float64Array(K * d);
  const count = new Float64Array(K);
  const muG = new Float64Array(d);
  const ks = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = classIndex.get(labels[i])!;
    ks[i] = k;
    count[k]++;
    const o = i * d;
    for (let j = 0; j < d; j++) {
      mu[k * d + j] += X[o + j];
      muG[j] += X[o + j];
    }
  }
  for (let k = 0; k < K; k++) for (let j = 0; j < d; j++) mu[k * d + j] /= count[k];
  for (let j = 0; j < d; j++) muG[j] /= n;
  const M = new Float64Array(K * d);
  for (let k = 0; k < K; k++) for (let j = 0; j < d; j++) M[k * d + j] = mu[k * d + j] - muG[j];

  // Gram of the centred means, norms and cosines
  const G = new Float64Array(K * K);
  for (let a = 0; a < K; a++) {
    for (let c = 0; c <= a; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += M[a * d + j] * M[c * d + j];
      G[a * K + c] = G[c * K + a] = s;
    }
  }
  const norms = Float64Array.from({length: K}, (_, k) => Math.sqrt(G[k * K + k]));
  let meanNorm = 0;
  for (const v of norms) meanNorm += v;
  meanNorm /= K;
  let varNorm = 0;
  for (const v of norms) varNorm += (v - meanNorm) ** 2;
  varNorm /= K;
  const NC2_norm = meanNorm > 0 ? Math.sqrt(varNorm) / meanNorm : NaN;
  if (!(meanNorm > 0)) reasons.NC2_norm = 'all class means equal the global mean';
  let NC2_angle = NaN;
  if (norms.every((v) => v > 0)) {
    let s = 0;
    for (let a = 0; a < K; a++) for (let c = 0; c < K; c++) if (a !== c) s += Math.abs(G[a * K + c] / (norms[a] * norms[c]) + 1 / (K - 1));
    NC2_angle = s / (K * (K - 1));
  } else reasons.NC2_angle = `class ${classes[norms.findIndex((v) => !(v > 0))]}: its mean equals the global mean (angle undefined)`;

  // NC1 = sum_j u_j' C u_j / s_j^4 over the kept eigenpairs of M M'
  let NC1 = NaN;
  const eig = eigh(G, K);
  const lam1 = eig.values[0];
  if (lam1 > 0) {
    const A = new Float64Array(n * K);
    const diff = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const o = i * d;
      const k = ks[i];
      for (let j = 0; j < d; j++) diff[j] = X[o + j] - mu[k * d + j];
      for (let c = 0; c < K; c++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += diff[j] * M[c * d + j];
        A[i * K + c] = s;
      }
    }
    NC1 = 0;
    for (let jj = 0; jj < K - 1; jj++) {
      const lam = eig.values[jj];
      if (!(lam > RANK_CUTOFF * lam1)) break;
      // |A u_j|^2 / n = u_j' C u_j
      let s = 0;
      for (let i = 0; i < n; i++) {
        let t = 0;
        for (let c = 0; c < K; c++) t += A[i * K + c] * eig.vectors[c * K + jj];
        s += t * t;
      }
      NC1 += s / n / (lam * lam);
    }
  } else reasons.NC1 = 'all class means coincide (Sigma_B = 0)';

  const out: NcResult = {NC1, NC2_norm, NC2_angle, K, n, reasons};
  if (W) {
    // NC3 on the present classes' columns
    let wn = 0;
    let mn = 0;
    for (let k = 0; k < K; k++) {
      const c = classes[k];
      for (let j = 0; j < d; j++) {
        wn += W.data[j * W.cols + c] ** 2;
        mn += M[k * d + j] ** 2;
      }
    }
    wn = Math.sqrt(wn);
    mn = Math.sqrt(mn);
    if (wn > 0 && mn > 0) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const c = classes[k];
        for (let j = 0; j < d; j++) s += (W.data[j * W.cols + c] / wn - M[k * d + j] / mn) ** 2;
      }
      out.NC3 = s;
    } else {
      out.NC3 = NaN;
      reasons.NC3 = wn > 0 ? 'all class means equal the global mean' : 'classifier weights are all 0';
    }
    // NC4: nearest class mean vs the classifier's prediction
    const C = W.cols;
    let mismatch = 0;
    const z = new Float64Array(C);
    for (let i = 0; i < n; i++) {
      const o = i * d;
      for (let c = 0; c < C; c++) z[c] = opts.b ? opts.b[c] : 0;
      for (let j = 0; j < d; j++) {
        const h = X[o + j];
        if (h === 0) continue;
        const wo = j * C;
        for (let c = 0; c < C; c++) z[c] += h * W.data[wo + c];
      }
      let pred = 0;
      for (let c = 1; c < C; c++) if (z[c] > z[pred]) pred = c;
      let best = 0;
      let bestD = Infinity;
      for (let k = 0; k < K; k++) {
        let dist = 0;
        const m = k * d;
        for (let j = 0; j < d; j++) {
          const t = X[o + j] - mu[m + j];
          dist += t * t;
        }
        if (dist < bestD) {
          bestD = dist;
          best = k;
        }
      }
      if (classes[best] !== pred) mismatch++;
    }
    out.NC4 = mismatch / n;
  }
  return out;
}

/**
 * `nc.collapse` (spec 13.4) as an activation estimator of the last hidden layer: NC1, NC2_norm,
 * NC2_angle, and NC3/NC4 when the classifier (output layer) is known, which it always is in a run.
 */
export const ncCollapse: Estimator<z.infer<typeof ncParams>> = {
  name: 'nc.collapse',
  description: 'neural collapse of the last hidden layer (Papyan et al. 2020): within-class variability NC1, equinorm/equiangularity NC2, classifier-mean alignment NC3, nearest-class-mean agreement NC4',
  params: ncParams,
  // a float64 copy of the rows, the n x K projection and K x d means (K <= 20 classes assumed); no d x d matrix
  memory: ({n, d}) => 8 * n * d + 160 * n + 480 * d,
  layers: 'last-hidden',
  compute(input) {
    const r = neuralCollapse(input.T64 ?? input.T, input.y, {W: input.classifier?.W, b: input.classifier?.b});
    const keys: Array<'NC1' | 'NC2_norm' | 'NC2_angle' | 'NC3' | 'NC4'> = ['NC1', 'NC2_norm', 'NC2_angle', ...(input.classifier ? (['NC3', 'NC4'] as const) : [])];
    return keys.map((k): EstimatorValue => ({quantity: k, value: r[k] as number, unit: 'dimensionless', ...(r.reasons[k] ? {reason: r.reasons[k]} : {})}));
  },
};
