import {initializers} from './init.js';
import {layerTypes, type LayerConfig, type ParamSpec} from './layers.js';
import type {LayerInfo} from '../types.js';
import {UserError} from '../util/errors.js';
import {Rng} from '../util/prng.js';

/** What planning needs of the config's `model` section (the config schema's ModelConfig fits it). */
export interface ModelSpec {
  /** Default activation of layers that activate (dense, conv2d). */
  activation: string;
  /** Default weight initialiser. */
  init: string;
  layers: LayerConfig[];
}

/** Where one parameter tensor lives inside the flat parameter vector. */
export interface ParamSlot extends ParamSpec {
  offset: number;
  size: number;
}

export interface PlannedLayer extends LayerInfo {
  type: string;
  init: string;
  params: ParamSlot[];
  outputShape: number[];
  /** Type-specific fields of the layer config (rate, filters, kernel, stride, padding, size); absent for dense layers. */
  options?: Omit<LayerConfig, 'type' | 'units' | 'activation' | 'init'>;
}

/**
 * A network as data: layers with their parameter slots in one flat float32 vector. Keeping all
 * parameters in one tensor makes the optimizer step a handful of ops instead of a dozen per
 * variable (on WASM the per-op dispatch cost dominates small networks).
 */
export interface ModelPlan {
  inputShape: number[];
  layers: PlannedLayer[];
  numParams: number;
}

/**
 * Hidden layers from the config, then a dense softmax output layer with one unit per class.
 * Parameter-free layers (dropout, maxpool2d, flatten) do not take the model's default activation
 * (they are 'linear' unless a layer sets its own).
 */
export function planModel(model: ModelSpec, inputShape: number[], classes: number): ModelPlan {
  const specs = [
    ...model.layers.map((l) => {
      const type = layerTypes.get(l.type);
      return {...l, activation: l.activation ?? (type.activates ? model.activation : 'linear'), init: l.init ?? model.init, kind: 'hidden' as const};
    }),
    {type: 'dense', units: classes, activation: 'softmax', init: model.init, kind: 'output' as const},
  ];
  let shape = inputShape;
  let offset = 0;
  const layers: PlannedLayer[] = specs.map((s, i) => {
    const type = layerTypes.get(s.type);
    const problems = type.check?.(s) ?? [];
    if (problems.length) throw new UserError(`model.layers.${i}: ${problems.join('; ')}`);
    const plan = type.plan(s, shape);
    const params = plan.params.map((p) => {
      const size = p.shape.reduce((a, b) => a * b, 1);
      const slot = {...p, offset, size};
      offset += size;
      return slot;
    });
    shape = plan.outputShape;
    const width = plan.outputShape.reduce((a, b) => a * b, 1);
    const layer: PlannedLayer = {
      index: i + 1,
      name: s.kind === 'output' ? 'out' : `h${i + 1}`,
      width,
      activation: s.activation,
      kind: s.kind,
      type: s.type,
      init: s.init,
      params,
      outputShape: plan.outputShape,
    };
    const options = layerOptions(s);
    if (options) layer.options = options;
    return layer;
  });
  return {inputShape, layers, numParams: offset};
}

function layerOptions(cfg: LayerConfig): PlannedLayer['options'] | undefined {
  const out: Record<string, unknown> = {};
  for (const k of ['rate', 'filters', 'kernel', 'stride', 'padding', 'size'] as const) if (cfg[k] !== undefined) out[k] = cfg[k];
  return Object.keys(out).length ? (out as PlannedLayer['options']) : undefined;
}

/** Initial parameters: weights from each layer's initialiser on its own seeded stream, biases zero. */
export function initParams(plan: ModelPlan, seed: number): Float32Array {
  const theta = new Float32Array(plan.numParams);
  for (const layer of plan.layers) {
    const rng = new Rng(seed, `init/${layer.name}`);
    const init = initializers.get(layer.init);
    for (const p of layer.params) {
      if (p.role === 'weight') init(theta.subarray(p.offset, p.offset + p.size), p.fanIn, p.fanOut, rng);
    }
  }
  return theta;
}

/** All parameter tensors in plan order (layer by layer, each layer's params in order). */
export function paramSlots(plan: ModelPlan): ParamSlot[] {
  return plan.layers.flatMap((l) => l.params);
}

/** True when every layer of the plan is dense (model.json files written before layer types had none). */
export function isDensePlan(plan: ModelPlan): boolean {
  return plan.layers.every((l) => (l.type ?? 'dense') === 'dense');
}

/** The config a layer type's forward() receives for a planned layer. */
export function layerConfig(layer: PlannedLayer): LayerConfig {
  return {type: layer.type, units: layer.kind === 'output' || layer.type === 'dense' ? layer.width : undefined, ...layer.options};
}
