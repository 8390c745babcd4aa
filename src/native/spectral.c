/*
 * Float64 kernels of the spectral metrics, compiled to WebAssembly with 128-bit SIMD
 * (f64x2). Built by scripts/build-wasm.sh into src/native/spectral-wasm.ts (base64), loaded by
 * src/native/spectral.ts. The TypeScript versions in src/linalg/ (tridiagonal.ts, gram.ts) are the reference
 * implementation of the same algorithms (and the fallback); test/native.test.js checks both agree.
 *
 * Freestanding: no libc, no allocation. The caller owns the linear memory (imported) and passes
 * byte offsets of its buffers. All matrices are row-major float64.
 *
 *  - gram_rows(X, rows, len, G, i0, i1): rows i0..i1 of G = X X^T, upper triangle (j >= i), X
 *    rows x len. Dot products along contiguous rows in blocks of KB elements (4 + 2 rows of a
 *    block stay in L1, JB rows in L2), 4 x 2 register tiles of f64x2 accumulators. Every G[i][j] sums in the same order (same blocks,
 *    same lanes), so identical rows give bit-identical dot products.
 *  - tridiag_step / tridiag_finish (A, n, d, e): the fused Householder reduction of eigen.ts (LAPACK dsytd2 on
 *    the upper triangle of a row-major array): the rank-2 update of step k-1 and the product
 *    A22 v of step k share one sweep, four rows at a time, vectorised along the rows.
 * The O(n^2) QL iteration on the tridiagonal stays in TypeScript (linalg/tridiagonal.ts ql): it is no
 * faster here (measured 115 ms against 100 ms at n = 2000).
 */
#include <wasm_simd128.h>

typedef __SIZE_TYPE__ size_t;

#define EXPORT(name) __attribute__((export_name(#name)))

static inline double dabs(double x) { return x < 0 ? -x : x; }
static inline double hsum(v128_t a) { return wasm_f64x2_extract_lane(a, 0) + wasm_f64x2_extract_lane(a, 1); }
static inline v128_t ld(const double *p) { return wasm_v128_load(p); }
static inline void st(double *p, v128_t v) { wasm_v128_store(p, v); }
static inline v128_t mul(v128_t a, v128_t b) { return wasm_f64x2_mul(a, b); }
static inline v128_t add(v128_t a, v128_t b) { return wasm_f64x2_add(a, b); }
static inline v128_t sub(v128_t a, v128_t b) { return wasm_f64x2_sub(a, b); }
static inline v128_t splat(double x) { return wasm_f64x2_splat(x); }
/*
 * c + a b, rounded twice (no FMA: WebAssembly SIMD has no fused multiply-add outside the
 * relaxed-SIMD proposal, whose results may differ between machines; measured gain ~15%).
 */
static inline v128_t madd(v128_t a, v128_t b, v128_t c) { return add(c, mul(a, b)); }

#define KB 256

/* Dot product of x[k0..k1) and y[k0..k1): pairs in two lanes, then the odd tail. */
static double dot(const double *x, const double *y, int k0, int k1) {
  v128_t acc = splat(0);
  int k = k0;
  for (; k + 1 < k1; k += 2) acc = madd(ld(x + k), ld(y + k), acc);
  double s = hsum(acc);
  if (k < k1) s += x[k] * y[k];
  return s;
}

/* Column block of gram_rows: JB rows of X times KB elements (256 KB) stay in L2. */
#define JB 128

/*
 * Rows i0..i1-1 of G = X X^T (upper triangle, j >= i; a few entries just below the diagonal are
 * written too), X rows x len. i0 must be a multiple of 4. The caller covers 0..rows in chunks so
 * that the engine's optimising tier takes over after the first chunk (there is no on-stack
 * replacement in WebAssembly: one long call would run in the baseline tier throughout).
 */
EXPORT(gram_rows)
void gram_rows(const double *X, int rows, int len, double *G, int i0, int i1) {
  for (size_t t = (size_t)i0 * rows; t < (size_t)i1 * rows; t++) G[t] = 0;
  const int q1 = i0 + ((i1 - i0) & ~3); /* end of the 4-row quads */
  for (int k0 = 0; k0 < len; k0 += KB) {
    const int k1 = k0 + KB < len ? k0 + KB : len;
    const int kv = k0 + ((k1 - k0) & ~1); /* end of the paired part */
    for (int jb = i0; jb < rows; jb += JB) {
      const int jb1 = jb + JB < rows ? jb + JB : rows;
      for (int i = i0; i < q1 && i < jb1; i += 4) {
        const double *p0 = X + (size_t)i * len;
        const double *p1 = p0 + len;
        const double *p2 = p1 + len;
        const double *p3 = p2 + len;
        int j = i > jb ? i : jb;
        for (; j + 1 < jb1; j += 2) {
          const double *q0 = X + (size_t)j * len;
          const double *q1p = q0 + len;
          v128_t c00 = splat(0), c01 = splat(0), c10 = splat(0), c11 = splat(0);
          v128_t c20 = splat(0), c21 = splat(0), c30 = splat(0), c31 = splat(0);
          for (int k = k0; k < kv; k += 2) {
            const v128_t y0 = ld(q0 + k), y1 = ld(q1p + k);
            const v128_t x0 = ld(p0 + k), x1 = ld(p1 + k), x2 = ld(p2 + k), x3 = ld(p3 + k);
            c00 = madd(x0, y0, c00);
            c01 = madd(x0, y1, c01);
            c10 = madd(x1, y0, c10);
            c11 = madd(x1, y1, c11);
            c20 = madd(x2, y0, c20);
            c21 = madd(x2, y1, c21);
            c30 = madd(x3, y0, c30);
            c31 = madd(x3, y1, c31);
          }
          double s00 = hsum(c00), s01 = hsum(c01), s10 = hsum(c10), s11 = hsum(c11);
          double s20 = hsum(c20), s21 = hsum(c21), s30 = hsum(c30), s31 = hsum(c31);
          if (kv < k1) {
            const double y0 = q0[kv], y1 = q1p[kv];
            s00 += p0[kv] * y0; s01 += p0[kv] * y1;
            s10 += p1[kv] * y0; s11 += p1[kv] * y1;
            s20 += p2[kv] * y0; s21 += p2[kv] * y1;
            s30 += p3[kv] * y0; s31 += p3[kv] * y1;
          }
          double *g = G + (size_t)i * rows + j;
          g[0] += s00; g[1] += s01;
          g[rows] += s10; g[rows + 1] += s11;
          g[2 * rows] += s20; g[2 * rows + 1] += s21;
          g[3 * rows] += s30; g[3 * rows + 1] += s31;
        }
        if (j < jb1) /* odd last row of X */
          for (int r = 0; r < 4; r++) G[(size_t)(i + r) * rows + j] += dot(X + (size_t)(i + r) * len, X + (size_t)j * len, k0, k1);
      }
    }
    for (int i = q1; i < i1; i++)
      for (int j = i; j < rows; j++) G[(size_t)i * rows + j] += dot(X + (size_t)i * len, X + (size_t)j * len, k0, k1);
  }
}

/*
 * Rows r0..n-1 of the upper triangle: A[i][j] -= vp_i wp_j + wp_i vp_j (j >= i), and
 * s += A v with the updated values (each off-diagonal element feeds s_i and s_j).
 */
__attribute__((noinline)) static void sweep(double *A, int n, int r0, const double *vp, const double *wp, const double *v, double *s) {
  int i = r0;
  for (; i + 3 < n; i += 4) {
    double *a0r = A + (size_t)i * n;
    double *a1r = a0r + n;
    double *a2r = a1r + n;
    double *a3r = a2r + n;
    /* 4 x 4 corner (upper part), scalar */
    for (int r = 0; r < 4; r++) {
      double *ar = a0r + (size_t)r * n;
      const double pa = vp[i + r], pb = wp[i + r], vr = v[i + r];
      double acc = 0;
      for (int c = r; c < 4; c++) {
        const double y = ar[i + c] - (pa * wp[i + c] + pb * vp[i + c]);
        ar[i + c] = y;
        acc += y * v[i + c];
        if (c > r) s[i + c] += y * vr;
      }
      s[i + r] += acc;
    }
    const v128_t a0 = splat(vp[i]), a1 = splat(vp[i + 1]), a2 = splat(vp[i + 2]), a3 = splat(vp[i + 3]);
    const v128_t b0 = splat(wp[i]), b1 = splat(wp[i + 1]), b2 = splat(wp[i + 2]), b3 = splat(wp[i + 3]);
    const v128_t v0 = splat(v[i]), v1 = splat(v[i + 1]), v2 = splat(v[i + 2]), v3 = splat(v[i + 3]);
    v128_t s0 = splat(0), s1 = splat(0), s2 = splat(0), s3 = splat(0);
    int j = i + 4;
    for (; j + 1 < n; j += 2) {
      const v128_t vj = ld(vp + j), wj = ld(wp + j), xj = ld(v + j);
      const v128_t y0 = sub(sub(ld(a0r + j), mul(b0, vj)), mul(a0, wj));
      const v128_t y1 = sub(sub(ld(a1r + j), mul(b1, vj)), mul(a1, wj));
      const v128_t y2 = sub(sub(ld(a2r + j), mul(b2, vj)), mul(a2, wj));
      const v128_t y3 = sub(sub(ld(a3r + j), mul(b3, vj)), mul(a3, wj));
      st(a0r + j, y0);
      st(a1r + j, y1);
      st(a2r + j, y2);
      st(a3r + j, y3);
      s0 = madd(y0, xj, s0);
      s1 = madd(y1, xj, s1);
      s2 = madd(y2, xj, s2);
      s3 = madd(y3, xj, s3);
      st(s + j, madd(y3, v3, madd(y2, v2, madd(y1, v1, madd(y0, v0, ld(s + j))))));
    }
    double t0 = hsum(s0), t1 = hsum(s1), t2 = hsum(s2), t3 = hsum(s3);
    if (j < n) {
      const double vj = vp[j], wj = wp[j], xj = v[j];
      const double y0 = a0r[j] - (vp[i] * wj + wp[i] * vj);
      const double y1 = a1r[j] - (vp[i + 1] * wj + wp[i + 1] * vj);
      const double y2 = a2r[j] - (vp[i + 2] * wj + wp[i + 2] * vj);
      const double y3 = a3r[j] - (vp[i + 3] * wj + wp[i + 3] * vj);
      a0r[j] = y0;
      a1r[j] = y1;
      a2r[j] = y2;
      a3r[j] = y3;
      t0 += y0 * xj;
      t1 += y1 * xj;
      t2 += y2 * xj;
      t3 += y3 * xj;
      s[j] += y0 * v[i] + y1 * v[i + 1] + (y2 * v[i + 2] + y3 * v[i + 3]);
    }
    s[i] += t0;
    s[i + 1] += t1;
    s[i + 2] += t2;
    s[i + 3] += t3;
  }
  for (; i < n; i++) {
    double *o = A + (size_t)i * n;
    const double pa = vp[i], pb = wp[i], vi = v[i];
    double acc = 0;
    for (int j = i; j < n; j++) {
      const double y = o[j] - (pa * wp[j] + pb * vp[j]);
      o[j] = y;
      acc += y * v[j];
      if (j > i) s[j] += y * vi;
    }
    s[i] += acc;
  }
}

static void fill0(double *x, int a, int b) {
  for (int j = a; j < b; j++) x[j] = 0;
}

/*
 * Householder reduction of the upper triangle of A (n x n) to tridiagonal d[0..n-1],
 * e[0..n-2], one step per call (k = 0..n-2, then tridiag_finish); A is destroyed. work: 4 n
 * doubles, zeroed by the caller before step 0. Step k's Householder vector and the pending
 * rank-2 update alternate between the two halves of each pair of work vectors.
 */
EXPORT(tridiag_step)
void tridiag_step(double *A, int n, int k, double *d, double *e, double *work) {
  double *vp = work + (size_t)(k & 1) * n, *v = work + (size_t)((k + 1) & 1) * n;
  double *wp = work + (size_t)(2 + (k & 1)) * n, *p = work + (size_t)(2 + ((k + 1) & 1)) * n;
  double *row = A + (size_t)k * n;
  {
    const double a = vp[k], b = wp[k];
    if (a != 0 || b != 0)
      for (int j = k; j < n; j++) row[j] -= a * wp[j] + b * vp[j];
  }
  d[k] = row[k];
  const double alpha = row[k + 1];
  double scale = 0;
  for (int j = k + 2; j < n; j++) {
    const double t = dabs(row[j]);
    if (t > scale) scale = t;
  }
  double tau = 0;
  fill0(v, k, n);
  if (scale == 0) {
    e[k] = alpha;
  } else {
    const double as = dabs(alpha);
    if (as > scale) scale = as;
    double ss = 0;
    for (int j = k + 1; j < n; j++) {
      const double t = row[j] / scale;
      ss += t * t;
    }
    const double norm = scale * __builtin_sqrt(ss);
    const double beta = alpha >= 0 ? -norm : norm;
    tau = (beta - alpha) / beta;
    const double inv = 1 / (alpha - beta);
    v[k + 1] = 1;
    for (int j = k + 2; j < n; j++) v[j] = row[j] * inv;
    e[k] = beta;
  }
  fill0(p, k, n);
  sweep(A, n, k + 1, vp, wp, v, p);
  if (tau != 0) {
    double dt = 0;
    for (int j = k + 1; j < n; j++) {
      p[j] *= tau;
      dt += p[j] * v[j];
    }
    const double h = 0.5 * tau * dt;
    for (int j = k + 1; j < n; j++) p[j] -= h * v[j];
  } else {
    fill0(p, k, n);
  }
}

/* The last diagonal entry, after tridiag_step for k = 0..n-2. */
EXPORT(tridiag_finish)
void tridiag_finish(double *A, int n, double *d, double *e, double *work) {
  const int k = n - 1; /* the pending update was left in the halves tridiag_step(k) would read */
  const double *vp = work + (size_t)(k & 1) * n, *wp = work + (size_t)(2 + (k & 1)) * n;
  const size_t last = (size_t)(n - 1) * n + n - 1;
  A[last] -= 2 * vp[n - 1] * wp[n - 1];
  d[n - 1] = A[last];
  e[n - 1] = 0;
}

/*
 * Dense products for the exact Hessian-vector products of curv.hessian (src/metrics/model/
 * curvature.ts; its TypeScript loops are the reference and the fallback). Row-major float64,
 * accumulating into C; each call covers rows r0..r1 of C (the caller chunks, see gram_rows on
 * tiering). 4 x 4 register tiles (8 f64x2 accumulators); k steps whose four A values are all 0
 * are skipped (raw image inputs are mostly zeros, ReLU activations often).
 *  - nn: C (n x b) += A (n x a) B (a x b): pack_b(B), then gemm_packed(trans = 0);
 *  - tn: C (a x b) += A^T B with A n x a, B n x b: pack_b(B), then gemm_packed(trans = 1);
 *  - gemm_nt: C (n x a) += A (n x b) B^T with B a x b (dot products along rows).
 */
/*
 * gemm_nn and gemm_tn on packed panels. pack_b copies B (K x b, row-major) into column panels of
 * 4 (P[(j / 4) K 4 + 4 k + c] = B[k][j + c], zero past column b) once per product; gemm_packed
 * then copies the four C rows' operand into a contiguous panel pa (4 values per k: element
 * (row i + r, k) of A for nn, A[k][i + r] for tn, zero past the last row), keeping in kidx only
 * the k whose four values are not all zero, and runs the 4 x 4 tile over those k: every C entry
 * is C + a_0 b_0 + a_1 b_1 + ... in ascending k, the order of the TypeScript loops. Skipping all-
 * zero quads at packing time costs dense data nothing in the inner loop. Both panels are read
 * sequentially, so the tn shape (C = A^T B with long columns) runs as fast as nn.
 */
EXPORT(pack_b)
void pack_b(const double *B, int K, int b, double *P) {
  for (int j = 0; j < b; j += 4) {
    double *q = P + (size_t)j * K;
    const int w = b - j < 4 ? b - j : 4;
    for (int k = 0; k < K; k++) {
      const double *src = B + (size_t)k * b + j;
      int c = 0;
      for (; c < w; c++) q[4 * k + c] = src[c];
      for (; c < 4; c++) q[4 * k + c] = 0;
    }
  }
}

/* A 4 x 4 block of C (row stride ldc) in 8 accumulators, and one k step: s += x[0..3]^T y[0..3]. */
static inline void tile_load(v128_t s[8], const double *c, int ldc) {
  for (int r = 0; r < 4; r++) {
    s[2 * r] = ld(c + (size_t)r * ldc);
    s[2 * r + 1] = ld(c + (size_t)r * ldc + 2);
  }
}

static inline void tile_store(const v128_t s[8], double *c, int ldc) {
  for (int r = 0; r < 4; r++) {
    st(c + (size_t)r * ldc, s[2 * r]);
    st(c + (size_t)r * ldc + 2, s[2 * r + 1]);
  }
}

static inline void tile_step(v128_t s[8], const double *x, const double *y) {
  const v128_t y0 = ld(y), y1 = ld(y + 2);
  for (int r = 0; r < 4; r++) {
    const v128_t v = wasm_v128_load64_splat(x + r);
    s[2 * r] = madd(v, y0, s[2 * r]);
    s[2 * r + 1] = madd(v, y1, s[2 * r + 1]);
  }
}

/* The tile c += pa^T q over K steps (pa: 4 values per step, q: 4 per step); inlined (a call measured 13 against 17.5 GFLOP/s). */
static inline void tile_dense(const double *x, const double *y, int K, double *c, int ldc) {
  v128_t s[8];
  tile_load(s, c, ldc);
  for (int k = 0; k < K; k++, x += 4, y += 4) tile_step(s, x, y);
  tile_store(s, c, ldc);
}

/* tile_dense over the cnt steps listed in kidx (x holds their 4 values each, packed). */
static inline void tile_sparse(const double *x, const double *q, const int *kidx, int cnt, double *c, int ldc) {
  v128_t s[8];
  tile_load(s, c, ldc);
  for (int t = 0; t < cnt; t++, x += 4) tile_step(s, x, q + 4 * (size_t)kidx[t]);
  tile_store(s, c, ldc);
}

/*
 * C rows r0..r1 (r0 a multiple of 4) += op(A) B, with B given as its packed panels P (pack_b, K x b).
 * trans = 0: A is rowsC x K (nn, C = A B); trans = 1: A is K x rowsC (tn, C = A^T B).
 * pa: 4 K doubles and kidx: K ints of scratch. Rows past rowsC read as zero.
 */
static const double zeros[1] = {0};

/* Packs the panel of C rows i..i+3 (see gemm_packed) into pa / kidx; returns the number of k kept. */
static int pack_panel(const double *A, int trans, int K, int rowsC, int i, double *pa, int *kidx) {
  const int h = rowsC - i < 4 ? rowsC - i : 4;
  /* rows (or columns, trans) i..i+3 of A: stride `step` between k, `next` between rows */
  const size_t step = trans ? (size_t)rowsC : 1, next = trans ? 1 : (size_t)K;
  const double *a0 = A + (trans ? (size_t)i : (size_t)i * K);
  const double *a1 = h > 1 ? a0 + next : zeros, *a2 = h > 2 ? a0 + 2 * next : zeros, *a3 = h > 3 ? a0 + 3 * next : zeros;
  const size_t s1 = h > 1 ? step : 0, s2 = h > 2 ? step : 0, s3 = h > 3 ? step : 0;
  int cnt = 0;
  for (int k = 0; k < K; k++, a0 += step, a1 += s1, a2 += s2, a3 += s3) {
    const double x0 = *a0, x1 = *a1, x2 = *a2, x3 = *a3;
    double *d = pa + 4 * (size_t)cnt;
    d[0] = x0; d[1] = x1; d[2] = x2; d[3] = x3;
    kidx[cnt] = k;
    cnt += (x0 != 0) | (x1 != 0) | (x2 != 0) | (x3 != 0); /* an all-zero quad is overwritten */
  }
  return cnt;
}

/* C rows i..i+3 (fewer at the end) += the packed panel (pa, kidx, cnt) times the packed B panels P. */
static void panel_product(const double *pa, const int *kidx, int cnt, int K, const double *P, double *C, int rowsC, int b, int i) {
  const int h = rowsC - i < 4 ? rowsC - i : 4;
  double *c0 = C + (size_t)i * b;
  for (int j = 0; j < b; j += 4) {
    const int w = b - j < 4 ? b - j : 4;
    const double *q = P + (size_t)j * K;
    if (h == 4 && w == 4) {
      if (cnt == K) tile_dense(pa, q, K, c0 + j, b);
      else tile_sparse(pa, q, kidx, cnt, c0 + j, b);
    } else {
      double t[16] = {0};
      for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) t[4 * r + c] = c0[(size_t)r * b + j + c];
      if (cnt == K) tile_dense(pa, q, K, t, 4);
      else tile_sparse(pa, q, kidx, cnt, t, 4);
      for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) c0[(size_t)r * b + j + c] = t[4 * r + c];
    }
  }
}

EXPORT(gemm_packed)
void gemm_packed(const double *A, int trans, int K, const double *P, double *C, int rowsC, int b, int r0, int r1, double *pa, int *kidx) {
  for (int i = r0; i < r1; i += 4) panel_product(pa, kidx, pack_panel(A, trans, K, rowsC, i, pa, kidx), K, P, C, rowsC, b, i);
}

/*
 * A left operand used in many products (the Hessian's inputs and activations) packed once:
 * panel p (C rows 4p..4p+3) at PA + 4 K p doubles, its kept k at KIDX + K p, their count CNT[p];
 * pack_a covers C rows r0..r1 (r0 a multiple of 4). gemm_prepacked is gemm_packed on them.
 */
EXPORT(pack_a)
void pack_a(const double *A, int trans, int K, int rowsC, int r0, int r1, double *PA, int *KIDX, int *CNT) {
  for (int i = r0; i < r1; i += 4) CNT[i / 4] = pack_panel(A, trans, K, rowsC, i, PA + (size_t)i * K, KIDX + (size_t)(i / 4) * K);
}

EXPORT(gemm_prepacked)
void gemm_prepacked(const double *PA, const int *KIDX, const int *CNT, int K, const double *P, double *C, int rowsC, int b, int r0, int r1) {
  for (int i = r0; i < r1; i += 4) panel_product(PA + (size_t)i * K, KIDX + (size_t)(i / 4) * K, CNT[i / 4], K, P, C, rowsC, b, i);
}

/*
 * CKA's feature-space Gram (src/metrics/similarity/cka.ts). col_means: column means of the n x d
 * row-major block src (sums in ascending row order, then / n, as cka.ts columnMeans).
 * centre_pack: the centred values src[i][j] - mean[j] of rows i0..i1 written as features at + j of
 * Z = [X_c Y_c]^T in packed panels of 4 features (dst[(f / 4) 4 n + 4 i + f % 4] for feature f,
 * as pack_b lays out B), so that gram_packed runs the 4 x 4 tile of the products on it; with
 * sq_on, sq[i] += sum_j (src[i][j] - mean[j])^2 in ascending j (the centred rows' squared norms).
 * The caller chunks the rows (see gram_rows on tiering).
 */
EXPORT(col_means)
void col_means(const double *src, int n, int d, double *mean) {
  for (int j = 0; j < d; j++) mean[j] = 0;
  for (int i = 0; i < n; i++) {
    const double *row = src + (size_t)i * d;
    for (int j = 0; j < d; j++) mean[j] += row[j];
  }
  for (int j = 0; j < d; j++) mean[j] /= n;
}

EXPORT(centre_pack)
void centre_pack(const double *src, int d, const double *mean, double *dst, int n, int at, double *sq, int sq_on, int i0, int i1) {
  for (int i = i0; i < i1; i++) {
    const double *row = src + (size_t)i * d;
    double s = sq_on ? sq[i] : 0;
    for (int j = 0; j < d; j++) {
      const int f = at + j;
      const double v = row[j] - mean[j];
      dst[(size_t)(f >> 2) * 4 * n + 4 * (size_t)i + (f & 3)] = v;
      s += v * v;
    }
    if (sq_on) sq[i] = s;
  }
}

/* Steps (rows of Z's panels) per block of gram_packed: 4 features x 256 steps = 8 KB per panel. */
#define GB 256

/*
 * Panel rows I0..I1 of G = Z Z^T (upper triangle by 4 x 4 tiles, J >= I; G is 4 np x 4 np with
 * row stride ldg = 4 np) from the np packed panels of centre_pack (n steps each). Every entry is
 * the sum over ascending i, in blocks of GB steps (one panel's block stays in L1, all panels'
 * blocks in L2).
 */
EXPORT(gram_packed)
void gram_packed(const double *Z, int np, int n, double *G, int I0, int I1) {
  const int ldg = 4 * np;
  for (size_t t = (size_t)I0 * 4 * ldg; t < (size_t)I1 * 4 * ldg; t++) G[t] = 0;
  for (int k0 = 0; k0 < n; k0 += GB) {
    const int kb = n - k0 < GB ? n - k0 : GB;
    for (int I = I0; I < I1; I++) {
      const double *x = Z + (size_t)I * 4 * n + 4 * (size_t)k0;
      for (int J = I; J < np; J++) tile_dense(x, Z + (size_t)J * 4 * n + 4 * (size_t)k0, kb, G + (size_t)I * 4 * ldg + 4 * (size_t)J, ldg);
    }
  }
}

EXPORT(gemm_nt)
void gemm_nt(const double *A, const double *B, double *C, int n, int a, int b, int r0, int r1) {
  (void)n;
  const int kv = b & ~1;
  int i = r0;
  for (; i + 3 < r1; i += 4) {
    const double *a0 = A + (size_t)i * b, *a1 = a0 + b, *a2 = a1 + b, *a3 = a2 + b;
    double *c0 = C + (size_t)i * a;
    int k = 0;
    for (; k + 1 < a; k += 2) {
      const double *q0 = B + (size_t)k * b, *q1 = q0 + b;
      v128_t s00 = splat(0), s01 = splat(0), s10 = splat(0), s11 = splat(0);
      v128_t s20 = splat(0), s21 = splat(0), s30 = splat(0), s31 = splat(0);
      for (int j = 0; j < kv; j += 2) {
        const v128_t y0 = ld(q0 + j), y1 = ld(q1 + j);
        v128_t x = ld(a0 + j);
        s00 = madd(x, y0, s00); s01 = madd(x, y1, s01);
        x = ld(a1 + j);
        s10 = madd(x, y0, s10); s11 = madd(x, y1, s11);
        x = ld(a2 + j);
        s20 = madd(x, y0, s20); s21 = madd(x, y1, s21);
        x = ld(a3 + j);
        s30 = madd(x, y0, s30); s31 = madd(x, y1, s31);
      }
      double t00 = hsum(s00), t01 = hsum(s01), t10 = hsum(s10), t11 = hsum(s11);
      double t20 = hsum(s20), t21 = hsum(s21), t30 = hsum(s30), t31 = hsum(s31);
      if (kv < b) {
        const double y0 = q0[kv], y1 = q1[kv];
        t00 += a0[kv] * y0; t01 += a0[kv] * y1; t10 += a1[kv] * y0; t11 += a1[kv] * y1;
        t20 += a2[kv] * y0; t21 += a2[kv] * y1; t30 += a3[kv] * y0; t31 += a3[kv] * y1;
      }
      c0[k] += t00; c0[k + 1] += t01;
      c0[a + k] += t10; c0[a + k + 1] += t11;
      c0[2 * a + k] += t20; c0[2 * a + k + 1] += t21;
      c0[3 * a + k] += t30; c0[3 * a + k + 1] += t31;
    }
    for (; k < a; k++) {
      const double *q = B + (size_t)k * b;
      c0[k] += dot(a0, q, 0, b); c0[a + k] += dot(a1, q, 0, b);
      c0[2 * a + k] += dot(a2, q, 0, b); c0[3 * a + k] += dot(a3, q, 0, b);
    }
  }
  for (; i < r1; i++) {
    const double *ai = A + (size_t)i * b;
    double *ci = C + (size_t)i * a;
    for (int k = 0; k < a; k++) ci[k] += dot(ai, B + (size_t)k * b, 0, b);
  }
}
