import {eigh} from './eigen.js';

/**
 * Small dense float64 linear algebra for the metrics: covariance, PCA projection, whitening and
 * minimum-norm least squares (all through `eigh`). Matrices are row-major Float64Array.
 */

/** Column means and the d x d covariance (divisor n - ddof) of an n x d row-major matrix. */
export function covariance(data: ArrayLike<number>, n: number, d: number, ddof = 1): {mean: Float64Array; cov: Float64Array} {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = data[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      const o = a * d;
      for (let b = 0; b <= a; b++) cov[o + b] += ra * row[b];
    }
  }
  const div = Math.max(1, n - ddof);
  for (let a = 0; a < d; a++)
    for (let b = 0; b <= a; b++) {
      const v = cov[a * d + b] / div;
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  return {mean, cov};
}

/**
 * PCA projection of an n x d matrix onto its top-m principal axes (covariance fitted on these
 * rows): n x m scores (data - mean) V_m. Sign of each axis fixed so its largest-magnitude
 * loading is positive (deterministic output).
 */
export function pcaProject(data: ArrayLike<number>, n: number, d: number, m: number): {scores: Float64Array; values: Float64Array} {
  const mm = Math.min(m, d);
  const {mean, cov} = covariance(data, n, d);
  const {values, vectors} = eigh(cov, d);
  const W = new Float64Array(d * mm);
  for (let c = 0; c < mm; c++) {
    let big = 0;
    for (let r = 0; r < d; r++) if (Math.abs(vectors[r * d + c]) > Math.abs(big)) big = vectors[r * d + c];
    const sgn = big < 0 ? -1 : 1;
    for (let r = 0; r < d; r++) W[r * mm + c] = sgn * vectors[r * d + c];
  }
  const scores = new Float64Array(n * mm);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = data[i * d + j] - mean[j];
    for (let c = 0; c < mm; c++) {
      let s = 0;
      for (let r = 0; r < d; r++) s += row[r] * W[r * mm + c];
      scores[i * mm + c] = s;
    }
  }
  return {scores, values: values.slice(0, mm)};
}

/**
 * Whitening: returns (data - mean) V diag(lambda^-1/2) for the sample covariance (ddof 1) of the
 * rows, with `ridge` * (mean eigenvalue) added to the eigenvalues (near-singular covariances,
 * docs/metrics.md, ib.lossy), and ln det of that regularised covariance (the entropy Jacobian is 0.5 ln det).
 */
export function whiten(data: Float64Array, n: number, d: number, ridge = 1e-9): {white: Float64Array; logDet: number} {
  const {mean, cov} = covariance(data, n, d);
  const {values, vectors} = eigh(cov, d);
  let tr = 0;
  for (let j = 0; j < d; j++) tr += Math.max(0, values[j]);
  const add = ridge * (tr > 0 ? tr / d : 1);
  const scale = new Float64Array(d);
  let logDet = 0;
  for (let j = 0; j < d; j++) {
    const lam = Math.max(0, values[j]) + add;
    scale[j] = 1 / Math.sqrt(lam);
    logDet += Math.log(lam);
  }
  const white = new Float64Array(n * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = data[i * d + j] - mean[j];
    for (let c = 0; c < d; c++) {
      let s = 0;
      for (let r = 0; r < d; r++) s += row[r] * vectors[r * d + c];
      white[i * d + c] = s * scale[c];
    }
  }
  return {white, logDet};
}

/**
 * Minimum-norm least-squares solution of A w = b (A: m x k row-major), singular values below
 * rcond * (largest) treated as zero (numpy.linalg.lstsq semantics), via the eigen-decomposition
 * of A^T A (adequate for the small, well-scaled systems of the weighted KL estimator).
 */
export function lstsqMinNorm(A: Float64Array, m: number, k: number, b: Float64Array, rcond = 1e-6): Float64Array {
  const AtA = new Float64Array(k * k);
  const Atb = new Float64Array(k);
  for (let r = 0; r < m; r++)
    for (let i = 0; i < k; i++) {
      const a = A[r * k + i];
      Atb[i] += a * b[r];
      for (let j = 0; j < k; j++) AtA[i * k + j] += a * A[r * k + j];
    }
  const {values, vectors} = eigh(AtA, k);
  const smax = Math.sqrt(Math.max(0, values[0]));
  const w = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    const s = Math.sqrt(Math.max(0, values[c]));
    if (!(s > rcond * smax)) continue;
    let proj = 0;
    for (let r = 0; r < k; r++) proj += vectors[r * k + c] * Atb[r];
    proj /= values[c];
    for (let r = 0; r < k; r++) w[r] += proj * vectors[r * k + c];
  }
  return w;
}
