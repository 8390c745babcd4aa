import {UserError} from '../../../util/errors.js';

export interface LocalRankOptions {
  /** Only this layer (1-based, as tdlab's layer index); default all layers. */
  layer?: number;
  /** Absolute tolerance on singular values (default 0.01, the authors' MNIST code). */
  tol: number;
  /** Relative tolerance: count s > relTol * s_max (replaces `tol` when given). */
  relTol?: number;
  /** Jacobian of the post-activation h_l = phi(z_l) instead of the pre-activation z_l. */
  post: boolean;
  /** Use the first `points` rows of X (all rows when X has fewer). */
  points: number;
  /** Computation path; `auto` = gram when every computed layer is at most d_0 wide. */
  method?: 'auto' | 'gram' | 'explicit';
  /** With `explicit`: which Gram to diagonalise (`auto` = the smaller side). */
  side?: 'auto' | 'output' | 'input';
  /** Keep every point's singular values (descending) in the result. */
  keepSingularValues?: boolean;
}

export interface LayerLocalRank {
  /** 1-based layer index. */
  layerIndex: number;
  /** d_l */
  width: number;
  /** Mean over the points of rank_tol(J_l(x)). */
  meanRank: number;
  /** Per-point ranks (for histograms); length = points used. */
  ranks: Int32Array;
  /** Mean "numerical" rank (NumPy rule on the Gram, see above). */
  meanNumericalRank: number;
  numericalRanks: Int32Array;
  /** Largest singular value per point. */
  sMax: Float64Array;
  /** Upper bound min(d_0, ..., d_l) of the rank. */
  maxRank: number;
  /** Per point, descending, when `keepSingularValues`. */
  singularValues?: Float64Array[];
}

export interface LocalRankResult {
  layers: LayerLocalRank[];
  points: number;
  inputDim: number;
  /** `vjp`: the generic batched-VJP path of local-rank-vjp.ts (any tdlab model). */
  method: 'gram' | 'explicit' | 'vjp';
}

const EPS = 2 ** -52;

/** Per-point results of one layer while they are being computed. */
export interface Counter {
  ranks: Int32Array;
  numericalRanks: Int32Array;
  sMax: Float64Array;
  sv?: Float64Array[];
}

/**
 * Counts eigenvalues lam (descending) of a Gram whose singular values are sqrt(lam).
 * `jacobianEps`: when J itself was computed in a lower precision (float32 VJPs: 2^-23), the
 * numerical rank is NumPy's `matrix_rank` rule for that dtype on s (s > s_max max(d) eps), which
 * the float64 Gram resolves; default: the float64 rule on the Gram described above.
 */
export function countInto(c: Counter, point: number, lam: Float64Array, opts: LocalRankOptions, maxDim: number, jacobianEps?: number): void {
  const lmax = Math.max(0, lam.length ? lam[0] : 0);
  const smax = Math.sqrt(lmax);
  const tol = opts.relTol !== undefined ? opts.relTol * smax : opts.tol;
  const numTol = jacobianEps === undefined ? lmax * maxDim * EPS : lmax * (maxDim * jacobianEps) ** 2;
  let r = 0;
  let nr = 0;
  for (let i = 0; i < lam.length; i++) {
    const l = lam[i];
    if (Math.sqrt(Math.max(0, l)) > tol) r++;
    if (l > numTol) nr++;
  }
  c.ranks[point] = r;
  c.numericalRanks[point] = nr;
  c.sMax[point] = smax;
  if (c.sv) c.sv[point] = lam.map((x) => Math.sqrt(Math.max(0, x)));
}

/** Throws a UserError for a negative tolerance or a layer outside 1..L (both Jacobian paths). */
export function checkLocalRankOptions(opts: LocalRankOptions, L: number): void {
  if (!(opts.tol >= 0) && opts.relTol === undefined) throw new UserError('local rank: tol must be >= 0');
  if (opts.layer !== undefined && !(Number.isInteger(opts.layer) && opts.layer >= 1 && opts.layer <= L)) {
    throw new UserError(`local rank: layer ${opts.layer} out of range 1..${L}`);
  }
}

/** One layer's result from its per-point counts (both Jacobian paths). */
export function layerSummary(c: Counter, layerIndex: number, width: number, maxRank: number): LayerLocalRank {
  const mean = (a: Int32Array) => (a.length ? a.reduce((s, v) => s + v, 0) / a.length : NaN);
  return {
    layerIndex,
    width,
    meanRank: mean(c.ranks),
    ranks: c.ranks,
    meanNumericalRank: mean(c.numericalRanks),
    numericalRanks: c.numericalRanks,
    sMax: c.sMax,
    maxRank,
    ...(c.sv ? {singularValues: c.sv} : {}),
  };
}

