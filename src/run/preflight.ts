import {accessSync, constants, readFileSync, statSync} from 'node:fs';
import {totalmem} from 'node:os';
import type {LoadedConfig} from '../config/load.js';
import {datasets} from '../data/registry.js';
import type {DatasetInfo, DatasetShape} from '../data/types.js';
import {anyMetric, modelMetrics} from '../metrics/registry.js';
import {planModel, type ModelPlan} from '../model/plan.js';
import {UserError} from '../util/errors.js';
import {runPaths} from './paths.js';
import type {StageName} from './stage-names.js';

/** What the checks found: the dataset's size and the metrics stage's memory estimate. */
export interface PreflightResult {
  dataset: DatasetShape | null;
  memory: {peakBytes: number; budgetBytes: number; budgetSource: string} | null;
}

/**
 * Checks that need more than the schema, before anything is created (`tdlab validate`, and the
 * start of `tdlab run` and of a resume), each failing with exit 2 and one line naming the config
 * file and field:
 * - every file the dataset options name exists and is readable (and is read: a table in full,
 *   IDX files up to their headers);
 * - the model can be built on the dataset's input shape;
 * - the metrics stage fits in memory: every configured estimator's declared cost at the
 *   dataset's size (or its maxRows), on the widest layer, against the machine's memory.
 * `stages` are the stages that will run; `runDir` gives a resumed run's dataset.json.
 */
export async function preflight(loaded: LoadedConfig, opts: {stages: readonly StageName[]; runDir?: string}): Promise<PreflightResult> {
  const {config, file} = loaded;
  const ds = datasets.get(config.data.name);
  let shape: DatasetShape | null = null;
  if (opts.stages.includes('data')) {
    for (const f of ds.files?.(config.data.options) ?? []) checkPath(file, `data.options.${f.field}`, f.path, f.dir ?? false);
    try {
      shape = await ds.shape(config.data.options, config.seed);
    } catch (err) {
      if (err instanceof UserError) throw new UserError(`${file}: ${/^data\./.test(err.message) ? '' : 'data.options: '}${err.message}`);
      throw err;
    }
  } else if (opts.runDir) {
    try {
      const info = JSON.parse(readFileSync(runPaths(opts.runDir).datasetInfo, 'utf8')) as DatasetInfo;
      shape = {n: info.n, inputShape: info.inputShape, classes: info.classes};
    } catch {
      shape = null;
    }
  }
  if (!shape) return {dataset: null, memory: null};
  const inputSize = shape.inputShape.reduce((a, b) => a * b, 1);
  const budget = memoryBudget();
  const dataBytes = 3 * 4 * shape.n * inputSize; // the rows, the Arrow copy and the tensor of the train stage
  if (dataBytes > budget.bytes) {
    throw new UserError(`${file}: data: ${shape.n} rows of ${inputSize} values need about ${gb(dataBytes)}; this machine has ${gb(budget.bytes)} (${budget.source}); use fewer rows (e.g. data.options.limit)`);
  }
  let plan: ModelPlan;
  try {
    plan = planModel(config.model, shape.inputShape, shape.classes);
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`${file}: model: ${err.message}`);
    throw err;
  }
  // the train stage: parameters, gradients, optimizer slots and update temporaries (float32)
  const modelBytes = 8 * 4 * plan.numParams;
  if (opts.stages.includes('train') && !(dataBytes + modelBytes <= budget.bytes)) {
    throw new UserError(`${file}: model: ${plan.numParams} parameters need about ${gb(modelBytes)} to train; this machine has ${gb(budget.bytes)} (${budget.source}); use fewer or narrower layers`);
  }
  if (!opts.stages.includes('metrics')) return {dataset: shape, memory: null};
  const peak = metricsMemory(loaded, shape, plan, budget);
  return {dataset: shape, memory: {peakBytes: peak, budgetBytes: budget.bytes, budgetSource: budget.source}};
}

function checkPath(file: string, field: string, path: string, dir: boolean): void {
  const where = `${file}: ${field}: ${path}`;
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UserError(`${where}: no such ${dir ? 'directory' : 'file'} (a relative path is relative to the config file's directory)`);
  }
  if (dir && !st.isDirectory()) throw new UserError(`${where}: not a directory`);
  if (!dir && !st.isFile()) throw new UserError(`${where}: not a file${st.isDirectory() ? ' (a directory)' : ''}`);
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new UserError(`${where}: not readable (permission denied)`);
  }
}

/** The memory a run may use: TDLAB_MEMORY_GB, else the cgroup limit or the machine's memory, whichever is smaller. */
export function memoryBudget(): {bytes: number; source: string} {
  const env = Number(process.env.TDLAB_MEMORY_GB);
  if (Number.isFinite(env) && env > 0) return {bytes: env * 2 ** 30, source: 'TDLAB_MEMORY_GB'};
  const total = totalmem();
  const limit = (process as {constrainedMemory?: () => number | undefined}).constrainedMemory?.() ?? 0;
  return limit > 0 && limit < total ? {bytes: limit, source: 'cgroup limit'} : {bytes: total, source: 'physical memory'};
}

const gb = (b: number) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : `${Math.max(1, Math.round(b / 2 ** 20))} MiB`);

/**
 * Peak memory of the metrics stage: one snapshot's activations and the dataset, plus the
 * costliest estimator (they run one at a time) on the widest layer at its row count. Throws when
 * an estimator does not fit, naming it and the maxRows that would fit.
 */
function metricsMemory(loaded: LoadedConfig, shape: DatasetShape, plan: ModelPlan, budget: {bytes: number; source: string}): number {
  const {config, file} = loaded;
  const inputDim = shape.inputShape.reduce((a, b) => a * b, 1);
  const widths = plan.layers.map((l) => l.width);
  const base = 4 * shape.n * (widths.reduce((a, b) => a + b, 0) + 2 * inputDim);
  const nTrain = Math.round(config.data.trainFraction * shape.n);
  const subsetRows = Math.max(...config.metrics.subsets.map((s) => (s === 'all' ? shape.n : s === 'train' ? nTrain : shape.n - nTrain)));
  let peak = base;
  config.metrics.estimators.forEach((job, i) => {
    const metric = anyMetric(job.name);
    const params = metric.params.parse(job.params) as Record<string, unknown>;
    const model = modelMetrics.has(job.name);
    const cost = (n: number) =>
      model
        ? metric.memory({n, d: Math.max(...widths), inputDim}, params as never)
        : Math.max(...plan.layers.map((l) => metric.memory({n, d: l.width}, params as never)));
    const n = Math.min(subsetRows, job.maxRows ?? Infinity);
    const bytes = cost(n);
    if (!(base + bytes <= budget.bytes)) {
      const widest = plan.layers.reduce((a, l) => (l.width > a.width ? l : a), plan.layers[0]);
      let fit = 0;
      for (let m = 1; m <= n; m = Math.ceil(m * 1.25)) if (base + cost(m) <= budget.bytes) fit = m;
      const hint = fit >= 2 ? `set maxRows: ${roundDown(fit)} on it (a seeded subsample of rows)` : 'it cannot run on this machine at any row count';
      throw new UserError(
        `${file}: metrics.estimators.${i} (${job.name}): needs about ${gb(bytes)} at N = ${n} rows (widest layer ${widest.name}, width ${widest.width}); this machine has ${gb(budget.bytes)} (${budget.source}); ${hint}`,
      );
    }
    peak = Math.max(peak, base + bytes);
  });
  return peak;
}

/** 1, 2 or 5 times a power of ten, at most x. */
function roundDown(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  return [5, 2, 1].map((k) => k * p).find((v) => v <= x) ?? p;
}
