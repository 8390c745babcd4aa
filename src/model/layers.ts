import type * as tfType from '@tensorflow/tfjs';
import {Registry} from '../registry.js';
import {UserError} from '../util/errors.js';
import {Rng} from '../util/prng.js';

type Tf = typeof tfType;
type Tensor = tfType.Tensor;

/** A parameter tensor a layer needs; weights are initialised by the model's initialiser, biases with zeros. */
export interface ParamSpec {
  name: string;
  shape: number[];
  role: 'weight' | 'bias';
  fanIn: number;
  fanOut: number;
}

export interface LayerPlan {
  /** Shape of one sample's output (no batch dimension). */
  outputShape: number[];
  params: ParamSpec[];
}

/** The resolved config of one layer (see config schema `model.layers`). Fields a type does not use are ignored. */
export interface LayerConfig {
  type: string;
  /** dense: output width. */
  units?: number;
  activation?: string;
  init?: string;
  /** dropout: probability of zeroing a unit during training. */
  rate?: number;
  /** conv2d: output channels. */
  filters?: number;
  /** conv2d: square kernel size. */
  kernel?: number;
  /** conv2d: stride (default 1). */
  stride?: number;
  /** conv2d: 'same' (default) or 'valid'. */
  padding?: 'same' | 'valid';
  /** maxpool2d: window and stride (default 2). */
  size?: number;
}

/**
 * What a forward pass needs besides the input and parameters. Dropout draws its mask from the
 * stream `Rng(seed, 'dropout/<layer>/<step>')`, so masks depend only on the run seed, the layer
 * and the optimizer step (deterministic, backend-independent).
 */
export interface ForwardContext {
  /** True only inside the training step: dropout is the identity otherwise (evaluation, snapshots). */
  training: boolean;
  seed: number;
  /** Optimizer step (0-based, counted over the whole run). */
  step: number;
  /** Layer name (h1, h2, ...), part of the dropout stream label. */
  layer: string;
}

export interface LayerType {
  description: string;
  /** Config problems independent of the input shape (missing fields); empty when fine. */
  check?(cfg: LayerConfig): string[];
  /**
   * False for parameter-free reshaping layers (dropout, max-pool, flatten): the model's default
   * activation is not applied to them (their activation is 'linear' unless set on the layer).
   */
  activates: boolean;
  plan(cfg: LayerConfig, inputShape: number[]): LayerPlan;
  /** Pre-activation output for a batch `x` given this layer's parameter tensors (in `plan` order). */
  forward(tf: Tf, x: Tensor, params: Tensor[], cfg: LayerConfig, ctx: ForwardContext): Tensor;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

const dense: LayerType = {
  description: 'fully connected: z = x W + b (x flattened); fields: units',
  activates: true,
  check: (cfg) => (cfg.units === undefined ? ['dense needs units'] : []),
  plan(cfg, inputShape) {
    const fanIn = prod(inputShape);
    const units = cfg.units!;
    return {
      outputShape: [units],
      params: [
        {name: 'W', shape: [fanIn, units], role: 'weight', fanIn, fanOut: units},
        {name: 'b', shape: [units], role: 'bias', fanIn, fanOut: units},
      ],
    };
  },
  forward(tf, x, [W, b]) {
    const flat = x.rank > 2 ? tf.reshape(x, [x.shape[0], -1]) : x;
    return tf.add(tf.matMul(flat as tfType.Tensor2D, W as tfType.Tensor2D), b);
  },
};

const dropout: LayerType = {
  description: 'inverted dropout (training only; identity at evaluation); fields: rate',
  activates: false,
  check: (cfg) => (cfg.rate === undefined ? ['dropout needs rate'] : cfg.rate < 0 || cfg.rate >= 1 ? ['dropout rate must be in [0, 1)'] : []),
  plan: (_cfg, inputShape) => ({outputShape: [...inputShape], params: []}),
  forward(tf, x, _params, cfg, ctx) {
    const rate = cfg.rate ?? 0;
    if (!ctx.training || rate === 0) return x;
    return tf.mul(x, tf.tensor(dropoutMask(ctx.seed, ctx.layer, ctx.step, rate, x.size), x.shape));
  },
};

/**
 * The inverted-dropout mask of layer `layer` at optimizer step `step`: `n` values, 1/(1 - rate)
 * where kept and 0 where dropped, from the seeded stream `dropout/<layer>/<step>`. Every engine
 * draws its masks here, so they drop the same units.
 */
export function dropoutMask(seed: number, layer: string, step: number, rate: number, n: number): Float32Array<ArrayBuffer> {
  const rng = new Rng(seed, `dropout/${layer}/${step}`);
  const keep = 1 / (1 - rate);
  const mask = new Float32Array(n);
  for (let i = 0; i < n; i++) mask[i] = rng.uniform() >= rate ? keep : 0;
  return mask;
}

/** Output size and leading pad of one spatial axis (TensorFlow's 'same'/'valid' rules). */
function convAxis(n: number, k: number, s: number, padding: 'same' | 'valid'): {out: number; padLo: number; padHi: number} {
  if (padding === 'valid') {
    const out = Math.floor((n - k) / s) + 1;
    return {out, padLo: 0, padHi: 0};
  }
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + k - n, 0);
  return {out, padLo: Math.floor(total / 2), padHi: total - Math.floor(total / 2)};
}

export function convGeometry(cfg: LayerConfig, inputShape: number[]) {
  if (inputShape.length !== 3) throw new UserError(`model.layers: conv2d needs an input of shape [height, width, channels], got [${inputShape.join(', ')}] (use data.options.flatten: false for images)`);
  const [H, W, C] = inputShape;
  const k = cfg.kernel!;
  const s = cfg.stride ?? 1;
  const padding = cfg.padding ?? 'same';
  const h = convAxis(H, k, s, padding);
  const w = convAxis(W, k, s, padding);
  if (h.out < 1 || w.out < 1) throw new UserError(`model.layers: conv2d kernel ${k} does not fit the input [${inputShape.join(', ')}] with padding '${padding}'`);
  return {H, W, C, k, s, h, w};
}

/**
 * 2-D convolution (NHWC, cross-correlation as in TensorFlow), computed as im2col (k*k shifted
 * slices of the padded input, concatenated along channels) times the weight matrix. The WASM
 * backend has no Conv2DBackpropFilter kernel, and this form differentiates with slice/pad/matmul
 * only, all of which are fast there. W has shape [k, k, C_in, filters]; fan-in = k*k*C_in.
 */
const conv2d: LayerType = {
  description: 'convolution (NHWC); fields: filters, kernel, stride (1), padding (same|valid)',
  activates: true,
  check(cfg) {
    const e: string[] = [];
    if (cfg.filters === undefined) e.push('conv2d needs filters');
    if (cfg.kernel === undefined) e.push('conv2d needs kernel');
    return e;
  },
  plan(cfg, inputShape) {
    const g = convGeometry(cfg, inputShape);
    const F = cfg.filters!;
    const fanIn = g.k * g.k * g.C;
    return {
      outputShape: [g.h.out, g.w.out, F],
      params: [
        {name: 'W', shape: [g.k, g.k, g.C, F], role: 'weight', fanIn, fanOut: g.k * g.k * F},
        {name: 'b', shape: [F], role: 'bias', fanIn, fanOut: g.k * g.k * F},
      ],
    };
  },
  forward(tf, x, [Wt, b], cfg) {
    const B = x.shape[0];
    const g = convGeometry(cfg, x.shape.slice(1));
    const {k, s, C} = g;
    const oh = g.h.out;
    const ow = g.w.out;
    // pad so that every shifted window of (out * s) rows/cols fits
    const needH = (k - 1) + oh * s;
    const needW = (k - 1) + ow * s;
    const padHiH = Math.max(needH - g.H - g.h.padLo, 0);
    const padHiW = Math.max(needW - g.W - g.w.padLo, 0);
    const xp = g.h.padLo || padHiH || g.w.padLo || padHiW ? tf.pad(x, [[0, 0], [g.h.padLo, padHiH], [g.w.padLo, padHiW], [0, 0]]) : x;
    const patches: Tensor[] = [];
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        if (s === 1) {
          patches.push(tf.slice(xp, [0, i, j, 0], [B, oh, ow, C]));
        } else {
          const win = tf.slice(xp, [0, i, j, 0], [B, oh * s, ow * s, C]);
          const sub = tf.slice(tf.reshape(win, [B, oh, s, ow, s, C]), [0, 0, 0, 0, 0, 0], [B, oh, 1, ow, 1, C]);
          patches.push(tf.reshape(sub, [B, oh, ow, C]));
        }
      }
    }
    const cols = patches.length === 1 ? patches[0] : tf.concat(patches, 3);
    const z = tf.matMul(tf.reshape(cols, [B * oh * ow, k * k * C]) as tfType.Tensor2D, tf.reshape(Wt, [k * k * C, cfg.filters!]) as tfType.Tensor2D);
    return tf.reshape(tf.add(z, b), [B, oh, ow, cfg.filters!]);
  },
};

/**
 * Max-pooling (size x size windows, stride size, 'valid': the maxpool2d layer's function) with a
 * gradient that routes dy to the FIRST maximum of each window (TensorFlow's convention) without
 * the MaxPoolGrad kernel: the WASM MaxPoolGrad of tfjs 4.22 starts its running maximum at
 * std::numeric_limits<float>::min() (the smallest positive float), so a window whose values are
 * all <= 1.2e-38 (all negative, or all zero) gets no gradient (or sends it to element 0), and ties
 * go to the last maximum. Forward: tf.maxPool. Backward (tf.customGrad): the size^2 strided views
 * x[a::p, b::p] (rank-4 slices of a [B*Ho, p, Wo, p*C] view; rank-6 slices are very slow on WASM),
 * first-maximum masks in window order, and dy * mask interleaved back into the input layout.
 */
export function maxPoolFirstMax(tf: Tf, x: tfType.Tensor4D, p: number): Tensor {
  const [B, H, W, C] = x.shape;
  const Ho = Math.floor(H / p);
  const Wo = Math.floor(W / p);
  const xc = (Ho * p !== H || Wo * p !== W ? tf.slice(x, [0, 0, 0, 0], [B, Ho * p, Wo * p, C]) : x) as tfType.Tensor4D;
  const pool = tf.customGrad(((xin: Tensor, save: tfType.GradSaveFunc) => {
    const y = tf.maxPool(xin as tfType.Tensor4D, p, p, 'valid');
    save([xin, y]);
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs, ys] = saved;
        const v = tf.reshape(xs, [B * Ho, p, Wo, p * C]);
        let taken: Tensor = tf.zerosLike(ys);
        const rows: Tensor[] = [];
        for (let a = 0; a < p; a++) {
          const cols: Tensor[] = [];
          for (let b = 0; b < p; b++) {
            const view = tf.reshape(tf.slice(v, [0, a, 0, b * C], [B * Ho, 1, Wo, C]), [B, Ho, Wo, C]);
            const first = tf.mul(tf.cast(tf.equal(view, ys), 'float32'), tf.sub(1, taken));
            taken = tf.add(taken, first);
            cols.push(tf.mul(dy, first));
          }
          rows.push(tf.reshape(tf.concat(cols, 3), [B * Ho, 1, Wo, p * C]));
        }
        return tf.reshape(tf.concat(rows, 1), [B, Ho * p, Wo * p, C]);
      },
    };
  }) as unknown as Parameters<Tf['customGrad']>[0]);
  return pool(xc);
}

const maxpool2d: LayerType = {
  description: 'max-pooling over size x size windows with stride size (valid); fields: size (2)',
  activates: false,
  plan(cfg, inputShape) {
    if (inputShape.length !== 3) throw new UserError(`model.layers: maxpool2d needs an input of shape [height, width, channels], got [${inputShape.join(', ')}]`);
    const p = cfg.size ?? 2;
    const [H, W, C] = inputShape;
    if (H < p || W < p) throw new UserError(`model.layers: maxpool2d size ${p} is larger than its input [${inputShape.join(', ')}]`);
    return {outputShape: [Math.floor(H / p), Math.floor(W / p), C], params: []};
  },
  // not tf.maxPool's own gradient: wrong on WASM for windows of non-positive values (see above)
  forward: (tf, x, _params, cfg) => maxPoolFirstMax(tf, x as tfType.Tensor4D, cfg.size ?? 2),
};

const flatten: LayerType = {
  description: 'reshapes each sample to a vector',
  activates: false,
  plan: (_cfg, inputShape) => ({outputShape: [prod(inputShape)], params: []}),
  forward: (tf, x) => (x.rank > 2 ? tf.reshape(x, [x.shape[0], -1]) : x),
};

/** Layer types usable in `model.layers`, by config name. */
export const layerTypes = new Registry<LayerType>('layer type')
  .register('dense', dense)
  .register('dropout', dropout)
  .register('conv2d', conv2d)
  .register('maxpool2d', maxpool2d)
  .register('flatten', flatten);
