import assert from 'node:assert/strict';
import {gramUpper} from '../dist/linalg/gram.js';
import {geomDse, geomDsmi} from '../dist/metrics/geometry/dse.js';
import {entRenyi, entMatrix, entVne, entMbe2} from '../dist/metrics/geometry/matrix-entropy.js';
import {geomErank, geomRankme, geomAlphaReq, geomPr} from '../dist/metrics/geometry/spectrum.js';
import {Rng} from '../dist/util/prng.js';

// Geometry and representation-entropy metrics (spec 6 and 7): the exact sanity checks D1-D4 and
// the 7.x sanity lines (closed forms). Random inputs are compared with independent NumPy/SciPy
// references in test/reference.test.js (fixtures dse.json, matrix-entropy.json, spectrum.json,
// eigen.json from scripts/reference/fixtures.py).

const rel = (a, b) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-300);
const close = (a, b, tol, msg) => assert.ok(rel(a, b) <= tol || Math.abs(a - b) <= tol, `${msg}: ${a} vs ${b}`);
const run = (est, T, p = {}, extra = {}) => est.compute({T, y: extra.y ?? new Int32Array(T.rows), seed: extra.seed}, est.params.parse(p));
const value = (vals, q) => vals.find((v) => v.quantity === q).value;
const mat = (rows, cols, f) => {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = f(i, j);
  return {data, rows, cols};
};
/** Seeded standard normals. */
const randMat = (seed, rows, cols, scale = 1) => {
  const r = new Rng(seed, 'test');
  return mat(rows, cols, () => r.normal() * scale);
};
/** k tight clusters of m rows each in d dims, centres far apart (spacing `sep`), spread `spread`. */
function clusters(k, m, d, sep, spread, seed = 1) {
  const r = new Rng(seed, 'clusters');
  const y = new Int32Array(k * m);
  const T = mat(k * m, d, (i, j) => {
    const c = Math.floor(i / m);
    y[i] = c;
    return (j === c % d ? sep * (1 + Math.floor(c / d)) : 0) + spread * r.normal();
  });
  return {T, y};
}

const rowsOf = (T) => Array.from({length: T.rows}, (_, i) => Array.from(T.data.subarray(i * T.cols, (i + 1) * T.cols)));
/** Z with 2d rows +-s_k e_k: centred covariance eigenvalues proportional to s_k^2 exactly. */
const spectrumMatrix = (lams) => {
  const d = lams.length;
  return mat(2 * d, d, (i, j) => (j === i % d ? (i < d ? 1 : -1) * Math.sqrt(lams[j]) : 0));
};

describe('linalg/gram.ts', () => {
  it('gramUpper matches direct sums', () => {
    const T = randMat(3, 9, 300);
    const X = Float64Array.from(T.data);
    const G = gramUpper(X, 9, 300);
    for (let i = 0; i < 9; i++)
      for (let j = i; j < 9; j++) {
        let s = 0;
        for (let k = 0; k < 300; k++) s += X[i * 300 + k] * X[j * 300 + k];
        assert.ok(Math.abs(s - G[i * 9 + j]) < 1e-11);
      }
  });
});

describe('geom.dse / geom.dsmi (spec 6)', () => {
  it('D1: a single tight cluster has DSE 0', () => {
    const T = mat(50, 5, (i, j) => j * 0.3);
    assert.ok(Math.abs(value(run(geomDse, T), 'H')) < 1e-9);
  });
  it('D2: k well-separated tight clusters give log2 k (k = 2, 4, 8)', () => {
    for (const k of [2, 4, 8]) {
      const {T} = clusters(k, 15, 4, 1000, 1e-3);
      close(value(run(geomDse, T), 'H'), Math.log2(k), 1e-6, `k=${k}`);
    }
  });
  it('D3: N points far apart give K = I and DSE = log2 N (N = 200 -> 7.6439)', () => {
    const T = mat(200, 3, (i, j) => (j === 0 ? 100 * i : 0));
    const v = run(geomDse, T);
    close(value(v, 'H'), Math.log2(200), 1e-9, 'D3');
    assert.equal(v[0].ceiling, Math.log2(200));
    close(value(run(geomDse, T, {unit: 'nats'}), 'H'), Math.log(200), 1e-9, 'D3 nats');
  });
  it('D4: DSMI of one tight cluster per balanced class is log2 C', () => {
    const {T, y} = clusters(4, 25, 4, 1000, 1e-3);
    close(value(run(geomDsmi, T, {}, {y, seed: 3}), 'I_TY'), 2, 1e-6, 'D4');
  });
  it('rejects bad parameters and gives NaN on non-finite input', () => {
    assert.throws(() => geomDse.params.parse({sigma: 'mean'}));
    assert.throws(() => geomDse.params.parse({bogus: 1}));
    const T = mat(5, 2, (i) => (i === 2 ? NaN : i));
    assert.ok(Number.isNaN(value(run(geomDse, T), 'H')));
  });
});

describe('ent.renyi (spec 7.1)', () => {
  it('k equal well-separated clusters give log2 k bits for every alpha, and I_TY = log2 k', () => {
    for (const k of [1, 2, 4]) {
      const {T, y} = clusters(k, 12, 4, 1000, 0); // identical rows per cluster: alpha < 1 amplifies tiny eigenvalues
      for (const alpha of [0.5, 1, 1.01, 2]) {
        const v = run(entRenyi, T, {alpha, sigma: 1}, {y});
        close(value(v, 'H'), Math.log2(k), 1e-6, `k=${k} alpha=${alpha}`);
        close(value(v, 'I_TY'), Math.log2(k), 1e-6, `I k=${k} alpha=${alpha}`);
      }
    }
  });
  it('A = I/N gives log2 N', () => {
    const T = mat(64, 2, (i, j) => (j === 1 ? 50 * i : 0));
    close(value(run(entRenyi, T, {sigma: 1}), 'H'), 6, 1e-9, 'I/N');
  });
});

describe('ent.matrix, ent.vne, ent.mbe2 (spec 7.2-7.4)', () => {
  it('matrix entropy: isotropic rows -> 1, identical rows -> 0', () => {
    const d = 6;
    const T = mat(2 * d, d, (i, j) => (j === i % d ? (i < d ? 3 : -3) : 0));
    close(value(run(entMatrix, T), 'H'), 1, 1e-12, 'isotropic');
    assert.equal(value(run(entMatrix, mat(10, 4, (i, j) => j + 1)), 'H'), 0);
  });
  it('VNE: N = d orthonormal rows -> ln d, identical rows -> 0', () => {
    // a random orthonormal basis (Gram-Schmidt), rows scaled differently (normalised away)
    const d = 7;
    const R = rowsOf(randMat(31, d, d));
    const Q = [];
    for (const r of R) {
      let v = r.slice();
      for (const q of Q) {
        const p = v.reduce((a, x, j) => a + x * q[j], 0);
        v = v.map((x, j) => x - p * q[j]);
      }
      const s = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
      Q.push(v.map((x) => x / s));
    }
    const T = mat(d, d, (i, j) => Q[i][j] * (i + 1));
    close(value(run(entVne, T), 'H'), Math.log(d), 1e-6, 'orthonormal'); // float32 rounding of Q
    assert.ok(Math.abs(value(run(entVne, mat(9, 4, (i, j) => j - 1.5)), 'H')) < 1e-12);
  });
  it('MBE: P orthogonal equal-norm rows -> ln P, identical rows -> 0', () => {
    const T = mat(16, 10, (i, j) => (j === i % 8 ? 3 : 0));
    close(value(run(entMbe2, T), 'H'), Math.log(8), 1e-12, 'orthogonal');
    close(value(run(entMbe2, T, {patch: 4}), 'H'), Math.log(4), 1e-12, 'patch 4');
    assert.equal(value(run(entMbe2, mat(16, 5, (i, j) => j)), 'H'), 0);
  });
});

describe('geom.erank, geom.rankme, geom.alphareq, geom.pr (spec 7.5-7.7)', () => {
  it('erank / RankMe: Z = [I_r 0] -> r, rank-1 -> 1', () => {
    for (const [n, d, r] of [[3, 5, 3], [10, 6, 4], [4, 4, 4]]) {
      const T = mat(n, d, (i, j) => (i === j && i < r ? 1 : 0));
      close(value(run(geomErank, T), 'value'), r, 1e-12, `erank ${n}x${d}`);
      // RankMe's epsilon: p = 1/r + 1e-7 on r values, 1e-7 on the other min(n, d) - r
      const m = Math.min(n, d);
      const p = 1 / r + 1e-7;
      const expect = Math.exp(-(r * p * Math.log(p) + (m - r) * 1e-7 * Math.log(1e-7)));
      close(value(run(geomRankme, T), 'value'), expect, 1e-12, `rankme ${n}x${d}`);
      close(value(run(geomRankme, T), 'value'), r, 1e-4, `rankme ~ r ${n}x${d}`);
    }
    const u = [1, -2, 0.5, 3, 1];
    const v = [0.3, 2, -1];
    const R1 = mat(5, 3, (i, j) => u[i] * v[j]);
    close(value(run(geomErank, R1), 'value'), 1, 1e-6, 'rank-1 erank');
    close(value(run(geomRankme, R1), 'value'), 1, 1e-5, 'rank-1 rankme');
  });
  it('alpha-ReQ recovers a on exact power-law spectra (a = 0.5, 1, 2)', () => {
    for (const a of [0.5, 1, 2]) {
      const lams = Array.from({length: 40}, (_, k) => (k + 1) ** -a);
      close(value(run(geomAlphaReq, spectrumMatrix(lams)), 'value'), a, 1e-6, `a=${a}`);
    }
  });
  it('PR known values', () => {
    close(value(run(geomPr, spectrumMatrix([1, 1, 1, 0, 0])), 'value'), 3, 1e-9, 'PR 3');
    close(value(run(geomPr, spectrumMatrix([4, 1])), 'value'), 25 / 17, 1e-9, 'PR 25/17');
    close(value(run(geomPr, spectrumMatrix([4, 0, 0, 0])), 'value'), 1, 1e-9, 'PR 1');
  });
});
