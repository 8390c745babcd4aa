/**
 * Gaussian hidden Markov model: scaled forward-backward, Baum-Welch EM with k-means++
 * initialisation and restarts, Viterbi decoding, and AIC/BIC (docs/metrics.md, phases).
 *
 * Pure functions over `Sequence`s (row-major T x D Float64Arrays); nothing here knows about runs,
 * metrics or files, so the same code segments any multivariate time series.
 *
 * Numerics: emissions are computed as log-densities and, per time step, shifted by their maximum
 * before exponentiating; the forward pass is normalised at every step (scaling factors c_t) and the
 * log-likelihood is sum_t (ln c_t + shift_t). Cost O(T K^2 + T K D) per sequence and iteration
 * (O(T K D^2) for full covariances).
 *
 * Example:
 *   const seqs = [{data: Float64Array.from([0, 0.1, 5, 5.2]), length: 4, dim: 1}];
 *   const {model} = fitHmm(seqs, {k: 2, seed: 0});
 *   viterbi(model, seqs[0]).states; // Int32Array [a, a, b, b]
 */
import {Rng} from '../util/prng.js';

export type CovarianceType = 'diag' | 'full';

/** One observation sequence: `length` rows of `dim` values, row-major. */
export interface Sequence {
  data: Float64Array;
  length: number;
  dim: number;
}

export interface GaussianHmm {
  k: number;
  dim: number;
  cov: CovarianceType;
  /** K start probabilities. */
  startprob: Float64Array;
  /** K x K row-major; row i holds P(next = j | current = i). */
  transmat: Float64Array;
  /** K x D row-major state means. */
  means: Float64Array;
  /** diag: K x D variances; full: K x D x D covariance matrices (row-major per state). */
  covars: Float64Array;
}

export interface EmOptions {
  /** Maximum EM iterations (default 100). */
  maxIter?: number;
  /** Stop when the objective (total log-likelihood plus prior term) improves by less than this (absolute, default 1e-2 as in hmmlearn). */
  tol?: number;
  /** Floor on variances (diag) / ridge added to covariances (full), in data units squared (default 1e-3). */
  minCovar?: number;
  /**
   * Dirichlet pseudocount added to the expected start and transition counts (default 1e-6). Keeps
   * probabilities strictly positive so held-out sequences never get -Infinity. With a pseudocount
   * EM maximises loglik + pseudocount * (sum ln startprob + sum ln transmat) (MAP); 0 gives plain ML.
   */
  pseudocount?: number;
}

export interface FitOptions extends EmOptions {
  k: number;
  cov?: CovarianceType;
  /** Independent EM runs, each from its own k-means++ seeding (default 5). */
  restarts?: number;
  seed?: number;
  /** Sequences used to choose among restarts (held-out log-likelihood); the fit set when absent. */
  heldOut?: readonly Sequence[];
}

export interface EmResult {
  model: GaussianHmm;
  /** Log-likelihood of the fit sequences under `model`. */
  loglik: number;
  /** EM objective after each iteration (loglik plus the pseudocount prior term); never decreases. */
  history: number[];
  iterations: number;
  converged: boolean;
}

export interface FitResult extends EmResult {
  /** Which restart won (0-based). */
  restart: number;
  /** Log-likelihood of `heldOut` (or of the fit set when no held-out set was given). */
  selectionLoglik: number;
  /** Selection log-likelihood of every restart. */
  restartLogliks: number[];
}

const LN_2PI = Math.log(2 * Math.PI);
const DEFAULTS = {maxIter: 100, tol: 1e-2, minCovar: 1e-3, pseudocount: 1e-6};

// ---------------------------------------------------------------------------------------------
// Input checks

export function checkSequences(seqs: readonly Sequence[], dim?: number): number {
  if (seqs.length === 0) throw new Error('HMM: no sequences');
  const d = dim ?? seqs[0].dim;
  for (const [i, s] of seqs.entries()) {
    if (s.dim !== d) throw new Error(`HMM: sequence ${i} has ${s.dim} columns, expected ${d}`);
    if (s.length < 1) throw new Error(`HMM: sequence ${i} is empty`);
    if (s.data.length !== s.length * s.dim) throw new Error(`HMM: sequence ${i}: data has ${s.data.length} values for ${s.length} x ${s.dim}`);
    for (let j = 0; j < s.data.length; j++) {
      if (!Number.isFinite(s.data[j])) throw new Error(`HMM: sequence ${i} has a non-finite value at row ${Math.floor(j / d)}`);
    }
  }
  return d;
}

/** Number of free parameters (docs/metrics.md, phases): (K-1) + K(K-1) + K D means + K D variances (diag) or K D(D+1)/2 (full). */
export function nParams(k: number, dim: number, cov: CovarianceType = 'diag'): number {
  const covParams = cov === 'diag' ? k * dim : (k * dim * (dim + 1)) / 2;
  return k - 1 + k * (k - 1) + k * dim + covParams;
}

/** BIC = -2 LL + p ln(n) with n the number of observations (time steps). */
export function bic(loglik: number, params: number, nObs: number): number {
  return -2 * loglik + params * Math.log(nObs);
}

/** AIC = -2 LL + 2 p. */
export function aic(loglik: number, params: number): number {
  return -2 * loglik + 2 * params;
}

export function totalLength(seqs: readonly Sequence[]): number {
  return seqs.reduce((a, s) => a + s.length, 0);
}

// ---------------------------------------------------------------------------------------------
// Emissions

/** Cholesky factor (lower, row-major) of a D x D SPD matrix; throws when not positive definite. */
function cholesky(a: Float64Array, d: number, off = 0): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[off + i * d + j];
      for (let m = 0; m < j; m++) s -= l[i * d + m] * l[j * d + m];
      if (i === j) {
        if (!(s > 0)) throw new Error('HMM: covariance matrix is not positive definite');
        l[i * d + i] = Math.sqrt(s);
      } else {
        l[i * d + j] = s / l[j * d + j];
      }
    }
  }
  return l;
}

/** T x K log-densities of every observation under every state. */
export function logEmissions(model: GaussianHmm, seq: Sequence): Float64Array {
  const {k: K, dim: D} = model;
  const T = seq.length;
  const out = new Float64Array(T * K);
  if (model.cov === 'diag') {
    for (let s = 0; s < K; s++) {
      let c = -0.5 * D * LN_2PI;
      for (let d = 0; d < D; d++) c -= 0.5 * Math.log(model.covars[s * D + d]);
      for (let t = 0; t < T; t++) {
        let q = 0;
        for (let d = 0; d < D; d++) {
          const z = seq.data[t * D + d] - model.means[s * D + d];
          q += (z * z) / model.covars[s * D + d];
        }
        out[t * K + s] = c - 0.5 * q;
      }
    }
  } else {
    const y = new Float64Array(D);
    for (let s = 0; s < K; s++) {
      const l = cholesky(model.covars, D, s * D * D);
      let logdet = 0;
      for (let d = 0; d < D; d++) logdet += 2 * Math.log(l[d * D + d]);
      const c = -0.5 * (D * LN_2PI + logdet);
      for (let t = 0; t < T; t++) {
        let q = 0;
        for (let i = 0; i < D; i++) {
          let v = seq.data[t * D + i] - model.means[s * D + i];
          for (let j = 0; j < i; j++) v -= l[i * D + j] * y[j];
          y[i] = v / l[i * D + i];
          q += y[i] * y[i];
        }
        out[t * K + s] = c - 0.5 * q;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Forward-backward

interface Posteriors {
  loglik: number;
  /** T x K state posteriors. */
  gamma: Float64Array;
  /** K x K expected transition counts summed over t. */
  xiSum: Float64Array;
}

/**
 * Scaled emissions b[t,k] = exp(logB[t,k] - shift_t) with shift_t = max_k logB[t,k]; returns the
 * sum of the shifts (to be added back to the log-likelihood).
 */
function scaleEmissions(logB: Float64Array, T: number, K: number): number {
  let shiftSum = 0;
  for (let t = 0; t < T; t++) {
    let m = -Infinity;
    for (let k = 0; k < K; k++) if (logB[t * K + k] > m) m = logB[t * K + k];
    if (!Number.isFinite(m)) m = 0;
    for (let k = 0; k < K; k++) logB[t * K + k] = Math.exp(logB[t * K + k] - m);
    shiftSum += m;
  }
  return shiftSum;
}

/** Scaled forward pass: normalised alphas (T x K) and the scaling factors c_t. */
function forwardScaled(model: GaussianHmm, b: Float64Array, T: number): {alpha: Float64Array; c: Float64Array} {
  const K = model.k;
  const A = model.transmat;
  const alpha = new Float64Array(T * K);
  const c = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let sum = 0;
    for (let j = 0; j < K; j++) {
      let p: number;
      if (t === 0) {
        p = model.startprob[j];
      } else {
        p = 0;
        for (let i = 0; i < K; i++) p += alpha[(t - 1) * K + i] * A[i * K + j];
      }
      const v = p * b[t * K + j];
      alpha[t * K + j] = v;
      sum += v;
    }
    c[t] = sum;
    if (sum > 0) for (let j = 0; j < K; j++) alpha[t * K + j] /= sum;
  }
  return {alpha, c};
}

function logFromScales(c: Float64Array, shift: number): number {
  let ll = shift;
  for (let t = 0; t < c.length; t++) {
    if (!(c[t] > 0)) return -Infinity;
    ll += Math.log(c[t]);
  }
  return ll;
}

/** Log-likelihood of one sequence (forward algorithm). */
export function sequenceLoglik(model: GaussianHmm, seq: Sequence): number {
  const b = logEmissions(model, seq);
  const shift = scaleEmissions(b, seq.length, model.k);
  const {c} = forwardScaled(model, b, seq.length);
  return logFromScales(c, shift);
}

/** Total log-likelihood of several sequences. */
export function loglik(model: GaussianHmm, seqs: readonly Sequence[]): number {
  let ll = 0;
  for (const s of seqs) ll += sequenceLoglik(model, s);
  return ll;
}

function posteriors(model: GaussianHmm, seq: Sequence): Posteriors {
  const K = model.k;
  const T = seq.length;
  const A = model.transmat;
  const b = logEmissions(model, seq);
  const shift = scaleEmissions(b, T, K);
  const {alpha, c} = forwardScaled(model, b, T);
  const ll = logFromScales(c, shift);
  const gamma = new Float64Array(T * K);
  const xiSum = new Float64Array(K * K);
  if (!Number.isFinite(ll)) return {loglik: ll, gamma, xiSum};
  const beta = new Float64Array(T * K);
  for (let k = 0; k < K; k++) beta[(T - 1) * K + k] = 1;
  const tmp = new Float64Array(K);
  for (let t = T - 2; t >= 0; t--) {
    for (let j = 0; j < K; j++) tmp[j] = b[(t + 1) * K + j] * beta[(t + 1) * K + j];
    for (let i = 0; i < K; i++) {
      let s = 0;
      for (let j = 0; j < K; j++) s += A[i * K + j] * tmp[j];
      beta[t * K + i] = s / c[t + 1];
    }
    for (let i = 0; i < K; i++) {
      const a = alpha[t * K + i] / c[t + 1];
      for (let j = 0; j < K; j++) xiSum[i * K + j] += a * A[i * K + j] * tmp[j];
    }
  }
  for (let t = 0; t < T; t++) {
    let s = 0;
    for (let k = 0; k < K; k++) {
      const g = alpha[t * K + k] * beta[t * K + k];
      gamma[t * K + k] = g;
      s += g;
    }
    if (s > 0) for (let k = 0; k < K; k++) gamma[t * K + k] /= s;
  }
  return {loglik: ll, gamma, xiSum};
}

// ---------------------------------------------------------------------------------------------
// Viterbi

/** Most probable state path and its joint log-probability. */
export function viterbi(model: GaussianHmm, seq: Sequence): {states: Int32Array; logprob: number} {
  const K = model.k;
  const T = seq.length;
  const logB = logEmissions(model, seq);
  const logA = model.transmat.map(Math.log);
  let delta = new Float64Array(K);
  let next = new Float64Array(K);
  const back = new Int32Array(T * K);
  for (let k = 0; k < K; k++) delta[k] = Math.log(model.startprob[k]) + logB[k];
  for (let t = 1; t < T; t++) {
    for (let j = 0; j < K; j++) {
      let best = -Infinity;
      let arg = 0;
      for (let i = 0; i < K; i++) {
        const v = delta[i] + logA[i * K + j];
        if (v > best) {
          best = v;
          arg = i;
        }
      }
      next[j] = best + logB[t * K + j];
      back[t * K + j] = arg;
    }
    [delta, next] = [next, delta];
  }
  let last = 0;
  for (let k = 1; k < K; k++) if (delta[k] > delta[last]) last = k;
  const states = new Int32Array(T);
  states[T - 1] = last;
  for (let t = T - 1; t > 0; t--) states[t - 1] = back[t * K + states[t]];
  return {states, logprob: delta[last]};
}

// ---------------------------------------------------------------------------------------------
// Initialisation (k-means++ then Lloyd)

function concatRows(seqs: readonly Sequence[]): {data: Float64Array; n: number; dim: number} {
  const dim = seqs[0].dim;
  const n = totalLength(seqs);
  const data = new Float64Array(n * dim);
  let o = 0;
  for (const s of seqs) {
    data.set(s.data, o);
    o += s.data.length;
  }
  return {data, n, dim};
}

function sqDist(a: Float64Array, ai: number, b: Float64Array, bi: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const z = a[ai + j] - b[bi + j];
    s += z * z;
  }
  return s;
}

/** k-means++ seeding followed by up to `iters` Lloyd iterations; returns centres and labels. */
export function kmeans(data: Float64Array, n: number, dim: number, k: number, rng: Rng, iters = 50): {centres: Float64Array; labels: Int32Array} {
  const centres = new Float64Array(k * dim);
  const d2 = new Float64Array(n).fill(Infinity);
  let pick = rng.int(n);
  for (let c = 0; c < k; c++) {
    centres.set(data.subarray(pick * dim, pick * dim + dim), c * dim);
    let total = 0;
    for (let i = 0; i < n; i++) {
      d2[i] = Math.min(d2[i], sqDist(data, i * dim, centres, c * dim, dim));
      total += d2[i];
    }
    if (c === k - 1) break;
    if (total > 0) {
      let u = rng.uniform() * total;
      pick = n - 1;
      for (let i = 0; i < n; i++) {
        u -= d2[i];
        if (u < 0) {
          pick = i;
          break;
        }
      }
    } else {
      pick = rng.int(n);
    }
  }
  const labels = new Int32Array(n).fill(-1);
  const sums = new Float64Array(k * dim);
  const counts = new Float64Array(k);
  for (let it = 0; it < iters; it++) {
    let changed = false;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bd = Infinity;
      for (let c = 0; c < k; c++) {
        const v = sqDist(data, i * dim, centres, c * dim, dim);
        if (v < bd) {
          bd = v;
          best = c;
        }
      }
      if (labels[i] !== best) {
        labels[i] = best;
        changed = true;
      }
    }
    if (!changed) break;
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      counts[labels[i]]++;
      for (let j = 0; j < dim; j++) sums[labels[i] * dim + j] += data[i * dim + j];
    }
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) continue; // keep an empty cluster's centre
      for (let j = 0; j < dim; j++) centres[c * dim + j] = sums[c * dim + j] / counts[c];
    }
  }
  return {centres, labels};
}

/**
 * Initial model: k-means++ means, per-cluster (co)variances (global ones for clusters with fewer
 * than 2 points), uniform start probabilities and a "sticky" transition matrix (0.7 on the diagonal).
 */
export function initHmm(seqs: readonly Sequence[], k: number, cov: CovarianceType, rng: Rng, minCovar = DEFAULTS.minCovar): GaussianHmm {
  const dim = checkSequences(seqs);
  const {data, n} = concatRows(seqs);
  if (n < k) throw new Error(`HMM: ${n} observations cannot initialise ${k} states`);
  const {centres, labels} = kmeans(data, n, dim, k, rng);
  const globalMean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) globalMean[j] += data[i * dim + j] / n;
  const covOf = (member: (i: number) => boolean, mean: Float64Array, mo: number): Float64Array | null => {
    let cnt = 0;
    const acc = new Float64Array(dim * dim);
    for (let i = 0; i < n; i++) {
      if (!member(i)) continue;
      cnt++;
      for (let a = 0; a < dim; a++) {
        const za = data[i * dim + a] - mean[mo + a];
        for (let b = 0; b < dim; b++) acc[a * dim + b] += za * (data[i * dim + b] - mean[mo + b]);
      }
    }
    if (cnt < 2) return null;
    for (let j = 0; j < acc.length; j++) acc[j] /= cnt;
    return acc;
  };
  const globalCov = covOf(() => true, globalMean, 0) ?? new Float64Array(dim * dim).map((_, j) => (j % (dim + 1) === 0 ? 1 : 0));
  const covars = new Float64Array(cov === 'diag' ? k * dim : k * dim * dim);
  for (let s = 0; s < k; s++) {
    const c = covOf((i) => labels[i] === s, centres, s * dim) ?? globalCov;
    for (let a = 0; a < dim; a++) {
      if (cov === 'diag') covars[s * dim + a] = Math.max(c[a * dim + a], minCovar);
      else for (let b = 0; b < dim; b++) covars[s * dim * dim + a * dim + b] = c[a * dim + b] + (a === b ? minCovar : 0);
    }
  }
  const transmat = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) transmat[i * k + j] = k === 1 ? 1 : i === j ? 0.7 : 0.3 / (k - 1);
  return {k, dim, cov, startprob: new Float64Array(k).fill(1 / k), transmat, means: centres, covars};
}

// ---------------------------------------------------------------------------------------------
// Baum-Welch

function priorTerm(model: GaussianHmm, pseudocount: number): number {
  if (pseudocount === 0) return 0;
  let s = 0;
  for (const p of model.startprob) s += Math.log(p);
  for (const p of model.transmat) s += Math.log(p);
  return pseudocount * s;
}

/** One EM step: E-step under `model`, returns the re-estimated model and the E-step log-likelihood. */
function emStep(model: GaussianHmm, seqs: readonly Sequence[], opts: Required<EmOptions>): {model: GaussianHmm; loglik: number} {
  const {k: K, dim: D, cov} = model;
  const start = new Float64Array(K);
  const trans = new Float64Array(K * K);
  const w = new Float64Array(K);
  const sx = new Float64Array(K * D);
  let ll = 0;
  const post: {seq: Sequence; gamma: Float64Array}[] = [];
  for (const seq of seqs) {
    const p = posteriors(model, seq);
    ll += p.loglik;
    if (!Number.isFinite(p.loglik)) continue;
    post.push({seq, gamma: p.gamma});
    for (let k = 0; k < K; k++) start[k] += p.gamma[k];
    for (let j = 0; j < K * K; j++) trans[j] += p.xiSum[j];
    for (let t = 0; t < seq.length; t++) {
      for (let k = 0; k < K; k++) {
        const g = p.gamma[t * K + k];
        if (g === 0) continue;
        w[k] += g;
        for (let d = 0; d < D; d++) sx[k * D + d] += g * seq.data[t * D + d];
      }
    }
  }
  const pc = opts.pseudocount;
  const startprob = new Float64Array(K);
  let ssum = 0;
  for (let k = 0; k < K; k++) ssum += start[k] + pc;
  for (let k = 0; k < K; k++) startprob[k] = ssum > 0 ? (start[k] + pc) / ssum : model.startprob[k];
  const transmat = new Float64Array(K * K);
  for (let i = 0; i < K; i++) {
    let rs = 0;
    for (let j = 0; j < K; j++) rs += trans[i * K + j] + pc;
    for (let j = 0; j < K; j++) transmat[i * K + j] = rs > 0 ? (trans[i * K + j] + pc) / rs : model.transmat[i * K + j];
  }
  const means = new Float64Array(model.means);
  const used = new Uint8Array(K);
  for (let k = 0; k < K; k++) {
    if (!(w[k] > 1e-10)) continue; // an unused state keeps its emission parameters
    used[k] = 1;
    for (let d = 0; d < D; d++) means[k * D + d] = sx[k * D + d] / w[k];
  }
  const covars = new Float64Array(model.covars);
  const sq = new Float64Array(cov === 'diag' ? K * D : K * D * D);
  for (const {seq, gamma} of post) {
    for (let t = 0; t < seq.length; t++) {
      for (let k = 0; k < K; k++) {
        const g = gamma[t * K + k];
        if (g === 0 || !used[k]) continue;
        for (let a = 0; a < D; a++) {
          const za = seq.data[t * D + a] - means[k * D + a];
          if (cov === 'diag') sq[k * D + a] += g * za * za;
          else for (let b = 0; b <= a; b++) sq[k * D * D + a * D + b] += g * za * (seq.data[t * D + b] - means[k * D + b]);
        }
      }
    }
  }
  for (let k = 0; k < K; k++) {
    if (!used[k]) continue;
    for (let a = 0; a < D; a++) {
      if (cov === 'diag') {
        // max(sample variance, floor) is the exact maximiser under the floor constraint: EM stays monotone
        covars[k * D + a] = Math.max(sq[k * D + a] / w[k], opts.minCovar);
      } else {
        for (let b = 0; b <= a; b++) {
          const v = sq[k * D * D + a * D + b] / w[k] + (a === b ? opts.minCovar : 0);
          covars[k * D * D + a * D + b] = v;
          covars[k * D * D + b * D + a] = v;
        }
      }
    }
  }
  return {model: {k: K, dim: D, cov, startprob, transmat, means, covars}, loglik: ll};
}

function resolveEm(opts: EmOptions): Required<EmOptions> {
  return {
    maxIter: opts.maxIter ?? DEFAULTS.maxIter,
    tol: opts.tol ?? DEFAULTS.tol,
    minCovar: opts.minCovar ?? DEFAULTS.minCovar,
    pseudocount: opts.pseudocount ?? DEFAULTS.pseudocount,
  };
}

/**
 * Baum-Welch from an initial model. `history[i]` is the objective (log-likelihood plus the
 * pseudocount prior term) of the model after iteration i; it never decreases (up to rounding).
 */
export function baumWelch(seqs: readonly Sequence[], init: GaussianHmm, options: EmOptions = {}): EmResult {
  checkSequences(seqs, init.dim);
  const opts = resolveEm(options);
  // step i re-estimates from the current model and reports the current model's log-likelihood,
  // so the log-likelihood of each new model comes with the next E-step (no extra forward pass)
  let model = init;
  let step = emStep(model, seqs, opts);
  let ll = step.loglik;
  const history: number[] = [];
  let converged = false;
  let it = 0;
  while (it < opts.maxIter) {
    const candidate = step.model;
    const next = emStep(candidate, seqs, opts);
    it++;
    model = candidate;
    ll = next.loglik;
    const obj = ll + priorTerm(model, opts.pseudocount);
    const prev = history.length ? history[history.length - 1] : -Infinity;
    history.push(obj);
    step = next;
    if (Number.isFinite(prev) && obj - prev < opts.tol) {
      converged = true;
      break;
    }
  }
  return {model, loglik: ll, history, iterations: it, converged};
}

/**
 * Fits a K-state Gaussian HMM: `restarts` EM runs, each from its own k-means++ seeding (streams
 * derived from `seed`), keeping the run with the best held-out log-likelihood (or fit
 * log-likelihood when no held-out set is given).
 */
export function fitHmm(seqs: readonly Sequence[], options: FitOptions): FitResult {
  const dim = checkSequences(seqs);
  if (options.heldOut && options.heldOut.length) checkSequences(options.heldOut, dim);
  if (!Number.isInteger(options.k) || options.k < 1) throw new Error(`HMM: k must be a positive integer (got ${options.k})`);
  const restarts = Math.max(1, options.restarts ?? 5);
  const cov = options.cov ?? 'diag';
  const minCovar = options.minCovar ?? DEFAULTS.minCovar;
  const heldOut = options.heldOut && options.heldOut.length ? options.heldOut : null;
  let best: FitResult | null = null;
  const restartLogliks: number[] = [];
  for (let r = 0; r < restarts; r++) {
    const rng = new Rng(options.seed ?? 0, `hmm-k${options.k}-restart${r}`);
    const init = initHmm(seqs, options.k, cov, rng, minCovar);
    const res = baumWelch(seqs, init, options);
    const sel = heldOut ? loglik(res.model, heldOut) : res.loglik;
    restartLogliks.push(sel);
    if (best === null || sel > best.selectionLoglik || (!Number.isFinite(best.selectionLoglik) && Number.isFinite(sel))) {
      best = {...res, restart: r, selectionLoglik: sel, restartLogliks};
    }
  }
  return best as FitResult;
}

// ---------------------------------------------------------------------------------------------
// Model selection and relabelling

export interface KCandidate {
  k: number;
  fit: FitResult;
  /** Held-out log-likelihood (the selection set). */
  loglik: number;
  nParams: number;
  aic: number;
  bic: number;
}

export interface SelectResult {
  /** K at the BIC minimum. */
  k: number;
  candidates: KCandidate[];
  /** Observations in the evaluation (held-out) set: the n of BIC. */
  nObs: number;
}

/** Fits K = kMin..kMax and picks K at the minimum BIC computed on the held-out sequences. */
export function selectK(
  fitSeqs: readonly Sequence[],
  heldOut: readonly Sequence[],
  options: Omit<FitOptions, 'k' | 'heldOut'> & {kMin: number; kMax: number},
): SelectResult {
  const evalSeqs = heldOut.length ? heldOut : fitSeqs;
  const nObs = totalLength(evalSeqs);
  const cov = options.cov ?? 'diag';
  const dim = checkSequences(fitSeqs);
  const candidates: KCandidate[] = [];
  const maxK = Math.min(options.kMax, totalLength(fitSeqs));
  for (let k = options.kMin; k <= maxK; k++) {
    const fit = fitHmm(fitSeqs, {...options, k, heldOut: evalSeqs});
    const p = nParams(k, dim, cov);
    candidates.push({k, fit, loglik: fit.selectionLoglik, nParams: p, aic: aic(fit.selectionLoglik, p), bic: bic(fit.selectionLoglik, p, nObs)});
  }
  if (candidates.length === 0) throw new Error(`HMM: no K in ${options.kMin}..${options.kMax} can be fitted to ${totalLength(fitSeqs)} observations`);
  let best = candidates[0];
  for (const c of candidates) if (c.bic < best.bic) best = c;
  return {k: best.k, candidates, nObs};
}

/** The same model with states renumbered: new state i is old state perm[i]. */
export function permuteStates(model: GaussianHmm, perm: readonly number[]): GaussianHmm {
  const {k: K, dim: D} = model;
  const cs = model.cov === 'diag' ? D : D * D;
  const startprob = new Float64Array(K);
  const transmat = new Float64Array(K * K);
  const means = new Float64Array(K * D);
  const covars = new Float64Array(K * cs);
  for (let i = 0; i < K; i++) {
    const oi = perm[i];
    startprob[i] = model.startprob[oi];
    for (let j = 0; j < K; j++) transmat[i * K + j] = model.transmat[oi * K + perm[j]];
    means.set(model.means.subarray(oi * D, oi * D + D), i * D);
    covars.set(model.covars.subarray(oi * cs, oi * cs + cs), i * cs);
  }
  return {...model, startprob, transmat, means, covars};
}

/** Per-state variances (the diagonal for full covariances), K x D. */
export function stateVariances(model: GaussianHmm): Float64Array {
  if (model.cov === 'diag') return model.covars;
  const {k: K, dim: D} = model;
  const out = new Float64Array(K * D);
  for (let s = 0; s < K; s++) for (let d = 0; d < D; d++) out[s * D + d] = model.covars[s * D * D + d * D + d];
  return out;
}
