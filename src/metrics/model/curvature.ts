import {z} from 'zod';
import type {Matrix} from '../../types.js';
import {Rng} from '../../util/prng.js';
import {eigh} from '../../linalg/eigen.js';
import {NativeArena, nativeGemm, nativeGemmScratch, type GemmKind} from '../../native/spectral.js';
import {activationDerivative64, activationSecondDerivative64, applyActivation64} from '../../model/activations.js';
import type {DenseNet} from '../../model/dense-net.js';
import {seededRows} from '../subsample.js';
import type {ModelMetric, ModelMetricValue} from './index.js';
import {subsetRows} from './local-rank/metric.js';

/*
 * Curvature of the training loss (spec 13.2): the Hessian H of
 *   L(theta) = (1/n) sum_i CE(softmax(f(x_i; theta)), y_i)
 * over a fixed, seeded subset of `rows` rows (penalties such as the L2 term excluded), with respect
 * to every weight and bias of a dense network, in layer order: theta = [W_1 (fan_in x fan_out,
 * row-major), b_1, W_2, b_2, ...] (tdlab's checkpoint order).
 *
 * Hessian-vector products are exact (Pearlmutter's R-operator, i.e. forward-over-reverse) and
 * batched over the rows, in float64. With z_l = h_{l-1} W_l + b_l, h_l = phi_l(z_l) (the output
 * layer's softmax is part of the loss, so its phi is the identity), g_l = dL/dh_l and a direction
 * V = (VW_l, Vb_l):
 *   R-forward   Rz_l = Rh_{l-1} W_l + h_{l-1} VW_l + Vb_l,  Rh_l = phi'(z_l) Rz_l,  Rh_0 = 0;
 *   output      R g_L = (1/n) (diag(p) - p p') Rh_L per row  (p = softmax of the logits h_L);
 *   R-backward  gz_l = g_l phi'(z_l),  R gz_l = R g_l phi'(z_l) + g_l phi''(z_l) Rz_l,
 *               (H V)_{W_l} = Rh_{l-1}' gz_l + h_{l-1}' R gz_l,  (H V)_{b_l} = sum_rows R gz_l,
 *               R g_{l-1} = R gz_l W_l' + gz_l VW_l'.
 * Everything that does not depend on V (z, h, phi', phi'', p, g) is computed once per operator.
 * Cost of one HVP: about 6 n fan_in fan_out multiply-adds per layer (2 for the first layer, whose
 * input does not move): 3x a gradient. Zero inputs (sparse pixels, ReLU zeros) are skipped in the
 * products with h. Memory: the cached forward/backward pass, O(n sum_l d_l), plus one direction.
 * A layer's diagonal block only runs the R-pass between that layer and the loss.
 *
 * lambda_max: Lanczos with full reorthogonalisation from a seeded Gaussian start, at most `iters`
 * HVPs; `converged` is 1 when the top Ritz pair's residual |beta_k s_k| <= 1e-4 |theta| (the
 * spec's tolerance), else 0 and the last Ritz value is reported. It stops early once the residual is
 * <= 1e-6 |theta|. Each step costs one HVP plus O(k P).
 * trace: Hutchinson with `probes` Rademacher vectors z (trace = mean z'Hz, trace_se = sample std /
 * sqrt(probes)), or `probes: exact` = sum_j (H e_j)_j with one HVP per parameter (P HVPs, each
 * restricted to the diagonal block of j's layer: small models only), trace_se = 0.
 * Total: (iters + probes [+ iters per block]) HVPs on n = min(rows, N) rows.
 */

export const curvParams = z
  .object({
    /** Lanczos steps (HVPs) for lambda_max, at most. */
    iters: z.number().int().positive().default(20),
    /** Rademacher probes for the trace (0 = no trace), or `exact` (one HVP per parameter). */
    probes: z.union([z.number().int().nonnegative(), z.literal('exact')]).default(0),
    /** Seeded subset of this many training rows (all rows when there are fewer). */
    rows: z.number().int().positive().default(1000),
    /** lambda_max of each layer's own diagonal block too. */
    blocks: z.boolean().default(false),
  })
  .strict();

export type CurvParams = z.infer<typeof curvParams>;

/** Relative residual at which Lanczos counts as converged (spec 13.2). */
export const LANCZOS_TOL = 1e-4;
/**
 * Relative residual at which Lanczos stops early: tighter than LANCZOS_TOL, since the Ritz value's
 * error is about residual^2 / gap but can approach the residual itself when the top eigenvalues
 * are close; the few extra HVPs (within `iters`) buy that margin.
 */
export const LANCZOS_STOP = 1e-6;

/**
 * Products of this size or larger (multiply-adds) go to the WebAssembly f64x2 kernels
 * (src/native/spectral.c gemm_*), smaller ones stay in the TypeScript loops below, which are the
 * reference and the fallback (`TDLAB_NATIVE=0`); both skip zero entries of A the same way, and
 * agree to rounding (test/native.test.js).
 */
const NATIVE_MIN_MACS = 65536;

/** A native product (C += op(A) op(B), see `nativeGemm`), or false when the caller's loop must run. */
type Gemm = (kind: GemmKind, A: Float64Array, B: Float64Array, C: Float64Array, n: number, a: number, b: number) => boolean;

/** C (n x b) = A (n x a) B (a x b), row-major; zero entries of A are skipped. */
function matMul(A: Float64Array, B: Float64Array, n: number, a: number, b: number, C: Float64Array, accumulate = false, gemm: Gemm = nativeGemm): void {
  if (!accumulate) C.fill(0, 0, n * b);
  if (n * a * b >= NATIVE_MIN_MACS && gemm('nn', A, B, C, n, a, b)) return;
  for (let i = 0; i < n; i++) {
    const ci = i * b;
    const ai = i * a;
    for (let k = 0; k < a; k++) {
      const v = A[ai + k];
      if (v === 0) continue;
      const bk = k * b;
      for (let j = 0; j < b; j++) C[ci + j] += v * B[bk + j];
    }
  }
}

/** C (a x b) += A' B for A (n x a), B (n x b); zero entries of A are skipped. */
function matMulAt(A: Float64Array, B: Float64Array, n: number, a: number, b: number, C: Float64Array, off: number, gemm: Gemm = nativeGemm): void {
  if (n * a * b >= NATIVE_MIN_MACS && gemm('tn', A, B, C.subarray(off, off + a * b), n, a, b)) return;
  for (let i = 0; i < n; i++) {
    const ai = i * a;
    const bi = i * b;
    for (let k = 0; k < a; k++) {
      const v = A[ai + k];
      if (v === 0) continue;
      const ck = off + k * b;
      for (let j = 0; j < b; j++) C[ck + j] += v * B[bi + j];
    }
  }
}

/** C (n x a) (+)= A B' for A (n x b), B (a x b) given at offset `off` of `Bdata`. */
function matMulBt(A: Float64Array, Bdata: Float64Array, off: number, n: number, a: number, b: number, C: Float64Array, accumulate: boolean, gemm: Gemm = nativeGemm): void {
  if (n * a * b >= NATIVE_MIN_MACS) {
    if (!accumulate) C.fill(0, 0, n * a);
    if (gemm('nt', A, Bdata.subarray(off, off + a * b), C, n, a, b)) return;
  }
  for (let i = 0; i < n; i++) {
    const ai = i * b;
    const ci = i * a;
    for (let k = 0; k < a; k++) {
      const bk = off + k * b;
      let s = 0;
      for (let j = 0; j < b; j++) s += A[ai + j] * Bdata[bk + j];
      C[ci + k] = accumulate ? C[ci + k] + s : s;
    }
  }
}

interface LayerCache {
  rows: number;
  cols: number;
  W: Float64Array;
  /** Offsets of W and b in the flat parameter vector. */
  wOff: number;
  bOff: number;
  /** z, h = phi(z), phi'(z) (null = 1), phi''(z) (null = 0), all n x cols. */
  z: Float64Array;
  h: Float64Array;
  d1: Float64Array | null;
  d2: Float64Array | null;
  /** dL/dh_l and dL/dz_l (n x cols). */
  gh: Float64Array;
  gz: Float64Array;
}

/**
 * The Hessian of the mean softmax cross-entropy of a dense network over fixed rows, as an operator:
 * `hvp(v)` is one exact Hessian-vector product. Building it runs one forward and one backward
 * pass, O(n sum fan_in fan_out), and keeps them (O(n sum d_l) doubles). With the WebAssembly
 * kernels, the operator keeps everything an HVP reads (inputs, weights, the cached passes) and
 * its temporaries in one `NativeArena`, so the products run on resident operands without copies.
 */
export class HessianOperator {
  /** Number of parameters P. */
  readonly size: number;
  /** Mean cross-entropy at theta over the rows. */
  readonly loss: number;
  /** Rows used. */
  readonly n: number;
  /** Parameter ranges [start, end) of each layer (W then b). */
  readonly layerRanges: Array<[number, number]>;
  private readonly x: Float64Array;
  private readonly d0: number;
  private readonly layers: LayerCache[];
  private readonly p: Float64Array;
  private readonly classes: number;
  /** Where the cached passes and each HVP's temporaries live (null: ordinary arrays, TypeScript or copying products). */
  private readonly arena: NativeArena | null;
  private readonly gemm: Gemm;

  /** `X` rows (n x d0) and labels `y` (0..C-1, C = the output width). */
  constructor(net: DenseNet, X: Matrix, y: Int32Array) {
    const L = net.layers.length;
    if (L === 0) throw new Error('curv.hessian: the network has no layers');
    if (X.cols !== net.layers[0].rows) throw new Error(`curv.hessian: inputs have ${X.cols} columns, the network expects ${net.layers[0].rows}`);
    if (y.length !== X.rows) throw new Error(`curv.hessian: ${y.length} labels for ${X.rows} rows`);
    const n = X.rows;
    const C = net.layers[L - 1].cols;
    for (let i = 0; i < n; i++) if (!(y[i] >= 0 && y[i] < C)) throw new Error(`curv.hessian: label ${y[i]} (row ${i}) outside 0..${C - 1} (the output layer has ${C} units)`);
    this.n = n;
    this.classes = C;
    this.d0 = X.cols;
    // one arena for the cached passes, one HVP's temporaries and the products' packing scratch
    let cached = n * X.cols + n * C;
    let perHvp = n * C;
    let scratch = 0;
    let P = 0;
    for (const {rows, cols} of net.layers) {
      P += rows * cols + cols;
      // + the layer input packed twice (nn and tn) for the products, ~1.5x its size each
      cached += rows * cols + 6 * n * cols + 3 * n * rows + 64;
      perHvp += 3 * n * cols + n * rows;
      scratch = Math.max(scratch, nativeGemmScratch('tn', n, rows, cols), nativeGemmScratch('nn', n, rows, cols), nativeGemmScratch('nt', n, rows, cols));
    }
    this.arena = NativeArena.create(cached + perHvp + 2 * P + scratch + 64 * (net.layers.length + 4));
    const arena = this.arena;
    this.gemm = arena ? (kind, A, B, Cm, m, a, b) => arena.gemm(kind, A, B, Cm, m, a, b) : nativeGemm;
    this.x = this.hold(X.data);
    this.layers = [];
    this.layerRanges = [];
    let off = 0;
    let hPrev = this.x;
    for (let l = 0; l < L; l++) {
      const {W, rows, cols, b} = net.layers[l];
      const act = l === L - 1 && net.layers[l].activation === 'softmax' ? 'linear' : net.layers[l].activation;
      if (act === 'softmax') throw new Error('curv.hessian: softmax is only supported on the output layer');
      const Wd = this.hold(W);
      const z = this.alloc(n * cols);
      for (let i = 0; i < n; i++) for (let j = 0; j < cols; j++) z[i * cols + j] = b[j];
      matMul(hPrev, Wd, n, rows, cols, z, true, this.gemm);
      const h = act === 'linear' ? z : applyActivation64(act, z, this.alloc(n * cols));
      const d1 = act === 'linear' ? null : activationDerivative64(act, z, this.alloc(n * cols));
      const d2 = act === 'linear' ? null : activationSecondDerivative64(act, z, this.alloc(n * cols));
      this.layers.push({rows, cols, W: Wd, wOff: off, bOff: off + rows * cols, z, h, d1, d2, gh: this.alloc(n * cols), gz: this.alloc(n * cols)});
      this.layerRanges.push([off, off + rows * cols + cols]);
      off += rows * cols + cols;
      hPrev = h;
    }
    this.size = off;
    // each layer's input (x, h_l) is the left operand of two native products per HVP: packed once
    if (arena)
      this.layers.forEach((ly, l) => {
        if (n * ly.rows * ly.cols < NATIVE_MIN_MACS) return;
        const hPrev = l === 0 ? this.x : this.layers[l - 1].h;
        arena.prepack(hPrev, 'nn', n, ly.rows);
        arena.prepack(hPrev, 'tn', n, ly.rows);
      });
    // softmax cross-entropy at the logits h_L
    const logits = hPrev;
    const p = this.alloc(n * C);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      let mx = -Infinity;
      for (let c = 0; c < C; c++) mx = Math.max(mx, logits[i * C + c]);
      let s = 0;
      for (let c = 0; c < C; c++) s += p[i * C + c] = Math.exp(logits[i * C + c] - mx);
      for (let c = 0; c < C; c++) p[i * C + c] /= s;
      loss += mx + Math.log(s) - logits[i * C + y[i]];
    }
    this.loss = loss / n;
    this.p = p;
    // backward pass: g_L = (p - onehot(y)) / n
    const last = this.layers[L - 1];
    for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) last.gh[i * C + c] = (p[i * C + c] - (c === y[i] ? 1 : 0)) / n;
    for (let l = L - 1; l >= 0; l--) {
      const ly = this.layers[l];
      if (ly.d1) for (let i = 0; i < ly.gz.length; i++) ly.gz[i] = ly.gh[i] * ly.d1[i];
      else ly.gz.set(ly.gh);
      if (l > 0) matMulBt(ly.gz, ly.W, 0, n, ly.rows, ly.cols, this.layers[l - 1].gh, false, this.gemm);
    }
  }

  /** A block of `count` doubles, zeroed unless `zero` is false (the caller writes every entry): in the arena when there is one. */
  private alloc(count: number, zero = true): Float64Array {
    return this.arena ? this.arena.alloc(count, zero) : new Float64Array(count);
  }

  /** A float64 copy of `src` (in the arena when there is one). */
  private hold(src: Float32Array | Float64Array): Float64Array {
    if (this.arena) return this.arena.hold(src);
    return src instanceof Float64Array ? src : Float64Array.from(src);
  }

  /** Gradient of the loss (length P), from the cached backward pass. */
  gradient(): Float64Array {
    const g = new Float64Array(this.size);
    this.layers.forEach((ly, l) => {
      const hPrev = l === 0 ? this.x : this.layers[l - 1].h;
      matMulAt(hPrev, ly.gz, this.n, ly.rows, ly.cols, g, ly.wOff, this.gemm);
      for (let i = 0; i < this.n; i++) for (let j = 0; j < ly.cols; j++) g[ly.bOff + j] += ly.gz[i * ly.cols + j];
    });
    return g;
  }

  /**
   * H v (length P). With `block` (0-based layer), v is read only on that layer's parameters and
   * only that layer's part of H v is computed (the rest of the result is 0): the diagonal block.
   * O(n sum_l fan_in_l fan_out_l) (about 6 multiply-adds per weight and row; fewer for a block).
   */
  hvp(direction: Float64Array, block?: number): Float64Array {
    const mark = this.arena?.mark();
    try {
      return this.hvpIn(this.arena ? this.arena.hold(direction.subarray(0, this.size)) : direction, block).slice();
    } finally {
      if (this.arena) this.arena.release(mark!);
    }
  }

  /** `hvp` with its temporaries allocated from the arena (the result too: the caller copies it). */
  private hvpIn(v: Float64Array, block: number | undefined): Float64Array {
    const {n, layers, gemm} = this;
    const L = layers.length;
    const from = block ?? 0;
    const to = block ?? 0;
    const out = this.alloc(this.size);
    // R-forward from the first layer with a non-zero direction; Rh_l = phi'(z_l) Rz_l kept for the R-backward
    const Rz: Float64Array[] = new Array(L);
    const RhAt: Float64Array[] = new Array(L);
    let Rh: Float64Array | null = null;
    for (let l = from; l < L; l++) {
      const ly = layers[l];
      const hPrev = l === 0 ? this.x : layers[l - 1].h;
      const moves = block === undefined || l === block;
      const rz = this.alloc(n * ly.cols, !moves);
      if (moves) {
        fillRows(rz, v, ly.bOff, n, ly.cols);
        matMul(hPrev, v.subarray(ly.wOff, ly.bOff), n, ly.rows, ly.cols, rz, true, gemm);
      }
      if (Rh) matMul(Rh, ly.W, n, ly.rows, ly.cols, rz, true, gemm);
      Rz[l] = rz;
      Rh = ly.d1 ? product(this.alloc(n * ly.cols, false), ly.d1, rz) : rz;
      RhAt[l] = Rh;
    }
    // R of the output gradient: (1/n)(diag p - p p') R(logits) per row
    const C = this.classes;
    let Rg = this.alloc(n * C, false);
    softmaxR(Rg, this.p, Rh!, n, C);
    // R-backward down to layer `to`
    for (let l = L - 1; l >= to; l--) {
      const ly = layers[l];
      const rgz = Rg;
      // R gz_l = R g_l phi'(z_l) + g_l phi''(z_l) Rz_l
      if (ly.d1) scaleAdd(rgz, ly.d1, ly.d2 ? ly.gh : null, ly.d2, Rz[l]);
      if (block === undefined || l === block) {
        const hPrev = l === 0 ? this.x : layers[l - 1].h;
        matMulAt(hPrev, rgz, n, ly.rows, ly.cols, out, ly.wOff, gemm);
        // Rh_{l-1}' gz_l
        if (l > from) matMulAt(RhAt[l - 1], ly.gz, n, ly.rows, ly.cols, out, ly.wOff, gemm);
        columnSums(out, ly.bOff, rgz, n, ly.cols);
      }
      if (l === to) break;
      const next = this.alloc(n * ly.rows, false);
      matMulBt(rgz, ly.W, 0, n, ly.rows, ly.cols, next, false, gemm);
      if (block === undefined || l === block) matMulBt(ly.gz, v, ly.wOff, n, ly.rows, ly.cols, next, true, gemm);
      Rg = next;
    }
    return out;
  }
}

/** Every row of X (n x cols) = v[off..off + cols) (the bias part of a direction). */
function fillRows(X: Float64Array, v: Float64Array, off: number, n: number, cols: number): void {
  const row = v.subarray(off, off + cols);
  for (let i = 0; i < n; i++) X.set(row, i * cols);
}

/** out = a * b elementwise; returns out. */
function product(out: Float64Array, a: Float64Array, b: Float64Array): Float64Array {
  for (let i = 0; i < out.length; i++) out[i] = a[i] * b[i];
  return out;
}

/** x = x * d1 (+ gh * d2 * rz when d2 is given), elementwise, rounded as (x d1) + ((gh d2) rz). */
function scaleAdd(x: Float64Array, d1: Float64Array, gh: Float64Array | null, d2: Float64Array | null, rz: Float64Array): void {
  if (gh && d2) for (let i = 0; i < x.length; i++) x[i] = x[i] * d1[i] + gh[i] * d2[i] * rz[i];
  else for (let i = 0; i < x.length; i++) x[i] *= d1[i];
}

/** Rg = (1/n) (diag p - p p') Rh per row (n x C). */
function softmaxR(Rg: Float64Array, p: Float64Array, Rh: Float64Array, n: number, C: number): void {
  for (let i = 0; i < n; i++) {
    const o = i * C;
    let s = 0;
    for (let c = 0; c < C; c++) s += p[o + c] * Rh[o + c];
    for (let c = 0; c < C; c++) Rg[o + c] = (p[o + c] * (Rh[o + c] - s)) / n;
  }
}

/** out[off + j] += sum_i X[i][j] (X n x cols), rows in ascending order. */
function columnSums(out: Float64Array, off: number, X: Float64Array, n: number, cols: number): void {
  for (let i = 0; i < n; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) out[off + j] += X[o + j];
  }
}

export interface LanczosResult {
  /** Largest Ritz value. */
  value: number;
  /** |beta_k s_k| / |value|: the relative residual of the top Ritz pair. */
  residual: number;
  converged: boolean;
  /** Matrix-vector products used. */
  iterations: number;
}

/**
 * Largest eigenvalue of a symmetric operator of size P by Lanczos with full reorthogonalisation
 * (twice classical Gram-Schmidt), from the seeded start vector `start`; stops at `iters` steps or
 * when the relative residual of the top Ritz pair is <= `stop`; converged when it is <= `tol`.
 * O(iters matvec + iters^2 P + iters^4).
 */
export function lanczosTop(matvec: (v: Float64Array) => Float64Array, P: number, iters: number, start: Float64Array, tol = LANCZOS_TOL, stop = LANCZOS_STOP): LanczosResult {
  const Q: Float64Array[] = [];
  const alpha: number[] = [];
  const beta: number[] = [];
  let q: Float64Array = Float64Array.from(start);
  let nrm = Math.sqrt(q.reduce((s, v) => s + v * v, 0));
  if (!(nrm > 0)) throw new Error('lanczos: zero start vector');
  for (let i = 0; i < P; i++) q[i] /= nrm;
  let best: LanczosResult = {value: NaN, residual: Infinity, converged: false, iterations: 0};
  for (let k = 0; k < Math.min(iters, P); k++) {
    Q.push(q);
    const w = matvec(q);
    let a = 0;
    for (let i = 0; i < P; i++) a += q[i] * w[i];
    alpha.push(a);
    for (let pass = 0; pass < 2; pass++) {
      for (const u of Q) {
        let c = 0;
        for (let i = 0; i < P; i++) c += u[i] * w[i];
        for (let i = 0; i < P; i++) w[i] -= c * u[i];
      }
    }
    nrm = Math.sqrt(w.reduce((s, v) => s + v * v, 0));
    // Ritz values of the (k+1) x (k+1) tridiagonal
    const m = k + 1;
    const T = new Float64Array(m * m);
    for (let i = 0; i < m; i++) {
      T[i * m + i] = alpha[i];
      if (i + 1 < m) T[i * m + i + 1] = T[(i + 1) * m + i] = beta[i];
    }
    const e = eigh(T, m);
    const theta = e.values[0];
    const sLast = e.vectors[(m - 1) * m + 0];
    const residual = Math.abs(nrm * sLast) / Math.max(Math.abs(theta), Number.MIN_VALUE);
    best = {value: theta, residual, converged: residual <= tol, iterations: m};
    // an invariant subspace (beta ~ 0) makes the Ritz values exact
    if (nrm <= 1e-14 * Math.max(...alpha.map(Math.abs), 1e-300)) {
      best.converged = true;
      break;
    }
    if (residual <= stop) break;
    beta.push(nrm);
    q = w;
    for (let i = 0; i < P; i++) q[i] /= nrm;
  }
  return best;
}

export interface HessianResult {
  lambdaMax: number;
  converged: boolean;
  residual: number;
  iterations: number;
  /** Hutchinson (or exact) trace and its standard error; absent when probes = 0. */
  trace?: number;
  traceSe?: number;
  /** Probes used for the trace (`exact`: P). */
  probes?: number | 'exact';
  /** Per layer (1-based layerIndex): lambda_max of the layer's diagonal block. */
  blocks?: Array<{layerIndex: number; lambdaMax: number; converged: boolean; iterations: number}>;
  /** Rows used, parameters, loss at theta. */
  n: number;
  numParams: number;
  loss: number;
}

function gaussianVector(rng: Rng, P: number): Float64Array {
  const v = new Float64Array(P);
  for (let i = 0; i < P; i++) v[i] = rng.normal();
  return v;
}

/**
 * Spec 13.2 values of a dense network on inputs X (N x d0) with labels y: lambda_max (Lanczos),
 * the trace (Hutchinson or exact) and per-layer block maxima, on a seeded subset of `rows` rows.
 * Pure; float64. Cost: (iters + probes + blocks * iters) HVPs of O(6 n sum fan_in fan_out) each,
 * n = min(rows, N); `probes: exact` costs P HVPs.
 *
 * Example: hessianMetrics(net, X, y, {iters: 20, probes: 'exact', rows: 1000, blocks: false}, 0).lambdaMax
 */
export function hessianMetrics(net: DenseNet, X: Matrix, y: Int32Array, params: Partial<CurvParams> = {}, seed = 0): HessianResult {
  const p = curvParams.parse(params);
  const sel = seededRows(X.rows, p.rows, seed, 'curv.hessian/rows');
  const Xs = sel ? subsetRows(X, sel) : X;
  const ys = sel ? Int32Array.from(sel, (r) => y[r]) : y;
  const op = new HessianOperator(net, Xs, ys);
  const P = op.size;
  const top = lanczosTop((v) => op.hvp(v), P, p.iters, gaussianVector(new Rng(seed, 'curv.hessian/lanczos'), P));
  const out: HessianResult = {lambdaMax: top.value, converged: top.converged, residual: top.residual, iterations: top.iterations, n: op.n, numParams: P, loss: op.loss};
  if (p.probes === 'exact') {
    // H_jj lies in the diagonal block of j's layer: block products suffice
    let tr = 0;
    const e = new Float64Array(P);
    op.layerRanges.forEach(([a, b], l) => {
      for (let j = a; j < b; j++) {
        e[j] = 1;
        tr += op.hvp(e, l)[j];
        e[j] = 0;
      }
    });
    Object.assign(out, {trace: tr, traceSe: 0, probes: 'exact'});
  } else if (p.probes > 0) {
    const rng = new Rng(seed, 'curv.hessian/probes');
    const t = new Float64Array(p.probes);
    for (let k = 0; k < p.probes; k++) {
      const z = new Float64Array(P);
      for (let i = 0; i < P; i++) z[i] = rng.uniform() < 0.5 ? -1 : 1;
      const hz = op.hvp(z);
      let s = 0;
      for (let i = 0; i < P; i++) s += z[i] * hz[i];
      t[k] = s;
    }
    const mean = t.reduce((a, b) => a + b, 0) / p.probes;
    const sd = p.probes > 1 ? Math.sqrt(t.reduce((a, b) => a + (b - mean) ** 2, 0) / (p.probes - 1)) : NaN;
    Object.assign(out, {trace: mean, traceSe: sd / Math.sqrt(p.probes), probes: p.probes});
  }
  if (p.blocks) {
    out.blocks = op.layerRanges.map(([a, b], l) => {
      const size = b - a;
      const start = new Float64Array(P);
      start.set(gaussianVector(new Rng(seed, `curv.hessian/lanczos/${l + 1}`), size), a);
      // Lanczos on the block: vectors stay zero outside [a, b)
      const r = lanczosTop((v) => op.hvp(v, l), P, Math.min(p.iters, size), start);
      return {layerIndex: l + 1, lambdaMax: r.value, converged: r.converged, iterations: r.iterations};
    });
  }
  return out;
}

/**
 * `curv.hessian` (spec 13.2) on the rows given (a run passes its training rows and their labels):
 * network-level `lambda_max`, `converged` (1/0), `lanczos_steps`, `trace` and `trace_se` (with
 * probes), `two_over_lr` (when the learning rate is known); with `blocks`, `lambda_max` and
 * `converged` per layer.
 */
export const curvHessian: ModelMetric<CurvParams> = {
  name: 'curv.hessian',
  description: 'curvature of the training loss: top Hessian eigenvalue (sharpness, Lanczos on exact Hessian-vector products), Hutchinson trace, per-layer blocks, 2/lr (edge of stability)',
  params: curvParams,
  // the cached forward/backward pass (about 6 arrays of m x d per layer, 3 layers assumed), the rows
  // (the caller's, the seeded subset, the copy in the operator's WebAssembly arena and its two
  // packed forms, 3x), the packed hidden activations, one HVP's temporaries, and the Lanczos basis
  // (iters vectors of P)
  memory: ({n, d, inputDim = d}, p) => {
    const m = Math.min(n, p.rows);
    const P = inputDim * d + 2 * d * d + 4 * d;
    return 8 * m * (6 * inputDim + 26 * d) + 8 * P * (p.iters + 6);
  },
  needsInputs: true,
  needsLabels: true,
  compute(net, X, p, seed, extra) {
    if (!X || !extra?.y) throw new Error('curv.hessian: needs the input rows and their labels');
    const r = hessianMetrics(net, X, extra.y, p, seed);
    const v = (quantity: string, value: number, layerIndex = -1, unit: ModelMetricValue['unit'] = 'dimensionless'): ModelMetricValue => ({layerIndex, quantity, value, unit, n: r.n});
    const out = [v('lambda_max', r.lambdaMax), v('converged', r.converged ? 1 : 0), v('lanczos_steps', r.iterations, -1, 'count')];
    if (r.trace !== undefined) out.push(v('trace', r.trace), v('trace_se', r.traceSe!));
    if (extra.lr !== undefined) out.push(v('two_over_lr', 2 / extra.lr));
    for (const b of r.blocks ?? []) out.push(v('lambda_max', b.lambdaMax, b.layerIndex), v('converged', b.converged ? 1 : 0, b.layerIndex));
    return out;
  },
};
