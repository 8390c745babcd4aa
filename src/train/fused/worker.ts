import {workerData} from 'node:worker_threads';
import type {TrainExports} from '../../native/train.js';

/**
 * A worker thread of the fused engine: its own instance of the module on the shared memory,
 * with its own stack, serving jobs (its share of each large product) until the engine
 * terminates it.
 */
const {module, memory, net, thread, stackTop} = workerData as {module: WebAssembly.Module; memory: WebAssembly.Memory; net: number; thread: number; stackTop: number};
const ex = new WebAssembly.Instance(module, {env: {memory}}).exports as unknown as TrainExports;
ex.__stack_pointer.value = stackTop;
ex.worker_loop(net, thread);
