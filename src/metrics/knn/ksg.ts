import {z} from 'zod';
import {digammaTable, digamma} from '../special.js';
import type {Estimator} from '../types.js';
import {concatColumns, conditionalMiNats, entropyValues, jittered, standardizeInPlace, toFloat64, type Norm} from './kl.js';
import {KdTree, bruteCountWithinAll, knnAll, TREE_MAX_DIM, type Engine, type Metric} from './neighbors.js';

/**
 * KSG mutual information, algorithm 1 of Kraskov, Stoegbauer & Grassberger (docs/metrics.md, mi.ksg and ent.kl), nats:
 *   eps_i = distance from row i to its k-th neighbour in the joint space, joint distance
 *           = max(||a_i - a_j||, ||b_i - b_j||);
 *   n_a(i) = #{j != i : ||a_i - a_j|| < eps_i} (strict), n_b(i) likewise;
 *   I = psi(k) + psi(N) - mean_i [psi(n_a(i) + 1) + psi(n_b(i) + 1)].
 * norm `max`: max-norm within each marginal (Kraskov's original: the joint is the max-norm);
 * norm `euclidean`: Euclidean within each marginal (BMI's implementation).
 * Comparisons are exact (squared Euclidean distances compared with squared radii computed by the
 * same operations), unlike the `eps - 1e-15` tolerance used by tree-library implementations;
 * the two agree except for exact float ties at the radius.
 * Rows whose eps_i is 0 (k + 1 or more identical joint rows) trigger the seeded 1e-10 * std
 * jitter of kl.ts once; rows still at eps = 0 are dropped from the mean.
 * The value is NOT clipped at 0 (clip only for display, docs/metrics.md, mi.ksg and ent.kl).
 */
export function ksgNats(a: Float64Array, da: number, b: Float64Array, db: number, n: number, k: number, norm: Norm, seed = 0, engine: Engine = 'auto'): number {
  if (!(n >= 2)) throw new Error('KSG needs at least 2 rows');
  const kk = Math.min(k, n - 1);
  let joint = concatColumns(a, da, b, db, n);
  const jointMetric: Metric = norm === 'max' ? {kind: 'max'} : {kind: 'sqeuclid', groupEnds: [da, da + db]};
  const margMetric: Metric = norm === 'max' ? {kind: 'max'} : {kind: 'sqeuclid'};
  let eps = kthDistances(joint, n, da + db, kk, jointMetric, engine);
  let zero = eps.some((e) => !(e > 0));
  if (zero) {
    joint = jittered(joint, n, da + db, seed);
    a = new Float64Array(n * da);
    b = new Float64Array(n * db);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < da; j++) a[i * da + j] = joint[i * (da + db) + j];
      for (let j = 0; j < db; j++) b[i * db + j] = joint[i * (da + db) + da + j];
    }
    eps = kthDistances(joint, n, da + db, kk, jointMetric, engine);
    zero = eps.some((e) => !(e > 0));
  }
  const na = counts(a, n, da, eps, margMetric, engine);
  const nb = counts(b, n, db, eps, margMetric, engine);
  const psi = digammaTable(n);
  let sum = 0;
  let cnt = 0;
  for (let i = 0; i < n; i++) {
    if (zero && !(eps[i] > 0)) continue;
    sum += psi[na[i] + 1] + psi[nb[i] + 1];
    cnt++;
  }
  return digamma(kk) + digamma(n) - sum / cnt;
}

function kthDistances(x: Float64Array, n: number, d: number, k: number, metric: Metric, engine: Engine): Float64Array {
  const res = knnAll(x, n, d, k, metric, engine);
  const eps = new Float64Array(n);
  for (let i = 0; i < n; i++) eps[i] = res.dist[i * k + k - 1];
  return eps;
}

function counts(x: Float64Array, n: number, d: number, radii: Float64Array, metric: Metric, engine: Engine): Int32Array {
  const tree = engine === 'tree' || (engine === 'auto' && d <= TREE_MAX_DIM && n > 64);
  return tree ? new KdTree(x, n, d).countWithinAll(radii, metric) : bruteCountWithinAll(x, n, d, radii, metric);
}

const ksgParams = z
  .object({
    k: z.number().int().min(1).default(5),
    norm: z.enum(['max', 'euclidean']).default('max'),
    standardize: z.boolean().default(true),
    unit: z.enum(['bits', 'nats']).default('bits'),
  })
  .strict();

/**
 * `mi.ksg`: I_XT by KSG when continuous X is given (`input.x`); I_TY by the conditional
 * Kozachenko-Leonenko form H(T) - sum_y p(y) H(T|y) (Y is discrete, KSG needs continuous
 * marginals) with the same k and norm (max-norm -> cube volumes) on the same (standardised) T.
 */
export const miKsg: Estimator<z.infer<typeof ksgParams>> = {
  name: 'mi.ksg',
  description:
    'KSG algorithm 1 (joint max of marginal norms, strict marginal counts; norm max = Kraskov, euclidean = BMI), ' +
    'columns standardised by default; I_XT needs continuous X; I_TY via conditional KL entropy (same k, norm)',
  params: ksgParams,
  memory: ({n, d}, p) => 40 * n * d + 16 * n * p.k + 128 * n,
  compute: (input, p) => {
    const {rows: n, cols: d} = input.T;
    const seed = input.seed ?? 0;
    const t = toFloat64(input.T);
    if (p.standardize) standardizeInPlace(t, n, d);
    const ity = conditionalMiNats(t, n, d, input.y, {k: p.k, norm: p.norm, weighted: false, standardize: false, whiten: false, seed});
    let ixt: number | undefined;
    if (input.x) {
      if (input.x.rows !== n) throw new Error(`x has ${input.x.rows} rows, T has ${n}`);
      const x = toFloat64(input.x);
      if (p.standardize) standardizeInPlace(x, n, input.x.cols);
      ixt = ksgNats(x, input.x.cols, t, d, n, p.k, p.norm, seed);
    }
    return entropyValues({I_XT: ixt, I_TY: ity}, p.unit);
  },
};
