import type * as tfType from '@tensorflow/tfjs';
import {eigvalsh} from '../../../linalg/eigen.js';
import {activations} from '../../../model/activations.js';
import {layerTypes, maxPoolFirstMax, type ForwardContext} from '../../../model/layers.js';
import {layerConfig, type ModelPlan, type PlannedLayer} from '../../../model/plan.js';
import type {Matrix} from '../../../types.js';
import {UserError} from '../../../util/errors.js';
import {localRankLayerRows, localRankRows, subsetRows, type LocalRankLayerRow, type LocalRankParams} from './metric.js';
import {checkLocalRankOptions, countInto, layerSummary, type Counter, type LayerLocalRank, type LocalRankOptions, type LocalRankResult} from './types.js';

/**
 * Local rank (docs/metrics.md, geom.local_rank) of any model tdlab can train (dense, dropout, conv2d, maxpool2d, flatten),
 * by batched vector-Jacobian products in tfjs instead of the analytic MLP recursion of
 * local-rank.ts (which stays the path for pure dense networks: exact and faster).
 *
 * For layer l and point x, J_l(x) = d f_l(x) / dx is (flattened layer width d_l) x (flattened
 * input size d_0), with f_l the layer's pre-activation (the layer applied without its
 * activation) or, with `post`, its output h_l = phi(z_l). Layers without an activation
 * (maxpool2d, flatten, dropout: 'linear') have pre = post = the layer output; dropout is the
 * identity at evaluation. Row u of J_l(x) is the VJP of the one-hot cotangent e_u, so a batch of
 * (point, unit) pairs - the point tiled once per unit - gives many rows with one `tf.grad` call:
 *   grad_x <dy, f_l(x_tiled)>,  dy[r] = onehot(unit_r)  (float32)  ->  row r = J_l(x_{point_r})[unit_r, :].
 * The pairs are enumerated point-major and cut into chunks whose estimated working set stays
 * under `chunkBytes` (default 256 MB), so wide conv layers never hold a full tile in memory.
 *
 * Singular values, as the dense path: square roots of the eigenvalues of a float64 Gram of the
 * smaller side, here after dropping all-zero rows and columns of J (they only add zero
 * eigenvalues): J J^T over the a nonzero rows when a <= c, else J^T J over the c used columns
 * (`SparseJacobian`: rows are kept sparse - conv/maxpool rows have a receptive field's worth of
 * nonzeros - and folded into a dense d_0 x d_0 J^T J if they would exceed 128 MB), with the same
 * eigenvalue solver and the same counting rules (`countInto`: s > tol or s > relTol s_max, s_max per point). J is float32 here, so the
 * "numerical" rank is NumPy's matrix_rank rule for float32 (s > s_max max(d_l, d_0) 2^-23) rather
 * than the float64 rule the analytic path uses; singular values are good to ~1e-6 s_max.
 *
 * Layer functions: each layer type's own forward (model/layers.ts, evaluation mode) and the
 * activations registry, except two equivalent forms with better gradients: conv2d through
 * tf.conv2d when the backend has Conv2DBackpropInput (the im2col forward's slice/concat backward
 * costs ~10x more per VJP row on WASM; `nativeConv: false` uses the layer's own forward), and
 * maxpool2d through `maxPoolFirstMax` (the WASM MaxPoolGrad kernel of tfjs 4.22 drops the
 * gradient of windows whose values are all <= 1.2e-38, e.g. all negative; see there).
 *
 * Shortcuts that change no result: a layer whose Jacobian does not depend on x (every earlier
 * layer affine with a linear activation, e.g. the first conv's pre-activation) is computed at one
 * point only; a flatten/dropout layer right after a layer whose computed function was its output
 * repeats that layer's Jacobian and copies its counts.
 */

type Tf = typeof tfType;
type Tensor = tfType.Tensor;

/** Layer types the generic Jacobian path knows. */
export const VJP_LAYER_TYPES = ['dense', 'dropout', 'conv2d', 'maxpool2d', 'flatten'] as const;
/** Parameter-free layers that are the identity at evaluation (their Jacobian repeats the previous layer's). */
const IDENTITY_AT_EVAL = new Set(['flatten', 'dropout']);
/** Layers affine in their input at evaluation (with a linear activation the whole layer is affine). */
const AFFINE = new Set(['dense', 'conv2d', 'flatten', 'dropout']);

/** float32 machine epsilon: the precision of the VJP Jacobians. */
const EPS32 = 2 ** -23;

export interface VjpLocalRankOptions extends LocalRankOptions {
  /** Budget for one VJP chunk's working set in bytes (default 256 MB). */
  chunkBytes?: number;
  /** Called with a short line after each layer (long runs on conv nets). */
  progress?: (line: string) => void;
  /** Checked between chunks. */
  signal?: AbortSignal;
  /** Named in error messages (the model.json / checkpoint the plan came from). */
  source?: string;
  /**
   * Differentiate conv2d layers through `tf.conv2d` (the same function as the layer's im2col
   * forward, whose slice/concat backward costs ~10x more per VJP row on WASM) instead of the layer
   * type's own forward. Default: when the backend has Conv2D and Conv2DBackpropInput kernels.
   */
  nativeConv?: boolean;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

function layerType(layer: PlannedLayer): string {
  return layer.type ?? 'dense';
}

/**
 * Throws a UserError naming the layer unless every layer has a type and activation the VJP path
 * can differentiate, and `params` match the plan's parameter slots (count, sizes).
 */
export function checkPlanForJacobians(plan: ModelPlan, params?: ArrayLike<number>[], source = 'model'): void {
  if (!plan?.layers?.length) throw new UserError(`${source}: the model plan has no layers`);
  if (!Array.isArray(plan.inputShape) || plan.inputShape.length === 0) throw new UserError(`${source}: the model plan has no inputShape`);
  for (const layer of plan.layers) {
    const type = layerType(layer);
    if (!(VJP_LAYER_TYPES as readonly string[]).includes(type)) {
      throw new UserError(`${source}: layer ${layer.name} (index ${layer.index}) has type '${type}', which local rank cannot differentiate (supported: ${VJP_LAYER_TYPES.join(', ')})`);
    }
    const act = layer.activation ?? 'linear';
    if (act !== 'softmax' && !activations.has(act)) {
      throw new UserError(`${source}: layer ${layer.name} has activation '${act}' (known: ${activations.names().join(', ')}, softmax)`);
    }
    if (act === 'softmax' && layer !== plan.layers[plan.layers.length - 1]) throw new UserError(`${source}: layer ${layer.name}: softmax is only supported on the last layer`);
  }
  if (params) {
    const slots = plan.layers.flatMap((l) => l.params.map((p) => ({l, p})));
    if (params.length !== slots.length) throw new UserError(`${source}: ${params.length} parameter tensors given, the model has ${slots.length} (${slots.map(({l, p}) => `${l.name}.${p.name}`).join(', ')})`);
    slots.forEach(({l, p}, i) => {
      const size = prod(p.shape);
      if (params[i].length !== size) throw new UserError(`${source}: ${l.name}.${p.name} has ${params[i].length} values, the model needs shape [${p.shape}] (${size} values)`);
    });
  }
}

/**
 * Bytes per (point, unit) row of one VJP through layers 0..l: an upper estimate of the working
 * set (calibrated with tf.profile peakBytes on WASM: a conv/relu layer keeps ~7-8 tensors of its
 * output size alive across forward and backward; the im2col form adds ~7 copies of its patches).
 */
function bytesPerRow(plan: ModelPlan, l: number, nativeConv: boolean): number {
  let floats = 3 * prod(plan.inputShape); // gathered input, its gradient, the downloaded row
  let shape = plan.inputShape;
  for (let k = 0; k <= l; k++) {
    const layer = plan.layers[k];
    const inSize = prod(shape);
    const outSize = prod(layer.outputShape);
    floats += 8 * outSize + 2 * inSize;
    if (layerType(layer) === 'maxpool2d') floats += 6 * inSize;
    if (layerType(layer) === 'conv2d' && !nativeConv) floats += 12 * (layer.options?.kernel ?? 1) ** 2 * shape[shape.length - 1] * (outSize / layer.outputShape[layer.outputShape.length - 1]);
    shape = layer.outputShape;
  }
  return 4 * floats;
}

interface LayerPlanInfo {
  /** 0-based plan position */
  l: number;
  width: number;
  outShape: number[];
  /** J_l does not depend on x: computed at the first point only. */
  constant: boolean;
  /** Same Jacobian as layer l-1's computed one: copy its counts. */
  repeatsPrevious: boolean;
}

/**
 * Local rank of every layer (or `opts.layer`, 1-based plan index) of a tdlab model at the first
 * `opts.points` rows of X (N x prod(inputShape), rows in the input's row-major NHWC layout).
 * `params` in `paramSlots(plan)` order. Every tensor it creates is disposed.
 */
export async function localRankVjp(tf: Tf, plan: ModelPlan, params: ArrayLike<number>[], X: Matrix, opts: VjpLocalRankOptions): Promise<LocalRankResult> {
  const source = opts.source ?? 'model';
  checkPlanForJacobians(plan, params, source);
  const L = plan.layers.length;
  const d0 = prod(plan.inputShape);
  if (X.cols !== d0) throw new UserError(`local rank: inputs have ${X.cols} columns but ${source} expects inputs of shape [${plan.inputShape}] (${d0} values)`);
  checkLocalRankOptions(opts, L);
  const M = Math.min(opts.points, X.rows);
  const upto = opts.layer ?? L;
  const wanted = (l: number) => opts.layer === undefined || opts.layer === l + 1;
  const budget = opts.chunkBytes ?? 256 * 2 ** 20;

  // what to compute per layer
  const info: LayerPlanInfo[] = [];
  let allAffineBefore = true; // every layer before l is affine with a linear activation
  for (let l = 0; l < upto; l++) {
    const layer = plan.layers[l];
    const type = layerType(layer);
    const act = layer.activation ?? 'linear';
    const prev = l > 0 ? plan.layers[l - 1] : undefined;
    const prevComputesOutput = prev !== undefined && (opts.post || (prev.activation ?? 'linear') === 'linear');
    info.push({
      l,
      width: prod(layer.outputShape),
      outShape: layer.outputShape,
      // affine in x: an affine layer's pre-activation (or linear output) after affine layers only
      constant: allAffineBefore && AFFINE.has(type) && (act === 'linear' || !opts.post),
      repeatsPrevious: l > 0 && wanted(l - 1) && wanted(l) && IDENTITY_AT_EVAL.has(type) && act === 'linear' && prevComputesOutput,
    });
    allAffineBefore &&= AFFINE.has(type) && act === 'linear';
  }
  const maxRank: number[] = [];
  let bound = d0;
  for (const it of info) maxRank.push((bound = Math.min(bound, it.width)));
  const counters: Counter[] = info.map(() => ({
    ranks: new Int32Array(M),
    numericalRanks: new Int32Array(M),
    sMax: new Float64Array(M),
    sv: opts.keepSingularValues ? new Array<Float64Array>(M) : undefined,
  }));

  const slotsPerLayer = plan.layers.map((l) => l.params.length);
  const paramTensors: Tensor[] = [];
  let Xt: Tensor | undefined;
  try {
    let k = 0;
    for (const layer of plan.layers) {
      for (const p of layer.params) paramTensors.push(tf.tensor(Float32Array.from(params[k++]), p.shape, 'float32'));
    }
    const layerParams: Tensor[][] = [];
    k = 0;
    for (const n of slotsPerLayer) {
      layerParams.push(paramTensors.slice(k, k + n));
      k += n;
    }
    const xs = new Float32Array(M * d0);
    for (let i = 0; i < M * d0; i++) xs[i] = X.data[i];
    Xt = tf.tensor(xs, [M, ...plan.inputShape], 'float32');
    const nativeConv = opts.nativeConv ?? (tf.getKernel('Conv2D', tf.getBackend()) !== undefined && tf.getKernel('Conv2DBackpropInput', tf.getBackend()) !== undefined);
    const cfgs = plan.layers.map(layerConfig);
    const ctxs: ForwardContext[] = plan.layers.map((l) => ({training: false, seed: 0, step: 0, layer: l.name}));
    /** z_q: the layer without its activation (dropout: identity, training is false). */
    const layerForward = (q: number, h: Tensor): Tensor => {
      const cfg = cfgs[q];
      if (cfg.type === 'maxpool2d') return maxPoolFirstMax(tf, h as tfType.Tensor4D, cfg.size ?? 2); // the layer's own forward
      if (nativeConv && cfg.type === 'conv2d') {
        const [W, b] = layerParams[q];
        return tf.add(tf.conv2d(h as tfType.Tensor4D, W as tfType.Tensor4D, cfg.stride ?? 1, cfg.padding ?? 'same'), b);
      }
      return layerTypes.get(cfg.type).forward(tf, h, layerParams[q], cfg, ctxs[q]);
    };
    /** f_l(x): layers 0..l, the last one with its activation only when `post`. */
    const f = (x: Tensor, l: number): Tensor => {
      let h = x;
      for (let q = 0; q <= l; q++) {
        const layer = plan.layers[q];
        const z = layerForward(q, h);
        const act = layer.activation ?? 'linear';
        if ((q < l || opts.post) && act !== 'linear') h = act === 'softmax' ? tf.softmax(z) : activations.get(act).apply(tf, z);
        else h = z;
      }
      return h;
    };

    for (const it of info) {
      const {l, width: dl} = it;
      if (!wanted(l)) continue;
      const c = counters[l];
      const maxDim = Math.max(dl, d0);
      if (it.repeatsPrevious) {
        const p = counters[l - 1];
        c.ranks.set(p.ranks);
        c.numericalRanks.set(p.numericalRanks);
        c.sMax.set(p.sMax);
        if (c.sv && p.sv) for (let m = 0; m < M; m++) c.sv[m] = Float64Array.from(p.sv[m]);
        continue;
      }
      const pts = it.constant ? Math.min(1, M) : M;
      const acc = new SparseJacobian(d0);
      const total = pts * dl;
      const chunk = Math.max(1, Math.min(total, Math.floor(budget / bytesPerRow(plan, l, nativeConv))));
      const grad = tf.grad((x: Tensor) => f(x, l));
      for (let g0 = 0; g0 < total; g0 += chunk) {
        if (opts.signal?.aborted) throw new UserError('local rank: interrupted');
        const n = Math.min(chunk, total - g0);
        const pointIdx = new Int32Array(n);
        const unitIdx = new Int32Array(n);
        for (let r = 0; r < n; r++) {
          pointIdx[r] = Math.floor((g0 + r) / dl);
          unitIdx[r] = (g0 + r) % dl;
        }
        const rowsT = tf.tidy(() => {
          const xb = tf.gather(Xt!, tf.tensor1d(pointIdx, 'int32'));
          const dy = tf.reshape(tf.cast(tf.oneHot(tf.tensor1d(unitIdx, 'int32'), dl), 'float32'), [n, ...it.outShape]);
          return tf.reshape(grad(xb, dy), [n, d0]);
        });
        let rows: Float32Array;
        try {
          rows = (await rowsT.data()) as Float32Array; // not dataSync: the webgpu backend has no synchronous read in Node
        } finally {
          rowsT.dispose();
        }
        for (let r = 0; r < n; r++) {
          const m = pointIdx[r];
          acc.add(rows.subarray(r * d0, (r + 1) * d0));
          if (unitIdx[r] === dl - 1) {
            const lam = acc.spectrum(Math.min(dl, d0));
            if (it.constant) for (let q = 0; q < M; q++) countInto(c, q, lam, opts, maxDim, EPS32);
            else countInto(c, m, lam, opts, maxDim, EPS32);
            acc.reset();
          }
        }
        await new Promise((res) => setImmediate(res)); // let progress and signals through
      }
      opts.progress?.(`local rank: layer ${plan.layers[l].name} (${l + 1}/${upto}, ${pts} point${pts === 1 ? '' : 's'} x ${dl} rows)`);
    }
  } finally {
    for (const t of paramTensors) t.dispose();
    Xt?.dispose();
  }
  const out: LayerLocalRank[] = [];
  info.forEach((it, l) => {
    if (wanted(l)) out.push(layerSummary(counters[l], plan.layers[l].index, it.width, maxRank[l]));
  });
  return {layers: out, points: M, inputDim: d0, method: 'vjp'};
}

/**
 * One point's Jacobian, fed one row at a time (only nonzero entries are kept), and the eigenvalues
 * of the smaller of its two compressed Grams: J J^T over the a nonzero rows or J^T J over the c
 * columns with a nonzero entry (same nonzero spectrum; all-zero rows/columns only add zero
 * eigenvalues). If the stored rows would exceed `capBytes`, they are folded into a dense float64
 * J^T J (d_0 x d_0) and later rows are added to it directly.
 */
export class SparseJacobian {
  private idx: Int32Array[] = [];
  private val: Float64Array[] = [];
  private stored = 0;
  private readonly used: Uint8Array;
  private readonly nzIdx: Int32Array;
  private readonly nzVal: Float64Array;
  private colGram: Float64Array | undefined;
  constructor(private readonly d0: number, private readonly capBytes = 128 * 2 ** 20) {
    this.used = new Uint8Array(d0);
    this.nzIdx = new Int32Array(d0);
    this.nzVal = new Float64Array(d0);
  }

  add(row: ArrayLike<number>): void {
    const {nzIdx, nzVal} = this;
    let n = 0;
    for (let k = 0; k < this.d0; k++) {
      const v = row[k];
      if (v !== 0) {
        nzIdx[n] = k;
        nzVal[n++] = v;
        this.used[k] = 1;
      }
    }
    if (n === 0) return;
    if (this.colGram) return this.addToColGram(nzIdx, nzVal, n);
    this.idx.push(nzIdx.slice(0, n));
    this.val.push(nzVal.slice(0, n));
    this.stored += 12 * n;
    if (this.stored > this.capBytes) {
      this.colGram = new Float64Array(this.d0 * this.d0);
      for (let r = 0; r < this.idx.length; r++) this.addToColGram(this.idx[r], this.val[r], this.idx[r].length);
      this.idx = [];
      this.val = [];
      this.stored = 0;
    }
  }

  /** Lower triangle of J^T J += v v^T over the row's nonzeros (indices increase). */
  private addToColGram(idx: Int32Array, val: Float64Array, n: number): void {
    const G = this.colGram!;
    const d0 = this.d0;
    for (let i = 0; i < n; i++) {
      const gi = idx[i] * d0;
      const vi = val[i];
      for (let j = 0; j <= i; j++) G[gi + idx[j]] += vi * val[j];
    }
  }

  /** Eigenvalues (descending) of the Jacobian's Gram, padded with zeros to `length`. */
  spectrum(length: number): Float64Array {
    const d0 = this.d0;
    const cols: number[] = [];
    for (let k = 0; k < d0; k++) if (this.used[k]) cols.push(k);
    const c = cols.length;
    const a = this.idx.length;
    const lam = new Float64Array(length);
    if (this.colGram) {
      const G = this.colGram;
      const S = new Float64Array(c * c);
      for (let p = 0; p < c; p++) for (let q = 0; q <= p; q++) S[p * c + q] = G[cols[p] * d0 + cols[q]];
      lam.set(eigvalsh(S, c, {overwrite: true}).subarray(0, Math.min(c, length)));
      return lam;
    }
    if (a === 0) return lam;
    let S: Float64Array;
    let n: number;
    if (a <= c) {
      // J J^T over the nonzero rows: scatter row p, dot with rows q <= p
      n = a;
      S = new Float64Array(a * a);
      const buf = new Float64Array(d0);
      for (let p = 0; p < a; p++) {
        const ip = this.idx[p];
        const vp = this.val[p];
        for (let t = 0; t < ip.length; t++) buf[ip[t]] = vp[t];
        for (let q = 0; q <= p; q++) {
          const iq = this.idx[q];
          const vq = this.val[q];
          let sum = 0;
          for (let t = 0; t < iq.length; t++) sum += vq[t] * buf[iq[t]];
          S[p * a + q] = sum;
        }
        for (let t = 0; t < ip.length; t++) buf[ip[t]] = 0;
      }
    } else {
      // J^T J over the used columns (compact indices keep the lower triangle: they increase with k)
      n = c;
      S = new Float64Array(c * c);
      const compact = new Int32Array(d0);
      cols.forEach((k, i) => (compact[k] = i));
      for (let r = 0; r < a; r++) {
        const ir = this.idx[r];
        const vr = this.val[r];
        for (let i = 0; i < ir.length; i++) {
          const gi = compact[ir[i]] * c;
          const vi = vr[i];
          for (let j = 0; j <= i; j++) S[gi + compact[ir[j]]] += vi * vr[j];
        }
      }
    }
    lam.set(eigvalsh(S, n, {overwrite: true}).subarray(0, Math.min(n, length)));
    return lam;
  }

  reset(): void {
    this.idx = [];
    this.val = [];
    this.stored = 0;
    this.used.fill(0);
    this.colGram = undefined;
  }
}

/**
 * `geom.local_rank` on any tdlab model (the generic path of the metric): the same evaluation
 * points (seeded subset) and the same rows/quantities as `geomLocalRank.compute`.
 */
export async function computeLocalRankVjp(
  tf: Tf,
  model: {plan: ModelPlan; params: ArrayLike<number>[]; source?: string},
  X: Matrix,
  p: LocalRankParams,
  seed = 0,
  extra: Pick<VjpLocalRankOptions, 'chunkBytes' | 'progress' | 'signal'> = {},
): Promise<LocalRankLayerRow[]> {
  const rows = localRankRows(X.rows, p.points, seed);
  const res = await localRankVjp(tf, model.plan, model.params, subsetRows(X, rows), {
    tol: p.tol, relTol: p.relTol, post: p.post, points: rows.length, source: model.source, ...extra,
  });
  return localRankLayerRows(res, rows);
}
