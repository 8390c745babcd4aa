/*
 * The fused training engine for dense networks: forward pass, explicit backpropagation, loss
 * gradient, L2, dropout and the optimizer update of one minibatch after another in one call
 * per epoch, plus the evaluation / snapshot forward pass, on one flat float32 parameter vector.
 * Compiled by scripts/build-wasm.sh (wasm32, SIMD128, atomics, shared memory) into
 * src/native/train-wasm.ts; driven by src/train/fused/engine.ts, which owns the memory layout
 * (src/train/fused/layout.ts mirrors the structs below field by field). The TypeScript/tfjs loop
 * (src/train/loop.ts) is the reference; test/fused.test.js checks the two agree.
 *
 * Freestanding: no libc, no allocation, no static mutable data. Every buffer lives in the
 * (imported, shared) linear memory at offsets chosen by the driver.
 *
 * Layout: activations and their gradients are "row-blocked": rows go in the four lanes of a
 * f32x4 vector, so element (r, j) of a rows x W matrix is at ((r / 4) W + j) 4 + r % 4, and a
 * minibatch is padded to a multiple of 8 rows (two blocks per register tile; padding rows are
 * zero and carry no gradient). Every layer width, however narrow, fills the lanes. Weights are
 * row-major fan_in x fan_out in the flat parameter vector, as everywhere in tdlab.
 *
 * Numerics follow the tfjs loop operation by operation in float32: z = (x W) + b; the
 * activation derivatives of src/model/activations.ts; dz_L = (softmax(z) - y) / B (or the
 * hinge gradient of tf.grads); g = g_ce + W l2 (hidden weights); Adam / SGD / momentum and
 * decoupled decay exactly as src/train/optimizer.ts orders them, with the per-step scalars
 * (lr / bc1, bc2, decay factor) computed by the driver in float64 and rounded to float32 as
 * tfjs rounds its scalar operands. No fused multiply-add, no relaxed SIMD.
 *
 * Determinism: each output of a product has one fixed summation order, whatever the tile, the
 * k block or the thread that computes it: z and the input gradient sum over k in order in one
 * accumulator (k blocks store and reload the exact partial sum); weight and bias gradients sum
 * the row blocks in order in each lane, then the lanes as (l0 + l1) + (l2 + l3). Threads split
 * outputs, never a sum, so results are bit-identical for any thread count and any timing.
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define INLINE static inline __attribute__((always_inline))

typedef v128_t v;

/* ---------------------------------------------------------------- structures (see layout.ts) */

enum { ACT_LINEAR = 0, ACT_TANH = 1, ACT_RELU = 2, ACT_SIGMOID = 3, ACT_SOFTSIGN = 4, ACT_SOFTPLUS = 5, ACT_ELU = 6 };
enum { KIND_DENSE = 0, KIND_DROPOUT = 1 };
enum { OPT_ADAM = 0, OPT_SGD = 1, OPT_MOMENTUM = 2 };
enum { DECAY_NONE = 0, DECAY_FLAT = 1, DECAY_TENSOR = 2 };
enum { JOB_QUIT = 0, JOB_GEMM = 1, JOB_WGRAD = 2, JOB_UPDATE = 3, JOB_EVAL = 4 };

typedef struct Layer {
  int kind;   /* KIND_DENSE / KIND_DROPOUT */
  int in;     /* input width */
  int out;    /* output width */
  int act;    /* ACT_*; the output layer is ACT_LINEAR (logits; softmax only at capture) */
  int w;      /* dense: float index of W (in x out, row-major) in theta / grad */
  int b;      /* dense: float index of b */
  int l2;     /* dense hidden layer: the L2 penalty applies to W */
  int decay;  /* dense: decoupled weight decay applies to W */
  float rate; /* dropout: probability of dropping a unit */
  float keep; /* dropout: float32(1 / (1 - rate)) */
  int drop;   /* dropout: index among the dropout layers (its generator states in stepRng) */
  float *Z;   /* training, blocked: batch x out pre-activations */
  float *H;   /* training, blocked: batch x out activations */
  float *mask;/* dropout, blocked: batch x out mask values (keep or 0) */
  float *E;   /* evaluation with capture: chunk x out activations, row-major */
  int pad;
} Layer;

/* One parallel job (written by the main thread before it bumps `gen`). */
typedef struct Job {
  int kind;
  const float *A; int K;          /* blocked A: nb blocks x K */
  const float *B; int bks, bis;   /* JOB_GEMM: scalar B(k, i) = B[k bks + i bis] */
  int M;                          /* JOB_GEMM: output width */
  int nb;                         /* row blocks (even) */
  float *C;                       /* JOB_GEMM: blocked output nb x M (partial sums between k blocks) */
  const float *bias;              /* JOB_GEMM: added per output unit at the end, or 0 */
  const float *D; int N;          /* JOB_WGRAD: blocked D nb x N */
  float *G;                       /* JOB_WGRAD: G = A^T D, K x N row-major */
  int byRows;                     /* JOB_GEMM: split row-block pairs among threads (else units) */
  int step;                       /* JOB_UPDATE: index into stepF */
  int r0, n, capture;             /* JOB_EVAL: rows [r0, r0 + n) of X, capture flag */
} Job;

typedef struct Net {
  int nLayers; Layer *L;
  int D, C, N, P;                 /* input width, classes, rows, parameters */
  const float *X; const int *labels; /* X blocked (rows padded to a multiple of 8), labels per row */
  float *theta, *grad, *m, *v;    /* v: Adam second moment; m: Adam first moment or SGD velocity */
  double *wmean, *wm2; int gsOn; int gsCount;
  int loss;                       /* 0 cross-entropy, 1 hinge */
  int opt, decay;                 /* OPT_*, DECAY_* */
  float beta1, omb1, beta2, omb2, eps, mom, l2;
  int batch; const int *perm; int nTrain;
  const float *stepF;             /* per step of the epoch: 4 floats (see update_range) */
  const unsigned *stepRng;        /* per step of the epoch: 4 words per dropout layer */
  int nDrop;
  const double *dropRate;         /* per dropout layer: the rate as a double (the draws compare uniform() >= rate) */
  float *Xb; int *Yb;             /* gathered minibatch, blocked: batch x D inputs; labels (-1 on padding rows) */
  float *dA, *dB;                 /* blocked batch x maxWidth gradient buffers */
  float *logits;                  /* evaluation: chunk x C, row-major */
  int chunk;                      /* evaluation rows per call (a multiple of 8) */
  float *eA, *eB;                 /* evaluation, blocked: chunk x maxWidth ping-pong buffers */
  float *pack; int packStride;    /* packed B panels: thread t's at pack + t packStride */
  int nThreads;
  int minPar;                     /* multiply-adds from which a product is split among threads */
  int gen, done;                  /* thread control (atomics) */
  Job job;
} Net;

/* ---------------------------------------------------------------- SIMD helpers */

INLINE v ld(const float *p) { return wasm_v128_load(p); }
INLINE void st(float *p, v x) { wasm_v128_store(p, x); }
INLINE v splat(float x) { return wasm_f32x4_splat(x); }
INLINE v add(v a, v b) { return wasm_f32x4_add(a, b); }
INLINE v sub(v a, v b) { return wasm_f32x4_sub(a, b); }
INLINE v mul(v a, v b) { return wasm_f32x4_mul(a, b); }
INLINE v dvd(v a, v b) { return wasm_f32x4_div(a, b); }
INLINE v vmax(v a, v b) { return wasm_f32x4_pmax(a, b); }
INLINE v vmin(v a, v b) { return wasm_f32x4_pmin(a, b); }
INLINE v vabs(v a) { return wasm_f32x4_abs(a); }
INLINE v sel(v mask, v a, v b) { return wasm_v128_bitselect(a, b, mask); }

/* ---------------------------------------------------------------- float32 math (verified by bench/fused-math.mjs) */

/*
 * exp(x): x = n ln2 + r, |r| <= ln2/2 (two-part ln2), e^r = 1 + r + r^2 Q(r) (weighted
 * least-squares fit, relative error 4e-9 before rounding), scaled by 2^n in two halves so that
 * results down to the subnormals and up to overflow (inf) come out right.
 */
static v exp4(v x) {
  x = vmin(vmax(x, splat(-104.0f)), splat(89.0f));
  v n = wasm_f32x4_nearest(mul(x, splat(1.44269504088896341f)));
  v r = sub(sub(x, mul(n, splat(0.693359375f))), mul(n, splat(-2.12194440e-4f)));
  v q = splat(0.0013751407386735082f);
  q = add(mul(q, r), splat(0.008368915878236294f));
  q = add(mul(q, r), splat(0.04166953265666962f));
  q = add(mul(q, r), splat(0.166665181517601f));
  q = add(mul(q, r), splat(0.49999988079071045f));
  v p = add(splat(1.0f), add(r, mul(mul(r, r), q)));
  v ni = wasm_i32x4_trunc_sat_f32x4(n);
  v n1 = wasm_i32x4_shr(ni, 1);
  v n2 = wasm_i32x4_sub(ni, n1);
  v s1 = wasm_i32x4_shl(wasm_i32x4_add(n1, wasm_i32x4_splat(127)), 23);
  v s2 = wasm_i32x4_shl(wasm_i32x4_add(n2, wasm_i32x4_splat(127)), 23);
  return mul(mul(p, s1), s2);
}

/*
 * e^y - 1 for y <= 0 with full relative accuracy near 0, branch-free: y = n ln2 + r, |r| <= ln2/2,
 * e^y - 1 = 2^n expm1(r) + (2^n - 1) with expm1(r) = r + r^2 Q(r) (fit error 5e-9); 2^n - 1 is
 * exact for n >= -24 and rounds to -1 below, where e^y - 1 = -1 in float32 anyway.
 */
static v expm1neg4(v y) {
  y = vmax(y, splat(-30.0f));
  const v n = wasm_f32x4_nearest(mul(y, splat(1.44269504088896341f)));
  const v r = sub(sub(y, mul(n, splat(0.693359375f))), mul(n, splat(-2.12194440e-4f)));
  v q = splat(0.0001985487760975957f);
  q = add(mul(q, r), splat(0.0013958258787170053f));
  q = add(mul(q, r), splat(0.008333413861691952f));
  q = add(mul(q, r), splat(0.04166611284017563f));
  q = add(mul(q, r), splat(0.1666666567325592f));
  q = add(mul(q, r), splat(0.5f));
  const v pm = add(r, mul(mul(r, r), q));
  const v sc = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return add(mul(sc, pm), sub(sc, splat(1.0f)));
}

/* tanh(x) = sign(x) t, t = -m / (2 + m) with m = e^{-2|x|} - 1 (exact identity; no cancellation near 0). */
static v tanh4(v x) {
  const v m = expm1neg4(mul(vabs(x), splat(-2.0f)));
  const v t = dvd(wasm_f32x4_neg(m), add(splat(2.0f), m));
  return wasm_v128_or(t, wasm_v128_and(x, wasm_i32x4_splat((int)0x80000000))); /* sign of x (tanh(-0) = -0) */
}

/* 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below (no overflow, full accuracy down to the subnormals). */
INLINE v sigmoid4(v x) {
  const v e = exp4(wasm_f32x4_neg(vabs(x)));
  const v d = add(splat(1.0f), e);
  return sel(wasm_f32x4_ge(x, splat(0.0f)), dvd(splat(1.0f), d), dvd(e, d));
}

/* log(x) for x in [1, 2]: x = m 2^e, m in [sqrt(1/2), sqrt(2)), log m = 2s + s^3 R(s^2), s = (m-1)/(m+1). */
static v log12(v x) {
  v big = wasm_f32x4_gt(x, splat(1.41421356f));
  v m = sel(big, mul(x, splat(0.5f)), x);
  v e = sel(big, splat(1.0f), splat(0.0f));
  v s = dvd(sub(m, splat(1.0f)), add(m, splat(1.0f)));
  v s2 = mul(s, s);
  v r = splat(0.298753023147583f);
  r = add(mul(r, s2), splat(0.3997737765312195f));
  r = add(mul(r, s2), splat(0.6666677594184875f));
  v lm = add(add(s, s), mul(mul(s, s2), r));
  /* e ln2 in two parts */
  return add(add(mul(e, splat(0.693359375f)), lm), mul(e, splat(-2.12194440e-4f)));
}

/* softplus(x) = max(x, 0) + log1p(e^{-|x|}); log1p(y) = log(u) - ((u - 1) - y) / u with u = 1 + y. */
static v softplus4(v x) {
  v y = exp4(wasm_f32x4_neg(vabs(x)));
  v u = add(splat(1.0f), y);
  v l = sub(log12(u), dvd(sub(sub(u, splat(1.0f)), y), u));
  return add(vmax(x, splat(0.0f)), l);
}

INLINE v relu4(v z) { return sel(wasm_f32x4_gt(z, splat(0.0f)), z, wasm_v128_and(z, wasm_f32x4_ne(z, z))); }
INLINE v softsign4(v x) { return dvd(x, add(vabs(x), splat(1.0f))); }
INLINE v elu4(v x) { return sel(wasm_f32x4_gt(x, splat(0.0f)), x, expm1neg4(vmin(x, splat(0.0f)))); }

/* d act / dz as src/model/activations.ts writes it (from z and h). */
static v dact4(int act, v z, v h) {
  const v one = splat(1.0f);
  switch (act) {
    case ACT_TANH: return sub(one, mul(h, h));
    case ACT_RELU: return wasm_v128_and(wasm_f32x4_gt(z, splat(0.0f)), one);
    case ACT_SIGMOID: return mul(h, sub(one, h));
    case ACT_SOFTSIGN: { v t = add(vabs(z), one); return dvd(one, mul(t, t)); }
    case ACT_SOFTPLUS: return sigmoid4(z);
    case ACT_ELU: return sel(wasm_f32x4_gt(z, splat(0.0f)), one, add(h, one));
    default: return one;
  }
}


/* ---------------------------------------------------------------- products on row-blocked matrices */

#define KC 256  /* k block: the 4 x KC values of B a tile column uses stay in L1 */
#define PC 32   /* row-block pairs per chunk: 256 rows x KC of A stay in L2 */

INLINE int imin(int a, int b) { return a < b ? a : b; }

/*
 * C[rb][i] = sum_k A[rb][k] B(k, i) (+ bias[i]) for row-block pairs [p0, p1) and output quads
 * [q0, q1) (units 4q .. 4q + 3): tiles of 2 row blocks x 4 units (8 accumulators), k in order.
 * B is either the job's strided B (units past M alias the last unit: computed, never stored) or,
 * when `pk` is set, packed panels: quad q at pk + q K 4, k-major, 4 units (padded by repeating
 * the last unit), so that a tile reads B sequentially.
 */
static void gemm_part(const Job *jb, const float *pk, int p0, int p1, int q0, int q1) {
  const int K = jb->K, M = jb->M;
  const int bks = pk ? 4 : jb->bks;
  const float *A = jb->A;
  float *C = jb->C;
  for (int pc = p0; pc < p1; pc += PC) {
    const int pe = imin(pc + PC, p1);
    for (int k0 = 0; k0 < K; k0 += KC) {
      const int kc = imin(K - k0, KC);
      const int first = k0 == 0, last = k0 + kc == K;
      for (int q = q0; q < q1; q++) {
        const int i = 4 * q, n = imin(4, M - i);
        const int u1 = imin(i + 1, M - 1), u2 = imin(i + 2, M - 1), u3 = imin(i + 3, M - 1);
        const float *b0, *b1, *b2, *b3;
        if (pk) {
          b0 = pk + (q * K + k0) * 4; b1 = b0 + 1; b2 = b0 + 2; b3 = b0 + 3;
        } else {
          const float *B = jb->B + k0 * bks;
          b0 = B + i * jb->bis; b1 = B + u1 * jb->bis; b2 = B + u2 * jb->bis; b3 = B + u3 * jb->bis;
        }
        for (int p = pc; p < pe; p++) {
          const int rb = 2 * p;
          const float *a0 = A + (rb * K + k0) * 4, *a1 = a0 + K * 4;
          float *c0 = C + (rb * M + i) * 4, *c1 = c0 + M * 4;
          v c00, c01, c02, c03, c10, c11, c12, c13;
          if (first) {
            c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = splat(0.0f);
          } else {
            /* the exact partial sums of the earlier k blocks (units past M: never stored, not read) */
            c00 = ld(c0); c10 = ld(c1);
            c01 = n > 1 ? ld(c0 + 4) : c00; c11 = n > 1 ? ld(c1 + 4) : c10;
            c02 = n > 2 ? ld(c0 + 8) : c00; c12 = n > 2 ? ld(c1 + 8) : c10;
            c03 = n > 3 ? ld(c0 + 12) : c00; c13 = n > 3 ? ld(c1 + 12) : c10;
          }
          for (int k = 0; k < kc; k++) {
            const v x0 = ld(a0 + 4 * k), x1 = ld(a1 + 4 * k);
            const v w0 = wasm_v128_load32_splat(b0 + k * bks), w1 = wasm_v128_load32_splat(b1 + k * bks);
            const v w2 = wasm_v128_load32_splat(b2 + k * bks), w3 = wasm_v128_load32_splat(b3 + k * bks);
            c00 = add(c00, mul(x0, w0)); c01 = add(c01, mul(x0, w1)); c02 = add(c02, mul(x0, w2)); c03 = add(c03, mul(x0, w3));
            c10 = add(c10, mul(x1, w0)); c11 = add(c11, mul(x1, w1)); c12 = add(c12, mul(x1, w2)); c13 = add(c13, mul(x1, w3));
          }
          if (last && jb->bias) {
            const float *bb = jb->bias;
            const v d0 = wasm_v128_load32_splat(bb + i), d1 = wasm_v128_load32_splat(bb + u1);
            const v d2 = wasm_v128_load32_splat(bb + u2), d3 = wasm_v128_load32_splat(bb + u3);
            c00 = add(c00, d0); c01 = add(c01, d1); c02 = add(c02, d2); c03 = add(c03, d3);
            c10 = add(c10, d0); c11 = add(c11, d1); c12 = add(c12, d2); c13 = add(c13, d3);
          }
          st(c0, c00); st(c1, c10);
          if (n > 1) { st(c0 + 4, c01); st(c1 + 4, c11); }
          if (n > 2) { st(c0 + 8, c02); st(c1 + 8, c12); }
          if (n > 3) { st(c0 + 12, c03); st(c1 + 12, c13); }
        }
      }
    }
  }
}

/* Packs quads [q0, q1) of the job's B (K x M, strided) into panels at pk (see gemm_part). */
static void pack_b(const Job *jb, float *pk, int q0, int q1) {
  const int K = jb->K, M = jb->M, bks = jb->bks, bis = jb->bis;
  for (int q = q0; q < q1; q++) {
    const float *B = jb->B;
    const int i = 4 * q;
    const int o0 = i * bis, o1 = imin(i + 1, M - 1) * bis, o2 = imin(i + 2, M - 1) * bis, o3 = imin(i + 3, M - 1) * bis;
    float *out = pk + q * K * 4;
    for (int k = 0; k < K; k++, B += bks, out += 4) {
      out[0] = B[o0]; out[1] = B[o1]; out[2] = B[o2]; out[3] = B[o3];
    }
  }
}

/* (l0 + l1) + (l2 + l3) */
INLINE float hsum(v x) {
  return (wasm_f32x4_extract_lane(x, 0) + wasm_f32x4_extract_lane(x, 1)) + (wasm_f32x4_extract_lane(x, 2) + wasm_f32x4_extract_lane(x, 3));
}

/*
 * G[k][j] = sum over rows of A(r, k) D(r, j) for k quads [q0, q1) (A blocked nb x K, D blocked
 * nb x N, G row-major K x N): tiles of 4 k x 2 j, lane sums over the row blocks in order, then
 * hsum. Indices past K or N alias the last one (computed, never stored). With `apk`/`dpk` the
 * operands come from contiguous panels (see pack_wgrad): A quad q at apk + q nb 16, D pair jp
 * at dpk + jp nb 8; otherwise they are read in place.
 */
static void wgrad_part(const Job *jb, const float *apk, const float *dpk, int q0, int q1) {
  const int K = jb->K, N = jb->N, nb = jb->nb;
  float *G = jb->G;
  for (int q = q0; q < q1; q++) {
    const int k = 4 * q, nk = imin(4, K - k);
    const int k1 = imin(k + 1, K - 1), k2 = imin(k + 2, K - 1), k3 = imin(k + 3, K - 1);
    for (int j = 0; j < N; j += 2) {
      const int j1 = imin(j + 1, N - 1);
      v s00 = splat(0.0f), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
      if (apk) {
        const float *a = apk + q * nb * 16, *d = dpk + (j / 2) * nb * 8;
        for (int rb = 0; rb < nb; rb++, a += 16, d += 8) {
          const v a0 = ld(a), a1 = ld(a + 4), a2 = ld(a + 8), a3 = ld(a + 12);
          const v d0 = ld(d), d1 = ld(d + 4);
          s00 = add(s00, mul(a0, d0)); s01 = add(s01, mul(a0, d1));
          s10 = add(s10, mul(a1, d0)); s11 = add(s11, mul(a1, d1));
          s20 = add(s20, mul(a2, d0)); s21 = add(s21, mul(a2, d1));
          s30 = add(s30, mul(a3, d0)); s31 = add(s31, mul(a3, d1));
        }
      } else {
        const float *a = jb->A, *d = jb->D;
        for (int rb = 0; rb < nb; rb++, a += K * 4, d += N * 4) {
          const v a0 = ld(a + 4 * k), a1 = ld(a + 4 * k1), a2 = ld(a + 4 * k2), a3 = ld(a + 4 * k3);
          const v d0 = ld(d + 4 * j), d1 = ld(d + 4 * j1);
          s00 = add(s00, mul(a0, d0)); s01 = add(s01, mul(a0, d1));
          s10 = add(s10, mul(a1, d0)); s11 = add(s11, mul(a1, d1));
          s20 = add(s20, mul(a2, d0)); s21 = add(s21, mul(a2, d1));
          s30 = add(s30, mul(a3, d0)); s31 = add(s31, mul(a3, d1));
        }
      }
      const int two = j + 1 < N;
      G[k * N + j] = hsum(s00); if (two) G[k * N + j + 1] = hsum(s01);
      if (nk > 1) { G[(k + 1) * N + j] = hsum(s10); if (two) G[(k + 1) * N + j + 1] = hsum(s11); }
      if (nk > 2) { G[(k + 2) * N + j] = hsum(s20); if (two) G[(k + 2) * N + j + 1] = hsum(s21); }
      if (nk > 3) { G[(k + 3) * N + j] = hsum(s30); if (two) G[(k + 3) * N + j + 1] = hsum(s31); }
    }
  }
}

/* Panels for wgrad_part: A quads [q0, q1) (indices past K repeat the last) and all D pairs. */
static void pack_wgrad(const Job *jb, float *apk, float *dpk, int q0, int q1) {
  const int K = jb->K, N = jb->N, nb = jb->nb;
  for (int q = q0; q < q1; q++) {
    const int k = 4 * q;
    const int o[4] = {k, imin(k + 1, K - 1), imin(k + 2, K - 1), imin(k + 3, K - 1)};
    float *out = apk + q * nb * 16;
    for (int rb = 0; rb < nb; rb++)
      for (int u = 0; u < 4; u++) st(out + rb * 16 + 4 * u, ld(jb->A + (rb * K + o[u]) * 4));
  }
  for (int j = 0; j < N; j += 2) {
    const int j1 = imin(j + 1, N - 1);
    float *out = dpk + (j / 2) * nb * 8;
    for (int rb = 0; rb < nb; rb++) {
      st(out + rb * 8, ld(jb->D + (rb * N + j) * 4));
      st(out + rb * 8 + 4, ld(jb->D + (rb * N + j1) * 4));
    }
  }
}

/* Products with at least this many B values use packed panels (smaller ones read B in place). */
#define PACK_MIN 4096

/* Thread t of T: its share of the job's outputs (packing the B panels it reads). */
static void gemm_thread(Net *net, const Job *jb, int t, int T) {
  const int pairs = jb->nb / 2, quads = (jb->M + 3) / 4;
  const int packed = jb->K * jb->M >= PACK_MIN;
  float *pk = packed ? net->pack + t * net->packStride : 0;
  if (jb->byRows) {
    if (pairs * t / T == pairs * (t + 1) / T) return;
    if (pk) pack_b(jb, pk, 0, quads);
    gemm_part(jb, pk, pairs * t / T, pairs * (t + 1) / T, 0, quads);
  } else {
    const int q0 = quads * t / T, q1 = quads * (t + 1) / T;
    if (pk) pack_b(jb, pk, q0, q1);
    gemm_part(jb, pk, 0, pairs, q0, q1);
  }
}

/* Weight gradients with at least this many multiply-adds read packed panels. */
#define WPACK_MIN 65536

static void wgrad_thread(Net *net, const Job *jb, int t, int T) {
  const int quads = (jb->K + 3) / 4, q0 = quads * t / T, q1 = quads * (t + 1) / T;
  if (q0 >= q1) return;
  if (4 * jb->nb * jb->K * jb->N >= WPACK_MIN) {
    /* this thread's A quads at their global positions, then every D pair */
    float *apk = net->pack + t * net->packStride;
    float *dpk = apk + quads * jb->nb * 16;
    pack_wgrad(jb, apk, dpk, q0, q1);
    wgrad_part(jb, apk, dpk, q0, q1);
  } else {
    wgrad_part(jb, 0, 0, q0, q1);
  }
}

/* ---------------------------------------------------------------- threads */

static void run_job(Net *net, int t, int T);

/*
 * The address of an atomic, hidden from the optimiser so that it is not folded into the
 * instruction's offset immediate: V8's baseline compiler (Liftoff, Node 20) lost wake-ups of
 * memory.atomic.notify / wait32 with a non-zero offset (measured: every other job of a worker
 * waited for a timeout; TurboFan code was correct).
 */
static inline int *atom(int *p) {
  __asm__ volatile("" : "+r"(p));
  return p;
}

static inline int aload(int *p) { return __atomic_load_n(atom(p), __ATOMIC_SEQ_CST); }

/*
 * Blocks until *p != old: a short spin, then futex waits. The waits are timed (`ns`), so that a
 * lost wake-up can only cost time, never hang the run.
 */
static void wait_change(int *p, int old, long long ns) {
  p = atom(p);
  for (int s = 0; s < 2000; s++) {
    if (__atomic_load_n(p, __ATOMIC_SEQ_CST) != old) return;
  }
  while (__atomic_load_n(p, __ATOMIC_SEQ_CST) == old) __builtin_wasm_memory_atomic_wait32(p, old, ns);
}

static void notify(int *p, int count) { __builtin_wasm_memory_atomic_notify(atom(p), count); }

/* Runs net->job on all threads (the caller is thread 0) and returns when every share is done. */
static void parallel(Net *net) {
  const int T = net->nThreads;
  if (T <= 1) { run_job(net, 0, 1); return; }
  __atomic_store_n(atom(&net->done), 0, __ATOMIC_SEQ_CST);
  __atomic_fetch_add(atom(&net->gen), 1, __ATOMIC_SEQ_CST);
  notify(&net->gen, T - 1);
  run_job(net, 0, T);
  for (;;) {
    const int d = aload(&net->done);
    if (d >= T - 1) break;
    wait_change(&net->done, d, 1000000LL);
  }
}

/* Worker thread t (1..nThreads-1): serves jobs until JOB_QUIT. */
EXPORT(worker_loop)
void worker_loop(Net *net, int t) {
  int seen = 0; /* gen starts at 0: a job posted before this worker got here is still seen */
  for (;;) {
    wait_change(&net->gen, seen, 20000000LL);
    seen = aload(&net->gen);
    const int quit = net->job.kind == JOB_QUIT;
    if (!quit) run_job(net, t, net->nThreads);
    __atomic_fetch_add(atom(&net->done), 1, __ATOMIC_SEQ_CST);
    notify(&net->done, 1);
    if (quit) return;
  }
}

/* Tells the workers to return from worker_loop. */
EXPORT(stop_workers)
void stop_workers(Net *net) {
  net->job.kind = JOB_QUIT;
  parallel(net);
}

/* ---------------------------------------------------------------- optimizer */

/*
 * Elements [n0, n1) of the update of step `s` (stepF[4 s ..]: f0 = lr / bc1 (Adam) or lr (SGD),
 * f1 = bc2 (Adam), f2 = decay factor (lr wd for DECAY_FLAT: p - (p m) (lr wd); 1 - lr wd for
 * DECAY_TENSOR: p (1 - lr wd)), each float32(double value) as tfjs rounds scalar operands.
 * `dmask` marks decayed elements via per-layer ranges, handled by the caller splitting ranges.
 */
static void update_range(Net *net, int n0, int n1, int decayed, const float *f) {
  float *p = net->theta, *g = net->grad, *m = net->m, *vv = net->v;
  const float f0 = f[0], f1 = f[1], f2 = f[2];
  int i = n0;
  /* decoupled decay first (PyTorch order) */
  if (decayed && net->decay == DECAY_FLAT) {
    for (; i + 4 <= n1; i += 4) { v x = ld(p + i); st(p + i, sub(x, mul(mul(x, splat(1.0f)), splat(f2)))); }
    for (; i < n1; i++) p[i] = p[i] - (p[i] * 1.0f) * f2;
  } else if (decayed && net->decay == DECAY_TENSOR) {
    for (; i + 4 <= n1; i += 4) st(p + i, mul(ld(p + i), splat(f2)));
    for (; i < n1; i++) p[i] = p[i] * f2;
  }
  i = n0;
  if (net->opt == OPT_ADAM) {
    const v b1 = splat(net->beta1), o1 = splat(net->omb1), b2 = splat(net->beta2), o2 = splat(net->omb2), ep = splat(net->eps);
    const v lrbc = splat(f0), bc2 = splat(f1);
    for (; i + 4 <= n1; i += 4) {
      const v gi = ld(g + i);
      const v mi = add(mul(ld(m + i), b1), mul(gi, o1));
      const v vi = add(mul(ld(vv + i), b2), mul(mul(gi, gi), o2));
      const v den = add(wasm_f32x4_sqrt(dvd(vi, bc2)), ep);
      st(m + i, mi); st(vv + i, vi);
      st(p + i, sub(ld(p + i), mul(dvd(mi, den), lrbc)));
    }
    for (; i < n1; i++) {
      const float gi = g[i];
      const float mi = m[i] * net->beta1 + gi * net->omb1;
      const float vi = vv[i] * net->beta2 + (gi * gi) * net->omb2;
      const float den = __builtin_sqrtf(vi / f1) + net->eps;
      m[i] = mi; vv[i] = vi;
      p[i] = p[i] - (mi / den) * f0;
    }
  } else if (net->opt == OPT_MOMENTUM) {
    const v mo = splat(net->mom), lr = splat(f0);
    for (; i + 4 <= n1; i += 4) {
      const v vel = add(mul(ld(m + i), mo), ld(g + i));
      st(m + i, vel);
      st(p + i, sub(ld(p + i), mul(vel, lr)));
    }
    for (; i < n1; i++) { const float vel = m[i] * net->mom + g[i]; m[i] = vel; p[i] = p[i] - vel * f0; }
  } else {
    const v lr = splat(f0);
    for (; i + 4 <= n1; i += 4) st(p + i, sub(ld(p + i), mul(ld(g + i), lr)));
    for (; i < n1; i++) p[i] = p[i] - g[i] * f0;
  }
}

/* Thread t's share of the update: every layer's W and b ranges split by element. */
static void update_thread(Net *net, int t, int T) {
  const float *f = net->stepF + 4 * net->job.step;
  for (int l = 0; l < net->nLayers; l++) {
    const Layer *ly = &net->L[l];
    if (ly->kind != KIND_DENSE) continue;
    const int nw = ly->in * ly->out;
    const int w0 = ly->w + (int)((long long)nw * t / T) / 4 * 4, w1 = t + 1 == T ? ly->w + nw : ly->w + (int)((long long)nw * (t + 1) / T) / 4 * 4;
    update_range(net, w0, w1, ly->decay, f);
    const int b0 = ly->b + (int)((long long)ly->out * t / T), b1 = ly->b + (int)((long long)ly->out * (t + 1) / T);
    update_range(net, b0, b1, 0, f);
  }
}


/* ---------------------------------------------------------------- dropout streams (src/util/prng.ts) */

typedef struct { unsigned a, b, c, d; } Xoshiro;

INLINE unsigned rotl(unsigned x, int k) { return (x << k) | (x >> (32 - k)); }

INLINE unsigned next_u32(Xoshiro *s) {
  const unsigned result = rotl(s->b * 5u, 7) * 9u;
  const unsigned t = s->b << 9;
  s->c ^= s->a; s->d ^= s->b; s->b ^= s->c; s->a ^= s->d; s->c ^= t;
  s->d = rotl(s->d, 11);
  return result;
}

/* Rng.uniform(): 53 random bits as a double in [0, 1). */
INLINE double uniform(Xoshiro *s) {
  const unsigned hi = next_u32(s) >> 5;
  const unsigned lo = next_u32(s) >> 6;
  return ((double)hi * 67108864.0 + (double)lo) / 9007199254740992.0;
}

/* C (blocked nb x M) = A (blocked nb x K) B(k, i) (+ bias); threads when large. */
static void gemm(Net *net, const float *A, int K, int nb, const float *B, int bks, int bis, int M, float *C, const float *bias) {
  Job *jb = &net->job;
  jb->kind = JOB_GEMM;
  jb->A = A; jb->K = K; jb->nb = nb; jb->B = B; jb->bks = bks; jb->bis = bis; jb->M = M; jb->C = C; jb->bias = bias;
  jb->byRows = (M + 3) / 4 < 2 * net->nThreads;
  if (net->nThreads > 1 && 4.0 * nb * M * K >= (double)net->minPar) parallel(net);
  else gemm_thread(net, jb, 0, 1);
}

/* G (K x N row-major) = A^T D over the nb row blocks; threads when large. */
static void wgrad(Net *net, const float *A, int K, const float *D, int N, int nb, float *G) {
  Job *jb = &net->job;
  jb->kind = JOB_WGRAD;
  jb->A = A; jb->K = K; jb->D = D; jb->N = N; jb->nb = nb; jb->G = G;
  if (net->nThreads > 1 && K >= 8 * net->nThreads && 4.0 * nb * N * K >= (double)net->minPar) parallel(net);
  else wgrad_thread(net, jb, 0, 1);
}

static void eval_part(Net *net, int r0, int n, int capture, int t, int T);

static void run_job(Net *net, int t, int T) {
  switch (net->job.kind) {
    case JOB_EVAL: eval_part(net, net->job.r0, net->job.n, net->job.capture, t, T); break;
    case JOB_GEMM: gemm_thread(net, &net->job, t, T); break;
    case JOB_WGRAD: wgrad_thread(net, &net->job, t, T); break;
    case JOB_UPDATE: update_thread(net, t, T); break;
  }
}


/* The tail (n % 4 elements) of an elementwise pass through a 4-lane function, via a local buffer. */
#define TAIL(EXPR_OF_LOADS)                                                              \
  if (i < n) {                                                                           \
    float xs[4] = {0, 0, 0, 0}, zs[4] = {0, 0, 0, 0}, hs[4] = {0, 0, 0, 0}, out[4];      \
    for (int k = 0; i + k < n; k++) { xs[k] = src[i + k]; if (Z) { zs[k] = Z[i + k]; hs[k] = H[i + k]; } } \
    const v x = ld(xs), zv = ld(zs), hv = ld(hs); (void)zv; (void)hv;                   \
    st(out, EXPR_OF_LOADS);                                                              \
    for (int k = 0; i + k < n; k++) dst[i + k] = out[k];                                 \
  }

/* y = act(x) elementwise over n contiguous floats (in place allowed); the switch is outside the loops. */
static void apply_act(int act, float *dst, const float *src, int n) {
  const float *Z = 0, *H = 0;
  int i = 0;
#define ACT_CASE(ID, F) case ID: for (; i + 4 <= n; i += 4) st(dst + i, F(ld(src + i))); TAIL(F(x)) return;
  switch (act) {
    ACT_CASE(ACT_TANH, tanh4)
    ACT_CASE(ACT_RELU, relu4)
    ACT_CASE(ACT_SIGMOID, sigmoid4)
    ACT_CASE(ACT_SOFTSIGN, softsign4)
    ACT_CASE(ACT_SOFTPLUS, softplus4)
    ACT_CASE(ACT_ELU, elu4)
    default: if (dst != src) for (; i < n; i++) dst[i] = src[i];
  }
#undef ACT_CASE
}

/* dst = src * d act(z, h) / dz elementwise over n (in place allowed). */
static void times_dact(int act, float *dst, const float *src, const float *Z, const float *H, int n) {
  int i = 0;
  if (act == ACT_LINEAR) {
    if (dst != src) for (; i < n; i++) dst[i] = src[i];
    return;
  }
#define DACT_CASE(ID) case ID: for (; i + 4 <= n; i += 4) st(dst + i, mul(ld(src + i), dact4(ID, ld(Z + i), ld(H + i)))); TAIL(mul(x, dact4(ID, zv, hv))) return;
  switch (act) {
    DACT_CASE(ACT_TANH)
    DACT_CASE(ACT_RELU)
    DACT_CASE(ACT_SIGMOID)
    DACT_CASE(ACT_SOFTSIGN)
    DACT_CASE(ACT_SOFTPLUS)
    DACT_CASE(ACT_ELU)
  }
#undef DACT_CASE
}

static void welford(Net *net) {
  const int n = ++net->gsCount;
  for (int l = 0; l < net->nLayers; l++) {
    const Layer *ly = &net->L[l];
    if (ly->kind != KIND_DENSE) continue;
    for (int i = ly->w; i < ly->w + ly->in * ly->out; i++) {
      const double gi = net->grad[i];
      const double delta = gi - net->wmean[i];
      net->wmean[i] += delta / n;
      net->wm2[i] += delta * (gi - net->wmean[i]);
    }
  }
}

/*
 * The gradient of the minibatch perm[r0 .. r0 + len) (dataset row indices) into net->grad:
 * cross-entropy (or hinge) gradient (Welford-accumulated when gsOn), then + l2 W on hidden
 * weights. `s` = step within the epoch (its dropout streams).
 */
/* ---------------------------------------------------------------- one minibatch */

INLINE int blk(int r, int w, int j) { return ((r >> 2) * w + j) * 4 + (r & 3); }

/*
 * Softmax over the C classes of each row of blocked logits z (nb blocks x C) into p: four rows
 * at a time, max, e = exp(z - max), sum in class order, e / sum.
 */
static void softmax_blocked(const float *z, float *p, int nb, int C) {
  for (int rb = 0; rb < nb; rb++) {
    const float *zr = z + rb * C * 4;
    float *pr = p + rb * C * 4;
    v mx = ld(zr);
    for (int c = 1; c < C; c++) { const v x = ld(zr + 4 * c); mx = sel(wasm_f32x4_gt(x, mx), x, mx); }
    v sum = splat(0.0f);
    for (int c = 0; c < C; c++) { const v e = exp4(sub(ld(zr + 4 * c), mx)); st(pr + 4 * c, e); sum = add(sum, e); }
    for (int c = 0; c < C; c++) st(pr + 4 * c, dvd(ld(pr + 4 * c), sum));
  }
}

/* dz of the output layer (blocked nb x C) for `len` rows: (softmax(z) - y) / len, or the hinge gradient; 0 on padding rows. */
static void loss_grad(Net *net, const float *Z, float *dz, int len, int nb) {
  const int C = net->C;
  const v B = splat((float)len);
  if (net->loss == 1) {
    const v inv = dvd(splat(1.0f), B); /* tf.mean's gradient: dy / size */
    for (int rb = 0; rb < nb; rb++) {
      const v y = wasm_v128_load(net->Yb + 4 * rb);
      const v s = sel(wasm_i32x4_eq(y, wasm_i32x4_splat(1)), splat(1.0f), splat(-1.0f));
      const v z0 = ld(Z + rb * 8), z1 = ld(Z + rb * 8 + 4);
      const v marg = sub(splat(1.0f), mul(s, sub(z1, z0)));
      /* relu'(0) = 0; padding rows (label -1) get no gradient */
      const v on = wasm_v128_and(wasm_f32x4_gt(marg, splat(0.0f)), wasm_i32x4_ge(y, wasm_i32x4_splat(0)));
      const v d = wasm_v128_and(on, inv);
      st(dz + rb * 8, mul(s, d));
      st(dz + rb * 8 + 4, wasm_f32x4_neg(mul(s, d)));
    }
    return;
  }
  softmax_blocked(Z, dz, nb, C);
  for (int rb = 0; rb < nb; rb++) {
    const v y = wasm_v128_load(net->Yb + 4 * rb);
    const v real = wasm_i32x4_ge(y, wasm_i32x4_splat(0));
    for (int c = 0; c < C; c++) {
      const v yc = wasm_v128_and(wasm_i32x4_eq(y, wasm_i32x4_splat(c)), splat(1.0f));
      st(dz + (rb * C + c) * 4, wasm_v128_and(dvd(sub(ld(dz + (rb * C + c) * 4), yc), B), real));
    }
  }
}

/* Column sums of blocked D (nb x N) into db: lane sums over the blocks in order, then hsum. */
static void colsum(const float *D, int N, int nb, float *db) {
  for (int j = 0; j < N; j++) {
    v s = splat(0.0f);
    for (int rb = 0; rb < nb; rb++) s = add(s, ld(D + (rb * N + j) * 4));
    db[j] = hsum(s);
  }
}

/* mask (blocked) = uniform() >= rate ? keep : 0, drawn in row-major order over len x w as layers.ts draws them; padding rows 0. */
static void fill_mask(float *mask, int len, int nb, int w, const unsigned *state, double rate, float keep) {
  Xoshiro s = {state[0], state[1], state[2], state[3]};
  for (int i = 0; i < nb * w * 4; i++) mask[i] = 0.0f;
  for (int r = 0; r < len; r++)
    for (int j = 0; j < w; j++) mask[blk(r, w, j)] = uniform(&s) >= rate ? keep : 0.0f;
}

/*
 * The gradient of the minibatch perm[r0 .. r0 + len) (dataset row indices) into net->grad:
 * cross-entropy (or hinge) gradient (Welford-accumulated when gsOn), then + l2 W on hidden
 * weights. `s` = step within the epoch (its dropout streams).
 */
static void batch_grad(Net *net, int r0, int len, int s) {
  const int D = net->D, nl = net->nLayers;
  const int nb = ((len + 7) / 8) * 2;
  /* gather (blocked), padding rows zero with label -1 */
  for (int i = 0; i < nb * D * 4; i++) net->Xb[i] = 0.0f;
  for (int r = 0; r < nb * 4; r++) net->Yb[r] = -1;
  for (int r = 0; r < len; r++) {
    const int row = net->perm[r0 + r];
    for (int k = 0; k < D; k++) net->Xb[blk(r, D, k)] = net->X[blk(row, D, k)];
    net->Yb[r] = net->labels[row];
  }
  /* forward */
  const float *h = net->Xb;
  for (int l = 0; l < nl; l++) {
    Layer *ly = &net->L[l];
    const int w = ly->out, n = nb * w * 4;
    if (ly->kind == KIND_DENSE) {
      gemm(net, h, ly->in, nb, net->theta + ly->w, w, 1, w, ly->Z, net->theta + ly->b);
    } else if (ly->rate > 0) {
      fill_mask(ly->mask, len, nb, w, net->stepRng + 4 * (s * net->nDrop + ly->drop), net->dropRate[ly->drop], ly->keep);
      for (int i = 0; i < n; i += 4) st(ly->Z + i, mul(ld(h + i), ld(ly->mask + i)));
    } else {
      for (int i = 0; i < n; i += 4) st(ly->Z + i, ld(h + i));
    }
    apply_act(ly->act, ly->H, ly->Z, n);
    h = ly->H;
  }
  /* backward from the output's logits (its Z) */
  float *dz = net->dA, *other = net->dB;
  loss_grad(net, net->L[nl - 1].Z, dz, len, nb);
  for (int l = nl - 1; l >= 0; l--) {
    Layer *ly = &net->L[l];
    const float *hin = l > 0 ? net->L[l - 1].H : net->Xb;
    const int w = ly->out, in = ly->in;
    if (ly->kind == KIND_DENSE) {
      wgrad(net, hin, in, dz, w, nb, net->grad + ly->w); /* dW = hin^T dz */
      colsum(dz, w, nb, net->grad + ly->b);               /* db */
      if (l == 0) break;
      gemm(net, dz, w, nb, net->theta + ly->w, 1, w, in, other, 0); /* dh = dz W^T: B(j, i) = W[i w + j] */
    } else {
      if (l == 0) break;
      const int n = nb * w * 4;
      if (ly->rate > 0) for (int i = 0; i < n; i += 4) st(other + i, mul(ld(dz + i), ld(ly->mask + i)));
      else for (int i = 0; i < n; i += 4) st(other + i, ld(dz + i));
    }
    /* through the activation of the layer below */
    const Layer *below = &net->L[l - 1];
    times_dact(below->act, other, other, below->Z, below->H, nb * in * 4);
    float *t = dz; dz = other; other = t;
  }
  if (net->gsOn) welford(net);
  if (net->l2 > 0) {
    for (int l = 0; l < nl; l++) {
      const Layer *ly = &net->L[l];
      if (ly->kind != KIND_DENSE || !ly->l2) continue;
      float *g = net->grad + ly->w;
      const float *wt = net->theta + ly->w;
      for (int i = 0; i < ly->in * ly->out; i++) g[i] = g[i] + wt[i] * net->l2;
    }
  }
}

/* The optimizer update of step `s` of the epoch from net->grad. */
static void apply_update(Net *net, int s) {
  net->job.kind = JOB_UPDATE;
  net->job.step = s;
  if (net->nThreads > 1 && net->P >= net->minPar / 64) parallel(net);
  else update_thread(net, 0, 1);
}

/*
 * Steps 0..steps-1 of an epoch: minibatch b covers perm[b batch .. min((b+1) batch, nTrain)).
 * The driver fills perm, stepF and stepRng for the epoch first.
 */
EXPORT(train_epoch)
void train_epoch(Net *net, int steps) {
  for (int s = 0; s < steps; s++) {
    const int r0 = s * net->batch;
    const int len = net->nTrain - r0 < net->batch ? net->nTrain - r0 : net->batch;
    batch_grad(net, r0, len, s);
    apply_update(net, s);
  }
}

/* ---------------------------------------------------------------- evaluation */

/*
 * Thread t of T's share of an evaluation pass: its row-block pairs through every layer (each
 * thread packs the weight panels it reads), then its rows of the outputs. Each thread works in
 * its own region of the ping-pong buffers (from its first row times the widest layer), so no
 * layer of one thread overlaps a layer of another whatever their widths or timing. Rows are
 * independent, so the split changes nothing in the values.
 */
static void eval_part(Net *net, int r0, int n, int capture, int t, int T) {
  const int pairs = (n + 7) / 8, p0 = pairs * t / T, p1 = pairs * (t + 1) / T;
  if (p0 >= p1) return;
  const int nl = net->nLayers, C = net->C, np = p1 - p0;
  int maxW = 0;
  for (int l = 0; l < nl; l++) maxW = net->L[l].out > maxW ? net->L[l].out : maxW;
  const int rlo = 8 * p0, rhi = imin(8 * p1, n);
  float *bufs[2] = {net->eA + p0 * 8 * maxW, net->eB + p0 * 8 * maxW};
  const float *h = net->X + (r0 + rlo) * net->D;
  for (int l = 0; l < nl; l++) {
    Layer *ly = &net->L[l];
    const int w = ly->out;
    float *out = bufs[l & 1];
    if (ly->kind == KIND_DENSE) {
      Job jb = {0};
      jb.A = h; jb.K = ly->in; jb.nb = 2 * np; jb.B = net->theta + ly->w; jb.bks = w; jb.bis = 1; jb.M = w; jb.C = out; jb.bias = net->theta + ly->b;
      const int packed = jb.K * jb.M >= PACK_MIN;
      float *pk = packed ? net->pack + t * net->packStride : 0;
      if (pk) pack_b(&jb, pk, 0, (w + 3) / 4);
      gemm_part(&jb, pk, 0, np, 0, (w + 3) / 4);
      apply_act(ly->act, out, out, np * 8 * w);
    } else {
      apply_act(ly->act, out, h, np * 8 * w);
    }
    if (l == nl - 1) {
      for (int r = rlo; r < rhi; r++)
        for (int c = 0; c < C; c++) net->logits[r * C + c] = out[blk(r - rlo, C, c)];
      if (capture) {
        float *p = bufs[(l + 1) & 1];
        softmax_blocked(out, p, 2 * np, C);
        for (int r = rlo; r < rhi; r++)
          for (int c = 0; c < C; c++) ly->E[r * C + c] = p[blk(r - rlo, C, c)];
      }
    } else if (capture) {
      for (int r = rlo; r < rhi; r++)
        for (int j = 0; j < w; j++) ly->E[r * w + j] = out[blk(r - rlo, w, j)];
    }
    h = out;
  }
}

/* Evaluation passes with at least this many multiply-adds are split among threads by rows. */
#define EVAL_PAR_MIN (1 << 23)

/*
 * Forward pass (no dropout) of rows [r0, r0 + n) of X (r0 a multiple of 8, n <= chunk): logits
 * into net->logits (n x C, row-major); with `capture`, every layer's activations into its E
 * buffer (n x width, row-major; the output layer as softmax).
 */
EXPORT(eval_rows)
void eval_rows(Net *net, int r0, int n, int capture) {
  double macs = 0;
  for (int l = 0; l < net->nLayers; l++) macs += (double)n * net->L[l].in * net->L[l].out;
  if (net->nThreads > 1 && macs >= EVAL_PAR_MIN && n >= 16 * net->nThreads) {
    net->job.kind = JOB_EVAL;
    net->job.r0 = r0; net->job.n = n; net->job.capture = capture;
    parallel(net);
  } else {
    eval_part(net, r0, n, capture, 0, 1);
  }
}

/* ---------------------------------------------------------------- driver checks and test entry points */

/* sizeof(Net) and sizeof(Layer) in bytes: the driver checks its mirror of the structs against them. */
EXPORT(struct_sizes)
int struct_sizes(void) { return (int)sizeof(Net) * 1000 + (int)sizeof(Layer); }

/* y = act(x) over n floats (the accuracy benchmark and tests call it). */
EXPORT(act_apply)
void act_apply(int act, float *dst, const float *src, int n) { apply_act(act, dst, src, n); }

/* The gradient (cross-entropy or hinge, + L2) of the rows perm[0 .. len) at step 0 of the epoch's tables, without an update. */
EXPORT(gradient)
void gradient(Net *net, int len) { batch_grad(net, 0, len, 0); }

/* The update of step 0 of the epoch's tables from net->grad as the driver wrote it. */
EXPORT(update)
void update(Net *net) { apply_update(net, 0); }

/* Benchmark entry points: the two product kernels on blocked operands (nb row blocks). */
EXPORT(gemm_test)
void gemm_test(Net *net, const float *A, int K, int nb, const float *B, int bks, int bis, int M, float *C) {
  gemm(net, A, K, nb, B, bks, bis, M, C, 0);
}

EXPORT(wgrad_test)
void wgrad_test(Net *net, const float *A, int K, const float *D, int N, int nb, float *G) { wgrad(net, A, K, D, N, nb, G); }
