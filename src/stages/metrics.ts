import {existsSync, readdirSync} from 'node:fs';
import {loadBackend, type LoadedBackend} from '../backend/tf.js';
import {readArrowFile, tensorColumn} from '../io/arrow.js';
import {readMetricRows, writeMetricRows} from '../io/tables.js';
import {rowIds} from '../metrics/discrete.js';
import {evaluateLayer, selectRows} from '../metrics/evaluate.js';
import {formatParams} from '../metrics/params.js';
import {computeModelMetric} from '../metrics/model/index.js';
import {estimators, historyMetrics, modelMetrics, pairMetrics} from '../metrics/registry.js';
import {denseNetFromCheckpoint, readCheckpointModel, readModelPlan} from '../model/checkpoint.js';
import {isDensePlan} from '../model/plan.js';
import {readDataset} from '../run/dataset.js';
import {epochOfFile, type RunPaths} from '../run/paths.js';
import type {MetricRow} from '../types.js';
import {StageError} from '../util/errors.js';
import {seededRows} from '../metrics/subsample.js';
import type {Stage} from './types.js';
import type {TrainConfig} from '../config/schema.js';
import {learningRate} from '../train/lr.js';
import {historyRows, lastHiddenLayer, outputClassifier, pairRows, type PairState} from './metrics-kinds.js';

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

/** Snapshot epochs an estimator runs on: every k-th snapshot, always including the first and last. */
export function subSchedule(epochs: number[], every: number): Set<number> {
  return new Set(epochs.filter((_, i) => i % every === 0 || i === epochs.length - 1));
}

/** A seeded subset of `rows` (all rows when undefined) of size <= max, in increasing order. */
function capRows(rows: Int32Array | undefined, n: number, max: number | undefined, seed: number, label: string): Int32Array | undefined {
  const pick = seededRows(rows ? rows.length : n, max, seed, `subsample/${label}`);
  return pick && rows ? pick.map((i) => rows[i]) : pick ?? rows;
}

export function snapshotEpochsOnDisk(paths: RunPaths): number[] {
  let files: string[];
  try {
    files = readdirSync(paths.activationsDir);
  } catch {
    throw new StageError('metrics', `${paths.activationsDir}: no activations (run the train stage first)`);
  }
  const epochs = files.map(epochOfFile).filter((e): e is number => e !== undefined).sort((a, b) => a - b);
  if (epochs.length === 0) throw new StageError('metrics', `${paths.activationsDir}: no snapshot files (run the train stage first)`);
  return epochs;
}

/**
 * Identity of the values one computation gives (everything but quantity and value): an
 * activation estimator on one layer, epoch, subset and row count; a weight metric on one epoch
 * and subset (its values span the layers).
 */
export function valueGroup(r: Pick<MetricRow, 'epoch' | 'layerIndex' | 'estimator' | 'params' | 'subset' | 'n'>): string {
  return modelMetrics.has(r.estimator) ? [r.epoch, r.estimator, r.params, r.subset].join('|') : [r.epoch, r.layerIndex, r.estimator, r.params, r.subset, r.n].join('|');
}

/**
 * Computes metric jobs for every layer at their snapshot epochs on the given row subsets.
 * `have(valueGroup)` names values that exist already: they are not computed at all (and a
 * snapshot none of whose values is missing is not even read, unless mi.adaptmax needs its maximum).
 */
export async function computeMetrics(opts: {
  paths: RunPaths;
  jobs: MetricJob[];
  subsets: string[];
  seed: number;
  signal?: AbortSignal;
  progress?: (line: string) => void;
  /** Tensor backend for weight metrics of non-dense models (default: loadBackend('auto') on first use). */
  backend?: () => Promise<LoadedBackend>;
  have?: (group: string) => boolean;
  /** The run's training settings: `two_over_lr` of curvature metrics comes from their learning-rate schedule. */
  train?: Pick<TrainConfig, 'lr' | 'epochs' | 'schedule'>;
  /** Degenerate values (NaN with a reason) are reported here once per metric, place and reason. */
  note?: (line: string) => void;
}): Promise<MetricRow[]> {
  const {paths, jobs} = opts;
  const have = opts.have ?? (() => false);
  const data = readDataset(paths);
  const plan = readModelPlan(paths.model);
  const epochs = snapshotEpochsOnDisk(paths);
  const xIds = rowIds(data.x, data.n);
  const schedules = jobs.map((j) => subSchedule(epochs, j.every));
  const actJobs = jobs.map((j, i) => ({job: j, i, params: formatParams(estimators.has(j.name) ? (estimators.get(j.name).params.parse(j.params) as Record<string, unknown>) : j.params)})).filter(({job}) => estimators.has(job.name));
  // neural collapse and its kind run on the layer the output layer reads only
  const lastHidden = lastHiddenLayer(plan);
  const onLayer = (name: string, layer: (typeof plan.layers)[number]) => estimators.get(name).layers !== 'last-hidden' || layer === lastHidden;
  // rows of each (job, subset): the same at every epoch
  const sels = new Map(actJobs.flatMap(({job, i}) => opts.subsets.map((subset) => {
    const base = subset === 'all' ? undefined : subset === 'train' ? data.trainIdx : data.testIdx;
    return [`${i}|${subset}`, capRows(base, data.n, job.maxRows, opts.seed, `${job.name}/${subset}`)] as const;
  })));
  const todo = (epoch: number) =>
    actJobs.filter(({i}) => schedules[i].has(epoch)).flatMap(({job, i, params}) =>
      plan.layers.filter((layer) => onLayer(job.name, layer)).flatMap((layer) =>
        opts.subsets
          .map((subset) => ({job, layer, subset, sel: sels.get(`${i}|${subset}`)}))
          .filter(({sel, subset}) => !have(valueGroup({epoch, layerIndex: layer.index, estimator: job.name, params, subset, n: sel ? sel.length : data.n}))),
      ),
    );
  const work = epochs.map(todo);
  const lastMax = Math.max(-1, ...work.map((w, k) => (w.some(({job}) => job.name === 'mi.adaptmax') ? k : -1)));
  const runningMax = new Map<string, number>();
  const rows: MetricRow[] = [];
  // NaN values with a reason: one note per metric, place and reason, listing the quantities (at the end)
  const reasons = new Map<string, Set<string>>();
  const onReason: OnReason = (metric, where, quantity, reason) => {
    const key = `${metric}${where ? ` (${where})` : ''}: NaN \u0000(${reason})`;
    if (!reasons.has(key)) reasons.set(key, new Set());
    reasons.get(key)!.add(quantity);
  };
  const finalEpoch = epochs[epochs.length - 1];
  const pairJobs = jobs.filter((j) => pairMetrics.has(j.name));
  const finalTable = pairJobs.length ? {epoch: finalEpoch, table: readArrowFile(paths.activation(finalEpoch))} : undefined;
  const pairStates = new Map(pairJobs.map((j) => [j, {} as PairState]));
  for (const [k, epoch] of epochs.entries()) {
    if (opts.signal?.aborted) throw new StageError('metrics', 'interrupted');
    const scheduled = jobs.filter((_, i) => schedules[i].has(epoch));
    const lr = opts.train ? learningRate(opts.train, Math.min(epoch, opts.train.epochs - 1)) : undefined;
    rows.push(...(await modelMetricRows({...opts, onReason}, scheduled.filter((j) => modelMetrics.has(j.name)), epoch, data, plan, have, lr)));
    const pairs = scheduled.filter((j) => pairMetrics.has(j.name));
    if (work[k].length === 0 && pairs.length === 0 && k > lastMax) continue;
    const file = paths.activation(epoch);
    const table = readArrowFile(file);
    const classifier = work[k].some(({job}) => estimators.get(job.name).layers === 'last-hidden') ? outputClassifier(paths.checkpoint(epoch), plan, paths.model) : undefined;
    for (const layer of plan.layers) {
      const T = tensorColumn(table, layer.name);
      let mx = runningMax.get(layer.name) ?? -Infinity;
      for (let i = 0; i < T.data.length; i++) if (T.data[i] > mx) mx = T.data[i];
      runningMax.set(layer.name, mx);
      for (const {job, subset, sel} of work[k].filter((w) => w.layer === layer)) {
        const classifierHere = estimators.get(job.name).layers === 'last-hidden' ? classifier : undefined;
        rows.push(...evaluateLayer(T, layer, epoch, [job], data.labels, {name: subset, rows: sel}, xIds, {runningMax: mx, seed: opts.seed, source: file, classifier: classifierHere, onReason}));
      }
    }
    for (const job of pairs) {
      const subsets = opts.subsets.map((name) => ({name, rows: capRows(name === 'all' ? undefined : name === 'train' ? data.trainIdx : data.testIdx, data.n, job.maxRows, opts.seed, `${job.name}/${name}`)}));
      rows.push(...pairRows(job, epoch, table, finalTable!, pairStates.get(job)!, plan.layers, subsets, opts.seed, onReason));
    }
    opts.progress?.(`snapshot ${k + 1}/${epochs.length} (epoch ${epoch})`);
    await new Promise((r) => setImmediate(r)); // let progress and signals through
  }
  for (const job of jobs.filter((j) => historyMetrics.has(j.name))) rows.push(...historyRows(paths, job, finalEpoch, {}));
  for (const [key, qs] of reasons) opts.note?.(key.replace('\u0000', `for ${[...qs].join(', ')} `));
  return rows;
}

/**
 * Weight metrics (local rank, weight features) of the checkpoint at `epoch`; local rank is
 * evaluated at the dataset inputs of each subset (seeded points, the same at every epoch).
 * Pure dense MLPs take the analytic path (DenseNet); any other model (conv2d, maxpool2d, flatten,
 * dropout layers) the generic one (`computeModel`: batched VJPs for local rank).
 */
async function modelMetricRows(
  opts: {paths: RunPaths; subsets: string[]; seed: number; signal?: AbortSignal; progress?: (line: string) => void; backend?: () => Promise<LoadedBackend>; onReason?: OnReason},
  jobs: MetricJob[],
  epoch: number,
  data: ReturnType<typeof readDataset>,
  plan: ReturnType<typeof readModelPlan>,
  have: (group: string) => boolean,
  lr?: number,
): Promise<MetricRow[]> {
  const pending = jobs.flatMap((job) => {
    const metric = modelMetrics.get(job.name);
    const params = metric.params.parse(job.params) as Record<string, unknown>;
    // a metric of the training loss is evaluated on the training rows, whatever metrics.subsets says
    return (metric.needsLabels ? ['train'] : metric.needsInputs ? opts.subsets : ['all'])
      .filter((subset) => !have(valueGroup({epoch, layerIndex: -1, estimator: job.name, params: formatParams(params), subset, n: 0})))
      .map((subset) => ({job, metric, params, subset}));
  });
  if (pending.length === 0) return [];
  const file = opts.paths.checkpoint(epoch);
  const dense = isDensePlan(plan);
  const network = dense ? {net: denseNetFromCheckpoint(file, plan.layers.map((l) => l.activation))} : {model: readCheckpointModel(file, plan, opts.paths.model)};
  const ctx = {
    tf: async () => (await (opts.backend ?? (() => loadBackend('auto')))()).tf,
    progress: opts.progress,
    signal: opts.signal,
  };
  const X = {data: data.x, rows: data.n, cols: data.x.length / data.n};
  const out: MetricRow[] = [];
  for (const {job, metric, params, subset} of pending) {
    if (metric.needsInputs && data.x.length === 0) throw new StageError('metrics', `${job.name} needs the inputs, and this run has none (an imported run without x.npy); import again with x.npy`);
    if (!dense && !metric.computeModel) throw new StageError('metrics', `${job.name} supports dense networks only; ${opts.paths.model} has ${plan.layers.filter((l) => (l.type ?? 'dense') !== 'dense').map((l) => `${l.name} (${l.type})`).join(', ')}`);
    const sel = subset === 'all' ? undefined : subset === 'train' ? data.trainIdx : data.testIdx;
    const Xs = metric.needsInputs ? selectRows(X, sel) : undefined;
    const extra = metric.needsLabels ? {y: sel ? Int32Array.from(sel, (r) => data.labels[r]) : data.labels, lr} : undefined;
    const values = await computeModelMetric(metric, network, Xs, params, opts.seed, ctx, `${file} (epoch ${epoch})`, extra);
    for (const v of values) {
      if (v.reason) opts.onReason?.(job.name, v.layerIndex > 0 ? plan.layers[v.layerIndex - 1].name : '', v.quantity, v.reason);
      out.push({
        epoch,
        layerIndex: v.layerIndex,
        layer: v.layerIndex > 0 ? plan.layers[v.layerIndex - 1].name : '',
        estimator: job.name,
        quantity: v.quantity,
        params: formatParams(params),
        subset,
        n: v.n,
        value: v.value,
        unit: v.unit,
        atCeiling: false,
      });
    }
  }
  return out;
}

/** Identity of a metric value: everything but the value itself. */
export function rowKey(r: MetricRow): string {
  return [r.epoch, r.layerIndex, r.estimator, r.quantity, r.params, r.subset, r.n].join('|');
}

/**
 * Adds new rows beside existing ones. Rows with the same identity are kept as they were unless
 * `replace` is set; the result is sorted by estimator order of appearance, then epoch and layer.
 */
export function mergeMetricRows(existing: MetricRow[], added: MetricRow[], replace: boolean): {rows: MetricRow[]; added: number; replaced: number; kept: number} {
  const byKey = new Map(existing.map((r) => [rowKey(r), r]));
  let addedCount = 0;
  let replaced = 0;
  let kept = 0;
  for (const r of added) {
    const key = rowKey(r);
    if (!byKey.has(key)) {
      byKey.set(key, r);
      addedCount++;
    } else if (replace) {
      byKey.set(key, r);
      replaced++;
    } else kept++;
  }
  return {rows: [...byKey.values()], added: addedCount, replaced, kept};
}

export function readExistingMetrics(paths: RunPaths): MetricRow[] {
  return existsSync(paths.metricsArrow) ? readMetricRows(paths.metricsArrow) : [];
}

/**
 * `metrics`: computes every configured estimator for every layer at every snapshot epoch (or
 * its sub-schedule) on the configured row subsets; writes one tidy table (Arrow + CSV).
 */
export const metricsStage: Stage = {
  name: 'metrics',
  description: 'estimate information-plane and activation metrics per layer and snapshot',
  async run(ctx) {
    const {config, paths} = ctx;
    const rows = await computeMetrics({
      paths,
      jobs: config.metrics.estimators,
      subsets: config.metrics.subsets,
      seed: config.seed,
      signal: ctx.signal,
      progress: ctx.progress,
      backend: () => ctx.backend(),
      train: config.train,
      note: (line) => ctx.note(line),
    });
    writeMetricRows(paths.metricsArrow, paths.metricsCsv, rows, {config_sha256: ctx.configHash});
    const history = config.metrics.estimators.some((e) => historyMetrics.has(e.name));
    return {outputs: ['metrics/metrics.arrow', 'metrics/metrics.csv', ...(history ? ['dynamics/examples.arrow'] : [])], info: {rows: rows.length}};
  },
};
