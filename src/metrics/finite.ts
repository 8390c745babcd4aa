import type {Matrix} from '../types.js';
import {UserError} from '../util/errors.js';

/**
 * The one policy for bad numbers: every estimator and metric input passes this check at the
 * boundary (`computeEstimator`, `computeModelMetric`), so no estimator ever sees - or returns a
 * number computed from - a NaN or an infinity. The error names where the values came from (a
 * file, or a layer and epoch), the row and the column of the first bad value; its exit code is 2.
 */

/** Position of the first non-finite value of a row-major matrix, or null. */
export function firstNonFinite(m: Pick<Matrix, 'data' | 'cols'>): {row: number; col: number; value: number} | null {
  const {data, cols} = m;
  for (let k = 0; k < data.length; k++) {
    const v = data[k];
    if (v - v !== 0) return {row: Math.floor(k / Math.max(1, cols)), col: k % Math.max(1, cols), value: v};
  }
  return null;
}

/**
 * Throws a UserError when `m` holds a non-finite value. `source` says where the values came
 * from; `rowName` maps a row index to what the user knows it by (default 1-based).
 */
export function checkFinite(m: Pick<Matrix, 'data' | 'cols'>, source: string, rowName?: (row: number) => string): void {
  const bad = firstNonFinite(m);
  if (!bad) return;
  const row = rowName ? rowName(bad.row) : `row ${bad.row + 1}`;
  throw new UserError(`${source}: ${row}, column ${bad.col + 1} ([${bad.row}, ${bad.col}] 0-based) is ${bad.value}; estimators take finite values only`);
}
