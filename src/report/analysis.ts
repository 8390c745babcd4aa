/**
 * Data selection and statistics shared by the summary and the figures.
 * Pure functions over tidy rows; no formatting, no rendering.
 */
import type {MetricRow, TrainingRow} from '../types.js';
import {naturalCompare} from '../util/order.js';

/** Metric rows of one MI estimator with one parameter set, restricted to one subset. */
export interface MiGroup {
  estimator: string;
  params: string;
  subset: string;
  unit: string;
  rows: MetricRow[];
}

/** One layer's information-plane coordinates at one epoch. */
export interface MiPoint {
  epoch: number;
  ixt: number | null;
  ity: number | null;
  ixtAtCeiling: boolean;
}

/** One layer's gradient norms at one snapshot epoch. */
export interface GradientPoint {
  epoch: number;
  mean: number;
  std: number;
}

export const MI_PREFIX = 'mi.';
export const ACT_STATS = 'act.stats';

/** `all` when present among the subsets, else the first one seen. */
function preferredSubset(rows: readonly MetricRow[]): string | null {
  let first: string | null = null;
  for (const r of rows) {
    if (r.subset === 'all') return 'all';
    if (first === null) first = r.subset;
  }
  return first;
}

/** Groups rows by (estimator, params) in first-seen order. */
function groupByEstimatorParams(rows: readonly MetricRow[]): Map<string, MetricRow[]> {
  const groups = new Map<string, MetricRow[]>();
  for (const r of rows) {
    const key = `${r.estimator}\u0000${r.params}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  return groups;
}

/** Natural order ("bins=30" before "bins=100"), independent of the host locale. */

/** MI groups (estimator names starting with `mi.`), sorted by estimator then params. */
export function miGroups(metrics: readonly MetricRow[]): MiGroup[] {
  const mi = metrics.filter((r) => r.estimator.startsWith(MI_PREFIX) && (r.quantity === 'I_XT' || r.quantity === 'I_TY'));
  const out: MiGroup[] = [];
  for (const rows of groupByEstimatorParams(mi).values()) {
    const subset = preferredSubset(rows);
    if (subset === null) continue;
    const kept = rows.filter((r) => r.subset === subset);
    out.push({estimator: kept[0].estimator, params: kept[0].params, subset, unit: kept[0].unit, rows: kept});
  }
  return out.sort((a, b) => naturalCompare(a.estimator, b.estimator) || naturalCompare(a.params, b.params));
}

/** Human label of a group: `mi.bin[bins=30]`, or the estimator alone when it has no params. */
export function groupLabel(g: {estimator: string; params: string}): string {
  return g.params === '' ? g.estimator : `${g.estimator}[${g.params}]`;
}

/** One layer's (I_XT, I_TY) trajectory in a group, sorted by epoch. */
export function miTrajectory(group: MiGroup, layerIndex: number): MiPoint[] {
  const byEpoch = new Map<number, MiPoint>();
  for (const r of group.rows) {
    if (r.layerIndex !== layerIndex) continue;
    let p = byEpoch.get(r.epoch);
    if (!p) {
      p = {epoch: r.epoch, ixt: null, ity: null, ixtAtCeiling: false};
      byEpoch.set(r.epoch, p);
    }
    if (r.quantity === 'I_XT') {
      p.ixt = finiteOrNull(r.value);
      p.ixtAtCeiling = r.atCeiling;
    } else {
      p.ity = finiteOrNull(r.value);
    }
  }
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}

/** Rows of `act.stats` for one quantity, restricted to the preferred subset and the first params seen. */
export function activationRows(metrics: readonly MetricRow[], quantity: string): MetricRow[] {
  const rows = metrics.filter((r) => r.estimator === ACT_STATS && r.quantity === quantity);
  const subset = preferredSubset(rows);
  if (subset === null) return [];
  const inSubset = rows.filter((r) => r.subset === subset);
  const params = inSubset[0].params;
  return inSubset.filter((r) => r.params === params);
}

/** Sorted (epoch, value) pairs of one layer from metric or training rows. */
export function layerSeries(
  rows: readonly {epoch: number; layerIndex: number; value: number}[],
  layerIndex: number,
): {epoch: number; value: number}[] {
  return rows
    .filter((r) => r.layerIndex === layerIndex && Number.isFinite(r.value))
    .map((r) => ({epoch: r.epoch, value: r.value}))
    .sort((a, b) => a.epoch - b.epoch);
}

/** Sorted (epoch, value) pairs of one epoch-level training quantity (layerIndex -1). */
export function trainingSeries(training: readonly TrainingRow[], quantity: string): {epoch: number; value: number}[] {
  return layerSeries(
    training.filter((r) => r.quantity === quantity),
    -1,
  );
}

/** Gradient mean/std norms of one layer at epochs where both are present, sorted by epoch. */
export function gradientTrajectory(training: readonly TrainingRow[], layerIndex: number): GradientPoint[] {
  const mean = new Map<number, number>();
  const std = new Map<number, number>();
  for (const r of training) {
    if (r.layerIndex !== layerIndex || !Number.isFinite(r.value)) continue;
    if (r.quantity === 'grad_mean_norm') mean.set(r.epoch, r.value);
    else if (r.quantity === 'grad_std_norm') std.set(r.epoch, r.value);
  }
  const out: GradientPoint[] = [];
  for (const [epoch, m] of mean) {
    const s = std.get(epoch);
    if (s !== undefined) out.push({epoch, mean: m, std: s});
  }
  return out.sort((a, b) => a.epoch - b.epoch);
}

/**
 * Drift-to-diffusion crossing: the first epoch e* of the trajectory such that mean < std at e* and at
 * every later epoch. Null when the last epoch still has mean >= std, or when there is no data.
 */
export function crossingEpoch(traj: readonly GradientPoint[]): number | null {
  let crossing: number | null = null;
  for (let i = traj.length - 1; i >= 0; i--) {
    if (traj[i].mean < traj[i].std) crossing = traj[i].epoch;
    else break;
  }
  return crossing;
}

/** Signal-to-noise ratio mean/std, or null when std is not positive. */
export function snr(p: GradientPoint): number | null {
  return p.std > 0 ? p.mean / p.std : null;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Value at the largest epoch of a sorted series, or null. */
export function lastValue(series: readonly {value: number}[]): number | null {
  return series.length === 0 ? null : series[series.length - 1].value;
}

export function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/**
 * Fraction of a layer's units that are dead. `dead_units` in `count` units is divided by the layer
 * width; other units are taken to already be fractions.
 */
export function deadFraction(value: number, unit: string, width: number): number {
  return unit === 'count' ? (width > 0 ? value / width : 0) : value;
}

// ---------------------------------------------------------------------------------------------
// Geometry, entropies, spectra and weight features

export const LOCAL_RANK = 'geom.local_rank';
export const WEIGHT_FEATURES = 'weights.features';

/** Per-layer entropy estimators shown against epoch, in report order. */
export const ENTROPY_ESTIMATORS = ['geom.dse', 'geom.dsmi', 'ent.renyi', 'ent.matrix', 'ent.vne', 'ent.mbe2', 'ent.kl', 'ent.wkl'] as const;
/** Per-layer spectral statistics shown against epoch, in report order. */
export const SPECTRUM_ESTIMATORS = ['geom.erank', 'geom.rankme', 'geom.alphareq', 'geom.pr'] as const;
/** Network-level weight features in report order (others follow in natural order). */
export const WEIGHT_FEATURE_ORDER = [
  'l1', 'l2', 'trace', 'spectral', 'code_sparsity', 'computational_sparsity', 'mean_singular_value',
  'var_singular_value', 'mean_w', 'median_w', 'var_w', 'mean_b', 'median_b', 'var_b',
] as const;

/** Rows of one (estimator, quantity, params), restricted to one subset. */
export interface MetricGroup {
  estimator: string;
  quantity: string;
  params: string;
  subset: string;
  unit: string;
  rows: MetricRow[];
}

/**
 * Groups the rows of the given estimators by (estimator, quantity, params), each restricted to its
 * preferred subset; sorted by the estimators' order, then quantity, then params (natural order).
 */
export function metricGroups(
  metrics: readonly MetricRow[],
  estimators: readonly string[],
  keep: (r: MetricRow) => boolean = () => true,
): MetricGroup[] {
  const wanted = new Set(estimators);
  const byKey = new Map<string, MetricRow[]>();
  for (const r of metrics) {
    if (!wanted.has(r.estimator) || !keep(r)) continue;
    const key = `${r.estimator}\u0000${r.quantity}\u0000${r.params}`;
    const g = byKey.get(key);
    if (g) g.push(r);
    else byKey.set(key, [r]);
  }
  const out: MetricGroup[] = [];
  for (const rows of byKey.values()) {
    const subset = preferredSubset(rows);
    if (subset === null) continue;
    const kept = rows.filter((r) => r.subset === subset);
    out.push({estimator: kept[0].estimator, quantity: kept[0].quantity, params: kept[0].params, subset, unit: kept[0].unit, rows: kept});
  }
  const order = (e: string): number => estimators.indexOf(e);
  return out.sort((a, b) => order(a.estimator) - order(b.estimator) || naturalCompare(a.quantity, b.quantity) || naturalCompare(a.params, b.params));
}

/** Rows of `geom.local_rank` grouped by params (natural order), each restricted to its preferred subset. */
export function localRankGroups(metrics: readonly MetricRow[]): {params: string; subset: string; rows: MetricRow[]}[] {
  const rows = metrics.filter((r) => r.estimator === LOCAL_RANK);
  const out: {params: string; subset: string; rows: MetricRow[]}[] = [];
  for (const g of groupByEstimatorParams(rows).values()) {
    const subset = preferredSubset(g);
    if (subset === null) continue;
    out.push({params: g[0].params, subset, rows: g.filter((r) => r.subset === subset)});
  }
  return out.sort((a, b) => naturalCompare(a.params, b.params));
}

/** One layer's local rank statistics at one epoch (null where the quantity is missing). */
export interface LocalRankPoint {
  epoch: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  bound: number | null;
}

/** One layer's local rank trajectory (mean over evaluation points, min, max, bound), sorted by epoch. */
export function localRankTrajectory(rows: readonly MetricRow[], layerIndex: number): LocalRankPoint[] {
  const byEpoch = new Map<number, LocalRankPoint>();
  const field: Record<string, keyof Omit<LocalRankPoint, 'epoch'>> = {
    local_rank: 'mean',
    local_rank_min: 'min',
    local_rank_max: 'max',
    local_rank_bound: 'bound',
  };
  for (const r of rows) {
    const f = field[r.quantity];
    if (r.layerIndex !== layerIndex || f === undefined) continue;
    let p = byEpoch.get(r.epoch);
    if (!p) {
      p = {epoch: r.epoch, mean: null, min: null, max: null, bound: null};
      byEpoch.set(r.epoch, p);
    }
    p[f] = finiteOrNull(r.value);
  }
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}
