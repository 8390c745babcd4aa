/**
 * Closed-form ground truth for the estimator validation suite (docs/metrics.md, ground truth), in nats,
 * plus the special functions it needs: erf/erfc and the standard normal CDF Phi (for the
 * "uniform" tasks).
 *
 * Everything is float64. Accuracy: erf/erfc/Phi absolute error <= ~2e-16 everywhere (series
 * without cancellation for |x| < 2.5, continued fraction beyond, so erfc keeps its relative
 * accuracy in the tail). lgamma and digamma come from the kNN estimators' `special.ts`.
 */
import {digamma, lgamma} from '../metrics/special.js';

const SQRT_PI = Math.sqrt(Math.PI);

/** erf(x) for 0 <= x < ~3 by the all-positive series 2/sqrt(pi) e^{-x^2} sum 2^n x^{2n+1} / (2n+1)!!. */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 0; n < 500; n++) {
    term *= (2 * x2) / (2 * n + 3);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return (2 / SQRT_PI) * Math.exp(-x2) * sum;
}

/**
 * erfc(x) for x >= 2 by the continued fraction
 * erfc(x) = e^{-x^2}/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))) (modified Lentz).
 */
function erfcFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 5000; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? tiny : d;
    c = x + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (SQRT_PI * f);
}

/** Complementary error function. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2.5) return 1 - erfSeries(x);
  if (x > 27) return 0; // below the smallest double
  return erfcFraction(x);
}

/** Error function. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return -erf(-x);
  if (x < 2.5) return erfSeries(x);
  return 1 - erfcFraction(x);
}

/** Standard normal CDF Phi(x) = erfc(-x / sqrt 2) / 2. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

// --- linear algebra on small symmetric positive-definite matrices ------------------------

/** A square matrix as an array of rows. */
export type Mat = number[][];

/** Lower Cholesky factor L (S = L L^T) of a symmetric positive-definite matrix. */
export function cholesky(S: Mat): Mat {
  const d = S.length;
  const L: Mat = Array.from({length: d}, () => new Array<number>(d).fill(0));
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = S[i][j];
      for (let k = 0; k < j; k++) s -= L[i][k] * L[j][k];
      if (i === j) {
        if (!(s > 0)) throw new RangeError('cholesky: matrix is not positive definite');
        L[i][i] = Math.sqrt(s);
      } else L[i][j] = s / L[j][j];
    }
  }
  return L;
}

/** ln det S of a symmetric positive-definite matrix. */
export function logDet(S: Mat): number {
  const L = cholesky(S);
  let s = 0;
  for (let i = 0; i < L.length; i++) s += Math.log(L[i][i]);
  return 2 * s;
}

/** The principal sub-matrix of rows/columns [from, to). */
export function block(S: Mat, from: number, to: number): Mat {
  return S.slice(from, to).map((row) => row.slice(from, to));
}

/** d x d covariance with unit variances and every off-diagonal correlation `rho`. */
export function equicorrelated(d: number, rho: number): Mat {
  return Array.from({length: d}, (_, i) => Array.from({length: d}, (_, j) => (i === j ? 1 : rho)));
}

/**
 * Joint (2m x 2m) correlation of the sparse "2-pair" task: X_i = 2 Z_i + E_i, Y_i = 2 Z_i + F_i
 * for i = 1, 2 (correlation 4/5 within each pair), all other coordinates independent.
 * Order: X_1..X_m, Y_1..Y_m.
 */
export function sparsePairs(m: number, pairs = 2, rho = 0.8): Mat {
  const S = equicorrelated(2 * m, 0);
  for (let i = 0; i < Math.min(pairs, m); i++) {
    S[i][m + i] = rho;
    S[m + i][i] = rho;
  }
  return S;
}

// --- closed forms (nats) -----------------------------------------------------------------

/** Gaussian MI: 0.5 ln(det S_xx det S_yy / det S), X = the first `dimX` coordinates. */
export function gaussianMi(S: Mat, dimX: number): number {
  const d = S.length;
  return 0.5 * (logDet(block(S, 0, dimX)) + logDet(block(S, dimX, d)) - logDet(S));
}

/** Differential entropy of N(mu, S): 0.5 ln det(2 pi e S). */
export function gaussianEntropy(S: Mat): number {
  return 0.5 * (S.length * Math.log(2 * Math.PI * Math.E) + logDet(S));
}

/**
 * The Student-t correction h(k) of docs/metrics.md, ground truth for a k-dimensional marginal with nu degrees of
 * freedom: -ln Gamma((nu+k)/2) + ln Gamma(nu/2) + (k/2) ln(nu pi) + ((nu+k)/2)[psi((nu+k)/2) - psi(nu/2)].
 */
function studentH(k: number, nu: number): number {
  const a = (nu + k) / 2;
  return -lgamma(a) + lgamma(nu / 2) + (k / 2) * Math.log(nu * Math.PI) + a * (digamma(a) - digamma(nu / 2));
}

/**
 * MI of the multivariate Student-t (shared chi-square scale) with dispersion S (identity when
 * omitted): I = I_gauss(S) + h(d_x) + h(d_y) - h(d_x + d_y).
 */
export function studentTMi(dimX: number, dimY: number, nu: number, S?: Mat): number {
  const gauss = S ? gaussianMi(S, dimX) : 0;
  return gauss + studentH(dimX, nu) + studentH(dimY, nu) - studentH(dimX + dimY, nu);
}

/** Additive uniform noise: X ~ U(0,1), Y = X + U(-e, e): e - ln(2e) for e <= 1/2, else 1/(4e). */
export function additiveUniformMi(e: number): number {
  if (!(e > 0)) throw new RangeError('additiveUniformMi: e must be positive');
  return e <= 0.5 ? e - Math.log(2 * e) : 1 / (4 * e);
}
