import assert from 'node:assert/strict';
import {loadBackend} from '../dist/backend/tf.js';
import {twelveBit} from '../dist/data/twelve-bit.js';
import {GradientAccumulator} from '../dist/train/grad-stats.js';
import {trainModel} from '../dist/train/loop.js';
import {initParams, planModel} from '../dist/model/plan.js';
import {Rng} from '../dist/util/prng.js';

const model = (activation = 'tanh', layers = [10, 7, 5, 4, 3]) => ({activation, init: 'truncated_normal', layers: layers.map((units) => ({type: 'dense', units}))});
const trainCfg = (over = {}) => ({epochs: 5, batchSize: 256, optimizer: 'adam', lr: 4e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, momentum: 0, l2: 0, snapshots: 'log:200', gradientStats: true, ...over});

function twelveBitData(seed = 0) {
  const ds = twelveBit.load({});
  const perm = new Rng(seed, 'split').permutation(4096);
  return {x: ds.x, labels: ds.labels, n: 4096, inputShape: [12], classes: 2, trainIdx: perm.slice(0, 3277), testIdx: perm.slice(3277)};
}

async function run(tf, cfg, seed, snapshots, mdl = model()) {
  const plan = planModel(mdl, [12], 2);
  const evals = [];
  const snaps = new Map();
  const grads = new Map();
  const theta = await trainModel(tf, plan, twelveBitData(), cfg, seed, snapshots, {
    onEval: (s) => evals.push(s),
    onSnapshot: (e, acts, th) => snaps.set(e, {acts: acts.map((a) => Float32Array.from(a)), theta: Float32Array.from(th)}),
    onGradStats: (e, st) => grads.set(e, st),
  });
  return {plan, evals, snaps, grads, theta};
}

describe('model and training loop (WASM backend)', function () {
  let tf;
  before(async () => {
    ({tf} = await loadBackend('wasm'));
  });

  it('plans 12-10-7-5-4-3-2 with a softmax output and 12*10+10+...+3*2+2 parameters', () => {
    const plan = planModel(model(), [12], 2);
    assert.deepEqual(plan.layers.map((l) => l.name), ['h1', 'h2', 'h3', 'h4', 'h5', 'out']);
    assert.deepEqual(plan.layers.map((l) => l.width), [10, 7, 5, 4, 3, 2]);
    assert.equal(plan.layers.at(-1).activation, 'softmax');
    assert.equal(plan.numParams, 130 + 77 + 40 + 24 + 15 + 8);
  });

  it('initialises weights as truncated normal with std 1/sqrt(fan_in) (|w| <= 2 std) and zero biases', () => {
    const plan = planModel(model('tanh', [400]), [100], 2);
    const theta = initParams(plan, 3);
    const W = plan.layers[0].params[0];
    const w = theta.subarray(W.offset, W.offset + W.size);
    const std = 1 / Math.sqrt(100);
    assert.ok(w.every((v) => Math.abs(v) <= 2 * std + 1e-7));
    const sd = Math.sqrt(w.reduce((a, v) => a + v * v, 0) / w.length);
    // std of a normal truncated at 2 sigma = 0.8796 sigma
    assert.ok(Math.abs(sd / std - 0.8796) < 0.01, `${sd / std}`);
    const b = plan.layers[0].params[1];
    assert.ok(theta.subarray(b.offset, b.offset + b.size).every((v) => v === 0));
    assert.deepEqual(initParams(plan, 3), theta);
    assert.notDeepEqual(initParams(plan, 4), theta);
  });

  it('is bit-identical for the same seed, different for another seed, and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const a = await run(tf, trainCfg(), 7, [0, 4]);
    const b = await run(tf, trainCfg(), 7, [0, 4]);
    const c = await run(tf, trainCfg(), 8, [0, 4]);
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(a.evals, b.evals);
    assert.deepEqual(a.snaps.get(4).acts, b.snaps.get(4).acts);
    assert.deepEqual(a.theta, b.theta);
    assert.notDeepEqual(a.evals.at(-1), c.evals.at(-1));
  });

  it('learns the 12-bit task (loss falls, activations in range, softmax rows sum to 1)', async () => {
    const r = await run(tf, trainCfg({epochs: 60, lr: 0.01}), 1, [0, 59]);
    assert.equal(r.evals.length, 61);
    assert.ok(r.evals.at(-1).trainLoss < r.evals[0].trainLoss * 0.8, `${r.evals[0].trainLoss} -> ${r.evals.at(-1).trainLoss}`);
    const {acts} = r.snaps.get(59);
    assert.ok(acts[0].every((v) => v >= -1 && v <= 1));
    const out = acts[5];
    for (let i = 0; i < 4096; i += 97) assert.ok(Math.abs(out[2 * i] + out[2 * i + 1] - 1) < 1e-5);
  });

  it('gradient statistics: full batch gives std 0; minibatches give std > 0 and snr = mean/std', async () => {
    const full = await run(tf, trainCfg({epochs: 2, batchSize: 4096}), 2, [0, 1]);
    for (const g of full.grads.get(0)) {
      assert.ok(g.meanNorm > 0);
      assert.ok(g.stdNorm < 1e-6 * g.meanNorm + 1e-12, `${g.layer}: ${g.stdNorm}`);
    }
    const mini = await run(tf, trainCfg({epochs: 2, batchSize: 64}), 2, [0, 1]);
    for (const g of mini.grads.get(0)) {
      assert.ok(g.stdNorm > 0);
      assert.ok(Math.abs(g.snr - g.meanNorm / g.stdNorm) < 1e-12);
    }
    // weight norm = Frobenius norm of W at the snapshot
    const plan = mini.plan;
    const W = plan.layers[0].params[0];
    const th = mini.snaps.get(0).theta;
    let s = 0;
    for (let i = W.offset; i < W.offset + W.size; i++) s += th[i] * th[i];
    assert.ok(Math.abs(mini.grads.get(0)[0].weightNorm - Math.sqrt(s)) < 1e-9);
  });

  it('GradientAccumulator: identical batches give std 0 and mean = the gradient', () => {
    const plan = planModel(model('tanh', [3]), [2], 2);
    const acc = new GradientAccumulator(plan);
    const g = Float32Array.from({length: plan.numParams}, (_, i) => (i % 5) - 2);
    for (let b = 0; b < 4; b++) acc.add(g);
    const [h1] = acc.result(new Float32Array(plan.numParams));
    const W = plan.layers[0].params[0];
    const norm = Math.sqrt(Array.from(g.subarray(W.offset, W.offset + W.size)).reduce((a, v) => a + v * v, 0));
    assert.ok(Math.abs(h1.meanNorm - norm) < 1e-12);
    assert.equal(h1.stdNorm, 0);
  });

  it('fails with a clear stage error when the loss becomes NaN', async () => {
    await assert.rejects(run(tf, trainCfg({epochs: 20, optimizer: 'sgd', lr: 1e6}), 0, [0], model('linear')), /training loss became (NaN|Infinity) at epoch \d+; lower train.lr/);
  });

  it('WASM transposed-matmul fix gives the same products as the reference kernels', () => {
    const rand = (shape, seed) => tf.randomNormal(shape, 0, 1, 'float32', seed);
    const diff = (x, y) => tf.max(tf.abs(tf.sub(x, y))).dataSync()[0];
    tf.tidy(() => {
      const a = rand([37, 53], 1);
      const b = rand([41, 53], 2);
      assert.equal(diff(tf.matMul(a, b, false, true), tf.matMul(a, tf.transpose(b))), 0);
      const a2 = rand([53, 37], 3);
      const b2 = rand([53, 41], 4);
      assert.equal(diff(tf.matMul(a2, b2, true, false), tf.matMul(tf.transpose(a2), b2)), 0);
      const c = rand([53, 29], 5);
      assert.equal(diff(tf.matMul(c, a, true, true), tf.matMul(tf.transpose(c), tf.transpose(a))), 0);
      // and against the plain-JS cpu kernel to float32 rounding
      const ref = tf.tensor(refMatMulT(a.dataSync(), b.dataSync(), 37, 53, 41), [37, 41]);
      assert.ok(diff(tf.matMul(a, b, false, true), ref) < 1e-4);
    });
  });
});

/** a (m x k) times b^T (b is n x k), in float64. */
function refMatMulT(a, b, m, k, n) {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let t = 0; t < k; t++) s += a[i * k + t] * b[j * k + t];
    out[i * n + j] = s;
  }
  return out;
}
