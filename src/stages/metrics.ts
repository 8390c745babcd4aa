import {existsSync, readdirSync} from 'node:fs';
import {availableParallelism} from 'node:os';
import {loadBackend, type LoadedBackend} from '../backend/tf.js';
import {readMetricRows, writeMetricRows} from '../io/tables.js';
import {formatParams} from '../metrics/params.js';
import {estimators, historyMetrics, modelMetrics, pairMetrics} from '../metrics/registry.js';
import {readCheckpointModel} from '../model/checkpoint.js';
import {epochOfFile, type RunPaths} from '../run/paths.js';
import type {MetricRow} from '../types.js';
import {StageError} from '../util/errors.js';
import {WorkerPool} from '../util/worker-pool.js';
import type {Stage} from './types.js';
import type {TrainConfig} from '../config/schema.js';
import {learningRate} from '../train/lr.js';
import {historyRows, lastHiddenLayer} from './metrics-kinds.js';
import {
  foldMaxima,
  modelValues,
  snapshotValues,
  SnapshotTables,
  taskIsEmpty,
  workContext,
  type MetricJob,
  type ModelWork,
  type OnReason,
  type SnapshotTask,
  type SnapshotValues,
  type WorkContext,
} from './metrics-work.js';
import type {MetricsRequest, MetricsWorkerData} from './metrics-worker.js';

export type {MetricJob, OnReason} from './metrics-work.js';

/** Snapshot epochs an estimator runs on: every k-th snapshot, always including the first and last. */
export function subSchedule(epochs: number[], every: number): Set<number> {
  return new Set(epochs.filter((_, i) => i % every === 0 || i === epochs.length - 1));
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
 * Work below which the metrics stage stays on one thread when the thread count is automatic,
 * counted in activation values read (rows x units, summed over the work of every snapshot; a
 * similarity or a weight metric counted as a read of every layer). Starting a worker (loading the
 * metric modules, reading the dataset) costs 0.2-0.5 s on a loaded 2-core machine; binning
 * estimators read ~20-50 M values per second, so smaller runs gain nothing from a second thread.
 */
export const PARALLEL_MIN_VALUES = 1 << 25;

/**
 * Threads of the metrics stage: `configured` (metrics.threads, --threads) when set, else one per
 * core the run may use (`cores`), or one when the work is under PARALLEL_MIN_VALUES; never more
 * than the snapshots with work.
 */
export function metricsThreads(configured: number | undefined, cores: number, tasks: SnapshotTask[], ctx: Pick<WorkContext, 'plan' | 'data' | 'rows' | 'subsets'>): number {
  const withWork = tasks.filter((t) => !taskIsEmpty(t)).length;
  if (configured !== undefined) return Math.max(1, Math.min(configured, withWork));
  const rowsOf = (job: number, subset: string) => ctx.rows(job, subset)?.length ?? ctx.data.n;
  const units = ctx.plan.layers.reduce((a, l) => a + l.width, 0);
  const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);
  const values = sum(tasks, (t) =>
    sum(t.layers, (w) => rowsOf(w.job, w.subset) * ctx.plan.layers[w.layer].width) +
    sum(t.model, (m) => rowsOf(m.job, m.subset) * units) +
    sum(t.pairs, (p) => sum(ctx.subsets, (s) => rowsOf(p.job, s) * units)),
  );
  return values < PARALLEL_MIN_VALUES ? 1 : Math.max(1, Math.min(cores, withWork));
}

/**
 * Computes metric jobs for every layer at their snapshot epochs on the given row subsets.
 * `have(valueGroup)` names values that exist already: they are not computed at all (and a
 * snapshot none of whose values is missing is not even read, unless mi.adaptmax needs its maximum).
 * With more than one thread, snapshots are computed by worker threads (src/stages/metrics-worker.ts)
 * and their values concatenated in snapshot order: the rows, the notes and a refusal (the first
 * in snapshot order) are the same as with one.
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
  /** Worker threads (metrics.threads); absent = automatic (metricsThreads). */
  threads?: number;
  /** Cores the run may use (default: all available; a sweep running points side by side gives each its share). */
  cores?: number;
}): Promise<{rows: MetricRow[]; threads: number}> {
  const {paths, jobs} = opts;
  const have = opts.have ?? (() => false);
  const ctx = workContext({root: paths.root, jobs, subsets: opts.subsets, seed: opts.seed});
  const {data, plan} = ctx;
  const epochs = snapshotEpochsOnDisk(paths);
  const schedules = jobs.map((j) => subSchedule(epochs, j.every));
  const actJobs = jobs.map((j, i) => ({job: j, i, params: formatParams(estimators.has(j.name) ? (estimators.get(j.name).params.parse(j.params) as Record<string, unknown>) : j.params)})).filter(({job}) => estimators.has(job.name));
  // neural collapse and its kind run on the layer the output layer reads only
  const lastHidden = lastHiddenLayer(plan);
  const onLayer = (name: string, layer: (typeof plan.layers)[number]) => estimators.get(name).layers !== 'last-hidden' || layer === lastHidden;
  const layerWork = (epoch: number): SnapshotTask['layers'] =>
    actJobs.filter(({i}) => schedules[i].has(epoch)).flatMap(({job, i, params}) =>
      [...plan.layers.entries()].filter(([, layer]) => onLayer(job.name, layer)).flatMap(([li, layer]) =>
        opts.subsets
          .map((subset) => ({job: i, layer: li, subset}))
          .filter(({subset}) => !have(valueGroup({epoch, layerIndex: layer.index, estimator: job.name, params, subset, n: ctx.rows(i, subset)?.length ?? data.n}))),
      ),
    );
  // weight metrics not computed yet; a metric of the training loss is evaluated on the training rows, whatever metrics.subsets says
  const modelWork = (epoch: number): ModelWork[] =>
    jobs.flatMap((job, i) => {
      if (!schedules[i].has(epoch) || !modelMetrics.has(job.name)) return [];
      const metric = modelMetrics.get(job.name);
      const params = formatParams(metric.params.parse(job.params) as Record<string, unknown>);
      return (metric.needsLabels ? ['train'] : metric.needsInputs ? opts.subsets : ['all'])
        .filter((subset) => !have(valueGroup({epoch, layerIndex: -1, estimator: job.name, params, subset, n: 0})))
        .map((subset) => ({job: i, subset}));
    });
  // similarities compare each snapshot with the previous one of their schedule
  const pairPrev = new Map(jobs.flatMap((j, i) => (pairMetrics.has(j.name) ? [[i, undefined as number | undefined]] : [])));
  const tasks: SnapshotTask[] = epochs.map((epoch) => ({
    epoch,
    model: modelWork(epoch),
    ...(opts.train ? {lr: learningRate(opts.train, Math.min(epoch, opts.train.epochs - 1))} : {}),
    layers: layerWork(epoch),
    pairs: [...pairPrev.keys()]
      .filter((i) => schedules[i].has(epoch))
      .map((i) => {
        const prev = pairPrev.get(i);
        pairPrev.set(i, epoch);
        return {job: i, prev};
      }),
  }));
  // weight metrics of models other than dense MLPs need the tensor backend: they stay on this thread
  const here = tasks.map((t) => (ctx.dense ? [] : t.model.splice(0)));
  // mi.adaptmax bins up to the running maximum of every snapshot so far: every snapshot up to its last is read
  const lastMax = tasks.reduce((last, t, k) => (t.layers.some(({job}) => jobs[job].name === 'mi.adaptmax') ? k : last), -1);
  const threads = metricsThreads(opts.threads, opts.cores ?? availableParallelism(), tasks, ctx);
  const rows: MetricRow[] = [];
  // NaN values with a reason: one note per metric, place and reason, listing the quantities (at the end)
  const reasons = new Map<string, Set<string>>();
  const onReason: OnReason = (metric, where, quantity, reason) => {
    const key = `${metric}${where ? ` (${where})` : ''}: NaN \u0000(${reason})`;
    if (!reasons.has(key)) reasons.set(key, new Set());
    reasons.get(key)!.add(quantity);
  };
  const finalEpoch = epochs[epochs.length - 1];
  const values = threads > 1 ? inWorkers(ctx, tasks, lastMax, threads, finalEpoch, opts.signal) : inThisThread(ctx, tasks, lastMax, finalEpoch);
  try {
    for (const [k, epoch] of epochs.entries()) {
      if (opts.signal?.aborted) throw new StageError('metrics', 'interrupted');
      if (here[k].length > 0) rows.push(...(await modelRowsHere(ctx, opts, epoch, here[k], tasks[k].lr, onReason)));
      if (taskIsEmpty(tasks[k]) && k > lastMax) continue;
      const v = await values.at(k);
      for (const r of v.reasons) onReason(...r);
      for (const r of v.rows) rows.push(r);
      opts.progress?.(`snapshot ${k + 1}/${epochs.length} (epoch ${epoch})`);
      await new Promise((r) => setImmediate(r)); // let progress and signals through
    }
  } finally {
    await values.close();
  }
  for (const job of jobs.filter((j) => historyMetrics.has(j.name))) rows.push(...historyRows(paths, job, finalEpoch, {}));
  for (const [key, qs] of reasons) opts.note?.(key.replace('\u0000', `for ${[...qs].join(', ')} `));
  return {rows, threads};
}

/** The values of each snapshot, asked for in snapshot order. */
interface SnapshotSource {
  at(k: number): Promise<SnapshotValues>;
  close(): Promise<void>;
}

/** One thread: each snapshot computed when it is asked for, the running maximum carried along. */
function inThisThread(ctx: WorkContext, tasks: SnapshotTask[], lastMax: number, finalEpoch: number): SnapshotSource {
  const tables = new SnapshotTables(ctx.paths, finalEpoch);
  let maxBefore: number[] = ctx.plan.layers.map(() => -Infinity);
  return {
    async at(k) {
      const v = await snapshotValues(ctx, k <= lastMax ? {...tasks[k], maxBefore} : tasks[k], tables);
      if (v.runningMax) maxBefore = v.runningMax;
      return v;
    },
    close: async () => {},
  };
}

/**
 * Worker threads: every snapshot with work is queued at once and computed by the first free
 * worker. mi.adaptmax's running maxima come from a first pass (each snapshot's layer maxima, in
 * the workers) over the snapshots before its last; a snapshot whose first-pass read fails is
 * queued anyway, so that its own read gives the error at its place in snapshot order.
 */
function inWorkers(ctx: WorkContext, tasks: SnapshotTask[], lastMax: number, threads: number, finalEpoch: number, signal?: AbortSignal): SnapshotSource {
  const data: MetricsWorkerData = {inputs: {root: ctx.root, jobs: ctx.jobs, subsets: ctx.subsets, seed: ctx.seed}, finalEpoch};
  const pool = new WorkerPool<MetricsRequest, SnapshotValues | number[]>(new URL('./metrics-worker.js', import.meta.url), threads, data, {
    signal,
    abortError: () => new StageError('metrics', 'interrupted'),
  });
  const quiet = <T>(p: Promise<T>) => (p.catch(() => {}), p); // awaited later, in snapshot order
  const answers: Array<Promise<SnapshotValues> | undefined> = [];
  const firstPass = tasks.slice(0, Math.max(0, lastMax)).map((t) => quiet(pool.run({maxima: t.epoch}) as Promise<number[]>));
  const queue = async () => {
    let maxBefore = ctx.plan.layers.map(() => -Infinity);
    let failed: {error: unknown} | undefined;
    for (const [k, task] of tasks.entries()) {
      const needsMax = k <= lastMax;
      if (needsMax && failed) {
        answers[k] = quiet(Promise.reject(failed.error));
        continue;
      }
      let maxima: number[] | undefined;
      if (needsMax && k < lastMax) {
        try {
          maxima = await firstPass[k];
        } catch (error) {
          failed = {error};
        }
      }
      if (!taskIsEmpty(task) || failed) answers[k] = quiet(pool.run({task: needsMax ? {...task, maxBefore} : task}) as Promise<SnapshotValues>);
      if (maxima) maxBefore = foldMaxima(maxBefore, maxima);
    }
  };
  const queued = quiet(queue());
  const none: SnapshotValues = {rows: [], reasons: []};
  return {
    at: async (k) => {
      await queued;
      return answers[k] ?? none;
    },
    close: () => pool.close(),
  };
}

/** Weight metrics of a model other than a dense MLP, on this thread (it holds the tensor backend). */
async function modelRowsHere(
  ctx: WorkContext,
  opts: {signal?: AbortSignal; progress?: (line: string) => void; backend?: () => Promise<LoadedBackend>},
  epoch: number,
  pending: ModelWork[],
  lr: number | undefined,
  onReason: OnReason,
): Promise<MetricRow[]> {
  const network = {model: readCheckpointModel(ctx.paths.checkpoint(epoch), ctx.plan, ctx.paths.model)};
  const tf = {tf: async () => (await (opts.backend ?? (() => loadBackend('auto')))()).tf, progress: opts.progress, signal: opts.signal};
  return modelValues(ctx, epoch, pending, network, tf, lr, onReason);
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
    const {rows, threads} = await computeMetrics({
      paths,
      jobs: config.metrics.estimators,
      subsets: config.metrics.subsets,
      seed: config.seed,
      signal: ctx.signal,
      progress: ctx.progress,
      backend: () => ctx.backend(),
      train: config.train,
      note: (line) => ctx.note(line),
      threads: config.metrics.threads,
      cores: ctx.cores,
    });
    writeMetricRows(paths.metricsArrow, paths.metricsCsv, rows, {config_sha256: ctx.configHash});
    const history = config.metrics.estimators.some((e) => historyMetrics.has(e.name));
    return {outputs: ['metrics/metrics.arrow', 'metrics/metrics.csv', ...(history ? ['dynamics/examples.arrow'] : [])], info: {rows: rows.length, threads}};
  },
};
