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
 * Numerics follow the tfjs loop operation by operation in float32: z = (x W) + b; the
 * activation derivatives of src/model/activations.ts; dz_L = (softmax(z) - y) / B (or the
 * hinge gradient of tf.grads); g = g_ce + W l2 (hidden weights); Adam / SGD / momentum and
 * decoupled decay exactly as src/train/optimizer.ts orders them, with the per-step scalars
 * (lr / bc1, bc2, decay factor) computed by the driver in float64 and rounded to float32 as
 * tfjs rounds its scalar operands. No fused multiply-add, no relaxed SIMD.
 *
 * Determinism: every output element of every matrix product is one float32 accumulator summed
 * over k = 0..K-1 in order (k blocks store and reload the exact partial sum), whatever the tile,
 * the k block or the thread that computes it. Threads split output tiles, never a sum, so
 * results are bit-identical for any thread count and any timing.
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define INLINE static inline __attribute__((always_inline))

typedef v128_t v;

/* ---------------------------------------------------------------- structures (see layout.ts) */

enum { ACT_LINEAR = 0, ACT_TANH = 1, ACT_RELU = 2, ACT_SIGMOID = 3, ACT_SOFTSIGN = 4, ACT_SOFTPLUS = 5, ACT_ELU = 6, ACT_SOFTMAX = 7 };
enum { KIND_DENSE = 0, KIND_DROPOUT = 1 };
enum { OPT_ADAM = 0, OPT_SGD = 1, OPT_MOMENTUM = 2 };
enum { DECAY_NONE = 0, DECAY_FLAT = 1, DECAY_TENSOR = 2 };
enum { JOB_QUIT = 0, JOB_GEMM = 1, JOB_UPDATE = 2 };

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
  float *Z;   /* training: batch x out pre-activations */
  float *H;   /* training: batch x out activations */
  float *mask;/* dropout: batch x out mask values (keep or 0) */
  float *E;   /* evaluation: chunk x out activations */
  int pad;
} Layer;

/* One parallel job (written by the main thread before it bumps `gen`). */
typedef struct Job {
  int kind;
  const float *A; int ars, acs;   /* A(i, k) = A[i ars + k acs] */
  const float *B; int brs, bcs;   /* B(k, j) = B[k brs + j bcs] */
  int M, N, K;
  float *C; int ldc;              /* output (partial sums between k blocks) */
  const float *bias;              /* added to every row at the end, or 0 */
  int byRows;                     /* split M among threads (else N panels) */
  int n0, n1;                     /* JOB_UPDATE: element range of theta */
  int step;                       /* JOB_UPDATE: index into stepF */
} Job;

typedef struct Net {
  int nLayers; Layer *L;
  int D, C, N, P;                 /* input width, classes, rows, parameters */
  const float *X; const int *labels;
  float *theta, *grad, *m, *v;    /* v: Adam second moment; m: Adam first moment or SGD velocity */
  double *wmean, *wm2; int gsOn; int gsCount;
  int loss;                       /* 0 cross-entropy, 1 hinge */
  int opt, decay;                 /* OPT_*, DECAY_* */
  float beta1, omb1, beta2, omb2, eps, mom, l2;
  int batch; const int *perm; int nTrain;
  const float *stepF;             /* per step of the epoch: 4 floats (see update()) */
  const unsigned *stepRng;        /* per step of the epoch: 4 words per dropout layer */
  int nDrop;
  const double *dropRate;         /* per dropout layer: the rate as a double (the draws compare uniform() >= rate) */
  float *Xb; int *Yb;             /* gathered minibatch: batch x D inputs, labels */
  float *dA, *dB;                 /* batch x maxWidth gradient buffers */
  float *logits;                  /* evaluation: chunk x C */
  int chunk;
  float *pack; int packStride;    /* packing buffers: thread t's at pack + t packStride */
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

/* Stores the first n (1..4) lanes of x at p. */
INLINE void store_n(float *p, v x, int n) {
  if (n >= 4) { st(p, x); return; }
  wasm_v128_store32_lane(p, x, 0);
  if (n > 1) wasm_v128_store32_lane(p + 1, x, 1);
  if (n > 2) wasm_v128_store32_lane(p + 2, x, 2);
}

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

INLINE float lane0(v x) { return wasm_f32x4_extract_lane(x, 0); }
INLINE float expf1(float x) { return lane0(exp4(splat(x))); }

/* ---------------------------------------------------------------- GEMM */

#define NR 8    /* columns per packed panel (two f32x4) */
#define MR 4    /* rows per register tile */
#define KC 256  /* k block: a 4 x KC slice of A and a KC x 8 panel stay in L1 */
#define MC 256  /* row block: MC x KC of A stays in L2 */

/*
 * Packs columns [j0, j1) of B (K x N, B(k, j) = B[k brs + j bcs]) into panels of NR columns,
 * k-major within a panel, zero-padded past N: panel p starts at dst + p K NR.
 */
static void pack_b(const float *B, int brs, int bcs, int K, int N, int j0, int j1, float *dst) {
  for (int j = j0; j < j1; j += NR) {
    float *out = dst + (j / NR) * K * NR;
    const int n = N - j < NR ? N - j : NR;
    if (bcs == 1 && n == NR) {
      for (int k = 0; k < K; k++) {
        const float *src = B + k * brs + j;
        st(out + k * NR, ld(src));
        st(out + k * NR + 4, ld(src + 4));
      }
    } else {
      for (int k = 0; k < K; k++) {
        for (int c = 0; c < NR; c++) out[k * NR + c] = c < n ? B[k * brs + (j + c) * bcs] : 0.0f;
      }
    }
  }
}

/* Stores the first n (1..8) columns of a tile row. */
INLINE void store_row(float *p, v c0, v c1, int n) {
  if (n == NR) { st(p, c0); st(p + 4, c1); }
  else { store_n(p, c0, n); if (n > 4) store_n(p + 4, c1, n - 4); }
}

/* Epilogue of one tile row (columns j..j+n-1): plus bias, store. */
INLINE void tile_row_out(const Job *jb, int row, int j, int n, v c0, v c1) {
  if (jb->bias) {
    /* bias has readable memory past its end (the driver pads every buffer) */
    c0 = add(c0, ld(jb->bias + j));
    c1 = add(c1, ld(jb->bias + j + 4));
  }
  store_row(jb->C + row * jb->ldc + j, c0, c1, n);
}

/*
 * Rows [i0, i1) x panels [p0, p1) of the product, with packed B at `pk` (panel p at pk + p K NR).
 * Partial sums of earlier k blocks are kept in C (exact float32 values, reloaded).
 */
static void gemm_part(const Job *jb, const float *pk, int i0, int i1, int p0, int p1) {
  const int K = jb->K, N = jb->N, ars = jb->ars, acs = jb->acs;
  const float *A = jb->A;
  float *part = jb->C;
  const int ldp = jb->ldc;
  for (int ib = i0; ib < i1; ib += MC) {
    const int ie = ib + MC < i1 ? ib + MC : i1;
    for (int k0 = 0; k0 < K; k0 += KC) {
      const int kc = K - k0 < KC ? K - k0 : KC;
      const int first = k0 == 0, last = k0 + kc == K;
      for (int p = p0; p < p1; p++) {
        const int j = p * NR;
        const int n = N - j < NR ? N - j : NR;
        const float *bp0 = pk + (p * K + k0) * NR;
        for (int i = ib; i < ie; i += MR) {
          /* rows past the end alias the last row: computed, never stored */
          const int r1 = i + 1 < ie ? i + 1 : ie - 1, r2 = i + 2 < ie ? i + 2 : ie - 1, r3 = i + 3 < ie ? i + 3 : ie - 1;
          const float *a0 = A + i * ars + k0 * acs, *a1 = A + r1 * ars + k0 * acs;
          const float *a2 = A + r2 * ars + k0 * acs, *a3 = A + r3 * ars + k0 * acs;
          v c00, c01, c10, c11, c20, c21, c30, c31;
          if (first) {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = splat(0.0f);
          } else {
            /* reload the exact partial sums (reading past n lanes is harmless: padded rows/buffers) */
            const float *q0 = part + i * ldp + j, *q1 = part + r1 * ldp + j, *q2 = part + r2 * ldp + j, *q3 = part + r3 * ldp + j;
            c00 = ld(q0); c01 = ld(q0 + 4); c10 = ld(q1); c11 = ld(q1 + 4);
            c20 = ld(q2); c21 = ld(q2 + 4); c30 = ld(q3); c31 = ld(q3 + 4);
          }
          const float *bp = bp0;
          for (int k = 0; k < kc; k++) {
            const v b0 = ld(bp), b1 = ld(bp + 4);
            bp += NR;
            v a = wasm_v128_load32_splat(a0); a0 += acs;
            c00 = add(c00, mul(a, b0)); c01 = add(c01, mul(a, b1));
            a = wasm_v128_load32_splat(a1); a1 += acs;
            c10 = add(c10, mul(a, b0)); c11 = add(c11, mul(a, b1));
            a = wasm_v128_load32_splat(a2); a2 += acs;
            c20 = add(c20, mul(a, b0)); c21 = add(c21, mul(a, b1));
            a = wasm_v128_load32_splat(a3); a3 += acs;
            c30 = add(c30, mul(a, b0)); c31 = add(c31, mul(a, b1));
          }
          if (last) {
            tile_row_out(jb, i, j, n, c00, c01);
            if (i + 1 < ie) tile_row_out(jb, i + 1, j, n, c10, c11);
            if (i + 2 < ie) tile_row_out(jb, i + 2, j, n, c20, c21);
            if (i + 3 < ie) tile_row_out(jb, i + 3, j, n, c30, c31);
          } else {
            store_row(part + i * ldp + j, c00, c01, n);
            if (i + 1 < ie) store_row(part + (i + 1) * ldp + j, c10, c11, n);
            if (i + 2 < ie) store_row(part + (i + 2) * ldp + j, c20, c21, n);
            if (i + 3 < ie) store_row(part + (i + 3) * ldp + j, c30, c31, n);
          }
        }
      }
    }
  }
}

/* Thread `t` of `T`: its share of the product (panels, or rows in multiples of MR). */
static void gemm_thread(Net *net, const Job *jb, int t, int T) {
  const int panels = (jb->N + NR - 1) / NR;
  float *pk = net->pack + t * net->packStride;
  if (jb->byRows) {
    const int quads = (jb->M + MR - 1) / MR;
    const int q0 = quads * t / T, q1 = quads * (t + 1) / T;
    if (q0 >= q1) return;
    pack_b(jb->B, jb->brs, jb->bcs, jb->K, jb->N, 0, jb->N, pk);
    const int i1 = q1 * MR < jb->M ? q1 * MR : jb->M;
    gemm_part(jb, pk, q0 * MR, i1, 0, panels);
  } else {
    const int p0 = panels * t / T, p1 = panels * (t + 1) / T;
    if (p0 >= p1) return;
    /* each thread packs its own panels into the shared buffer at their global positions */
    pk = net->pack;
    const int j1 = p1 * NR < jb->N ? p1 * NR : jb->N;
    pack_b(jb->B, jb->brs, jb->bcs, jb->K, jb->N, p0 * NR, j1, pk);
    gemm_part(jb, pk, 0, jb->M, p0, p1);
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

/* C = A B (+ bias per column) with the strides of Job; threads when large. */
static void gemm(Net *net, const float *A, int ars, int acs, const float *B, int brs, int bcs, int M, int N, int K,
                 float *C, int ldc, const float *bias) {
  Job *jb = &net->job;
  jb->kind = JOB_GEMM;
  jb->A = A; jb->ars = ars; jb->acs = acs;
  jb->B = B; jb->brs = brs; jb->bcs = bcs;
  jb->M = M; jb->N = N; jb->K = K;
  jb->C = C; jb->ldc = ldc; jb->bias = bias;
  const int panels = (N + NR - 1) / NR;
  jb->byRows = panels < 2 * net->nThreads;
  if (net->nThreads > 1 && (double)M * N * K >= (double)net->minPar) {
    parallel(net);
  } else {
    gemm_thread(net, jb, 0, 1);
  }
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

static void run_job(Net *net, int t, int T) {
  if (net->job.kind == JOB_GEMM) gemm_thread(net, &net->job, t, T);
  else if (net->job.kind == JOB_UPDATE) update_thread(net, t, T);
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

/* mask[i] = uniform() >= rate ? keep : 0 for the n elements (row-major batch x width), as layers.ts draws them. */
static void fill_mask(float *mask, int n, const unsigned *state, double rate, float keep) {
  Xoshiro s = {state[0], state[1], state[2], state[3]};
  for (int i = 0; i < n; i++) mask[i] = uniform(&s) >= rate ? keep : 0.0f;
}

/* ---------------------------------------------------------------- one minibatch */

static void softmax_rows(const float *z, float *p, int rows, int C);

/* dz of the output layer for a batch of `len` rows: cross-entropy (softmax(z) - y) / len, or the hinge gradient. */
static void loss_grad(Net *net, const float *Zout, float *dz, int len) {
  const int C = net->C;
  const float B = (float)len;
  if (net->loss == 1) {
    const float inv = 1.0f / B; /* tf.mean's gradient: dy / size */
    for (int r = 0; r < len; r++) {
      const float s = net->Yb[r] == 1 ? 1.0f : -1.0f;
      const float z0 = Zout[r * C], z1 = Zout[r * C + 1];
      const float marg = 1.0f - s * (z1 - z0);
      const float d = marg > 0.0f ? inv : 0.0f; /* relu'(0) = 0 */
      dz[r * C] = s * d;
      dz[r * C + 1] = -(s * d);
    }
    return;
  }
  softmax_rows(Zout, dz, len, C);
  for (int r = 0; r < len; r++) {
    for (int c = 0; c < C; c++) dz[r * C + c] = (dz[r * C + c] - (net->Yb[r] == c ? 1.0f : 0.0f)) / B;
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

/*
 * Softmax of each row of z (rows x C) into p: e = exp(z - max) (the exponentials in one
 * vectorised pass over all rows), p = e / sum(e) with the sum in class order.
 */
static void softmax_rows(const float *z, float *p, int rows, int C) {
  const int n = rows * C;
  for (int r = 0; r < rows; r++) {
    const float *zr = z + r * C;
    float mx = zr[0];
    for (int c = 1; c < C; c++) mx = zr[c] > mx ? zr[c] : mx;
    for (int c = 0; c < C; c++) p[r * C + c] = zr[c] - mx;
  }
  int i = 0;
  for (; i + 4 <= n; i += 4) st(p + i, exp4(ld(p + i)));
  for (; i < n; i++) p[i] = expf1(p[i]);
  for (int r = 0; r < rows; r++) {
    float *pr = p + r * C;
    float sum = 0.0f;
    for (int c = 0; c < C; c++) sum += pr[c];
    for (int c = 0; c < C; c++) pr[c] = pr[c] / sum;
  }
}

/* Welford update of the weight gradients (float64, as GradientAccumulator.add). */
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
static void batch_grad(Net *net, int r0, int len, int s) {
  const int D = net->D, nl = net->nLayers;
  for (int r = 0; r < len; r++) {
    const int row = net->perm[r0 + r];
    const float *src = net->X + row * D;
    float *dst = net->Xb + r * D;
    for (int k = 0; k < D; k++) dst[k] = src[k];
    net->Yb[r] = net->labels[row];
  }
  /* forward */
  const float *h = net->Xb;
  for (int l = 0; l < nl; l++) {
    Layer *ly = &net->L[l];
    const int w = ly->out;
    if (ly->kind == KIND_DENSE) {
      gemm(net, h, ly->in, 1, net->theta + ly->w, w, 1, len, w, ly->in, ly->Z, w, net->theta + ly->b);
      apply_act(ly->act, ly->H, ly->Z, len * w);
    } else {
      const int n = len * w;
      if (ly->rate > 0) {
        fill_mask(ly->mask, n, net->stepRng + 4 * (s * net->nDrop + ly->drop), net->dropRate[ly->drop], ly->keep);
        for (int i = 0; i < n; i++) ly->Z[i] = h[i] * ly->mask[i];
      } else {
        for (int i = 0; i < n; i++) ly->Z[i] = h[i];
      }
      apply_act(ly->act, ly->H, ly->Z, n);
    }
    h = ly->H;
  }
  /* backward: dz of the output (its Z = logits) */
  float *dz = net->dA, *other = net->dB;
  loss_grad(net, net->L[nl - 1].Z, dz, len);
  for (int l = nl - 1; l >= 0; l--) {
    Layer *ly = &net->L[l];
    const float *hin = l > 0 ? net->L[l - 1].H : net->Xb;
    const int w = ly->out, in = ly->in;
    if (ly->kind == KIND_DENSE) {
      /* dW = hin^T dz (in x w, k = rows), db = column sums of dz */
      gemm(net, hin, 1, in, dz, w, 1, in, w, len, net->grad + ly->w, w, 0);
      float *db = net->grad + ly->b;
      for (int j = 0; j < w; j++) db[j] = 0.0f;
      for (int r = 0; r < len; r++) for (int j = 0; j < w; j++) db[j] += dz[r * w + j];
      if (l == 0) break;
      /* dh = dz W^T (len x in), B(k = j, n = i) = W[i w + j] */
      gemm(net, dz, w, 1, net->theta + ly->w, 1, w, len, in, w, other, in, 0);
    } else {
      if (l == 0) break;
      const int n = len * w;
      if (ly->rate > 0) for (int i = 0; i < n; i++) other[i] = dz[i] * ly->mask[i];
      else for (int i = 0; i < n; i++) other[i] = dz[i];
    }
    /* through the activation of the layer below */
    const Layer *below = &net->L[l - 1];
    times_dact(below->act, other, other, below->Z, below->H, len * in);
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
 * Forward pass (no dropout) of rows [r0, r0 + n) (n <= chunk) of X: logits into net->logits
 * (n x C); with `capture`, every layer's activations into its E buffer (n x width; the output
 * layer as softmax).
 */
EXPORT(eval_rows)
void eval_rows(Net *net, int r0, int n, int capture) {
  const float *h = net->X + r0 * net->D;
  const int nl = net->nLayers, C = net->C;
  for (int l = 0; l < nl; l++) {
    Layer *ly = &net->L[l];
    const int w = ly->out;
    float *out = l == nl - 1 ? net->logits : ly->E;
    if (ly->kind == KIND_DENSE) {
      gemm(net, h, ly->in, 1, net->theta + ly->w, w, 1, n, w, ly->in, out, w, net->theta + ly->b);
      apply_act(ly->act, out, out, n * w);
    } else {
      apply_act(ly->act, out, h, n * w);
    }
    h = out;
  }
  if (capture) softmax_rows(net->logits, net->L[nl - 1].E, n, C);
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

/* C = A B for the GEMM benchmark: A(i,k) = A[i ars + k acs], B(k,j) = B[k brs + j bcs]. */
EXPORT(gemm_test)
void gemm_test(Net *net, const float *A, int ars, int acs, const float *B, int brs, int bcs, int M, int N, int K, float *C) {
  gemm(net, A, ars, acs, B, brs, bcs, M, N, K, C, N, 0);
}
