// GFLOP/s of the fused engine's float32 products (src/native/train.c, row-blocked operands) on
// the MNIST MLP's big layer (batch 128, 784 -> 1024), as training uses them:
//   forward: Z = X W      (128 x 784) (784 x 1024)
//   wgrad:   dW = X^T dZ  (784 x 128) (128 x 1024)
//   input:   dH = dZ W^T  (128 x 1024) (1024 x 784)  (layers below the first)
//   eval:    Z = X W      (10000 x 784) (784 x 1024) evaluation / capture pass
// Usage: node bench/fused-gemm.mjs [--threads 1] [--reps 5]
// Prints one JSON line per layout: wall-clock GFLOP/s (median of reps) and, for one thread,
// CPU-time GFLOP/s (less sensitive to other processes on a shared machine).
import {parseArgs} from 'node:util';
import {Worker} from 'node:worker_threads';
import {instantiate, trainModule} from '../dist/native/train.js';
import {NET_FIELDS, fieldOffset} from '../dist/train/fused/layout.js';

const {values: a} = parseArgs({options: {threads: {type: 'string', default: '1'}, reps: {type: 'string', default: '5'}}});
const T = Number(a.threads);
const reps = Number(a.reps);
const MB = 1 << 20;
const memory = new WebAssembly.Memory({initial: 4000, maximum: 4000, shared: true});
const net = 1 * MB, A = 2 * MB, B = 40 * MB, C = 60 * MB, stacks = 200 * MB;
const i32 = new Int32Array(memory.buffer);
const f32 = new Float32Array(memory.buffer);
const set = (f, v) => (i32[(net + fieldOffset(NET_FIELDS, f)) / 4] = v);
set('nThreads', T);
set('pack', 100 * MB);
set('packStride', 4 * MB);
set('minPar', 1);
for (let i = 0; i < 8 * MB; i++) f32[A / 4 + i] = Math.sin(i);
for (let i = 0; i < 4 * MB; i++) f32[B / 4 + i] = Math.cos(i);
const ex = instantiate(memory);
const workers = [];
for (let t = 1; t < T; t++) {
  const w = new Worker(new URL('../dist/train/fused/worker.js', import.meta.url), {workerData: {module: trainModule(), memory, net, thread: t, stackTop: stacks + t * MB}});
  workers.push(w);
  await new Promise((r) => w.once('online', r));
}
// rows, fan-in and fan-out of each product; A and D blocked, B = W row-major 784 x 1024
const cases = {
  forward: {rows: 128, K: 784, M: 1024, run: () => ex.gemm_test(net, A, 784, 32, B, 1024, 1, 1024, C)},
  wgrad: {rows: 128, K: 784, M: 1024, run: () => ex.wgrad_test(net, A, 784, C, 1024, 32, B)},
  input: {rows: 128, K: 1024, M: 784, run: () => ex.gemm_test(net, C, 1024, 32, B, 1, 1024, 784, A)},
  eval: {rows: 10000, K: 784, M: 1024, run: () => ex.gemm_test(net, A, 784, 2500, B, 1024, 1, 1024, C)},
};
for (const [name, c] of Object.entries(cases)) {
  const flops = 2 * c.rows * c.M * c.K;
  const run = c.run;
  for (let w = 0; w < 3; w++) run();
  const wall = [];
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    run();
    wall.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  wall.sort((p, q) => p - q);
  const med = wall[Math.floor(reps / 2)];
  const out = {product: name, rows: c.rows, K: c.K, M: c.M, threads: T, ms_median: +med.toFixed(2), gflops_wall: +(flops / med / 1e6).toFixed(1)};
  if (T === 1) out.gflops_cpu = +((flops * reps) / ((cpu.user + cpu.system) / 1000) / 1e6).toFixed(1);
  console.log(JSON.stringify(out));
}
await Promise.all(workers.map((w) => w.terminate()));
