// Training speed of the Saxe MNIST-size MLP (784-1024-20-20-20-10, ReLU, softmax) on 10,000
// synthetic rows (Gaussian inputs, labels from a random linear teacher), batch 128, through a
// tdlab training engine, as the train stage runs it: every epoch trains, evaluates the loss on
// all rows and captures every layer's activations on all rows (a snapshot at every epoch).
// Usage: node bench/train-mlp.mjs [--engine fused|tfjs] [--backend wasm] [--threads N]
//                                 [--epochs 4] [--optimizer adam|sgd] [--rows 10000] [--seed 1]
// Prints one JSON line: median ms per epoch (epochs after the first) and the capture's share.
// The PyTorch reference (bench/reference/mlp_torch.py) prints training and capture separately.
import {parseArgs} from 'node:util';
import {planModel} from '../dist/model/plan.js';
import {Rng} from '../dist/util/prng.js';

const {values: a} = parseArgs({options: {
  engine: {type: 'string', default: 'fused'}, backend: {type: 'string', default: 'wasm'}, threads: {type: 'string'},
  epochs: {type: 'string', default: '4'}, optimizer: {type: 'string', default: 'adam'}, seed: {type: 'string', default: '1'}, rows: {type: 'string', default: '10000'},
}});
if (a.threads) process.env.TDLAB_THREADS = a.threads;
const n = Number(a.rows), d = 784, classes = 10, E = Number(a.epochs);
const rng = new Rng(Number(a.seed), 'bench-data');
const x = new Float32Array(n * d).map(() => rng.normal());
const teacher = new Float32Array(d * classes).map(() => rng.normal());
const labels = new Int32Array(n);
for (let i = 0; i < n; i++) {
  let best = -Infinity;
  for (let c = 0; c < classes; c++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j] * teacher[j * classes + c];
    if (s > best) { best = s; labels[i] = c; }
  }
}
const plan = planModel({activation: 'relu', init: 'he_normal', layers: [1024, 20, 20, 20].map((units) => ({type: 'dense', units}))}, [d], classes);
const all = Int32Array.from({length: n}, (_, i) => i);
const data = {x, labels, n, inputShape: [d], classes, trainIdx: all, testIdx: new Int32Array(0)};
const cfg = {epochs: E, batchSize: 128, optimizer: a.optimizer, lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, momentum: 0, l2: 0, snapshots: 'every:1', gradientStats: false};

let engine;
let backend = null;
if (a.engine === 'tfjs') {
  const {loadBackend} = await import('../dist/backend/tf.js');
  const {tfjsEngine} = await import('../dist/train/loop.js');
  const loaded = await loadBackend(a.backend);
  backend = loaded.backend;
  engine = tfjsEngine(loaded.tf);
} else {
  engine = (await import('../dist/train/fused/engine.js')).fusedEngine;
}
const {fusedThreads} = await import('../dist/train/fused/engine.js');
const stamps = [];
const snapshots = Array.from({length: E}, (_, e) => e);
await engine.train(plan, data, cfg, Number(a.seed), snapshots, {
  onEval() {},
  // one snapshot per epoch: consecutive stamps are one epoch of training + evaluation + capture
  onSnapshot(epoch) { stamps.push({epoch, t: performance.now()}); },
  onGradStats() {},
});
const per = stamps.slice(1).map((s, i) => s.t - stamps[i].t).slice(1).sort((p, q) => p - q);
const median = per[Math.floor(per.length / 2)];
console.log(JSON.stringify({what: 'mlp', engine: engine.id, backend, threads: a.engine === 'fused' ? fusedThreads(plan, cfg) : null, optimizer: a.optimizer, rows: n, epochs: E, ms_per_epoch_median: Math.round(median), epoch_ms: per.map(Math.round), note: 'train + loss evaluation + capture of every layer on all rows, per epoch'}));
