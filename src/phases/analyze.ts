/**
 * Training-phase segmentation (docs/metrics.md, phases) on per-run feature matrices: z-score within run, drop
 * runs with non-finite values, seeded 80/20 fit/held-out split, HMM model selection by held-out
 * BIC, Viterbi paths, transition graph and the features that move most at each transition.
 * Pure: the command reads the runs and prints; this module only computes.
 */
import {Rng} from '../util/prng.js';
import {permuteStates, selectK, stateVariances, viterbi, type CovarianceType, type GaussianHmm, type Sequence} from './hmm.js';

export interface PhaseRunInput {
  /** Identifies the run in the output (the run directory). */
  id: string;
  epochs: number[];
  /** rows x features, row-major, raw values. */
  data: Float64Array;
}

export interface PhaseOptions {
  kMin: number;
  kMax: number;
  restarts: number;
  cov: CovarianceType;
  seed: number;
  /** Fraction of runs held out for model selection (default 0.2). */
  heldOutFraction?: number;
  /** Transitions with probability at least this (or seen in a Viterbi path) are reported (default 0.01). */
  minTransitionProb?: number;
  maxIter?: number;
  tol?: number;
}

export interface FeatureDelta {
  name: string;
  /** mu_to - mu_from in z units (within-run standard deviations). */
  delta: number;
}

export interface Transition {
  from: number;
  to: number;
  /** Transition-matrix probability. */
  prob: number;
  /** How many times the Viterbi paths take this edge (all runs). */
  count: number;
  /** All features, largest |delta| first. */
  features: FeatureDelta[];
}

export interface Segment {
  state: number;
  /** First and last epoch spent in the state (inclusive). */
  from: number;
  to: number;
}

export interface PhaseResult {
  features: string[];
  cov: CovarianceType;
  seed: number;
  restarts: number;
  kRange: [number, number];
  runs: {fit: string[]; heldOut: string[]; dropped: {runDir: string; reason: string}[]};
  nObs: {fit: number; heldOut: number};
  /** Chosen number of states (BIC minimum on the held-out runs). */
  k: number;
  bic: Record<string, number>;
  aic: Record<string, number>;
  /** Held-out log-likelihood per K. */
  loglik: Record<string, number>;
  nParams: Record<string, number>;
  /** K x D state means in z units; states numbered by when runs occupy them (0 = earliest). */
  means: number[][];
  /** K x D state variances in z units (the diagonal for full covariances). */
  variances: number[][];
  /** K x D x D covariance matrices (full covariances only). */
  covariances?: number[][][];
  transmat: number[][];
  startprob: number[];
  paths: Record<string, number[]>;
  epochs: Record<string, number[]>;
  segments: Record<string, Segment[]>;
  transitions: Transition[];
  warnings: string[];
}

/** Column-wise z-score in place (population std); constant columns become 0. Returns the constant column indices. */
export function zscoreColumns(data: Float64Array, rows: number, cols: number): number[] {
  const constant: number[] = [];
  for (let d = 0; d < cols; d++) {
    let mean = 0;
    for (let t = 0; t < rows; t++) mean += data[t * cols + d];
    mean /= rows;
    let v = 0;
    for (let t = 0; t < rows; t++) v += (data[t * cols + d] - mean) ** 2;
    const sd = Math.sqrt(v / rows);
    if (!(sd > 1e-12 * Math.max(1, Math.abs(mean)))) constant.push(d);
    for (let t = 0; t < rows; t++) data[t * cols + d] = constant.includes(d) ? 0 : (data[t * cols + d] - mean) / sd;
  }
  return constant;
}

/** Seeded split of n items into fit/held-out index lists (held-out = ceil(fraction n), at least one fit item). */
export function splitRuns(n: number, seed: number, fraction = 0.2): {fit: number[]; heldOut: number[]} {
  const perm = Array.from(new Rng(seed, 'phases-split').permutation(n));
  const nHeld = n < 2 ? 0 : Math.min(n - 1, Math.ceil(fraction * n));
  return {heldOut: perm.slice(0, nHeld).sort((a, b) => a - b), fit: perm.slice(nHeld).sort((a, b) => a - b)};
}

/** Order of states by mean relative time of occupancy (0 = start of a run, 1 = end); unvisited states last. */
function occupancyOrder(k: number, paths: readonly Int32Array[]): number[] {
  const sum = new Float64Array(k);
  const cnt = new Float64Array(k);
  for (const p of paths) {
    for (let t = 0; t < p.length; t++) {
      sum[p[t]] += p.length > 1 ? t / (p.length - 1) : 0;
      cnt[p[t]]++;
    }
  }
  const key = (s: number) => (cnt[s] > 0 ? sum[s] / cnt[s] : 2 + s);
  return Array.from({length: k}, (_, i) => i).sort((a, b) => key(a) - key(b) || a - b);
}

function rowsOf(a: Float64Array, rows: number, cols: number): number[][] {
  return Array.from({length: rows}, (_, i) => Array.from(a.subarray(i * cols, i * cols + cols)));
}

function segmentsOf(states: Int32Array, epochs: readonly number[]): Segment[] {
  const out: Segment[] = [];
  for (let t = 0; t < states.length; t++) {
    const last = out[out.length - 1];
    if (last && last.state === states[t]) last.to = epochs[t];
    else out.push({state: states[t], from: epochs[t], to: epochs[t]});
  }
  return out;
}

export function analyzePhases(runs: readonly PhaseRunInput[], featureNames: readonly string[], opts: PhaseOptions, dropped: {runDir: string; reason: string}[] = []): PhaseResult {
  const D = featureNames.length;
  const warnings: string[] = [];
  const kept: {id: string; epochs: number[]; seq: Sequence}[] = [];
  const constantIn = new Map<string, number>();
  for (const r of runs) {
    const T = r.epochs.length;
    if (r.data.length !== T * D) throw new Error(`run ${r.id}: ${r.data.length} values for ${T} epochs x ${D} features`);
    const bad = r.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      dropped.push({runDir: r.id, reason: `non-finite value of ${featureNames[bad % D]} at epoch ${r.epochs[Math.floor(bad / D)]}`});
      continue;
    }
    if (T < 2) {
      dropped.push({runDir: r.id, reason: `only ${T} epoch(s) with every feature`});
      continue;
    }
    const data = Float64Array.from(r.data);
    for (const d of zscoreColumns(data, T, D)) constantIn.set(featureNames[d], (constantIn.get(featureNames[d]) ?? 0) + 1);
    kept.push({id: r.id, epochs: r.epochs, seq: {data, length: T, dim: D}});
  }
  for (const [f, n] of constantIn) warnings.push(`${f} is constant within ${n} run(s); it is 0 after z-scoring there and cannot separate states`);
  if (kept.length === 0) throw new Error(`no usable run (${dropped.map((d) => `${d.runDir}: ${d.reason}`).join('; ') || 'none given'})`);
  const split = splitRuns(kept.length, opts.seed, opts.heldOutFraction ?? 0.2);
  const fit = split.fit.map((i) => kept[i]);
  const held = split.heldOut.map((i) => kept[i]);
  if (held.length === 0) warnings.push('only one usable run: there is no held-out run, so BIC/AIC are computed on the fit run itself');
  else if (held.length < 2) warnings.push(`only ${held.length} held-out run: model selection is fragile with so few runs`);

  const sel = selectK(
    fit.map((r) => r.seq),
    held.map((r) => r.seq),
    {kMin: opts.kMin, kMax: opts.kMax, restarts: opts.restarts, cov: opts.cov, seed: opts.seed, maxIter: opts.maxIter, tol: opts.tol},
  );
  if (sel.candidates[sel.candidates.length - 1].k < opts.kMax) {
    warnings.push(`K was capped at ${sel.candidates[sel.candidates.length - 1].k}: the fit runs have too few observations for more states`);
  }
  const chosen = sel.candidates.find((c) => c.k === sel.k)!;
  let model: GaussianHmm = chosen.fit.model;
  const rawPaths = kept.map((r) => viterbi(model, r.seq).states);
  const order = occupancyOrder(model.k, rawPaths);
  model = permuteStates(model, order);
  const relabel = new Int32Array(model.k);
  order.forEach((old, i) => (relabel[old] = i));
  const paths = rawPaths.map((p) => p.map((s) => relabel[s]));

  const K = model.k;
  const counts = new Float64Array(K * K);
  for (const p of paths) for (let t = 1; t < p.length; t++) if (p[t] !== p[t - 1]) counts[p[t - 1] * K + p[t]]++;
  const minProb = opts.minTransitionProb ?? 0.01;
  const transitions: Transition[] = [];
  for (let i = 0; i < K; i++) {
    for (let j = 0; j < K; j++) {
      if (i === j) continue;
      const prob = model.transmat[i * K + j];
      const count = counts[i * K + j];
      if (count === 0 && prob < minProb) continue;
      const features = featureNames
        .map((name, d) => ({name, delta: model.means[j * D + d] - model.means[i * D + d]}))
        .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta) || a.name.localeCompare(b.name));
      transitions.push({from: i, to: j, prob, count, features});
    }
  }
  transitions.sort((a, b) => b.count - a.count || b.prob - a.prob || a.from - b.from || a.to - b.to);

  const perK = (f: (c: (typeof sel.candidates)[number]) => number) => Object.fromEntries(sel.candidates.map((c) => [String(c.k), f(c)]));
  const result: PhaseResult = {
    features: [...featureNames],
    cov: opts.cov,
    seed: opts.seed,
    restarts: opts.restarts,
    kRange: [opts.kMin, opts.kMax],
    runs: {fit: fit.map((r) => r.id), heldOut: held.map((r) => r.id), dropped},
    nObs: {fit: fit.reduce((a, r) => a + r.seq.length, 0), heldOut: sel.nObs},
    k: sel.k,
    bic: perK((c) => c.bic),
    aic: perK((c) => c.aic),
    loglik: perK((c) => c.loglik),
    nParams: perK((c) => c.nParams),
    means: rowsOf(model.means, K, D),
    variances: rowsOf(stateVariances(model), K, D),
    transmat: rowsOf(model.transmat, K, K),
    startprob: Array.from(model.startprob),
    paths: Object.fromEntries(kept.map((r, i) => [r.id, Array.from(paths[i])])),
    epochs: Object.fromEntries(kept.map((r) => [r.id, [...r.epochs]])),
    segments: Object.fromEntries(kept.map((r, i) => [r.id, segmentsOf(paths[i], r.epochs)])),
    transitions,
    warnings,
  };
  if (model.cov === 'full') result.covariances = Array.from({length: K}, (_, s) => rowsOf(model.covars.subarray(s * D * D, (s + 1) * D * D), D, D));
  return result;
}
