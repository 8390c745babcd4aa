/**
 * Cross-run aggregation: per group of runs (same values of the grouping keys), per layer and MI
 * estimator/parameter set: information-plane trajectories as mean and spread over seeds, and the
 * compression amount C = max over snapshot epochs of I(X;T) - I(X;T) at the last snapshot (docs/metrics.md, compression),
 * per seed and summarised. Pure functions over loaded runs.
 */
import {groupLabel, miGroups, miTrajectory, type MiPoint} from '../report/analysis.js';
import type {LayerInfo, MetricRow, TrainingRow} from '../types.js';
import {differingKeys, groupBy, valueText} from './group.js';
import {naturalCompare} from '../util/order.js';

/** What aggregation needs from one run. */
export interface AggregateRun {
  runDir: string;
  runId: string;
  seed: number;
  config: Record<string, unknown>;
  layers: LayerInfo[];
  metrics: MetricRow[];
  /** Training log (only the gradient check A2 reads it); may be empty. */
  training: TrainingRow[];
}

/** Summary of one number over the seeds of a group. `std` is the sample std (n - 1), null for n < 2. */
export interface SeedStats {
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  /** Per-seed values, in the order of `seeds`/`runs`. */
  values: number[];
  seeds: number[];
  runs: string[];
}

export interface Spread {
  mean: number;
  std: number | null;
  min: number;
  max: number;
  n: number;
}

export interface TrajectoryPoint {
  epoch: number;
  ixt: Spread | null;
  ity: Spread | null;
}

export interface EstimatorAggregate {
  estimator: string;
  params: string;
  subset: string;
  unit: string;
  /** C = max_e I(X;T) - I_final(X;T) per seed. */
  compression: SeedStats;
  maxIXT: SeedStats;
  finalIXT: SeedStats;
  finalITY: SeedStats;
  /** Mean and spread over seeds at each snapshot epoch (seeds that have the epoch). */
  trajectory: TrajectoryPoint[];
}

export interface LayerAggregate {
  layer: string;
  index: number;
  kind: 'hidden' | 'output';
  width: number;
  activation: string;
  estimators: EstimatorAggregate[];
}

export interface GroupAggregate {
  key: Record<string, unknown>;
  label: string;
  runs: string[];
  runIds: string[];
  seeds: number[];
  layers: LayerAggregate[];
}

/** Per-seed information-plane trace (for the figures; not part of the JSON). */
export interface SeedTrace {
  runDir: string;
  seed: number;
  points: MiPoint[];
  /** Rows the values were computed on (largest over the trace): the log2 N ceiling. */
  n: number;
}

export interface AggregateResult {
  groupBy: string[];
  groups: GroupAggregate[];
  /** groupIndex -> traceKey(layer, estimator, params, subset) -> per-seed traces. */
  traces: Map<string, SeedTrace[]>[];
  warnings: string[];
}

export function traceKey(layerIndex: number, estimator: string, params: string, subset: string): string {
  return `${layerIndex}\u0000${estimator}\u0000${params}\u0000${subset}`;
}

export function mean(values: readonly number[]): number | null {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}

/** Sample standard deviation (n - 1 denominator); null for fewer than 2 values. */
export function sampleStd(values: readonly number[]): number | null {
  if (values.length < 2) return null;
  const m = mean(values) as number;
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1));
}

export function seedStats(items: readonly {value: number | null; seed: number; runDir: string}[]): SeedStats {
  const kept = items.filter((i): i is {value: number; seed: number; runDir: string} => i.value !== null && Number.isFinite(i.value));
  const values = kept.map((i) => i.value);
  return {
    mean: mean(values),
    std: sampleStd(values),
    min: values.length ? Math.min(...values) : null,
    max: values.length ? Math.max(...values) : null,
    values,
    seeds: kept.map((i) => i.seed),
    runs: kept.map((i) => i.runDir),
  };
}

function spread(values: readonly number[]): Spread | null {
  if (values.length === 0) return null;
  return {mean: mean(values) as number, std: sampleStd(values), min: Math.min(...values), max: Math.max(...values), n: values.length};
}

/** Max, final and compression of one I(X;T) trajectory (final = last snapshot with a value). */
export function compressionOf(points: readonly MiPoint[]): {maxIXT: number | null; finalIXT: number | null; compression: number | null; finalITY: number | null} {
  const ixt = points.filter((p) => p.ixt !== null);
  const ity = points.filter((p) => p.ity !== null);
  const maxIXT = ixt.length ? Math.max(...ixt.map((p) => p.ixt as number)) : null;
  const finalIXT = ixt.length ? (ixt[ixt.length - 1].ixt as number) : null;
  return {maxIXT, finalIXT, compression: maxIXT !== null && finalIXT !== null ? maxIXT - finalIXT : null, finalITY: ity.length ? (ity[ity.length - 1].ity as number) : null};
}

/** Mean and spread over traces at every epoch that at least one trace has. */
export function meanTrajectory(traces: readonly MiPoint[][]): TrajectoryPoint[] {
  const byEpoch = new Map<number, {ixt: number[]; ity: number[]}>();
  for (const t of traces) {
    for (const p of t) {
      let e = byEpoch.get(p.epoch);
      if (!e) byEpoch.set(p.epoch, (e = {ixt: [], ity: []}));
      if (p.ixt !== null) e.ixt.push(p.ixt);
      if (p.ity !== null) e.ity.push(p.ity);
    }
  }
  return [...byEpoch.entries()].sort((a, b) => a[0] - b[0]).map(([epoch, v]) => ({epoch, ixt: spread(v.ixt), ity: spread(v.ity)}));
}


/** Aggregates one group of runs (normally the seeds of one setting). */
export function aggregateGroup(runs: readonly AggregateRun[], key: Record<string, unknown>, label: string): {group: GroupAggregate; traces: Map<string, SeedTrace[]>} {
  const layerInfo = new Map<number, LayerInfo>();
  for (const r of runs) for (const l of r.layers) if (!layerInfo.has(l.index)) layerInfo.set(l.index, l);
  // (layer, estimator, params, subset) -> per-seed traces
  const traces = new Map<string, SeedTrace[]>();
  const estimatorsOfLayer = new Map<number, Map<string, {estimator: string; params: string; subset: string; unit: string}>>();
  for (const r of runs) {
    for (const g of miGroups(r.metrics)) {
      const layerIdx = [...new Set(g.rows.map((row) => row.layerIndex))];
      for (const li of layerIdx) {
        if (!layerInfo.has(li)) {
          const row = g.rows.find((x) => x.layerIndex === li) as MetricRow;
          layerInfo.set(li, {index: li, name: row.layer, width: 0, activation: '', kind: 'hidden'});
        }
        const k = traceKey(li, g.estimator, g.params, g.subset);
        let list = traces.get(k);
        if (!list) traces.set(k, (list = []));
        list.push({runDir: r.runDir, seed: r.seed, points: miTrajectory(g, li), n: Math.max(0, ...g.rows.filter((row) => row.layerIndex === li).map((row) => row.n))});
        let ests = estimatorsOfLayer.get(li);
        if (!ests) estimatorsOfLayer.set(li, (ests = new Map()));
        if (!ests.has(k)) ests.set(k, {estimator: g.estimator, params: g.params, subset: g.subset, unit: g.unit});
      }
    }
  }
  const layers: LayerAggregate[] = [...layerInfo.values()]
    .sort((a, b) => a.index - b.index)
    .filter((l) => estimatorsOfLayer.has(l.index))
    .map((l) => {
      const ests = [...(estimatorsOfLayer.get(l.index) as Map<string, {estimator: string; params: string; subset: string; unit: string}>).entries()]
        .sort((a, b) => naturalCompare(a[1].estimator, b[1].estimator) || naturalCompare(a[1].params, b[1].params) || naturalCompare(a[1].subset, b[1].subset))
        .map(([k, e]) => {
          const seedTraces = traces.get(k) as SeedTrace[];
          const per = seedTraces.map((t) => ({t, c: compressionOf(t.points)}));
          const stat = (f: (c: ReturnType<typeof compressionOf>) => number | null) => seedStats(per.map(({t, c}) => ({value: f(c), seed: t.seed, runDir: t.runDir})));
          return {
            ...e,
            compression: stat((c) => c.compression),
            maxIXT: stat((c) => c.maxIXT),
            finalIXT: stat((c) => c.finalIXT),
            finalITY: stat((c) => c.finalITY),
            trajectory: meanTrajectory(seedTraces.map((t) => t.points)),
          };
        });
      return {layer: l.name, index: l.index, kind: l.kind, width: l.width, activation: l.activation, estimators: ests};
    });
  return {
    group: {key, label, runs: runs.map((r) => r.runDir), runIds: runs.map((r) => r.runId), seeds: runs.map((r) => r.seed), layers},
    traces,
  };
}

/** Orders groups by their key values: numbers numerically, anything else in natural text order. */
function compareKeys(a: Record<string, unknown>, b: Record<string, unknown>, keys: readonly string[]): number {
  for (const k of keys) {
    const x = a[k];
    const y = b[k];
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : naturalCompare(valueText(x), valueText(y));
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * Groups runs by `keys` (default: every config key that differs between the runs, except `seed`)
 * and aggregates each group. Groups are sorted by their key values (numbers numerically).
 */
export function aggregateRuns(runs: readonly AggregateRun[], keys?: readonly string[]): AggregateResult {
  const warnings: string[] = [];
  const groupKeys = keys ? [...keys] : differingKeys(runs.map((r) => r.config));
  const groups = groupBy(runs, (r) => r.config, groupKeys).sort((a, b) => compareKeys(a.key, b.key, groupKeys));
  const out: GroupAggregate[] = [];
  const traces: Map<string, SeedTrace[]>[] = [];
  for (const g of groups) {
    const seeds = g.members.map((m) => m.seed);
    const dup = seeds.filter((s, i) => seeds.indexOf(s) !== i);
    if (dup.length) warnings.push(`group ${g.label}: seed(s) ${[...new Set(dup)].join(', ')} appear in several runs; they are counted as separate samples`);
    const a = aggregateGroup(g.members, g.key, g.label);
    out.push(a.group);
    traces.push(a.traces);
  }
  return {groupBy: groupKeys, groups: out, traces, warnings};
}

/** `mi.bin[bins=30;...]` label of an estimator aggregate. */
export function estimatorLabel(e: {estimator: string; params: string}): string {
  return groupLabel(e);
}
