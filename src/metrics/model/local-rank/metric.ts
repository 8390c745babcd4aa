import {z} from 'zod';
import type {DenseNet} from '../../../model/dense-net.js';
import type {Matrix} from '../../../types.js';
import {Rng} from '../../../util/prng.js';
import type {EstimatorValue} from '../../types.js';
import {localRank} from './analytic.js';
import type {LocalRankResult} from './types.js';

const params = z
  .object({
    /** Absolute tolerance on singular values. */
    tol: z.number().nonnegative().default(0.01),
    /** Relative tolerance (count s > relTol * s_max); replaces tol when set. */
    relTol: z.number().positive().lt(1).optional(),
    /** Number of evaluation points (seeded subset of the rows given). */
    points: z.number().int().positive().default(128),
    /** Jacobian of the post-activation instead of the pre-activation. */
    post: z.boolean().default(false),
    /**
     * Hidden-layer activation of weights given as an `.npz` (`tdlab measure --weights`), which
     * carries none; recorded with the values. Not used by compute (the DenseNet carries its
     * activations) and not needed for run checkpoints (model.json has them).
     */
    activation: z.enum(['tanh', 'relu', 'sigmoid', 'softsign', 'softplus', 'elu', 'linear']).optional(),
  })
  .strict();

export type LocalRankParams = z.infer<typeof params>;

/** One layer's values of `geom.local_rank` plus the per-point ranks. */
export interface LocalRankLayerRow {
  /** 1-based, as tdlab's layer index. */
  layerIndex: number;
  /** Points the values were computed on (M). */
  n: number;
  values: EstimatorValue[];
  /** Per-point ranks and numerical ranks (histograms). */
  ranks: Int32Array;
  numericalRanks: Int32Array;
  /** Rows of X used, increasing. */
  rows: Int32Array;
}

/** Rows of X used for `points` evaluation points: all rows when N <= points, else a seeded subset (sorted). */
export function localRankRows(nRows: number, points: number, seed: number): Int32Array {
  if (nRows <= points) return Int32Array.from({length: nRows}, (_, i) => i);
  return new Rng(seed, 'points/geom.local_rank').permutation(nRows).subarray(0, points).sort();
}

/**
 * `geom.local_rank` (docs/metrics.md, geom.local_rank). Not an activation Estimator: it needs the snapshot's weights and
 * the inputs. `compute(net, X, params, seed)` -> one row per layer with quantities
 * `local_rank` (mean over points, unit count), `local_rank_numerical`, `local_rank_std`,
 * `local_rank_min`, `local_rank_max`, `local_rank_bound` (min(d_0..d_l)) and `s_max_mean`.
 */
export const geomLocalRank = {
  name: 'geom.local_rank',
  description: 'local rank: singular values of the input Jacobian of each layer above tol, averaged over evaluation points (Patel & Shwartz-Ziv 2024)',
  params,
  compute(net: DenseNet, X: Matrix, p: LocalRankParams, seed = 0): LocalRankLayerRow[] {
    const rows = localRankRows(X.rows, p.points, seed);
    const res = localRank(net, subsetRows(X, rows), {tol: p.tol, relTol: p.relTol, post: p.post, points: rows.length});
    return localRankLayerRows(res, rows);
  },
};

/** Rows X[rows] (in that order) as a float64 matrix. */
export function subsetRows(X: Matrix, rows: Int32Array): Matrix<Float64Array> {
  const d = X.cols;
  const sub = new Float64Array(rows.length * d);
  rows.forEach((r, i) => {
    for (let k = 0; k < d; k++) sub[i * d + k] = X.data[r * d + k];
  });
  return {data: sub, rows: rows.length, cols: d};
}

/**
 * The values of `geom.local_rank` (one row per layer) from a local-rank result; shared by the
 * analytic dense path and the generic VJP path so both emit the same quantities and units.
 */
export function localRankLayerRows(res: LocalRankResult, rows: Int32Array): LocalRankLayerRow[] {
  return res.layers.map((l) => {
    let sq = 0;
    let mn = Infinity;
    let mx = -Infinity;
    for (const r of l.ranks) {
      sq += (r - l.meanRank) ** 2;
      if (r < mn) mn = r;
      if (r > mx) mx = r;
    }
    const sbar = l.sMax.reduce((s, v) => s + v, 0) / Math.max(1, l.sMax.length);
    const values: EstimatorValue[] = [
      {quantity: 'local_rank', value: l.meanRank, unit: 'count'},
      {quantity: 'local_rank_numerical', value: l.meanNumericalRank, unit: 'count'},
      {quantity: 'local_rank_std', value: l.ranks.length ? Math.sqrt(sq / l.ranks.length) : NaN, unit: 'count'},
      {quantity: 'local_rank_min', value: mn, unit: 'count'},
      {quantity: 'local_rank_max', value: mx, unit: 'count'},
      {quantity: 'local_rank_bound', value: l.maxRank, unit: 'count'},
      {quantity: 's_max_mean', value: sbar, unit: 'dimensionless'},
    ];
    return {layerIndex: l.layerIndex, n: res.points, values, ranks: l.ranks, numericalRanks: l.numericalRanks, rows};
  });
}
