import {createRequire} from 'node:module';
import {WEBGPU_AUTO_MIN_FLOPS, type BackendChoice, type LoadedBackend} from '../backend/tf.js';
import type {ModelPlan} from '../model/plan.js';
import {fusedUnavailable} from '../native/train.js';
import {UserError} from '../util/errors.js';
import type {TrainEngine} from './engine.js';
import {fusedEngine, fusedPlanProblem} from './fused/engine.js';

export type EngineChoice = 'auto' | 'fused' | 'tfjs';

export interface SelectedEngine {
  engine: TrainEngine;
  /** The tensor backend when one was loaded (the tfjs engine, or `auto` probing a native or WebGPU one). */
  backend?: LoadedBackend;
  /** Why `auto` took the tensor-backend engine (absent otherwise). */
  reason?: string;
}

const require = createRequire(import.meta.url);

function installed(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * The training engine for `train.engine` (absent = auto):
 *  - fused: the WebAssembly engine; a user error when the model or the platform cannot take it;
 *  - tfjs: the engine of the tensor backend (loaded here): the tfjs loop, or on the `webgpu`
 *    backend tdlab's WGSL engine (`TDLAB_WEBGPU_ENGINE=tfjs`: the tfjs loop on tfjs-webgpu);
 *  - auto: fused for dense models (dense and dropout layers, 1-D input) on the CPU backends
 *    (`--backend wasm|cpu`, or `auto` when it would end on WASM or plain JS), the tensor backend's
 *    engine otherwise (other layers, native TensorFlow, a WebGPU adapter, no WebAssembly
 *    SIMD/threads, `TDLAB_NATIVE=0`). `auto` loads tfjs only when a native TensorFlow or a
 *    WebGPU adapter could win (`flopsPerStep` at least WEBGPU_AUTO_MIN_FLOPS); the fused engine
 *    itself never needs it.
 */
export async function selectEngine(choice: EngineChoice, plan: ModelPlan, backendChoice: BackendChoice, loadTf: () => Promise<LoadedBackend>, flopsPerStep = 0): Promise<SelectedEngine> {
  const tensor = async (reason?: string, loaded?: LoadedBackend): Promise<SelectedEngine> => {
    const backend = loaded ?? (await loadTf());
    const engine = backend.backend === 'webgpu' && process.env.TDLAB_WEBGPU_ENGINE !== 'tfjs'
      ? (await import('./webgpu/index.js')).webgpuEngine
      : (await import('./loop.js')).tfjsEngine(backend.tf);
    return {engine, backend, ...(reason ? {reason} : {})};
  };
  if (choice === 'tfjs') return tensor();
  const problem = fusedPlanProblem(plan) ?? fusedUnavailable();
  if (choice === 'fused') {
    if (problem) throw new UserError(`train.engine: fused cannot train this run: ${problem}; use train.engine: tfjs (or auto)`);
    return {engine: fusedEngine};
  }
  if (problem) return tensor(problem);
  if (backendChoice === 'tensorflow' || backendChoice === 'webgpu') return tensor(`--backend ${backendChoice}`);
  const gpuCould = flopsPerStep >= WEBGPU_AUTO_MIN_FLOPS && installed('webgpu');
  if (backendChoice === 'auto' && (installed('@tensorflow/tfjs-node-gpu') || installed('@tensorflow/tfjs-node') || gpuCould)) {
    const backend = await loadTf();
    if (backend.backend !== 'wasm' && backend.backend !== 'cpu') return tensor(`--backend auto chose ${backend.backend}`, backend);
    return {engine: fusedEngine, backend};
  }
  return {engine: fusedEngine};
}
