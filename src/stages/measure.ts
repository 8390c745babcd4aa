import {checkParamKeys, paramSetsFor, parseParamFlags} from '../config/params.js';
import {readLabels, readMatrix, readMatrixExact} from '../io/matrix.js';
import {estimators, historyMetrics, modelMetrics, pairMetrics} from '../metrics/registry.js';
import type {Matrix} from '../types.js';
import {existsSync} from 'node:fs';
import {dirname, extname} from 'node:path';
import {loadBackend} from '../backend/tf.js';
import {denseNetFromCheckpoint, readCheckpointModel, readModelPlan} from '../model/checkpoint.js';
import type {DenseNet} from '../model/dense-net.js';
import {denseNetFromNpz} from '../model/npz.js';
import {isDensePlan, type ModelPlan} from '../model/plan.js';
import {runPaths} from '../run/paths.js';
import {formatParams} from '../metrics/params.js';
import {computeEstimator, selectRows} from '../metrics/evaluate.js';
import {rowIds} from '../metrics/discrete.js';
import {computeModelMetric} from '../metrics/model/index.js';
import type {EstimatorInput} from '../metrics/types.js';
import {ceilingWarning, diagnosticWarnings, type ValidityWarning} from '../metrics/validity.js';
import {UserError} from '../util/errors.js';
import {seededRows} from '../metrics/subsample.js';

export interface MeasureOptions {
  /** Activations T (activation metrics). */
  activations?: string;
  /** Weights: `.npz` (W0, b0, W1, b1, ... input-by-output) or a run's checkpoint `.arrow` (weight metrics). */
  weights?: string;
  labels?: string;
  x?: string;
  metric: string;
  params?: string[];
  column?: string;
  labelColumn?: string;
  xColumn?: string;
  activation?: string;
  maxRows?: number;
  seed?: number;
  /** Second representation (same rows) for similarity metrics (`sim.cka`). */
  other?: string;
  otherColumn?: string;
}

/** The `tdlab measure --json` contract: one object per parameter set. */
export interface MeasureResult {
  metric: string;
  params: Record<string, unknown>;
  unit: string;
  n: number;
  /** I_XT, I_TY (MI estimators), H (entropy estimators), value (single-number metrics), or the metric's own names. */
  values: Record<string, number>;
  /**
   * Validity warnings measured on this input (`range`: values outside fixed bins; `scale`: KDE
   * noise far from the activation scale; `ceiling`: I(X;T) at log2 N); empty when none apply.
   */
  warnings: ValidityWarning[];
  /** Why a value is NaN, by its key in `values` (only when some is). */
  notes?: Record<string, string>;
}

/** `notes` of a result: reasons of NaN values, keyed like `values`. */
function notesOf(vals: Array<{key: string; reason?: string}>): {notes?: Record<string, string>} {
  const withReason = vals.filter((v) => v.reason);
  return withReason.length ? {notes: Object.fromEntries(withReason.map((v) => [v.key, v.reason!]))} : {};
}

/**
 * Computes a registered metric on activations tdlab did not produce (`.npy`, `.arrow`, `.csv`),
 * through the same registry and code path as the metrics stage.
 */
export async function measureFiles(opts: MeasureOptions): Promise<MeasureResult[]> {
  if (modelMetrics.has(opts.metric)) return measureWeights(opts);
  if (pairMetrics.has(opts.metric)) return measurePair(opts);
  if (historyMetrics.has(opts.metric)) throw new UserError(`--metric ${opts.metric}: a metric of the training history of a run (per-epoch predictions); add it to metrics.estimators of a config and run it`);
  if (opts.other) throw new UserError(`--other: only similarity metrics (${pairMetrics.names().join(', ')}) compare two representations; --metric ${opts.metric} takes one`);
  const est = estimators.get(opts.metric, '--metric');
  if (!opts.activations) throw new UserError(`--metric ${opts.metric}: give --activations FILE (rows = samples)`);
  const lastHidden = est.layers === 'last-hidden';
  if (lastHidden && !opts.labels) throw new UserError(`--metric ${opts.metric}: give --labels FILE (one class id per row of ${opts.activations})`);
  if (opts.weights && !lastHidden) throw new UserError(`--weights: --metric ${opts.metric} reads activations only (weights go with weight metrics: ${modelMetrics.names().join(', ')}, or with nc.collapse as the classifier)`);
  const grid = parseParamFlags(opts.params ?? []);
  checkParamKeys([est], grid);
  const exclude = [opts.labelColumn ?? 'label', 'y'];
  let T64 = await readMatrixExact(opts.activations, {column: opts.column, exclude});
  let y = opts.labels ? await readLabels(opts.labels, opts.labelColumn) : new Int32Array(T64.rows);
  let x = opts.x ? await readMatrix(opts.x, {column: opts.xColumn, exclude}) : undefined;
  if (y.length !== T64.rows) throw new UserError(`${opts.labels}: ${y.length} labels for ${T64.rows} activation rows (${opts.activations}); they must match row by row`);
  if (x && x.rows !== T64.rows) throw new UserError(`${opts.x}: ${x.rows} input rows for ${T64.rows} activation rows; they must match row by row`);
  if (opts.maxRows !== undefined && T64.rows > opts.maxRows) {
    const rows = seededRows(T64.rows, opts.maxRows, opts.seed ?? 0, `subsample/${est.name}/all`)!;
    T64 = selectRowsAny(T64, rows);
    y = Int32Array.from(rows, (r) => y[r]);
    if (x) x = selectRows(x, rows);
  }
  const T = T64.data instanceof Float32Array ? (T64 as Matrix<Float32Array>) : {data: Float32Array.from(T64.data), rows: T64.rows, cols: T64.cols};
  const classifier = lastHidden && opts.weights ? await readClassifier(opts.weights, T.cols) : undefined;
  // X's distinct rows are the input identities of the discrete estimators: I(X;T) = H(T) - H(T|X)
  const xIds = x ? rowIds(x.data, x.rows) : undefined;
  const input: EstimatorInput = {T, y, x, xIds, activation: opts.activation, seed: opts.seed ?? 0, classifier, ...(T64.data instanceof Float64Array ? {T64: T64 as Matrix<Float64Array>} : {})};
  const source = opts.activations + (opts.column ? ` (column ${opts.column})` : '');
  const layer = opts.column ?? null;
  return paramSetsFor(est, grid).map((params) => {
    const all = computeEstimator(est, input, params, source);
    const vals = all.filter((v) => opts.labels || v.quantity !== 'I_TY');
    const single = vals.length === 1 && !['I_XT', 'I_TY', 'H'].includes(vals[0].quantity);
    const keyed = vals.map((v) => ({...v, key: single ? 'value' : v.quantity}));
    const values: Record<string, number> = Object.fromEntries(keyed.map((v) => [v.key, v.value]));
    const paramsText = formatParams(params);
    const warnings = diagnosticWarnings(est.name, paramsText, layer, est.diagnose?.(input, params) ?? []);
    const ixt = all.find((v) => v.quantity === 'I_XT');
    if (ixt?.ceiling !== undefined && ixt.ceiling > 0 && ixt.value >= 0.99 * ixt.ceiling) warnings.push(ceilingWarning(est.name, paramsText, layer, `(${ixt.value.toFixed(3)} of ${ixt.ceiling.toFixed(3)} ${ixt.unit})`));
    return {metric: est.name, params, paramsText, unit: vals[0]?.unit ?? 'dimensionless', n: T.rows, values, warnings, ...notesOf(keyed)} as MeasureResult;
  });
}

/** Rows of a float32 or float64 matrix. */
function selectRowsAny(T: Matrix, rows: Int32Array): Matrix {
  const out = T.data instanceof Float64Array ? new Float64Array(rows.length * T.cols) : new Float32Array(rows.length * T.cols);
  for (let i = 0; i < rows.length; i++) out.set(T.data.subarray(rows[i] * T.cols, (rows[i] + 1) * T.cols), i * T.cols);
  return {data: out, rows: rows.length, cols: T.cols};
}

/** The classifier of `--weights` for nc.collapse: an `.npz` whose W0 (d x K) and b0 map the features to the logits. */
async function readClassifier(file: string, d: number): Promise<{W: Matrix; b: Float32Array | Float64Array}> {
  const net = await denseNetFromNpz(file, 'linear');
  const l = net.layers[net.layers.length - 1];
  if (net.layers.length !== 1) throw new UserError(`${file}: expected one layer W0 (d x K), b0 (the classifier that reads the features); found ${net.layers.length}`);
  if (l.rows !== d) throw new UserError(`${file}: W0 is ${l.rows} x ${l.cols} but the features have ${d} columns (W0 must be d x K, input-by-output)`);
  return {W: {data: l.W, rows: l.rows, cols: l.cols}, b: l.b};
}

/**
 * A similarity metric of two representations of the same rows: `--activations A --other B`.
 * Float64 files stay float64. `--max-rows` caps both with the same seeded rows.
 */
async function measurePair(opts: MeasureOptions): Promise<MeasureResult[]> {
  const metric = pairMetrics.get(opts.metric);
  if (!opts.activations || !opts.other) throw new UserError(`--metric ${opts.metric}: give --activations A and --other B (two representations of the same rows)`);
  const grid = parseParamFlags(opts.params ?? []);
  checkParamKeys([metric], grid);
  const exclude = [opts.labelColumn ?? 'label', 'y'];
  const A = await readMatrixExact(opts.activations, {column: opts.column, exclude});
  const B = await readMatrixExact(opts.other, {column: opts.otherColumn ?? opts.column, exclude});
  if (A.rows !== B.rows) throw new UserError(`${opts.other}: ${B.rows} rows but ${opts.activations} has ${A.rows}; the rows must be the same inputs in the same order`);
  return paramSetsFor(metric, grid).map((params) => {
    const v = metric.compare(A, B, params, {seed: opts.seed ?? 0, maxRows: opts.maxRows});
    const n = opts.maxRows !== undefined ? Math.min(A.rows, opts.maxRows) : A.rows;
    return {metric: metric.name, params, paramsText: formatParams(params), unit: v.unit, n, values: {value: v.value}, warnings: [], ...notesOf([{key: 'value', reason: v.reason}])} as MeasureResult;
  });
}

/** model.json of the run a checkpoint (`<run>/checkpoints/epoch_N.arrow`) belongs to, if there is one. */
function runPlanOf(checkpoint: string): {plan: ModelPlan; source: string} | undefined {
  const paths = runPaths(dirname(dirname(checkpoint)));
  if (extname(checkpoint).toLowerCase() !== '.arrow' || !existsSync(paths.model)) return undefined;
  return {plan: readModelPlan(paths.model), source: paths.model};
}

/**
 * Weight metrics (local rank, weight features) on a network given as `.npz` or a tdlab
 * checkpoint; local rank is evaluated at the inputs `--x`. Values are keyed `<layer>.<quantity>`
 * (layer 1 = first weight matrix; for a run's checkpoint, the plan's layer index), network-level
 * ones by their quantity. A checkpoint inside a run directory is read with the run's model.json:
 * its activations are used (no `--activation` needed) and models with conv2d, maxpool2d, flatten
 * or dropout layers take the generic Jacobian path, as in the metrics stage.
 */
async function measureWeights(opts: MeasureOptions): Promise<MeasureResult[]> {
  const metric = modelMetrics.get(opts.metric);
  if (!opts.weights) throw new UserError(`--metric ${opts.metric}: give --weights FILE (.npz with W0, b0, W1, b1, ... or a run's checkpoints/epoch_*.arrow)`);
  if (!existsSync(opts.weights)) throw new UserError(`${opts.weights}: no such file (give an .npz or a run's checkpoints/epoch_*.arrow)`);
  const grid = parseParamFlags(opts.params ?? []);
  checkParamKeys([metric], grid);
  const run = runPlanOf(opts.weights);
  const generic = run !== undefined && !isDensePlan(run.plan);
  let net: DenseNet | undefined;
  let inputs: number;
  if (generic) {
    inputs = run.plan.inputShape.reduce((a, b) => a * b, 1);
  } else {
    const activation = opts.activation ?? (metric.needsInputs || run ? undefined : 'linear');
    if (!activation && !run) throw new UserError(`--metric ${opts.metric}: give --activation (the hidden layers' activation, e.g. relu) for the weights in ${opts.weights}`);
    net =
      extname(opts.weights).toLowerCase() === '.npz'
        ? await denseNetFromNpz(opts.weights, activation!.includes(',') ? activation!.split(',').map((a) => a.trim()) : activation!)
        : denseNetFromCheckpoint(opts.weights, run && !opts.activation ? run.plan.layers.map((l) => l.activation) : [activation!]);
    inputs = net.layers[0].rows;
  }
  let X: Matrix | undefined;
  if (metric.needsInputs) {
    if (!opts.x) throw new UserError(`--metric ${opts.metric}: give --x FILE with the input points (one row per point, ${inputs} columns)`);
    X = metric.needsLabels ? await readMatrixExact(opts.x, {column: opts.xColumn}) : await readMatrix(opts.x, {column: opts.xColumn});
    if (X.cols !== inputs) throw new UserError(`${opts.x}: ${X.cols} columns, but the network expects ${inputs} inputs`);
  }
  let y: Int32Array | undefined;
  if (metric.needsLabels) {
    if (!opts.labels) throw new UserError(`--metric ${opts.metric}: give --labels FILE (one class id per row of ${opts.x})`);
    y = await readLabels(opts.labels, opts.labelColumn);
    if (y.length !== X!.rows) throw new UserError(`${opts.labels}: ${y.length} labels for ${X!.rows} input rows (${opts.x}); they must match row by row`);
  }
  const model = generic ? readCheckpointModel(opts.weights, run.plan, run.source) : undefined;
  const ctx = {tf: async () => (await loadBackend('auto')).tf};
  const out: MeasureResult[] = [];
  for (const params of paramSetsFor(metric, grid)) {
    const vals = await computeModelMetric(metric, net ? {net} : {model: model!}, X, params, opts.seed ?? 0, ctx, opts.weights, y ? {y} : undefined);
    const keyed = vals.map((v) => ({...v, key: v.layerIndex > 0 ? `${v.layerIndex}.${v.quantity}` : v.quantity}));
    const values = Object.fromEntries(keyed.map((v) => [v.key, v.value]));
    const n = vals.find((v) => v.n > 0)?.n ?? 0;
    out.push({metric: metric.name, params, paramsText: formatParams(params), unit: vals[0]?.unit ?? 'dimensionless', n, values, warnings: [], ...notesOf(keyed)} as MeasureResult);
  }
  return out;
}
