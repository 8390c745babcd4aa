import {readFileSync} from 'node:fs';
import {readNpz, type NpyArray} from '../io/npy.js';
import {UserError} from '../util/errors.js';
import {checkDenseNet, type DenseNet} from './dense-net.js';

function toFloat64(a: NpyArray, name: string): Float64Array | Float32Array {
  if (a.data instanceof Float32Array || a.data instanceof Float64Array) return a.data;
  if (a.data instanceof BigInt64Array || a.data instanceof BigUint64Array) return Float64Array.from(a.data, (v) => Number(v));
  if (a.data instanceof Uint8Array && a.dtype === 'b1') throw new UserError(`${name}: boolean array`);
  return Float64Array.from(a.data as ArrayLike<number>);
}

/**
 * Reads an `.npz` with arrays `W0, b0, W1, b1, ...` (W_l input-by-output, i.e. z = x W + b; b
 * optional, zero when absent). `activation`: one name for all hidden layers (the last layer gets
 * `lastActivation`, default `linear`, i.e. logits), or one per layer.
 */
export async function denseNetFromNpz(path: string, activation: string | string[], lastActivation = 'linear'): Promise<DenseNet> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new UserError(`${path}: file not found`);
  }
  return denseNetFromNpzBytes(bytes, activation, lastActivation, path);
}

/** `denseNetFromNpz` on bytes already in memory. */
export async function denseNetFromNpzBytes(bytes: Uint8Array, activation: string | string[], lastActivation = 'linear', source = 'npz'): Promise<DenseNet> {
  const arrays = await readNpz(bytes, source);
  const count = [...arrays.keys()].filter((k) => /^W\d+$/.test(k)).length;
  if (count === 0) throw new UserError(`${source}: no arrays named W0, W1, ... (found: ${[...arrays.keys()].join(', ') || 'none'})`);
  const list = Array.isArray(activation) ? activation : [activation];
  const acts = list.length === count ? list : list.length === 1 ? Array.from({length: count}, (_, i) => (i === count - 1 && count > 1 ? lastActivation : list[0])) : undefined;
  if (!acts) throw new UserError(`${source}: ${list.length} activations given for ${count} layers`);
  const layers = Array.from({length: count}, (_, l) => {
    const W = arrays.get(`W${l}`);
    if (!W) throw new UserError(`${source}: W${l} missing (layers must be numbered W0, W1, ... without gaps)`);
    if (W.shape.length !== 2) throw new UserError(`${source}: W${l} has shape (${W.shape}); expected a 2-D fan_in x fan_out matrix`);
    const [rows, cols] = W.shape;
    const b = arrays.get(`b${l}`);
    if (b && b.shape.reduce((x, y) => x * y, 1) !== cols) throw new UserError(`${source}: b${l} has ${b.shape} values but W${l} has ${cols} columns`);
    return {W: toFloat64(W, `W${l}`), rows, cols, b: b ? toFloat64(b, `b${l}`) : new Float64Array(cols), activation: acts[l]};
  });
  const net = {layers};
  checkDenseNet(net, source);
  return net;
}
