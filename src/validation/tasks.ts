/**
 * Ground-truth tasks of the estimator validation suite (docs/metrics.md, ground truth, after the BMI
 * benchmark of Czyz et al. 2023). Each task draws `n` rows of (X, Y) from a distribution whose
 * mutual information (or, for the entropy tasks, differential entropy of X) is known in closed
 * form; the truth is computed in code from `closed-form.ts` (tests pin it to the published values).
 *
 * Conventions:
 * - Values in nats. Samples are float32 (what estimators receive), drawn in float64.
 * - Every task draws from the seeded stream `new Rng(seed, 'validate/' + stream)`. The
 *   transformed versions of the bivariate normal (uniform, half-cube, wiggly, asinh) share the
 *   stream of `normal-1x1`, so for a given seed they are the exact images of the same base
 *   sample: comparing an estimator across them isolates the effect of the transform.
 * - Transforms (BMI definitions, applied to each coordinate; all strictly increasing, so MI is
 *   unchanged): uniform = Phi (normal CDF); half-cube h(t) = t sqrt|t|;
 *   wiggly_x(t) = t + 0.4 sin t + 0.2 sin(1.7 t + 1) + 0.03 sin(3.3 t - 2.5),
 *   wiggly_y(t) = t - 0.4 sin(0.4 t) + 0.17 sin(1.3 t + 3.5) + 0.02 sin(4.3 t - 2.5);
 *   asinh(t).
 * - Student-t: X, Y = Z / sqrt(C / nu) with Z ~ N(0, I) and ONE chi-square C per row shared by
 *   X and Y (the dependence comes from that shared scale), C a sum of nu squared normals.
 * - Discrete tasks (the 12-bit task) ignore `n`: they return all 4096 patterns (in a seeded
 *   random row order) because their truths are properties of the full uniform input set.
 */
import {twelveBit} from '../data/twelve-bit.js';
import type {Matrix} from '../types.js';
import type {Rng} from '../util/prng.js';
import {
  additiveUniformMi,
  cholesky,
  equicorrelated,
  gaussianEntropy,
  gaussianMi,
  normalCdf,
  sparsePairs,
  studentTMi,
  type Mat,
} from './closed-form.js';

export type Quantity = 'I_XT' | 'I_TY' | 'H';

export interface TaskSample {
  /** Continuous tasks: X (n x dimX). Discrete tasks: the input patterns. Entropy tasks: the sample. */
  x: Matrix<Float32Array>;
  /** Continuous MI tasks: Y (n x dimY). Discrete tasks: integer labels. Entropy tasks: zeros. */
  y: Matrix<Float32Array> | Int32Array;
}

export interface ValidationTask {
  id: string;
  description: string;
  /** The true value in nats, computed from the closed form. */
  truthNats: number;
  /** The published value (docs/metrics.md, ground truth), when there is one (nats). */
  specTruthNats?: number;
  dimX: number;
  /** 0 for entropy tasks. */
  dimY: number;
  kind: 'continuous' | 'discrete';
  /**
   * What the estimator must report: `I_XT` = I(X;Y) of the task (the suite passes X as `x` and Y
   * as the representation `T`; for discrete tasks T = X and the value is H(X)); `I_TY` = I(T;Y)
   * with T = X and discrete labels Y; `H` = differential entropy of X (passed as T).
   */
  quantity: Quantity;
  /** Documented-bias task: estimators are expected to miss it; its bias is reported, not asserted. */
  note?: string;
  /** Rows a discrete task always has (it ignores `n`). */
  fixedN?: number;
  /** Rng stream label (tasks with the same stream share their base draws). */
  stream: string;
  sample(n: number, rng: Rng): TaskSample;
}

const LN2 = Math.LN2;

// --- samplers ----------------------------------------------------------------------------

type Transform = (t: number) => number;

/** Rows of N(0, S) split into X (first dimX columns) and Y, with optional per-side transforms. */
function gaussianSampler(S: Mat, dimX: number, fx?: Transform, fy?: Transform) {
  const L = cholesky(S);
  const d = S.length;
  const dimY = d - dimX;
  return (n: number, rng: Rng): TaskSample => {
    const x = new Float32Array(n * dimX);
    const y = new Float32Array(n * dimY);
    const z = new Float64Array(d);
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < d; i++) z[i] = rng.normal();
      for (let i = 0; i < d; i++) {
        let v = 0;
        const Li = L[i];
        for (let k = 0; k <= i; k++) v += Li[k] * z[k];
        if (i < dimX) x[r * dimX + i] = fx ? fx(v) : v;
        else y[r * dimY + (i - dimX)] = fy ? fy(v) : v;
      }
    }
    return {x: {data: x, rows: n, cols: dimX}, y: {data: y, rows: n, cols: dimY}};
  };
}

/** Chi-square with integer `nu` degrees of freedom: a sum of nu squared standard normals. */
export function chiSquare(rng: Rng, nu: number): number {
  let s = 0;
  for (let i = 0; i < nu; i++) {
    const z = rng.normal();
    s += z * z;
  }
  return s;
}

function studentSampler(dimX: number, dimY: number, nu: number) {
  return (n: number, rng: Rng): TaskSample => {
    const x = new Float32Array(n * dimX);
    const y = new Float32Array(n * dimY);
    for (let r = 0; r < n; r++) {
      const zx = Array.from({length: dimX}, () => rng.normal());
      const zy = Array.from({length: dimY}, () => rng.normal());
      const scale = 1 / Math.sqrt(chiSquare(rng, nu) / nu);
      for (let i = 0; i < dimX; i++) x[r * dimX + i] = zx[i] * scale;
      for (let i = 0; i < dimY; i++) y[r * dimY + i] = zy[i] * scale;
    }
    return {x: {data: x, rows: n, cols: dimX}, y: {data: y, rows: n, cols: dimY}};
  };
}

function additiveSampler(e: number) {
  return (n: number, rng: Rng): TaskSample => {
    const x = new Float32Array(n);
    const y = new Float32Array(n);
    for (let r = 0; r < n; r++) {
      const u = rng.uniform();
      x[r] = u;
      y[r] = u + e * (2 * rng.uniform() - 1);
    }
    return {x: {data: x, rows: n, cols: 1}, y: {data: y, rows: n, cols: 1}};
  };
}

/** A Gaussian sample of N(0, S) as X alone (entropy tasks). */
function entropySampler(S: Mat) {
  const joint = gaussianSampler(S, S.length);
  return (n: number, rng: Rng): TaskSample => ({x: joint(n, rng).x, y: new Int32Array(n)});
}

let twelveBitCache: {x: Float32Array; labels: Int32Array} | undefined;
function twelveBitData() {
  if (!twelveBitCache) {
    const ds = twelveBit.load();
    twelveBitCache = {x: ds.x, labels: ds.labels};
  }
  return twelveBitCache;
}

/** Plug-in entropy in bits of the 12-bit labels (the exact H(Y) = I(X;Y) of the task). */
export function twelveBitHyBits(): number {
  const {labels} = twelveBitData();
  let pos = 0;
  for (let i = 0; i < labels.length; i++) pos += labels[i];
  const p = pos / labels.length;
  return -(p * Math.log2(p) + (1 - p) * Math.log2(1 - p));
}

/** All 4096 patterns of the 12-bit task in a seeded random row order, with their labels. */
function twelveBitSampler(_n: number, rng: Rng): TaskSample {
  const {x, labels} = twelveBitData();
  const rows = labels.length;
  const perm = rng.permutation(rows);
  const xs = new Float32Array(rows * 12);
  const ys = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    xs.set(x.subarray(perm[i] * 12, perm[i] * 12 + 12), i * 12);
    ys[i] = labels[perm[i]];
  }
  return {x: {data: xs, rows, cols: 12}, y: ys};
}

// --- transforms (BMI) --------------------------------------------------------------------

export const halfCube: Transform = (t) => t * Math.sqrt(Math.abs(t));
export const wigglyX: Transform = (t) => t + 0.4 * Math.sin(t) + 0.2 * Math.sin(1.7 * t + 1) + 0.03 * Math.sin(3.3 * t - 2.5);
export const wigglyY: Transform = (t) => t - 0.4 * Math.sin(0.4 * t) + 0.17 * Math.sin(1.3 * t + 3.5) + 0.02 * Math.sin(4.3 * t - 2.5);

// --- the task list -----------------------------------------------------------------------

const BIVARIATE: Mat = [[1, 0.75], [0.75, 1]];

function denseTask(m: number, spec: number, note?: string): ValidationTask {
  const S = equicorrelated(2 * m, 0.5);
  return {
    id: `dense-${m}x${m}`,
    description: `multinormal ${m} x ${m}, all ${2 * m} coordinates pairwise correlation 0.5`,
    truthNats: gaussianMi(S, m),
    specTruthNats: spec,
    dimX: m,
    dimY: m,
    kind: 'continuous',
    quantity: 'I_XT',
    note,
    stream: `dense-${m}x${m}`,
    sample: gaussianSampler(S, m),
  };
}

function bivariateVariant(id: string, description: string, fx?: Transform, fy?: Transform): ValidationTask {
  return {
    id,
    description,
    truthNats: gaussianMi(BIVARIATE, 1),
    specTruthNats: 0.413339,
    dimX: 1,
    dimY: 1,
    kind: 'continuous',
    quantity: 'I_XT',
    stream: 'normal-1x1',
    sample: gaussianSampler(BIVARIATE, 1, fx, fy),
  };
}

function studentTask(m: number, nu: number, spec: number): ValidationTask {
  return {
    id: `student-${m}x${m}-dof${nu}`,
    description: `multivariate Student-t ${m} x ${m}, identity dispersion, ${nu} degree(s) of freedom (shared scale)`,
    truthNats: studentTMi(m, m, nu),
    specTruthNats: spec,
    dimX: m,
    dimY: m,
    kind: 'continuous',
    quantity: 'I_XT',
    note: 'heavy tails: kNN estimators are expected to be biased (BMI)',
    stream: `student-${m}x${m}-dof${nu}`,
    sample: studentSampler(m, m, nu),
  };
}

function additiveTask(e: number, spec: number): ValidationTask {
  return {
    id: `additive-${e}`,
    description: `additive uniform noise: X ~ U(0,1), Y = X + U(-${e}, ${e})`,
    truthNats: additiveUniformMi(e),
    specTruthNats: spec,
    dimX: 1,
    dimY: 1,
    kind: 'continuous',
    quantity: 'I_XT',
    stream: `additive-${e}`,
    sample: additiveSampler(e),
  };
}

function entropyTask(id: string, description: string, S: Mat): ValidationTask {
  return {
    id,
    description,
    truthNats: gaussianEntropy(S),
    dimX: S.length,
    dimY: 0,
    kind: 'continuous',
    quantity: 'H',
    stream: id,
    sample: entropySampler(S),
  };
}

/** Covariance diag(s) C diag(s) for correlation C and standard deviations s. */
function scaled(C: Mat, s: number[]): Mat {
  return C.map((row, i) => row.map((c, j) => c * s[i] * s[j]));
}

function buildTasks(): ValidationTask[] {
  const hyBits = twelveBitHyBits();
  const sparse = sparsePairs(3);
  return [
    bivariateVariant('normal-1x1', 'bivariate normal, correlation 0.75'),
    bivariateVariant('uniform-1x1', '"uniform 1x1": Phi (normal CDF) of both coordinates of normal-1x1', normalCdf, normalCdf),
    bivariateVariant('halfcube-1x1', 'half-cube t sqrt|t| of both coordinates of normal-1x1', halfCube, halfCube),
    bivariateVariant('wiggly-1x1', 'BMI wiggly maps of normal-1x1 (wiggly_x on X, wiggly_y on Y)', wigglyX, wigglyY),
    bivariateVariant('asinh-1x1', 'asinh of both coordinates of normal-1x1', Math.asinh, Math.asinh),
    denseTask(2, 0.293893),
    denseTask(3, 0.413339),
    denseTask(5, 0.592812),
    denseTask(25, 1.292184, 'documented bias: kNN estimators underestimate at 25 x 25 (BMI); reported, not asserted'),
    {
      id: 'sparse-3x3',
      description: 'sparse 2-pair multinormal 3 x 3: X_i = 2 Z_i + E_i, Y_i = 2 Z_i + F_i (i = 1, 2), third coordinates independent',
      truthNats: gaussianMi(sparse, 3),
      specTruthNats: 1.021651,
      dimX: 3,
      dimY: 3,
      kind: 'continuous',
      quantity: 'I_XT',
      stream: 'sparse-3x3',
      sample: gaussianSampler(sparse, 3),
    },
    additiveTask(0.1, 1.709438),
    additiveTask(0.75, 0.333333),
    studentTask(1, 1, 0.224171),
    studentTask(2, 2, 0.193147),
    {
      id: 'twelvebit-hx',
      description: '12-bit task, T = X (all 4096 patterns): I(X;T) = H(X) = 12 bits',
      truthNats: 12 * LN2,
      specTruthNats: 12 * LN2,
      dimX: 12,
      dimY: 1,
      kind: 'discrete',
      quantity: 'I_XT',
      fixedN: 4096,
      stream: 'twelvebit',
      sample: twelveBitSampler,
    },
    {
      id: 'twelvebit-ixy',
      description: '12-bit task, T = X: I(T;Y) = I(X;Y) = H(Y) = 0.9991571 bits',
      truthNats: hyBits * LN2,
      specTruthNats: 0.9991571 * LN2,
      dimX: 12,
      dimY: 1,
      kind: 'discrete',
      quantity: 'I_TY',
      fixedN: 4096,
      stream: 'twelvebit',
      sample: twelveBitSampler,
    },
    entropyTask('entropy-1d', 'differential entropy of N(0, 1)', [[1]]),
    entropyTask('entropy-2d', 'differential entropy of the bivariate normal, correlation 0.75', BIVARIATE),
    entropyTask('entropy-5d', 'differential entropy of N(0, S), S 5 x 5 with unit variances and correlations 0.5', equicorrelated(5, 0.5)),
    entropyTask(
      'entropy-3d-scaled',
      'differential entropy of N(0, S), standard deviations 0.5, 1, 2 and correlations 0.5 (checks scale handling)',
      scaled(equicorrelated(3, 0.5), [0.5, 1, 2]),
    ),
  ];
}

let taskCache: ValidationTask[] | undefined;

/** Every built-in validation task, in report order. */
export function validationTasks(): ValidationTask[] {
  taskCache ??= buildTasks();
  return taskCache;
}

export function taskIds(): string[] {
  return validationTasks().map((t) => t.id);
}
