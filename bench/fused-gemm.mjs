// GFLOP/s of the fused engine's float32 GEMM (src/native/train.c) on the MNIST MLP's big
// products (batch 128, 784 -> 1024), in the three layouts training uses:
//   nn: Z = X W         (128 x 784) (784 x 1024)   forward
//   tn: dW = X^T dZ     (784 x 128) (128 x 1024)   weight gradient
//   nt: dH = dZ W^T     (128 x 1024) (1024 x 784)  input gradient (layers below the first)
//   eval: Z = X W       (10000 x 784) (784 x 1024) evaluation / capture pass
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
const net = 1 * MB, A = 2 * MB, B = 40 * MB, C = 60 * MB, pack = 120 * MB, stacks = 200 * MB;
const i32 = new Int32Array(memory.buffer);
const f32 = new Float32Array(memory.buffer);
const set = (f, v) => (i32[(net + fieldOffset(NET_FIELDS, f)) / 4] = v);
set('nThreads', T);
set('pack', pack);
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
const cases = {
  nn: {M: 128, N: 1024, K: 784, ars: 784, acs: 1, brs: 1024, bcs: 1},
  tn: {M: 784, N: 1024, K: 128, ars: 1, acs: 784, brs: 1024, bcs: 1},
  nt: {M: 128, N: 784, K: 1024, ars: 1024, acs: 1, brs: 1, bcs: 1024},
  eval: {M: 10000, N: 1024, K: 784, ars: 784, acs: 1, brs: 1024, bcs: 1},
};
for (const [name, c] of Object.entries(cases)) {
  const flops = 2 * c.M * c.N * c.K;
  const run = () => ex.gemm_test(net, A, c.ars, c.acs, B, c.brs, c.bcs, c.M, c.N, c.K, C);
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
  const out = {layout: name, M: c.M, N: c.N, K: c.K, threads: T, ms_median: +med.toFixed(2), gflops_wall: +(flops / med / 1e6).toFixed(1)};
  if (T === 1) out.gflops_cpu = +((flops * reps) / ((cpu.user + cpu.system) / 1000) / 1e6).toFixed(1);
  console.log(JSON.stringify(out));
}
await Promise.all(workers.map((w) => w.terminate()));
