// Training speed of the Saxe MNIST-size MLP (784-1024-20-20-20-10, ReLU, softmax) on 10,000
// synthetic rows, batch 128, with tdlab's training loop on a chosen backend.
// Usage: node bench/train-mlp.mjs [--backend wasm] [--epochs 3] [--optimizer sgd|adam] [--seed 1]
// Prints one JSON line: median ms per epoch (epochs after the first), split into training steps
// and the per-epoch evaluation pass on all rows (which the PyTorch reference times separately).
import {parseArgs} from 'node:util';
import {loadBackend} from '../dist/backend/tf.js';
import {trainModel} from '../dist/train/loop.js';
import {planModel} from '../dist/model/plan.js';
import {Rng} from '../dist/util/prng.js';

const {values: a} = parseArgs({options: {backend: {type: 'string', default: 'wasm'}, epochs: {type: 'string', default: '3'}, optimizer: {type: 'string', default: 'sgd'}, seed: {type: 'string', default: '1'}, rows: {type: 'string', default: '10000'}}});
const {tf, backend} = await loadBackend(a.backend);
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
const cfg = {epochs: E, batchSize: 128, optimizer: a.optimizer, lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, momentum: 0, l2: 0, snapshots: 'log:2', gradientStats: false};
const stamps = [];
let evalMs = 0;
let t = performance.now();
await trainModel(tf, plan, data, cfg, Number(a.seed), [], {
  onEval(s) { stamps.push({epoch: s.epoch, t: performance.now()}); },
  onSnapshot() {},
  onGradStats() {},
});
// evaluation pass cost, measured on its own
const {forward} = await import('../dist/model/forward.js');
const {paramSlots} = await import('../dist/model/plan.js');
const theta = paramSlots(plan).map((p) => tf.zeros(p.shape));
const X = tf.tensor(x, [n, d]);
for (let r = 0; r < 3; r++) {
  const t0 = performance.now();
  const out = tf.tidy(() => forward(tf, plan, theta, X, true).acts.map((z) => tf.sum(z)));
  await Promise.all(out.map((o) => o.data()));
  tf.dispose(out);
  evalMs = performance.now() - t0;
}
const per = stamps.slice(1).map((s, i) => s.t - stamps[i].t).slice(1).sort((p, q) => p - q);
const median = per[Math.floor(per.length / 2)];
console.log(JSON.stringify({what: 'mlp', backend, optimizer: a.optimizer, epochs: E, ms_per_epoch_median: Math.round(median), eval_all_layers_ms: Math.round(evalMs), train_ms_per_epoch: Math.round(median - evalMs)}));
