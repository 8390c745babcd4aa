import {existsSync, mkdirSync} from 'node:fs';
import type {Table} from 'apache-arrow';
import {tensorColumn, writeArrowFile} from '../io/arrow.js';
import {selectRows} from '../metrics/evaluate.js';
import {formatParams} from '../metrics/params.js';
import {historyMetrics, pairMetrics} from '../metrics/registry.js';
import type {EstimatorValue} from '../metrics/types.js';
import {readCheckpointModel, weightMatrices} from '../model/checkpoint.js';
import type {ModelPlan} from '../model/plan.js';
import {readPredictions} from '../run/predictions.js';
import type {RunPaths} from '../run/paths.js';
import type {LayerInfo, Matrix, MetricRow} from '../types.js';
import {StageError} from '../util/errors.js';

/*
 * The metrics stage's handling of the metric kinds that are not "one layer at one snapshot":
 * similarities across snapshots and layers (spec 13.1), the classifier that neural collapse reads
 * (13.4) and training-history metrics (13.5). Pure helpers except where a file is named.
 */

/** A metric value as a tidy row (no ceiling flag: these metrics have none). */
export function tidyRow(epoch: number, layer: Pick<LayerInfo, 'index' | 'name'> | null, estimator: string, params: Record<string, unknown>, subset: string, n: number, v: EstimatorValue): MetricRow {
  return {epoch, layerIndex: layer ? layer.index : -1, layer: layer ? layer.name : '', estimator, quantity: v.quantity, params: formatParams(params), subset, n, value: v.value, unit: v.unit, atCeiling: false};
}

/** The classifier (output layer W: d x K, b) of the checkpoint at `checkpoint`, for any tdlab plan. */
export function outputClassifier(checkpoint: string, plan: ModelPlan, planSource: string): {W: Matrix; b: Float32Array | Float64Array} {
  const {net} = weightMatrices(readCheckpointModel(checkpoint, plan, planSource));
  const out = net.layers[net.layers.length - 1];
  return {W: {data: out.W, rows: out.rows, cols: out.cols}, b: out.b};
}

/** The layer the output layer reads (the last hidden layer), or undefined for a network without hidden layers. */
export function lastHiddenLayer(plan: ModelPlan): ModelPlan['layers'][number] | undefined {
  return plan.layers.length >= 2 ? plan.layers[plan.layers.length - 2] : undefined;
}

/**
 * Similarity rows of one job at one snapshot `epoch` (its activations `table`), per layer and
 * subset (`rows` per subset, already capped): `to_final` against the last snapshot (`final`),
 * `to_prev` against the previous snapshot of the job's schedule (`prev`, absent at its first),
 * and at the last snapshot `vs_<layer>` against every layer. O(L) comparisons per snapshot, L^2
 * more at the end.
 */
export function pairRows(
  job: {name: string; params: Record<string, unknown>},
  epoch: number,
  table: Table,
  final: {epoch: number; table: Table},
  prev: {epoch: number; table: Table} | undefined,
  layers: readonly LayerInfo[],
  subsets: Array<{name: string; rows?: Int32Array}>,
  seed: number,
  onReason?: (metric: string, where: string, quantity: string, reason: string) => void,
): MetricRow[] {
  const metric = pairMetrics.get(job.name);
  const params = metric.params.parse(job.params) as Record<string, unknown>;
  const out: MetricRow[] = [];
  const isLast = epoch === final.epoch;
  for (const subset of subsets) {
    const at = (t: Table, name: string) => selectRows(tensorColumn(t, name), subset.rows);
    const current = new Map(layers.map((l) => [l.name, at(table, l.name)]));
    const emit = (layer: LayerInfo, quantity: string, X: Matrix, Y: Matrix) => {
      const v = metric.compare(X, Y, params, {seed});
      if (v.reason) onReason?.(job.name, `${layer.name}, ${subset.name}`, quantity, v.reason);
      out.push(tidyRow(epoch, layer, job.name, params, subset.name, X.rows, {...v, quantity}));
    };
    for (const layer of layers) {
      const T = current.get(layer.name)!;
      emit(layer, 'to_final', T, isLast ? T : at(final.table, layer.name));
      if (prev) emit(layer, 'to_prev', T, at(prev.table, layer.name));
      if (isLast) for (const other of layers) emit(layer, `vs_${other.name}`, T, current.get(other.name)!);
    }
  }
  return out;
}

/**
 * Training-history metrics (spec 13.5) from dynamics/predictions.arrow: writes the per-row table
 * (dynamics/examples.arrow for `dynamics.examples`) and returns the run-level values (over all
 * recorded epochs) as rows at the last snapshot epoch `atEpoch` (layer -1, subset `train`), so they
 * sit on the run's snapshot time axis.
 */
export function historyRows(paths: RunPaths, job: {name: string; params: Record<string, unknown>}, atEpoch: number, meta: Record<string, string>): MetricRow[] {
  const metric = historyMetrics.get(job.name);
  const params = metric.params.parse(job.params) as Record<string, unknown>;
  if (!existsSync(paths.predictions)) {
    throw new StageError('metrics', `${job.name}: ${paths.predictions} is missing; the train stage records it only when ${job.name} is in metrics.estimators while training, so re-run the run with it configured`);
  }
  const {sample, label, epochs} = readPredictions(paths.predictions);
  const {columns, values} = metric.compute(epochs, params);
  mkdirSync(paths.dynamicsDir, {recursive: true});
  writeArrowFile(
    paths.examples,
    [
      {name: 'sample', column: {kind: 'int32', values: sample}},
      {name: 'label', column: {kind: 'int32', values: label}},
      ...Object.entries(columns).map(([name, v]) => ({name, column: v instanceof Int32Array ? {kind: 'int32' as const, values: v} : {kind: 'float64' as const, values: v}})),
    ],
    sample.length,
    {...meta, metric: job.name, epochs: JSON.stringify(epochs.map((e) => e.epoch))},
  );
  return values.map((v) => tidyRow(atEpoch, null, job.name, params, 'train', sample.length, v));
}
