import {readFileSync} from 'node:fs';
import {listColumn, numberColumn, readArrowFile, schemaMetadata, stringColumn, writeArrowFile} from '../io/arrow.js';
import {UserError} from '../util/errors.js';
import {checkDenseNet, resolveActivations, type DenseNet} from './dense-net.js';
import type {ModelPlan} from './plan.js';

/*
 * A trained model on disk: `model.json` (the plan) and checkpoints
 * (`checkpoints/epoch_NNNNNN.arrow`, one row per parameter tensor: name `h1.W`, layer_index,
 * role, shape JSON, values). Dense W is fan_in x fan_out (input-by-output), conv2d W is
 * [k, k, C_in, filters] (HWIO), row-major.
 */

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** The plan a run's train stage wrote (`model.json`). */
export function readModelPlan(path: string): ModelPlan {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UserError(`${path}: no model plan (run the train stage first)`);
  }
  return JSON.parse(text) as ModelPlan;
}

/** Role of the rows that hold training state (optimizer slots), not model parameters. */
export const STATE_ROLE = 'optimizer';

/**
 * One row per parameter tensor: name, layer, role, shape and the values (row-major). `state`
 * adds rows of role `optimizer` (layer_index -1, flat over all parameters in plan order; e.g.
 * Adam's `optimizer.m`, `optimizer.v`), which model readers skip.
 */
export function writeCheckpoint(path: string, plan: ModelPlan, theta: Float32Array, meta: Record<string, string>, state: Array<{name: string; values: Float32Array}> = []): void {
  const slots = plan.layers.flatMap((l) => l.params.map((p) => ({l, p})));
  const n = slots.length + state.length;
  const offsets = new Int32Array(n + 1);
  slots.forEach(({p}, i) => (offsets[i + 1] = offsets[i] + p.size));
  state.forEach((s, i) => (offsets[slots.length + i + 1] = offsets[slots.length + i] + s.values.length));
  const values = new Float32Array(offsets[n]);
  slots.forEach(({p}, i) => values.set(theta.subarray(p.offset, p.offset + p.size), offsets[i]));
  state.forEach((s, i) => values.set(s.values, offsets[slots.length + i]));
  writeArrowFile(
    path,
    [
      {name: 'name', column: {kind: 'utf8', values: [...slots.map(({l, p}) => `${l.name}.${p.name}`), ...state.map((s) => `${STATE_ROLE}.${s.name}`)]}},
      {name: 'layer_index', column: {kind: 'int32', values: Int32Array.from([...slots.map(({l}) => l.index), ...state.map(() => -1)])}},
      {name: 'role', column: {kind: 'utf8', values: [...slots.map(({p}) => p.role), ...state.map(() => STATE_ROLE)]}},
      {name: 'shape', column: {kind: 'utf8', values: [...slots.map(({p}) => JSON.stringify(p.shape)), ...state.map((s) => JSON.stringify([s.values.length]))]}},
      {name: 'values', column: {kind: 'list', values, offsets}},
    ],
    n,
    {...meta, layout: 'dense W is fan_in x fan_out (input-by-output); conv2d W is [k, k, C_in, filters] (HWIO); row-major'},
  );
}

/** The training-state side of a checkpoint: schema metadata and the `optimizer` rows by name (without the prefix). */
export function readCheckpointState(path: string): {meta: Record<string, string>; rows: Map<string, Float32Array>} {
  const t = readArrowFile(path);
  const names = stringColumn(t, 'name');
  const roles = stringColumn(t, 'role');
  const values = listColumn(t, 'values');
  const rows = new Map<string, Float32Array>();
  names.forEach((n, r) => {
    if (roles[r] === STATE_ROLE) rows.set(n.slice(STATE_ROLE.length + 1), values[r]);
  });
  return {meta: schemaMetadata(t), rows};
}

/** A trained model as plain data: the plan (model.json) and its parameter tensors in plan order. */
export interface CheckpointModel {
  plan: ModelPlan;
  /** One flat row-major array per parameter slot, in `paramSlots(plan)` order (layer by layer). */
  params: Float32Array[];
  /** The checkpoint file (for messages). */
  source: string;
}

/**
 * Reads a checkpoint (`checkpoints/epoch_NNNNNN.arrow`: one row per tensor with name `h1.W`,
 * layer_index, role, shape JSON, values) against the run's plan: every tensor of the plan must be
 * present once with the plan's shape, and nothing else. Errors name the file and the tensor.
 */
export function readCheckpointModel(path: string, plan: ModelPlan, planSource = 'model.json'): CheckpointModel {
  const t = readArrowFile(path);
  const layout = schemaMetadata(t).layout;
  if (layout !== undefined && !/fan_in x fan_out/.test(layout)) throw new UserError(`${path}: unexpected weight layout '${layout}'`);
  const names = stringColumn(t, 'name');
  const roles = stringColumn(t, 'role');
  const layerIndex = numberColumn(t, 'layer_index');
  const shapes = stringColumn(t, 'shape').map((s) => JSON.parse(s) as number[]);
  const values = listColumn(t, 'values');
  const used = new Set<string>();
  const byName = new Map<string, number>();
  names.forEach((n, r) => {
    if (roles[r] === STATE_ROLE) return used.add(n);
    if (byName.has(n)) throw new UserError(`${path}: tensor '${n}' appears twice`);
    byName.set(n, r);
  });
  const params: Float32Array[] = [];
  for (const layer of plan.layers) {
    for (const p of layer.params) {
      const name = `${layer.name}.${p.name}`;
      const r = byName.get(name);
      if (r === undefined) {
        throw new UserError(`${path}: no tensor '${name}' for layer ${layer.name} (${layer.type ?? 'dense'}) of ${planSource}; the checkpoint holds ${names.join(', ') || 'nothing'} (is it from another run?)`);
      }
      const shape = shapes[r];
      if (layerIndex[r] !== layer.index || shape.length !== p.shape.length || shape.some((v, i) => v !== p.shape[i]) || values[r].length !== prod(p.shape)) {
        throw new UserError(`${path}: tensor '${name}' (layer index ${layerIndex[r]}, shape [${shape}], ${values[r].length} values) does not match layer ${layer.name} of ${planSource} (index ${layer.index}, shape [${p.shape}])`);
      }
      params.push(values[r]);
      used.add(name);
    }
  }
  const extra = names.filter((n) => !used.has(n));
  if (extra.length) throw new UserError(`${path}: tensors ${extra.join(', ')} are not in ${planSource} (is the checkpoint from another run?)`);
  return {plan, params, source: path};
}

/**
 * The weight matrices of a model as a DenseNet-shaped list for weight features (not for local
 * rank): dense W as fan_in x fan_out, conv2d kernels [k, k, C_in, F] read as (k k C_in) x F (the
 * same row-major values). `planIndex[i]` is the plan layer (1-based) of matrix i.
 */
export function weightMatrices(model: CheckpointModel): {net: DenseNet; planIndex: number[]} {
  const layers: DenseNet['layers'] = [];
  const planIndex: number[] = [];
  let k = 0;
  for (const layer of model.plan.layers) {
    const ps = layer.params.map((p, i) => ({p, v: model.params[k + i]}));
    k += layer.params.length;
    const W = ps.find(({p}) => p.role === 'weight');
    if (!W) continue;
    const cols = W.p.shape[W.p.shape.length - 1];
    const rows = W.v.length / cols;
    const b = ps.find(({p}) => p.role === 'bias');
    layers.push({W: W.v, rows, cols, b: b ? b.v : new Float32Array(cols), activation: layer.activation});
    planIndex.push(layer.index);
  }
  return {net: {layers}, planIndex};
}

/**
 * Reads a tdlab checkpoint (`checkpoints/epoch_NNNNNN.arrow`, one row per tensor: name `h1.W`,
 * layer_index, role, shape JSON, values). `activations`: one per layer in order (e.g.
 * `plan.layers.map((l) => l.activation)` from model.json), or one name for all hidden layers
 * (then a last layer named `out` gets `softmax`, as tdlab's output layer).
 * Only dense layers (2-D weights) are supported.
 */
export function denseNetFromCheckpoint(path: string, activations: string[]): DenseNet {
  const t = readArrowFile(path);
  const layout = schemaMetadata(t).layout;
  if (layout !== undefined && !/fan_in x fan_out/.test(layout)) throw new UserError(`${path}: unexpected weight layout '${layout}'`);
  const names = stringColumn(t, 'name');
  const layerIndex = numberColumn(t, 'layer_index');
  const roles = stringColumn(t, 'role');
  const shapes = stringColumn(t, 'shape').map((s) => JSON.parse(s) as number[]);
  const values = listColumn(t, 'values');
  const order: number[] = [];
  const byLayer = new Map<number, {W?: {v: Float32Array; shape: number[]}; b?: Float32Array; name: string}>();
  for (let r = 0; r < t.numRows; r++) {
    if (roles[r] === STATE_ROLE) continue;
    const li = layerIndex[r];
    if (!byLayer.has(li)) {
      byLayer.set(li, {name: names[r].split('.')[0]});
      order.push(li);
    }
    const entry = byLayer.get(li)!;
    if (roles[r] === 'weight') {
      if (entry.W) throw new UserError(`${path}: layer ${li} has more than one weight tensor (only dense layers are supported)`);
      if (shapes[r].length !== 2) throw new UserError(`${path}: ${names[r]} has shape [${shapes[r]}]; only dense layers (2-D weights) are supported`);
      entry.W = {v: values[r], shape: shapes[r]};
    } else if (roles[r] === 'bias') entry.b = values[r];
  }
  order.sort((a, b) => a - b);
  const acts = resolveActivations(activations, order.length, byLayer.get(order[order.length - 1])?.name === 'out' ? 'softmax' : undefined, path);
  const net: DenseNet = {
    layers: order.map((li, i) => {
      const e = byLayer.get(li)!;
      if (!e.W) throw new UserError(`${path}: layer ${li} has no weight tensor`);
      const [rows, cols] = e.W.shape;
      return {W: e.W.v, rows, cols, b: e.b ?? new Float32Array(cols), activation: acts[i]};
    }),
  };
  checkDenseNet(net, path);
  return net;
}
