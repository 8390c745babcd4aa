import type {Table} from 'apache-arrow';
import type {MetricRow, TrainingRow} from '../types.js';
import {numberColumn, readArrowFile, schemaMetadata, stringColumn, writeArrowFile} from './arrow.js';
import {writeFileAtomic} from './atomic.js';
import {toCsv} from './csv.js';

/** Tidy tables (metrics, training log) as Arrow + CSV. Column names are snake_case in files. */

const METRIC_COLUMNS = ['epoch', 'layer_index', 'layer', 'estimator', 'quantity', 'params', 'subset', 'n', 'value', 'unit', 'at_ceiling'];

export function writeMetricRows(arrowPath: string, csvPath: string, rows: MetricRow[], metadata: Record<string, string>): void {
  const n = rows.length;
  writeArrowFile(
    arrowPath,
    [
      {name: 'epoch', column: {kind: 'int32', values: Int32Array.from(rows, (r) => r.epoch)}},
      {name: 'layer_index', column: {kind: 'int32', values: Int32Array.from(rows, (r) => r.layerIndex)}},
      {name: 'layer', column: {kind: 'utf8', values: rows.map((r) => r.layer)}},
      {name: 'estimator', column: {kind: 'utf8', values: rows.map((r) => r.estimator)}},
      {name: 'quantity', column: {kind: 'utf8', values: rows.map((r) => r.quantity)}},
      {name: 'params', column: {kind: 'utf8', values: rows.map((r) => r.params)}},
      {name: 'subset', column: {kind: 'utf8', values: rows.map((r) => r.subset)}},
      {name: 'n', column: {kind: 'int32', values: Int32Array.from(rows, (r) => r.n)}},
      {name: 'value', column: {kind: 'float64', values: Float64Array.from(rows, (r) => r.value)}},
      {name: 'unit', column: {kind: 'utf8', values: rows.map((r) => r.unit)}},
      {name: 'at_ceiling', column: {kind: 'bool', values: rows.map((r) => r.atCeiling)}},
    ],
    n,
    metadata,
  );
  writeFileAtomic(
    csvPath,
    toCsv(METRIC_COLUMNS, rows.map((r) => [r.epoch, r.layerIndex, r.layer, r.estimator, r.quantity, r.params, r.subset, r.n, r.value, r.unit, r.atCeiling])),
  );
}

export function readMetricRows(arrowPath: string): MetricRow[] {
  const t = readArrowFile(arrowPath);
  const epoch = numberColumn(t, 'epoch');
  const layerIndex = numberColumn(t, 'layer_index');
  const n = numberColumn(t, 'n');
  const value = numberColumn(t, 'value');
  const atCeiling = numberColumn(t, 'at_ceiling');
  const [layer, estimator, quantity, params, subset, unit] = ['layer', 'estimator', 'quantity', 'params', 'subset', 'unit'].map((c) => stringColumn(t, c));
  return Array.from({length: t.numRows}, (_, i) => ({
    epoch: epoch[i], layerIndex: layerIndex[i], layer: layer[i], estimator: estimator[i], quantity: quantity[i],
    params: params[i], subset: subset[i], n: n[i], value: value[i], unit: unit[i] as MetricRow['unit'], atCeiling: atCeiling[i] === 1,
  }));
}

export function writeTrainingRows(path: string, rows: TrainingRow[], metadata: Record<string, string>): void {
  writeArrowFile(
    path,
    [
      {name: 'epoch', column: {kind: 'int32', values: Int32Array.from(rows, (r) => r.epoch)}},
      {name: 'layer_index', column: {kind: 'int32', values: Int32Array.from(rows, (r) => r.layerIndex)}},
      {name: 'layer', column: {kind: 'utf8', values: rows.map((r) => r.layer)}},
      {name: 'quantity', column: {kind: 'utf8', values: rows.map((r) => r.quantity)}},
      {name: 'value', column: {kind: 'float64', values: Float64Array.from(rows, (r) => r.value)}},
    ],
    rows.length,
    metadata,
  );
}

export function readTrainingRows(path: string): TrainingRow[] {
  return trainingRows(readArrowFile(path));
}

function trainingRows(t: Table): TrainingRow[] {
  const epoch = numberColumn(t, 'epoch');
  const layerIndex = numberColumn(t, 'layer_index');
  const value = numberColumn(t, 'value');
  const layer = stringColumn(t, 'layer');
  const quantity = stringColumn(t, 'quantity');
  return Array.from({length: t.numRows}, (_, i) => ({epoch: epoch[i], layerIndex: layerIndex[i], layer: layer[i], quantity: quantity[i], value: value[i]}));
}

/**
 * A training log with how far it goes (`through_epoch`: every row of the epochs before it and
 * the evaluation of that epoch), or null when there is none or it cannot be read.
 */
export function readTrainingLog(path: string): {rows: TrainingRow[]; through: number; complete: boolean} | null {
  let t;
  try {
    t = readArrowFile(path);
  } catch {
    return null;
  }
  const meta = schemaMetadata(t);
  const complete = meta.complete === 'true';
  const through = meta.through_epoch !== undefined ? Number(meta.through_epoch) : complete ? Number(meta.epochs) : NaN;
  if (!Number.isInteger(through)) return null;
  return {rows: trainingRows(t), through, complete};
}
