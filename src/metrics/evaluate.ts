import type {LayerInfo, Matrix, MetricRow} from '../types.js';
import {formatParams} from './params.js';
import {estimators} from './registry.js';
import {NonFiniteError, nonFiniteText} from './finite.js';
import type {Estimator, EstimatorInput, EstimatorValue} from './types.js';
import {UserError} from '../util/errors.js';

/**
 * Runs an estimator of the registry (whose wrapper refuses non-finite input, src/metrics/finite.ts)
 * and says where a refused value came from: `source` (a file, or a layer and epoch) is put before
 * the message, and `rowName` names the row of T as the user knows it (e.g. its sample number).
 */
export function computeEstimator<P extends Record<string, unknown>>(est: Estimator<P>, input: EstimatorInput, params: P, source: string, rowName?: (row: number) => string): EstimatorValue[] {
  try {
    return est.compute(input, params);
  } catch (err) {
    if (err instanceof NonFiniteError) {
      const row = rowName ? rowName(err.row) : `row ${err.row + 1}`;
      throw new UserError(`${source}${err.what ? ` (${err.what})` : ''}: ${nonFiniteText(row, err.row, err.col, err.value)}`);
    }
    if (err instanceof UserError && !err.message.startsWith(source)) throw new UserError(`${source}: ${est.name}: ${err.message}`, {exitCode: err.exitCode, code: err.code});
    throw err;
  }
}

export interface EstimatorRun {
  name: string;
  /** Parameters with defaults filled (as in the resolved config). */
  params: Record<string, unknown>;
}

/** Rows of `T` selected by `rows` (a copy), or `T` itself when `rows` is undefined. */
export function selectRows(T: Matrix<Float32Array>, rows?: Int32Array): Matrix<Float32Array> {
  if (!rows) return T;
  const out = new Float32Array(rows.length * T.cols);
  for (let i = 0; i < rows.length; i++) out.set(T.data.subarray(rows[i] * T.cols, (rows[i] + 1) * T.cols), i * T.cols);
  return {data: out, rows: rows.length, cols: T.cols};
}

function pick(a: Int32Array, rows?: Int32Array): Int32Array {
  return rows ? Int32Array.from(rows, (r) => a[r]) : a;
}

/**
 * Runs estimators on one layer's representation for one subset of rows and returns tidy rows.
 * Pure: no I/O. Values within 1% of an estimator's ceiling are flagged.
 */
export function evaluateLayer(
  T: Matrix<Float32Array>,
  layer: Pick<LayerInfo, 'index' | 'name' | 'activation'>,
  epoch: number,
  runs: EstimatorRun[],
  y: Int32Array,
  subset: {name: string; rows?: Int32Array},
  xIds?: Int32Array,
  extra: Pick<EstimatorInput, 'runningMax' | 'seed' | 'x' | 'classifier'> & {source?: string; onReason?: (metric: string, where: string, quantity: string, reason: string) => void} = {},
): MetricRow[] {
  const input: EstimatorInput = {
    T: selectRows(T, subset.rows),
    y: pick(y, subset.rows),
    xIds: xIds ? pick(xIds, subset.rows) : undefined,
    activation: layer.activation,
    runningMax: extra.runningMax,
    seed: extra.seed,
    x: extra.x ? selectRows(extra.x, subset.rows) : undefined,
    classifier: extra.classifier,
  };
  const out: MetricRow[] = [];
  for (const run of runs) {
    const est = estimators.get(run.name);
    const params = est.params.parse(run.params) as Record<string, unknown>;
    const source = `${extra.source ? `${extra.source}: ` : ''}layer ${layer.name} at epoch ${epoch}`;
    const rowName = (r: number) => (subset.rows ? `row ${subset.rows[r] + 1} (sample ${subset.rows[r]})` : `row ${r + 1} (sample ${r})`);
    for (const v of computeEstimator(est, input, params, source, rowName)) {
      if (v.reason) extra.onReason?.(run.name, `${layer.name}, ${subset.name}`, v.quantity, v.reason);
      out.push({
        epoch,
        layerIndex: layer.index,
        layer: layer.name,
        estimator: run.name,
        quantity: v.quantity,
        params: formatParams(params),
        subset: subset.name,
        n: input.T.rows,
        value: v.value,
        unit: v.unit,
        atCeiling: v.ceiling !== undefined && v.ceiling > 0 && v.value >= 0.99 * v.ceiling,
      });
    }
    // what the estimator assumed of the values, measured on them (src/metrics/validity.ts)
    for (const d of est.diagnose?.(input, params) ?? []) {
      out.push({epoch, layerIndex: layer.index, layer: layer.name, estimator: run.name, quantity: d.quantity, params: formatParams(params), subset: subset.name, n: input.T.rows, value: d.value, unit: 'dimensionless', atCeiling: false});
    }
  }
  return out;
}
