// geom.local_rank on any model: the generic batched-VJP path (src/metrics/model/local-rank/vjp.ts)
// against the analytic dense path, closed-form conv/maxpool/ReLU ranks, an end-to-end CNN run and
// bad inputs. Imports the built code: run `npx tsc -p tsconfig.json` first.
import {gaussian} from './helpers.js';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {loadBackend} from '../dist/backend/tf.js';
import {writeArrowFile} from '../dist/io/arrow.js';
import {encodeNpy} from '../dist/io/npy.js';
import {eigvalsh} from '../dist/linalg/eigen.js';
import {localRank} from '../dist/metrics/model/local-rank/analytic.js';
import {geomLocalRank} from '../dist/metrics/model/local-rank/metric.js';
import {checkPlanForJacobians, computeLocalRankVjp, localRankVjp, SparseJacobian} from '../dist/metrics/model/local-rank/vjp.js';
import {readCheckpointModel as checkpointModel, weightMatrices} from '../dist/model/checkpoint.js';
import {initParams, paramSlots, planModel} from '../dist/model/plan.js';
const symmetricEigenvalues = (A, n) => eigvalsh(A, n, {overwrite: true});
import {UserError} from '../dist/util/errors.js';


/** Float32-exact random inputs (the VJP path computes in float32; the dense path then sees the same x). */
function randomX(n, d, seed, scale = 1) {
  const g = gaussian(seed);
  return {data: Float64Array.from({length: n * d}, () => Math.fround(scale * g())), rows: n, cols: d};
}

/** Parameters of a plan in slot order: seeded initialiser plus small nonzero biases. */
function planParams(plan, seed, bias = 0.2) {
  const theta = initParams(plan, seed);
  const g = gaussian(seed + 100);
  for (const s of paramSlots(plan)) if (s.role === 'bias') for (let i = 0; i < s.size; i++) theta[s.offset + i] = bias * g();
  return paramSlots(plan).map((s) => theta.slice(s.offset, s.offset + s.size));
}

/** The DenseNet of a pure-dense plan (what denseNetFromCheckpoint builds from a run). */
function denseNetOf(plan, params) {
  return {layers: plan.layers.map((l, i) => ({W: params[2 * i], rows: l.params[0].shape[0], cols: l.width, b: params[2 * i + 1], activation: l.activation}))};
}

/** A one-layer plan: `layer` (a model.layers entry) on inputs of `inputShape`, then the output layer. */
function onePlan(layer, inputShape, activation = 'linear', classes = 2) {
  return planModel({activation, init: 'he_normal', layers: [layer]}, inputShape, classes);
}

const opts = (o = {}) => ({tol: 0.01, post: false, points: 128, ...o});

describe('geom.local_rank on any model: batched VJP path', function () {
  let tf;
  before(async () => {
    ({tf} = await loadBackend('wasm'));
  });

  async function vjp(plan, params, X, o) {
    const before = tf.memory().numTensors;
    const r = await localRankVjp(tf, plan, params, X, opts(o));
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    return r;
  }

  describe('(a) dense MLP: VJP path = analytic path', () => {
    for (const [activation, post] of [['tanh', false], ['tanh', true], ['relu', false], ['relu', true]]) {
      it(`${activation}, ${post ? 'post' : 'pre'}-activation: same ranks and singular values (1e-5 of s_max)`, async () => {
        // 24-16-6-30-20 + 5-way softmax: layers narrower and wider than the input, a bottleneck
        const plan = planModel({activation, init: 'he_normal', layers: [16, 6, 30, 20].map((units) => ({type: 'dense', units}))}, [24], 5);
        const params = planParams(plan, 3);
        const X = randomX(12, 24, 5);
        const a = localRank(denseNetOf(plan, params), X, opts({post, keepSingularValues: true}));
        // a small chunk budget: chunks cross point boundaries
        const b = await vjp(plan, params, X, {post, keepSingularValues: true, chunkBytes: 30000});
        assert.equal(b.method, 'vjp');
        assert.equal(b.points, 12);
        assert.equal(b.inputDim, 24);
        assert.equal(b.layers.length, a.layers.length);
        a.layers.forEach((la, l) => {
          const lb = b.layers[l];
          assert.equal(lb.layerIndex, la.layerIndex);
          assert.equal(lb.width, la.width);
          assert.equal(lb.maxRank, la.maxRank);
          assert.deepEqual(Array.from(lb.ranks), Array.from(la.ranks), `layer ${l + 1} ranks`);
          assert.deepEqual(Array.from(lb.numericalRanks), Array.from(la.numericalRanks), `layer ${l + 1} numerical ranks`);
          for (let m = 0; m < 12; m++) {
            const sa = la.singularValues[m];
            const sb = lb.singularValues[m];
            assert.equal(sb.length, sa.length);
            const smax = Math.max(sa[0], 1e-30);
            for (let k = 0; k < sa.length; k++) assert.ok(Math.abs(sa[k] - sb[k]) <= 1e-5 * smax, `layer ${l + 1} point ${m} s${k}: ${sa[k]} vs ${sb[k]}`);
            if (sa[0] > 0) assert.ok(Math.abs(lb.sMax[m] - la.sMax[m]) <= 1e-6 * la.sMax[m]);
          }
        });
      });
    }

    it('the metric rows (seeded points, quantities, units) equal geomLocalRank.compute', async () => {
      const plan = planModel({activation: 'relu', init: 'he_normal', layers: [12, 8].map((units) => ({type: 'dense', units}))}, [20], 3);
      const params = planParams(plan, 1);
      const X = randomX(40, 20, 2);
      const p = geomLocalRank.params.parse({points: 16});
      const a = geomLocalRank.compute(denseNetOf(plan, params), X, p, 9);
      const b = await computeLocalRankVjp(tf, {plan, params}, X, p, 9);
      assert.deepEqual(b.map((r) => [r.layerIndex, r.n, Array.from(r.rows)]), a.map((r) => [r.layerIndex, r.n, Array.from(r.rows)]));
      b.forEach((r, i) => {
        assert.deepEqual(r.values.map((v) => [v.quantity, v.unit]), a[i].values.map((v) => [v.quantity, v.unit]));
        r.values.forEach((v, k) => {
          const w = a[i].values[k].value;
          if (v.quantity === 's_max_mean') assert.ok(Math.abs(v.value - w) <= 1e-6 * w);
          else assert.equal(v.value, w, v.quantity);
        });
      });
    });

    it('spec R1 (linear bottleneck) and R3-style rank 0 through the generic path', async () => {
      const plan = planModel({activation: 'linear', init: 'he_normal', layers: [20, 3, 25].map((units) => ({type: 'dense', units}))}, [30], 4);
      const params = planParams(plan, 7);
      const r = await vjp(plan, params, randomX(5, 30, 8), {});
      assert.deepEqual(r.layers.map((l) => l.meanRank), [20, 3, 3, 3]);
      assert.deepEqual(r.layers.map((l) => l.meanNumericalRank), [20, 3, 3, 3]);
      // ReLU with every layer-1 unit off (large negative bias): J of layer 2 is 0
      const relu = planModel({activation: 'relu', init: 'he_normal', layers: [10].map((units) => ({type: 'dense', units}))}, [8], 3);
      const ps = planParams(relu, 2);
      ps[1].fill(-100);
      const z = await vjp(relu, ps, randomX(3, 8, 1), {});
      assert.deepEqual(z.layers.map((l) => l.meanRank), [8, 0]);
      assert.ok(z.layers[1].sMax.every((s) => s === 0));
    });
  });

  describe('(b) closed-form ranks: conv2d, maxpool2d, ReLU', () => {
    /** A 1x1 conv2d (cin -> cout) with a given kernel (cin x cout row-major), zero bias. */
    function conv1x1(cin, cout, H, W, kernel, extra = []) {
      const plan = planModel({activation: 'linear', init: 'he_normal', layers: [{type: 'conv2d', filters: cout, kernel: 1}, ...extra]}, [H, W, cin], 2);
      const params = planParams(plan, 4, 0);
      params[0].set(kernel);
      return {plan, params};
    }

    it('1x1 conv, cin 3 -> cout 2, rank-2 kernel: J = K^T (x) I_HW has rank 2 H W; a zero output channel halves it', async () => {
      const H = 5;
      const W = 4;
      const full = conv1x1(3, 2, H, W, [1, 0, 2, 1, -1, 3]);
      const X = randomX(3, H * W * 3, 11);
      const r = await vjp(full.plan, full.params, X, {layer: 1, keepSingularValues: true});
      const l1 = r.layers[0];
      assert.equal(l1.width, H * W * 2);
      assert.equal(l1.maxRank, H * W * 2);
      assert.deepEqual(Array.from(l1.ranks), [40, 40, 40]);
      assert.deepEqual(Array.from(l1.numericalRanks), [40, 40, 40]);
      // singular values: those of the 3x2 kernel, each repeated H W times
      const K = [[1, 0], [2, 1], [-1, 3]];
      const G = Float64Array.from([0, 1, 2, 3].map((i) => {
        const [p, q] = [i >> 1, i & 1];
        return K.reduce((s, row) => s + row[p] * row[q], 0);
      }));
      const sK = symmetricEigenvalues(G, 2).map(Math.sqrt);
      const s = l1.singularValues[1];
      for (let k = 0; k < 40; k++) assert.ok(Math.abs(s[k] - sK[k < 20 ? 0 : 1]) < 1e-5 * sK[0], `s${k}`);
      const half = conv1x1(3, 2, H, W, [1, 0, 2, 0, -1, 0]);
      const h = await vjp(half.plan, half.params, X, {layer: 1});
      assert.deepEqual(Array.from(h.layers[0].ranks), [20, 20, 20]);
      // rank-1 kernel with two nonzero output channels: still H W
      const r1 = conv1x1(3, 2, H, W, [1, 2, 2, 4, -1, -2]);
      assert.deepEqual(Array.from((await vjp(r1.plan, r1.params, X, {layer: 1})).layers[0].ranks), [20, 20, 20]);
    });

    it('3x3 conv, one channel, valid padding: a delta kernel is a crop (rank = output size); stride 2 keeps every other pixel', async () => {
      const plan = planModel({activation: 'relu', init: 'he_normal', layers: [{type: 'conv2d', filters: 1, kernel: 3, padding: 'valid'}]}, [6, 7, 1], 2);
      const params = planParams(plan, 1, 0);
      params[0].fill(0);
      params[0][4] = 2; // centre tap
      const r = await vjp(plan, params, randomX(2, 42, 3), {layer: 1, keepSingularValues: true});
      assert.deepEqual(Array.from(r.layers[0].ranks), [20, 20]); // 4 x 5 outputs, each a distinct pixel
      assert.ok(r.layers[0].singularValues[0].slice(0, 20).every((s) => Math.abs(s - 2) < 1e-6));
      const s2 = planModel({activation: 'relu', init: 'he_normal', layers: [{type: 'conv2d', filters: 1, kernel: 3, stride: 2, padding: 'same'}]}, [6, 6, 1], 2);
      const p2 = planParams(s2, 1, 0);
      const r2 = await vjp(s2, p2, randomX(2, 36, 3), {layer: 1});
      assert.equal(r2.layers[0].width, 9);
      assert.deepEqual(Array.from(r2.layers[0].ranks), [9, 9]); // generic kernel: 9 independent rows
    });

    it('ReLU after a conv: post-activation rank = number of active outputs at x (identity 1x1 kernel)', async () => {
      const H = 4;
      const W = 4;
      const plan = planModel({activation: 'relu', init: 'he_normal', layers: [{type: 'conv2d', filters: 1, kernel: 1}]}, [H, W, 1], 2);
      const params = planParams(plan, 1, 0);
      params[0][0] = 1;
      const X = randomX(6, 16, 21);
      const r = await vjp(plan, params, X, {layer: 1, post: true});
      const active = Array.from({length: 6}, (_, m) => X.data.slice(m * 16, (m + 1) * 16).filter((v) => v > 0).length);
      assert.deepEqual(Array.from(r.layers[0].ranks), active);
      const pre = await vjp(plan, params, X, {layer: 1});
      assert.deepEqual(Array.from(pre.layers[0].ranks), [16, 16, 16, 16, 16, 16]);
    });

    it('maxpool2d selects one input per window: rank = number of windows; flatten repeats it; conv -> maxpool composes', async () => {
      // maxpool 2 on 6x4x2: 3 x 2 x 2 = 12 windows, each output picks one distinct input
      const plan = planModel({activation: 'relu', init: 'he_normal', layers: [{type: 'maxpool2d', size: 2}, {type: 'flatten'}, {type: 'dense', units: 5}]}, [6, 4, 2], 3);
      const params = planParams(plan, 2);
      const X = randomX(4, 48, 9);
      const r = await vjp(plan, params, X, {keepSingularValues: true});
      assert.deepEqual(r.layers.map((l) => l.layerIndex), [1, 2, 3, 4]);
      assert.deepEqual(Array.from(r.layers[0].ranks), [12, 12, 12, 12]);
      assert.ok(r.layers[0].singularValues[0].every((s, k) => Math.abs(s - (k < 12 ? 1 : 0)) < 1e-7));
      assert.deepEqual(Array.from(r.layers[1].ranks), [12, 12, 12, 12]);
      assert.deepEqual(r.layers.map((l) => l.maxRank), [12, 12, 5, 3]);
      assert.deepEqual(Array.from(r.layers[2].ranks), [5, 5, 5, 5]);
      // a 1x1 identity conv with ReLU before the pool: a window whose maximum is <= 0 gives a zero row
      const cp = planModel({activation: 'relu', init: 'he_normal', layers: [{type: 'conv2d', filters: 1, kernel: 1}, {type: 'maxpool2d', size: 2}]}, [4, 4, 1], 2);
      const pc = planParams(cp, 1, 0);
      pc[0][0] = 1;
      const Xc = randomX(5, 16, 33);
      const rc = await vjp(cp, pc, Xc, {layer: 2});
      const expected = Array.from({length: 5}, (_, m) => {
        let n = 0;
        for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
          let mx = -Infinity;
          for (const [a, b] of [[0, 0], [0, 1], [1, 0], [1, 1]]) mx = Math.max(mx, Xc.data[m * 16 + (2 * i + a) * 4 + 2 * j + b]);
          if (mx > 0) n++;
        }
        return n;
      });
      assert.deepEqual(Array.from(rc.layers[0].ranks), expected);
    });

    it('maxpool gradient: first maximum of each window, also for all-negative and all-zero windows (WASM MaxPoolGrad drops those)', async () => {
      // 5x5x2 input, size 2: rows/cols 4 are cropped; windows all negative, or all zero (ties -> first element)
      const data = new Float32Array(50);
      for (let i = 0; i < 50; i++) data[i] = -1 - ((i * 7) % 11) / 10;
      const zeroWindow = [0, 2, 10, 12]; // (0,0), (0,1), (1,0), (1,1) of channel 0
      for (const k of zeroWindow) data[k] = 0;
      const plan = planModel({activation: 'linear', init: 'he_normal', layers: [{type: 'maxpool2d', size: 2}]}, [5, 5, 2], 2);
      const X = {data: Float64Array.from(data), rows: 1, cols: 50};
      const r = await vjp(plan, [new Float32Array(16), new Float32Array(2)], X, {layer: 1, keepSingularValues: true});
      assert.deepEqual(Array.from(r.layers[0].ranks), [8]);
      assert.ok(r.layers[0].singularValues[0].every((s) => Math.abs(s - 1) < 1e-7));
      // the rows themselves, through the same forward as the VJP path
      const {maxPoolFirstMax} = await import('../dist/model/layers.js');
      const before = tf.memory().numTensors;
      const rows = tf.tidy(() => {
        const x = tf.tensor4d(data, [1, 5, 5, 2]);
        const ref = tf.maxPool(x, 2, 2, 'valid');
        assert.deepEqual(Array.from(maxPoolFirstMax(tf, x, 2).dataSync()), Array.from(ref.dataSync()));
        const dy = tf.reshape(tf.oneHot(tf.range(0, 8, 1, 'int32'), 8).toFloat(), [8, 2, 2, 2]);
        return tf.reshape(tf.grad((z) => maxPoolFirstMax(tf, z, 2))(tf.tile(x, [8, 1, 1, 1]), dy), [8, 50]);
      });
      const J = rows.arraySync();
      rows.dispose();
      assert.equal(tf.memory().numTensors, before);
      for (let u = 0; u < 8; u++) {
        const [i, j, c] = [u >> 2, (u >> 1) & 1, u & 1];
        const cells = [0, 1].flatMap((a) => [0, 1].map((b) => ((2 * i + a) * 5 + 2 * j + b) * 2 + c));
        let first = cells[0];
        for (const k of cells) if (data[k] > data[first]) first = k;
        assert.deepEqual(J[u].flatMap((v, k) => (v !== 0 ? [[k, v]] : [])), [[first, 1]], `unit ${u}`);
      }
    });

    it('dropout is the identity at evaluation; im2col and tf.conv2d Jacobians agree; chunking changes nothing', async () => {
      const plan = planModel({activation: 'tanh', init: 'he_normal', layers: [{type: 'conv2d', filters: 3, kernel: 3, stride: 2}, {type: 'dropout', rate: 0.5}, {type: 'conv2d', filters: 4, kernel: 3, padding: 'valid'}, {type: 'flatten'}, {type: 'dense', units: 6}]}, [9, 9, 2], 3);
      const params = planParams(plan, 5);
      const X = randomX(3, 162, 4);
      const base = await vjp(plan, params, X, {keepSingularValues: true, post: true});
      const other = await vjp(plan, params, X, {keepSingularValues: true, post: true, nativeConv: false, chunkBytes: 200000});
      // dropout (post of the conv before it) repeats layer 1
      assert.deepEqual(Array.from(base.layers[1].ranks), Array.from(base.layers[0].ranks));
      base.layers.forEach((l, i) => {
        assert.deepEqual(Array.from(other.layers[i].ranks), Array.from(l.ranks));
        l.singularValues.forEach((s, m) => s.forEach((v, k) => assert.ok(Math.abs(v - other.layers[i].singularValues[m][k]) < 1e-5 * s[0])));
      });
    });

    it('SparseJacobian: rows side, columns side and the dense fallback give the same spectrum', () => {
      const g = gaussian(3);
      const rows = Array.from({length: 9}, (_, r) => Float32Array.from({length: 7}, (_, k) => (k === 6 || (r + k) % 3 === 0 ? 0 : g())));
      const spectra = [1e9, 0].map((cap) => {
        const acc = new SparseJacobian(7, cap);
        for (const row of rows) acc.add(row);
        return acc.spectrum(7);
      });
      // 6 used columns < 9 nonzero rows: columns Gram; cap 0: dense J^T J. Reference: a 4-row subset (rows Gram)
      spectra.forEach((s) => assert.ok(Math.abs(s[0] - spectra[0][0]) < 1e-12 * spectra[0][0]));
      assert.equal(spectra[0][6], 0);
      const few = new SparseJacobian(7);
      for (const row of rows.slice(0, 3)) few.add(row);
      few.add(new Float32Array(7));
      const sRows = few.spectrum(4);
      const dense = new SparseJacobian(7, 0);
      for (const row of rows.slice(0, 3)) dense.add(row);
      const sCols = dense.spectrum(7);
      for (let k = 0; k < 3; k++) assert.ok(Math.abs(sRows[k] - sCols[k]) < 1e-12 * sCols[0]);
      assert.equal(sRows[3], 0);
      few.reset();
      assert.deepEqual(Array.from(few.spectrum(2)), [0, 0]);
    });
  });

  describe('(d) bad input', () => {
    it('an unsupported layer type or activation names the layer', async () => {
      const plan = onePlan({type: 'conv2d', filters: 2, kernel: 3}, [5, 5, 1]);
      const bad = {...plan, layers: plan.layers.map((l, i) => (i === 0 ? {...l, type: 'lstm'} : l))};
      assert.throws(() => checkPlanForJacobians(bad, undefined, 'runs/x/model.json'), (e) => e instanceof UserError && /runs\/x\/model\.json: layer h1 \(index 1\) has type 'lstm'/.test(e.message));
      await assert.rejects(localRankVjp(tf, bad, planParams(plan, 1), randomX(1, 25, 1), opts({source: 'm.json'})), (e) => e instanceof UserError && /m\.json: layer h1 .*'lstm'.*supported: dense, dropout, conv2d, maxpool2d, flatten/.test(e.message));
      const badAct = {...plan, layers: plan.layers.map((l, i) => (i === 0 ? {...l, activation: 'swish'} : l))};
      assert.throws(() => checkPlanForJacobians(badAct), /layer h1 has activation 'swish'/);
      // wrong parameter count / sizes, wrong input width
      await assert.rejects(localRankVjp(tf, plan, planParams(plan, 1).slice(1), randomX(1, 25, 1), opts()), /3 parameter tensors given, the model has 4/);
      await assert.rejects(localRankVjp(tf, plan, planParams(plan, 1), randomX(1, 24, 1), opts()), /inputs have 24 columns .* shape \[5,5,1\]/);
      await assert.rejects(localRankVjp(tf, plan, planParams(plan, 1), randomX(1, 25, 1), opts({layer: 3})), /layer 3 out of range 1..2/);
    });

    it('a checkpoint that does not match model.json names the file and the tensor', () => {
      const dir = mkdtempSync(join(tmpdir(), 'tdlab-lrv-'));
      const plan = onePlan({type: 'conv2d', filters: 2, kernel: 3}, [5, 5, 1]);
      const write = (path, entries) => {
        const offsets = new Int32Array(entries.length + 1);
        entries.forEach((e, i) => (offsets[i + 1] = offsets[i] + e.values.length));
        const values = new Float32Array(offsets[entries.length]);
        entries.forEach((e, i) => values.set(e.values, offsets[i]));
        writeArrowFile(path, [
          {name: 'name', column: {kind: 'utf8', values: entries.map((e) => e.name)}},
          {name: 'layer_index', column: {kind: 'int32', values: Int32Array.from(entries, (e) => e.layer)}},
          {name: 'role', column: {kind: 'utf8', values: entries.map((e) => (e.name.endsWith('.W') ? 'weight' : 'bias'))}},
          {name: 'shape', column: {kind: 'utf8', values: entries.map((e) => JSON.stringify(e.shape))}},
          {name: 'values', column: {kind: 'list', values, offsets}},
        ], entries.length);
      };
      const good = [
        {name: 'h1.W', layer: 1, shape: [3, 3, 1, 2], values: new Float32Array(18).fill(0.5)},
        {name: 'h1.b', layer: 1, shape: [2], values: new Float32Array(2)},
        {name: 'out.W', layer: 2, shape: [50, 2], values: new Float32Array(100).fill(0.1)},
        {name: 'out.b', layer: 2, shape: [2], values: new Float32Array(2)},
      ];
      const ok = join(dir, 'epoch_000000.arrow');
      write(ok, good);
      const m = checkpointModel(ok, plan, 'model.json');
      assert.deepEqual(m.params.map((p) => p.length), [18, 2, 100, 2]);
      // weight features: the conv kernel as (3*3*1) x 2, the dense W as 50 x 2, with plan layer indices
      const wm = weightMatrices(m);
      assert.deepEqual(wm.net.layers.map((l) => [l.rows, l.cols]), [[9, 2], [50, 2]]);
      assert.deepEqual(wm.planIndex, [1, 2]);
      const shape = join(dir, 'epoch_000001.arrow');
      write(shape, good.map((e) => (e.name === 'h1.W' ? {...e, shape: [3, 3, 2, 1]} : e)));
      assert.throws(() => checkpointModel(shape, plan, 'model.json'), (e) => e instanceof UserError && e.message.includes(shape) && /tensor 'h1.W' .*shape \[3,3,2,1\].* does not match layer h1 of model.json .*shape \[3,3,1,2\]/.test(e.message));
      const missing = join(dir, 'epoch_000002.arrow');
      write(missing, good.filter((e) => e.name !== 'out.b'));
      assert.throws(() => checkpointModel(missing, plan, 'model.json'), (e) => e instanceof UserError && e.message.startsWith(missing) && /no tensor 'out.b' for layer out \(dense\)/.test(e.message));
      const extra = join(dir, 'epoch_000003.arrow');
      write(extra, [...good, {name: 'h9.W', layer: 9, shape: [1], values: new Float32Array(1)}]);
      assert.throws(() => checkpointModel(extra, plan, 'model.json'), /tensors h9.W are not in model.json/);
      assert.throws(() => checkpointModel(join(dir, 'nope.arrow'), plan), /nope\.arrow: file not found/);
    });
  });

  describe('(c) end to end: a tiny MNIST CNN run with geom.local_rank and weights.features', function () {
    let runDir;
    let rows;
    const cli = (args) => spawnSync(process.execPath, ['bin/run.js', ...args], {encoding: 'utf8'});
    before(function () {
      const out = mkdtempSync(join(tmpdir(), 'tdlab-lrv-run-'));
      const config = join(out, 'cnn.yaml');
      writeFileSync(config, [
        'name: cnn-local-rank',
        'seed: 0',
        'stages: [data, train, metrics, report]',
        'data:',
        '  name: mnist',
        '  trainFraction: 0.8',
        '  options: {limit: 120, standardize: true, flatten: false}',
        'model:',
        '  activation: relu',
        '  init: he_normal',
        '  layers:',
        '    - {type: conv2d, filters: 2, kernel: 3}',
        '    - {type: maxpool2d, size: 2}',
        '    - {type: flatten}',
        '    - {type: dense, units: 12}',
        'train:',
        '  epochs: 2',
        '  batchSize: 40',
        '  snapshots: [0, 1]',
        '  gradientStats: false',
        'metrics:',
        '  subsets: [all]',
        '  estimators:',
        '    - name: geom.local_rank',
        '      params: {points: 3}',
        '    - weights.features',
        '',
      ].join('\n'));
      const r = cli(['run', config, '--backend', 'wasm', '--out', out, '--json']);
      assert.equal(r.status, 0, r.stderr);
      runDir = JSON.parse(r.stdout).runDir;
      const [header, ...lines] = readFileSync(join(runDir, 'metrics', 'metrics.csv'), 'utf8').trim().split('\n');
      const cols = header.split(',');
      rows = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
    });

    it('local rank rows for every layer at both snapshots, between 0 and the bound', () => {
      const lr = rows.filter((r) => r.estimator === 'geom.local_rank');
      const mean = lr.filter((r) => r.quantity === 'local_rank');
      assert.deepEqual([...new Set(mean.map((r) => r.layer))], ['h1', 'h2', 'h3', 'h4', 'out']);
      assert.deepEqual([...new Set(mean.map((r) => r.epoch))], ['0', '1']);
      const bound = Object.fromEntries(lr.filter((r) => r.quantity === 'local_rank_bound').map((r) => [r.layer, Number(r.value)]));
      // conv 28x28x2 (width 1568) -> 784 (input), maxpool 14x14x2 = 392, flatten 392, dense 12, out 10
      assert.deepEqual(bound, {h1: 784, h2: 392, h3: 392, h4: 12, out: 10});
      for (const r of mean) {
        assert.ok(Number(r.value) >= 0 && Number(r.value) <= bound[r.layer], `${r.layer}@${r.epoch}: ${r.value}`);
        assert.equal(r.n, '3');
        assert.equal(r.params, 'points=3;post=false;tol=0.01');
      }
      // the first conv's pre-activation is linear in x: J = the conv operator, full column rank 784 for a generic 3x3x1x2 kernel
      assert.ok(mean.filter((r) => r.layer === 'h1').every((r) => Number(r.value) === 784));
      assert.ok(mean.filter((r) => r.layer === 'h2').some((r) => Number(r.value) > 0));
      for (const q of ['local_rank_numerical', 'local_rank_std', 'local_rank_min', 'local_rank_max', 's_max_mean']) assert.equal(lr.filter((r) => r.quantity === q).length, 10, q);
    });

    it('weight features cover the conv kernel and the dense layers (plan layer names); the report renders', () => {
      const wf = rows.filter((r) => r.estimator === 'weights.features' && r.epoch === '0');
      assert.deepEqual([...new Set(wf.filter((r) => r.layer !== '').map((r) => r.layer))], ['h1', 'h4', 'out']);
      const l2 = wf.filter((r) => r.quantity === 'l2' && r.layer !== '').map((r) => Number(r.value));
      assert.ok(Math.abs(Number(wf.find((r) => r.layer === '' && r.quantity === 'l2').value) - l2.reduce((a, b) => a + b, 0) / 3) < 1e-9);
      assert.ok(existsSync(join(runDir, 'report', 'index.html')) || existsSync(join(runDir, 'report.html')));
    });

    it('tdlab measure --weights on the run\'s checkpoint reads model.json: conv models need no --activation', () => {
      const ckpt = join(runDir, 'checkpoints', readdirSync(join(runDir, 'checkpoints')).sort().pop());
      const g = gaussian(9);
      const x = join(runDir, 'points.npy');
      writeFileSync(x, encodeNpy(Float32Array.from({length: 2 * 784}, g), [2, 784]));
      const r = cli(['measure', '--weights', ckpt, '--x', x, '--metric', 'geom.local_rank', '--param', 'points=2', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.metric, 'geom.local_rank');
      assert.equal(out.n, 2);
      assert.equal(out.values['1.local_rank'], 784); // the first conv's Jacobian is the conv operator
      assert.equal(out.values['4.local_rank_bound'], 12);
      assert.ok(out.values['5.local_rank'] >= 0 && out.values['5.local_rank'] <= 10);
      const w = cli(['measure', '--weights', ckpt, '--metric', 'weights.features', '--json']);
      assert.equal(w.status, 0, w.stderr);
      assert.ok(JSON.parse(w.stdout).values['1.l2'] > 0);
      // a points file of the wrong width is named
      writeFileSync(x, encodeNpy(new Float32Array(2 * 10), [2, 10]));
      const bad = cli(['measure', '--weights', ckpt, '--x', x, '--metric', 'geom.local_rank']);
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /points\.npy: 10 columns, but the network expects 784 inputs/);
    });
  });
});
