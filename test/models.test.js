import assert from 'node:assert/strict';
import {loadBackend} from '../dist/backend/tf.js';
import {configSchema} from '../dist/config/schema.js';
import {twelveBit} from '../dist/data/twelve-bit.js';
import {layerTypes} from '../dist/model/layers.js';
import {trainModel} from '../dist/train/loop.js';
import {evaluate} from '../dist/train/evaluate.js';
import {denseBackprop} from '../dist/model/backprop.js';
import {learningRate} from '../dist/train/lr.js';
import {forward} from '../dist/model/forward.js';
import {initParams, paramSlots, planModel} from '../dist/model/plan.js';
import {Optimizer} from '../dist/train/optimizer.js';
import {Rng} from '../dist/util/prng.js';

const trainCfg = (over = {}) => ({epochs: 5, batchSize: 256, optimizer: 'adam', lr: 4e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, momentum: 0, l2: 0, snapshots: 'log:200', gradientStats: true, ...over});
const dense = (units) => ({type: 'dense', units});

function twelveBitData(seed = 0) {
  const ds = twelveBit.load({});
  const perm = new Rng(seed, 'split').permutation(4096);
  return {x: ds.x, labels: ds.labels, n: 4096, inputShape: [12], classes: 2, trainIdx: perm.slice(0, 3277), testIdx: perm.slice(3277)};
}

async function run(tf, plan, data, cfg, seed, snapshots = []) {
  const evals = [];
  const snaps = new Map();
  const grads = new Map();
  const theta = await trainModel(tf, plan, data, cfg, seed, snapshots, {
    onEval: (s) => evals.push(s),
    onSnapshot: (e, acts, th) => snaps.set(e, {acts: acts.map((a) => Float32Array.from(a)), theta: Float32Array.from(th)}),
    onGradStats: (e, st) => grads.set(e, st),
  });
  return {evals, snaps, grads, theta};
}

/** 10x10 one-channel images: class 0 a horizontal bar, class 1 a vertical bar, at a random place, plus noise. */
function barImages(n, seed) {
  const rng = new Rng(seed, 'bars');
  const x = new Float32Array(n * 100);
  const labels = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const y = r % 2;
    const at = 1 + rng.int(8);
    const from = rng.int(5);
    for (let i = 0; i < 100; i++) x[r * 100 + i] = 0.1 * rng.normal();
    for (let t = from; t < from + 5; t++) x[r * 100 + (y === 0 ? at * 10 + t : t * 10 + at)] += 1;
    labels[r] = y;
  }
  const idx = Int32Array.from({length: n}, (_, i) => i);
  return {x, labels, n, inputShape: [10, 10, 1], classes: 2, trainIdx: idx.slice(0, (n * 3) / 4), testIdx: idx.slice((n * 3) / 4)};
}

describe('models: layer types, dropout, optimizers, schedules (WASM backend)', function () {
  let tf;
  before(async () => {
    ({tf} = await loadBackend('wasm'));
  });

  it('explicit dense backpropagation gives the gradients of tf.grads for every activation (1e-6)', () => {
    for (const activation of ['tanh', 'relu', 'sigmoid', 'softsign', 'softplus', 'elu', 'linear']) {
      const plan = planModel({activation, init: 'glorot_uniform', layers: [9, 6, 4].map(dense)}, [12], 3);
      const fast = denseBackprop(tf, plan, 'crossentropy');
      assert.ok(fast, activation);
      tf.tidy(() => {
        const theta = initParams(plan, 5);
        const params = paramSlots(plan).map((p) => tf.tensor(theta.subarray(p.offset, p.offset + p.size), p.shape));
        const xb = tf.randomNormal([33, 12], 0, 1, 'float32', 7);
        const yb = tf.oneHot(tf.tensor1d(Int32Array.from({length: 33}, (_, i) => i % 3), 'int32'), 3).toFloat();
        const loss = (...ps) => tf.mean(tf.neg(tf.sum(tf.mul(yb, tf.logSoftmax(forward(tf, plan, ps, xb, false).logits)), 1)));
        const ref = tf.grads(loss)(params);
        const got = fast(params, xb, yb);
        ref.forEach((g, k) => {
          const d = tf.max(tf.abs(tf.sub(g, got[k]))).dataSync()[0];
          assert.ok(d < 1e-6, `${activation} param ${k}: ${d}`);
        });
      });
    }
    // not eligible: other losses and layer types take tf.grads
    const plan = planModel({activation: 'tanh', init: 'glorot_uniform', layers: [9].map(dense)}, [12], 2);
    assert.equal(denseBackprop(tf, plan, 'hinge'), null);
  });

  it('conv2d (im2col) equals tf.conv2d; conv2d/maxpool2d/flatten output shapes', () => {
    const conv = layerTypes.get('conv2d');
    const ctx = {training: false, seed: 0, step: 0, layer: 'h1'};
    for (const [H, k, s, padding, out] of [[8, 3, 1, 'same', 8], [9, 3, 2, 'same', 5], [9, 3, 2, 'valid', 4], [8, 5, 1, 'valid', 4], [7, 2, 3, 'same', 3], [28, 5, 1, 'valid', 24]]) {
      const cfg = {type: 'conv2d', filters: 4, kernel: k, stride: s, padding};
      const plan = conv.plan(cfg, [H, H, 2]);
      assert.deepEqual(plan.outputShape, [out, out, 4]);
      assert.deepEqual(plan.params.map((p) => p.shape), [[k, k, 2, 4], [4]]);
      assert.equal(plan.params[0].fanIn, k * k * 2);
      tf.tidy(() => {
        const x = tf.randomNormal([3, H, H, 2], 0, 1, 'float32', 1);
        const W = tf.randomNormal([k, k, 2, 4], 0, 1, 'float32', 2);
        const b = tf.randomNormal([4], 0, 1, 'float32', 3);
        const mine = conv.forward(tf, x, [W, b], cfg, ctx);
        assert.deepEqual(mine.shape, [3, out, out, 4]);
        const diff = tf.max(tf.abs(tf.sub(mine, tf.add(tf.conv2d(x, W, s, padding), b)))).dataSync()[0];
        assert.ok(diff < 1e-5, `${H} ${k} ${s} ${padding}: ${diff}`);
      });
    }
    assert.deepEqual(layerTypes.get('maxpool2d').plan({type: 'maxpool2d', size: 2}, [9, 9, 3]).outputShape, [4, 4, 3]);
    assert.deepEqual(layerTypes.get('flatten').plan({type: 'flatten'}, [4, 4, 3]).outputShape, [48]);
    const plan = planModel({activation: 'relu', init: 'he_normal', layers: [{type: 'conv2d', filters: 8, kernel: 3}, {type: 'maxpool2d', size: 2}, {type: 'conv2d', filters: 16, kernel: 3, padding: 'valid'}, {type: 'maxpool2d'}, {type: 'flatten'}, {type: 'dropout', rate: 0.1}, dense(32)]}, [28, 28, 1], 10);
    assert.deepEqual(plan.layers.map((l) => l.outputShape), [[28, 28, 8], [14, 14, 8], [12, 12, 16], [6, 6, 16], [576], [576], [32], [10]]);
    assert.deepEqual(plan.layers.map((l) => l.activation), ['relu', 'linear', 'relu', 'linear', 'linear', 'linear', 'relu', 'softmax']);
    assert.deepEqual(plan.layers.map((l) => l.width), [6272, 1568, 2304, 576, 576, 576, 32, 10]);
    assert.equal(plan.numParams, 3 * 3 * 8 + 8 + 3 * 3 * 8 * 16 + 16 + 576 * 32 + 32 + 32 * 10 + 10);
    assert.throws(() => planModel({activation: 'relu', init: 'he_normal', layers: [{type: 'conv2d', filters: 2, kernel: 3}]}, [784], 10), /conv2d needs an input of shape \[height, width, channels\]/);
  });

  it('maxpool2d trains with the right gradient: to the first maximum of each window, also when every value is negative', () => {
    // tfjs-backend-wasm 4.22's MaxPoolGrad starts its running maximum at the smallest positive
    // float, so all-negative windows (common after tanh) got no gradient; the layer avoids it
    const pool = layerTypes.get('maxpool2d');
    const x = tf.tensor4d([-3, -1, -2, -1, -0.5, 0, -4, 2, -7, -6, -9, -8], [1, 2, 6, 1]);
    const before = tf.memory().numTensors;
    const g = tf.tidy(() => tf.grad((z) => tf.sum(pool.forward(tf, z, [], {type: 'maxpool2d', size: 2}, {training: true})))(x));
    // row 0: -3 -1 -2 -1 -0.5 0; row 1: -4 2 -7 -6 -9 -8. Windows (columns 0-1, 2-3, 4-5): max 2
    // (index 7), -1 (index 3; all negative), 0 (index 5; every other value negative)
    assert.deepEqual(Array.from(g.dataSync()), [0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0]);
    // tied maxima: the first in window order (row-major) gets it
    const t = tf.tensor4d([-1, -1, -1, -1], [1, 2, 2, 1]);
    const gt = tf.grad((z) => tf.sum(pool.forward(tf, z, [], {type: 'maxpool2d', size: 2}, {training: true})))(t);
    assert.deepEqual(Array.from(gt.dataSync()), [1, 0, 0, 0]);
    tf.dispose([t, gt]);
    g.dispose();
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });

  it('a small CNN learns a toy image task; snapshots of every layer are flattened per row; no tensor leaks', async () => {
    const data = barImages(256, 1);
    const plan = planModel({activation: 'relu', init: 'he_normal', layers: [{type: 'conv2d', filters: 4, kernel: 3}, {type: 'maxpool2d', size: 2}, {type: 'flatten'}, {type: 'dropout', rate: 0.2}, dense(8)]}, [10, 10, 1], 2);
    const before = tf.memory().numTensors;
    const r = await run(tf, plan, data, trainCfg({epochs: 15, batchSize: 32, lr: 0.01}), 0, [0, 14]);
    assert.equal(tf.memory().numTensors, before);
    assert.ok(r.evals.at(-1).trainLoss < 0.5 * r.evals[0].trainLoss, `${r.evals[0].trainLoss} -> ${r.evals.at(-1).trainLoss}`);
    assert.ok(r.evals.at(-1).testAcc > 0.9, `${r.evals.at(-1).testAcc}`);
    const acts = r.snaps.get(14).acts;
    assert.deepEqual(acts.map((a) => a.length / 256), [400, 100, 100, 100, 8, 2]);
    // flatten and dropout (evaluation) reproduce the pooled activations exactly
    assert.deepEqual(acts[2], acts[1]);
    assert.deepEqual(acts[3], acts[1]);
    // gradient statistics only for layers with weights
    assert.deepEqual(r.grads.get(0).map((g) => g.layer), ['h1', 'h5', 'out']);
  });

  it('dropout: deterministic per seed, different for another seed, identity at evaluation, inverted scaling in training', async () => {
    const layers = [dense(10), {type: 'dropout', rate: 0.5}, dense(7), dense(5)];
    const plan = planModel({activation: 'tanh', init: 'truncated_normal', layers}, [12], 2);
    const cfg = trainCfg({epochs: 4, lr: 0.01});
    const a = await run(tf, plan, twelveBitData(), cfg, 3);
    const b = await run(tf, plan, twelveBitData(), cfg, 3);
    assert.deepEqual(a.evals, b.evals);
    assert.deepEqual(a.theta, b.theta);
    // the same initial weights, different dropout masks: another seed for the run with the init of seed 3
    const c = await run(tf, plan, twelveBitData(), cfg, 4);
    assert.notDeepEqual(a.evals.at(-1), c.evals.at(-1));
    // rate 0: the same initialisation and evaluation at epoch 0, then different training
    const plan0 = planModel({activation: 'tanh', init: 'truncated_normal', layers: [dense(10), {type: 'dropout', rate: 0}, dense(7), dense(5)]}, [12], 2);
    const d = await run(tf, plan0, twelveBitData(), cfg, 3);
    assert.deepEqual(d.evals[0], a.evals[0]);
    assert.notDeepEqual(d.evals.at(-1), a.evals.at(-1));

    tf.tidy(() => {
      const theta = initParams(plan, 1);
      const params = paramSlots(plan).map((p) => tf.tensor(theta.subarray(p.offset, p.offset + p.size), p.shape));
      const x = tf.tensor(twelveBitData().x.subarray(0, 64 * 12), [64, 12]);
      const ev = forward(tf, plan, params, x, true);
      const ev2 = forward(tf, plan, params, x, true, {training: false, seed: 9, step: 5});
      assert.deepEqual(ev.logits.dataSync(), ev2.logits.dataSync());
      assert.deepEqual(ev.acts[1].dataSync(), ev.acts[0].dataSync()); // dropout layer = its input at evaluation
      const t1 = forward(tf, plan, params, x, true, {training: true, seed: 9, step: 5});
      const t2 = forward(tf, plan, params, x, true, {training: true, seed: 9, step: 5});
      const t3 = forward(tf, plan, params, x, true, {training: true, seed: 9, step: 6});
      assert.deepEqual(t1.logits.dataSync(), t2.logits.dataSync());
      assert.notDeepEqual(t1.logits.dataSync(), t3.logits.dataSync());
      const h = t1.acts[0].dataSync();
      const dropped = t1.acts[1].dataSync();
      let zeros = 0;
      for (let i = 0; i < h.length; i++) {
        if (dropped[i] === 0) zeros++;
        else assert.ok(Math.abs(dropped[i] - 2 * h[i]) < 1e-6);
      }
      assert.ok(Math.abs(zeros / h.length - 0.5) < 0.08, `${zeros / h.length}`);
    });
  });

  it('AdamW: with zero gradient, weights shrink by (1 - lr wd) per step and biases do not (flat and per-tensor modes)', () => {
    const cfg = trainCfg({optimizer: 'adamw', lr: 0.01, weightDecay: 0.1});
    for (const shapes of [[[3, 4], [4]], [[600, 500], [500]]]) {
      tf.tidy(() => {
        const opt = new Optimizer(tf, cfg, shapes, [true, false]);
        let params = shapes.map((s, i) => tf.fill(s, i === 0 ? 2 : 3));
        const zeros = shapes.map((s) => tf.zeros(s));
        for (let k = 0; k < 3; k++) params = opt.update(params, zeros);
        const w = params[0].dataSync();
        const expect = 2 * Math.pow(1 - 0.01 * 0.1, 3);
        assert.ok(w.every((v) => Math.abs(v - expect) < 1e-6), `${w[0]} vs ${expect}`);
        assert.ok(params[1].dataSync().every((v) => v === 3));
        // with a varying learning rate (schedule): factor (1 - lr_t wd)
        params = opt.update(params, zeros, 0.5);
        assert.ok(Math.abs(params[0].dataSync()[0] - expect * (1 - 0.05)) < 1e-6);
        opt.dispose();
      });
    }
    // adam with the same gradient but no decay leaves weights unchanged; adamw matches adam when wd = 0
    tf.tidy(() => {
      const g = [tf.tensor([[0.1, -0.2]]), tf.tensor([0.3])];
      const p = [tf.tensor([[1, 2]]), tf.tensor([0.5])];
      const a = new Optimizer(tf, trainCfg({lr: 0.01}), [[1, 2], [1]]).update(p, g);
      const w = new Optimizer(tf, trainCfg({optimizer: 'adamw', lr: 0.01, weightDecay: 0}), [[1, 2], [1]]).update(p, g);
      assert.deepEqual(a[0].dataSync(), w[0].dataSync());
      const d = new Optimizer(tf, trainCfg({optimizer: 'adamw', lr: 0.01, weightDecay: 0.5}), [[1, 2], [1]], [true, false]).update(p, g);
      // decoupled: adam step plus -lr wd W
      const aw = a[0].dataSync();
      const dw = d[0].dataSync();
      assert.ok(Math.abs(dw[0] - (aw[0] - 0.01 * 0.5 * 1)) < 1e-6);
      assert.ok(Math.abs(dw[1] - (aw[1] - 0.01 * 0.5 * 2)) < 1e-6);
      assert.deepEqual(d[1].dataSync(), a[1].dataSync());
    });
  });

  it('learning-rate schedules: constant, step (gamma every N epochs), cosine (to minLr over the run)', () => {
    const base = {lr: 0.1, epochs: 100};
    assert.equal(learningRate(base, 57), 0.1);
    assert.equal(learningRate({...base, schedule: {type: 'constant', gamma: 0.1, minLr: 0}}, 99), 0.1);
    const step = {...base, schedule: {type: 'step', every: 30, gamma: 0.5, minLr: 0}};
    assert.deepEqual([0, 29, 30, 59, 60, 99].map((e) => learningRate(step, e)), [0.1, 0.1, 0.05, 0.05, 0.025, 0.0125]);
    const cos = {...base, schedule: {type: 'cosine', gamma: 0.1, minLr: 0.001}};
    assert.equal(learningRate(cos, 0), 0.1);
    assert.ok(Math.abs(learningRate(cos, 50) - (0.001 + 0.099 / 2)) < 1e-15);
    assert.ok(Math.abs(learningRate(cos, 100) - 0.001) < 1e-15);
    assert.ok(Math.abs(learningRate(cos, 25) - (0.001 + (0.099 * (1 + Math.SQRT1_2)) / 2)) < 1e-15);
  });

  it('a step schedule with gamma 1 trains exactly like constant; a cosine schedule changes training', async () => {
    const plan = planModel({activation: 'tanh', init: 'truncated_normal', layers: [10, 7].map(dense)}, [12], 2);
    const a = await run(tf, plan, twelveBitData(), trainCfg({epochs: 3, lr: 0.01}), 1);
    const b = await run(tf, plan, twelveBitData(), trainCfg({epochs: 3, lr: 0.01, schedule: {type: 'step', every: 1, gamma: 1, minLr: 0}}), 1);
    const c = await run(tf, plan, twelveBitData(), trainCfg({epochs: 3, lr: 0.01, schedule: {type: 'cosine', gamma: 0.1, minLr: 0}}), 1);
    assert.deepEqual(a.evals, b.evals);
    assert.deepEqual(a.evals[1], c.evals[1]); // epoch 0 runs at the full rate
    assert.notDeepEqual(a.evals.at(-1), c.evals.at(-1));
  });

  it('train.evalEvery: loss/accuracy every N epochs plus snapshots and the last epoch; training itself is unchanged', async () => {
    const plan = planModel({activation: 'tanh', init: 'truncated_normal', layers: [dense(10), dense(7)]}, [12], 2);
    const data = twelveBitData();
    const every = await run(tf, plan, data, trainCfg({epochs: 11}), 0, [5]);
    const sparse = await run(tf, plan, data, trainCfg({epochs: 11, evalEvery: 4}), 0, [5]);
    assert.deepEqual(sparse.evals.map((s) => s.epoch), [0, 4, 5, 8, 11]);
    for (const s of sparse.evals) assert.deepEqual(s, every.evals[s.epoch]);
    assert.deepEqual(sparse.theta, every.theta);
    assert.deepEqual(sparse.snaps.get(5).theta, every.snaps.get(5).theta);
  });

  it('hinge loss (2 classes): evaluation formula and training lowers it', async () => {
    const logits = Float32Array.from([0.2, 1.5, 1, -1, 0, 0]);
    const s = evaluate(0, logits, {labels: Int32Array.from([1, 0, 1]), classes: 2, trainIdx: Int32Array.from([0, 1, 2]), testIdx: new Int32Array(0)}, 'hinge');
    // margins s (z1 - z0): 1.3, 2, 0 -> hinge 0, 0, 1
    assert.ok(Math.abs(s.trainLoss - 1 / 3) < 1e-12);
    assert.equal(s.trainAcc, 2 / 3);
    const plan = planModel({activation: 'tanh', init: 'truncated_normal', layers: [10, 7].map(dense)}, [12], 2);
    const r = await run(tf, plan, twelveBitData(), trainCfg({epochs: 10, lr: 0.01, loss: 'hinge'}), 1);
    assert.ok(r.evals.at(-1).trainLoss < 0.9 * r.evals[0].trainLoss, `${r.evals[0].trainLoss} -> ${r.evals.at(-1).trainLoss}`);
  });

  it('config schema: new layer fields, adamw, schedules, loss, data.split; defaults leave old configs unchanged', () => {
    const ok = configSchema.parse({model: {layers: [{type: 'conv2d', filters: 4, kernel: 3}, {type: 'maxpool2d'}, {type: 'flatten'}, {type: 'dropout', rate: 0.1}, 16]}, train: {optimizer: 'adamw', weightDecay: 0.01, schedule: {type: 'cosine'}, loss: 'hinge'}, data: {split: 'random'}});
    assert.deepEqual(ok.model.layers.at(-1), {type: 'dense', units: 16});
    assert.deepEqual(ok.train.schedule, {type: 'cosine', gamma: 0.1, minLr: 0});
    const plain = configSchema.parse({});
    assert.deepEqual(Object.keys(plain.train), ['epochs', 'batchSize', 'optimizer', 'lr', 'beta1', 'beta2', 'epsilon', 'momentum', 'l2', 'snapshots', 'gradientStats']);
    assert.deepEqual(Object.keys(plain.data), ['name', 'trainFraction', 'options']);
    assert.deepEqual(plain.model.layers, [10, 7, 5, 4, 3].map(dense));
    const err = (cfg) => configSchema.safeParse(cfg).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    assert.match(err({model: {layers: [{type: 'dense'}]}}), /model.layers.0: dense needs units/);
    assert.match(err({model: {layers: [{type: 'conv2d', kernel: 3}]}}), /conv2d needs filters/);
    assert.match(err({model: {layers: [{type: 'dropout', rate: 1}]}}), /model.layers.0.rate/);
    assert.match(err({train: {weightDecay: 0.1}}), /train.weightDecay: .*adamw/);
    assert.match(err({train: {schedule: {type: 'step'}}}), /train.schedule.every: a 'step' schedule needs every/);
    assert.match(err({data: {name: 'mnist', options: {limit: 0}}}), /data.options.limit/);
  });
});
