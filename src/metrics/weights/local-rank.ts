import {z} from 'zod';
import type {Matrix} from '../../types.js';
import {UserError} from '../../util/errors.js';
import {Rng} from '../../util/prng.js';
import type {EstimatorValue} from '../types.js';
import {tql1} from '../eigen.js';
import {checkDenseNet, type DenseNet} from './model.js';

/**
 * Local rank (spec 5, Patel & Shwartz-Ziv 2024) of an MLP from its weights: for every evaluation
 * point x and layer l, the Jacobian of the pre-activation (or, with `post`, the post-activation)
 * with respect to the input, J_l(x) = d z_l / d x (d_l x d_0), and the number of its singular
 * values above a tolerance.
 *
 * Layout: tdlab stores W as fan_in x fan_out (z = x W + b), so with D_k = diag(phi'(z_k(x))):
 *   J_1 = W_1^T,  J_l = W_l^T D_{l-1} J_{l-1},  J^post_l = D_l J_l.
 *
 * Singular values are square roots of the eigenvalues of a Gram matrix, in float64. Two exact
 * paths give the same spectrum:
 *  - `gram` (default when every layer is at most as wide as the input): the output-side Gram
 *    G_l = J_l J_l^T (d_l x d_l) is propagated without ever forming J:
 *      G_1 = W_1^T W_1 (once, it does not depend on x),  G_l = W_l^T D G_{l-1} D W_l,
 *    restricted to the units with phi' != 0 (about half of a ReLU layer): only
 *    H = (D G D)[a, a] (a x a) is carried, and the nonzero spectrum of G_l = W_a^T H W_a comes
 *    from the a x a matrix L^T H L with W_a = L Q (Householder LQ) when a < d_l. That is
 *    O(a^2 d_l) per layer and point instead of O(d_l^2 d_0) for J and again for J J^T;
 *  - `explicit`: J_l is built row-blocked (each row of J_l is a combination of rows of
 *    D J_{l-1}), then the Gram of its smaller side (J J^T or J^T J) is formed.
 * Both feed an eigenvalue-only symmetric solver (Householder tridiagonalisation of the lower
 * triangle + implicit QL), about 4/3 n^3 flops.
 *
 * Precision: eigenvalues of a float64 Gram are accurate to ~n eps lambda_max, so singular values
 * are resolved down to ~sqrt(n eps) s_max (~2e-7 s_max for n = 200): exact for the absolute
 * tolerance 0.01 and for relative tolerances >= ~1e-6. The "numerical rank" is therefore the
 * NumPy `matrix_rank` rule applied to the Gram (lambda > lambda_max * max(d_l, d_0) * eps), which
 * equals rank(J) in exact arithmetic; the literal rule on s (s > s_max max(d) eps) would count
 * Gram round-off as rank and needs a full SVD of J (see `layerJacobians` + an SVD if required).
 */

export interface LocalRankOptions {
  /** Only this layer (1-based, as tdlab's layer index); default all layers. */
  layer?: number;
  /** Absolute tolerance on singular values (default 0.01, the authors' MNIST code). */
  tol: number;
  /** Relative tolerance: count s > relTol * s_max (replaces `tol` when given). */
  relTol?: number;
  /** Jacobian of the post-activation h_l = phi(z_l) instead of the pre-activation z_l. */
  post: boolean;
  /** Use the first `points` rows of X (all rows when X has fewer). */
  points: number;
  /** Computation path; `auto` = gram when every computed layer is at most d_0 wide. */
  method?: 'auto' | 'gram' | 'explicit';
  /** With `explicit`: which Gram to diagonalise (`auto` = the smaller side). */
  side?: 'auto' | 'output' | 'input';
  /** Keep every point's singular values (descending) in the result. */
  keepSingularValues?: boolean;
}

export interface LayerLocalRank {
  /** 1-based layer index. */
  layerIndex: number;
  /** d_l */
  width: number;
  /** Mean over the points of rank_tol(J_l(x)). */
  meanRank: number;
  /** Per-point ranks (for histograms); length = points used. */
  ranks: Int32Array;
  /** Mean "numerical" rank (NumPy rule on the Gram, see above). */
  meanNumericalRank: number;
  numericalRanks: Int32Array;
  /** Largest singular value per point. */
  sMax: Float64Array;
  /** Upper bound min(d_0, ..., d_l) of the rank. */
  maxRank: number;
  /** Per point, descending, when `keepSingularValues`. */
  singularValues?: Float64Array[];
}

export interface LocalRankResult {
  layers: LayerLocalRank[];
  points: number;
  inputDim: number;
  /** `vjp`: the generic batched-VJP path of local-rank-vjp.ts (any tdlab model). */
  method: 'gram' | 'explicit' | 'vjp';
}

const EPS = 2 ** -52;

/** phi'(z) of an elementwise activation, written into out (ReLU: phi'(0) = 0, as torch). */
export function activationDerivative(activation: string, z: ArrayLike<number>, out: Float64Array): Float64Array {
  const n = out.length;
  switch (activation) {
    case 'linear':
      out.fill(1);
      break;
    case 'relu':
      for (let i = 0; i < n; i++) out[i] = z[i] > 0 ? 1 : 0;
      break;
    case 'tanh':
      for (let i = 0; i < n; i++) {
        const t = Math.tanh(z[i]);
        out[i] = 1 - t * t;
      }
      break;
    case 'sigmoid':
      for (let i = 0; i < n; i++) {
        const s = 1 / (1 + Math.exp(-z[i]));
        out[i] = s * (1 - s);
      }
      break;
    case 'softsign':
      for (let i = 0; i < n; i++) {
        const a = 1 + Math.abs(z[i]);
        out[i] = 1 / (a * a);
      }
      break;
    case 'softplus': // d/dz ln(1 + e^z) = sigmoid(z)
      for (let i = 0; i < n; i++) out[i] = 1 / (1 + Math.exp(-z[i]));
      break;
    case 'elu': // alpha 1
      for (let i = 0; i < n; i++) out[i] = z[i] > 0 ? 1 : Math.exp(z[i]);
      break;
    default:
      throw new UserError(`local rank: activation '${activation}' has no elementwise derivative (known: linear, relu, tanh, sigmoid, softsign, softplus, elu)`);
  }
  return out;
}

/** phi(z) elementwise (softmax over the whole vector). */
export function applyActivation(activation: string, z: Float64Array, out: Float64Array): Float64Array {
  const n = z.length;
  switch (activation) {
    case 'linear':
      out.set(z);
      break;
    case 'relu':
      for (let i = 0; i < n; i++) out[i] = z[i] > 0 ? z[i] : 0;
      break;
    case 'tanh':
      for (let i = 0; i < n; i++) out[i] = Math.tanh(z[i]);
      break;
    case 'sigmoid':
      for (let i = 0; i < n; i++) out[i] = 1 / (1 + Math.exp(-z[i]));
      break;
    case 'softsign':
      for (let i = 0; i < n; i++) out[i] = z[i] / (1 + Math.abs(z[i]));
      break;
    case 'softplus':
      for (let i = 0; i < n; i++) out[i] = z[i] > 30 ? z[i] : Math.log1p(Math.exp(z[i]));
      break;
    case 'elu':
      for (let i = 0; i < n; i++) out[i] = z[i] > 0 ? z[i] : Math.expm1(z[i]);
      break;
    case 'softmax': {
      let m = -Infinity;
      for (let i = 0; i < n; i++) if (z[i] > m) m = z[i];
      let s = 0;
      for (let i = 0; i < n; i++) s += out[i] = Math.exp(z[i] - m);
      for (let i = 0; i < n; i++) out[i] /= s;
      break;
    }
    default:
      throw new UserError(`unknown activation '${activation}'`);
  }
  return out;
}

/** Float64 copies of the weights (float32 checkpoints are converted exactly once). */
function f64(a: Float32Array | Float64Array): Float64Array {
  return a instanceof Float64Array ? a : Float64Array.from(a);
}

/** Pre-activations z_l (one Float64Array of d_l per layer) of one input x, up to layer `upto` (1-based). */
export function forwardPre(net: DenseNet, x: ArrayLike<number>, upto = net.layers.length): Float64Array[] {
  const zs: Float64Array[] = [];
  let h: ArrayLike<number> = x;
  for (let l = 0; l < upto; l++) {
    const {W, rows, cols, b, activation} = net.layers[l];
    const zl = new Float64Array(cols);
    for (let j = 0; j < cols; j++) zl[j] = b[j];
    for (let i = 0; i < rows; i++) {
      const a = h[i];
      if (a === 0) continue;
      const o = i * cols;
      for (let j = 0; j < cols; j++) zl[j] += a * W[o + j];
    }
    zs.push(zl);
    if (l + 1 < upto) h = applyActivation(activation, zl, new Float64Array(cols));
  }
  return zs;
}

/**
 * Explicit Jacobians J_l(x) = dz_l/dx (or dh_l/dx with `post`), row-major d_l x d_0, for every
 * layer up to `upto`. Row-blocked: row p of J_l is sum_i W_l[i, p] phi'_i J_{l-1}[i, :].
 */
export function layerJacobians(net: DenseNet, x: ArrayLike<number>, post = false, upto = net.layers.length): Float64Array[] {
  const zs = forwardPre(net, x, upto);
  const d0 = net.layers[0].rows;
  const out: Float64Array[] = [];
  let Jprev: Float64Array | undefined;
  let dprev: Float64Array | undefined;
  for (let l = 0; l < upto; l++) {
    const {W, rows, cols, activation} = net.layers[l];
    const J = new Float64Array(cols * d0);
    if (!Jprev) {
      for (let i = 0; i < rows; i++) for (let p = 0; p < cols; p++) J[p * d0 + i] = W[i * cols + p];
    } else {
      for (let i = 0; i < rows; i++) {
        const di = dprev![i];
        if (di === 0) continue;
        const src = i * d0;
        for (let p = 0; p < cols; p++) {
          const c = W[i * cols + p] * di;
          if (c === 0) continue;
          const dst = p * d0;
          for (let k = 0; k < d0; k++) J[dst + k] += c * Jprev[src + k];
        }
      }
    }
    if (post) out.push(postJacobian(activation, zs[l], J, cols, d0));
    else out.push(J);
    Jprev = J;
    if (l + 1 < upto) dprev = activationDerivative(activation, zs[l], new Float64Array(cols));
  }
  return out;
}

/** D J (elementwise activation) or (diag(p) - p p^T) J (softmax), as a new array. */
function postJacobian(activation: string, z: Float64Array, J: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  if (activation === 'softmax') {
    const p = applyActivation('softmax', z, new Float64Array(rows));
    const pj = new Float64Array(cols); // p^T J
    for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) pj[k] += p[i] * J[i * cols + k];
    for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) out[i * cols + k] = p[i] * (J[i * cols + k] - pj[k]);
    return out;
  }
  const d = activationDerivative(activation, z, new Float64Array(rows));
  for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) out[i * cols + k] = d[i] * J[i * cols + k];
  return out;
}

/** Lower triangle of A A^T (A: m x n row-major) into G (m x m). */
function gramRows(A: Float64Array, m: number, n: number, G: Float64Array): void {
  for (let p = 0; p < m; p++) {
    const op = p * n;
    for (let q = 0; q <= p; q++) {
      const oq = q * n;
      let s = 0;
      for (let k = 0; k < n; k++) s += A[op + k] * A[oq + k];
      G[p * m + q] = s;
    }
  }
}

/** Lower triangle of A^T A (A: m x n row-major) into G (n x n), by rank-1 updates over rows. */
function gramCols(A: Float64Array, m: number, n: number, G: Float64Array): void {
  G.fill(0, 0, n * n);
  for (let i = 0; i < m; i++) {
    const o = i * n;
    for (let p = 0; p < n; p++) {
      const a = A[o + p];
      if (a === 0) continue;
      const g = p * n;
      for (let q = 0; q <= p; q++) G[g + q] += a * A[o + q];
    }
  }
}

/**
 * Eigenvalues (descending) of a real symmetric n x n matrix given by its LOWER triangle
 * (row-major A[i * n + j], j <= i; the upper triangle is never read). A is overwritten.
 * Householder tridiagonalisation working on rows of the lower triangle (symmetric
 * matrix-vector product and rank-2 update touch each stored entry once, ~4/3 n^3 flops), then
 * implicit QL with Wilkinson shifts without eigenvectors (EISPACK tql1 / JAMA).
 */
export function symmetricEigenvalues(A: Float64Array, n: number, work?: {v: Float64Array; p: Float64Array; d: Float64Array; e: Float64Array}): Float64Array {
  const v = work?.v ?? new Float64Array(n);
  const p = work?.p ?? new Float64Array(n);
  const d = work?.d ?? new Float64Array(n);
  const e = work?.e ?? new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    const r0 = k + 1;
    const m = n - r0;
    d[k] = A[k * n + k];
    // Householder vector for x = A[r0.., k]: (I - tau v v^T) x = beta e_1, v_0 = 1
    const x0 = A[r0 * n + k];
    let sigma = 0;
    for (let i = 1; i < m; i++) {
      const xi = A[(r0 + i) * n + k];
      sigma += xi * xi;
    }
    if (sigma === 0) {
      e[k] = x0;
      continue;
    }
    const norm = Math.sqrt(x0 * x0 + sigma);
    const beta = x0 <= 0 ? norm : -norm;
    const tau = (beta - x0) / beta;
    const scale = 1 / (x0 - beta);
    v[0] = 1;
    for (let i = 1; i < m; i++) v[i] = A[(r0 + i) * n + k] * scale;
    e[k] = beta;
    // p = tau * A22 v  (A22 = trailing m x m block, lower triangle)
    for (let i = 0; i < m; i++) p[i] = 0;
    for (let i = 0; i < m; i++) {
      const base = (r0 + i) * n + r0;
      const vi = v[i];
      let s = 0;
      for (let j = 0; j < i; j++) {
        const a = A[base + j];
        s += a * v[j];
        p[j] += a * vi;
      }
      p[i] += s + A[base + i] * vi;
    }
    let pv = 0;
    for (let i = 0; i < m; i++) {
      p[i] *= tau;
      pv += p[i] * v[i];
    }
    // w = p - (tau/2)(p.v) v ; A22 -= v w^T + w v^T
    const c = 0.5 * tau * pv;
    for (let i = 0; i < m; i++) p[i] -= c * v[i];
    for (let i = 0; i < m; i++) {
      const base = (r0 + i) * n + r0;
      const vi = v[i];
      const wi = p[i];
      for (let j = 0; j <= i; j++) A[base + j] -= vi * p[j] + wi * v[j];
    }
  }
  if (n >= 2) {
    d[n - 2] = A[(n - 2) * n + n - 2];
    e[n - 2] = A[(n - 1) * n + n - 2];
  }
  if (n >= 1) {
    d[n - 1] = A[(n - 1) * n + n - 1];
    e[n - 1] = 0;
  }
  tql1(d, e, n);
  const out = Float64Array.from(d.subarray(0, n));
  out.sort().reverse();
  return out;
}


/** Singular values (descending) of an m x n row-major matrix via the eigenvalues of its smaller Gram. */
export function singularValues(A: Float64Array, m: number, n: number, side: 'auto' | 'output' | 'input' = 'auto'): Float64Array {
  const useRows = side === 'output' || (side === 'auto' && m <= n);
  const k = useRows ? m : n;
  const G = new Float64Array(k * k);
  if (useRows) gramRows(A, m, n, G);
  else gramCols(A, m, n, G);
  return symmetricEigenvalues(G, k).map((x) => Math.sqrt(Math.max(0, x)));
}

/** Per-point results of one layer while they are being computed. */
export interface Counter {
  ranks: Int32Array;
  numericalRanks: Int32Array;
  sMax: Float64Array;
  sv?: Float64Array[];
}

/**
 * Counts eigenvalues lam (descending) of a Gram whose singular values are sqrt(lam).
 * `jacobianEps`: when J itself was computed in a lower precision (float32 VJPs: 2^-23), the
 * numerical rank is NumPy's `matrix_rank` rule for that dtype on s (s > s_max max(d) eps), which
 * the float64 Gram resolves; default: the float64 rule on the Gram described above.
 */
export function countInto(c: Counter, point: number, lam: Float64Array, opts: LocalRankOptions, maxDim: number, jacobianEps?: number): void {
  const lmax = Math.max(0, lam.length ? lam[0] : 0);
  const smax = Math.sqrt(lmax);
  const tol = opts.relTol !== undefined ? opts.relTol * smax : opts.tol;
  const numTol = jacobianEps === undefined ? lmax * maxDim * EPS : lmax * (maxDim * jacobianEps) ** 2;
  let r = 0;
  let nr = 0;
  for (let i = 0; i < lam.length; i++) {
    const l = lam[i];
    if (Math.sqrt(Math.max(0, l)) > tol) r++;
    if (l > numTol) nr++;
  }
  c.ranks[point] = r;
  c.numericalRanks[point] = nr;
  c.sMax[point] = smax;
  if (c.sv) c.sv[point] = lam.map((x) => Math.sqrt(Math.max(0, x)));
}

/** Throws a UserError for a negative tolerance or a layer outside 1..L (both Jacobian paths). */
export function checkLocalRankOptions(opts: LocalRankOptions, L: number): void {
  if (!(opts.tol >= 0) && opts.relTol === undefined) throw new UserError('local rank: tol must be >= 0');
  if (opts.layer !== undefined && !(Number.isInteger(opts.layer) && opts.layer >= 1 && opts.layer <= L)) {
    throw new UserError(`local rank: layer ${opts.layer} out of range 1..${L}`);
  }
}

/**
 * Local rank of every layer (or `opts.layer`) at the first `opts.points` rows of X (N x d_0).
 * Pure; float64 throughout.
 */
export function localRank(net: DenseNet, X: Matrix, opts: LocalRankOptions): LocalRankResult {
  checkDenseNet(net);
  const L = net.layers.length;
  const d0 = net.layers[0].rows;
  if (X.cols !== d0) throw new UserError(`local rank: inputs have ${X.cols} columns but the first layer has fan_in ${d0}`);
  checkLocalRankOptions(opts, L);
  const M = Math.min(opts.points, X.rows);
  const upto = opts.layer ?? L;
  const wanted = (l: number) => opts.layer === undefined || opts.layer === l + 1;
  const widest = Math.max(...net.layers.slice(0, upto).map((l) => l.cols));
  const method = opts.method === undefined || opts.method === 'auto' ? (widest <= d0 ? 'gram' : 'explicit') : opts.method;
  const Ws = net.layers.map((l) => f64(l.W));
  const layers: Counter[] = net.layers.slice(0, upto).map(() => ({
    ranks: new Int32Array(M),
    numericalRanks: new Int32Array(M),
    sMax: new Float64Array(M),
    sv: opts.keepSingularValues ? new Array<Float64Array>(M) : undefined,
  }));
  const maxRank: number[] = [];
  let bound = d0;
  for (let l = 0; l < upto; l++) maxRank.push((bound = Math.min(bound, net.layers[l].cols)));

  const x = new Float64Array(d0);
  if (method === 'gram') {
    // G_1 = J_1 J_1^T = W_1^T W_1 (lower triangle), the same for every point
    const d1 = net.layers[0].cols;
    const G1 = new Float64Array(d1 * d1);
    gramCols(Ws[0], d0, d1, G1);
    const maxW = widest; // H, W_a and the Gram blocks are at most (widest hidden layer)^2
    const ws = new GramWorkspace(maxW);
    let lam1: Float64Array | undefined; // pre-activation spectrum of layer 1 (x-independent)
    const dvec = new Float64Array(maxW);
    // H = D_a G_{l-1}[a, a] D_a over the active units a of the previous layer (full symmetric na x na)
    let H = new Float64Array(maxW * maxW);
    let Hnext = new Float64Array(maxW * maxW);
    let act = new Int32Array(maxW);
    let actNext = new Int32Array(maxW);
    for (let m = 0; m < M; m++) {
      for (let k = 0; k < d0; k++) x[k] = X.data[m * d0 + k];
      const zs = forwardPre(net, x, upto);
      let na = 0;
      for (let l = 0; l < upto; l++) {
        const {cols: dl, activation} = net.layers[l];
        const maxDim = Math.max(dl, d0);
        const want = wanted(l);
        const last = l + 1 === upto;
        // --- pre-activation spectrum of G_l
        if (want && !opts.post) {
          if (l === 0) {
            if (!lam1) lam1 = symmetricEigenvalues(Float64Array.from(G1), d1, ws.eig);
            countInto(layers[l], m, lam1, opts, maxDim);
          } else countInto(layers[l], m, ws.preSpectrum(H, na, act, Ws[l], dl), opts, maxDim);
        }
        if (last && !(want && opts.post)) break;
        // --- post-activation spectrum / next H
        if (activation === 'softmax') {
          // last layer only (checkDenseNet): S G S with S = diag(p) - p p^T
          const G = l === 0 ? fullFromLower(G1, dl) : ws.fullGram(H, na, act, Ws[l], dl);
          const S = softmaxJacobian(zs[l]);
          countInto(layers[l], m, symmetricEigenvalues(matmulSquare(matmulSquare(S, G, dl), S, dl), dl, ws.eig), opts, maxDim);
          break;
        }
        activationDerivative(activation, zs[l], dvec.subarray(0, dl));
        let nb = 0;
        for (let i = 0; i < dl; i++) if (dvec[i] !== 0) actNext[nb++] = i;
        if (l === 0) {
          for (let i = 0; i < nb; i++) {
            const bi = actNext[i];
            for (let k = 0; k <= i; k++) Hnext[i * nb + k] = Hnext[k * nb + i] = dvec[bi] * G1[bi * d1 + actNext[k]] * dvec[actNext[k]];
          }
        } else ws.nextH(H, na, act, Ws[l], dl, actNext, nb, dvec, Hnext);
        if (want && opts.post) {
          const lam = new Float64Array(dl);
          if (nb > 0) lam.set(symmetricEigenvalues(lowerCopy(Hnext, nb, ws.buf), nb, ws.eig));
          countInto(layers[l], m, lam, opts, maxDim);
        }
        [H, Hnext] = [Hnext, H];
        [act, actNext] = [actNext, act];
        na = nb;
      }
    }
  } else {
    for (let m = 0; m < M; m++) {
      for (let k = 0; k < d0; k++) x[k] = X.data[m * d0 + k];
      const Js = layerJacobians(net, x, opts.post, upto);
      for (let l = 0; l < upto; l++) {
        if (!wanted(l)) continue;
        const dl = net.layers[l].cols;
        const useRows = opts.side === 'output' || ((opts.side ?? 'auto') === 'auto' && dl <= d0);
        const k = useRows ? dl : d0;
        const G = new Float64Array(k * k);
        if (useRows) gramRows(Js[l], dl, d0, G);
        else gramCols(Js[l], dl, d0, G);
        countInto(layers[l], m, symmetricEigenvalues(G, k), opts, Math.max(dl, d0));
      }
    }
  }
  const out: LayerLocalRank[] = [];
  layers.forEach((c, l) => {
    if (wanted(l)) out.push(layerSummary(c, l + 1, net.layers[l].cols, maxRank[l]));
  });
  return {layers: out, points: M, inputDim: d0, method};
}

/** One layer's result from its per-point counts (both Jacobian paths). */
export function layerSummary(c: Counter, layerIndex: number, width: number, maxRank: number): LayerLocalRank {
  const mean = (a: Int32Array) => (a.length ? a.reduce((s, v) => s + v, 0) / a.length : NaN);
  return {
    layerIndex,
    width,
    meanRank: mean(c.ranks),
    ranks: c.ranks,
    meanNumericalRank: mean(c.numericalRanks),
    numericalRanks: c.numericalRanks,
    sMax: c.sMax,
    maxRank,
    ...(c.sv ? {singularValues: c.sv} : {}),
  };
}

/**
 * Buffers and kernels of the gram path. With the active units a of layer l-1 (phi' != 0),
 * H = D_a G_{l-1}[a, a] D_a (na x na, full symmetric) and W_a = rows a of W_l (na x d_l):
 *   G_l = W_a^T H W_a,   H_next = D_b G_l[b, b] D_b = D_b W_ab^T H W_ab D_b  (b: active units of l).
 * Only H (never the full G_l) is carried from layer to layer.
 */
class GramWorkspace {
  readonly buf: Float64Array;
  private readonly A: Float64Array;
  private readonly Mt: Float64Array;
  private readonly T: Float64Array;
  readonly eig: {v: Float64Array; p: Float64Array; d: Float64Array; e: Float64Array};
  constructor(n: number) {
    this.buf = new Float64Array(n * n);
    this.A = new Float64Array(n * n);
    this.Mt = new Float64Array(n * n);
    this.T = new Float64Array(n * n);
    this.eig = {v: new Float64Array(n), p: new Float64Array(n), d: new Float64Array(n), e: new Float64Array(n)};
  }

  /**
   * Eigenvalues (descending, length dOut) of G_l = W_a^T H W_a. When na < dOut (e.g. a ReLU layer
   * with half its units off), G_l has rank <= na: with the Householder LQ factorisation
   * W_a = L Q (Q orthonormal rows), G_l = Q^T (L^T H L) Q, so its nonzero eigenvalues are those of
   * the na x na matrix L^T H L (orthogonal transformations only: backward stable).
   */
  preSpectrum(H: Float64Array, na: number, act: Int32Array, W: Float64Array, dOut: number): Float64Array {
    const lam = new Float64Array(dOut);
    if (na === 0) return lam;
    if (na < dOut) {
      const A = this.A;
      for (let i = 0; i < na; i++) A.set(W.subarray(act[i] * dOut, act[i] * dOut + dOut), i * dOut);
      lqInPlace(A, na, dOut);
      const S = this.buf.subarray(0, na * na);
      ltHl(A, dOut, H, na, this.T, S);
      lam.set(symmetricEigenvalues(S, na, this.eig));
    } else {
      this.lowerGram(H, na, act, W, dOut);
      lam.set(symmetricEigenvalues(this.buf.subarray(0, dOut * dOut), dOut, this.eig));
    }
    return lam;
  }

  /** Lower triangle of G_l = W_a^T H W_a into buf (dOut x dOut). */
  lowerGram(H: Float64Array, na: number, act: Int32Array, W: Float64Array, dOut: number): Float64Array {
    const A = this.A;
    for (let i = 0; i < na; i++) A.set(W.subarray(act[i] * dOut, act[i] * dOut + dOut), i * dOut);
    const G = this.buf.subarray(0, dOut * dOut);
    congruence(H, na, A, dOut, this.Mt, G);
    return G;
  }

  /** G_l as a full symmetric matrix (softmax post-activation). */
  fullGram(H: Float64Array, na: number, act: Int32Array, W: Float64Array, dOut: number): Float64Array {
    return fullFromLower(this.lowerGram(H, na, act, W, dOut), dOut);
  }

  /** out (full nb x nb) = D_b W_ab^T H W_ab D_b. */
  nextH(H: Float64Array, na: number, act: Int32Array, W: Float64Array, dOut: number, b: Int32Array, nb: number, D: Float64Array, out: Float64Array): void {
    const A = this.A;
    for (let i = 0; i < na; i++) {
      const wo = act[i] * dOut;
      const ao = i * nb;
      for (let j = 0; j < nb; j++) A[ao + j] = W[wo + b[j]];
    }
    const C = this.buf.subarray(0, nb * nb);
    if (na === 0) C.fill(0);
    else congruence(H, na, A, nb, this.Mt, C);
    for (let i = 0; i < nb; i++) {
      const di = D[b[i]];
      for (let k = 0; k <= i; k++) out[i * nb + k] = out[k * nb + i] = di * C[i * nb + k] * D[b[k]];
    }
  }
}

/**
 * Lower triangle of A^T H A into out (n x n), A: na x n row-major, H: na x na full symmetric.
 * Mt = H A (na x n), then out = A^T Mt; 4 rows per pass (one load/store of the target per 4 FMAs).
 */
function congruence(H: Float64Array, na: number, A: Float64Array, n: number, Mt: Float64Array, out: Float64Array): void {
  Mt.fill(0, 0, na * n);
  const k4 = na - (na % 4);
  for (let i = 0; i < na; i++) {
    const mo = i * n;
    const ho = i * na;
    for (let k = 0; k < k4; k += 4) {
      const h0 = H[ho + k];
      const h1 = H[ho + k + 1];
      const h2 = H[ho + k + 2];
      const h3 = H[ho + k + 3];
      const w0 = k * n;
      const w1 = w0 + n;
      const w2 = w1 + n;
      const w3 = w2 + n;
      for (let q = 0; q < n; q++) Mt[mo + q] += h0 * A[w0 + q] + h1 * A[w1 + q] + h2 * A[w2 + q] + h3 * A[w3 + q];
    }
    for (let k = k4; k < na; k++) {
      const h = H[ho + k];
      const wo = k * n;
      for (let q = 0; q < n; q++) Mt[mo + q] += h * A[wo + q];
    }
  }
  out.fill(0, 0, n * n);
  for (let i = 0; i < k4; i += 4) {
    const a0 = i * n;
    const a1 = a0 + n;
    const a2 = a1 + n;
    const a3 = a2 + n;
    for (let p = 0; p < n; p++) {
      const c0 = A[a0 + p];
      const c1 = A[a1 + p];
      const c2 = A[a2 + p];
      const c3 = A[a3 + p];
      const go = p * n;
      for (let q = 0; q <= p; q++) out[go + q] += c0 * Mt[a0 + q] + c1 * Mt[a1 + q] + c2 * Mt[a2 + q] + c3 * Mt[a3 + q];
    }
  }
  for (let i = k4; i < na; i++) {
    const ao = i * n;
    for (let p = 0; p < n; p++) {
      const c = A[ao + p];
      if (c === 0) continue;
      const go = p * n;
      for (let q = 0; q <= p; q++) out[go + q] += c * Mt[ao + q];
    }
  }
}

/**
 * Householder LQ of A (na x n row-major, na <= n) in place: afterwards A[i * n + j], j <= i, is
 * L (lower triangular, A = L Q); the rest holds reflector data.
 */
function lqInPlace(A: Float64Array, na: number, n: number): void {
  for (let k = 0; k < na; k++) {
    const ko = k * n;
    const x0 = A[ko + k];
    let sigma = 0;
    for (let j = k + 1; j < n; j++) sigma += A[ko + j] * A[ko + j];
    if (sigma === 0) continue; // row already has zeros right of the diagonal
    const norm = Math.sqrt(x0 * x0 + sigma);
    const beta = x0 <= 0 ? norm : -norm;
    const tau = (beta - x0) / beta;
    const scale = 1 / (x0 - beta);
    for (let j = k + 1; j < n; j++) A[ko + j] *= scale; // v = (1, A[k, k+1..])
    A[ko + k] = beta;
    for (let i = k + 1; i < na; i++) {
      const io = i * n;
      let s = A[io + k];
      for (let j = k + 1; j < n; j++) s += A[io + j] * A[ko + j];
      s *= tau;
      if (s === 0) continue;
      A[io + k] -= s;
      for (let j = k + 1; j < n; j++) A[io + j] -= s * A[ko + j];
    }
  }
}

/** Lower triangle of L^T H L into S (na x na); L = lower triangle of A (row stride ld), H full. */
function ltHl(A: Float64Array, ld: number, H: Float64Array, na: number, T: Float64Array, S: Float64Array): void {
  // T = H L: T[i, j] = sum_{k >= j} H[i, k] L[k, j]
  T.fill(0, 0, na * na);
  for (let i = 0; i < na; i++) {
    const to = i * na;
    for (let k = 0; k < na; k++) {
      const h = H[i * na + k];
      if (h === 0) continue;
      const lo = k * ld;
      for (let j = 0; j <= k; j++) T[to + j] += h * A[lo + j];
    }
  }
  // S = L^T T: S[i, j] = sum_{k >= i} L[k, i] T[k, j], j <= i
  S.fill(0, 0, na * na);
  for (let k = 0; k < na; k++) {
    const lo = k * ld;
    const to = k * na;
    for (let i = 0; i <= k; i++) {
      const l = A[lo + i];
      if (l === 0) continue;
      const so = i * na;
      for (let j = 0; j <= i; j++) S[so + j] += l * T[to + j];
    }
  }
}

/** The first n x n entries of a full symmetric matrix copied into buf (for the destructive eigen solver). */
function lowerCopy(Hf: Float64Array, n: number, buf: Float64Array): Float64Array {
  const out = buf.subarray(0, n * n);
  out.set(Hf.subarray(0, n * n));
  return out;
}

/** diag(p) - p p^T of softmax(z), full n x n. */
function softmaxJacobian(z: Float64Array): Float64Array {
  const n = z.length;
  const p = applyActivation('softmax', z, new Float64Array(n));
  const S = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) S[i * n + j] = (i === j ? p[i] : 0) - p[i] * p[j];
  return S;
}

function fullFromLower(G: Float64Array, n: number): Float64Array {
  const F = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) F[i * n + j] = F[j * n + i] = G[i * n + j];
  return F;
}

function matmulSquare(A: Float64Array, B: Float64Array, n: number): Float64Array {
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) {
    const a = A[i * n + k];
    if (a === 0) continue;
    for (let j = 0; j < n; j++) C[i * n + j] += a * B[k * n + j];
  }
  return C;
}

// ------------------------------------------------------------------------------------------
// Metric descriptor

const params = z
  .object({
    /** Absolute tolerance on singular values. */
    tol: z.number().nonnegative().default(0.01),
    /** Relative tolerance (count s > relTol * s_max); replaces tol when set. */
    relTol: z.number().positive().lt(1).optional(),
    /** Number of evaluation points (seeded subset of the rows given). */
    points: z.number().int().positive().default(128),
    /** Jacobian of the post-activation instead of the pre-activation. */
    post: z.boolean().default(false),
    /**
     * Hidden-layer activation of weights given as an `.npz` (`tdlab measure --weights`), which
     * carries none; recorded with the values. Not used by compute (the DenseNet carries its
     * activations) and not needed for run checkpoints (model.json has them).
     */
    activation: z.enum(['tanh', 'relu', 'sigmoid', 'softsign', 'softplus', 'elu', 'linear']).optional(),
  })
  .strict();

export type LocalRankParams = z.infer<typeof params>;

/** One layer's values of `geom.local_rank` plus the per-point ranks. */
export interface LocalRankLayerRow {
  /** 1-based, as tdlab's layer index. */
  layerIndex: number;
  /** Points the values were computed on (M). */
  n: number;
  values: EstimatorValue[];
  /** Per-point ranks and numerical ranks (histograms). */
  ranks: Int32Array;
  numericalRanks: Int32Array;
  /** Rows of X used, increasing. */
  rows: Int32Array;
}

/** Rows of X used for `points` evaluation points: all rows when N <= points, else a seeded subset (sorted). */
export function localRankRows(nRows: number, points: number, seed: number): Int32Array {
  if (nRows <= points) return Int32Array.from({length: nRows}, (_, i) => i);
  return new Rng(seed, 'points/geom.local_rank').permutation(nRows).subarray(0, points).sort();
}

/**
 * `geom.local_rank` (spec 5). Not an activation Estimator: it needs the snapshot's weights and
 * the inputs. `compute(net, X, params, seed)` -> one row per layer with quantities
 * `local_rank` (mean over points, unit count), `local_rank_numerical`, `local_rank_std`,
 * `local_rank_min`, `local_rank_max`, `local_rank_bound` (min(d_0..d_l)) and `s_max_mean`.
 */
export const geomLocalRank = {
  name: 'geom.local_rank',
  description: 'local rank: singular values of the input Jacobian of each layer above tol, averaged over evaluation points (Patel & Shwartz-Ziv 2024)',
  params,
  compute(net: DenseNet, X: Matrix, p: LocalRankParams, seed = 0): LocalRankLayerRow[] {
    const rows = localRankRows(X.rows, p.points, seed);
    const res = localRank(net, subsetRows(X, rows), {tol: p.tol, relTol: p.relTol, post: p.post, points: rows.length});
    return localRankLayerRows(res, rows);
  },
};

/** Rows X[rows] (in that order) as a float64 matrix. */
export function subsetRows(X: Matrix, rows: Int32Array): Matrix<Float64Array> {
  const d = X.cols;
  const sub = new Float64Array(rows.length * d);
  rows.forEach((r, i) => {
    for (let k = 0; k < d; k++) sub[i * d + k] = X.data[r * d + k];
  });
  return {data: sub, rows: rows.length, cols: d};
}

/**
 * The values of `geom.local_rank` (one row per layer) from a local-rank result; shared by the
 * analytic dense path and the generic VJP path so both emit the same quantities and units.
 */
export function localRankLayerRows(res: LocalRankResult, rows: Int32Array): LocalRankLayerRow[] {
  return res.layers.map((l) => {
    let sq = 0;
    let mn = Infinity;
    let mx = -Infinity;
    for (const r of l.ranks) {
      sq += (r - l.meanRank) ** 2;
      if (r < mn) mn = r;
      if (r > mx) mx = r;
    }
    const sbar = l.sMax.reduce((s, v) => s + v, 0) / Math.max(1, l.sMax.length);
    const values: EstimatorValue[] = [
      {quantity: 'local_rank', value: l.meanRank, unit: 'count'},
      {quantity: 'local_rank_numerical', value: l.meanNumericalRank, unit: 'count'},
      {quantity: 'local_rank_std', value: l.ranks.length ? Math.sqrt(sq / l.ranks.length) : NaN, unit: 'count'},
      {quantity: 'local_rank_min', value: mn, unit: 'count'},
      {quantity: 'local_rank_max', value: mx, unit: 'count'},
      {quantity: 'local_rank_bound', value: l.maxRank, unit: 'count'},
      {quantity: 's_max_mean', value: sbar, unit: 'dimensionless'},
    ];
    return {layerIndex: l.layerIndex, n: res.points, values, ranks: l.ranks, numericalRanks: l.numericalRanks, rows};
  });
}
