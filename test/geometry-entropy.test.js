import assert from 'node:assert/strict';
import {eigh as symmetricEigen, eigvalsh} from '../dist/linalg/eigen.js';
import {gramEigenvalues, gramUpper} from '../dist/linalg/gram.js';
const symmetricEigenvalues = (A, n) => eigvalsh(A, n, {uplo: 'U'});
import {geomDse, geomDsmi} from '../dist/metrics/geometry/dse.js';
import {entRenyi, entMatrix, entVne, entMbe2} from '../dist/metrics/geometry/matrix-entropy.js';
import {geomErank, geomRankme, geomAlphaReq, geomPr} from '../dist/metrics/geometry/spectrum.js';
import {Rng} from '../dist/util/prng.js';

// Geometry and representation-entropy metrics (spec 6 and 7): the exact sanity checks D1-D4 and
// the 7.x sanity lines, plus one random case per metric against a naive reference written here
// from the formulas (full matrices, linalg.ts's symmetricEigen with eigenvectors - a different
// solver from eigen.ts - and no shortcuts), to 1e-6 relative.

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

// ---------- naive references ----------
const eigNaive = (M, n) => Array.from(symmetricEigen(M, n).values);
function sqDist(T) {
  const {rows: n, cols: d, data} = T;
  const D = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (data[i * d + k] - data[j * d + k]) ** 2;
      D[i * n + j] = s;
    }
  return D;
}
function medianDist(T) {
  const n = T.rows;
  const D = sqDist(T);
  const v = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) v.push(Math.sqrt(D[i * n + j]));
  v.sort((a, b) => a - b);
  const m = v.length;
  return m % 2 ? v[(m - 1) / 2] : (v[m / 2 - 1] + v[m / 2]) / 2;
}
function dseNaive(T, sigma, t = 1) {
  const n = T.rows;
  const D = sqDist(T);
  const G = D.map((x) => (1 / (sigma * Math.sqrt(2 * Math.PI))) * Math.exp(-x / (2 * sigma * sigma)));
  const deg = Array.from({length: n}, (_, i) => G.subarray(i * n, i * n + n).reduce((a, b) => a + b, 0));
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) K[i * n + j] = G[i * n + j] / Math.sqrt(deg[i] * deg[j]);
  const ev = eigNaive(K, n).map((l) => Math.abs(l) ** t);
  const s = ev.reduce((a, b) => a + b, 0);
  const eps = 2.220446049250313e-16;
  return -ev.reduce((h, l) => h + (l / s + eps) * Math.log2(l / s + eps), 0);
}
const renyiOf = (ev, alpha) => {
  const l = ev.map((x) => Math.max(0, x));
  if (alpha === 1) return -l.reduce((h, x) => (x > 0 ? h + x * Math.log2(x) : h), 0);
  return Math.log2(l.reduce((s, x) => s + x ** alpha, 0)) / (1 - alpha);
};
function renyiNaive(T, y, alpha, sigma) {
  const n = T.rows;
  const D = sqDist(T);
  const A = D.map((x) => Math.exp(-x / (2 * sigma * sigma)) / n);
  const B = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) B[i * n + j] = y[i] === y[j] ? 1 / n : 0;
  const AB = A.map((a, i) => a * B[i]);
  let tr = 0;
  for (let i = 0; i < n; i++) tr += AB[i * n + i];
  const J = AB.map((x) => x / tr);
  const SA = renyiOf(eigNaive(A, n), alpha);
  const SB = renyiOf(eigNaive(B, n), alpha);
  const SJ = renyiOf(eigNaive(J, n), alpha);
  return {H: SA, I: SA + SB - SJ};
}
/** Eigenvalues of Z^T Z (d x d) of a plain array-of-rows matrix. */
function ztz(rows, d) {
  const C = new Float64Array(d * d);
  for (const r of rows) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) C[a * d + b] += r[a] * r[b];
  return eigNaive(C, d).map((x) => Math.max(0, x));
}
const rowsOf = (T) => Array.from({length: T.rows}, (_, i) => Array.from(T.data.subarray(i * T.cols, (i + 1) * T.cols)));
const centred = (rows) => {
  const d = rows[0].length;
  const mean = Array(d).fill(0);
  for (const r of rows) r.forEach((x, j) => (mean[j] += x / rows.length));
  return rows.map((r) => r.map((x, j) => x - mean[j]));
};
const normalised = (rows) =>
  rows.map((r) => {
    const s = Math.sqrt(r.reduce((a, x) => a + x * x, 0));
    return s > 0 ? r.map((x) => x / s) : r;
  });
const shannonNats = (ev) => {
  const s = ev.reduce((a, b) => a + b, 0);
  return -ev.reduce((h, l) => (l > 0 ? h + (l / s) * Math.log(l / s) : h), 0);
};
/** Z with 2d rows +-s_k e_k: centred covariance eigenvalues proportional to s_k^2 exactly. */
const spectrumMatrix = (lams) => {
  const d = lams.length;
  return mat(2 * d, d, (i, j) => (j === i % d ? (i < d ? 1 : -1) * Math.sqrt(lams[j]) : 0));
};

describe('eigen.ts: eigenvalue-only symmetric solver', () => {
  it('agrees with linalg symmetricEigen on random, diagonal and tiny matrices', () => {
    for (const n of [1, 2, 3, 4, 5, 7, 61, 200]) {
      const r = new Rng(n, 'eig');
      const A = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) A[i * n + j] = A[j * n + i] = r.normal();
      const a = symmetricEigenvalues(A, n);
      const b = symmetricEigen(A, n).values;
      for (let i = 0; i < n; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-12 * n, `n=${n} i=${i}: ${a[i]} vs ${b[i]}`);
    }
    // already diagonal / block structure (zero Householder vectors along the way)
    const n = 6;
    const A = new Float64Array(n * n);
    [3, -1, 2, 0, 5, 1].forEach((v, i) => (A[i * n + i] = v));
    A[4 * n + 5] = A[5 * n + 4] = 0.5;
    const b = symmetricEigen(A, n).values;
    symmetricEigenvalues(A, n).forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-14));
  });
  it('gramUpper and gramEigenvalues (both branches) match direct sums', () => {
    const T = randMat(3, 9, 300);
    const X = Float64Array.from(T.data);
    const G = gramUpper(X, 9, 300);
    for (let i = 0; i < 9; i++)
      for (let j = i; j < 9; j++) {
        let s = 0;
        for (let k = 0; k < 300; k++) s += X[i * 300 + k] * X[j * 300 + k];
        assert.ok(Math.abs(s - G[i * 9 + j]) < 1e-11);
      }
    for (const [n, d] of [[30, 7], [7, 30]]) {
      const Z = randMat(n + d, n, d);
      const ev = gramEigenvalues(Float64Array.from(Z.data), n, d);
      const ref = ztz(rowsOf(Z), d).slice(0, Math.min(n, d));
      ref.forEach((v, i) => assert.ok(Math.abs(v - ev[i]) < 1e-10 * ref[0], `${n}x${d} ${i}`));
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
  it('matches a naive reference on random data (sigma 10, sigma median, t = 2)', () => {
    const T = randMat(11, 60, 6, 5);
    close(value(run(geomDse, T), 'H'), dseNaive(T, 10), 1e-6, 'sigma 10');
    close(value(run(geomDse, T, {sigma: 'median', t: 2}), 'H'), dseNaive(T, medianDist(T), 2), 1e-6, 'median t=2');
    const odd = randMat(12, 31, 3); // odd number of pairs: 465
    close(value(run(geomDse, odd, {sigma: 'median'}), 'H'), dseNaive(odd, medianDist(odd)), 1e-6, 'median odd');
  });
  it('DSMI matches the formula with the same seeded subsets', () => {
    const T = randMat(13, 40, 3);
    const y = Int32Array.from({length: 40}, (_, i) => (i * 7) % 3);
    const sigma = medianDist(T);
    const n = 40;
    let ref = 0;
    for (let c = 0; c < 3; c++) {
      const rows = [...y.keys()].filter((i) => y[i] === c);
      const sub = (idx) => mat(idx.length, 3, (i, j) => T.data[idx[i] * 3 + j]);
      const rng = new Rng(5, 'dsmi');
      let hr = 0;
      for (let r = 0; r < 5; r++) {
        const perm = Array.from({length: n}, (_, i) => i);
        for (let i = 0; i < rows.length; i++) {
          const j = i + rng.int(n - i);
          [perm[i], perm[j]] = [perm[j], perm[i]];
        }
        hr += dseNaive(sub(perm.slice(0, rows.length)), sigma);
      }
      ref += (rows.length / n) * (hr / 5 - dseNaive(sub(rows), sigma));
    }
    close(value(run(geomDsmi, T, {sigma: 'median'}, {y, seed: 5}), 'I_TY'), ref, 1e-6, 'dsmi');
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
  it('matches a naive reference (full A, B, Hadamard product) on random data', () => {
    const T = randMat(21, 48, 5);
    const y = Int32Array.from({length: 48}, (_, i) => (i * 5) % 3);
    for (const alpha of [1.01, 2]) {
      const ref = renyiNaive(T, y, alpha, medianDist(T));
      const v = run(entRenyi, T, {alpha}, {y});
      close(value(v, 'H'), ref.H, 1e-6, `H alpha=${alpha}`);
      close(value(v, 'I_TY'), ref.I, 1e-6, `I alpha=${alpha}`);
    }
    const ref = renyiNaive(T, y, 1.01, 2.5);
    close(value(run(entRenyi, T, {sigma: 2.5, unit: 'nats'}, {y}), 'H'), ref.H * Math.LN2, 1e-6, 'nats');
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
  it('match naive references on random data (N > d and N < d)', () => {
    for (const [n, d] of [[40, 7], [6, 15]]) {
      const T = randMat(n * 100 + d, n, d, 2);
      // ent.matrix: centre, normalise, Z^T Z / N, normalised entropy
      const ev = ztz(normalised(centred(rowsOf(T))), d);
      close(value(run(entMatrix, T), 'H'), shannonNats(ev) / Math.log(d), 1e-6, `matrix ${n}x${d}`);
      const ev2 = ztz(normalised(rowsOf(T)), d);
      close(value(run(entMatrix, T, {center: false}), 'H'), shannonNats(ev2) / Math.log(d), 1e-6, `matrix nc ${n}x${d}`);
      // VNE: C = Z^T Z / N of normalised rows (trace 1)
      const vne = -ev2.reduce((h, l) => (l > 0 ? h + (l / n) * Math.log(l / n) : h), 0);
      close(value(run(entVne, T), 'H'), vne, 1e-6, `vne ${n}x${d}`);
      close(value(run(entVne, T, {unit: 'bits'}), 'H'), vne / Math.LN2, 1e-6, `vne bits ${n}x${d}`);
    }
    // MBE via the "reverse Gram" Z^T Z of each patch: -ln sum (lambda / tr)^2
    const T = randMat(77, 27, 5);
    const rows = rowsOf(T);
    let acc = 0;
    for (let q = 0; q < 3; q++) {
      const ev = ztz(rows.slice(8 * q, 8 * q + 8), 5);
      const tr = ev.reduce((a, b) => a + b, 0);
      acc += -Math.log(ev.reduce((a, l) => a + (l / tr) ** 2, 0));
    }
    close(value(run(entMbe2, T), 'H'), acc / 3, 1e-6, 'mbe');
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
  it('match naive references on random data', () => {
    const T = mat(50, 8, (() => {
      const r = new Rng(91, 'decay');
      return (i, j) => r.normal() * 0.7 ** j + 0.3;
    })());
    const sv = ztz(rowsOf(T), 8).map(Math.sqrt);
    const erankRef = (s, eps) => {
      const sum = s.reduce((a, b) => a + b, 0);
      return Math.exp(-s.reduce((h, x) => h + (x / sum + eps) * Math.log(x / sum + eps), 0));
    };
    close(value(run(geomErank, T), 'value'), erankRef(sv, 0), 1e-6, 'erank');
    close(value(run(geomRankme, T), 'value'), erankRef(sv, 1e-7), 1e-6, 'rankme');
    const svc = ztz(centred(rowsOf(T)), 8).map(Math.sqrt);
    close(value(run(geomErank, T, {center: true}), 'value'), erankRef(svc, 0), 1e-6, 'erank centred');
    // covariance spectrum (ddof 1), OLS fit over k = 1..min(N - 1, d)
    const lam = ztz(centred(rowsOf(T)), 8).map((x) => x / 49);
    const xs = lam.map((_, k) => Math.log(k + 1));
    const ys = lam.map(Math.log);
    const mx = xs.reduce((a, b) => a + b) / 8;
    const my = ys.reduce((a, b) => a + b) / 8;
    const slope = xs.reduce((a, x, k) => a + (x - mx) * (ys[k] - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    close(value(run(geomAlphaReq, T), 'value'), -slope, 1e-6, 'alphareq');
    const s1 = lam.reduce((a, b) => a + b);
    const s2 = lam.reduce((a, b) => a + b * b, 0);
    close(value(run(geomPr, T), 'value'), (s1 * s1) / s2, 1e-6, 'pr');
    // N < d: Gram branch
    const W = randMat(5, 6, 20);
    const svw = ztz(rowsOf(W), 20).map(Math.sqrt).slice(0, 6);
    close(value(run(geomErank, W), 'value'), erankRef(svw, 0), 1e-6, 'erank N<d');
  });
});
