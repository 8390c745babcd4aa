// Dropout masks: filling a 128 x 1024 mask from the seeded xoshiro128** stream in JS
// (src/util/prng.ts, as the tfjs loop does) against the fused engine's whole dropout layer in
// WebAssembly (the same stream ported to C, plus the mask multiplies forward and backward),
// measured as the difference between 12-1024-dropout-2 and 12-1024-2 minibatch gradients
// (small products, so that the difference is mostly the dropout layer), interleaved.
// Usage: node bench/fused-dropout.mjs   (CPU time; prints one JSON line)
import {Rng} from '../dist/util/prng.js';
import {FusedNet} from '../dist/train/fused/engine.js';
import {planModel} from '../dist/model/plan.js';
const n = 128 * 1024, rate = 0.5, keep = Math.fround(2);
const mask = new Float32Array(n);
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const js = (step) => { const rng = new Rng(1, `dropout/h2/${step}`); for (let i = 0; i < n; i++) mask[i] = rng.uniform() >= rate ? keep : 0; };
for (let s = 0; s < 20; s++) js(s);
let c = cpu(); for (let s = 0; s < 100; s++) js(s); const jsMs = (cpu() - c) / 100;
// C: a 128-row batch through 784 -> 1024 -> dropout(0.5) -> 10 against the same net without the dropout layer
const x = new Float32Array(1024 * 12).map((_, i) => Math.sin(i));
const data = {x, labels: new Int32Array(1024), n: 1024, inputShape: [12], classes: 2, trainIdx: Int32Array.from({length: 1024}, (_, i) => i), testIdx: new Int32Array(0)};
const cfg = {epochs: 1, batchSize: 128, optimizer: 'sgd', lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, momentum: 0, l2: 0, snapshots: 'every:1', gradientStats: false};
const nets = [[{type: 'dense', units: 1024}, {type: 'dropout', rate: 0.5}], [{type: 'dense', units: 1024}]].map((layers) => new FusedNet(planModel({activation: 'relu', init: 'he_normal', layers}, [12], 2), data, cfg, {seed: 1, threads: 1}));
const rows = data.trainIdx.slice(0, 128);
const total = [0, 0];
for (let round = 0; round < 10; round++) {
  nets.forEach((net, k) => {
    const c0 = cpu();
    for (let s = 0; s < 50; s++) net.gradient(rows, s);
    if (round > 0) total[k] += (cpu() - c0) / 50;
  });
}
const [withDrop, without] = total.map((t) => t / 9);
console.log(JSON.stringify({elements: n, js_fill_ms: +jsMs.toFixed(3), c_dropout_layer_ms: +(withDrop - without).toFixed(3), note: 'C figure includes the mask multiply forward and backward'}));
