import {z} from 'zod';
import type {Matrix} from '../../types.js';
import {entropyBits, labelIds, toUnit} from '../discrete.js';
import type {Estimator, EstimatorInput, EstimatorValue} from '../types.js';
import {NOISE_TO_SPREAD, noiseToSpread} from '../validity.js';

const unit = z.enum(['bits', 'nats']).default('bits');
const bound = z.enum(['upper', 'lower']).default('upper');

/*
 * Kolchinsky-Tracey pairwise-distance bounds (docs/metrics.md, mi.kde). With K_ij = exp(-D_ij / (k s2)),
 * D_ij = ||t_i - t_j||^2, k = 2 (upper, KL) or 8 (lower, Bhattacharyya), and for a set G of rows
 * L(G) = -(1/|G|) sum_{i in G} ln[(1/|G|) sum_{j in G} K_ij]   (the mixture-entropy bound of the
 * rows of G minus the entropy of one Gaussian component):
 *   I(X;T) = L(all) - sum_x p(x) L(rows of x),  I(T;Y) = L(all) - sum_y p(y) L(rows of class y).
 * Without xIds every L(x) is 0 (one row: H(T|X=x) is the Gaussian entropy, exactly) and I(X;T)
 * is the usual -(1/N) sum_i ln[(1/N) sum_j K_ij]. With repeated inputs (xIds) every row keeps
 * weight 1/N, p(x) = n_x / N (the empirical distribution, as `mi.bin` and docs/metrics.md, conventions group rows), and
 * T | X = x is the mixture over the rows of x, bounded with the same bound type on that subset;
 * rows of x that are identical give L(x) = 0 exactly. With equal multiplicities this is the same
 * as X uniform over distinct inputs. Per row i, with S_i = sum_j K_ij and S^G_i the sum over j in
 * i's group G:  I = (1/N) sum_i [ ln(S^G_i / n_G) - ln(S_i / N) ]  (nats; not clamped at 0).
 *
 * Numerics. K_ii = 1 (D_ii = 0 exactly: direct differences) and every K_ij <= 1, so each row sum
 * lies in [1, N]: the log-sum-exp is already max-shifted (the row maximum is the self term) and
 * needs no second pass. Float64 throughout; D_ij by direct differences (exact 0 on the diagonal,
 * no cancellation; measured as fast as the norms-minus-dot-products form here). Pairs are
 * visited once (j > i, symmetric K), four rows of one class at a time against each row j
 * (register blocking), rows are sorted by class so that the same-class test is a loop bound instead of a
 * branch, and
 * exp(-x) uses a table of 2^(-m/64) times a degree-5 Taylor polynomial on |r| <= ln2/128
 * (relative error < 2e-15, checked against Math.exp in the tests); terms with x > 46
 * (exp(-46) = 1.1e-20) are skipped, which changes each row sum (>= 1) by less than N * 1.1e-20.
 * Memory O(N d + N); time O(N^2 d / 2).
 */

/** Exponent cut-off: terms exp(-x) with x > CUT are dropped. */
const CUT = 46;
const INV_LN2_64 = 64 / Math.LN2;
const LN2_64_HI = Math.fround(Math.LN2 / 64);
const LN2_64_LO = Math.LN2 / 64 - LN2_64_HI;
/** 1.5 * 2^52: (t + MAGIC) - MAGIC rounds t to the nearest integer for |t| < 2^51. */
const MAGIC = 6755399441055744;
/** POW2[m] = 2^(-m/64), m = 0..64 * 67 (covers x <= CUT + 1). */
const POW2 = (() => {
  const n = 64 * 67;
  const t = new Float64Array(n + 1);
  for (let m = 0; m <= n; m++) t[m] = 2 ** (-m / 64);
  return t;
})();

/** exp(-x) for 0 <= x <= CUT, as used in the pair loop (exported for the accuracy test). */
export function expNeg(x: number): number {
  const y = -x;
  const nn = (y * INV_LN2_64 + MAGIC) - MAGIC;
  const r = y - nn * LN2_64_HI - nn * LN2_64_LO;
  return POW2[-nn] * (1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120))))));
}

export interface KdeSums {
  /** N, and per row: S_i over all rows, S^Y_i over the row's class, S^X_i over rows of its input. */
  n: number;
  all: Float64Array;
  cls: Float64Array;
  inp: Float64Array;
  /** Class size and input-group size of each row. */
  clsSize: Float64Array;
  inpSize: Float64Array;
}

/**
 * Kernel row sums with K_ij = exp(-||t_i - t_j||^2 * a) (a = 1 / (2 s2) upper, 1 / (8 s2) lower).
 * Rows come back in the input order.
 */
export function kdeSums(T: Matrix<Float32Array | Float64Array>, y: Int32Array, xIds: Int32Array | undefined, a: number): KdeSums {
  const {rows: n, cols: d} = T;
  // sort rows by class (counting sort over class ids in order of first appearance)
  const cl = labelIds(y);
  const counts = new Int32Array(cl.count + 1);
  for (let i = 0; i < n; i++) counts[cl.ids[i] + 1]++;
  for (let c = 0; c < cl.count; c++) counts[c + 1] += counts[c];
  const order = new Int32Array(n); // sorted position -> original row
  const pos = counts.slice(0, cl.count);
  for (let i = 0; i < n; i++) order[pos[cl.ids[i]]++] = i;
  const segEnd = new Int32Array(n); // sorted position -> end of its class segment
  const clsSize = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    const c = cl.ids[order[p]];
    segEnd[p] = counts[c + 1];
    clsSize[order[p]] = counts[c + 1] - counts[c];
  }
  const X = new Float64Array(n * d);
  const src = T.data;
  for (let p = 0; p < n; p++) {
    const o = order[p] * d;
    for (let k = 0; k < d; k++) X[p * d + k] = src[o + k];
  }
  let xg: Int32Array | undefined;
  const inpSize = new Float64Array(n).fill(1);
  if (xIds) {
    const xs = labelIds(xIds);
    const xc = new Float64Array(xs.count);
    for (let i = 0; i < n; i++) xc[xs.ids[i]]++;
    xg = new Int32Array(n);
    for (let p = 0; p < n; p++) xg[p] = xs.ids[order[p]];
    for (let i = 0; i < n; i++) inpSize[i] = xc[xs.ids[i]];
  }

  const S = new Float64Array(n).fill(1); // self terms K_ii = 1
  const SY = new Float64Array(n).fill(1);
  const SX = new Float64Array(n).fill(1);
  const negA = -a;
  // Row-side sums of the current rows: [s, sy, sx] of row i, then of rows i + 1, i + 2, i + 3.
  const acc = new Float64Array(12);

  /** K(i, j) for one pair, 0 when below the cut-off. */
  const kernel = (i: number, j: number): number => {
    const oi = i * d;
    const oj = j * d;
    let D = 0;
    for (let k = 0; k < d; k++) {
      const z = X[oi + k] - X[oj + k];
      D += z * z;
    }
    const x = D * negA;
    return x > -CUT ? expNeg(-x) : 0;
  };

  /** Row i against rows j0..j1-1 (all in i's class when `same`). */
  const oneRow = (i: number, j0: number, j1: number, same: boolean): void => {
    const oi = i * d;
    const xi = xg ? xg[i] : -1;
    let s = 0;
    let sx = 0;
    for (let j = j0, oj = j0 * d; j < j1; j++, oj += d) {
      let D0 = 0;
      let D1 = 0;
      let k = 0;
      for (; k + 1 < d; k += 2) {
        const z0 = X[oi + k] - X[oj + k];
        const z1 = X[oi + k + 1] - X[oj + k + 1];
        D0 += z0 * z0;
        D1 += z1 * z1;
      }
      if (k < d) {
        const z = X[oi + k] - X[oj + k];
        D0 += z * z;
      }
      const x = (D0 + D1) * negA;
      if (x > -CUT) {
        const e = expNeg(-x);
        s += e;
        S[j] += e;
        if (same) SY[j] += e;
        if (xg !== undefined && xg[j] === xi) {
          sx += e;
          SX[j] += e;
        }
      }
    }
    acc[0] += s;
    if (same) acc[1] += s;
    acc[2] += sx;
  };

  /**
   * Rows i..i+3 (same class) against rows j0..j1-1: each X_j element is loaded once for four
   * rows (register blocking; the distance loop is ~1.3x faster than with two rows, ~1.8x than one).
   * The last 1-3 rows of each class go through `oneRow`.
   */
  const fourRows = (i: number, j0: number, j1: number, same: boolean): void => {
    const oa = i * d;
    const ob = oa + d;
    const oc = ob + d;
    const od = oc + d;
    let sa = 0;
    let sb = 0;
    let sc = 0;
    let sd = 0;
    for (let j = j0, oj = j0 * d; j < j1; j++, oj += d) {
      let A = 0;
      let B = 0;
      let C = 0;
      let D = 0;
      for (let k = 0; k < d; k++) {
        const u = X[oj + k];
        const za = X[oa + k] - u;
        const zb = X[ob + k] - u;
        const zc = X[oc + k] - u;
        const zd = X[od + k] - u;
        A += za * za;
        B += zb * zb;
        C += zc * zc;
        D += zd * zd;
      }
      A *= a;
      B *= a;
      C *= a;
      D *= a;
      const ea = A < CUT ? expNeg(A) : 0;
      const eb = B < CUT ? expNeg(B) : 0;
      const ec = C < CUT ? expNeg(C) : 0;
      const ed = D < CUT ? expNeg(D) : 0;
      const e = ea + eb + (ec + ed);
      if (e !== 0) {
        sa += ea;
        sb += eb;
        sc += ec;
        sd += ed;
        S[j] += e;
        if (same) SY[j] += e;
        if (xg !== undefined) {
          const xj = xg[j];
          if (xj === xg[i]) {
            acc[2] += ea;
            SX[j] += ea;
          }
          if (xj === xg[i + 1]) {
            acc[5] += eb;
            SX[j] += eb;
          }
          if (xj === xg[i + 2]) {
            acc[8] += ec;
            SX[j] += ec;
          }
          if (xj === xg[i + 3]) {
            acc[11] += ed;
            SX[j] += ed;
          }
        }
      }
    }
    acc[0] += sa;
    acc[3] += sb;
    acc[6] += sc;
    acc[9] += sd;
    if (same) {
      acc[1] += sa;
      acc[4] += sb;
      acc[7] += sc;
      acc[10] += sd;
    }
  };

  const flush = (i: number, off: number): void => {
    S[i] += acc[off];
    SY[i] += acc[off + 1];
    SX[i] += acc[off + 2];
  };
  for (let i = 0; i < n; ) {
    const end = segEnd[i];
    acc.fill(0);
    if (i + 3 < end) {
      // rows i..i+3 of one class: the 6 pairs among them, then all four against j >= i + 4
      for (let p = 0; p < 4; p++) {
        for (let q = p + 1; q < 4; q++) {
          const e = kernel(i + p, i + q);
          acc[3 * p] += e;
          acc[3 * q] += e;
          acc[3 * p + 1] += e;
          acc[3 * q + 1] += e;
          if (xg !== undefined && xg[i + p] === xg[i + q]) {
            acc[3 * p + 2] += e;
            acc[3 * q + 2] += e;
          }
        }
      }
      fourRows(i, i + 4, end, true);
      fourRows(i, end, n, false);
      for (let p = 0; p < 4; p++) flush(i + p, 3 * p);
      i += 4;
    } else {
      oneRow(i, i + 1, end, true);
      oneRow(i, end, n, false);
      flush(i, 0);
      i += 1;
    }
  }
  // back to input order
  const all = new Float64Array(n);
  const cls = new Float64Array(n);
  const inp = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    all[order[p]] = S[p];
    cls[order[p]] = SY[p];
    inp[order[p]] = SX[p];
  }
  return {n, all, cls, inp, clsSize, inpSize};
}

/** I(X;T) and I(T;Y) in nats from the kernel row sums (see the file comment). */
export function kdeMiNats(s: KdeSums): {ixt: number; ity: number} {
  const {n} = s;
  if (n === 0) return {ixt: 0, ity: 0};
  let ixt = 0;
  let ity = 0;
  for (let i = 0; i < n; i++) {
    const lAll = Math.log(s.all[i] / n);
    ixt += Math.log(s.inp[i] / s.inpSize[i]) - lAll;
    ity += Math.log(s.cls[i] / s.clsSize[i]) - lAll;
  }
  return {ixt: ixt / n, ity: ity / n};
}

/**
 * KDE bounds of I(X;T), I(T;Y) in nats for noise variance s2. Any non-finite value in T gives NaN
 * results (a kernel with NaN would otherwise be silently dropped).
 */
export function kdeMi(input: Pick<EstimatorInput, 'T' | 'y' | 'xIds'>, s2: number, which: 'upper' | 'lower'): {ixt: number; ity: number} {
  const data = input.T.data;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return {ixt: NaN, ity: NaN};
  const a = 1 / ((which === 'upper' ? 2 : 8) * s2);
  return kdeMiNats(kdeSums(input.T, input.y, input.xIds, a));
}

function kdeValues(input: EstimatorInput, nats: {ixt: number; ity: number}, u: 'bits' | 'nats'): EstimatorValue[] {
  const n = input.T.rows;
  const ceilingBits = input.xIds ? entropyBits(labelIds(input.xIds)) : n > 0 ? Math.log2(n) : 0;
  return [
    {quantity: 'I_XT', value: toUnit(nats.ixt / Math.LN2, u), unit: u, ceiling: toUnit(ceilingBits, u)},
    {quantity: 'I_TY', value: toUnit(nats.ity / Math.LN2, u), unit: u},
  ];
}

const kdeParams = z.object({noiseVariance: z.number().positive().default(1e-3), bound, unit}).strict();

/**
 * `mi.kde`: Kolchinsky-Tracey upper (KL) or lower (Bhattacharyya) bound of the MI of T + N(0, s2 I)
 * (Saxe et al.); s2 = `noiseVariance` in absolute activation units (1e-3 for the 12-bit network,
 * 1e-1 for MNIST). Ceiling of I(X;T): ln N (H(X) with repeated inputs).
 */
export const miKde: Estimator<z.infer<typeof kdeParams>> = {
  name: 'mi.kde',
  description: 'KDE pairwise-distance bounds (Kolchinsky & Tracey; Saxe et al.) with Gaussian noise variance noiseVariance',
  params: kdeParams,
  memory: ({n, d}) => 8 * n * d + 128 * n,
  compute: (input, p) => kdeValues(input, kdeMi(input, p.noiseVariance, p.bound), p.unit),
  // a fixed noise variance is only meaningful on the scale of the activations
  diagnose: (input, p) => [{quantity: NOISE_TO_SPREAD, value: noiseToSpread(input.T, p.noiseVariance)}],
};

const akdeParams = z.object({c: z.number().positive().default(1e-3), bound, unit}).strict();

/** Largest |value| of a matrix (NaN ignored). */
function maxAbs(data: Float32Array): number {
  let m = 0;
  for (let i = 0; i < data.length; i++) {
    const v = Math.abs(data[i]);
    if (v > m) m = v;
  }
  return m;
}

/**
 * The aKDE noise variance: s2 = c * (max |T|)^2, i.e. the noise standard deviation is
 * proportional to the layer's largest activity. NOTE (docs/metrics.md, mi.akde and open points): the reference writes
 * s2 = c * max|T| but also requires MI(T) == MI(5 T); only the squared form is scale invariant
 * (D_ij scales with a^2). Both agree for max |T| = 1 (saturated tanh: s2 = c = 1e-3, Saxe's value).
 */
export function akdeVariance(T: Matrix<Float32Array>, c: number): number {
  const m = maxAbs(T.data);
  return c * m * m;
}

/**
 * `mi.akde`: adaptive KDE (Chelombiev et al.): the bounds of `mi.kde` with the noise tied to the
 * layer's scale at this epoch, s2 = c * (max |T|)^2 (see `akdeVariance`). A layer that is all zeros
 * (s2 = 0) has I = 0.
 */
export const miAkde: Estimator<z.infer<typeof akdeParams>> = {
  name: 'mi.akde',
  description: 'adaptive KDE bounds (Chelombiev et al.): noise variance c * (max |T|)^2 per layer-epoch',
  params: akdeParams,
  memory: ({n, d}) => 8 * n * d + 128 * n,
  compute(input, p) {
    const s2 = akdeVariance(input.T, p.c);
    // s2 = 0: every value is 0 (or NaN): all kernels are 1 whatever s2, so any s2 > 0 gives the 0s (or NaNs)
    return kdeValues(input, kdeMi(input, s2 > 0 ? s2 : 1, p.bound), p.unit);
  },
};
