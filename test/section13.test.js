// Spec section 13 metrics as pure functions: sim.cka (13.1), curv.hessian (13.2), weights.esd
// (13.3), nc.collapse (13.4), dynamics.examples (13.5). Reference values come from
// scripts/reference/section13.py (NumPy / PyTorch autograd, committed fixtures in
// test/fixtures/reference/); the spec's sanity checks are tests of their own.
// Imports the built code: run `npx tsc -p tsconfig.json` first.
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {FIXTURES, gaussian, uniform, withSetting} from './helpers.js';
import {cka} from '../dist/metrics/similarity/cka.js';
import {setNativeKernels} from '../dist/native/spectral.js';
import {HessianOperator, hessianMetrics, lanczosTop} from '../dist/metrics/model/curvature.js';
import {matrixEsd, networkEsd, powerLawFit} from '../dist/metrics/model/esd.js';
import {neuralCollapse} from '../dist/metrics/collapse/nc.js';
import {exampleDynamics, truePredictions} from '../dist/metrics/dynamics/examples.js';
import {activations} from '../dist/model/activations.js';
import {studyChecks} from '../dist/report/study-checks.js';
import {aggregateBeyond} from '../dist/aggregate/beyond.js';

const ref = (name) => JSON.parse(readFileSync(join(FIXTURES, 'reference', `section13-${name}.json`), 'utf8'));
const M = (m) => ({data: Float64Array.from(m.data), rows: m.rows, cols: m.cols});
/** Runs f with the WebAssembly kernels on or off (TDLAB_NATIVE=0 is the off path). */
const withKernels = (on, f) => withSetting(setNativeKernels, on, f);
const net = (c) => ({layers: c.layers.map((l) => ({W: Float64Array.from(l.W.data), rows: l.W.rows, cols: l.W.cols, b: Float64Array.from(l.b), activation: l.activation}))});
const close = (a, b, rel, what = '') => assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b} (tolerance ${rel})`);

function randn(n, d, seed, scale = 1) {
  const g = gaussian(seed);
  return {data: Float64Array.from({length: n * d}, () => scale * g()), rows: n, cols: d};
}


/** A random orthogonal d x d matrix: a product of d Householder reflections of Gaussian vectors. */
function orthogonal(d, seed) {
  const g = gaussian(seed);
  let Q = Float64Array.from({length: d * d}, (_, i) => (i % (d + 1) === 0 ? 1 : 0));
  for (let r = 0; r < d; r++) {
    const v = Float64Array.from({length: d}, () => g());
    const nv = Math.hypot(...v);
    for (let i = 0; i < d; i++) v[i] /= nv;
    const next = new Float64Array(d * d); // Q (I - 2 v v')
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += Q[i * d + k] * v[k];
      for (let j = 0; j < d; j++) next[i * d + j] = Q[i * d + j] - 2 * s * v[j];
    }
    Q = next;
  }
  return Q;
}

function matmul(A, B) {
  const out = new Float64Array(A.rows * B.cols);
  for (let i = 0; i < A.rows; i++) for (let k = 0; k < A.cols; k++) for (let j = 0; j < B.cols; j++) out[i * B.cols + j] += A.data[i * A.cols + k] * B.data[k * B.cols + j];
  return {data: out, rows: A.rows, cols: B.cols};
}

describe('sim.cka (spec 13.1)', () => {
  it('matches the NumPy n x n formulas: linear/RBF (median and sigma 1.5), biased and debiased, both evaluation paths, WebAssembly kernels on and off', () => {
    for (const native of [true, false]) withKernels(native, () => {
      for (const c of ref('cka').cases) {
        for (const v of c.values) {
          const r = cka(M(c.X), M(c.Y), {kernel: v.kernel, sigma: v.sigma, debiased: v.debiased});
          close(r.value, v.value, 1e-10, `${c.X.rows}x${c.X.cols} vs ${c.Y.cols}: ${v.kernel} sigma=${v.sigma} debiased=${v.debiased} (${r.method}, kernels ${native ? 'on' : 'off'})`);
          if (v.sigmaX !== null) close(r.sigmaX, v.sigmaX, 1e-12, 'median sigma of X');
        }
      }
    });
  });

  it('sanity: CKA(X, X Q a + b) = 1 for orthogonal Q, scalar a != 0 and any shift b (linear, biased and debiased)', () => {
    const X = randn(50, 6, 1);
    const Q = {data: orthogonal(6, 2), rows: 6, cols: 6};
    for (const a of [3.5, -0.2]) {
      const Y = matmul(X, Q);
      for (let i = 0; i < Y.data.length; i++) Y.data[i] = a * Y.data[i] + [7, -1, 0.5, 2, 100, -3][i % 6];
      for (const debiased of [false, true]) close(cka(X, Y, {debiased}).value, 1, 1e-12, `a=${a} debiased=${debiased}`);
    }
    // many more columns than rows: the n x n path
    const Xw = randn(10, 30, 3);
    const Qw = {data: orthogonal(30, 4), rows: 30, cols: 30};
    close(cka(Xw, matmul(Xw, Qw)).value, 1, 1e-12, 'p > n');
  });

  it('sanity: symmetric in X and Y, and in [0, 1] for the biased form', () => {
    const X = randn(30, 4, 5);
    const Y = randn(30, 9, 6);
    for (const kernel of ['linear', 'rbf']) {
      for (const debiased of [false, true]) {
        const a = cka(X, Y, {kernel, debiased}).value;
        const b = cka(Y, X, {kernel, debiased}).value;
        close(a, b, 1e-13, `${kernel} debiased=${debiased}`);
        if (!debiased) assert.ok(a >= 0 && a <= 1, `${kernel}: ${a}`);
      }
    }
    for (const kernel of ['linear', 'rbf']) assert.ok(cka(X, X, {kernel}).value <= 1, 'CKA(X, X) <= 1 despite round-off');
  });

  it('RBF with the median sigma is scale invariant; a fixed sigma is not', () => {
    const X = randn(25, 3, 7);
    const Y = randn(25, 5, 8);
    const Y10 = {...Y, data: Y.data.map((v) => 10 * v)};
    close(cka(X, Y10, {kernel: 'rbf'}).value, cka(X, Y, {kernel: 'rbf'}).value, 1e-12, 'median');
    assert.ok(Math.abs(cka(X, Y10, {kernel: 'rbf', sigma: 1.5}).value - cka(X, Y, {kernel: 'rbf', sigma: 1.5}).value) > 1e-3);
  });

  it('constant representation: NaN with a reason, never a crash (n >= 4 for the debiased form)', () => {
    const X = randn(12, 3, 9);
    const C = {data: new Float64Array(12 * 2).fill(0.1), rows: 12, cols: 2};
    for (const kernel of ['linear', 'rbf']) {
      for (const debiased of [false, true]) {
        const r = cka(X, C, {kernel, debiased});
        assert.ok(Number.isNaN(r.value), `${kernel} debiased=${debiased}`);
        assert.match(r.reason, /constant/);
      }
    }
    const four = cka(randn(4, 2, 10), randn(4, 3, 11), {debiased: true});
    assert.ok(Number.isFinite(four.value), 'n = 4 debiased is defined');
    const three = cka(randn(3, 2, 10), randn(3, 3, 11), {debiased: true});
    assert.ok(Number.isNaN(three.value) && /n >= 4/.test(three.reason));
  });

  it('maxRows: a seeded subset of the same rows of both matrices', () => {
    const X = randn(200, 5, 12);
    const r = cka(X, X, {maxRows: 50, seed: 3});
    assert.equal(r.n, 50);
    close(r.value, 1, 1e-12, 'same rows on both sides');
    assert.equal(cka(X, randn(200, 4, 13), {maxRows: 50, seed: 3}).value, cka(X, randn(200, 4, 13), {maxRows: 50, seed: 3}).value);
  });
});

describe('curv.hessian (spec 13.2)', () => {
  const H = ref('hessian');

  it('Hessian-vector products, gradient and loss equal PyTorch autograd (float64) for every activation, WebAssembly kernels on and off', () => {
    for (const native of [true, false]) withKernels(native, () => {
      for (const c of H.cases) {
        const op = new HessianOperator(net(c), M(c.X), Int32Array.from(c.y));
        assert.equal(op.size, c.numParams);
        close(op.loss, c.loss, 1e-13, `${c.name} loss`);
        const g = op.gradient();
        const hv = op.hvp(Float64Array.from(c.v));
        const scale = Math.max(...c.Hv.map(Math.abs));
        for (let i = 0; i < hv.length; i++) {
          assert.ok(Math.abs(hv[i] - c.Hv[i]) <= 1e-12 * scale, `${c.name} (kernels ${native ? 'on' : 'off'}) Hv[${i}]: ${hv[i]} vs ${c.Hv[i]}`);
          assert.ok(Math.abs(g[i] - c.gradient[i]) <= 1e-13, `${c.name} grad[${i}]`);
        }
      }
    });
  });

  it('lambda_max (Lanczos), exact trace and per-layer blocks equal the full autograd Hessian of small nets', () => {
    for (const c of H.cases) {
      const r = hessianMetrics(net(c), M(c.X), Int32Array.from(c.y), {iters: 60, probes: 'exact', blocks: true, rows: 1000});
      assert.ok(r.converged, `${c.name} converged`);
      close(r.lambdaMax, c.lambda_max, 1e-7, `${c.name} lambda_max`);
      close(r.trace, c.trace, 1e-12, `${c.name} trace`);
      assert.equal(r.traceSe, 0);
      assert.equal(r.n, c.X.rows, 'rows >= N means all rows');
      r.blocks.forEach((b, l) => close(b.lambdaMax, c.block_lambda_max[l], 1e-6, `${c.name} block ${l + 1}`));
    }
  });

  it('sanity: softmax regression matches the closed form H = (1/n) sum (diag p - p p^T) (x) x~ x~^T', () => {
    for (const c of H.softmaxRegression) {
      const r = hessianMetrics(net(c), M(c.X), Int32Array.from(c.y), {iters: 100, probes: 'exact'});
      close(r.lambdaMax, c.lambda_max, 1e-8, 'lambda_max');
      close(r.trace, c.trace, 1e-12, 'trace');
      // trace of the closed form, computed here: (1/n) sum_i |x~_i|^2 (1 - |p_i|^2)
      const {W, b} = c.layers[0];
      const K = W.cols;
      let t = 0;
      for (let i = 0; i < c.X.rows; i++) {
        const x = c.X.data.slice(i * c.X.cols, (i + 1) * c.X.cols);
        const z = Array.from({length: K}, (_, k) => b[k] + x.reduce((s, v, j) => s + v * W.data[j * K + k], 0));
        const m = Math.max(...z);
        const e = z.map((v) => Math.exp(v - m));
        const s = e.reduce((a, v) => a + v, 0);
        t += (1 + x.reduce((a, v) => a + v * v, 0)) * (1 - e.reduce((a, v) => a + (v / s) ** 2, 0));
      }
      close(r.trace, t / c.X.rows, 1e-12, 'trace formula');
    }
  });

  it('Hutchinson trace with Rademacher probes lies within 4 standard errors of the exact trace; trace_se > 0', () => {
    const c = H.cases[3];
    const r = hessianMetrics(net(c), M(c.X), Int32Array.from(c.y), {probes: 300});
    assert.equal(r.probes, 300);
    assert.ok(r.traceSe > 0);
    assert.ok(Math.abs(r.trace - c.trace) < 4 * r.traceSe, `${r.trace} vs ${c.trace} (se ${r.traceSe})`);
    assert.equal(hessianMetrics(net(c), M(c.X), Int32Array.from(c.y), {probes: 0}).trace, undefined, 'probes 0: no trace');
  });

  it('flags a Lanczos run that did not converge within iters', () => {
    const c = H.cases[3];
    const r = hessianMetrics(net(c), M(c.X), Int32Array.from(c.y), {iters: 2});
    assert.equal(r.iterations, 2);
    assert.equal(r.converged, false);
    assert.ok(r.lambdaMax <= c.lambda_max * (1 + 1e-12), 'a Ritz value never exceeds lambda_max');
  });

  it('rows: a seeded subset of that many rows, the same for the same seed', () => {
    const c = H.cases[3];
    const a = hessianMetrics(net(c), M(c.X), Int32Array.from(c.y), {rows: 20}, 5);
    const b = hessianMetrics(net(c), M(c.X), Int32Array.from(c.y), {rows: 20}, 5);
    assert.equal(a.n, 20);
    assert.equal(a.lambdaMax, b.lambdaMax);
    assert.notEqual(a.lambdaMax, hessianMetrics(net(c), M(c.X), Int32Array.from(c.y), {rows: 20}, 6).lambdaMax);
  });

  it("every registered activation's second derivative d2f matches a central difference of df (the Hessian's phi'')", () => {
    for (const name of activations.names()) {
      const {df, d2f} = activations.get(name);
      for (const z of [-2.3, -0.7, -0.1, 0.2, 0.9, 3.1]) {
        const h = 1e-5;
        close(d2f(z), (df(z + h) - df(z - h)) / (2 * h), 1e-7, `${name} at ${z}`);
      }
    }
  });

  it('Lanczos finds the top eigenvalue of a diagonal operator with a known spectrum, including negative eigenvalues', () => {
    const d = Float64Array.from({length: 50}, (_, i) => (i % 2 ? -1 : 1) * (i + 1) * 0.1);
    const r = lanczosTop((v) => v.map((x, i) => x * d[i]), 50, 50, randn(50, 1, 20).data);
    close(r.value, 4.9, 1e-6, 'largest algebraic eigenvalue, not the largest |eigenvalue| (-5.0)');
    assert.ok(r.converged);
  });
});

describe('weights.esd (spec 13.3)', () => {
  const E = ref('esd');

  it('power-law fit (MLE alpha, xmin by minimum KS) equals an independent NumPy loop', () => {
    for (const p of E.pareto) {
      const f = powerLawFit(Float64Array.from(p.lambda).sort());
      close(f.alpha, p.alpha, 1e-10, 'alpha');
      assert.equal(f.xmin, p.xmin);
      close(f.ks, p.ks, 1e-10, 'ks');
      assert.equal(f.n_tail, p.n_tail);
    }
  });

  it('per-matrix values equal NumPy (eigvalsh of W^T W / N) for tall, wide and square matrices', () => {
    for (const m of E.matrices) {
      const r = matrixEsd(M(m.W));
      for (const k of ['alpha', 'xmin', 'ks', 'alpha_weighted', 'log_spectral_norm', 'stable_rank']) close(r[k], m[k], 1e-9, k);
      assert.equal(r.n_tail, m.n_tail);
    }
  });

  it('sanity: W = U diag(sqrt(N lambda)) V^T with Pareto lambda of exponent alpha gives alpha within 0.2 (M = 500)', () => {
    const Nn = 700;
    const Mm = 500;
    for (const [alpha, seed] of [[2.5, 1], [4, 2]]) {
      const g = gaussian(seed);
      const u = uniform(seed + 100);
      const lam = Float64Array.from({length: Mm}, () => (1 - u()) ** (-1 / (alpha - 1)));
      // N x M with singular values sqrt(N lambda), rotated on both sides by Householder reflections
      const W = new Float64Array(Nn * Mm);
      for (let i = 0; i < Mm; i++) W[i * Mm + i] = Math.sqrt(Nn * lam[i]);
      const reflect = (rows, cols, left) => {
        const len = left ? rows : cols;
        const v = Float64Array.from({length: len}, () => g());
        const nv = Math.hypot(...v);
        for (let i = 0; i < len; i++) v[i] /= nv;
        if (left) {
          const s = new Float64Array(cols);
          for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) s[j] += v[i] * W[i * cols + j];
          for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) W[i * cols + j] -= 2 * v[i] * s[j];
        } else {
          for (let i = 0; i < rows; i++) {
            let s = 0;
            for (let j = 0; j < cols; j++) s += W[i * cols + j] * v[j];
            for (let j = 0; j < cols; j++) W[i * cols + j] -= 2 * s * v[j];
          }
        }
      };
      for (let k = 0; k < 3; k++) {
        reflect(Nn, Mm, true);
        reflect(Nn, Mm, false);
      }
      const r = matrixEsd({data: W, rows: Nn, cols: Mm});
      assert.ok(Math.abs(r.alpha - alpha) < 0.2, `alpha ${r.alpha} vs ${alpha}`);
      close(r.log_spectral_norm, Math.log10(Math.max(...lam)), 1e-10, 'log10 lambda_max');
      close(r.stable_rank, lam.reduce((a, b) => a + b, 0) / Math.max(...lam), 1e-10, 'stable rank');
    }
    for (const p of E.pareto) assert.ok(Math.abs(p.alpha - p.alpha_true) < 0.2 || p.lambda.length < 500, 'NumPy fit of the Pareto sample');
  });

  it('matrices with M < 20 get NaN with a reason; network means skip them', () => {
    const small = matrixEsd(randn(100, 19, 3));
    assert.ok(Number.isNaN(small.alpha) && Number.isNaN(small.stable_rank));
    assert.match(small.reason, /< 20/);
    const m = E.matrices.map((x) => M(x.W));
    const net = networkEsd([m[0], randn(50, 10, 4), m[1]]);
    close(net.alpha, (E.matrices[0].alpha + E.matrices[1].alpha) / 2, 1e-9, 'mean alpha');
    close(net.alpha_weighted, (E.matrices[0].alpha_weighted + E.matrices[1].alpha_weighted) / 2, 1e-9, 'mean alpha_weighted');
  });
});

describe('nc.collapse (spec 13.4)', () => {
  it('NC1-NC4 equal NumPy (d x d covariances, pinv) including d < K - 1', () => {
    for (const c of ref('nc').cases) {
      const r = neuralCollapse(M(c.H), Int32Array.from(c.y), {W: M(c.W), b: c.b});
      for (const k of ['NC1', 'NC2_norm', 'NC2_angle', 'NC3']) close(r[k], c[k], 1e-9, `${c.H.rows}x${c.H.cols} ${k}`);
      assert.equal(r.NC4, c.NC4);
    }
  });

  it('sanity: features at their class means on a simplex ETF with W^T = M give NC1 = NC2 = NC3 = NC4 = 0', () => {
    const K = 4;
    const d = 6;
    // simplex ETF: e_k - 1/K, rotated into d dimensions and scaled
    const Q = orthogonal(d, 30);
    const Mt = new Float64Array(K * d);
    for (let k = 0; k < K; k++) for (let j = 0; j < d; j++) for (let i = 0; i < K; i++) Mt[k * d + j] += 3 * ((i === k ? 1 : 0) - 1 / K) * Q[i * d + j];
    const y = Int32Array.from({length: 40}, (_, i) => i % K);
    const Hm = {data: Float64Array.from({length: 40 * d}, (_, t) => Mt[y[Math.floor(t / d)] * d + (t % d)] + 0.25), rows: 40, cols: d};
    const W = {data: Float64Array.from({length: d * K}, (_, t) => Mt[(t % K) * d + Math.floor(t / K)]), rows: d, cols: K};
    const r = neuralCollapse(Hm, y, {W, b: new Float64Array(K)});
    for (const k of ['NC1', 'NC2_norm', 'NC2_angle', 'NC3']) assert.ok(Math.abs(r[k]) < 1e-12, `${k} = ${r[k]}`);
    assert.equal(r.NC4, 0);
  });

  it('fewer than two classes: NaN with a reason', () => {
    const r = neuralCollapse(randn(10, 3, 1), new Int32Array(10));
    assert.ok(Number.isNaN(r.NC1) && /at least 2/.test(r.reasons.NC1));
  });
});

describe('dynamics.examples (spec 13.5)', () => {
  it('confidence, variability, correctness, forgetting and first_learned equal NumPy', () => {
    const f = ref('dynamics');
    const epochs = f.epochs.map((e, k) => ({epoch: e, pTrue: Float64Array.from(f.p[k]), correct: Uint8Array.from(f.correct[k])}));
    const r = exampleDynamics(epochs);
    for (let i = 0; i < f.confidence.length; i++) {
      close(r.confidence[i], f.confidence[i], 1e-14, 'confidence');
      close(r.variability[i], f.variability[i], 1e-14, 'variability');
      close(r.correctness[i], f.correctness[i], 1e-14, 'correctness');
    }
    assert.deepEqual(Array.from(r.forgetting), f.forgetting);
    assert.deepEqual(Array.from(r.firstLearned), f.first_learned);
  });

  it('hand-worked rows: forgetting counts correct -> incorrect, first_learned is where the final run of correct epochs starts', () => {
    const seq = [
      [0, 1, 1, 0, 1, 1], // forgotten once, learned for good at epoch 5
      [1, 1, 1, 1, 1, 1], // always right
      [1, 0, 1, 0, 1, 0], // forgotten three times, wrong at the end
    ];
    const epochs = [1, 2, 3, 4, 5, 6].map((e, k) => ({epoch: e, pTrue: Float64Array.from(seq, (s) => s[k] * 0.5 + 0.25), correct: Uint8Array.from(seq, (s) => s[k])}));
    const r = exampleDynamics(epochs);
    assert.deepEqual(Array.from(r.forgetting), [1, 0, 3]);
    assert.deepEqual(Array.from(r.firstLearned), [5, 1, -1]);
    assert.deepEqual(Array.from(r.correctness), [4 / 6, 1, 0.5]);
    close(r.variability[1], 0, 0, 'constant probability');
    close(r.variability[2], 0.25, 1e-15, 'std of 0.25/0.75 alternating');
  });

  it('truePredictions: softmax probability of the true label; argmax ties go to the lowest class', () => {
    const logits = Float32Array.from([0, 0, 0, 2, 1, 0]);
    const r = truePredictions(logits, 3, Int32Array.from([1, 0]));
    close(r.pTrue[0], 1 / 3, 1e-7, 'uniform');
    close(r.pTrue[1], Math.exp(2) / (Math.exp(2) + Math.exp(1) + 1), 1e-7, 'softmax');
    assert.deepEqual(Array.from(r.correct), [0, 1], 'tie -> class 0, not the label 1');
  });
});

describe('spec-13 metrics over seeds (tdlab aggregate) and the study checks', () => {
  const row = (epoch, estimator, quantity, value, layerIndex = -1, layer = '', subset = 'train') => ({epoch, layerIndex, layer, estimator, quantity, params: '', subset, n: 10, value, unit: 'dimensionless', atCeiling: false});
  /** A run whose sharpness ratio is `r(epoch)` (lr 0.5, 2/lr = 4) and whose NC1 falls by `fall` after accuracy 1 at epoch 2. */
  const run = (seed, r, fall) => ({
    runDir: `/runs/${seed}`,
    runId: String(seed),
    seed,
    config: {seed},
    layers: [],
    metrics: [0, 3, 6, 9].flatMap((e) => [
      row(e, 'curv.hessian', 'lambda_max', 4 * r(e)),
      row(e, 'curv.hessian', 'two_over_lr', 4),
      row(e, 'nc.collapse', 'NC1', e < 3 ? 2 : fall ** ((e - 3) / 6), 2, 'h2'),
      row(e, 'nc.collapse', 'NC2_angle', 0.5 - 0.01 * e, 2, 'h2'),
    ]),
    training: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((e) => ({epoch: e, layerIndex: -1, layer: '', quantity: 'train_acc', value: e >= 2 ? 1 : 0.5})),
  });

  it('EoS and collapse checks per run: thresholds of the issue, n/a reasons', () => {
    const good = run(0, (e) => [0.5, 1.1, 1.0, 0.95][e / 3], 0.05);
    const checks = studyChecks(good.metrics, good.training);
    assert.deepEqual(checks.map((c) => [c.id, c.status]), [['EoS.max', 'pass'], ['EoS.late', 'pass'], ['NC.NC1', 'pass'], ['NC.NC2_angle', 'pass']]);
    close(checks[0].value, 1.1, 1e-12, 'max ratio');
    assert.equal(checks[1].detail.snapshots, 2, 'epochs 6 and 9 are the last third of 0..9');
    const bad = run(1, (e) => [0.5, 1.5, 0.6, 0.5][e / 3], 0.5);
    assert.deepEqual(studyChecks(bad.metrics, bad.training).map((c) => c.status), ['fail', 'fail', 'fail', 'pass']);
    const never = studyChecks(good.metrics, good.training.map((t) => ({...t, value: 0.9})));
    assert.equal(never.find((c) => c.id === 'NC.NC1').status, 'n/a');
  });

  it('aggregateBeyond: mean and sample std over seeds at each epoch and at the end; checks counted per seed', () => {
    const runs = [run(0, () => 1, 0.05), run(1, () => 0.8, 0.05), run(2, () => 1.2, 0.5)];
    const [g] = aggregateBeyond([{group: {label: 'all', runs: runs.map((r) => r.runDir)}, runs}]);
    const ratio = g.series.find((s) => s.name === 'curv.hessian:sharpness_ratio');
    close(ratio.final.mean, 1, 1e-12, 'mean ratio');
    close(ratio.final.std, 0.2, 1e-12, 'sample std of 1, 0.8, 1.2');
    assert.deepEqual(ratio.trajectory.map((p) => p.epoch), [0, 3, 6, 9]);
    const nc1 = g.series.find((s) => s.name === 'nc.collapse:NC1:h2');
    assert.deepEqual(nc1.final.values, [0.05, 0.05, 0.5]);
    const c = g.checks.find((x) => x.id === 'NC.NC1');
    assert.deepEqual([c.pass, c.fail, c.na], [2, 1, 0]);
  });
});

describe('dynamics/predictions.arrow across a resumed training run', () => {
  it('a recorder restored at epoch e from the file written at a snapshot, then fed epochs e.., writes the same bytes as one that never stopped', async () => {
    const {PredictionRecorder} = await import('../dist/run/predictions.js');
    const {mkdtempSync, readFileSync, rmSync} = await import('node:fs');
    const {tmpdir} = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'tdlab-s13-pred-'));
    try {
      const labels = Int32Array.from({length: 10}, (_, i) => i % 3);
      const rows = Int32Array.from([0, 2, 3, 5, 7, 9]);
      const g = gaussian(4);
      const logits = Array.from({length: 9}, () => Float32Array.from({length: 30}, () => g()));
      const full = new PredictionRecorder(rows, labels, 3);
      logits.forEach((l, e) => full.record(e, l));
      full.write(join(dir, 'full.arrow'), {run: 'x'});
      const first = new PredictionRecorder(rows, labels, 3);
      logits.slice(0, 6).forEach((l, e) => first.record(e, l)); // killed after the snapshot at epoch 5
      first.write(join(dir, 'part.arrow'), {run: 'x'});
      const resumed = new PredictionRecorder(rows, labels, 3);
      assert.equal(resumed.restore(join(dir, 'part.arrow'), 5), true);
      logits.slice(5).forEach((l, k) => resumed.record(5 + k, l)); // epoch 5 is evaluated again
      resumed.write(join(dir, 'resumed.arrow'), {run: 'x'});
      assert.deepEqual(readFileSync(join(dir, 'resumed.arrow')), readFileSync(join(dir, 'full.arrow')));
      assert.equal(new PredictionRecorder(rows, labels, 3).restore(join(dir, 'part.arrow'), 8), false, 'epochs 6-7 are missing');
      assert.equal(new PredictionRecorder(rows.slice(1), labels, 3).restore(join(dir, 'part.arrow'), 3), false, 'other rows');
    } finally {
      rmSync(dir, {recursive: true, force: true});
    }
  });
});
