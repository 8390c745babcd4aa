/**
 * The symmetric eigensolvers of tdlab, float64, row-major, named after NumPy's:
 *  - `eigvalsh(A, n, {uplo})`: eigenvalues only, descending (spectral metrics: DSE / Renyi
 *    kernels up to N = 2000, covariances up to d = 1024; local rank's small Gram matrices);
 *  - `eigh(A, n, {uplo})`: eigenvalues and eigenvectors (PCA, whitening, least squares).
 * `uplo` says which triangle is read, as NumPy's UPLO: 'L' (default) the lower (j <= i), 'U' the
 * upper (j >= i); a full symmetric matrix works with either.
 *
 * Why `eigvalsh` is not `eigh` without the vectors: it always accumulates the eigenvectors (tred2 + QL with
 * rotations, ~9 n^3 flops with column-strided rotations) - N = 1000 took ~4.5 s and N = 2000 ~40 s
 * here. The spectral entropies need eigenvalues only, which cost 4/3 n^3 flops
 * (Householder tridiagonalisation) + O(n^2) (QL on the tridiagonal), the same split as LAPACK's
 * dsyevd/dsterf path that numpy.linalg.eigvalsh takes.
 *
 * Tridiagonalisation (LAPACK dsytd2 'L' in column-major = the upper triangle of a row-major
 * array, so every access is along a contiguous row). Step k reflects row k's tail
 * x = A[k, k+1:] to beta e1 with H = I - tau v v^T (dlarfg conventions), then the trailing block
 * becomes A22 - v w^T - w v^T with p = tau A22 v, w = p - (tau/2)(p.v) v. Fused level-2
 * pass: the rank-2 update of step k-1 and the product A22 v of step k share one sweep over
 * the trailing upper triangle (row k is updated first, since v_k is built from it), so every
 * element is read and written once per step instead of twice; two rows are processed per sweep
 * so the vector entries are loaded once for both (register blocking). Memory: one n x n float64
 * working copy (32 MB at n = 2000) unless the caller lets the input be overwritten.
 *
 * Tridiagonal eigenvalues: implicit QL with Wilkinson-type shifts (EISPACK tql1: `ql` without
 * the eigenvector rotations), O(n^2) overall.
 *
 * Speed: the tridiagonalisation and the Gram (`gramUpper`, `gramRowsEigenvalues`) run as f64x2 SIMD
 * WebAssembly kernels (src/native/spectral.c, the same algorithms line for line) when WebAssembly
 * is available; the TypeScript below is the reference and the fallback (`TDLAB_NATIVE=0`). QL
 * stays here either way. See BENCHMARKS.md.
 *
 * Accuracy: backward stable like LAPACK (eigenvalue errors ~ n eps ||A||); checked against
 * NumPy reference fixtures (numpy.linalg.eigvalsh with both UPLO, kernels on and off) in
 * test/reference.test.js, and in the benches.
 */
import {nativeSymmetricTridiagonal, type Tridiagonal} from '../native/spectral.js';
import {ql, tred2, tridiagonalize} from './tridiagonal.js';

/** Which triangle of a row-major symmetric matrix is read: 'L' lower (j <= i), 'U' upper (j >= i). */
export type Uplo = 'L' | 'U';

/** Below this order the WebAssembly kernels cost more (a fresh instance per call) than they save. */
const NATIVE_MIN_N = 48;

function checkSquare(name: string, A: Float64Array, n: number, uplo: Uplo): void {
  if (A.length < n * n) throw new Error(`${name}: matrix shorter than n x n`);
  for (let i = 0; i < n; i++) {
    const [j0, j1] = uplo === 'U' ? [i, n] : [0, i + 1];
    for (let j = j0; j < j1; j++) if (!Number.isFinite(A[i * n + j])) throw new Error(`${name}: non-finite entry at (${i}, ${j})`);
  }
}

/** Copies the `uplo` triangle onto the other one, in place. */
function mirror(A: Float64Array, n: number, from: Uplo): void {
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (from === 'U') A[j * n + i] = A[i * n + j];
      else A[i * n + j] = A[j * n + i];
    }
  }
}

/**
 * Eigenvalues of a real symmetric n x n row-major matrix, sorted descending; only the `uplo`
 * triangle is read (default 'L'). With `overwrite` the input array is the work space (destroyed);
 * otherwise it is copied first. Throws on non-finite entries of the triangle read.
 */
export function eigvalsh(A: Float64Array, n: number, opts: {uplo?: Uplo; overwrite?: boolean} = {}): Float64Array {
  const uplo = opts.uplo ?? 'L';
  checkSquare('eigvalsh', A, n, uplo);
  if (n === 0) return new Float64Array(0);
  const W = opts.overwrite ? A : A.slice(0, n * n);
  // the reduction works on the upper triangle (contiguous rows)
  if (uplo === 'L') mirror(W, n, 'L');
  const native = n >= NATIVE_MIN_N ? nativeSymmetricTridiagonal(W, n) : null;
  if (native) return tridiagonalEigenvalues(native, n);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tridiagonalize(W, n, d, e);
  ql(d, e, n);
  return sortDescending(d);
}

/** Eigenvalues (descending) of a tridiagonal, by QL in place. */
export function tridiagonalEigenvalues({d, e}: Tridiagonal, n: number): Float64Array {
  ql(d, e, n);
  return sortDescending(d);
}

function sortDescending(d: Float64Array): Float64Array {
  d.sort();
  d.reverse();
  return d;
}

export interface SymmetricEigen {
  /** Eigenvalues, descending. */
  values: Float64Array;
  /** n x n row-major; COLUMN j (vectors[i * n + j], i = 0..n-1) is the unit eigenvector of values[j]. */
  vectors: Float64Array;
}

/**
 * Eigen-decomposition of a real symmetric n x n matrix (only the `uplo` triangle is read, default 'L').
 * Householder reduction to tridiagonal form followed by the implicit QL algorithm with Wilkinson
 * shifts (the EISPACK tred2/tql2 pair, as in JAMA; `ql` with V), O(n^3): reconstruction and orthogonality
 * errors are ~n ulps times ||A|| (test/linalg.test.js); n = 100 / 300 / 500 took 0.1 / 0.2 / 0.85 s
 * (loaded 2-core machine), so PCA of layers up to ~1000 units is practical. Jacobi rotations
 * were not used: same accuracy for small n, far slower above n ~ 100.
 */
export function eigh(matrix: Float64Array, n: number, opts: {uplo?: Uplo} = {}): SymmetricEigen {
  const uplo = opts.uplo ?? 'L';
  checkSquare('eigh', matrix, n, uplo);
  const V = matrix.slice(0, n * n);
  mirror(V, n, uplo);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return {values: d, vectors: V};
  tred2(V, d, e, n);
  // tred2 leaves the sub-diagonal in e[1..n-1]; ql wants e[k] coupling k and k + 1
  e.copyWithin(0, 1);
  e[n - 1] = 0;
  ql(d, e, n, V);
  // sort descending
  const order = Array.from({length: n}, (_, i) => i).sort((a, b) => d[b] - d[a]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    const src = order[c];
    values[c] = d[src];
    for (let r = 0; r < n; r++) vectors[r * n + c] = V[r * n + src];
  }
  return {values, vectors};
}

