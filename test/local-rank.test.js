// geom.local_rank (spec 5: R1-R4, Jacobians against finite differences, path consistency),
// weights.features (spec 8.1 closed forms) and the weight loaders (.npz, tdlab checkpoints).
// Per-point singular values and ranks of every path against NumPy (SVD of explicitly built
// Jacobians) are in test/reference.test.js (local-rank.json, weight-features.json).
// Imports the built code: run `npx tsc -p tsconfig.json` first.
import {gaussian} from './helpers.js';
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {deflateRawSync} from 'node:zlib';
import {eigvalsh} from '../dist/linalg/eigen.js';
import {localRank} from '../dist/metrics/model/local-rank/analytic.js';
import {singularValues} from '../dist/metrics/model/local-rank/gram.js';
import {layerJacobians} from '../dist/metrics/model/local-rank/jacobian.js';
import {geomLocalRank, localRankRows} from '../dist/metrics/model/local-rank/metric.js';
import {matrixFeatures, weightFeatures, weightsMetric} from '../dist/metrics/model/features.js';
import {activationDerivative64 as activationDerivative} from '../dist/model/activations.js';
import {denseNetFromCheckpoint} from '../dist/model/checkpoint.js';
import {forwardPre} from '../dist/model/dense-net.js';
import {denseNetFromNpz, denseNetFromNpzBytes} from '../dist/model/npz.js';
import {readZip, writeZip} from '../dist/io/zip.js';
const symmetricEigenvalues = (A, n) => eigvalsh(A, n, {overwrite: true});
import {encodeNpy} from '../dist/io/npy.js';
import {writeArrowFile} from '../dist/io/arrow.js';


/** Random MLP: dims [d0, d1, ...], weights N(0, scale^2 / fan_in) (input-by-output), biases N(0, bias^2). */
function randomNet(dims, activation, seed, {scale = 1, bias = 0, last} = {}) {
  const g = gaussian(seed);
  const layers = [];
  for (let l = 0; l + 1 < dims.length; l++) {
    const s = scale / Math.sqrt(dims[l]);
    layers.push({
      W: Float64Array.from({length: dims[l] * dims[l + 1]}, () => s * g()),
      rows: dims[l],
      cols: dims[l + 1],
      b: Float64Array.from({length: dims[l + 1]}, () => bias * g()),
      activation: l + 2 === dims.length && last ? last : activation,
    });
  }
  return {layers};
}

function randomX(n, d, seed) {
  const g = gaussian(seed);
  return {data: Float64Array.from({length: n * d}, () => g()), rows: n, cols: d};
}

const opts = (o = {}) => ({tol: 0.01, post: false, points: 128, ...o});
const allEqual = (arr, v) => Array.from(arr).every((x) => x === v);

describe('geom.local_rank (spec 5)', () => {
  it('R1: linear network with a width-3 bottleneck has local rank 3 at every x from the bottleneck on', () => {
    const net = randomNet([30, 20, 3, 25, 10], 'linear', 1);
    const X = randomX(16, 30, 2);
    for (const method of ['gram', 'explicit']) {
      const r = localRank(net, X, opts({method}));
      assert.deepEqual(r.layers.map((l) => l.maxRank), [20, 3, 3, 3]);
      assert.ok(allEqual(r.layers[0].ranks, 20), method);
      for (const l of r.layers.slice(1)) {
        assert.ok(allEqual(l.ranks, 3), `${method} layer ${l.layerIndex}: ${l.ranks}`);
        assert.ok(allEqual(l.numericalRanks, 3), `${method} numerical layer ${l.layerIndex}: ${l.numericalRanks}`);
        assert.equal(l.meanRank, 3);
      }
    }
  });

  it('R2: ReLU layer-1 pre-activation rank = min(d1, d0) at every x', () => {
    for (const [d0, d1] of [[50, 20], [10, 20], [20, 20]]) {
      const net = randomNet([d0, d1, 8], 'relu', d0 + d1, {bias: 0.3});
      const r = localRank(net, randomX(12, d0, 3), opts({layer: 1}));
      assert.equal(r.layers.length, 1);
      assert.ok(allEqual(r.layers[0].ranks, Math.min(d0, d1)), `${d0}x${d1}: ${r.layers[0].ranks}`);
      assert.equal(r.method, d1 <= d0 ? 'gram' : 'explicit');
    }
  });

  it('R3: all layer-1 ReLU units inactive at x -> rank 0 downstream (and post-activation of layer 1)', () => {
    const net = randomNet([15, 12, 10, 6], 'relu', 4);
    // inputs where half the points switch every layer-1 unit off: z_1 = x W_1 + b_1 < 0
    net.layers[0].b = new Float64Array(12).fill(-1e3);
    const X = randomX(8, 15, 5);
    for (const method of ['gram', 'explicit']) {
      const pre = localRank(net, X, opts({method}));
      assert.ok(allEqual(pre.layers[0].ranks, 12)); // J_1 = W_1^T regardless of x
      for (const l of pre.layers.slice(1)) {
        assert.ok(allEqual(l.ranks, 0), `${method} layer ${l.layerIndex}`);
        assert.ok(allEqual(l.numericalRanks, 0));
      }
      const post = localRank(net, X, opts({method, post: true, layer: 1}));
      assert.ok(allEqual(post.layers[0].ranks, 0));
    }
    // mixed: the units are off only at some points
    const net2 = randomNet([4, 6, 5], 'relu', 6);
    for (const l of [net2.layers[0]]) for (let i = 0; i < l.W.length; i++) l.W[i] = Math.abs(l.W[i]) + 0.1; // all-positive weights
    const X2 = {data: Float64Array.from([1, 1, 1, 1, -1, -1, -1, -1, 2, 0, 1, 0, -3, -2, -1, -1]), rows: 4, cols: 4};
    const r2 = localRank(net2, X2, opts());
    assert.deepEqual(Array.from(r2.layers[1].ranks), [4, 0, 4, 0]);
  });

  it('R4: scaling W by 1e-3 drives the rank to 0, by 1e3 to full', () => {
    const base = randomNet([40, 20, 20, 10], 'relu', 7); // zero biases: ReLU is positively homogeneous
    const X = randomX(10, 40, 8);
    const r0 = localRank(base, X, opts());
    for (const c of [1e-3, 1e3]) {
      const net = {layers: base.layers.map((l, i) => ({...l, W: i === 0 ? l.W.map((v) => v * c) : l.W}))};
      const r = localRank(net, X, opts());
      r.layers.forEach((l, i) => {
        if (c < 1) assert.ok(allEqual(l.ranks, 0), `c=${c} layer ${l.layerIndex}: ${l.ranks}`);
        else {
          assert.deepEqual(Array.from(l.ranks), Array.from(l.numericalRanks), `c=${c} layer ${l.layerIndex}`);
          assert.deepEqual(Array.from(l.numericalRanks), Array.from(r0.layers[i].numericalRanks));
          assert.ok(l.meanRank >= r0.layers[i].meanRank);
        }
      });
      // singular values scale by exactly c
      const a = localRank(base, X, opts({keepSingularValues: true, points: 2})).layers[2].singularValues[1];
      const b = localRank(net, X, opts({keepSingularValues: true, points: 2})).layers[2].singularValues[1];
      assert.ok(Math.abs(b[0] - c * a[0]) <= 1e-10 * c * a[0]);
    }
  });

  it('analytic Jacobians match central finite differences (tanh, float64), pre and post', () => {
    const net = randomNet([7, 9, 6, 5, 4], 'tanh', 9, {scale: 1.5, bias: 0.5});
    const x = randomX(1, 7, 10).data;
    const pre = layerJacobians(net, x, false);
    const post = layerJacobians(net, x, true);
    const h = 1e-6;
    const act = (l, z) => z.map((v) => Math.tanh(v));
    for (let k = 0; k < 7; k++) {
      const xp = Float64Array.from(x);
      const xm = Float64Array.from(x);
      xp[k] += h;
      xm[k] -= h;
      const zp = forwardPre(net, xp);
      const zm = forwardPre(net, xm);
      net.layers.forEach((L, l) => {
        for (let p = 0; p < L.cols; p++) {
          const fd = (zp[l][p] - zm[l][p]) / (2 * h);
          assert.ok(Math.abs(pre[l][p * 7 + k] - fd) < 1e-7, `pre l${l} (${p},${k}): ${pre[l][p * 7 + k]} vs ${fd}`);
          const fdPost = (act(l, zp[l])[p] - act(l, zm[l])[p]) / (2 * h);
          assert.ok(Math.abs(post[l][p * 7 + k] - fdPost) < 1e-7, `post l${l}`);
        }
      });
    }
    // activation derivatives against finite differences, ReLU'(0) = 0
    const z = Float64Array.from([-2, -0.3, 0.4, 1.7]);
    const fns = {
      tanh: Math.tanh, sigmoid: (v) => 1 / (1 + Math.exp(-v)), softsign: (v) => v / (1 + Math.abs(v)),
      softplus: (v) => Math.log1p(Math.exp(v)), elu: (v) => (v > 0 ? v : Math.expm1(v)), linear: (v) => v, relu: (v) => Math.max(0, v),
    };
    for (const [name, f] of Object.entries(fns)) {
      const d = activationDerivative(name, z, new Float64Array(4));
      z.forEach((v, i) => assert.ok(Math.abs(d[i] - (f(v + 1e-6) - f(v - 1e-6)) / 2e-6) < 1e-6, name));
    }
    assert.equal(activationDerivative('relu', [0], new Float64Array(1))[0], 0);
  });

  it('post-activation (elementwise and softmax output): Gram path = explicit path', () => {
    for (const [act, last] of [['relu', 'softmax'], ['tanh', 'softmax'], ['sigmoid', 'linear']]) {
      const net = randomNet([20, 12, 10, 5], act, 21, {scale: 2, bias: 0.3, last});
      const X = randomX(6, 20, 22);
      const a = localRank(net, X, opts({post: true, method: 'gram', keepSingularValues: true}));
      const b = localRank(net, X, opts({post: true, method: 'explicit', keepSingularValues: true}));
      a.layers.forEach((l, i) => {
        assert.deepEqual(Array.from(l.ranks), Array.from(b.layers[i].ranks), `${act} layer ${i + 1}`);
        l.singularValues.forEach((s, m) => s.forEach((v, k) => assert.ok(Math.abs(v ** 2 - b.layers[i].singularValues[m][k] ** 2) <= 1e-12 * s[0] ** 2 + 1e-300, `${act} l${i + 1} m${m} s${k}`)));
      });
      if (last === 'softmax') assert.ok(a.layers[2].ranks.every((r) => r <= 4)); // softmax Jacobian has rank <= classes - 1
    }
  });

  it('relTol counts s > relTol * s_max; numerical rank follows the NumPy rule on the Gram', () => {
    const net = randomNet([25, 10, 10], 'tanh', 31, {scale: 1.2});
    const X = randomX(4, 25, 32);
    const r = localRank(net, X, opts({keepSingularValues: true, relTol: 0.3}));
    for (const l of r.layers) {
      l.singularValues.forEach((s, m) => {
        assert.equal(l.ranks[m], s.filter((v) => v > 0.3 * s[0]).length);
        assert.equal(l.sMax[m], s[0]);
      });
    }
  });

  it('eigenvalue and singular-value helpers on closed forms (random spectra: test/reference.test.js, eigen.json)', () => {
    assert.deepEqual(Array.from(symmetricEigenvalues(new Float64Array(16), 4)), [0, 0, 0, 0]);
    const D = Float64Array.from([3, 0, 0, 0, -1, 0, 0, 0, 2]);
    assert.deepEqual(Array.from(symmetricEigenvalues(D, 3)), [3, 2, -1]);
    assert.deepEqual(Array.from(singularValues(Float64Array.from([3, 0, 0, 0, 4, 0]), 2, 3)), [4, 3]);
  });
  it('geomLocalRank: defaults, seeded subset of points, one row per layer', () => {
    const p = geomLocalRank.params.parse({});
    assert.deepEqual(p, {tol: 0.01, points: 128, post: false});
    assert.throws(() => geomLocalRank.params.parse({tol: 0.01, bogus: 1}));
    const net = randomNet([20, 10, 6, 3], 'relu', 51, {bias: 0.1, last: 'softmax'});
    const X = randomX(300, 20, 52);
    const rows = geomLocalRank.compute(net, X, p, 7);
    assert.equal(rows.length, 3);
    assert.deepEqual(Array.from(rows[0].rows), Array.from(localRankRows(300, 128, 7)));
    assert.deepEqual(Array.from(localRankRows(300, 128, 7)), Array.from(localRankRows(300, 128, 7)));
    assert.notDeepEqual(Array.from(localRankRows(300, 128, 7)), Array.from(localRankRows(300, 128, 8)));
    assert.deepEqual(Array.from(localRankRows(50, 128, 7)), Array.from({length: 50}, (_, i) => i));
    for (const r of rows) {
      assert.equal(r.n, 128);
      assert.equal(r.ranks.length, 128);
      const q = Object.fromEntries(r.values.map((v) => [v.quantity, v.value]));
      assert.deepEqual(Object.keys(q), ['local_rank', 'local_rank_numerical', 'local_rank_std', 'local_rank_min', 'local_rank_max', 'local_rank_bound', 's_max_mean']);
      assert.equal(q.local_rank, r.ranks.reduce((a, b) => a + b, 0) / 128);
      assert.ok(q.local_rank_min <= q.local_rank && q.local_rank <= q.local_rank_max && q.local_rank_max <= q.local_rank_bound);
    }
    assert.equal(rows[0].values[0].value, 10);
  });

  it('4 x 200 ReLU MLP on 784-dim inputs: Gram path equals the explicit Jacobian path (8 points)', function () {
    this.timeout(60000);
    const net = randomNet([784, 200, 200, 200, 200], 'relu', 61, {scale: Math.SQRT2, bias: 0.01});
    const X = randomX(8, 784, 62);
    const a = localRank(net, X, opts({method: 'gram'}));
    const b = localRank(net, X, opts({method: 'explicit'}));
    assert.equal(a.method, 'gram');
    a.layers.forEach((l, i) => {
      assert.deepEqual(Array.from(l.ranks), Array.from(b.layers[i].ranks), `layer ${i + 1}`);
      assert.deepEqual(Array.from(l.numericalRanks), Array.from(b.layers[i].numericalRanks));
    });
    assert.ok(allEqual(a.layers[0].ranks, 200));
    assert.ok(a.layers[1].meanRank < 200 && a.layers[1].meanRank > 50); // bounded by the active units of layer 1
  });
});

describe('weights.features (spec 8.1)', () => {
  it('identity matrix: l1 = n, l2 = sqrt(n), trace n, spectral 1, code sparsity sqrt(n), computational sparsity n, sv mean 1 var 0', () => {
    const n = 6;
    const I = new Float64Array(n * n);
    for (let i = 0; i < n; i++) I[i * n + i] = 1;
    const f = matrixFeatures(I, n, n);
    const want = {l1: n, l2: Math.sqrt(n), trace: n, spectral: 1, code_sparsity: Math.sqrt(n), computational_sparsity: n, mean_singular_value: 1, var_singular_value: 0};
    for (const [k, v] of Object.entries(want)) assert.ok(Math.abs(f[k] - v) < 1e-12, `${k}: ${f[k]} vs ${v}`);
    // network of identity layers: the averages are the same
    const net = {layers: [0, 1].map(() => ({W: I, rows: n, cols: n, b: new Float32Array(n), activation: 'relu'}))};
    const g = weightFeatures(net);
    for (const [k, v] of Object.entries(want)) assert.ok(Math.abs(g[k] - v) < 1e-12, k);
  });

  it('rectangular matrix, weight/bias statistics (unbiased variance, lower median), tiny singular values zeroed', () => {
    const f = matrixFeatures(Float64Array.from([3, 0, 0, 0, -4, 0]), 2, 3);
    assert.ok(Math.abs(f.spectral - 4) < 1e-12);
    assert.equal(f.trace, -1);
    assert.equal(f.l1, 7);
    assert.ok(Math.abs(f.l2 - 5) < 1e-12);
    assert.ok(Math.abs(f.mean_singular_value - 3.5) < 1e-12);
    assert.ok(Math.abs(f.var_singular_value - 0.5) < 1e-12);
    assert.ok(Math.abs(f.computational_sparsity + 0.25) < 1e-12);
    const tiny = matrixFeatures(Float64Array.from([1, 0, 0, 1e-7]), 2, 2);
    assert.equal(tiny.mean_singular_value, 0.5);
    const net = {
      layers: [
        {W: Float32Array.from([1, 2, 3, 4]), rows: 2, cols: 2, b: Float32Array.from([0, 1]), activation: 'tanh'},
        {W: Float32Array.from([5, 6]), rows: 2, cols: 1, b: Float32Array.from([7]), activation: 'linear'},
      ],
    };
    const g = weightFeatures(net);
    assert.equal(g.mean_w, 3.5);
    assert.equal(g.median_w, 3); // lower median of 1..6 (torch.median)
    assert.equal(g.var_w, 3.5); // unbiased
    assert.equal(g.mean_b, 8 / 3);
    assert.equal(g.median_b, 1);
    assert.ok(Math.abs(g.var_b - (((0 - 8 / 3) ** 2 + (1 - 8 / 3) ** 2 + (7 - 8 / 3) ** 2) / 2)) < 1e-12);
    const rows = weightsMetric.compute(net);
    assert.equal(rows.filter((r) => r.layerIndex === -1).length, 14);
    assert.equal(rows.filter((r) => r.layerIndex === 2).length, 8);
    assert.deepEqual(weightsMetric.params.parse({}), {});
  });
});

describe('weight loaders', () => {
  const W0 = Float32Array.from({length: 12}, (_, i) => (i - 5.5) / 4);
  const b0 = Float32Array.from([0.5, -0.25, 0, 1]);
  const W1 = Float64Array.from({length: 8}, (_, i) => (i - 3) / 3);
  const b1 = Float64Array.from([0.1, -0.2]);
  const check = (net) => {
    assert.equal(net.layers.length, 2);
    assert.deepEqual([net.layers[0].rows, net.layers[0].cols, net.layers[1].rows, net.layers[1].cols], [3, 4, 4, 2]);
    assert.deepEqual(Array.from(net.layers[0].W), Array.from(W0));
    assert.deepEqual(Array.from(net.layers[0].b), Array.from(b0));
    assert.deepEqual(Array.from(net.layers[1].W), Array.from(W1));
    assert.deepEqual(Array.from(net.layers[1].b), Array.from(b1));
    assert.deepEqual(net.layers.map((l) => l.activation), ['relu', 'linear']);
  };

  it('npz round trip: zip (yazl) with stored and deflated entries, zip64 records forced or not', async () => {
    const entries = [['W0', W0, [3, 4]], ['b0', b0, [4]], ['W1', W1, [4, 2]], ['b1', b1, [2]]].map(([n, a, s]) => ({name: `${n}.npy`, data: encodeNpy(a, s)}));
    for (const opts of [{}, {deflate: true}, {zip64: true}, {deflate: true, zip64: true}]) {
      const zip = await writeZip(entries, opts);
      assert.deepEqual((await readZip(zip)).map((e) => e.name), ['W0.npy', 'b0.npy', 'W1.npy', 'b1.npy']);
      check(await denseNetFromNpzBytes(zip, 'relu'));
      const dir = mkdtempSync(join(tmpdir(), 'tdlab-npz-'));
      try {
        writeFileSync(join(dir, 'w.npz'), zip);
        check(await denseNetFromNpz(join(dir, 'w.npz'), 'relu'));
      } finally {
        rmSync(dir, {recursive: true, force: true});
      }
    }
    const bad = await writeZip(entries);
    const cd = new DataView(bad.buffer, bad.byteOffset).getUint32(bad.length - 22 + 16, true); // EOCD: offset of the central directory
    bad[cd] ^= 0xff; // corrupt the central directory's first signature
    await assert.rejects(() => readZip(bad, 'bad.npz'), {name: 'UserError'});
    await assert.rejects(() => readZip(new Uint8Array(100), 'x.npz'), /x\.npz: not a readable zip/);
    const data = await writeZip(entries);
    data[60] ^= 0xff; // a byte of W0's data: the CRC no longer matches
    await assert.rejects(() => readZip(data, 'crc.npz'), /crc\.npz: not a readable zip\/\.npz file \(W0\.npy: CRC mismatch/);
  });

  it('npz written by NumPy (np.savez with zip64 local headers, np.savez_compressed)', async () => {
    // python3 -c "import numpy as np, io, base64; W0=(np.arange(12,dtype=np.float32).reshape(3,4)-5.5)/4; ...
    //   np.savez(buf, W0=W0, b0=b0, W1=W1, b1=b1)"  (NumPy 2.4.6), base64 of the bytes
    const savez = 'UEsDBC0AAAAAAAAAIQDkDyys//////////8GABQAVzAubnB5AQAQALAAAAAAAAAAsAAAAAAAAACTTlVNUFkBAHYAeydkZXNjcic6ICc8ZjQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywgNCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgCgAAsL8AAJC/AABgvwAAIL8AAMC+AAAAvgAAAD4AAMA+AAAgPwAAYD8AAJA/AACwP1BLAwQtAAAAAAAAACEA7vyH+f//////////BgAUAGIwLm5weQEAEACQAAAAAAAAAJAAAAAAAAAAk05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDQsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAA/AACAvgAAAAAAAIA/UEsDBC0AAAAAAAAAIQBfQ/vM//////////8GABQAVzEubnB5AQAQAMAAAAAAAAAAwAAAAAAAAACTTlVNUFkBAHYAeydkZXNjcic6ICc8ZjgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoNCwgMiksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgCgAAAAAAAPC/VVVVVVVV5b9VVVVVVVXVvwAAAAAAAAAAVVVVVVVV1T9VVVVVVVXlPwAAAAAAAPA/VVVVVVVV9T9QSwMELQAAAAAAAAAhAIODZ0P//////////wYAFABiMS5ucHkBABAAkAAAAAAAAACQAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJzxmOCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgyLCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKmpmZmZmZuT+amZmZmZnJv1BLAQItAy0AAAAAAAAAIQDkDyyssAAAALAAAAAGAAAAAAAAAAAAAACAAQAAAABXMC5ucHlQSwECLQMtAAAAAAAAACEA7vyH+ZAAAACQAAAABgAAAAAAAAAAAAAAgAHoAAAAYjAubnB5UEsBAi0DLQAAAAAAAAAhAF9D+8zAAAAAwAAAAAYAAAAAAAAAAAAAAIABsAEAAFcxLm5weVBLAQItAy0AAAAAAAAAIQCDg2dDkAAAAJAAAAAGAAAAAAAAAAAAAACAAagCAABiMS5ucHlQSwUGAAAAAAQABADQAAAAcAMAAAAA';
    const compressed = 'UEsDBC0AAAAIAAAAIQDkDyys//////////8GABQAVzAubnB5AQAQALAAAAAAAAAAaQAAAAAAAACb7BfqGxDJyFDGUK2eklqcXKRupaBuk2airqOgnpZfVFKUmBefX5SSChJ3S8wpTgWKF2ckFqQC+RrGOgommjoKtQpkAy4Ghg37GRgmAHECECsA8YF9DAwMIGwHZAOxgj1QDognAPEGewBQSwMELQAAAAgAAAAhAO78h/n//////////wYAFABiMC5ucHkBABAAkAAAAAAAAABRAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loG6TZqKuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GiY6mjoKtQoUAC4GBgZ7BoaGfQxg0GAPAFBLAwQtAAAACAAAACEAX0P7zP//////////BgAUAFcxLm5weQEAEADAAAAAAAAAAGAAAAAAAAAAm+wX6hsQychQxlCtnpJanFykbqWgbpNmoa6joJ6WX1RSlJgXn1+UkgoSd0vMKU4FihdnJBakAvkaJjoKRpo6CrUKZAMuBjD4sD8UDJ5C6av7GaAAyreHyttD1UP5X+0BUEsDBC0AAAAIAAAAIQCDg2dD//////////8GABQAYjEubnB5AQAQAJAAAAAAAAAATgAAAAAAAACb7BfqGxDJyFDGUK2eklqcXKRupaBuk2ahrqOgnpZfVFKUmBefX5SSChJ3S8wpTgWKF2ckFqQC+RpGOpo6CrUKFACuWTNBYKc9hD65HwBQSwECLQMtAAAACAAAACEA5A8srGkAAACwAAAABgAAAAAAAAAAAAAAgAEAAAAAVzAubnB5UEsBAi0DLQAAAAgAAAAhAO78h/lRAAAAkAAAAAYAAAAAAAAAAAAAAIABoQAAAGIwLm5weVBLAQItAy0AAAAIAAAAIQBfQ/vMYAAAAMAAAAAGAAAAAAAAAAAAAACAASoBAABXMS5ucHlQSwECLQMtAAAACAAAACEAg4NnQ04AAACQAAAABgAAAAAAAAAAAAAAgAHCAQAAYjEubnB5UEsFBgAAAAAEAAQA0AAAAEgCAAAAAA==';
    for (const b64 of [savez, compressed]) check(await denseNetFromNpzBytes(new Uint8Array(Buffer.from(b64, 'base64')), 'relu'));
    await assert.rejects(() => denseNetFromNpzBytes(new Uint8Array(Buffer.from(savez, 'base64')), 'swish'), /unknown activation 'swish'/);
  });

  it('tdlab checkpoint (Arrow, one row per tensor) -> DenseNet, hidden activations + softmax output', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tdlab-ckpt-'));
    try {
      const path = join(dir, 'epoch_000003.arrow');
      const tensors = [['h1', 1, 'W', W0, [3, 4]], ['h1', 1, 'b', b0, [4]], ['out', 2, 'W', Float32Array.from(W1), [4, 2]], ['out', 2, 'b', Float32Array.from(b1), [2]]];
      const offsets = new Int32Array(5);
      tensors.forEach((t, i) => (offsets[i + 1] = offsets[i] + t[3].length));
      const values = new Float32Array(offsets[4]);
      tensors.forEach((t, i) => values.set(t[3], offsets[i]));
      writeArrowFile(path, [
        {name: 'name', column: {kind: 'utf8', values: tensors.map((t) => `${t[0]}.${t[2]}`)}},
        {name: 'layer_index', column: {kind: 'int32', values: Int32Array.from(tensors, (t) => t[1])}},
        {name: 'role', column: {kind: 'utf8', values: tensors.map((t) => (t[2] === 'W' ? 'weight' : 'bias'))}},
        {name: 'shape', column: {kind: 'utf8', values: tensors.map((t) => JSON.stringify(t[4]))}},
        {name: 'values', column: {kind: 'list', values, offsets}},
      ], 4, {epoch: '3', layout: 'W is fan_in x fan_out (input-by-output), row-major'});
      const net = denseNetFromCheckpoint(path, ['tanh']);
      assert.deepEqual(net.layers.map((l) => l.activation), ['tanh', 'softmax']);
      assert.deepEqual(Array.from(net.layers[0].W), Array.from(W0));
      assert.deepEqual(Array.from(net.layers[1].W), Array.from(Float32Array.from(W1)));
      assert.deepEqual(Array.from(net.layers[1].b), Array.from(Float32Array.from(b1)));
      assert.deepEqual(denseNetFromCheckpoint(path, ['relu', 'linear']).layers.map((l) => l.activation), ['relu', 'linear']);
      assert.throws(() => denseNetFromCheckpoint(path, ['relu', 'relu', 'relu']), /3 activations given for 2 layers/);
      // the loaded net runs through both metrics
      const lr = localRank(net, {data: Float64Array.from([1, 2, 3, -1, 0, 1]), rows: 2, cols: 3}, opts({post: true}));
      assert.equal(lr.layers.length, 2);
      assert.ok(lr.layers[1].ranks.every((r) => r <= 1)); // softmax over 2 classes: rank <= 1
      assert.equal(Object.keys(weightFeatures(net)).length, 14);
    } finally {
      rmSync(dir, {recursive: true, force: true});
    }
  });
});
