import {TRAIN_WASM_BASE64, TRAIN_WASM_SHA256} from './train-wasm.js';

/**
 * The WebAssembly module of the fused training engine (src/native/train.c: f32x4 SIMD, atomics,
 * a shared memory for worker threads), compiled once per process. src/train/fused/ drives it.
 *
 * It needs WebAssembly SIMD and threads (shared memories); where either is missing, or with
 * `TDLAB_NATIVE=0` in the environment, `fusedUnavailable()` says why and training uses the
 * tfjs engine.
 */

export {TRAIN_WASM_SHA256};

/** Exports of train.c (pointers are byte offsets into the shared memory). */
export interface TrainExports {
  train_epoch(net: number, steps: number): void;
  eval_rows(net: number, r0: number, n: number, capture: number): void;
  gradient(net: number, len: number): void;
  update(net: number): void;
  worker_loop(net: number, t: number): void;
  stop_workers(net: number): void;
  act_apply(act: number, dst: number, src: number, n: number): void;
  gemm_test(net: number, A: number, K: number, nb: number, B: number, bks: number, bis: number, M: number, C: number): void;
  wgrad_test(net: number, A: number, K: number, D: number, N: number, nb: number, G: number): void;
  struct_sizes(): number;
  __heap_base: WebAssembly.Global;
  __stack_pointer: WebAssembly.Global;
}

let compiled: WebAssembly.Module | Error | undefined;

function compile(): WebAssembly.Module | Error {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Buffer.from(TRAIN_WASM_BASE64, 'base64'));
      // threads: a shared memory must be constructible and accepted by the module
      const memory = new WebAssembly.Memory({initial: 2, maximum: 2, shared: true});
      if (!(memory.buffer instanceof SharedArrayBuffer)) throw new Error('WebAssembly.Memory({shared: true}) is not shared');
      new WebAssembly.Instance(compiled, {env: {memory}});
    } catch (err) {
      compiled = err instanceof Error ? err : new Error(String(err));
    }
  }
  return compiled;
}

/** Why the fused engine cannot run here (null when it can). */
export function fusedUnavailable(): string | null {
  if (process.env.TDLAB_NATIVE === '0') return 'TDLAB_NATIVE=0';
  const m = compile();
  return m instanceof Error ? `no WebAssembly SIMD/threads (${m.message.split('\n')[0]})` : null;
}

/** The compiled module (callers check `fusedUnavailable()` first). */
export function trainModule(): WebAssembly.Module {
  const m = compile();
  if (m instanceof Error) throw m;
  return m;
}

/** Provenance id of the module: `wasm-simd128-threads <sha256 prefix>`. */
export function fusedKernelsId(): string {
  return `wasm-simd128-threads ${TRAIN_WASM_SHA256.slice(0, 12)}`;
}

/** An instance of the module on `memory` (one per thread). */
export function instantiate(memory: WebAssembly.Memory): TrainExports {
  return new WebAssembly.Instance(trainModule(), {env: {memory}}).exports as unknown as TrainExports;
}
