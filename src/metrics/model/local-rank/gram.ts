import {applyActivation64} from '../../../model/activations.js';
import {eigvalsh} from '../../../linalg/eigen.js';

/** Lower triangle of A A^T (A: m x n row-major) into G (m x m). */
export function gramRows(A: Float64Array, m: number, n: number, G: Float64Array): void {
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
export function gramCols(A: Float64Array, m: number, n: number, G: Float64Array): void {
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

/** Singular values (descending) of an m x n row-major matrix via the eigenvalues of its smaller Gram. */
export function singularValues(A: Float64Array, m: number, n: number, side: 'auto' | 'output' | 'input' = 'auto'): Float64Array {
  const useRows = side === 'output' || (side === 'auto' && m <= n);
  const k = useRows ? m : n;
  const G = new Float64Array(k * k);
  if (useRows) gramRows(A, m, n, G);
  else gramCols(A, m, n, G);
  return eigvalsh(G, k, {overwrite: true}).map((x) => Math.sqrt(Math.max(0, x)));
}

/**
 * Buffers and kernels of the gram path. With the active units a of layer l-1 (phi' != 0),
 * H = D_a G_{l-1}[a, a] D_a (na x na, full symmetric) and W_a = rows a of W_l (na x d_l):
 *   G_l = W_a^T H W_a,   H_next = D_b G_l[b, b] D_b = D_b W_ab^T H W_ab D_b  (b: active units of l).
 * Only H (never the full G_l) is carried from layer to layer.
 */
export class GramWorkspace {
  readonly buf: Float64Array;
  private readonly A: Float64Array;
  private readonly Mt: Float64Array;
  private readonly T: Float64Array;
  constructor(n: number) {
    this.buf = new Float64Array(n * n);
    this.A = new Float64Array(n * n);
    this.Mt = new Float64Array(n * n);
    this.T = new Float64Array(n * n);
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
      lam.set(eigvalsh(S, na, {overwrite: true}));
    } else {
      this.lowerGram(H, na, act, W, dOut);
      lam.set(eigvalsh(this.buf.subarray(0, dOut * dOut), dOut, {overwrite: true}));
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
export function lowerCopy(Hf: Float64Array, n: number, buf: Float64Array): Float64Array {
  const out = buf.subarray(0, n * n);
  out.set(Hf.subarray(0, n * n));
  return out;
}

/** diag(p) - p p^T of softmax(z), full n x n. */
export function softmaxJacobian(z: Float64Array): Float64Array {
  const n = z.length;
  const p = applyActivation64('softmax', z, new Float64Array(n));
  const S = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) S[i * n + j] = (i === j ? p[i] : 0) - p[i] * p[j];
  return S;
}

export function fullFromLower(G: Float64Array, n: number): Float64Array {
  const F = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) F[i * n + j] = F[j * n + i] = G[i * n + j];
  return F;
}

export function matmulSquare(A: Float64Array, B: Float64Array, n: number): Float64Array {
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) {
    const a = A[i * n + k];
    if (a === 0) continue;
    for (let j = 0; j < n; j++) C[i * n + j] += a * B[k * n + j];
  }
  return C;
}

