import type * as tfType from '@tensorflow/tfjs';
import {Registry} from '../registry.js';
import {UserError} from '../util/errors.js';

type Tf = typeof tfType;
type Tensor = tfType.Tensor;

/**
 * One activation function, everywhere tdlab needs it: training (tfjs tensors), and the float64
 * analysis of trained networks (local rank, curvature, weight metrics) through `f` and `df`.
 * Adding an activation is one entry here; `test/model-registry.test.js` checks that training,
 * local rank and the weight metrics accept every entry and that `f`/`df` agree with `apply`.
 */
export interface Activation {
  description: string;
  /** Lower end of the range (-Infinity when unbounded); docs/metrics.md, mi.ebab's binning `lo` comes from it. */
  lowerBound: number;
  /** Applies the activation elementwise to a tensor. */
  apply(tf: Tf, z: Tensor): Tensor;
  /**
   * d act / dz elementwise as a tensor, from the pre-activation z and the output h, for explicit
   * backpropagation; `null` for the identity (nothing to multiply).
   */
  derivative(tf: Tf, z: Tensor, h: Tensor): Tensor | null;
  /** The activation of one float64 value. */
  f(z: number): number;
  /** Its derivative at z in float64 (at a kink, the value tf's gradient uses: relu'(0) = 0). */
  df(z: number): number;
  /**
   * The same two functions as WGSL f32 expressions for the WebGPU training engine: `f` of `z`,
   * `df` of `z` and `h` (= f(z)).
   */
  wgsl: {f: string; df: string};
  /** Its second derivative at z in float64 (0 where the function is piecewise linear), for exact Hessian-vector products. */
  d2f(z: number): number;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Hidden-layer activation functions, by config name. */
export const activations = new Registry<Activation>('activation')
  .register('tanh', {
    description: 'hyperbolic tangent',
    lowerBound: -1,
    apply: (tf, z) => tf.tanh(z),
    derivative: (tf, _z, h) => tf.sub(1, tf.square(h)),
    f: Math.tanh,
    df: (z) => {
      const t = Math.tanh(z);
      return 1 - t * t;
    },
    // exp(-2|z|): large |z| gives +-1, not the NaN some drivers' tanh returns
    wgsl: {f: 'sign(z) * (1.0 - exp(-2.0 * abs(z))) / (1.0 + exp(-2.0 * abs(z)))', df: '1.0 - h * h'},
    d2f: (z) => {
      const t = Math.tanh(z);
      return -2 * t * (1 - t * t);
    },
  })
  .register('relu', {
    description: 'rectified linear unit',
    lowerBound: 0,
    apply: (tf, z) => tf.relu(z),
    derivative: (tf, z) => tf.step(z), // relu'(0) = 0, as tf's own relu gradient
    f: (z) => (z > 0 ? z : 0),
    df: (z) => (z > 0 ? 1 : 0),
    wgsl: {f: 'max(z, 0.0)', df: 'select(0.0, 1.0, z > 0.0)'},
    d2f: () => 0,
  })
  .register('sigmoid', {
    description: 'logistic sigmoid',
    lowerBound: 0,
    apply: (tf, z) => tf.sigmoid(z),
    derivative: (tf, _z, h) => tf.mul(h, tf.sub(1, h)),
    f: sigmoid,
    df: (z) => {
      const s = sigmoid(z);
      return s * (1 - s);
    },
    wgsl: {f: '1.0 / (1.0 + exp(-z))', df: 'h * (1.0 - h)'},
    d2f: (z) => {
      const s = sigmoid(z);
      return s * (1 - s) * (1 - 2 * s);
    },
  })
  .register('softsign', {
    description: 'x / (1 + |x|)',
    lowerBound: -1,
    apply: (tf, z) => tf.div(z, tf.add(tf.abs(z), 1)),
    derivative: (tf, z) => tf.reciprocal(tf.square(tf.add(tf.abs(z), 1))),
    f: (z) => z / (1 + Math.abs(z)),
    df: (z) => {
      const a = 1 + Math.abs(z);
      return 1 / (a * a);
    },
    wgsl: {f: 'z / (abs(z) + 1.0)', df: '1.0 / ((abs(z) + 1.0) * (abs(z) + 1.0))'},
    d2f: (z) => -2 * Math.sign(z) / (1 + Math.abs(z)) ** 3,
  })
  .register('softplus', {
    description: 'ln(1 + e^x)',
    lowerBound: 0,
    apply: (tf, z) => tf.softplus(z),
    derivative: (tf, z) => tf.sigmoid(z),
    f: (z) => (z > 30 ? z : Math.log1p(Math.exp(z))),
    df: sigmoid,
    wgsl: {f: 'max(z, 0.0) + log(1.0 + exp(-abs(z)))', df: '1.0 / (1.0 + exp(-z))'},
    d2f: (z) => {
      const s = sigmoid(z);
      return s * (1 - s);
    },
  })
  .register('elu', {
    description: 'exponential linear unit (alpha 1)',
    lowerBound: -1,
    apply: (tf, z) => tf.elu(z),
    derivative: (tf, z, h) => tf.where(tf.greater(z, 0), tf.onesLike(z), tf.add(h, 1)),
    f: (z) => (z > 0 ? z : Math.expm1(z)),
    df: (z) => (z > 0 ? 1 : Math.exp(z)),
    wgsl: {f: 'select(exp(z) - 1.0, z, z > 0.0)', df: 'select(h + 1.0, 1.0, z > 0.0)'},
    d2f: (z) => (z > 0 ? 0 : Math.exp(z)),
  })
  .register('linear', {
    description: 'identity',
    lowerBound: -Infinity,
    apply: (_tf, z) => z,
    derivative: () => null,
    f: (z) => z,
    df: () => 1,
    wgsl: {f: 'z', df: '1.0'},
    d2f: () => 0,
  });

/** Output-layer activation of every tdlab model: softmax over the logits. */
export const OUTPUT_ACTIVATION = 'softmax';

/** Every activation a layer of an analysed network may carry: the registry plus softmax (output only). */
export function isKnownActivation(name: string): boolean {
  return name === OUTPUT_ACTIVATION || activations.has(name);
}

/** phi(z) in float64 into `out` (elementwise, or softmax over the whole vector). */
export function applyActivation64(name: string, z: ArrayLike<number>, out: Float64Array): Float64Array {
  const n = out.length;
  if (name === OUTPUT_ACTIVATION) {
    let m = -Infinity;
    for (let i = 0; i < n; i++) if (z[i] > m) m = z[i];
    let s = 0;
    for (let i = 0; i < n; i++) s += out[i] = Math.exp(z[i] - m);
    for (let i = 0; i < n; i++) out[i] /= s;
    return out;
  }
  const {f} = activations.get(name);
  for (let i = 0; i < n; i++) out[i] = f(z[i]);
  return out;
}

/** phi''(z) of an elementwise activation in float64 into `out`, or null when it is 0 at every z given (linear, ReLU). */
export function activationSecondDerivative64(name: string, z: ArrayLike<number>, out: Float64Array): Float64Array | null {
  if (!activations.has(name)) throw new UserError(`activation '${name}' has no elementwise second derivative (known: ${activations.names().join(', ')})`);
  const {d2f} = activations.get(name);
  let any = false;
  for (let i = 0; i < out.length; i++) if ((out[i] = d2f(z[i])) !== 0) any = true;
  return any ? out : null;
}

/** phi'(z) of an elementwise activation in float64 into `out` (softmax has no elementwise derivative). */
export function activationDerivative64(name: string, z: ArrayLike<number>, out: Float64Array): Float64Array {
  if (!activations.has(name)) throw new UserError(`activation '${name}' has no elementwise derivative (known: ${activations.names().join(', ')})`);
  const {df} = activations.get(name);
  for (let i = 0; i < out.length; i++) out[i] = df(z[i]);
  return out;
}
