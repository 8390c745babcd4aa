// Every activation in the registry (src/model/activations.ts, `activations.names()`) through every
// place that uses it (issue 13, item 1): a tiny tfjs training run, local rank on the trained
// weights by the analytic float64 path and by the generic float32 VJP path, and weight features.
// The float64 `f` / `df` of each entry are checked against tfjs (`apply`, `derivative` and tfjs'
// own autodiff of `apply`, to float32 precision) and `df` against central finite differences of
// `f` (an independent check). A new activation is covered the day it is registered.
import assert from 'node:assert/strict';
import {loadBackend} from '../dist/backend/tf.js';
import {activations} from '../dist/model/activations.js';
import {paramSlots, planModel} from '../dist/model/plan.js';
import {modelMetrics} from '../dist/metrics/registry.js';
import {trainModel} from '../dist/train/loop.js';
import {gaussian} from './helpers.js';

/** Pre-activation values: a float32 grid over [-8, 8] plus values near 0 (no exact kink). */
const Z = Float32Array.from([...Array.from({length: 81}, (_, i) => -8 + 0.2 * i + 0.0137), -1e-3, 1e-3, 0.5, -0.5, 3e-2, -3e-2]);

/** A tiny 3-class Gaussian-mixture task: 90 rows of 6 inputs. */
function tinyData() {
  const g = gaussian(3);
  const n = 90;
  const d = 6;
  const labels = Int32Array.from({length: n}, (_, i) => i % 3);
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = g() + (j % 3 === labels[i] ? 2 : 0);
  const idx = Int32Array.from({length: n}, (_, i) => i);
  return {x, labels, n, inputShape: [d], classes: 3, trainIdx: idx.slice(0, 72), testIdx: idx.slice(72)};
}

const trainCfg = {epochs: 6, batchSize: 24, optimizer: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, momentum: 0, l2: 0, snapshots: 'every:6', gradientStats: false};

describe('activation registry: training, local rank and weight features accept every entry', function () {
  let tf;
  before(async () => {
    ({tf} = await loadBackend('wasm'));
  });

  it('the registry is not empty and every entry has f, df, apply and derivative', () => {
    assert.ok(activations.names().length >= 7);
    for (const name of activations.names()) {
      const a = activations.get(name);
      for (const k of ['f', 'df', 'apply', 'derivative']) assert.equal(typeof a[k], 'function', `${name}.${k}`);
      assert.equal(typeof a.lowerBound, 'number');
    }
  });

  for (const name of activations.names()) {
    describe(name, () => {
      const act = activations.get(name);

      it('float64 f and df agree with tfjs apply, derivative and autodiff of apply (float32 precision)', () => {
        const z = tf.tensor1d(Z);
        const h = act.apply(tf, z);
        const applied = h.dataSync();
        const deriv = act.derivative(tf, z, h);
        const dApplied = deriv ? deriv.dataSync() : null;
        const auto = tf.grad((v) => tf.sum(act.apply(tf, v)))(z).dataSync();
        tf.dispose([z, h, ...(deriv ? [deriv] : [])]);
        const f32 = (a, b) => Math.abs(a - b) <= 4e-7 * Math.max(1, Math.abs(b)) + 2e-7;
        Z.forEach((v, i) => {
          assert.ok(f32(applied[i], act.f(v)), `${name}: apply(${v}) = ${applied[i]}, f = ${act.f(v)}`);
          if (dApplied) assert.ok(f32(dApplied[i], act.df(v)), `${name}: derivative(${v}) = ${dApplied[i]}, df = ${act.df(v)}`);
          assert.ok(f32(auto[i], act.df(v)), `${name}: tf.grad(apply)(${v}) = ${auto[i]}, df = ${act.df(v)}`);
        });
        if (!dApplied) Z.forEach((v) => assert.equal(act.df(v), 1, `${name}: derivative() null means the identity`));
        // at a kink the value tfjs' gradient uses (relu'(0) = 0)
        const zero = tf.scalar(0);
        const g0 = tf.grad((v) => tf.sum(act.apply(tf, v)))(zero).dataSync()[0];
        zero.dispose();
        assert.ok(f32(g0, act.df(0)), `${name}: tf.grad at 0 = ${g0}, df(0) = ${act.df(0)}`);
      });

      it('df matches central finite differences of f (float64, h = 1e-6)', () => {
        const hh = 1e-6;
        for (const v of Z) {
          const fd = (act.f(v + hh) - act.f(v - hh)) / (2 * hh);
          assert.ok(Math.abs(fd - act.df(v)) <= 1e-6 * Math.max(1, Math.abs(fd)), `${name}: df(${v}) = ${act.df(v)}, finite difference ${fd}`);
        }
        // the range starts at the declared lower bound
        assert.ok(act.f(-50) >= act.lowerBound - 1e-12, `${name}: f(-50) = ${act.f(-50)} below lowerBound ${act.lowerBound}`);
      });

      it('trains (loss falls), then local rank (analytic and VJP paths) and weight features accept the trained weights', async () => {
        const data = tinyData();
        const plan = planModel({activation: name, init: 'glorot_uniform', layers: [{type: 'dense', units: 5}, {type: 'dense', units: 4}]}, [6], 3);
        assert.deepEqual(plan.layers.map((l) => l.activation), [name, name, 'softmax']);
        const losses = [];
        const theta = await trainModel(tf, plan, data, trainCfg, 1, [0, 6], {onEval: (s) => losses.push(s.trainLoss), onSnapshot: () => {}, onGradStats: () => {}});
        assert.ok(losses.every(Number.isFinite), `${name}: losses ${losses}`);
        assert.ok(losses.at(-1) < losses[0], `${name}: loss ${losses[0]} -> ${losses.at(-1)}`);
        const params = paramSlots(plan).map((s) => theta.slice(s.offset, s.offset + s.size));
        const net = {layers: plan.layers.map((l, i) => ({W: params[2 * i], rows: l.params[0].shape[0], cols: l.width, b: params[2 * i + 1], activation: l.activation}))};
        const X = {data: Float64Array.from(data.x), rows: data.n, cols: 6};
        const lr = modelMetrics.get('geom.local_rank');
        const p = lr.params.parse({points: 30});
        const analytic = lr.compute(net, X, p, 0);
        const vjp = await lr.computeModel({plan, params, source: name}, X, p, 0, {tf: async () => tf});
        const value = (rows, layer, q) => rows.find((r) => r.layerIndex === layer && r.quantity === q).value;
        for (const layer of [1, 2, 3]) {
          const bound = value(analytic, layer, 'local_rank_bound');
          assert.equal(bound, [5, 4, 3][layer - 1]);
          for (const rows of [analytic, vjp]) {
            const v = value(rows, layer, 'local_rank');
            assert.ok(v >= 0 && v <= bound, `${name} layer ${layer}: ${v}`);
            assert.ok(Number.isFinite(value(rows, layer, 's_max_mean')));
          }
          // float32 Jacobians: a singular value within ~1e-6 s_max of tol may flip one point's rank
          assert.ok(Math.abs(value(analytic, layer, 'local_rank') - value(vjp, layer, 'local_rank')) <= 1 / 30 + 1e-12, `${name} layer ${layer}: analytic ${value(analytic, layer, 'local_rank')} vs VJP ${value(vjp, layer, 'local_rank')}`);
        }
        const wf = modelMetrics.get('weights.features');
        const feats = wf.compute(net, undefined, wf.params.parse({}), 0);
        const featsModel = await wf.computeModel({plan, params, source: name}, undefined, {}, 0, {tf: async () => tf});
        assert.equal(feats.filter((v) => v.layerIndex === -1).length, 14);
        assert.ok(feats.every((v) => Number.isFinite(v.value)), name);
        assert.deepEqual(featsModel.map((v) => v.value), feats.map((v) => v.value));
      });
    });
  }
});
