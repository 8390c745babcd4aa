// Contract tests for every registered estimator and model metric (issue 13, item 4), in the spirit
// of torchmetrics' MetricTester and scikit-learn's check_estimator. They iterate the registries
// (`estimators.names()`, `modelMetrics.names()` in src/metrics/registry.ts), so an estimator is
// covered the day it is registered; the tables below only hold documented exceptions, and a table
// entry for a name that is no longer registered fails.
//
// Contracts: determinism; invariance under a permutation of the rows (exact for the discrete
// estimators); every parameter stored with each value (`evaluateLayer` rows); units (the `nats`
// value is the `bits` value times ln 2); ceiling flags (a declared ceiling is an upper bound, and a
// value within 1% of it is flagged); the non-finite policy of issue 11 (pending, see below).
import assert from 'node:assert/strict';
import {evaluateLayer} from '../dist/metrics/evaluate.js';
import {estimators, modelMetrics} from '../dist/metrics/registry.js';
import {gaussian, uniform} from './helpers.js';

/** How each estimator is invariant under a permutation of the rows. Default: to 1e-9 relative. */
const PERMUTATION = {
  // discrete estimators: the same multiset of states; entropies sum counts in sorted order
  'mi.bin': 'exact',
  'mi.binwidth': 'exact',
  'mi.ebab': 'exact',
  'mi.adaptmax': 'exact',
  'act.stats': 'exact',
  // DSMI draws its random subsets by row index (seeded): invariant in distribution only. Exact
  // invariance is checked on inputs where every subset of a class's size has the same geometry
  // (rows mutually far apart); the distribution is checked against NumPy in reference.test.js.
  'geom.dsmi': 'exchangeable-rows',
  // MBE is defined on consecutive patches of rows (token sequences, spec 7.4): invariant under
  // reordering whole patches and rows within a patch, not under arbitrary permutations.
  'ent.mbe2': 'within-patches',
};

const N = 96;
const D = 4;

/** Seeded permutation (Fisher-Yates on a mulberry32 stream), independent of src/util/prng. */
function permutation(n, seed) {
  const u = uniform(seed);
  const p = Array.from({length: n}, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** A generic layer: 3 classes, continuous distinct float32 rows, continuous inputs X. */
function genericInput() {
  const g = gaussian(11);
  const y = Int32Array.from({length: N}, (_, i) => i % 3);
  const x = Float32Array.from({length: N * 2}, () => g());
  const T = new Float32Array(N * D);
  for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) T[i * D + j] = Math.tanh(0.8 * g() + 0.6 * x[2 * i + (j % 2)] + 0.5 * (y[i] === j ? 1 : 0));
  return {T: {data: T, rows: N, cols: D}, y, x: {data: x, rows: N, cols: 2}};
}

/** Few distinct values: repeated states with unequal counts (the discrete estimators' sums). */
function coarseInput() {
  const g = gaussian(13);
  // two columns with three levels each (9 states, counts ~ 5..20), the others constant
  const T = Float32Array.from({length: N * D}, (_, k) => (k % D < 2 ? Math.round(Math.max(-1.4, Math.min(1.4, g()))) * 0.5 : 0.25));
  return {T: {data: T, rows: N, cols: D}, y: Int32Array.from({length: N}, (_, i) => (i * 5) % 3), x: {data: Float32Array.from({length: N * 2}, () => g()), rows: N, cols: 2}};
}

/** Rows far apart on a 4-level grid in [-1, 1]: distinct after any binning, kernels ~ identity. */
function spreadInput() {
  const T = new Float32Array(N * D);
  for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) T[i * D + j] = ((i >> (2 * j)) & 3) * 0.6 - 0.9;
  const g = gaussian(12);
  return {T: {data: T, rows: N, cols: D}, y: Int32Array.from({length: N}, (_, i) => (i * 7) % 4), x: {data: Float32Array.from({length: N * 2}, () => g()), rows: N, cols: 2}};
}

function permuteRows(m, p) {
  const out = new m.data.constructor(m.data.length);
  p.forEach((src, i) => out.set(m.data.subarray(src * m.cols, (src + 1) * m.cols), i * m.cols));
  return {data: out, rows: m.rows, cols: m.cols};
}

const LAYER = {index: 2, name: 'h2', activation: 'tanh'};
const run = (name, inp, params = {}, layer = LAYER, epoch = 40) =>
  evaluateLayer(inp.T, layer, epoch, [{name, params}], inp.y, {name: 'all'}, inp.xIds, {x: inp.x, seed: 0});
const byQuantity = (rows) => Object.fromEntries(rows.map((r) => [r.quantity, r]));
const same = (a, b) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

function assertClose(a, b, kind, msg) {
  if (kind === 'exact') return assert.ok(same(a, b), `${msg}: ${a} !== ${b} (must be exactly equal)`);
  assert.ok(same(a, b) || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b)) + 1e-12, `${msg}: ${a} vs ${b}`);
}

/** The parameter keys of an estimator's schema (ZodEffects from `.refine` unwrapped). */
function schemaKeys(schema) {
  let s = schema;
  while (s._def?.schema) s = s._def.schema;
  return Object.keys(s.shape ?? {});
}

describe('estimator contracts (every name in the registry)', () => {
  const generic = genericInput();
  const spread = spreadInput();

  it('the exception tables name registered estimators only', () => {
    for (const name of Object.keys(PERMUTATION)) assert.ok(estimators.has(name), `PERMUTATION lists ${name}, which is not registered`);
    assert.ok(estimators.names().length >= 21);
  });

  for (const name of estimators.names()) {
    describe(name, () => {
      const est = estimators.get(name);
      const defaults = est.params.parse({});

      it('is deterministic: two calls give identical values', () => {
        for (const inp of [generic, spread]) {
          const a = run(name, inp);
          const b = run(name, inp);
          assert.deepEqual(a.map((r) => r.quantity), b.map((r) => r.quantity));
          a.forEach((r, i) => assert.ok(same(r.value, b[i].value), `${r.quantity}: ${r.value} vs ${b[i].value}`));
          assert.ok(a.length > 0);
        }
      });

      it(`is invariant under a permutation of the rows (${PERMUTATION[name] ?? 'to 1e-9 relative'})`, () => {
        const kind = PERMUTATION[name] ?? 'rel';
        let inp = generic;
        let p = permutation(N, 5);
        if (kind === 'exchangeable-rows') {
          // rows mutually far apart (>> sigma = 10): every subset's kernel is the identity
          const T = new Float32Array(N * D);
          for (let i = 0; i < N; i++) T[i * D + (i % D)] = 1000 * (1 + i);
          inp = {...generic, T: {data: T, rows: N, cols: D}};
        }
        if (kind === 'within-patches') {
          const P = defaults.patch;
          const patches = permutation(N / P, 6);
          p = patches.flatMap((q, k) => permutation(P, 7 + k).map((r) => q * P + r));
        }
        // exact estimators also on repeated states with unequal counts (kNN estimators would jitter
        // duplicates with a seeded stream indexed by row: not for them)
        for (const src of kind === 'exact' ? [inp, coarseInput()] : [inp]) {
          const perm = {T: permuteRows(src.T, p), y: Int32Array.from(p, (i) => src.y[i]), x: permuteRows(src.x, p)};
          const a = byQuantity(run(name, src));
          const b = byQuantity(run(name, perm));
          assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
          for (const q of Object.keys(a)) assertClose(b[q].value, a[q].value, kind === 'exact' ? 'exact' : 'rel', `${name} ${q}`);
        }
      });

      it('stores every parameter with each value (params column) and n', () => {
        const keys = Object.keys(defaults).filter((k) => k !== 'unit');
        for (const k of schemaKeys(est.params)) if (k !== 'unit') assert.ok(keys.includes(k), `${k} has no default: it would be missing from the params of a value that used it implicitly`);
        for (const r of run(name, generic)) {
          const stored = r.params === '' ? [] : r.params.split(';');
          assert.deepEqual(stored, keys.sort().map((k) => `${k}=${String(defaults[k])}`), `${r.quantity}: params '${r.params}'`);
          assert.equal(r.estimator, name);
          assert.equal(r.n, N);
          assert.equal(r.layer, 'h2');
          assert.equal(r.epoch, 40);
        }
      });

      it('units: a unit parameter is honoured, and nats = bits * ln 2 (values and ceilings)', () => {
        const units = new Set(['bits', 'nats', 'dimensionless', 'count']);
        if (!('unit' in defaults)) {
          for (const r of run(name, generic)) assert.ok(['dimensionless', 'count'].includes(r.unit), `${r.quantity}: unit ${r.unit} without a unit parameter`);
          return;
        }
        const bits = run(name, generic, {unit: 'bits'});
        const nats = byQuantity(run(name, generic, {unit: 'nats'}));
        const input = {T: generic.T, y: generic.y, x: generic.x, activation: 'tanh', seed: 0};
        const cb = byQuantity(est.compute(input, est.params.parse({unit: 'bits'})));
        const cn = byQuantity(est.compute(input, est.params.parse({unit: 'nats'})));
        for (const r of bits) {
          assert.ok(units.has(r.unit));
          const n = nats[r.quantity];
          if (r.unit !== 'bits') {
            assert.equal(n.unit, r.unit, `${r.quantity}: a ${r.unit} value does not change with the unit`);
            continue;
          }
          assert.equal(n.unit, 'nats', r.quantity);
          assert.ok(same(n.value, r.value * Math.LN2) || Math.abs(n.value - r.value * Math.LN2) <= 1e-12 * Math.abs(n.value) + 1e-15, `${r.quantity}: ${n.value} nats vs ${r.value} bits`);
          if (cb[r.quantity].ceiling !== undefined) assert.ok(Math.abs(cn[r.quantity].ceiling - cb[r.quantity].ceiling * Math.LN2) <= 1e-12 * cn[r.quantity].ceiling, `${r.quantity} ceiling`);
        }
      });

      it('ceilings: a declared ceiling bounds the value, and values within 1% of it are flagged', () => {
        for (const inp of [generic, spread]) {
          const vals = byQuantity(est.compute({T: inp.T, y: inp.y, x: inp.x, activation: 'tanh', seed: 0}, defaults));
          for (const r of run(name, inp)) {
            if (!vals[r.quantity]) {
              // a validity diagnostic (Estimator.diagnose, docs/metrics.md "Validity warnings"): no ceiling, never flagged
              const diag = est.diagnose({T: inp.T, y: inp.y, x: inp.x, activation: 'tanh', seed: 0}, defaults).find((d) => d.quantity === r.quantity);
              assert.ok(diag, `${r.quantity}: neither a value nor a diagnostic of ${name}`);
              assert.ok(same(diag.value, r.value));
              assert.equal(r.unit, 'dimensionless');
              assert.equal(r.atCeiling, false);
              continue;
            }
            const c = vals[r.quantity].ceiling;
            assert.ok(same(vals[r.quantity].value, r.value));
            if (c === undefined) {
              assert.equal(r.atCeiling, false, `${r.quantity}: flagged without a ceiling`);
              continue;
            }
            assert.ok(Number.isNaN(r.value) || r.value <= c * (1 + 1e-9) + 1e-12, `${r.quantity}: value ${r.value} above its declared ceiling ${c}`);
            assert.equal(r.atCeiling, c > 0 && r.value >= 0.99 * c, `${r.quantity}: value ${r.value}, ceiling ${c}, flagged ${r.atCeiling}`);
          }
        }
      });
    });
  }

  it('ceiling flags fire: rows that stay distinct reach log2 N for binning and KDE (flagged)', () => {
    for (const name of ['mi.bin', 'mi.binwidth', 'mi.ebab', 'mi.adaptmax', 'mi.kde', 'mi.akde']) {
      const r = byQuantity(run(name, spread)).I_XT;
      assert.ok(Math.abs(r.value - Math.log2(N)) < 1e-9, `${name}: ${r.value}`);
      assert.equal(r.atCeiling, true, name);
    }
  });

  // The non-finite policy (issue 11): non-finite input is a UserError (exit 2) naming the layer
  // and epoch (or file), the row and the column; no estimator returns a finite number computed from it.
  describe('non-finite policy (issue 11)', () => {
    for (const name of estimators.names()) {
      for (const bad of [NaN, Infinity, -Infinity]) {
        it(`${name}: ${bad} at row 7, column 2 of layer h2 at epoch 40 is a UserError naming them, never a finite value`, () => {
          const data = Float32Array.from(generic.T.data);
          data[7 * D + 2] = bad;
          const inp = {...generic, T: {data, rows: N, cols: D}};
          let rows;
          try {
            rows = run(name, inp);
          } catch (err) {
            assert.equal(err.name, 'UserError', `${name}: ${err.message}`);
            assert.equal(err.exitCode, 2);
            assert.match(err.message, /h2/);
            assert.match(err.message, /epoch 40/);
            assert.match(err.message, /row (7|8)\b/);
            assert.match(err.message, /column (2|3)\b/);
            return;
          }
          assert.fail(`${name} returned ${rows.map((r) => `${r.quantity}=${r.value}`).join(', ')} for non-finite input instead of an error`);
        });
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Model metrics (weights + inputs): determinism, input-row permutation, units, non-finite policy.

/** A small float32 dense net: 8 -> 6 (tanh) -> 5 (relu) -> 3 (softmax). */
function smallNet() {
  const g = gaussian(21);
  const dims = [8, 6, 5, 3];
  const acts = ['tanh', 'relu', 'softmax'];
  return {
    layers: acts.map((activation, l) => ({
      W: Float32Array.from({length: dims[l] * dims[l + 1]}, () => (1.5 * g()) / Math.sqrt(dims[l])),
      rows: dims[l],
      cols: dims[l + 1],
      b: Float32Array.from({length: dims[l + 1]}, () => 0.2 * g()),
      activation,
    })),
  };
}

describe('model metric contracts (every name in modelMetrics)', () => {
  const net = smallNet();
  const g = gaussian(22);
  const X = {data: Float64Array.from({length: 40 * 8}, () => Math.fround(g())), rows: 40, cols: 8};
  const labels = Int32Array.from({length: 40}, (_, i) => i % 3);

  for (const name of modelMetrics.names()) {
    describe(name, () => {
      const metric = modelMetrics.get(name);
      const p = metric.params.parse({});
      // a metric of the training loss also gets the rows' labels (permuted with the rows)
      const compute = (x, y = labels) => metric.compute(net, metric.needsInputs ? x : undefined, p, 0, metric.needsLabels ? {y} : undefined);

      it('is deterministic, and its values carry a layer index, n and a unit', () => {
        const a = compute(X);
        const b = compute(X);
        assert.ok(a.length > 0);
        assert.deepEqual(a.map((v) => [v.layerIndex, v.quantity]), b.map((v) => [v.layerIndex, v.quantity]));
        a.forEach((v, i) => assert.ok(same(v.value, b[i].value), `${v.quantity}`));
        for (const v of a) {
          assert.ok(['bits', 'nats', 'dimensionless', 'count'].includes(v.unit));
          assert.ok(v.layerIndex === -1 || (v.layerIndex >= 1 && v.layerIndex <= net.layers.length));
          assert.equal(v.n, metric.needsInputs ? X.rows : 0);
        }
      });

      it('is invariant under a permutation of the input rows (all rows used: N <= points)', () => {
        const order = permutation(X.rows, 9);
        const perm = permuteRows(X, order);
        const a = compute(X);
        const b = compute(perm, Int32Array.from(order, (i) => labels[i]));
        a.forEach((v, i) => assertClose(b[i].value, v.value, 'rel', `${v.layerIndex} ${v.quantity}`));
      });
    });
  }

  describe('non-finite policy (issue 11)', () => {
    for (const name of modelMetrics.names()) {
      it(`${name}: a NaN weight is a UserError naming the layer, never a finite value`, () => {
        const bad = smallNet();
        bad.layers[1].W[3] = NaN;
        const metric = modelMetrics.get(name);
        assert.throws(() => metric.compute(bad, X, metric.params.parse({}), 0), (e) => e.name === 'UserError' && /layer 2|h2/.test(e.message));
      });
      if (modelMetrics.get(name).needsInputs) {
        it(`${name}: a NaN input at row 5, column 1 is a UserError naming them`, () => {
          const data = Float64Array.from(X.data);
          data[5 * 8 + 1] = NaN;
          const metric = modelMetrics.get(name);
          assert.throws(() => metric.compute(net, {data, rows: X.rows, cols: 8}, metric.params.parse({}), 0), (e) => e.name === 'UserError' && /row (5|6)\b/.test(e.message) && /column (1|2)\b/.test(e.message));
        });
      }
    }
  });
});
