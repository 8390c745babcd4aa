// Every registered estimator against independent NumPy/SciPy references (issue 13, item 5).
// The fixtures in test/fixtures/reference/*.json are written by scripts/reference/fixtures.py
// (NumPy/SciPy implementations of the spec's definitions, not ports of our TypeScript); this file
// only reads them. Estimators run through the registry and `evaluateLayer`, as the metrics stage
// runs them. Tolerances are stated per case in the fixtures: 1e-12 absolute where the computation
// is exact up to summation order (binning), ~1e-10 relative where float64 sums differ in order
// (KDE, kNN, spectra), looser only where stated (the whitening ridge, Gram-path zeros).
import assert from 'node:assert/strict';
import {readFileSync, readdirSync} from 'node:fs';
import {join} from 'node:path';
import {loadBackend} from '../dist/backend/tf.js';
import {covariance, lstsqMinNorm, pcaProject, whiten} from '../dist/linalg/dense.js';
import {eigh, eigvalsh} from '../dist/linalg/eigen.js';
import {gramEigenvalues} from '../dist/linalg/gram.js';
import {evaluateLayer} from '../dist/metrics/evaluate.js';
import {isDiagnostic} from '../dist/metrics/validity.js';
import {dsmiBits} from '../dist/metrics/geometry/dse.js';
import {wklWeights} from '../dist/metrics/knn/kl.js';
import {localRank} from '../dist/metrics/model/local-rank/analytic.js';
import {localRankVjp} from '../dist/metrics/model/local-rank/vjp.js';
import {estimators, modelMetrics} from '../dist/metrics/registry.js';
import {planModel} from '../dist/model/plan.js';
import {setNativeKernels} from '../dist/native/spectral.js';
import {ROOT, withSetting} from './helpers.js';

export const REFERENCE_DIR = join(ROOT, 'test', 'fixtures', 'reference');
export const loadReference = (family) => JSON.parse(readFileSync(join(REFERENCE_DIR, `${family}.json`), 'utf8'));

/**
 * Estimator families written by scripts/reference/fixtures.py: every JSON file of the folder whose
 * source is that script and whose cases name estimators (other scripts' fixtures, e.g.
 * section13-*.json, have their own tests).
 */
const ESTIMATOR_FAMILIES = readdirSync(REFERENCE_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -5))
  .filter((f) => {
    const fx = loadReference(f);
    return /scripts\/reference\/fixtures\.py/.test(fx.source ?? '') && (fx.cases ?? []).some((c) => c.estimator);
  })
  .sort();
/**
 * Registered estimators whose independent reference lives in another test (name -> test file).
 * Every other registered name must appear in a fixture above: a new estimator needs a reference.
 */
export const REFERENCED_ELSEWHERE = {
  // spec 13: NumPy/PyTorch fixtures of scripts/reference/section13.py (pure functions in
  // section13.test.js, the registry through `tdlab measure` in section13-run.test.js)
  'nc.collapse': 'section13.test.js',
  'weights.esd': 'section13.test.js',
  'curv.hessian': 'section13.test.js',
};

/** A fixture matrix: float32 data is rounded to float32 exactly as the JSON text was written from it. */
export function matrixOf(m, as = m.dtype === 'float32' ? Float32Array : Float64Array) {
  const data = m.dtype === 'float32' && as === Float64Array ? Float64Array.from(Float32Array.from(m.data)) : as.from(m.data);
  return {data, rows: m.rows, cols: m.cols};
}

/** |got - want| <= abs, or <= rel * |want|; `want` 'NaN' means NaN. */
export function near(got, want, tol, msg) {
  if (want === 'NaN') return assert.ok(Number.isNaN(got), `${msg}: got ${got}, want NaN`);
  const err = Math.abs(got - want);
  const ok = err <= (tol.abs ?? 0) || (tol.rel !== undefined && err <= tol.rel * Math.abs(want));
  assert.ok(ok, `${msg}: got ${got}, want ${want} (|diff| ${err.toExponential(2)}, tol ${JSON.stringify(tol)})`);
}

const withNative = (on, f) => withSetting(setNativeKernels, on, f);

/** Runs one fixture case through the registry and `evaluateLayer`; checks values, units, params, ceilings. */
function checkCase(fx, c) {
  const T = matrixOf(fx.inputs[c.input], Float32Array);
  const y = Int32Array.from(fx.labels?.[c.labels] ?? new Array(T.rows).fill(0));
  const xIds = c.xIds ? Int32Array.from(fx.xIds[c.xIds]) : undefined;
  const x = c.x ? matrixOf(fx.inputs[c.x], Float32Array) : undefined;
  const layer = {index: 1, name: 'h1', activation: c.activation};
  // validity diagnostics (out_of_range, noise_to_spread) are checked against closed forms in warnings.test.js
  const rows = evaluateLayer(T, layer, 7, [{name: c.estimator, params: c.params}], y, {name: 'all'}, xIds, {x, runningMax: c.runningMax, seed: 0}).filter((r) => !isDiagnostic(r.quantity));
  const est = estimators.get(c.estimator);
  const parsed = est.params.parse(c.params);
  const what = `${c.estimator} ${JSON.stringify(c.params)} on ${c.input}`;
  assert.deepEqual(rows.map((r) => r.quantity).sort(), Object.keys(c.expected).sort(), `${what}: quantities`);
  for (const r of rows) {
    near(r.value, c.expected[r.quantity], c.tol, `${what} ${r.quantity}`);
    if ('unit' in parsed) assert.equal(r.unit, parsed.unit, `${what} ${r.quantity}: unit`);
    for (const [k, v] of Object.entries(c.params)) if (k !== 'unit') assert.ok(r.params.split(';').includes(`${k}=${v}`), `${what}: params '${r.params}' lack ${k}=${v}`);
    assert.equal(r.n, T.rows);
  }
  // declared ceilings (log2 N, H(X), min(N, d), ...) from the estimator itself
  if (c.ceiling) {
    const vals = est.compute({T, y, xIds, x, activation: c.activation, runningMax: c.runningMax, seed: 0}, parsed);
    for (const [q, want] of Object.entries(c.ceiling)) near(vals.find((v) => v.quantity === q).ceiling, want, {abs: 1e-12, rel: 1e-12}, `${what} ${q} ceiling`);
  }
}

describe('independent references (NumPy/SciPy fixtures, scripts/reference/fixtures.py)', () => {
  const fixtures = Object.fromEntries(ESTIMATOR_FAMILIES.map((f) => [f, loadReference(f)]));

  it('every registered estimator has a NumPy/SciPy reference, and every referenced one is registered', () => {
    const referenced = new Set(Object.values(fixtures).flatMap((fx) => fx.cases.map((c) => c.estimator)));
    for (const name of estimators.names()) {
      assert.ok(referenced.has(name) || name in REFERENCED_ELSEWHERE, `estimator ${name} has no reference fixture (add one to scripts/reference/fixtures.py)`);
    }
    for (const name of referenced) assert.ok(estimators.has(name), `fixture names ${name}, which is not registered`);
    for (const file of Object.values(REFERENCED_ELSEWHERE)) assert.ok(readdirSync(join(ROOT, 'test')).includes(file), file);
    const models = new Set(['local-rank', 'weight-features'].flatMap((f) => loadReference(f).cases.map((c) => c.metric)));
    for (const name of modelMetrics.names()) assert.ok(models.has(name) || name in REFERENCED_ELSEWHERE, `model metric ${name} has no reference fixture`);
    // the fixtures say where they come from
    for (const fx of Object.values(fixtures)) assert.match(fx.source, /scripts\/reference\/fixtures\.py/);
  });

  for (const family of ESTIMATOR_FAMILIES) {
    describe(`${family}.json (spec ${loadReference(family).spec})`, () => {
      const fx = loadReference(family);
      fx.cases.forEach((c, i) => {
        if (c.estimator === 'geom.dsmi') return; // below: fixed subsets
        it(`#${i} ${c.estimator} ${JSON.stringify(c.params)} on ${c.input}${c.xIds ? ' (repeated inputs)' : ''}${c.x ? ' (with X)' : ''}${c.activation ? ` (${c.activation})` : ''}`, () => checkCase(fx, c));
      });
    });
  }

  describe('spectral estimators with the WebAssembly kernels off (TDLAB_NATIVE=0 path)', () => {
    for (const family of ['dse', 'matrix-entropy', 'spectrum']) {
      it(`${family}.json: every case`, () => {
        const fx = loadReference(family);
        withNative(false, () => fx.cases.filter((c) => c.estimator !== 'geom.dsmi').forEach((c) => checkCase(fx, c)));
      });
    }
  });

  describe('geom.dsmi (spec 6)', () => {
    const fx = loadReference('dse');
    const T = matrixOf(fx.inputs.Z, Float32Array);
    const y = Int32Array.from(fx.labels.y);
    for (const c of fx.cases.filter((k) => k.estimator === 'geom.dsmi')) {
      const p = estimators.get('geom.dsmi').params.parse(c.params);
      it(`the DSMI formula on NumPy's subsets ${JSON.stringify(c.params)}: sum_c p(c) [mean DSE(subsets) - DSE(class)]`, () => {
        const byLabel = new Map(c.classes.map((k) => [k.label, k.subsets]));
        const draw = (label, r, n, nc) => {
          const s = byLabel.get(label)[r];
          assert.equal(s.length, nc);
          return s;
        };
        near(dsmiBits(T, y, p.sigma, p.t, p.repetitions, 0, draw), c.expected.I_TY, c.tol, 'DSMI');
      });
      it(`the registered estimator (tdlab's seeded subsets) lies within 6 sd of NumPy's Monte-Carlo mean ${JSON.stringify(c.params)}`, () => {
        const rows = evaluateLayer(T, {index: 1, name: 'h1'}, 0, [{name: 'geom.dsmi', params: c.params}], y, {name: 'all'}, undefined, {seed: 0});
        assert.equal(rows.length, 1);
        const {mean, sd} = c.randomSubsets;
        assert.ok(Math.abs(rows[0].value - mean) <= 6 * sd, `DSMI ${rows[0].value} vs ${mean} +- ${sd}`);
      });
    }
  });

  describe('local-rank.json (spec 5): analytic Gram and explicit paths, the registry, the float32 VJP path', () => {
    const fx = loadReference('local-rank');
    const netOf = (name, W = Float64Array) => ({
      layers: fx.nets[name].map((l) => ({W: matrixOf(l.W, W).data, rows: l.W.rows, cols: l.W.cols, b: W.from(Float32Array.from(l.b)), activation: l.activation})),
    });
    const Xof = (name) => matrixOf(fx.x[name], Float64Array);
    for (const c of fx.cases) {
      const what = `${c.net} ${JSON.stringify(c.params)}`;
      it(`${what}: registry values per layer`, () => {
        const metric = modelMetrics.get('geom.local_rank');
        const vals = metric.compute(netOf(c.net), Xof(c.x), metric.params.parse(c.params), 0);
        for (const l of c.layers) {
          for (const [q, want] of Object.entries(l.expected)) {
            const v = vals.find((r) => r.layerIndex === l.layerIndex && r.quantity === q);
            assert.ok(v, `${what} layer ${l.layerIndex} ${q} missing`);
            near(v.value, want, q === 's_max_mean' ? {rel: 1e-10} : {abs: 1e-12}, `${what} layer ${l.layerIndex} ${q}`);
            assert.equal(v.n, fx.x[c.x].rows);
          }
        }
      });
      for (const method of ['gram', 'explicit']) {
        it(`${what}: ${method} path, per-point ranks${Object.keys(c.params).length ? '' : ' and singular values'}`, () => {
          const p = {tol: 0.01, post: false, points: 128, ...c.params, method, keepSingularValues: true};
          const r = localRank(netOf(c.net), Xof(c.x), p);
          for (const l of c.layers) {
            const got = r.layers.find((g) => g.layerIndex === l.layerIndex);
            assert.deepEqual(Array.from(got.ranks), l.ranks, `${what} ${method} layer ${l.layerIndex} ranks`);
            assert.deepEqual(Array.from(got.numericalRanks), l.numericalRanks, `${what} ${method} layer ${l.layerIndex} numerical ranks`);
            if (!l.singularValues) continue;
            l.singularValues.forEach((want, m) => {
              const s = got.singularValues[m];
              const smax2 = want[0] ** 2;
              // eigenvalues of a float64 Gram: ~n eps s_max^2; the fixture keeps 12 significant digits
              for (let i = 0; i < want.length; i++) near(s[i] ** 2, want[i] ** 2, {abs: 3e-11 * smax2}, `${what} ${method} layer ${l.layerIndex} point ${m} s${i}^2`);
              for (let i = want.length; i < s.length; i++) assert.ok(s[i] <= 1e-6 * want[0]);
            });
          }
        });
      }
    }

    describe('float32 VJP path (any tdlab model)', function () {
      let tf;
      before(async () => {
        ({tf} = await loadBackend('wasm'));
      });
      const vjpCases = fx.cases.filter((c) => !c.params.relTol && !c.params.tol);
      for (const c of vjpCases) {
        it(`${c.net} ${JSON.stringify(c.params)}: ranks where no singular value is within float32 reach of tol; singular values to 1e-5 s_max`, async () => {
          const layers = fx.nets[c.net];
          const hidden = layers.slice(0, -1);
          const plan = planModel({activation: hidden[0].activation, init: 'he_normal', layers: hidden.map((l) => ({type: 'dense', units: l.W.cols}))}, [layers[0].W.rows], layers.at(-1).W.cols);
          assert.deepEqual(plan.layers.map((l) => l.activation), layers.map((l) => l.activation));
          const params = layers.flatMap((l) => [Float32Array.from(l.W.data), Float32Array.from(l.b)]);
          const X = Xof(c.x);
          const r = await localRankVjp(tf, plan, params, X, {tol: 0.01, post: false, points: 128, ...c.params, keepSingularValues: true});
          // the registry's computeModel runs the same path on a CheckpointModel
          const viaRegistry = await modelMetrics.get('geom.local_rank').computeModel({plan, params, source: 'fixture'}, X, modelMetrics.get('geom.local_rank').params.parse(c.params), 0, {tf: async () => tf});
          let compared = 0;
          let points = 0;
          for (const l of c.layers) {
            const got = r.layers.find((g) => g.layerIndex === l.layerIndex);
            const reg = viaRegistry.find((v) => v.layerIndex === l.layerIndex && v.quantity === 'local_rank');
            assert.equal(reg.value, got.meanRank);
            // float32 Jacobians resolve singular values to ~1e-6 s_max: compare the rank at points
            // where no singular value lies within 2e-4 max(1, s_max) of the tolerance
            l.ranks.forEach((want, m) => {
              points++;
              if (l.pointMargins[m] <= 2e-4 * Math.max(1, l.expected.s_max_mean)) return;
              assert.equal(got.ranks[m], want, `${c.net} layer ${l.layerIndex} point ${m}: rank`);
              compared++;
            });
            if (!l.singularValues) continue;
            l.singularValues.forEach((want, m) => {
              for (let i = 0; i < want.length; i++) near(got.singularValues[m][i], want[i], {abs: 1e-5 * want[0]}, `${c.net} layer ${l.layerIndex} point ${m} s${i}`);
            });
          }
          assert.ok(compared >= 0.9 * points, `${c.net}: ranks compared at ${compared} of ${points} points`);
        });
      }
    });
  });

  describe('weight-features.json (spec 8.1)', () => {
    const fx = loadReference('weight-features');
    const c = fx.cases[0];
    const net = {layers: fx.net.map((l) => ({W: matrixOf(l.W, Float32Array).data, rows: l.W.rows, cols: l.W.cols, b: Float32Array.from(l.b), activation: l.activation}))};
    it('network-level (layerIndex -1) and per-layer values through the registry', () => {
      const metric = modelMetrics.get('weights.features');
      const vals = metric.compute(net, undefined, metric.params.parse({}), 0);
      assert.deepEqual(vals.filter((v) => v.layerIndex === -1).map((v) => v.quantity).sort(), Object.keys(c.network).sort());
      for (const [q, want] of Object.entries(c.network)) near(vals.find((v) => v.layerIndex === -1 && v.quantity === q).value, want, c.tol, `network ${q}`);
      for (const l of c.layers) {
        assert.deepEqual(vals.filter((v) => v.layerIndex === l.layerIndex).map((v) => v.quantity).sort(), Object.keys(l.expected).sort());
        for (const [q, want] of Object.entries(l.expected)) near(vals.find((v) => v.layerIndex === l.layerIndex && v.quantity === q).value, want, c.tol, `layer ${l.layerIndex} ${q}`);
      }
    });
    it('computeModel on the same weights as a tdlab model (plan layer indices) gives the same values', async () => {
      const metric = modelMetrics.get('weights.features');
      const hidden = fx.net.slice(0, -1);
      const plan = planModel({activation: 'relu', init: 'he_normal', layers: hidden.map((l) => ({type: 'dense', units: l.W.cols}))}, [fx.net[0].W.rows], fx.net.at(-1).W.cols);
      const params = fx.net.flatMap((l) => [Float32Array.from(l.W.data), Float32Array.from(l.b)]);
      const vals = await metric.computeModel({plan, params, source: 'fixture'}, undefined, {}, 0, {tf: async () => assert.fail('no backend needed')});
      for (const [q, want] of Object.entries(c.network)) near(vals.find((v) => v.layerIndex === -1 && v.quantity === q).value, want, c.tol, `network ${q}`);
      for (const l of c.layers) for (const [q, want] of Object.entries(l.expected)) near(vals.find((v) => v.layerIndex === plan.layers[l.layerIndex - 1].index && v.quantity === q).value, want, c.tol, `layer ${l.layerIndex} ${q}`);
    });
  });

  describe('eigen.json: src/linalg against numpy.linalg (WebAssembly kernels on and off)', () => {
    const fx = loadReference('eigen');
    for (const native of [true, false]) {
      const path = native ? 'WebAssembly kernels' : 'TypeScript (TDLAB_NATIVE=0)';
      it(`eigvalsh reads only the triangle named by uplo, as numpy's UPLO ('L' and 'U', n = 1..64): ${path}`, () => {
        withNative(native, () => {
          for (const s of fx.symmetric) {
            const A = matrixOf(s.A, Float64Array).data;
            const scale = Math.max(1e-300, ...s.eigvalsL.map(Math.abs), ...s.eigvalsU.map(Math.abs));
            for (const [uplo, want] of [['L', s.eigvalsL], ['U', s.eigvalsU]]) {
              const got = eigvalsh(A, s.n, {uplo});
              want.forEach((w, i) => near(got[i], w, {abs: 1e-13 * s.n * scale}, `${s.name ?? `n=${s.n}`} ${uplo} ${i}`));
            }
          }
        });
      });
      it(`Gram spectra Z^T Z (both sides): ${path}`, () => {
        withNative(native, () => {
          for (const g of fx.gram) {
            const Z = matrixOf(g.Z, Float64Array);
            const got = gramEigenvalues(Z.data, Z.rows, Z.cols);
            assert.equal(got.length, g.eigvals.length);
            g.eigvals.forEach((w, i) => near(got[i], w, {abs: 1e-12 * g.eigvals[0]}, `${Z.rows}x${Z.cols} ${i}`));
          }
        });
      });
    }
    it('eigh: values and unit eigenvectors (up to sign) of numpy.linalg.eigh, both uplo', () => {
      const A = matrixOf(fx.eigh.A, Float64Array).data;
      const V = matrixOf(fx.eigh.vectors, Float64Array).data;
      const n = fx.eigh.values.length;
      for (const uplo of ['L', 'U']) {
        const {values, vectors} = eigh(A, n, {uplo});
        fx.eigh.values.forEach((w, i) => near(values[i], w, {abs: 1e-12 * Math.abs(fx.eigh.values[0])}, `value ${i}`));
        for (let c = 0; c < n; c++) {
          let dot = 0;
          for (let r = 0; r < n; r++) dot += vectors[r * n + c] * V[r * n + c];
          near(Math.abs(dot), 1, {abs: 1e-12}, `vector ${c}`);
        }
      }
      for (const s of fx.symmetric.filter((k) => k.n <= 24)) {
        const got = eigh(matrixOf(s.A, Float64Array).data, s.n, {uplo: 'U'}).values;
        const scale = Math.max(1e-300, ...s.eigvalsU.map(Math.abs));
        s.eigvalsU.forEach((w, i) => near(got[i], w, {abs: 1e-13 * s.n * scale}, `${s.name ?? `n=${s.n}`} eigh U ${i}`));
      }
    });
    it('covariance (ddof 1), PCA scores (up to sign), whitening log-determinant, minimum-norm least squares', () => {
      const d = fx.dense;
      const X = matrixOf(d.X, Float64Array);
      const {mean, cov} = covariance(X.data, X.rows, X.cols);
      d.mean.forEach((w, j) => near(mean[j], w, {abs: 1e-12}, `mean ${j}`));
      d.cov.data.forEach((w, i) => near(cov[i], w, {abs: 1e-12 * Math.abs(d.cov.data[0]), rel: 1e-12}, `cov ${i}`));
      const {scores, values} = pcaProject(X.data, X.rows, X.cols, 2);
      d.pcaValues.forEach((w, i) => near(values[i], w, {rel: 1e-12}, `pca value ${i}`));
      for (let c = 0; c < 2; c++) {
        const sign = Math.sign(scores[c]) * Math.sign(d.pcaScores.data[c]);
        for (let r = 0; r < X.rows; r++) near(sign * scores[r * 2 + c], d.pcaScores.data[r * 2 + c], {abs: 1e-10}, `score ${r},${c}`);
      }
      near(whiten(X.data, X.rows, X.cols).logDet, d.whiteLogDet, {abs: 1e-10}, 'ln det');
      for (const l of fx.lstsq) {
        const A = matrixOf(l.A, Float64Array);
        const w = lstsqMinNorm(A.data, A.rows, A.cols, Float64Array.from(l.b), 1e-6);
        l.x.forEach((want, i) => near(w[i], want, {abs: 1e-10}, `lstsq ${A.rows}x${A.cols} ${i}`));
      }
    });
    it('weighted-KL weights (knn.json: numpy.linalg.lstsq of the Berrett-Samworth-Yuan system)', () => {
      for (const {k, d, w} of loadReference('knn').wklWeights) {
        const got = wklWeights(k, d);
        // our minimum-norm solver goes through the normal equations (condition number squared):
        // the d = 12 system (weights up to ~140 with cancellation) agrees to ~2e-8 relative
        w.forEach((want, j) => near(got[j], want, {abs: 1e-10, rel: d >= 12 ? 1e-7 : 1e-9}, `k=${k} d=${d} w${j + 1}`));
      }
    });
  });
});
