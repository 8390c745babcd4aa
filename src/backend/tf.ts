import type * as tfType from '@tensorflow/tfjs';
import {UserError} from '../util/errors.js';
import {installWasmMatMulFix} from './wasm-matmul-fix.js';
import type {AdapterRecord} from './webgpu.js';

export type Tf = typeof tfType;
export type BackendChoice = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

/** The `--backend` choices, for the commands' flags. */
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;

/**
 * `auto` takes a hardware WebGPU adapter only for models whose training step is at least this
 * many floating-point operations (forward + backward, about 6 x multiply-adds x batch rows; see
 * `stepFlops` in src/model/flops.ts). Below it the CPU engines win: a step of tdlab's WebGPU engine
 * costs a few dozen dispatches and a few buffer writes whatever the model's size (tens of
 * microseconds each on a GPU), while WASM runs ~10-20 GFLOP/s here, so 10 MFLOP is ~0.5-1 ms of
 * CPU arithmetic, about what the GPU spends on overhead per step.
 */
export const WEBGPU_AUTO_MIN_FLOPS = 1e7;

/** What the caller knows about the work when it asks for a backend (used by `auto`). */
export interface BackendHint {
  /** Floating-point operations of one training step; absent: the model is unknown (auto stays on the CPU). */
  flopsPerStep?: number;
}

export interface LoadedBackend {
  tf: Tf;
  /** What runs the tensors: `tensorflow-gpu`, `tensorflow` (native bindings), `wasm` or `cpu`. */
  backend: string;
  /** Why the preferred candidates were skipped (empty when the first choice loaded). */
  skipped: string[];
  /** The WebGPU adapter (backend `webgpu` only). */
  adapter?: AdapterRecord;
}

type Candidate = 'tensorflow-gpu' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

const ORDER: Record<BackendChoice, Candidate[]> = {
  auto: ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'],
  tensorflow: ['tensorflow-gpu', 'tensorflow'],
  webgpu: ['webgpu'],
  wasm: ['wasm'],
  cpu: ['cpu'],
};

let loaded: LoadedBackend | undefined;

/**
 * Picks the tensor backend at run time: the native TensorFlow bindings when installed
 * (optional dependencies `@tensorflow/tfjs-node-gpu` > `@tensorflow/tfjs-node`), then a hardware
 * WebGPU adapter (optional dependency `webgpu`, Dawn) when the hint says the model is big enough
 * (`WEBGPU_AUTO_MIN_FLOPS`), then WASM (with the transposed-matmul fix), then plain JS. `auto`
 * never takes a software WebGPU adapter; `--backend webgpu` does (tests, CI). One backend per process.
 */
export async function loadBackend(choice: BackendChoice = 'auto', hint: BackendHint = {}): Promise<LoadedBackend> {
  if (loaded) {
    if (choice === 'auto' || ORDER[choice].includes(loaded.backend as Candidate)) return loaded;
    throw new Error(`backend already set to ${loaded.backend} in this process; cannot switch to ${choice}`);
  }
  const skipped: string[] = [];
  for (const cand of ORDER[choice]) {
    if (cand === 'webgpu' && choice === 'auto' && !((hint.flopsPerStep ?? 0) >= WEBGPU_AUTO_MIN_FLOPS)) {
      skipped.push(`webgpu: ${hint.flopsPerStep === undefined ? 'no model to size' : `step of ${(hint.flopsPerStep / 1e6).toPrecision(3)} MFLOP < ${WEBGPU_AUTO_MIN_FLOPS / 1e6} MFLOP`}`);
      continue;
    }
    try {
      if (cand === 'webgpu') {
        const {tf, adapter} = await tryWebGPU(choice === 'webgpu');
        loaded = {tf, backend: cand, skipped, adapter};
        return loaded;
      }
      const tf = await tryCandidate(cand);
      loaded = {tf, backend: cand, skipped};
      return loaded;
    } catch (err) {
      skipped.push(`${cand}: ${shortReason(err)}`);
    }
  }
  const todo = choice === 'tensorflow'
    ? 'install @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node with a local libtensorflow (see README), or use --backend wasm'
    : choice === 'webgpu'
      ? 'install the optional packages webgpu and @tensorflow/tfjs-backend-webgpu and a GPU driver (or Mesa: see README), or use --backend wasm'
      : 'reinstall dependencies with npm ci';
  throw new UserError(`--backend ${choice}: no usable tensor backend (${skipped.join('; ')}); ${todo}`);
}

async function tryWebGPU(allowSoftware: boolean): Promise<{tf: Tf; adapter: AdapterRecord}> {
  const {openWebGPU, useTfWebGPU} = await import('./webgpu.js');
  const gpu = await openWebGPU({allowSoftware});
  const tf = (await import('@tensorflow/tfjs')) as Tf;
  await useTfWebGPU(tf, gpu);
  return {tf, adapter: gpu.adapter};
}

async function tryCandidate(cand: Candidate): Promise<Tf> {
  if (cand === 'tensorflow-gpu' || cand === 'tensorflow') {
    const mod = cand === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
    const tf = (await import(mod)) as Tf;
    if (!(await tf.setBackend('tensorflow'))) throw new Error('setBackend(tensorflow) returned false');
    await tf.ready();
    return tf;
  }
  const tf = (await import('@tensorflow/tfjs')) as Tf;
  if (cand === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    installWasmMatMulFix(tf);
  }
  if (!(await tf.setBackend(cand))) throw new Error(`setBackend(${cand}) returned false`);
  await tf.ready();
  return tf;
}

function shortReason(err: unknown): string {
  const e = err as {code?: string; message?: string};
  if (e?.code === 'ERR_MODULE_NOT_FOUND') return 'not installed';
  return (e?.code ?? e?.message ?? String(err)).split('\n')[0];
}
