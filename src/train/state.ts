import type {TrainConfig} from '../config/schema.js';
import {readCheckpointModel, readCheckpointState} from '../model/checkpoint.js';
import type {ModelPlan} from '../model/plan.js';

/**
 * Everything training carries from one epoch to the next, as plain arrays and numbers: what a
 * checkpoint at a snapshot epoch stores so that training can continue from it, and what a
 * training engine takes back (`start`) to continue bit for bit. Engine-agnostic: an engine
 * exports it at snapshot epochs (`TrainHooks.onState`) and imports it on resume.
 */
export interface TrainState {
  /** The snapshot epoch: the network after `epoch` epochs. */
  epoch: number;
  /** Optimizer steps taken (Adam's bias-correction counter; dropout masks are keyed by it). */
  step: number;
  /** All parameters, flat in plan order. */
  params: Float32Array;
  /** Optimizer slots, each flat over all parameters: adam/adamw [m, v]; sgd with momentum [velocity]; sgd []. */
  slots: Float32Array[];
  /** The minibatch-order generator (`Rng.getState()`) before epoch `epoch`'s permutation is drawn. */
  rng: number[];
}

/** Names of the optimizer slots of a config, in `TrainState.slots` order. */
export function slotNames(cfg: Pick<TrainConfig, 'optimizer' | 'momentum'>): string[] {
  if (cfg.optimizer === 'adam' || cfg.optimizer === 'adamw') return ['m', 'v'];
  return cfg.momentum > 0 ? ['velocity'] : [];
}

/** Checkpoint rows and schema metadata of a state (see `writeCheckpoint`). */
export function stateRecord(state: TrainState, cfg: Pick<TrainConfig, 'optimizer' | 'momentum'>): {rows: Array<{name: string; values: Float32Array}>; meta: Record<string, string>} {
  const names = slotNames(cfg);
  if (names.length !== state.slots.length) throw new Error(`${cfg.optimizer}: ${state.slots.length} optimizer slots, expected ${names.length}`);
  return {
    rows: names.map((name, i) => ({name, values: state.slots[i]})),
    meta: {train_state: JSON.stringify({epoch: state.epoch, step: state.step, optimizer: cfg.optimizer, slots: names, rng: state.rng})},
  };
}

/**
 * The training state stored in a checkpoint, or null when the file has none that fits this
 * plan and optimizer (a checkpoint of an older tdlab, or a damaged one): training then cannot
 * continue from it.
 */
export function readTrainState(path: string, plan: ModelPlan, cfg: Pick<TrainConfig, 'optimizer' | 'momentum'>): TrainState | null {
  let ck;
  const params = new Float32Array(plan.numParams);
  try {
    ck = readCheckpointState(path);
    const model = readCheckpointModel(path, plan);
    let k = 0;
    for (const layer of plan.layers) for (const p of layer.params) params.set(model.params[k++], p.offset);
  } catch {
    return null;
  }
  if (!ck.meta.train_state) return null;
  let rec: {epoch?: unknown; step?: unknown; optimizer?: unknown; slots?: unknown; rng?: unknown};
  try {
    rec = JSON.parse(ck.meta.train_state);
  } catch {
    return null;
  }
  const names = slotNames(cfg);
  if (rec.optimizer !== cfg.optimizer || JSON.stringify(rec.slots) !== JSON.stringify(names)) return null;
  if (!Number.isInteger(rec.epoch) || !Number.isInteger(rec.step) || !Array.isArray(rec.rng)) return null;
  const slots = names.map((n) => ck.rows.get(n));
  if (slots.some((s) => !s || s.length !== plan.numParams)) return null;
  return {epoch: rec.epoch as number, step: rec.step as number, params, slots: slots as Float32Array[], rng: rec.rng as number[]};
}
