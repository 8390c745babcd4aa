// tdlab phases: Gaussian HMM core (spec 8.2 sanity check, forward vs brute force, EM monotonicity),
// feature grammar, and the CLI on two tiny real runs.
import assert from 'node:assert/strict';
import {readdirSync} from 'node:fs';
import {join} from 'node:path';
import {baumWelch, bic, fitHmm, initHmm, loglik, nParams, selectK, sequenceLoglik, viterbi} from '../dist/phases/hmm.js';
import {analyzePhases, splitRuns, zscoreColumns} from '../dist/phases/analyze.js';
import {parseFeature, runMatrix, splitFeatureList} from '../dist/phases/features.js';
import {Rng} from '../dist/util/prng.js';
import {runAll, runCli, tempDir} from './helpers.js';

/** Samples `n` sequences of length `T` from a Gaussian HMM with diagonal covariance. */
function sampleHmm({start, trans, means, sds}, n, T, seed) {
  const rng = new Rng(seed, 'test-hmm');
  const D = means[0].length;
  const draw = (p) => {
    let u = rng.uniform();
    for (let i = 0; i < p.length; i++) if ((u -= p[i]) < 0) return i;
    return p.length - 1;
  };
  const seqs = [];
  const states = [];
  for (let s = 0; s < n; s++) {
    const data = new Float64Array(T * D);
    const z = new Int32Array(T);
    let k = draw(start);
    for (let t = 0; t < T; t++) {
      if (t > 0) k = draw(trans[k]);
      z[t] = k;
      for (let d = 0; d < D; d++) data[t * D + d] = means[k][d] + sds[k][d] * rng.normal();
    }
    seqs.push({data, length: T, dim: D});
    states.push(z);
  }
  return {seqs, states};
}

function permutations(k) {
  if (k === 1) return [[0]];
  return permutations(k - 1).flatMap((p) => Array.from({length: k}, (_, i) => [...p.slice(0, i), k - 1, ...p.slice(i)]));
}

/** Best accuracy of decoded states against the truth over all relabellings. */
function accuracyUpToPermutation(decoded, truth, k) {
  let best = 0;
  for (const perm of permutations(k)) {
    let ok = 0;
    let n = 0;
    decoded.forEach((d, i) => d.forEach((s, t) => ((n += 1), (ok += perm[s] === truth[i][t] ? 1 : 0))));
    best = Math.max(best, ok / n);
  }
  return best;
}

const TRUE_HMM = {
  start: [0.6, 0.3, 0.1],
  trans: [
    [0.95, 0.04, 0.01],
    [0.02, 0.95, 0.03],
    [0.03, 0.02, 0.95],
  ],
  means: [
    [-3, 0],
    [0, 3],
    [3, -1],
  ],
  sds: [
    [1, 1],
    [1, 0.8],
    [0.9, 1.2],
  ],
};

describe('phases: Gaussian HMM core', function () {
  it('spec 8.2 sanity: 40 sequences x 200 from a known 3-state HMM -> BIC picks K = 3, Viterbi accuracy > 95%', function () {
    const {seqs, states} = sampleHmm(TRUE_HMM, 40, 200, 7);
    const {fit, heldOut} = splitRuns(40, 0);
    assert.equal(heldOut.length, 8);
    const sel = selectK(fit.map((i) => seqs[i]), heldOut.map((i) => seqs[i]), {kMin: 1, kMax: 8, restarts: 5, seed: 0, cov: 'diag'});
    assert.equal(sel.candidates.length, 8);
    assert.equal(sel.k, 3, `BIC per K: ${sel.candidates.map((c) => `${c.k}:${c.bic.toFixed(1)}`).join(' ')}`);
    const model = sel.candidates.find((c) => c.k === 3).fit.model;
    const acc = accuracyUpToPermutation(seqs.map((s) => viterbi(model, s).states), states, 3);
    assert.ok(acc > 0.95, `Viterbi accuracy ${acc}`);
    // BIC uses the held-out observation count and the spec's parameter count
    const c3 = sel.candidates[2];
    assert.equal(c3.nParams, 2 + 6 + 6 + 6);
    assert.equal(sel.nObs, 8 * 200);
    assert.ok(Math.abs(c3.bic - bic(c3.loglik, c3.nParams, 1600)) < 1e-9);
  });

  it('forward log-likelihood equals a brute-force sum over all state paths (T = 4, K = 2)', function () {
    for (const cov of ['diag', 'full']) {
      const model = {
        k: 2,
        dim: 2,
        cov,
        startprob: Float64Array.from([0.3, 0.7]),
        transmat: Float64Array.from([0.8, 0.2, 0.35, 0.65]),
        means: Float64Array.from([0, 1, 2, -1]),
        covars: cov === 'diag' ? Float64Array.from([1, 0.5, 2, 0.7]) : Float64Array.from([1, 0.3, 0.3, 0.5, 2, -0.4, -0.4, 0.7]),
      };
      const seq = {data: Float64Array.from([0.1, 0.9, 2.2, -0.5, 1.5, 0.2, -0.3, 1.1]), length: 4, dim: 2};
      const logN = (x, s) => {
        const m = [model.means[2 * s], model.means[2 * s + 1]];
        let a, b, c;
        if (cov === 'diag') [a, b, c] = [model.covars[2 * s], 0, model.covars[2 * s + 1]];
        else [a, b, c] = [model.covars[4 * s], model.covars[4 * s + 1], model.covars[4 * s + 3]];
        const det = a * c - b * b;
        const [u, v] = [x[0] - m[0], x[1] - m[1]];
        const q = (c * u * u - 2 * b * u * v + a * v * v) / det;
        return -Math.log(2 * Math.PI) - 0.5 * Math.log(det) - 0.5 * q;
      };
      let total = 0;
      for (let path = 0; path < 16; path++) {
        const z = [0, 1, 2, 3].map((t) => (path >> t) & 1);
        let lp = Math.log(model.startprob[z[0]]);
        for (let t = 0; t < 4; t++) {
          if (t > 0) lp += Math.log(model.transmat[z[t - 1] * 2 + z[t]]);
          lp += logN([seq.data[2 * t], seq.data[2 * t + 1]], z[t]);
        }
        total += Math.exp(lp);
      }
      const ll = sequenceLoglik(model, seq);
      assert.ok(Math.abs(ll - Math.log(total)) < 1e-10, `${cov}: forward ${ll} vs brute force ${Math.log(total)}`);
      // Viterbi's log-probability is the best single path's
      const {states, logprob} = viterbi(model, seq);
      assert.equal(states.length, 4);
      assert.ok(logprob <= ll + 1e-12);
    }
  });

  it('EM never decreases the likelihood (plain ML and with the default pseudocount; diag and full)', function () {
    const {seqs} = sampleHmm(TRUE_HMM, 6, 80, 3);
    for (const [cov, pseudocount] of [['diag', 0], ['diag', undefined], ['full', 0]]) {
      for (const k of [2, 3, 4]) {
        const init = initHmm(seqs, k, cov, new Rng(k, 'em-test'));
        const res = baumWelch(seqs, init, {maxIter: 40, tol: 0, pseudocount});
        assert.ok(res.history.length >= 2);
        for (let i = 1; i < res.history.length; i++) {
          const slack = 1e-9 * Math.abs(res.history[i - 1]);
          assert.ok(res.history[i] >= res.history[i - 1] - slack, `${cov} K=${k} iteration ${i}: ${res.history[i - 1]} -> ${res.history[i]}`);
        }
        assert.ok(res.loglik >= loglik(init, seqs) - 1e-6, 'final model is no worse than the initial one');
      }
    }
  });

  it('nParams follows spec 8.2 for diag; fitHmm is deterministic for a seed', function () {
    assert.equal(nParams(3, 4, 'diag'), 2 + 6 + 12 + 12);
    assert.equal(nParams(2, 3, 'full'), 1 + 2 + 6 + 12);
    const {seqs} = sampleHmm(TRUE_HMM, 4, 50, 11);
    const a = fitHmm(seqs, {k: 3, seed: 5, restarts: 2});
    const b = fitHmm(seqs, {k: 3, seed: 5, restarts: 2});
    assert.deepEqual(Array.from(a.model.means), Array.from(b.model.means));
    assert.equal(a.restartLogliks.length, 2);
  });
});

describe('phases: data preparation and features', function () {
  it('z-scores columns within a run (constant columns become 0) and splits runs 80/20 with a seed', function () {
    const data = Float64Array.from([1, 5, 2, 5, 3, 5]);
    const constant = zscoreColumns(data, 3, 2);
    assert.deepEqual(constant, [1]);
    const s = Math.sqrt(2 / 3);
    assert.deepEqual(Array.from(data).map((v) => Number(v.toFixed(12))), [-1 / s, 0, 0, 0, 1 / s, 0].map((v) => Number(v.toFixed(12))));
    const split = splitRuns(10, 0);
    assert.equal(split.heldOut.length, 2);
    assert.equal(split.fit.length, 8);
    assert.deepEqual(splitRuns(10, 0), split);
    assert.deepEqual([...split.fit, ...split.heldOut].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(splitRuns(1, 0), {fit: [0], heldOut: []});
  });

  it('parses the feature grammar and builds the epoch x feature matrix', function () {
    assert.deepEqual(splitFeatureList(['mi.bin[bins=30,lo=-1]:I_XT:h5,train:train_loss', ' train:grad_snr:h3 ']), [
      'mi.bin[bins=30,lo=-1]:I_XT:h5',
      'train:train_loss',
      'train:grad_snr:h3',
    ]);
    const f = parseFeature('mi.kde[noiseVariance=0.001]:I_XT:3');
    assert.deepEqual({e: f.estimator, p: f.params, q: f.quantity, l: f.layer, s: f.source}, {e: 'mi.kde', p: ['noiseVariance=0.001'], q: 'I_XT', l: '3', s: 'metric'});
    assert.equal(parseFeature('train:train_loss').layer, '');
    assert.equal(parseFeature('curv.hessian:lambda_max').layer, '', 'no layer: a network-level value');
    assert.throws(() => parseFeature('mi.bin:I_XT:h1:x'), /<estimator>:<quantity>\[:<layer>\]/);
    const row = (epoch, params, value, subset = 'all') => ({epoch, layerIndex: 2, layer: 'h2', estimator: 'mi.bin', quantity: 'I_XT', params, subset, n: 10, value, unit: 'bits', atCeiling: false});
    const metrics = [row(0, 'bins=30', 1), row(2, 'bins=30', 2), row(4, 'bins=30', 3), row(0, 'bins=10', 9), row(0, 'bins=30', 99, 'train')];
    const training = [0, 1, 2, 3, 4].map((e) => ({epoch: e, layerIndex: -1, layer: '', quantity: 'train_loss', value: 10 - e}));
    assert.match(runMatrix([parseFeature('mi.bin:I_XT:h2')], metrics, training), /2 parameter sets match/);
    const m = runMatrix([parseFeature('mi.bin[bins=30]:I_XT:2'), parseFeature('train:train_loss')], metrics, training);
    assert.deepEqual(m.epochs, [0, 2, 4]);
    assert.deepEqual(Array.from(m.data), [1, 10, 2, 8, 3, 6]);
    assert.match(runMatrix([parseFeature('train:nope')], metrics, training), /no training rows/);
  });

  it('analyzePhases drops runs with NaNs, numbers states by time and names the features of each transition', function () {
    // two features; state A (first half): (0, 0); state B (second half): (0, 10) -> feature y moves
    const rng = new Rng(1, 'phase-runs');
    const runs = Array.from({length: 6}, (_, r) => {
      const T = 40;
      const data = new Float64Array(T * 2);
      for (let t = 0; t < T; t++) {
        data[t * 2] = rng.normal() * 0.3;
        data[t * 2 + 1] = (t < 20 ? 0 : 10) + rng.normal() * 0.3;
      }
      return {id: `run${r}`, epochs: Array.from({length: T}, (_, t) => t * 5), data};
    });
    runs[5].data[7] = NaN;
    const res = analyzePhases(runs, ['x', 'y'], {kMin: 1, kMax: 3, restarts: 2, cov: 'diag', seed: 0});
    assert.equal(res.k, 2);
    assert.deepEqual(res.runs.dropped.map((d) => d.runDir), ['run5']);
    assert.equal(res.runs.fit.length + res.runs.heldOut.length, 5);
    assert.deepEqual(res.paths.run0.slice(0, 3), [0, 0, 0]);
    assert.deepEqual(res.segments.run0, [{state: 0, from: 0, to: 95}, {state: 1, from: 100, to: 195}]);
    const t01 = res.transitions.find((t) => t.from === 0 && t.to === 1);
    assert.equal(t01.features[0].name, 'y');
    assert.ok(t01.features[0].delta > 1.5);
    assert.ok(t01.count >= 5);
    assert.deepEqual(Object.keys(res.bic), ['1', '2', '3']);
  });
});

describe('phases: CLI on two real runs', function () {
  this.timeout(300000);
  let out;
  before(async function () {
    out = tempDir('tdlab-phases-');
    const args = (seed) => ['run', 'configs/tishby.yaml', '--set', 'train.epochs=40', '--set', 'train.snapshots=every:2', '--set', 'metrics.estimators=[mi.bin]', '--seed', String(seed), '--out', out, '--json'];
    const results = await runAll([args(1), args(2)]);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
  });

  it('segments the runs and prints JSON with the documented fields', async function () {
    const r = await runCli(['phases', out, '--features', 'mi.bin:I_XT:h5,mi.bin:I_TY:h5,train:grad_snr:h3', '--k', '1..4', '--restarts', '3', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    for (const key of ['k', 'bic', 'aic', 'loglik', 'means', 'variances', 'transmat', 'startprob', 'paths', 'transitions']) assert.ok(key in j, `missing ${key}`);
    assert.deepEqual(Object.keys(j.bic), ['1', '2', '3', '4']);
    assert.ok(j.k >= 1 && j.k <= 4);
    assert.equal(j.means.length, j.k);
    assert.equal(j.means[0].length, 3);
    assert.equal(j.transmat.length, j.k);
    for (const row of j.transmat) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    const runs = readdirSync(join(out, 'tishby')).map((d) => join(out, 'tishby', d));
    assert.deepEqual(Object.keys(j.paths).sort(), runs.sort());
    for (const run of runs) {
      assert.equal(j.paths[run].length, j.epochs[run].length, 'one state per snapshot epoch');
      assert.equal(j.epochs[run][0], 0);
      assert.ok(j.epochs[run].length >= 20, `${j.epochs[run].length} snapshot epochs (every 2nd of 40)`);
      assert.ok(j.paths[run].every((s) => Number.isInteger(s) && s >= 0 && s < j.k));
    }
    assert.equal(j.runs.fit.length, 1);
    assert.equal(j.runs.heldOut.length, 1);
    for (const t of j.transitions) assert.deepEqual(t.features.map((f) => f.name).sort(), ['mi.bin:I_TY:h5', 'mi.bin:I_XT:h5', 'train:grad_snr:h3']);
  });

  it('expands * layers, prints a text summary, and reports unknown features as usage errors', async function () {
    const r = await runCli(['phases', out, '--features', 'mi.bin:I_XT:*', '--k', '1..3']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /chosen K = \d/);
    assert.match(r.stdout, /mi\.bin:I_XT:out/);
    const bad = await runCli(['phases', out, '--features', 'mi.kde:I_XT:h5', '--json']);
    assert.equal(bad.code, 2);
    assert.match(JSON.parse(bad.stdout).error.message, /no metric rows for mi\.kde:I_XT:h5/);
    const badK = await runCli(['phases', out, '--features', 'train:train_loss', '--k', '0..3']);
    assert.equal(badK.code, 2);
    assert.match(badK.stderr, /--k 0\.\.3/);
  });
});
