import {z} from 'zod';
import type {Matrix} from '../../types.js';
import {activations} from '../../model/activations.js';
import {binEdges, binnedMi} from './binning.js';
import type {Estimator, EstimatorInput} from '../types.js';
import {UserError} from '../../util/errors.js';

const unit = z.enum(['bits', 'nats']).default('bits');

/**
 * The lowest edge `low` of the adaptive binnings (docs/metrics.md, mi.ebab) when the `lo` parameter is not given,
 * from the layer's activation:
 * - lower bound 0 (relu, softplus, sigmoid; also the softmax output layer): low = 0 exactly, so
 *   exact zeros (a ReLU that is off) form the first bin and are not counted as unique values;
 * - any other finite lower bound b (tanh, softsign, elu: b = -1): low = float32(b - 1e-6 max(1, |b|)),
 *   i.e. -1.000001 as in the reference code, just below a float32 tanh that saturates to -1.0;
 * - no activation known (activations tdlab did not produce: `tdlab measure` without
 *   `--activation`): the reference's two conventions, chosen by the data: 0 when every value is
 *   >= 0, else float32(-1.000001);
 * - an unknown activation or `linear` (ours; the reference code has no such case):
 *   low = float32(min - 1e-6 max(1, |min|)) with `min` the smallest value of this layer at this
 *   epoch (NaN ignored), lowered by float32 steps until strictly below `min`. `low` is then below
 *   every value, so the binning depends only on the ranks of the values and EBAB is exactly
 *   invariant under strictly increasing maps that keep distinct float32 values distinct.
 */
export function adaptiveLow(values: Float32Array, activation?: string): number {
  if (activation === undefined) {
    for (let i = 0; i < values.length; i++) if (values[i] < 0) return Math.fround(-1.000001);
    return 0;
  }
  let b: number | undefined;
  if (activation === 'softmax') b = 0;
  else if (activation !== undefined && activations.has(activation)) b = activations.get(activation).lowerBound;
  if (b === 0) return 0;
  if (b !== undefined && Number.isFinite(b)) return Math.fround(b - 1e-6 * Math.max(1, Math.abs(b)));
  let min = Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] < min) min = values[i];
  if (min === Infinity) return 0; // no (non-NaN) values
  if (min === -Infinity) return -Infinity;
  let low = Math.fround(min - 1e-6 * Math.max(1, Math.abs(min)));
  const f = new Float32Array(1);
  const bits = new Int32Array(f.buffer);
  while (!(low < min)) {
    // one float32 step towards -Infinity
    f[0] = low;
    if (low === 0) bits[0] = 0x80000001; // smallest negative subnormal
    else bits[0] += low > 0 ? -1 : 1;
    low = f[0];
  }
  return low;
}

/**
 * EBAB edges (docs/metrics.md, mi.ebab, "maxentropy" mode of the reference code): u = sorted unique values with
 * `low` removed (NaN ignored), U = |u|; edges = [low] + [u[floor(k U / B)] for k = 0..B-1] +
 * [u[U - 1]], B + 2 float32 edges (duplicates possible when U < B). With U = 0 (every value equals
 * `low`, e.g. a dead ReLU layer) the edges are just [low].
 */
export function ebabEdges(values: Float32Array, low: number, bins: number): Float32Array {
  const sorted = Float32Array.from(values).sort(); // numeric; NaN last
  const u = new Float32Array(sorted.length);
  let U = 0;
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i];
    if (v !== v) break; // NaN
    if (v === low) continue;
    if (U === 0 || v !== u[U - 1]) u[U++] = v;
  }
  if (U === 0) return Float32Array.of(low);
  const edges = new Float32Array(bins + 2);
  edges[0] = low;
  for (let k = 0; k < bins; k++) edges[k + 1] = u[Math.floor((k * U) / bins)];
  edges[bins + 1] = u[U - 1];
  return edges;
}

/**
 * Left-edge binning codes with arbitrary non-decreasing float32 edges (rule of docs/metrics.md, mi.bin):
 * k = number of edges <= a (numpy digitize, right=False, by binary search); the state is the
 * left edge e_{k-1}, coded by k (distinct k give distinct left edges, also with duplicate edges).
 * A value below the first edge (k = 0; only when the activation's `low` is wrong for the data) or
 * NaN wraps to e_{-1} = the last edge, like the reference's negative index: code E (same state as
 * values >= the last edge).
 */
export function edgeCodes(T: Matrix<Float32Array>, edges: Float32Array): Int32Array {
  const n = T.rows * T.cols;
  const data = T.data;
  const E = edges.length;
  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const a = data[i];
    let lo = 0;
    let hi = E;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid] <= a) lo = mid + 1;
      else hi = mid;
    }
    codes[i] = lo === 0 ? E : lo;
  }
  return codes;
}

/**
 * Values below `low` have no bin (the reference wraps them to the top state): an error naming the
 * first one, instead of a silently wrong answer.
 */
function checkLow(T: Matrix<Float32Array>, low: number, given: boolean): void {
  const {data, cols} = T;
  for (let k = 0; k < data.length; k++) {
    if (data[k] < low) {
      const [r, c] = [Math.floor(k / cols), k % cols];
      throw new UserError(
        `row ${r + 1}, column ${c + 1} ([${r}, ${c}] 0-based) is ${data[k]}, below lo = ${low}${given ? '' : ' (the default for this activation, spec 3.3)'}; give lo at or below the smallest value (--param lo=...)${given ? '' : ', or the activation (linear: lo just below the minimum)'}`,
      );
    }
  }
}

/** The lowest edge: the `lo` parameter, or with `auto` from the activation (`adaptiveLow`); no value may lie below it. */
function lowEdge(input: EstimatorInput, lo: number | 'auto'): number {
  const given = lo !== 'auto';
  const low = given ? Math.fround(lo) : adaptiveLow(input.T.data, input.activation);
  checkLow(input.T, low, given);
  return low;
}

/**
 * `lo`: the lowest edge; `auto` (default): from the layer's activation as spec 3.3 says (0 for
 * ReLU/softplus/sigmoid, -1.000001 for tanh/softsign/ELU), or for activations tdlab did not
 * produce (`tdlab measure` without --activation) 0 when every value is >= 0, else -1.000001.
 */
const lo = z.union([z.number().finite(), z.literal('auto')]).default('auto');
const ebabParams = z.object({bins: z.number().int().min(2).default(30), lo, unit}).strict();

/**
 * `mi.ebab`: entropy-based adaptive binning (Chelombiev et al. 2019), edges per layer and epoch
 * holding equally many unique activation values each; then the binning I(X;T), I(T;Y).
 * Edges move every epoch: curves across epochs are not measured with one ruler.
 */
export const miEbab: Estimator<z.infer<typeof ebabParams>> = {
  name: 'mi.ebab',
  description: 'entropy-based adaptive binning (Chelombiev et al.): per layer-epoch edges at equal counts of unique values',
  params: ebabParams,
  memory: ({n, d}) => 12 * n * d + 64 * n,
  compute(input, p) {
    const low = lowEdge(input, p.lo);
    return binnedMi(edgeCodes(input.T, ebabEdges(input.T.data, low, p.bins)), input, p.unit);
  },
};

const adaptMaxParams = z.object({bins: z.number().int().min(2).default(30), lo, unit}).strict();

/**
 * `mi.adaptmax`: float32 edges linspace(low, M, bins) with M = `input.runningMax` (the layer's
 * running maximum over snapshot epochs, monotone by construction) or, when absent, this epoch's
 * maximum. `low` as for EBAB (for unknown activations it is taken from this epoch's minimum).
 * Values >= M (the maximum itself, or values above a stale running max) share the top state.
 */
export const miAdaptMax: Estimator<z.infer<typeof adaptMaxParams>> = {
  name: 'mi.adaptmax',
  description: 'adaptive-range binning (Chelombiev et al., non-maxentropy mode): edges linspace(low, running max, bins)',
  params: adaptMaxParams,
  memory: ({n, d}) => 4 * n * d + 64 * n,
  compute(input, p) {
    const data = input.T.data;
    let M = input.runningMax;
    if (M === undefined) {
      M = -Infinity;
      for (let i = 0; i < data.length; i++) if (data[i] > M) M = data[i];
    }
    const low = lowEdge(input, p.lo);
    const codes = Number.isFinite(M) && M > low ? edgeCodes(input.T, binEdges(low, M, p.bins)) : new Int32Array(data.length);
    return binnedMi(codes, input, p.unit);
  },
};
