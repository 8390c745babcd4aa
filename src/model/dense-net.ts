import {activations, applyActivation64, isKnownActivation, OUTPUT_ACTIVATION} from './activations.js';
import {UserError} from '../util/errors.js';

/**
 * An MLP's weights as plain data, independent of how (or by whom) it was trained:
 * layer l computes z_l = h_{l-1} W_l + b_l, h_l = activation_l(z_l), h_0 = x.
 * W is fan_in x fan_out (input-by-output), row-major: W[i * cols + j] connects input unit i to
 * output unit j (the layout of tdlab checkpoints and of `x @ W` in NumPy).
 */
export interface DenseLayer {
  W: Float64Array | Float32Array;
  /** fan_in */
  rows: number;
  /** fan_out */
  cols: number;
  /** length cols */
  b: Float32Array | Float64Array;
  /** Elementwise activation after this layer (`softmax` allowed for the last layer). */
  activation: string;
}

export interface DenseNet {
  layers: DenseLayer[];
}

/** Throws a UserError unless the layers chain (rows of layer l = cols of layer l-1) and the sizes match. */
export function checkDenseNet(net: DenseNet, source = 'network'): void {
  if (net.layers.length === 0) throw new UserError(`${source}: no layers`);
  net.layers.forEach((l, i) => {
    if (l.W.length !== l.rows * l.cols) throw new UserError(`${source}: layer ${i + 1}: W has ${l.W.length} values, expected ${l.rows} x ${l.cols}`);
    if (l.b.length !== l.cols) throw new UserError(`${source}: layer ${i + 1}: b has ${l.b.length} values, expected ${l.cols}`);
    if (i > 0 && l.rows !== net.layers[i - 1].cols) {
      throw new UserError(`${source}: layer ${i + 1} has fan_in ${l.rows} but layer ${i} has ${net.layers[i - 1].cols} units (W must be input-by-output)`);
    }
    if (!isKnownActivation(l.activation)) {
      throw new UserError(`${source}: layer ${i + 1}: unknown activation '${l.activation}' (known: ${activations.names().join(', ')}, ${OUTPUT_ACTIVATION})`);
    }
    if (l.activation === 'softmax' && i !== net.layers.length - 1) throw new UserError(`${source}: softmax is only supported on the last layer`);
  });
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
    if (l + 1 < upto) h = applyActivation64(activation, zl, new Float64Array(cols));
  }
  return zs;
}

/**
 * Per-layer activations from a user list: the full list (one per layer), or a single name used for
 * every hidden layer, with the last layer `lastDefault` (softmax for tdlab's `out` layer).
 */
export function resolveActivations(activations: string[], count: number, lastDefault: string | undefined, source: string): string[] {
  if (activations.length === count) return activations;
  if (activations.length === 1 && lastDefault !== undefined) return Array.from({length: count}, (_, i) => (i === count - 1 ? lastDefault : activations[0]));
  if (activations.length === 1) return Array.from({length: count}, () => activations[0]);
  throw new UserError(`${source}: ${activations.length} activations given for ${count} layers (give one per layer, or one for all hidden layers)`);
}

