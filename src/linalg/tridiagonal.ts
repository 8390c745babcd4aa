/*
 * Symmetric tridiagonal reductions and QL iterations (EISPACK/JAMA lineage), float64, row-major.
 * The public entry points are in eigen.ts; these are its building blocks.
 */

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
 * in place in d (unsorted); e is destroyed. Implicit QL with Wilkinson-type shifts (EISPACK
 * tql1). With `V` (n x n row-major, e.g. the Q of `tred2`) the rotations are also applied to
 * its columns, which then hold the eigenvectors (EISPACK tql2).
 */
export function ql(d: Float64Array, e: Float64Array, n: number, V: Float64Array | null = null): void {
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
        if (++iter > 200) throw new Error('QL iteration did not converge');
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
          if (V) {
            for (let k = 0; k < n; k++) {
              const ko = k * n;
              h = V[ko + i + 1];
              V[ko + i + 1] = s * V[ko + i] + c * h;
              V[ko + i] = c * V[ko + i] - s * h;
            }
          }
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


/** Householder tridiagonalisation (EISPACK tred2): V <- Q, d <- diagonal, e <- subdiagonal. */
export function tred2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j * n + i] = f;
        g = e[j] + V[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j] * d[k];
          e[k] += V[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k] + g * d[k];
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i];
    V[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1] * V[k * n + j];
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j];
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}
