// The WebAssembly spectral kernels (src/native/spectral.c): closed forms, direct sums, and
// agreement with the TypeScript versions of the same algorithms (src/linalg with the kernels
// switched off) as an implementation-consistency check. Both paths are checked against NumPy in
// test/reference.test.js (eigen.json with the kernels on and off; the spectral estimator fixtures
// dse.json, matrix-entropy.json and spectrum.json also with the kernels off).
import assert from 'node:assert/strict';
import {eigvalsh} from '../dist/linalg/eigen.js';
import {gramEigenvalues, gramRowsEigenvalues, gramUpper} from '../dist/linalg/gram.js';
const symmetricEigenvalues = (A, n) => eigvalsh(A, n, {uplo: 'U'});
import {NativeArena, nativeAvailable, nativeCentredGram, nativeGemm, nativeGramUpper, nativeSymmetricTridiagonal, setNativeKernels} from '../dist/native/spectral.js';
import {ql as tql1} from '../dist/linalg/tridiagonal.js';
import {preparedSpectrum} from '../dist/metrics/geometry/spectrum.js';
import {Rng} from '../dist/util/prng.js';
import {withSetting} from './helpers.js';

function randomSymmetric(n, seed) {
  const r = new Rng(seed);
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) A[i * n + j] = A[j * n + i] = r.normal();
  return A;
}

const withTs = (f) => withSetting(setNativeKernels, false, f);

describe('WebAssembly spectral kernels', () => {
  it('are available on this Node (the TypeScript path is only a fallback)', () => {
    assert.equal(nativeAvailable(), true);
    assert.equal(withTs(() => nativeAvailable()), false);
  });

  it('symmetric eigenvalues: the kernel returns what the TypeScript reference returns (n = 1..131)', () => {
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 64, 131]) {
      const A = randomSymmetric(n, n);
      const a = symmetricEigenvalues(A, n);
      const b = withTs(() => symmetricEigenvalues(A, n));
      const scale = Math.max(...b.map(Math.abs));
      for (let i = 0; i < n; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-13 * n * scale, `n=${n} i=${i}: ${a[i]} vs ${b[i]}`);
    }
  });

  it('symmetric eigenvalues: closed form of the second-difference matrix, 2 - 2 cos(k pi / (n + 1))', () => {
    const n = 300;
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      A[i * n + i] = 2;
      if (i + 1 < n) A[i * n + i + 1] = A[(i + 1) * n + i] = -1;
    }
    const got = symmetricEigenvalues(A, n);
    const want = Array.from({length: n}, (_, k) => 2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1))).sort((x, y) => y - x);
    want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) < 1e-12, `${i}: ${got[i]} vs ${w}`));
    // the raw kernel reads the upper triangle only and leaves the input alone
    const lowerGarbage = A.slice();
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) lowerGarbage[i * n + j] = 1e6;
    const {d, e} = nativeSymmetricTridiagonal(lowerGarbage, n);
    tql1(d, e, n);
    const raw = d.sort().reverse();
    raw.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-12));
    assert.equal(lowerGarbage[n], 1e6);
  });

  it('Gram X X^T matches direct float64 sums for awkward sizes (rows not a multiple of 4, odd lengths)', () => {
    const r = new Rng(7);
    for (const [rows, len] of [[1, 1], [2, 3], [5, 257], [9, 300], [67, 513], [130, 64]]) {
      const X = Float64Array.from({length: rows * len}, () => r.normal());
      const G = nativeGramUpper(X, rows, len);
      const Gts = withTs(() => gramUpper(X, rows, len));
      for (let i = 0; i < rows; i++)
        for (let j = i; j < rows; j++) {
          let s = 0;
          for (let k = 0; k < len; k++) s += X[i * len + k] * X[j * len + k];
          assert.ok(Math.abs(s - G[i * rows + j]) < 1e-12 * len, `${rows}x${len} (${i},${j})`);
          assert.ok(Math.abs(s - Gts[i * rows + j]) < 1e-12 * len, `TypeScript ${rows}x${len} (${i},${j})`);
        }
    }
  });

  it('Gram: identical rows give bit-identical dot products (exact zero distances)', () => {
    const r = new Rng(3);
    const rows = 13;
    const len = 301;
    const X = new Float64Array(rows * len);
    const base = Float64Array.from({length: len}, () => r.normal());
    for (let i = 0; i < rows; i++) X.set(base, i * len);
    const G = nativeGramUpper(X, rows, len);
    for (let i = 0; i < rows; i++) for (let j = i; j < rows; j++) assert.equal(G[i * rows + j], G[0]);
  });

  it('gramEigenvalues / gramRowsEigenvalues: kernel and TypeScript agree on both sides (d < n and d > n)', () => {
    const r = new Rng(11);
    for (const [n, d] of [[500, 37], [37, 500], [64, 64]]) {
      const Z = Float64Array.from({length: n * d}, () => r.normal());
      const a = gramEigenvalues(Z, n, d);
      const b = withTs(() => gramEigenvalues(Z, n, d));
      assert.equal(a.length, Math.min(n, d));
      a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-12 * b[0], `${n}x${d} ${i}`));
    }
    // fill callback: the buffer handed out is zeroed and of the requested size
    const ev = gramRowsEigenvalues(3, 4, (x) => {
      assert.equal(x.length, 12);
      assert.ok(x.every((v) => v === 0));
      x[0] = 3; // row 0 = (3, 0, 0, 0), row 1 = (0, 2, 0, 0), row 2 = 0
      x[5] = 2;
    });
    assert.deepEqual(Array.from(ev), [9, 4, 0]);
  });

  it('preparedSpectrum: centring + row normalisation in one pass equals the two-step computation', () => {
    const r = new Rng(5);
    for (const [n, d] of [[200, 30], [20, 50]]) {
      const data = Float32Array.from({length: n * d}, () => r.normal() + 3);
      const Z = Float64Array.from(data);
      const mean = new Float64Array(d);
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += Z[i * d + j] / n;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += (Z[i * d + j] -= mean[j]) ** 2;
        for (let j = 0; j < d; j++) Z[i * d + j] /= Math.sqrt(s);
      }
      const want = withTs(() => gramEigenvalues(Z, n, d));
      const {lam, nonzero} = preparedSpectrum({data, rows: n, cols: d}, true, true);
      assert.equal(nonzero, n);
      lam.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-12 * want[0], `${n}x${d} ${i}`));
      // every row has unit norm, so the eigenvalues sum to n
      assert.ok(Math.abs(lam.reduce((a, b) => a + b, 0) - n) < 1e-9 * n);
    }
  });

  it('dense products of curvature (gemm nn, tn, nt) accumulate into C as plain triple loops do, every remainder shape, zero rows skipped', () => {
    const r = new Rng(7);
    const mat = (len, zeros = 0) => Float64Array.from({length: len}, () => (r.uniform() < zeros ? 0 : r.normal()));
    for (const [n, a, b] of [[1, 1, 1], [4, 4, 4], [5, 7, 3], [9, 6, 11], [37, 13, 10], [64, 70, 33]]) {
      for (const zeros of [0, 0.7]) {
        const cases = {
          nn: {A: mat(n * a, zeros), B: mat(a * b), C: mat(n * b), ref: (A, B, C) => { for (let i = 0; i < n; i++) for (let k = 0; k < a; k++) for (let j = 0; j < b; j++) C[i * b + j] += A[i * a + k] * B[k * b + j]; }},
          tn: {A: mat(n * a, zeros), B: mat(n * b), C: mat(a * b), ref: (A, B, C) => { for (let k = 0; k < a; k++) for (let i = 0; i < n; i++) for (let j = 0; j < b; j++) C[k * b + j] += A[i * a + k] * B[i * b + j]; }},
          nt: {A: mat(n * b, zeros), B: mat(a * b), C: mat(n * a), ref: (A, B, C) => { for (let i = 0; i < n; i++) for (let k = 0; k < a; k++) for (let j = 0; j < b; j++) C[i * a + k] += A[i * b + j] * B[k * b + j]; }},
        };
        for (const [kind, c] of Object.entries(cases)) {
          const want = Float64Array.from(c.C);
          c.ref(c.A, c.B, want);
          const got = Float64Array.from(c.C);
          assert.equal(nativeGemm(kind, c.A, c.B, got, n, a, b), true);
          for (let t = 0; t < want.length; t++) assert.ok(Math.abs(got[t] - want[t]) <= 1e-12 * (1 + Math.abs(want[t])), `${kind} ${n}x${a}x${b} zeros ${zeros} [${t}]: ${got[t]} vs ${want[t]}`);
        }
      }
    }
    assert.equal(withTs(() => nativeGemm('nn', new Float64Array(1), new Float64Array(1), new Float64Array(1), 1, 1, 1)), false, 'off: the caller keeps its loop');
  });
  it('an arena uses its own views in place, copies other arrays, and degrades (ordinary arrays, false) when full', () => {
    const r = new Rng(11);
    const [n, a, b] = [9, 6, 7];
    const ar = NativeArena.create(n * a + a * b + n * b + 64 * (4 * 8 + 5) + 64);
    const A = ar.hold(Float64Array.from({length: n * a}, () => r.normal()));
    const B = Float64Array.from({length: a * b}, () => r.normal()); // not resident: copied for the call
    const C = ar.alloc(n * b);
    assert.ok(ar.resident(A) && ar.resident(C) && !ar.resident(B));
    const mark = ar.mark();
    assert.equal(ar.gemm('nn', A, B, C, n, a, b), true);
    assert.equal(ar.mark(), mark, 'scratch released after the call');
    for (let i = 0; i < n; i++)
      for (let j = 0; j < b; j++) {
        let s = 0;
        for (let k = 0; k < a; k++) s += A[i * a + k] * B[k * b + j];
        assert.equal(C[i * b + j], s, 'written in place, summed in ascending k like the loop');
      }
    // a left operand packed once gives the same products, bit for bit (dense and sparse panels)
    const [m2, a2, b2] = [13, 50, 9];
    const ar2 = NativeArena.create(20000);
    const Z = ar2.hold(Float64Array.from({length: m2 * a2}, (_, t) => (t % 7 < 3 ? 0 : r.normal())));
    for (const kind of ['nn', 'tn']) {
      const Bk = Float64Array.from({length: kind === 'nn' ? a2 * b2 : m2 * b2}, () => r.normal());
      const len = kind === 'nn' ? m2 * b2 : a2 * b2;
      const plain = new Float64Array(len);
      assert.equal(ar2.gemm(kind, Z, Bk, plain, m2, a2, b2), true);
      assert.equal(ar2.prepack(Z, kind, m2, a2), true);
      const pre = new Float64Array(len);
      assert.equal(ar2.gemm(kind, Z, Bk, pre, m2, a2, b2), true);
      assert.deepEqual(pre, plain, kind);
    }
    const big = ar.alloc(1e6);
    assert.ok(!ar.resident(big) && big.length === 1e6 && big.every((v) => v === 0), 'full: an ordinary zeroed array');
    const tight = NativeArena.create(64); // one 64 KiB page past the module's stack and data
    const [m, c] = [200, 30];
    const Ct = new Float64Array(c * c);
    assert.equal(tight.gemm('tn', new Float64Array(m * c).fill(1), new Float64Array(m * c).fill(1), Ct, m, c, c), false, 'scratch does not fit: the caller loops');
    assert.ok(Ct.every((v) => v === 0), 'C untouched');
  });

  it("CKA's centred Gram: column means, G = Z Z^T of the centred transposed blocks and the centred rows' squared norms equal direct sums (row subsets, float32 input)", () => {
    const r = new Rng(12);
    const N = 37;
    const X = Float64Array.from({length: N * 5}, () => 3 + r.normal());
    const Y = Float32Array.from({length: N * 4}, () => r.normal() - 1);
    for (const rows of [undefined, Int32Array.from([3, 0, 36, 5, 5, 20, 11, 9, 30, 2, 7])]) {
      const n = rows ? rows.length : N;
      const got = nativeCentredGram([{data: X, cols: 5}, {data: Y, cols: 4}], rows, n, true);
      const blocks = [[X, 5], [Y, 4]].map(([D, d]) => {
        const at = (i, j) => D[(rows ? rows[i] : i) * d + j];
        const mean = Array.from({length: d}, (_, j) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += at(i, j);
          return s / n;
        });
        return {d, mean, c: (i, j) => at(i, j) - mean[j]};
      });
      blocks.forEach((bl, k) => {
        bl.mean.forEach((m, j) => assert.ok(Math.abs(got.means[k][j] - m) <= 1e-15 * Math.abs(m) + 1e-16, `mean ${k} ${j}`));
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let j = 0; j < bl.d; j++) s += bl.c(i, j) ** 2;
          assert.ok(Math.abs(got.squares[k][i] - s) <= 1e-13 * s, `squares ${k} ${i}`);
        }
      });
      const col = (j) => (j < 5 ? (i) => blocks[0].c(i, j) : (i) => blocks[1].c(i, j - 5));
      for (let p = 0; p < 9; p++)
        for (let q = p; q < 9; q++) {
          let s = 0;
          for (let i = 0; i < n; i++) s += col(p)(i) * col(q)(i);
          assert.ok(Math.abs(got.G[p * 9 + q] - s) <= 1e-12 * (1 + Math.abs(s)), `G ${p} ${q}: ${got.G[p * 9 + q]} vs ${s}`);
        }
    }
    assert.equal(withTs(() => nativeCentredGram([{data: X, cols: 5}], undefined, N, false)), null, 'off: the caller keeps its TypeScript path');
  });
});
