import type {TrainConfig} from '../../config/schema.js';
import {webgpuDevice} from '../../backend/webgpu.js';
import type {TrainData} from '../../data/types.js';
import type {TrainEngine, TrainHooks} from '../engine.js';
import type {TrainState} from '../state.js';
import type {ModelPlan} from '../../model/plan.js';
import {WebGPUEngine, type EngineCounters} from './engine.js';

/**
 * Trains on the WebGPU device that the `webgpu` backend opened, with tdlab's own WGSL programs
 * (same contract as `trainModel`). `counters`, when given, receives the dispatch/submit counts.
 */
export async function trainWebGPU(plan: ModelPlan, data: TrainData, cfg: TrainConfig, seed: number, snapshots: number[], hooks: TrainHooks, counters?: EngineCounters, start?: TrainState): Promise<Float32Array> {
  const device = webgpuDevice();
  if (!device) throw new Error('trainWebGPU needs the webgpu backend (loadBackend("webgpu"))');
  const engine = new WebGPUEngine(device);
  try {
    return await engine.train(plan, data, cfg, seed, snapshots, hooks, start);
  } finally {
    if (counters) Object.assign(counters, engine.counters);
  }
}

export type {EngineCounters};

/** tdlab's WGSL engine as a TrainEngine (on the device the `webgpu` backend opened). */
export const webgpuEngine: TrainEngine = {
  name: 'webgpu',
  id: 'webgpu wgsl',
  train: (plan, data, cfg, seed, snapshots, hooks, start) => trainWebGPU(plan, data, cfg, seed, snapshots, hooks, undefined, start),
};
