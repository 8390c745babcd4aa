import type {Table} from 'apache-arrow';
import {readArrowFile, tensorColumn} from '../io/arrow.js';
import {rowIds} from '../metrics/discrete.js';
import {evaluateLayer, selectRows} from '../metrics/evaluate.js';
import {formatParams} from '../metrics/params.js';
import {computeModelMetric, type ModelMetricContext} from '../metrics/model/index.js';
import {estimators, modelMetrics} from '../metrics/registry.js';
import {seededRows} from '../metrics/subsample.js';
import {denseNetFromCheckpoint, readModelPlan, type CheckpointModel} from '../model/checkpoint.js';
import type {DenseNet} from '../model/dense-net.js';
import {isDensePlan, type ModelPlan} from '../model/plan.js';
import {readDataset} from '../run/dataset.js';
import {runPaths, type RunPaths} from '../run/paths.js';
import type {MetricRow} from '../types.js';
import {StageError} from '../util/errors.js';
import {outputClassifier, pairRows} from './metrics-kinds.js';

/*
 * The work of the metrics stage at one snapshot, the same function whether it runs on the main
 * thread (one thread) or in a worker (src/stages/metrics-worker.ts): what to compute is decided
 * on the main thread (a SnapshotTask, plain data); the values come back with the NaN reasons in
 * the order they arose, and the stage concatenates them in snapshot order.
 */

/** Receives a NaN value's reason: metric, where (layer name, subset), quantity, reason. */
export type OnReason = (metric: string, where: string, quantity: string, reason: string) => void;

/** One estimator to compute over a run: parameters (defaults filled), sub-schedule and row cap. */
export interface MetricJob {
  name: string;
  params: Record<string, unknown>;
  /** Every k-th snapshot epoch (first and last always). */
  every: number;
  /** Seeded subsample of at most this many rows (the same rows at every epoch). */
  maxRows?: number;
}

/** What a worker is started with: enough to rebuild the WorkContext on its own. */
export interface WorkInputs {
  root: string;
  jobs: MetricJob[];
  subsets: string[];
  seed: number;
}

/** The run's data a snapshot's work reads: the same on the main thread and in every worker. */
export interface WorkContext extends WorkInputs {
  paths: RunPaths;
  data: ReturnType<typeof readDataset>;
  plan: ModelPlan;
  dense: boolean;
  /** Identity of each row's input (undefined for a run without inputs). */
  xIds: Int32Array | undefined;
  /** Rows job `i` uses on `subset`: seeded, capped at its maxRows, the same at every epoch (undefined = all rows). */
  rows(i: number, subset: string): Int32Array | undefined;
}

/** A seeded subset of `rows` (all rows when undefined) of size <= max, in increasing order. */
function capRows(rows: Int32Array | undefined, n: number, max: number | undefined, seed: number, label: string): Int32Array | undefined {
  const pick = seededRows(rows ? rows.length : n, max, seed, `subsample/${label}`);
  return pick && rows ? pick.map((i) => rows[i]) : pick ?? rows;
}

export function workContext(inputs: WorkInputs): WorkContext {
  const paths = runPaths(inputs.root);
  const data = readDataset(paths);
  const plan = readModelPlan(paths.model);
  const rows = new Map<string, Int32Array | undefined>();
  return {
    ...inputs,
    paths,
    data,
    plan,
    dense: isDensePlan(plan),
    xIds: rowIds(data.x, data.n),
    rows(i, subset) {
      const key = `${i}|${subset}`;
      if (!rows.has(key)) {
        const base = subset === 'all' ? undefined : subset === 'train' ? data.trainIdx : data.testIdx;
        rows.set(key, capRows(base, data.n, inputs.jobs[i].maxRows, inputs.seed, `${inputs.jobs[i].name}/${subset}`));
      }
      return rows.get(key);
    },
  };
}

/** A weight metric (job index) on one subset of rows. */
export interface ModelWork {
  job: number;
  subset: string;
}

/** What to compute at one snapshot (plain data: it is posted to a worker). */
export interface SnapshotTask {
  epoch: number;
  /** Weight metrics of a dense network (other networks' run on the main thread, which holds the tensor backend). */
  model: ModelWork[];
  /** The run's learning rate at this epoch (curvature's two_over_lr), when known. */
  lr?: number;
  /** Activation estimators in the order of their rows: job index, layer (position in the plan), subset. */
  layers: Array<{job: number; layer: number; subset: string}>;
  /** Similarity jobs and the previous snapshot epoch each ran at. */
  pairs: Array<{job: number; prev?: number}>;
  /**
   * Per layer (plan order): the largest activation at every earlier snapshot (-Infinity at the
   * first). Set up to the last snapshot mi.adaptmax runs at: the task then reads its snapshot even
   * without other work and passes the running maximum, this snapshot included, to the estimators.
   */
  maxBefore?: number[];
}

/** True when the task computes no value (it may still read its snapshot for the running maximum). */
export function taskIsEmpty(t: SnapshotTask): boolean {
  return t.model.length === 0 && t.layers.length === 0 && t.pairs.length === 0;
}

/** Activation snapshots, each read once while it is likely to be needed again: the final one (similarities compare with it) and the latest few. */
export class SnapshotTables {
  private readonly cache = new Map<number, Table>();
  constructor(
    private readonly paths: RunPaths,
    /** The run's last snapshot epoch. */
    readonly final: number,
    private readonly recent = 2,
  ) {}

  get(epoch: number): Table {
    let t = this.cache.get(epoch);
    if (t) this.cache.delete(epoch);
    else t = readArrowFile(this.paths.activation(epoch));
    this.cache.set(epoch, t);
    const loose = [...this.cache.keys()].filter((e) => e !== this.final);
    for (const e of loose.slice(0, Math.max(0, loose.length - this.recent))) this.cache.delete(e);
    return t;
  }
}

/** The larger of `mx` and the values of `data` (the first of equal values wins; NaN never does). */
function foldMax(mx: number, data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (data[i] > mx) mx = data[i];
  return mx;
}

/** Each layer's largest activation in a snapshot (plan order). */
export function layerMaxima(table: Table, plan: ModelPlan): number[] {
  return plan.layers.map((layer) => foldMax(-Infinity, tensorColumn(table, layer.name).data));
}

/** Running maxima after a snapshot with maxima `m`, from those before it (`before`, undefined at the first). */
export function foldMaxima(before: number[] | undefined, m: number[]): number[] {
  return m.map((v, i) => (before && !(v > before[i]) ? before[i] : v));
}

/** A NaN value's reason, as OnReason receives it. */
export type Reason = Parameters<OnReason>;

export interface SnapshotValues {
  rows: MetricRow[];
  /** NaN reasons in the order they arose. */
  reasons: Reason[];
  /** With `maxBefore`: the running maxima with this snapshot's. */
  runningMax?: number[];
}

/**
 * The values of one snapshot, in the order the stage writes them: weight metrics, then the
 * activation estimators layer by layer, then the similarities; with the NaN reasons in the order
 * they arose.
 */
export async function snapshotValues(ctx: WorkContext, task: SnapshotTask, tables: SnapshotTables): Promise<SnapshotValues> {
  const reasons: Reason[] = [];
  const onReason: OnReason = (...r) => void reasons.push(r);
  const {paths, plan, data} = ctx;
  const rows: MetricRow[] = [];
  if (task.model.length > 0) {
    const network = {net: denseNetFromCheckpoint(paths.checkpoint(task.epoch), plan.layers.map((l) => l.activation))};
    const noTensors: ModelMetricContext = {tf: () => Promise.reject(new Error('weight metrics of dense networks need no tensor backend'))};
    rows.push(...(await modelValues(ctx, task.epoch, task.model, network, noTensors, task.lr, onReason)));
  }
  if (task.layers.length === 0 && task.pairs.length === 0 && !task.maxBefore) return {rows, reasons};
  const file = paths.activation(task.epoch);
  const table = tables.get(task.epoch);
  const classifier = task.layers.some(({job}) => estimators.get(ctx.jobs[job].name).layers === 'last-hidden') ? outputClassifier(paths.checkpoint(task.epoch), plan, paths.model) : undefined;
  const runningMax = task.maxBefore?.slice();
  for (const [li, layer] of plan.layers.entries()) {
    const T = tensorColumn(table, layer.name);
    if (runningMax) runningMax[li] = foldMax(runningMax[li], T.data);
    for (const {job, subset} of task.layers.filter((w) => w.layer === li)) {
      const run = ctx.jobs[job];
      const classifierHere = estimators.get(run.name).layers === 'last-hidden' ? classifier : undefined;
      const extra = {runningMax: runningMax?.[li], seed: ctx.seed, source: file, classifier: classifierHere, onReason};
      rows.push(...evaluateLayer(T, layer, task.epoch, [run], data.labels, {name: subset, rows: ctx.rows(job, subset)}, ctx.xIds, extra));
    }
  }
  for (const {job, prev} of task.pairs) {
    const subsets = ctx.subsets.map((name) => ({name, rows: ctx.rows(job, name)}));
    const before = prev === undefined ? undefined : {epoch: prev, table: tables.get(prev)};
    rows.push(...pairRows(ctx.jobs[job], task.epoch, table, {epoch: tables.final, table: tables.get(tables.final)}, before, plan.layers, subsets, ctx.seed, onReason));
  }
  return {rows, reasons, runningMax};
}

/**
 * Weight metrics (local rank, weight features, curvature) of one checkpoint; local rank is
 * evaluated at the dataset inputs of each subset (seeded points, the same at every epoch). Dense
 * MLPs take the analytic path (`net`); any other model the generic one (`model`: batched VJPs
 * through the tensor backend of `tf`).
 */
export async function modelValues(
  ctx: WorkContext,
  epoch: number,
  pending: ModelWork[],
  network: {net: DenseNet} | {model: CheckpointModel},
  tf: ModelMetricContext,
  lr: number | undefined,
  onReason: OnReason,
): Promise<MetricRow[]> {
  const {data, plan, paths} = ctx;
  const file = paths.checkpoint(epoch);
  const X = {data: data.x, rows: data.n, cols: data.x.length / data.n};
  const out: MetricRow[] = [];
  for (const {job: j, subset} of pending) {
    const job = ctx.jobs[j];
    const metric = modelMetrics.get(job.name);
    const params = metric.params.parse(job.params) as Record<string, unknown>;
    if (metric.needsInputs && data.x.length === 0) throw new StageError('metrics', `${job.name} needs the inputs, and this run has none (an imported run without x.npy); import again with x.npy`);
    if (!ctx.dense && !metric.computeModel) throw new StageError('metrics', `${job.name} supports dense networks only; ${paths.model} has ${plan.layers.filter((l) => (l.type ?? 'dense') !== 'dense').map((l) => `${l.name} (${l.type})`).join(', ')}`);
    const sel = subset === 'all' ? undefined : subset === 'train' ? data.trainIdx : data.testIdx;
    const Xs = metric.needsInputs ? selectRows(X, sel) : undefined;
    const extra = metric.needsLabels ? {y: sel ? Int32Array.from(sel, (r) => data.labels[r]) : data.labels, lr} : undefined;
    const values = await computeModelMetric(metric, network, Xs, params, ctx.seed, tf, `${file} (epoch ${epoch})`, extra);
    for (const v of values) {
      const layer = v.layerIndex > 0 ? plan.layers[v.layerIndex - 1].name : '';
      if (v.reason) onReason(job.name, layer, v.quantity, v.reason);
      out.push({epoch, layerIndex: v.layerIndex, layer, estimator: job.name, quantity: v.quantity, params: formatParams(params), subset, n: v.n, value: v.value, unit: v.unit, atCeiling: false});
    }
  }
  return out;
}
