import assert from 'node:assert/strict';
import {twelveBit} from '../dist/data/twelve-bit.js';
import {miBin} from '../dist/metrics/mi/binning.js';
import {miEbab, miAdaptMax, ebabEdges, adaptiveLow, edgeCodes} from '../dist/metrics/mi/adaptive-binning.js';

// Adaptive binning (spec 3.3): EBAB (`mi.ebab`) and the running-max variant (`mi.adaptmax`).

const HY = 0.9991571208502705;
const ds = twelveBit.load({});
const params = (est, p = {}) => est.params.parse(p);
const value = (vals, q) => vals.find((v) => v.quantity === q).value;
const mat = (data, rows, cols) => ({data: Float32Array.from(data), rows, cols});

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
}

describe('adaptive binning (spec 3.3)', () => {
  it('EBAB edges: [low] + u[floor(k U / B)] for k = 0..B-1 + [u[U-1]], low removed from u, float32', () => {
    // relu: low = 0, the zeros are not unique values; u = 1..100 (U = 100), B = 4
    const vals = Float32Array.from([0, 0, 0, ...Array.from({length: 100}, (_, i) => 100 - i), 50, 50]);
    assert.equal(adaptiveLow(vals, 'relu'), 0);
    assert.deepEqual([...ebabEdges(vals, 0, 4)], [0, 1, 26, 51, 76, 100]);
    // tanh: low = float32(-1.000001); a saturated -1.0 stays a unique value (first edge after low)
    const t = Float32Array.from([-1, -0.5, 0, 0.5, 1, 1]);
    const low = adaptiveLow(t, 'tanh');
    assert.equal(low, Math.fround(-1.000001));
    assert.deepEqual([...ebabEdges(t, low, 2)], [low, -1, 0, 1]);
    for (const a of ['softsign', 'elu']) assert.equal(adaptiveLow(t, a), low);
    for (const a of ['softplus', 'sigmoid', 'softmax']) assert.equal(adaptiveLow(t, a), 0);
    // unknown / linear: just below this layer's minimum, in float32
    for (const a of ['linear', 'no-such-activation']) {
      const l = adaptiveLow(Float32Array.from([3, -2.5, 7]), a);
      assert.ok(l < -2.5 && l > -2.5001 && Math.fround(l) === l);
    }
    assert.ok(adaptiveLow(Float32Array.from([0, 1]), 'linear') < 0);
    // no activation known (tdlab measure): the reference's conventions, 0 or -1.000001 by the data's sign
    assert.equal(adaptiveLow(Float32Array.from([0, 1, 3]), undefined), 0);
    assert.equal(adaptiveLow(Float32Array.from([-0.5, 1]), undefined), Math.fround(-1.000001));
    // U < B: duplicate edges, harmless
    assert.deepEqual([...ebabEdges(Float32Array.from([2, 3]), 0, 4)], [0, 2, 2, 3, 3, 3]);
  });

  it('digitize rule of 3.1: k = #edges <= a, the maximum is a state of its own, below low wraps to it', () => {
    const edges = Float32Array.from([0, 1, 1, 2]);
    const codes = edgeCodes(mat([0, 0.5, 1, 1.5, 2, 5, -1], 7, 1), edges);
    assert.deepEqual([...codes], [1, 1, 3, 3, 4, 4, 4]);
  });

  it('EBAB: rows distinct after binning give 12 bits and H(Y) (T = X, relu and unknown activation)', () => {
    for (const activation of ['relu', undefined, 'tanh']) {
      const v = miEbab.compute({T: {data: ds.x, rows: 4096, cols: 12}, y: ds.labels, activation}, params(miEbab));
      assert.equal(value(v, 'I_XT'), 12);
      assert.ok(Math.abs(value(v, 'I_TY') - HY) < 1e-12);
      assert.equal(v[0].ceiling, 12);
    }
    const n = miEbab.compute({T: {data: ds.x, rows: 4096, cols: 12}, y: ds.labels}, params(miEbab, {unit: 'nats'}));
    assert.ok(Math.abs(value(n, 'I_XT') - 12 * Math.LN2) < 1e-12);
  });

  it('EBAB: MI(T) == MI(3T + 1) == MI(exp(T)) exactly (strictly increasing maps)', () => {
    // T on a 1/64 grid in [-2, 2]: 3T + 1 is exact in float32 and exp keeps the 257 values distinct
    // and ordered in float32 (asserted below), so the transformed layers have the same ranks.
    // The activation is linear (or unknown) so that `low` follows the data (a fixed tanh low =
    // -1.000001 would be above values of 3T + 1): the binning then depends only on ranks.
    const r = rng(42);
    const rows = 4096;
    const cols = 2;
    const T = Float32Array.from({length: rows * cols}, () => (Math.floor(r() * 257) - 128) / 64);
    const maps = [(t) => 3 * t + 1, (t) => Math.exp(t)];
    const grid = Array.from({length: 257}, (_, k) => (k - 128) / 64);
    for (const f of maps) {
      for (let k = 1; k < grid.length; k++) assert.ok(Math.fround(f(grid[k - 1])) < Math.fround(f(grid[k])));
    }
    const run = (data, activation, bins) =>
      miEbab.compute({T: {data, rows, cols}, y: ds.labels, activation}, params(miEbab, {bins}));
    for (const bins of [30, 8, 3, 300]) {
      for (const activation of ['no-such-activation', 'linear']) {
        const base = run(T, activation, bins);
        assert.ok(value(base, 'I_XT') > 1 && (bins > 257 || value(base, 'I_XT') < 11.5), String(value(base, 'I_XT')));
        for (const f of maps) assert.deepEqual(run(Float32Array.from(T, f), activation, bins), base);
      }
    }
  });

  it('EBAB: equal counts are over unique values (a ReLU layer with many zeros gets one bin for 0)', () => {
    // one unit: 3000 zeros and 1096 distinct positive values; B = 2 -> states {0}, lower half, upper half, max
    const vals = new Float32Array(4096);
    for (let i = 3000; i < 4096; i++) vals[i] = (i - 2999) / 1096;
    const v = miEbab.compute({T: mat(vals, 4096, 1), y: ds.labels, activation: 'relu'}, params(miEbab, {bins: 2}));
    const counts = [3000, 548, 547, 1]; // [0], u[0]..u[547], u[548]..u[1094], u[1095]
    const H = -counts.reduce((acc, c) => acc + (c / 4096) * Math.log2(c / 4096), 0);
    assert.ok(Math.abs(value(v, 'I_XT') - H) < 1e-12);
  });

  it('EBAB: constant and dead layers give 0', () => {
    const y = ds.labels.subarray(0, 100);
    for (const [fill, activation] of [[0, 'relu'], [0.25, 'tanh'], [3, undefined], [-3, 'linear']]) {
      const v = miEbab.compute({T: {data: new Float32Array(300).fill(fill), rows: 100, cols: 3}, y, activation}, params(miEbab));
      assert.equal(value(v, 'I_XT'), 0);
      assert.equal(value(v, 'I_TY'), 0);
    }
  });

  it('adaptmax: edges linspace(low, runningMax, B) - equal to mi.bin on [0, M] for a relu layer', () => {
    const r = rng(1);
    const T = mat(Array.from({length: 4096 * 3}, () => r() * 0.9), 4096, 3);
    for (const M of [0.9, 1, 2, 5]) {
      const a = miAdaptMax.compute({T, y: ds.labels, activation: 'relu', runningMax: M}, params(miAdaptMax));
      const b = miBin.compute({T, y: ds.labels}, params(miBin, {lo: 0, hi: M}));
      assert.deepEqual(a, b);
    }
  });

  it('adaptmax: without runningMax the epoch maximum is used; a larger running max coarsens the bins', () => {
    // one unit, 4096 distinct values i / 4095 in [0, 1] (max 1)
    const T = mat(Array.from({length: 4096}, (_, i) => i / 4095), 4096, 1);
    const at = (runningMax) =>
      value(miAdaptMax.compute({T, y: ds.labels, activation: 'relu', runningMax}, params(miAdaptMax)), 'I_XT');
    assert.equal(at(undefined), at(1));
    // M = 1: 29 equal intervals + the maximum's own state ~ log2 29; M = 2: about half as many states
    assert.ok(Math.abs(at(1) - Math.log2(29)) < 0.01, String(at(1)));
    assert.ok(Math.abs(at(2) - Math.log2(14.5)) < 0.05, String(at(2)));
    // a non-decreasing running max (monotone edges across epochs) gives non-increasing I(X;T) here
    const seq = [1, 1.5, 2, 4, 8, 29].map(at);
    for (let k = 1; k < seq.length; k++) assert.ok(seq[k] < seq[k - 1], seq.join(', '));
    // M = 29: every value < 1 falls in the first interval, 1.0 in the second: 2 states
    assert.ok(Math.abs(seq[5] - (-(4095 / 4096) * Math.log2(4095 / 4096) + (1 / 4096) * 12)) < 1e-12);
  });

  it('parameters: defaults and strictness', () => {
    assert.deepEqual(params(miEbab), {bins: 30, lo: 'auto', unit: 'bits'});
    assert.deepEqual(params(miAdaptMax), {bins: 30, lo: 'auto', unit: 'bits'});
    assert.deepEqual(params(miEbab, {lo: -0.5}), {bins: 30, lo: -0.5, unit: 'bits'});
    assert.throws(() => params(miEbab, {lo: 'low'}));
    assert.throws(() => params(miAdaptMax, {bins: 1}));
    assert.throws(() => params(miEbab, {unit: 'dits'}));
  });
});
