// The fused WebAssembly training engine (src/native/train.c, src/train/fused/) against
// independent references: tf.grads of the loss written with tf ops (every activation, both
// losses, L2, dropout), the tfjs Optimizer (every optimizer), and the tfjs training loop.
import assert from 'node:assert/strict';
import {loadBackend} from '../dist/backend/tf.js';
import {twelveBit} from '../dist/data/twelve-bit.js';
import {activations} from '../dist/model/activations.js';
import {forward} from '../dist/model/forward.js';
import {initParams, paramSlots, planModel} from '../dist/model/plan.js';
import {fusedUnavailable} from '../dist/native/train.js';
import {FusedNet, fusedEngine} from '../dist/train/fused/engine.js';
import {trainModel} from '../dist/train/loop.js';
import {Optimizer} from '../dist/train/optimizer.js';
import {Rng} from '../dist/util/prng.js';

const trainCfg = (over = {}) => ({epochs: 5, batchSize: 256, optimizer: 'adam', lr: 4e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, momentum: 0, l2: 0, snapshots: 'log:200', gradientStats: true, ...over});

function twelveBitData(seed = 0) {
  const ds = twelveBit.load({});
  const perm = new Rng(seed, 'split').permutation(4096);
  return {x: ds.x, labels: ds.labels, n: 4096, inputShape: [12], classes: 2, trainIdx: perm.slice(0, 3277), testIdx: perm.slice(3277)};
}

/** Parameters of `plan` with non-zero biases (so their gradients matter), from a seeded stream. */
function someParams(plan, seed) {
  const theta = initParams(plan, seed);
  const rng = new Rng(seed, 'test-biases');
  for (const p of paramSlots(plan)) if (p.role === 'bias') for (let i = p.offset; i < p.offset + p.size; i++) theta[i] = 0.3 * rng.normal();
  return theta;
}

const denseLayers = (widths, act) => widths.map((units) => ({type: 'dense', units, ...(act ? {activation: act} : {})}));

/** max |a - b| over a tensor's slot, relative to max |b| there. */
function slotErrors(plan, a, b) {
  return paramSlots(plan).map((p) => {
    let d = 0;
    let m = 0;
    for (let i = p.offset; i < p.offset + p.size; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
      m = Math.max(m, Math.abs(b[i]));
    }
    return {name: p.name, rel: m > 0 ? d / m : d};
  });
}

describe('fused training engine (WebAssembly SIMD)', function () {
  this.timeout(120000);
  let tf;
  const data = twelveBitData();

  before(async function () {
    if (fusedUnavailable()) this.skip();
    ({tf} = await loadBackend('wasm'));
  });

  describe('minibatch gradients equal tf.grads of the loss (every activation x loss x L2 x dropout), to 1e-5 relative', function () {
    const rows = data.trainIdx.slice(0, 64);
    const step = 7;
    const seed = 3;
    for (const act of activations.names()) {
      for (const loss of ['crossentropy', 'hinge']) {
        for (const l2 of [0, 0.01]) {
          for (const dropout of [false, true]) {
            it(`${act}, ${loss}${l2 ? ', L2' : ''}${dropout ? ', dropout' : ''}`, function () {
              const layers = dropout
                ? [{type: 'dense', units: 10}, {type: 'dropout', rate: 0.3}, {type: 'dense', units: 7}, {type: 'dropout', rate: 0.5, activation: 'tanh'}, {type: 'dense', units: 5}]
                : denseLayers([10, 7, 5]);
              const plan = planModel({activation: act, init: 'glorot_uniform', layers}, [12], 2);
              const theta = someParams(plan, 11);
              const cfg = trainCfg({loss, l2, optimizer: 'sgd'});
              const net = new FusedNet(plan, data, cfg, {seed, threads: 1, start: {epoch: 0, step: 0, params: theta, slots: []}});
              const g = net.gradient(rows, step);

              // reference: autodiff of mean loss + (l2 / 2) sum ||W_hidden||^2 through the tfjs forward pass
              const slots = paramSlots(plan);
              const ref = tf.tidy(() => {
                const params = slots.map((p) => tf.tensor(theta.subarray(p.offset, p.offset + p.size), p.shape));
                const xb = tf.tensor2d(Float32Array.from([...rows].flatMap((r) => [...data.x.subarray(12 * r, 12 * r + 12)])), [rows.length, 12]);
                const y = tf.oneHot(tf.tensor1d(Int32Array.from(rows, (r) => data.labels[r]), 'int32'), 2).toFloat();
                const hidden = new Set(plan.layers.filter((l) => l.kind === 'hidden').flatMap((l) => l.params.filter((p) => p.role === 'weight').map((p) => slots.indexOf(p))));
                const f = (...ps) => {
                  const z = forward(tf, plan, ps, xb, false, {training: true, seed, step}).logits;
                  let lossT;
                  if (loss === 'hinge') {
                    const [z0, z1] = tf.split(z, 2, 1);
                    const [y0, y1] = tf.split(y, 2, 1);
                    lossT = tf.mean(tf.relu(tf.sub(1, tf.mul(tf.sub(y1, y0), tf.sub(z1, z0)))));
                  } else {
                    lossT = tf.mean(tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(z)), 1)));
                  }
                  const pen = ps.filter((_, i) => hidden.has(i)).map((w) => tf.mul(tf.sum(tf.square(w)), l2 / 2));
                  return pen.length && l2 > 0 ? tf.addN([lossT, ...pen]) : lossT;
                };
                return tf.concat(tf.grads(f)(params).map((t) => tf.reshape(t, [-1])));
              });
              const expected = ref.dataSync();
              ref.dispose();
              for (const e of slotErrors(plan, g, expected)) assert.ok(e.rel <= 1e-5, `${e.name}: relative error ${e.rel}`);
              // the comparison is not vacuous: the gradient is non-zero
              assert.ok(g.some((v) => Math.abs(v) > 1e-4), 'gradient is zero');
            });
          }
        }
      }
    }
  });

  describe('optimizer updates equal the tfjs Optimizer (same float32 operations)', function () {
    const cases = [
      ['adam', {optimizer: 'adam', lr: 1e-3}],
      ['adamw (one flat vector)', {optimizer: 'adamw', lr: 1e-3, weightDecay: 0.1}],
      ['sgd', {optimizer: 'sgd', lr: 0.05}],
      ['sgd with momentum', {optimizer: 'sgd', lr: 0.05, momentum: 0.9}],
      ['sgd with momentum and decoupled weight decay', {optimizer: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 0.01}],
      ['adamw above 262144 parameters (per tensor)', {optimizer: 'adamw', lr: 1e-3, weightDecay: 0.1}, [600, 440]],
    ];
    for (const [name, over, widths] of cases) {
      it(name, function () {
        const plan = planModel({activation: 'tanh', init: 'glorot_uniform', layers: denseLayers(widths ?? [10, 7])}, [12], 2);
        const cfg = trainCfg(over);
        const theta = someParams(plan, 5);
        const net = new FusedNet(plan, data, cfg, {seed: 0, threads: 1, start: {epoch: 0, step: 0, params: theta, slots: (cfg.optimizer === 'sgd' && !cfg.momentum ? [] : cfg.optimizer === 'sgd' ? [0] : [0, 0]).map(() => new Float32Array(plan.numParams))}});
        const slots = paramSlots(plan);
        const opt = new Optimizer(tf, cfg, slots.map((p) => p.shape), slots.map((p) => p.role === 'weight'));
        let params = slots.map((p) => tf.tensor(theta.subarray(p.offset, p.offset + p.size), p.shape));
        const rng = new Rng(9, 'grads');
        for (let s = 0; s < 3; s++) {
          const g = Float32Array.from({length: plan.numParams}, () => 0.01 * rng.normal());
          const lr = cfg.lr * (1 - 0.1 * s); // a schedule's changing rate
          net.update(g, s, lr);
          const next = tf.tidy(() => opt.update(params, slots.map((p) => tf.tensor(g.subarray(p.offset, p.offset + p.size), p.shape)), lr));
          tf.dispose(params);
          params = next;
        }
        const expected = new Float32Array(plan.numParams);
        params.forEach((t, i) => expected.set(t.dataSync(), slots[i].offset));
        tf.dispose(params);
        assert.deepEqual(net.theta, expected, 'parameters after 3 steps');
        return opt.getState().then((state) => {
          opt.dispose();
          assert.equal(state.length, net.slots.length);
          state.forEach((s, i) => assert.deepEqual(net.slots[i], s, `optimizer slot ${i}`));
        });
      });
    }
  });

  describe('training agrees with the tfjs loop', function () {
    it('20 epochs of the 12-bit net: losses to 1e-6 relative, gradient statistics to 1e-5, snapshots to 1e-6', async function () {
      const plan = planModel({activation: 'tanh', init: 'truncated_normal', layers: denseLayers([10, 7, 5, 4, 3])}, [12], 2);
      const cfg = trainCfg({epochs: 20});
      const run = async (train) => {
        const out = {evals: [], logits: [], grads: new Map(), snaps: new Map()};
        out.theta = await train(plan, data, cfg, 1, [0, 10], {
          onEval: (s, logits) => (out.evals.push(s), out.logits.push(logits)),
          onSnapshot: (e, acts) => out.snaps.set(e, acts.map((a) => Float32Array.from(a))),
          onGradStats: (e, st) => out.grads.set(e, st),
        });
        return out;
      };
      const ref = await run((...a) => trainModel(tf, ...a));
      const got = await run(fusedEngine.train);
      assert.equal(got.evals.length, 21);
      got.evals.forEach((s, i) => {
        for (const k of ['trainLoss', 'testLoss']) assert.ok(Math.abs(s[k] - ref.evals[i][k]) <= 1e-6 * ref.evals[i][k], `epoch ${i} ${k}: ${s[k]} vs ${ref.evals[i][k]}`);
        assert.equal(got.logits[i].length, 4096 * 2);
      });
      for (const [e, st] of ref.grads) {
        got.grads.get(e).forEach((g, l) => {
          for (const k of ['meanNorm', 'stdNorm', 'weightNorm']) assert.ok(Math.abs(g[k] - st[l][k]) <= 1e-5 * st[l][k], `epoch ${e} layer ${g.layer} ${k}`);
        });
      }
      for (const [e, acts] of ref.snaps) {
        got.snaps.get(e).forEach((a, l) => {
          let d = 0;
          for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - acts[l][i]));
          assert.ok(d <= 1e-6, `epoch ${e} layer ${l}: max difference ${d}`);
        });
      }
      // the output snapshot is the softmax: rows sum to 1
      const out = got.snaps.get(10).at(-1);
      for (let r = 0; r < 4096; r += 97) assert.ok(Math.abs(out[2 * r] + out[2 * r + 1] - 1) < 1e-6);
    });
  });
});
