/**
 * Eigenvalues only (no vectors) of dense real symmetric matrices, float64, for the spectral
 * metrics (DSE / Renyi kernels up to N = 2000, covariances up to d = 1024).
 *
 * Why not `symmetricEigen` (linalg.ts): it always accumulates the eigenvectors (tred2 + tql2,
 * ~9 n^3 flops with column-strided rotations in tql2) - N = 1000 took ~4.5 s and N = 2000 ~40 s
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
 * Tridiagonal eigenvalues: implicit QL with Wilkinson-type shifts (EISPACK tql1, the value-only
 * half of linalg.ts's tql2), O(n^2) overall.
 *
 * Speed: the tridiagonalisation and the Gram (`gramUpper`, `gramRowsEigenvalues`) run as f64x2 SIMD
 * WebAssembly kernels (src/native/spectral.c, the same algorithms line for line) when WebAssembly
 * is available; the TypeScript below is the reference and the fallback (`TDLAB_NATIVE=0`). QL
 * stays here either way. See BENCHMARKS.md.
 *
 * Accuracy: backward stable like LAPACK (eigenvalue errors ~ n eps ||A||); checked against
 * symmetricEigen and numpy.linalg.eigvalsh in test/geometry-entropy.test.js and the benches.
 */
import {nativeGramRowsTridiagonal, nativeGramUpper, nativeSymmetricTridiagonal, type Tridiagonal} from '../native/spectral.js';

/**
 * Eigenvalues of a real symmetric n x n row-major matrix, sorted descending. Only the upper
 * triangle (j >= i) is read. With `overwrite` the input array is used as the work space (its
 * upper triangle is destroyed); otherwise it is copied first. Throws on non-finite entries.
 */
export function symmetricEigenvalues(matrix: Float64Array, n: number, overwrite = false): Float64Array {
  if (matrix.length < n * n) throw new Error('symmetricEigenvalues: matrix shorter than n x n');
  for (let i = 0; i < n; i++) {
    const o = i * n;
    for (let j = i; j < n; j++) if (!Number.isFinite(matrix[o + j])) throw new Error('symmetricEigenvalues: non-finite entry');
  }
  if (n === 0) return new Float64Array(0);
  const native = nativeSymmetricTridiagonal(matrix, n);
  if (native) return tridiagonalEigenvalues(native, n);
  const A = overwrite ? matrix : matrix.slice(0, n * n);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tridiagonalize(A, n, d, e);
  tql1(d, e, n);
  return sortDescending(d);
}

/** Eigenvalues of a tridiagonal from the kernels (QL in place), descending. */
function tridiagonalEigenvalues({d, e}: Tridiagonal, n: number): Float64Array {
  tql1(d, e, n);
  return sortDescending(d);
}

function sortDescending(d: Float64Array): Float64Array {
  d.sort();
  d.reverse();
  return d;
}

/**
 * Householder reduction of the upper triangle of A (row-major, n x n) to a symmetric tridiagonal
 * with diagonal d[0..n-1] and off-diagonal e[0..n-2] (e[k] couples k and k + 1). A is destroyed.
 */
export function tridiagonalize(A: Float64Array, n: number, d: Float64Array, e: Float64Array): void {
  // pending rank-2 update of the previous step: A22 -= vp wp^T + wp vp^T (global indices)
  let vp = new Float64Array(n);
  let wp = new Float64Array(n);
  let v = new Float64Array(n);
  let p = new Float64Array(n);
  for (let k = 0; k < n - 1; k++) {
    const ok = k * n;
    // 1. bring row k up to date
    {
      const a = vp[k];
      const b = wp[k];
      if (a !== 0 || b !== 0) for (let j = k; j < n; j++) A[ok + j] -= a * wp[j] + b * vp[j];
    }
    d[k] = A[ok + k];
    // 2. Householder vector of x = A[k, k+1:]
    const alpha = A[ok + k + 1];
    let scale = 0;
    for (let j = k + 2; j < n; j++) {
      const t = Math.abs(A[ok + j]);
      if (t > scale) scale = t;
    }
    let tau = 0;
    v.fill(0, k, n);
    if (scale === 0) {
      e[k] = alpha;
    } else {
      const as = Math.abs(alpha);
      if (as > scale) scale = as;
      let ss = 0;
      for (let j = k + 1; j < n; j++) {
        const t = A[ok + j] / scale;
        ss += t * t;
      }
      const norm = scale * Math.sqrt(ss);
      const beta = alpha >= 0 ? -norm : norm;
      tau = (beta - alpha) / beta;
      const inv = 1 / (alpha - beta);
      v[k + 1] = 1;
      for (let j = k + 2; j < n; j++) v[j] = A[ok + j] * inv;
      e[k] = beta;
    }
    // 3. fused sweep over rows i > k: apply the pending update, accumulate s = A22 v
    p.fill(0, k, n);
    sweep(A, n, k + 1, vp, wp, v, p);
    // 4. w = tau s - (tau/2)(tau s . v) v  (stored in p), then it becomes the pending update
    if (tau !== 0) {
      let dot = 0;
      for (let j = k + 1; j < n; j++) {
        p[j] *= tau;
        dot += p[j] * v[j];
      }
      const h = 0.5 * tau * dot;
      for (let j = k + 1; j < n; j++) p[j] -= h * v[j];
    } else {
      p.fill(0, k, n);
    }
    let t = vp;
    vp = v;
    v = t;
    t = wp;
    wp = p;
    p = t;
  }
  const last = (n - 1) * n + n - 1;
  A[last] -= 2 * vp[n - 1] * wp[n - 1];
  d[n - 1] = A[last];
  e[n - 1] = 0;
}

/**
 * Rows r0..n-1 of the upper triangle: A[i, j] -= vp_i wp_j + wp_i vp_j (j >= i), and
 * s += A v with the updated values (symmetric: each off-diagonal element feeds s_i and s_j).
 * Four rows per pass over j (the j-indexed vectors are loaded once for four rows); the
 * 4 x 4 diagonal corner and the last 1-3 rows go through the scalar loop.
 */
function sweep(A: Float64Array, n: number, r0: number, vp: Float64Array, wp: Float64Array, v: Float64Array, s: Float64Array): void {
  let i = r0;
  for (; i + 3 < n; i += 4) {
    const o0 = i * n;
    const o1 = o0 + n;
    const o2 = o1 + n;
    const o3 = o2 + n;
    // corner: rows i..i+3, columns i..i+3 (upper part)
    for (let r = 0; r < 4; r++) {
      const or = o0 + r * n;
      const ar = vp[i + r];
      const br = wp[i + r];
      const vr = v[i + r];
      let acc = 0;
      for (let c = r; c < 4; c++) {
        const y = A[or + i + c] - (ar * wp[i + c] + br * vp[i + c]);
        A[or + i + c] = y;
        acc += y * v[i + c];
        if (c > r) s[i + c] += y * vr;
      }
      s[i + r] += acc;
    }
    const a0 = vp[i], a1 = vp[i + 1], a2 = vp[i + 2], a3 = vp[i + 3];
    const b0 = wp[i], b1 = wp[i + 1], b2 = wp[i + 2], b3 = wp[i + 3];
    const v0 = v[i], v1 = v[i + 1], v2 = v[i + 2], v3 = v[i + 3];
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = i + 4; j < n; j++) {
      const vj = vp[j];
      const wj = wp[j];
      const xj = v[j];
      const y0 = A[o0 + j] - (a0 * wj + b0 * vj);
      const y1 = A[o1 + j] - (a1 * wj + b1 * vj);
      const y2 = A[o2 + j] - (a2 * wj + b2 * vj);
      const y3 = A[o3 + j] - (a3 * wj + b3 * vj);
      A[o0 + j] = y0;
      A[o1 + j] = y1;
      A[o2 + j] = y2;
      A[o3 + j] = y3;
      s0 += y0 * xj;
      s1 += y1 * xj;
      s2 += y2 * xj;
      s3 += y3 * xj;
      s[j] += y0 * v0 + y1 * v1 + (y2 * v2 + y3 * v3);
    }
    s[i] += s0;
    s[i + 1] += s1;
    s[i + 2] += s2;
    s[i + 3] += s3;
  }
  for (; i < n; i++) {
    const o = i * n;
    const a = vp[i];
    const b = wp[i];
    const vi = v[i];
    let acc = 0;
    for (let j = i; j < n; j++) {
      const y = A[o + j] - (a * wp[j] + b * vp[j]);
      A[o + j] = y;
      acc += y * v[j];
      if (j > i) s[j] += y * vi;
    }
    s[i] += acc;
  }
}

/**
 * Eigenvalues of the symmetric tridiagonal (d, e) (e[k] couples k and k + 1; e[n-1] unused),
 * in place in d (unsorted); e is destroyed. Implicit QL with shifts, as EISPACK tql1.
 */
export function tql1(d: Float64Array, e: Float64Array, n: number): void {
  if (n === 0) return;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 200) throw new Error('symmetricEigenvalues: QL did not converge');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}

function hypot(a: number, b: number): number {
  const x = Math.abs(a);
  const y = Math.abs(b);
  if (x > y) {
    const t = y / x;
    return x * Math.sqrt(1 + t * t);
  }
  if (y === 0) return 0;
  const t = x / y;
  return y * Math.sqrt(1 + t * t);
}

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
  return symmetricEigenvalues(gramUpperTs(X, rows, len), rows, true);
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
