import {z} from 'zod';
import type {Matrix} from '../../types.js';
import {discreteMi, distinctRows, labelIds, entropyBits, toUnit} from '../discrete.js';
import type {Estimator, EstimatorInput, EstimatorValue} from '../types.js';
import {OUT_OF_RANGE, outOfRangeFraction} from '../validity.js';
import {UserError} from '../../util/errors.js';

const unit = z.enum(['bits', 'nats']).default('bits');

/**
 * Edges of fixed-range binning as the reference code builds them: numpy
 * `linspace(lo, hi, bins)` (start + k * step, last edge exactly hi), then cast to float32.
 */
export function binEdges(lo: number, hi: number, bins: number): Float32Array {
  const edges = new Float32Array(bins);
  const step = (hi - lo) / (bins - 1);
  for (let k = 0; k < bins; k++) edges[k] = lo + k * step;
  edges[bins - 1] = hi;
  return edges;
}

/**
 * numpy `digitize(a, edges, right=False)` for increasing float32 edges: the number of edges <= a.
 * Uses the uniform spacing for a first guess, then corrects against the float32 edges.
 */
function digitize(a: number, edges: Float32Array, lo: number, invStep: number): number {
  const B = edges.length;
  let k = Math.floor((a - lo) * invStep) + 1;
  if (!(k >= 0)) k = 0; // also catches NaN
  if (k > B) k = B;
  while (k > 0 && edges[k - 1] > a) k--;
  while (k < B && edges[k] <= a) k++;
  return k;
}

/**
 * Fixed-range binning codes (docs/metrics.md, mi.bin). With `quirks` (the IDNNs reference behaviour) a value
 * equal to or above `hi` is a state of its own (k = B), and a value below `lo` (k = 0) wraps to
 * that same state, exactly as indexing edges[k - 1] does in the reference. Note that float32 tanh
 * saturates to exactly 1.0, so saturated units form that extra state. Without quirks values are
 * clipped into the range: below `lo` joins the first interval, `hi` and above join the last one
 * (the real-arithmetic reading of "B - 1 equal intervals on [lo, hi]").
 */
export function fixedRangeCodes(T: Matrix<Float32Array>, lo: number, hi: number, bins: number, quirks: boolean): Int32Array {
  const edges = binEdges(lo, hi, bins);
  const invStep = (bins - 1) / (hi - lo);
  const n = T.rows * T.cols;
  const codes = new Int32Array(n);
  const data = T.data;
  for (let i = 0; i < n; i++) {
    const k = digitize(data[i], edges, lo, invStep);
    codes[i] = quirks ? (k === 0 ? bins : k) : k < 1 ? 1 : k > bins - 1 ? bins - 1 : k;
  }
  return codes;
}

/**
 * Fixed-width unbounded binning codes (docs/metrics.md, mi.binwidth): floor(a / b) in float32 arithmetic. A bin
 * index outside the 32-bit integer range (|a| / b beyond 2^31) is an error naming the value,
 * not a wrap-around.
 */
export function fixedWidthCodes(T: Matrix<Float32Array>, binWidth: number): Int32Array {
  const b = Math.fround(binWidth);
  const n = T.rows * T.cols;
  const codes = new Int32Array(n);
  const data = T.data;
  for (let i = 0; i < n; i++) {
    const k = Math.floor(Math.fround(data[i] / b));
    if (!(k >= -2147483648 && k <= 2147483647)) {
      const [r, c] = [Math.floor(i / T.cols), i % T.cols];
      throw new UserError(`row ${r + 1}, column ${c + 1} ([${r}, ${c}] 0-based) is ${data[i]}: its bin index ${k} at binWidth ${binWidth} is outside the 32-bit range; use a larger binWidth`);
    }
    codes[i] = k;
  }
  return codes;
}

/** I(X;T), I(T;Y) of a row-discretised representation, with the log2 N (or H(X)) ceiling. */
export function binnedMi(codes: Int32Array, input: EstimatorInput, u: 'bits' | 'nats'): EstimatorValue[] {
  const {rows, cols} = input.T;
  const states = distinctRows(codes, rows, cols);
  const {ixt, ity} = discreteMi(states, input.y, input.xIds);
  const ceiling = input.xIds ? entropyBits(labelIds(input.xIds)) : Math.log2(rows);
  return [
    {quantity: 'I_XT', value: toUnit(ixt, u), unit: u, ceiling: toUnit(ceiling, u)},
    {quantity: 'I_TY', value: toUnit(ity, u), unit: u},
  ];
}

const binParams = z
  .object({
    bins: z.number().int().min(2).default(30),
    lo: z.number().default(-1),
    hi: z.number().default(1),
    idnnsQuirks: z.boolean().default(true),
    unit,
  })
  .strict()
  .refine((p) => p.hi > p.lo, {message: 'hi must be greater than lo'});

/** `mi.bin`: Shwartz-Ziv & Tishby fixed-range binning (30 edges on [-1, 1] by default). */
export const miBin: Estimator<z.infer<typeof binParams>> = {
  name: 'mi.bin',
  description: 'fixed-range binning (Shwartz-Ziv & Tishby): float32 edges linspace(lo, hi, bins), left-edge states',
  params: binParams,
  memory: ({n, d}) => 4 * n * d + 64 * n,
  compute: (input, p) => binnedMi(fixedRangeCodes(input.T, p.lo, p.hi, p.bins, p.idnnsQuirks), input, p.unit),
  // values outside [lo, hi] all share the edge bins (unbounded ReLU units above hi are one state)
  diagnose: (input, p) => [{quantity: OUT_OF_RANGE, value: outOfRangeFraction(input.T, p.lo, p.hi)}],
};

const widthParams = z
  .object({binWidth: z.number().positive().default(0.07), unit})
  .strict();

/** `mi.binwidth`: Saxe et al. unbounded fixed-width binning, floor(a / binWidth). */
export const miBinWidth: Estimator<z.infer<typeof widthParams>> = {
  name: 'mi.binwidth',
  description: 'fixed-width unbounded binning (Saxe et al.): state = floor(a / binWidth) per unit',
  params: widthParams,
  memory: ({n, d}) => 4 * n * d + 64 * n,
  compute: (input, p) => binnedMi(fixedWidthCodes(input.T, p.binWidth), input, p.unit),
};
