// One training step of a network on one tdlab path, timed and counted; one JSON line.
//   node bench/webgpu-step.mjs --model cnn|wide|mlp --batch 128 --path engine|tfjs|wasm [--steps 20]
// Paths: `engine` = tdlab's WGSL engine on the webgpu backend (what `--backend webgpu` trains
// with); `tfjs` = the same backend through tfjs-webgpu's kernels (trainModel, the path before the
// engine: TDLAB_WEBGPU_ENGINE=tfjs); `wasm` = tdlab's CPU path. Synthetic data (seeded), Adam.
// Per-step figures are the difference between a 3-epoch and a 1-epoch run in the same process
// (both evaluate only at the start and the end, so setup, compilation and evaluation cancel),
// divided by the steps of 2 epochs. Dispatches, submits and buffer maps are counted by wrapping
// Dawn's GPUComputePassEncoder.dispatchWorkgroups, GPUQueue.submit and GPUBuffer.mapAsync.
import {parseArgs} from 'node:util';
import {loadBackend} from '../dist/backend/tf.js';
import {planModel} from '../dist/model/plan.js';
import {trainModel} from '../dist/train/loop.js';

const {values: a} = parseArgs({options: {model: {type: 'string', default: 'cnn'}, batch: {type: 'string', default: '128'}, path: {type: 'string', default: 'engine'}, steps: {type: 'string', default: '20'}, rows: {type: 'string'}}});
const B = Number(a.batch);
const MODELS = {
  // configs/mnist-cnn.yaml's network
  cnn: {inputShape: [28, 28, 1], layers: [{type: 'conv2d', filters: 8, kernel: 3}, {type: 'maxpool2d', size: 2}, {type: 'conv2d', filters: 16, kernel: 3}, {type: 'maxpool2d', size: 2}, {type: 'flatten'}, {type: 'dense', units: 64}]},
  // a wider CNN: conv32-pool-conv64-pool-dense256
  wide: {inputShape: [28, 28, 1], layers: [{type: 'conv2d', filters: 32, kernel: 3}, {type: 'maxpool2d', size: 2}, {type: 'conv2d', filters: 64, kernel: 3}, {type: 'maxpool2d', size: 2}, {type: 'flatten'}, {type: 'dense', units: 256}]},
  // Saxe et al.'s MNIST MLP 784-1024-20-20-20-10
  mlp: {inputShape: [784], layers: [{type: 'dense', units: 1024}, {type: 'dense', units: 20}, {type: 'dense', units: 20}, {type: 'dense', units: 20}]},
};
const m = MODELS[a.model];
if (!m) throw new Error(`--model ${a.model}: use cnn, wide or mlp`);
const plan = planModel({activation: 'relu', init: 'he_normal', layers: m.layers}, m.inputShape, 10);
// rows: whole steps (--steps per epoch) unless --rows gives an epoch size (the MLP's 10,000-row epoch)
const n = a.rows ? Number(a.rows) : B * Number(a.steps);
const stepsPerEpoch = Math.ceil(n / B);
const rowSize = m.inputShape.reduce((x, y) => x * y, 1);
let s = 12345;
const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
const data = {
  x: Float32Array.from({length: n * rowSize}, rand),
  labels: Int32Array.from({length: n}, () => Math.floor(rand() * 10)),
  n, inputShape: m.inputShape, classes: 10,
  trainIdx: Int32Array.from({length: n}, (_, i) => i),
  testIdx: new Int32Array(0),
};
const cfg = (epochs) => ({epochs, batchSize: B, optimizer: 'adam', lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, momentum: 0, l2: 0, snapshots: [], gradientStats: false, evalEvery: 1e9, loss: 'crossentropy'});
const hooks = {onEval() {}, onSnapshot() {}, onGradStats() {}};

const loaded = await loadBackend(a.path === 'wasm' ? 'wasm' : 'webgpu');
const {tf} = loaded;
const count = {dispatches: 0, submits: 0, maps: 0};
if (a.path !== 'wasm') {
  const wrap = (cls, method, key) => {
    const proto = globalThis[cls].prototype;
    const orig = proto[method];
    proto[method] = function (...args) {
      count[key]++;
      return orig.apply(this, args);
    };
  };
  wrap('GPUComputePassEncoder', 'dispatchWorkgroups', 'dispatches');
  wrap('GPUQueue', 'submit', 'submits');
  wrap('GPUBuffer', 'mapAsync', 'maps');
}
const train = async (epochs) => {
  if (a.path === 'engine') {
    const {trainWebGPU} = await import('../dist/train/webgpu/index.js');
    return trainWebGPU(plan, data, cfg(epochs), 0, [], hooks);
  }
  return trainModel(tf, plan, data, cfg(epochs), 0, [], hooks);
};
const measure = async (epochs) => {
  const c0 = {...count};
  const t0 = performance.now();
  await train(epochs);
  return {ms: performance.now() - t0, dispatches: count.dispatches - c0.dispatches, submits: count.submits - c0.submits, maps: count.maps - c0.maps};
};
await measure(1); // warm-up: compile kernels, grow buffer pools
const one = await measure(1);
const three = await measure(3);
const steps = 2 * stepsPerEpoch;
const per = (k) => Number(((three[k] - one[k]) / steps).toFixed(3));
const ad = loaded.adapter;
console.log(JSON.stringify({
  bench: 'train-step', model: a.model, batch: B, path: a.path, backend: loaded.backend,
  adapter: ad ? `${ad.device || ad.description} (${ad.dawnBackend}${ad.software ? ', software' : ''})` : null,
  params: plan.numParams, steps_timed: steps, ms_per_step: per('ms'), ms_per_epoch: Number((per('ms') * stepsPerEpoch).toFixed(2)), rows_per_epoch: n,
  ...(a.path === 'wasm' ? {} : {dispatches_per_step: per('dispatches'), submits_per_step: per('submits'), maps_per_step: per('maps')}),
}));
process.exit(0);
