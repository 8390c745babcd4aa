import {nativeGramRowsTridiagonal, nativeGramUpper} from '../native/spectral.js';
import {eigvalsh, tridiagonalEigenvalues} from './eigen.js';

/** Row block (elements of the summed dimension) of `gramUpper`: 4 + 2 rows of 256 doubles stay in L1. */
const KB = 256;

/**
 * G = X X^T (rows x rows, row-major) for X rows x len row-major, float64. Only the upper
 * triangle (j >= i) is guaranteed (a few lower entries next to the diagonal are written too).
 * Register-blocked 4 x 2 tiles of dot products over blocks of KB elements: 6 loads per
 * 8 multiply-adds. Every G[i][j] sums its products in the same order (k ascending, same
 * blocks), so identical rows give bit-identical dot products (exact 0 distances).
 */
export function gramUpper(X: Float64Array, rows: number, len: number): Float64Array {
  return nativeGramUpper(X, rows, len) ?? gramUpperTs(X, rows, len);
}

/** The TypeScript reference (and fallback) of `gramUpper`. */
function gramUpperTs(X: Float64Array, rows: number, len: number): Float64Array {
  const G = new Float64Array(rows * rows);
  for (let k0 = 0; k0 < len; k0 += KB) {
    const k1 = Math.min(len, k0 + KB);
    let i = 0;
    for (; i + 3 < rows; i += 4) {
      const p0 = i * len;
      const p1 = p0 + len;
      const p2 = p1 + len;
      const p3 = p2 + len;
      let j = i;
      for (; j + 1 < rows; j += 2) {
        const q0 = j * len;
        const q1 = q0 + len;
        let c00 = 0, c01 = 0, c10 = 0, c11 = 0, c20 = 0, c21 = 0, c30 = 0, c31 = 0;
        for (let k = k0; k < k1; k++) {
          const y0 = X[q0 + k];
          const y1 = X[q1 + k];
          const x0 = X[p0 + k];
          const x1 = X[p1 + k];
          const x2 = X[p2 + k];
          const x3 = X[p3 + k];
          c00 += x0 * y0;
          c01 += x0 * y1;
          c10 += x1 * y0;
          c11 += x1 * y1;
          c20 += x2 * y0;
          c21 += x2 * y1;
          c30 += x3 * y0;
          c31 += x3 * y1;
        }
        const g = i * rows + j;
        G[g] += c00;
        G[g + 1] += c01;
        G[g + rows] += c10;
        G[g + rows + 1] += c11;
        G[g + 2 * rows] += c20;
        G[g + 2 * rows + 1] += c21;
        G[g + 3 * rows] += c30;
        G[g + 3 * rows + 1] += c31;
      }
      if (j < rows) for (let r = 0; r < 4; r++) G[(i + r) * rows + j] += dot(X, (i + r) * len, j * len, k0, k1);
    }
    for (; i < rows; i++) for (let j = i; j < rows; j++) G[i * rows + j] += dot(X, i * len, j * len, k0, k1);
  }
  return G;
}

function dot(X: Float64Array, a: number, b: number, k0: number, k1: number): number {
  let s = 0;
  for (let k = k0; k < k1; k++) s += X[a + k] * X[b + k];
  return s;
}

/**
 * Eigenvalues (descending, length rows) of X X^T for X rows x len row-major float64, where `fill`
 * writes X into the buffer it is given (zero-initialised): the caller can centre, scale or
 * transpose its data on the way in, without an intermediate copy.
 */
export function gramRowsEigenvalues(rows: number, len: number, fill: (x: Float64Array) => void): Float64Array {
  if (rows === 0) return new Float64Array(0);
  const native = nativeGramRowsTridiagonal(rows, len, fill);
  if (native) return tridiagonalEigenvalues(native, rows);
  const X = new Float64Array(rows * len);
  fill(X);
  return eigvalsh(gramUpperTs(X, rows, len), rows, {uplo: 'U', overwrite: true});
}

/**
 * Fills x with Z^T (d x n row-major) for Z n x d row-major, entry (i, j) of Z mapped through
 * `value(i, j, z)`; 64-row tiles of Z keep both sides in cache.
 */
export function transposeInto(x: Float64Array, Z: ArrayLike<number>, n: number, d: number, value?: (i: number, j: number, z: number) => number): void {
  for (let i0 = 0; i0 < n; i0 += 64) {
    const i1 = Math.min(n, i0 + 64);
    for (let j = 0; j < d; j++) {
      const o = j * n;
      if (value) for (let i = i0; i < i1; i++) x[o + i] = value(i, j, Z[i * d + j]);
      else for (let i = i0; i < i1; i++) x[o + i] = Z[i * d + j];
    }
  }
}

/**
 * Eigenvalues (descending, length min(n, d)) of Z^T Z for Z n x d row-major float64, computed
 * from the smaller of the d x d matrix Z^T Z and the n x n Gram Z Z^T (same non-zero
 * eigenvalues). Z is not modified.
 */
export function gramEigenvalues(Z: Float64Array, n: number, d: number): Float64Array {
  if (n === 0 || d === 0) return new Float64Array(0);
  if (d <= n) return gramRowsEigenvalues(d, n, (x) => transposeInto(x, Z, n, d));
  return gramRowsEigenvalues(n, d, (x) => x.set(Z.subarray(0, n * d)));
}
