import {z} from 'zod';
import type {Matrix} from '../../types.js';
import {gramRowsEigenvalues} from '../../linalg/gram.js';
import type {Estimator, EstimatorValue} from '../types.js';

/*
 * Spectral summaries of a layer's representation Z (N x d): effective rank and RankMe (docs/metrics.md, geom.erank),
 * alpha-ReQ (7.6) and the participation ratio (7.7). All use the eigenvalues of Z^T Z (float64)
 * computed from the smaller of the d x d matrix Z^T Z and the N x N Gram Z Z^T
 * (`preparedSpectrum` below, `gramRowsEigenvalues` in linalg/gram.ts): O(N d min(N, d)) + O(min(N, d)^3). Squared singular values of
 * Z are these eigenvalues (clipped at 0); the covariance spectrum is the same up to the factor
 * 1/(N - 1), which none of these scale-invariant quantities depends on.
 * Degenerate input (all-zero Z, or N = 0 / d = 0) gives 0 for erank, RankMe and PR (the rank of
 * a zero matrix) and NaN for alpha-ReQ; non-finite activations give NaN.
 */


/** Working memory of the covariance-spectrum metrics: the smaller of Z^T Z and Z Z^T (and its eigen work), plus a float64 copy of T. */
export const spectrumMemory = ({n, d}: {n: number; d: number}): number => {
  const m = Math.min(n, d);
  return 16 * m * m + 8 * n * d;
};

/**
 * Eigenvalues (descending, length min(N, d)) of Z^T Z for Z = T with the column means removed
 * (`center`) and then every row scaled to unit L2 norm (`normalize`; rows of norm 0 stay 0). One
 * pass over T: the prepared values go straight into the Gram's input buffer (transposed when
 * d <= N), with no intermediate N x d float64 copy. `nonzero`: rows of non-zero norm.
 */
export function preparedSpectrum(T: Matrix, center: boolean, normalize: boolean): {lam: Float64Array; nonzero: number} {
  const {rows: n, cols: d, data} = T;
  if (n === 0 || d === 0) return {lam: new Float64Array(0), nonzero: 0};
  const mean = new Float64Array(d);
  if (center) {
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
    for (let j = 0; j < d; j++) mean[j] /= n;
  }
  const scale = new Float64Array(n).fill(1);
  let nonzero = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const z = data[i * d + j] - mean[j];
      s += z * z;
    }
    if (s > 0) nonzero++;
    if (normalize && s > 0) scale[i] = 1 / Math.sqrt(s);
  }
  const lam =
    d <= n
      ? gramRowsEigenvalues(d, n, (x) => {
          for (let i0 = 0; i0 < n; i0 += 64) {
            const i1 = Math.min(n, i0 + 64);
            for (let j = 0; j < d; j++) {
              const o = j * n;
              const m = mean[j];
              for (let i = i0; i < i1; i++) x[o + i] = (data[i * d + j] - m) * scale[i];
            }
          }
        })
      : gramRowsEigenvalues(n, d, (x) => {
          for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = (data[i * d + j] - mean[j]) * scale[i];
        });
  return {lam, nonzero};
}

/** True when every entry of T is finite (the spectral metrics return NaN otherwise). */
export function finite(T: Matrix): boolean {
  const data = T.data;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return false;
  return true;
}

/** Eigenvalues of Z^T Z (optionally centred), descending, clipped at 0, length min(N, d). */
export function powerSpectrum(T: Matrix, center: boolean): Float64Array {
  const lam = preparedSpectrum(T, center, false).lam;
  for (let i = 0; i < lam.length; i++) if (!(lam[i] > 0)) lam[i] = 0;
  return lam;
}

/** exp of the Shannon entropy (nats) of p_k = s_k / sum s + eps over the singular values s. */
export function entropyRank(lam: Float64Array, eps: number): number {
  let sum = 0;
  const s = new Float64Array(lam.length);
  for (let k = 0; k < lam.length; k++) {
    s[k] = Math.sqrt(lam[k]);
    sum += s[k];
  }
  if (!(sum > 0)) return 0;
  let h = 0;
  for (let k = 0; k < s.length; k++) {
    const p = s[k] / sum + eps;
    if (p > 0) h -= p * Math.log(p);
  }
  return Math.exp(h);
}

/**
 * alpha-ReQ: minus the OLS slope of ln lambda_k on ln k over k = 1..k_hi, k_hi = the largest k
 * with lambda_k > 1e-12 lambda_1 and k <= min(N - 1, d) (docs/metrics.md, geom.alphareq). NaN with fewer than 2 points.
 * The fitted range (1..k_hi) is not returned (only `value`); it is determined by the rule above.
 */
export function alphaReq(lam: Float64Array, n: number, d: number): number {
  const kMax = Math.min(n - 1, d, lam.length);
  if (kMax < 2 || !(lam[0] > 0)) return NaN;
  const floor = 1e-12 * lam[0];
  let kHi = 0;
  for (let k = 1; k <= kMax; k++) if (lam[k - 1] > floor) kHi = k;
  if (kHi < 2) return NaN;
  let sx = 0;
  let sy = 0;
  for (let k = 1; k <= kHi; k++) {
    sx += Math.log(k);
    sy += Math.log(lam[k - 1]);
  }
  const mx = sx / kHi;
  const my = sy / kHi;
  let sxy = 0;
  let sxx = 0;
  for (let k = 1; k <= kHi; k++) {
    const x = Math.log(k) - mx;
    sxy += x * (Math.log(lam[k - 1]) - my);
    sxx += x * x;
  }
  return -sxy / sxx;
}

/** Participation ratio (sum lambda)^2 / sum lambda^2; 0 for an all-zero spectrum. */
export function participationRatio(lam: Float64Array): number {
  let s1 = 0;
  let s2 = 0;
  for (let k = 0; k < lam.length; k++) {
    s1 += lam[k];
    s2 += lam[k] * lam[k];
  }
  return s2 > 0 ? (s1 * s1) / s2 : 0;
}

const dimless = (value: number, ceiling?: number): EstimatorValue[] => [{quantity: 'value', value, unit: 'dimensionless', ceiling}];

const erankParams = z.object({center: z.boolean().default(false)}).strict();

/**
 * `geom.erank`: effective rank (Roy & Vetterli) exp(H(s / sum s)) of the singular values of Z,
 * not centred by default (`center: true` removes the column means). In [1, min(N, d)].
 */
export const geomErank: Estimator<z.infer<typeof erankParams>> = {
  name: 'geom.erank',
  description: 'effective rank (Roy & Vetterli): exp of the entropy of the normalised singular values',
  params: erankParams,
  memory: spectrumMemory,
  compute({T}, p) {
    const ceiling = Math.min(T.rows, T.cols);
    if (!finite(T)) return dimless(NaN, ceiling);
    return dimless(entropyRank(powerSpectrum(T, p.center), 0), ceiling);
  },
};

/**
 * `geom.rankme`: RankMe (Garrido et al.): as `geom.erank` with p_k = s_k / ||s||_1 + 1e-7 over
 * the min(N, d) singular values (the reference's epsilon), not centred by default.
 */
export const geomRankme: Estimator<z.infer<typeof erankParams>> = {
  name: 'geom.rankme',
  description: 'RankMe (Garrido et al.): effective rank with p_k = s_k / sum s + 1e-7',
  params: erankParams,
  memory: spectrumMemory,
  compute({T}, p) {
    const ceiling = Math.min(T.rows, T.cols);
    if (!finite(T)) return dimless(NaN, ceiling);
    return dimless(entropyRank(powerSpectrum(T, p.center), 1e-7), ceiling);
  },
};

const covParams = z.object({center: z.boolean().default(true)}).strict();

/**
 * `geom.alphareq`: alpha-ReQ, the power-law decay exponent of the covariance spectrum
 * (lambda_k ~ k^-alpha), OLS on the log-log spectrum over k = 1..k_hi (docs/metrics.md, geom.alphareq range rule, see
 * `alphaReq`). Centred by default (`center`). NaN when fewer than 2 eigenvalues qualify.
 */
export const geomAlphaReq: Estimator<z.infer<typeof covParams>> = {
  name: 'geom.alphareq',
  description: 'alpha-ReQ: power-law exponent of the covariance eigenspectrum (OLS on log-log, k = 1..k_hi)',
  params: covParams,
  memory: spectrumMemory,
  compute({T}, p) {
    if (!finite(T)) return dimless(NaN);
    return dimless(alphaReq(powerSpectrum(T, p.center), T.rows, T.cols));
  },
};

/**
 * `geom.pr`: participation ratio (sum lambda)^2 / sum lambda^2 of the covariance spectrum
 * (centred by default); ln PR is the alpha = 2 Renyi entropy of the normalised spectrum.
 * Ceiling min(N - 1, d) when centred, min(N, d) otherwise.
 */
export const geomPr: Estimator<z.infer<typeof covParams>> = {
  name: 'geom.pr',
  description: 'participation ratio (sum lambda)^2 / sum lambda^2 of the covariance spectrum',
  params: covParams,
  memory: spectrumMemory,
  compute({T}, p) {
    const ceiling = Math.max(0, Math.min(p.center ? T.rows - 1 : T.rows, T.cols));
    if (!finite(T)) return dimless(NaN, ceiling);
    return dimless(participationRatio(powerSpectrum(T, p.center)), ceiling);
  },
};
