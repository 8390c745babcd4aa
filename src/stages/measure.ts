import {checkParamKeys, paramSetsFor, parseParamFlags} from '../config/params.js';
import {readLabels, readMatrix} from '../io/matrix.js';
import {estimators, modelMetrics} from '../metrics/registry.js';
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
import {Rng} from '../util/prng.js';

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
}

/**
 * Computes a registered metric on activations tdlab did not produce (`.npy`, `.arrow`, `.csv`),
 * through the same registry and code path as the metrics stage.
 */
export async function measureFiles(opts: MeasureOptions): Promise<MeasureResult[]> {
  if (modelMetrics.has(opts.metric)) return measureWeights(opts);
  const est = estimators.get(opts.metric, '--metric');
  if (!opts.activations) throw new UserError(`--metric ${opts.metric}: give --activations FILE (rows = samples)`);
  const grid = parseParamFlags(opts.params ?? []);
  checkParamKeys([est], grid);
  const exclude = [opts.labelColumn ?? 'label', 'y'];
  let T = await readMatrix(opts.activations, {column: opts.column, exclude});
  let y = opts.labels ? await readLabels(opts.labels, opts.labelColumn) : new Int32Array(T.rows);
  let x = opts.x ? await readMatrix(opts.x, {column: opts.xColumn, exclude}) : undefined;
  if (y.length !== T.rows) throw new UserError(`${opts.labels}: ${y.length} labels for ${T.rows} activation rows (${opts.activations}); they must match row by row`);
  if (x && x.rows !== T.rows) throw new UserError(`${opts.x}: ${x.rows} input rows for ${T.rows} activation rows; they must match row by row`);
  if (opts.maxRows !== undefined && T.rows > opts.maxRows) {
    const rows = new Rng(opts.seed ?? 0, `subsample/${est.name}/all`).permutation(T.rows).subarray(0, opts.maxRows).sort();
    T = selectRows(T, rows);
    y = Int32Array.from(rows, (r) => y[r]);
    if (x) x = selectRows(x, rows);
  }
  // X's distinct rows are the input identities of the discrete estimators: I(X;T) = H(T) - H(T|X)
  const xIds = x ? rowIds(x.data, x.rows) : undefined;
  const input: EstimatorInput = {T, y, x, xIds, activation: opts.activation, seed: opts.seed ?? 0};
  const source = opts.activations + (opts.column ? ` (column ${opts.column})` : '');
  const layer = opts.column ?? null;
  return paramSetsFor(est, grid).map((params) => {
    const all = computeEstimator(est, input, params, source);
    const vals = all.filter((v) => opts.labels || v.quantity !== 'I_TY');
    const values: Record<string, number> = vals.length === 1 && !['I_XT', 'I_TY', 'H'].includes(vals[0].quantity) ? {value: vals[0].value} : Object.fromEntries(vals.map((v) => [v.quantity, v.value]));
    const paramsText = formatParams(params);
    const warnings = diagnosticWarnings(est.name, paramsText, layer, est.diagnose?.(input, params) ?? []);
    const ixt = all.find((v) => v.quantity === 'I_XT');
    if (ixt?.ceiling !== undefined && ixt.ceiling > 0 && ixt.value >= 0.99 * ixt.ceiling) warnings.push(ceilingWarning(est.name, paramsText, layer, `(${ixt.value.toFixed(3)} of ${ixt.ceiling.toFixed(3)} ${ixt.unit})`));
    return {metric: est.name, params, paramsText, unit: vals[0]?.unit ?? 'dimensionless', n: T.rows, values, warnings} as MeasureResult;
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
        ? await denseNetFromNpz(opts.weights, activation!)
        : denseNetFromCheckpoint(opts.weights, run && !opts.activation ? run.plan.layers.map((l) => l.activation) : [activation!]);
    inputs = net.layers[0].rows;
  }
  let X: Awaited<ReturnType<typeof readMatrix>> | undefined;
  if (metric.needsInputs) {
    if (!opts.x) throw new UserError(`--metric ${opts.metric}: give --x FILE with the input points (one row per point, ${inputs} columns)`);
    X = await readMatrix(opts.x, {column: opts.xColumn});
    if (X.cols !== inputs) throw new UserError(`${opts.x}: ${X.cols} columns, but the network expects ${inputs} inputs`);
  }
  const model = generic ? readCheckpointModel(opts.weights, run.plan, run.source) : undefined;
  if (model && !metric.computeModel) throw new UserError(`--metric ${opts.metric} supports dense networks only; ${run!.source} has other layer types`);
  const ctx = {tf: async () => (await loadBackend('auto')).tf};
  const out: MeasureResult[] = [];
  for (const params of paramSetsFor(metric, grid)) {
    const vals = await computeModelMetric(metric, net ? {net} : {model: model!}, X, params, opts.seed ?? 0, ctx, opts.weights);
    const values = Object.fromEntries(vals.map((v) => [v.layerIndex > 0 ? `${v.layerIndex}.${v.quantity}` : v.quantity, v.value]));
    const n = vals.find((v) => v.n > 0)?.n ?? 0;
    out.push({metric: metric.name, params, paramsText: formatParams(params), unit: vals[0]?.unit ?? 'dimensionless', n, values, warnings: []} as MeasureResult);
  }
  return out;
}
