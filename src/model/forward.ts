import type * as tfType from '@tensorflow/tfjs';
import {activations} from './activations.js';
import {layerTypes, type ForwardContext} from './layers.js';
import {layerConfig, type ModelPlan} from './plan.js';

type Tf = typeof tfType;
type Tensor = tfType.Tensor;

export interface ForwardOptions {
  /** Training pass: dropout active. Default false (evaluation, snapshots, metrics). */
  training?: boolean;
  /** Run seed and optimizer step, for the dropout masks of a training pass. */
  seed?: number;
  step?: number;
}

/**
 * Logits of the output layer and (optionally) every layer's activation (softmax for the output).
 * `params` in `paramSlots` order. Dropout is applied only when `opts.training` is true.
 */
export function forward(tf: Tf, plan: ModelPlan, params: Tensor[], x: Tensor, collect: boolean, opts: ForwardOptions = {}): {logits: Tensor; acts: Tensor[]} {
  let h = x;
  const acts: Tensor[] = [];
  let logits = x;
  let k = 0;
  for (const layer of plan.layers) {
    const ps = params.slice(k, k + layer.params.length);
    k += layer.params.length;
    const ctx: ForwardContext = {training: opts.training ?? false, seed: opts.seed ?? 0, step: opts.step ?? 0, layer: layer.name};
    const z = layerTypes.get(layer.type).forward(tf, h, ps, layerConfig(layer), ctx);
    if (layer.kind === 'output') {
      logits = z;
      if (collect) acts.push(tf.softmax(z));
    } else {
      h = layer.activation === 'linear' ? z : activations.get(layer.activation).apply(tf, z);
      // a parameter-free first layer at evaluation returns the input itself: snapshot a copy (callers dispose acts)
      if (collect) acts.push(h === x ? tf.clone(h) : h);
    }
  }
  return {logits, acts};
}
