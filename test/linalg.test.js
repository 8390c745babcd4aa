// eigh/eigvalsh properties (reconstruction, orthogonality, closed-form spectra) and the dense helpers on
// known samples; random matrices against numpy.linalg are in test/reference.test.js (eigen.json).
import assert from 'node:assert/strict';
import {Rng} from '../dist/util/prng.js';
import {covariance, lstsqMinNorm, pcaProject, whiten} from '../dist/linalg/dense.js';
import {eigh as symmetricEigen} from '../dist/linalg/eigen.js';

function randomSymmetric(n, seed) {
  const rng = new Rng(seed, 'test-sym');
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      const v = rng.normal();
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
  return a;
}

/** max |A - V diag(w) V^T| and max |V^T V - I|. */
function errors(a, n, {values, vectors}) {
  let rec = 0;
  let orth = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      let o = 0;
      for (let c = 0; c < n; c++) {
        s += vectors[i * n + c] * values[c] * vectors[j * n + c];
        o += vectors[c * n + i] * vectors[c * n + j];
      }
      rec = Math.max(rec, Math.abs(s - a[i * n + j]));
      orth = Math.max(orth, Math.abs(o - (i === j ? 1 : 0)));
    }
  return {rec, orth};
}

describe('linalg: symmetricEigen', () => {
  it('reconstructs random symmetric matrices to 1e-10 with orthonormal vectors, values descending', () => {
    for (const [n, seed] of [
      [1, 1],
      [2, 2],
      [3, 3],
      [5, 4],
      [10, 5],
      [33, 6],
      [120, 7],
    ]) {
      const a = randomSymmetric(n, seed);
      const e = symmetricEigen(a, n);
      const {rec, orth} = errors(a, n, e);
      assert.ok(rec < 1e-10, `n=${n}: reconstruction ${rec}`);
      assert.ok(orth < 1e-12, `n=${n}: orthogonality ${orth}`);
      for (let c = 1; c < n; c++) assert.ok(e.values[c] <= e.values[c - 1]);
      let tr = 0;
      for (let i = 0; i < n; i++) tr += a[i * n + i];
      assert.ok(Math.abs(e.values.reduce((p, c) => p + c, 0) - tr) < 1e-10);
    }
  });

  it('known spectra: 2x2, diagonal, identity (repeated), zero, tridiagonal Toeplitz', () => {
    let e = symmetricEigen(Float64Array.of(2, 1, 1, 2), 2);
    assert.ok(Math.abs(e.values[0] - 3) < 1e-14 && Math.abs(e.values[1] - 1) < 1e-14);
    assert.ok(Math.abs(Math.abs(e.vectors[0]) - Math.SQRT1_2) < 1e-14);
    e = symmetricEigen(Float64Array.of(1, 0, 0, 0, -4, 0, 0, 0, 2.5), 3);
    assert.deepEqual(Array.from(e.values), [2.5, 1, -4]);
    const id = new Float64Array(16);
    for (let i = 0; i < 4; i++) id[i * 4 + i] = 1;
    e = symmetricEigen(id, 4);
    assert.deepEqual(Array.from(e.values), [1, 1, 1, 1]);
    assert.ok(errors(id, 4, e).orth < 1e-15);
    e = symmetricEigen(new Float64Array(9), 3);
    assert.deepEqual(Array.from(e.values), [0, 0, 0]);
    const n = 12;
    const t = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      t[i * n + i] = 2;
      if (i + 1 < n) t[i * n + i + 1] = t[(i + 1) * n + i] = -1;
    }
    e = symmetricEigen(t, n);
    const expect = Array.from({length: n}, (_, j) => 2 - 2 * Math.cos(((j + 1) * Math.PI) / (n + 1))).sort((a, b) => b - a);
    for (let j = 0; j < n; j++) assert.ok(Math.abs(e.values[j] - expect[j]) < 1e-13, `${e.values[j]} vs ${expect[j]}`);
  });

  it('handles widely scaled and rank-deficient matrices', () => {
    // A = u u^T * 1e6 + v v^T * 1e-6 (rank 2 in 6 dims)
    const n = 6;
    const u = [1, 2, 3, 4, 5, 6].map((v) => v / Math.sqrt(91));
    const v = [1, -1, 1, -1, 1, -1].map((x) => x / Math.sqrt(6));
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = 1e6 * u[i] * u[j] + 1e-6 * v[i] * v[j];
    const e = symmetricEigen(a, n);
    // backward stable: eigenvalue errors ~ n eps ||A|| (LAPACK's eigh gives 9.835e-7 for the
    // 1e-6 eigenvalue of this float matrix too; ours 9.834e-7)
    assert.ok(Math.abs(e.values[0] - 1e6) < 1e-12 * 1e6);
    assert.ok(Math.abs(e.values[1] - 1e-6) < 1e-7);
    for (let c = 2; c < n; c++) assert.ok(Math.abs(e.values[c]) < 1e-9);
    assert.ok(errors(a, n, e).rec < 1e-9);
    assert.throws(() => symmetricEigen(Float64Array.of(1, NaN, NaN, 1), 2));
  });
});

describe('linalg: covariance, PCA, whitening, least squares', () => {
  it('covariance / PCA / whitening on a known 2-D sample', () => {
    const data = Float64Array.of(1, 2, 3, 6, 5, 10, 7, 14); // second column = 2 * first
    const {mean, cov} = covariance(data, 4, 2);
    assert.deepEqual(Array.from(mean), [4, 8]);
    assert.deepEqual(Array.from(cov), [20 / 3, 40 / 3, 40 / 3, 80 / 3]);
    const {scores, values} = pcaProject(data, 4, 2, 1);
    assert.ok(Math.abs(values[0] - 100 / 3) < 1e-12);
    const s5 = Math.sqrt(5);
    [-3 * s5, -s5, s5, 3 * s5].forEach((v, i) => assert.ok(Math.abs(scores[i] - v) < 1e-12, `${scores[i]} vs ${v}`));
    const rng = new Rng(1, 'test-white');
    const n = 3000;
    const x = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) {
      const a = rng.normal();
      const b = rng.normal();
      x.set([a, a + 0.1 * b, 5 * rng.normal()], 3 * i);
    }
    const w = whiten(x, n, 3);
    const c = covariance(w.white, n, 3).cov;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) assert.ok(Math.abs(c[i * 3 + j] - (i === j ? 1 : 0)) < 1e-5); // ridge 1e-9 * mean eigenvalue
    const c0 = covariance(x, n, 3).cov;
    const det = c0[0] * (c0[4] * c0[8] - c0[5] * c0[7]) - c0[1] * (c0[3] * c0[8] - c0[5] * c0[6]) + c0[2] * (c0[3] * c0[7] - c0[4] * c0[6]);
    assert.ok(Math.abs(w.logDet - Math.log(det)) < 1e-5);
  });

  it('lstsqMinNorm: exact, overdetermined and minimum-norm cases', () => {
    // 2x2 exact
    let w = lstsqMinNorm(Float64Array.of(2, 1, 1, 3), 2, 2, Float64Array.of(3, 5));
    assert.ok(Math.abs(w[0] - 0.8) < 1e-12 && Math.abs(w[1] - 1.4) < 1e-12);
    // underdetermined: x + y = 2 -> min norm (1, 1)
    w = lstsqMinNorm(Float64Array.of(1, 1), 1, 2, Float64Array.of(2));
    assert.ok(Math.abs(w[0] - 1) < 1e-12 && Math.abs(w[1] - 1) < 1e-12);
    // overdetermined line fit through (0,1), (1,3), (2,5.5): y = a + b x
    w = lstsqMinNorm(Float64Array.of(1, 0, 1, 1, 1, 2), 3, 2, Float64Array.of(1, 3, 5.5));
    assert.ok(Math.abs(w[0] - 11 / 12) < 1e-12 && Math.abs(w[1] - 2.25) < 1e-12, `${w}`);
  });
});
