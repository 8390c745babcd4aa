import type {DenseNet} from '../model/dense-net.js';
import type {Matrix} from '../types.js';
import {UserError} from '../util/errors.js';

/**
 * The one policy for bad numbers: every estimator and model metric in the registries
 * (src/metrics/registry.ts) checks its inputs here before it computes, so no estimator ever sees
 * - or returns a number computed from - a NaN or an infinity. The error (exit 2) names what held
 * the value, its row and column; callers that know more (the file, or the layer and epoch of a
 * run, and which evaluation row it was) add that to the message (`computeEstimator`).
 */
export class NonFiniteError extends UserError {
  constructor(
    /** What held the value: '' for the representation T, else e.g. 'inputs X', 'layer 2 weights (W1)'. */
    readonly what: string,
    readonly row: number,
    readonly col: number,
    readonly value: number,
  ) {
    super(`${what ? `${what}: ` : ''}${nonFiniteText(`row ${row + 1}`, row, col, value)}`);
    this.name = 'UserError';
  }
}

/** "row 8, column 3 ([7, 2] 0-based) is NaN; ..." with the row named as the caller knows it. */
export function nonFiniteText(rowName: string, row: number, col: number, value: number): string {
  return `${rowName}, column ${col + 1} ([${row}, ${col}] 0-based) is ${value}; estimators take finite values only`;
}

/** Position of the first non-finite value of a row-major matrix, or null. */
export function firstNonFinite(m: Pick<Matrix, 'data' | 'cols'>): {row: number; col: number; value: number} | null {
  const {data} = m;
  const cols = Math.max(1, m.cols);
  for (let k = 0; k < data.length; k++) {
    const v = data[k];
    if (v - v !== 0) return {row: Math.floor(k / cols), col: k % cols, value: v};
  }
  return null;
}

/** Throws a NonFiniteError when `m` holds a non-finite value. */
export function checkFinite(m: Pick<Matrix, 'data' | 'cols'>, what = ''): void {
  const bad = firstNonFinite(m);
  if (bad) throw new NonFiniteError(what, bad.row, bad.col, bad.value);
}

/** Every weight and bias of a dense network (layer l = W_{l-1}, b_{l-1}, 1-based as in the values). */
export function checkNetFinite(net: DenseNet): void {
  net.layers.forEach((l, i) => {
    checkFinite({data: l.W, cols: l.cols}, `layer ${i + 1} weights (W${i})`);
    checkFinite({data: l.b, cols: l.cols}, `layer ${i + 1} biases (b${i})`);
  });
}
