import type {Estimator, EstimatorInput, EstimatorValue} from '../metrics/types.js';
import type {Matrix} from '../types.js';
import type {Quantity, TaskSample, ValidationTask} from './tasks.js';

/* How the validation suite feeds an estimator and reads its values (module doc of suite.ts). */

export const LN2 = Math.LN2;

export function isInformationEstimator(name: string): boolean {
  return name.startsWith('mi.') || name.startsWith('ib.') || name.startsWith('ent.');
}

/** Parameters with defaults and `unit: 'nats'` (when the estimator has a unit parameter). */
export function parseParams(est: Estimator<any>, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  try {
    return est.params.parse({unit: 'nats', ...overrides}) as Record<string, unknown>;
  } catch (err) {
    try {
      return est.params.parse({...overrides}) as Record<string, unknown>;
    } catch {
      throw err;
    }
  }
}

/** The value of `quantity` in nats, or a reason why there is none. */
export function readValue(values: EstimatorValue[], quantity: Quantity): {value: number} | {reason: string} {
  const v = values.find((e) => e.quantity === quantity);
  if (!v) return {reason: `no ${quantity} value (got ${values.map((e) => e.quantity).join(', ') || 'nothing'})`};
  const value = v.unit === 'nats' ? v.value : v.unit === 'bits' ? v.value * LN2 : NaN;
  if (v.unit !== 'nats' && v.unit !== 'bits') return {reason: `${quantity} has unit ${v.unit}`};
  if (!Number.isFinite(value)) return {reason: `non-finite ${quantity} (${v.value})`};
  return {value};
}

export function compute(est: Estimator<any>, input: EstimatorInput, params: Record<string, unknown>, quantity: Quantity): number {
  const r = readValue(est.compute(input, params), quantity);
  if ('reason' in r) throw new Error(r.reason);
  return r.value;
}

/** Per-column standardisation (population std; constant columns are only centred). */
export function standardize(m: Matrix<Float32Array>): Matrix<Float32Array> {
  const {rows, cols, data} = m;
  const out = new Float32Array(data.length);
  for (let j = 0; j < cols; j++) {
    let s = 0;
    for (let i = 0; i < rows; i++) s += data[i * cols + j];
    const mean = s / rows;
    let ss = 0;
    for (let i = 0; i < rows; i++) {
      const d = data[i * cols + j] - mean;
      ss += d * d;
    }
    const sd = Math.sqrt(ss / rows);
    const inv = sd > 0 && Number.isFinite(sd) ? 1 / sd : 1;
    for (let i = 0; i < rows; i++) out[i * cols + j] = (data[i * cols + j] - mean) * inv;
  }
  return {data: out, rows, cols};
}

export function mapMatrix(m: Matrix<Float32Array>, f: (v: number) => number): Matrix<Float32Array> {
  return {data: m.data.map(f), rows: m.rows, cols: m.cols};
}

export function meanStd(values: number[]): {mean: number; std: number | null} {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return {mean, std: null};
  const ss = values.reduce((a, b) => a + (b - mean) * (b - mean), 0);
  return {mean, std: Math.sqrt(ss / (values.length - 1))};
}

/** The estimator input for one task sample (see the module doc for the mapping). */
export function taskInput(task: ValidationTask, s: TaskSample, seed: number): EstimatorInput {
  const n = s.x.rows;
  if (task.kind === 'discrete') return {T: s.x, y: s.y as Int32Array, seed};
  if (task.quantity === 'H') return {T: s.x, y: new Int32Array(n), seed};
  return {T: standardize(s.y as Matrix<Float32Array>), x: standardize(s.x), y: new Int32Array(n), seed};
}

export const fmt = (v: number, d = 6) => (Number.isFinite(v) ? v.toFixed(d) : String(v));
