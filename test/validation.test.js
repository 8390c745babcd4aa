// Estimator validation suite (spec 10): closed forms against the spec's table, the task samplers'
// moments, runSuite on binning and on a kNN estimator (the registered `mi.ksg` when there is one,
// and always an injected brute-force KSG written here), failure handling, the text/Markdown
// rendering, and the `validate-estimators` command end to end.
import assert from 'node:assert/strict';
import {existsSync, readFileSync, rmSync} from 'node:fs';
import {join} from 'node:path';
import {estimators} from '../dist/metrics/registry.js';
import {
  additiveUniformMi,
  equicorrelated,
  erf,
  erfc,
  gaussianEntropy,
  gaussianMi,
  normalCdf,
  sparsePairs,
  studentTMi,
} from '../dist/validation/closed-form.js';
import {formatMarkdown, formatText} from '../dist/validation/format.js';
import {checkIds, runSuite} from '../dist/validation/suite.js';
import {halfCube, taskIds, twelveBitHyBits, validationTasks} from '../dist/validation/tasks.js';
import {Rng} from '../dist/util/prng.js';
import {runCli, tempDir} from './helpers.js';

const task = (id) => validationTasks().find((t) => t.id === id);
const sampleOf = (id, n, seed = 0) => task(id).sample(n, new Rng(seed, `validate/${task(id).stream}`));
const close = (a, b, tol, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

/** Column `j` of a row-major matrix as a plain array. */
const column = (m, j) => Array.from({length: m.rows}, (_, i) => m.data[i * m.cols + j]);
const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
const variance = (a) => {
  const m = mean(a);
  return a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length;
};
const corr = (a, b) => {
  const ma = mean(a);
  const mb = mean(b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - ma) * (b[i] - mb);
  return s / a.length / Math.sqrt(variance(a) * variance(b));
};

describe('validation: closed forms (spec 10.1 table, nats)', () => {
  it('every task with a spec value matches it to 1e-6', () => {
    const withSpec = validationTasks().filter((t) => t.specTruthNats !== undefined);
    assert.ok(withSpec.length >= 16);
    for (const t of withSpec) close(t.truthNats, t.specTruthNats, 1e-6, t.id);
  });

  it('the spec table values, computed from the formulas', () => {
    const table = [
      [gaussianMi([[1, 0.75], [0.75, 1]], 1), 0.413339],
      [gaussianMi(equicorrelated(4, 0.5), 2), 0.293893],
      [gaussianMi(equicorrelated(6, 0.5), 3), 0.413339],
      [gaussianMi(equicorrelated(10, 0.5), 5), 0.592812],
      [gaussianMi(equicorrelated(50, 0.5), 25), 1.292184],
      [gaussianMi(equicorrelated(100, 0.5), 50), 1.624265],
      [gaussianMi(sparsePairs(2), 2), 1.021651],
      [gaussianMi(sparsePairs(5), 5), -Math.log(0.36)],
      [additiveUniformMi(0.1), 1.709438],
      [additiveUniformMi(0.75), 0.333333],
      [studentTMi(1, 1, 1), 0.224171],
      [studentTMi(2, 2, 1), 0.431946],
      [studentTMi(2, 2, 2), 0.193147],
      [studentTMi(3, 3, 2), 0.290922],
      [studentTMi(3, 3, 3), 0.178712],
      [studentTMi(5, 5, 2), 0.448151],
      [studentTMi(5, 5, 3), 0.298544],
    ];
    for (const [got, want] of table) close(got, want, 1e-6);
  });

  it('canonical-correlation form agrees with the determinant form; Gaussian entropy', () => {
    // two pairs with correlations 0.3 and 0.6: I = -0.5 sum ln(1 - rho^2)
    const S = sparsePairs(3);
    S[0][3] = S[3][0] = 0.3;
    S[1][4] = S[4][1] = 0.6;
    close(gaussianMi(S, 3), -0.5 * (Math.log(1 - 0.09) + Math.log(1 - 0.36)), 1e-12);
    close(gaussianEntropy([[1]]), 0.5 * Math.log(2 * Math.PI * Math.E), 1e-14);
    close(gaussianEntropy([[4, 0], [0, 0.25]]), Math.log(2 * Math.PI * Math.E), 1e-14);
    close(task('entropy-2d').truthNats, Math.log(2 * Math.PI * Math.E) + 0.5 * Math.log(1 - 0.5625), 1e-12);
  });

  it('12-bit task: H(X) = 12 bits, I(X;Y) = H(Y) = 0.9991571 bits', () => {
    close(twelveBitHyBits(), 0.9991571, 1e-7);
    close(task('twelvebit-hx').truthNats / Math.LN2, 12, 1e-12);
    close(task('twelvebit-ixy').truthNats / Math.LN2, 0.9991571, 1e-7);
  });

  it('Phi and erf to ~1e-15 (reference values from scipy.special.ndtr / erf)', () => {
    const ref = [
      [-30, 4.906713927147908e-198],
      [-10, 7.61985302416047e-24],
      [-8, 6.22096057427174e-16],
      [-5, 2.866515718791933e-7],
      [-3.1, 0.0009676032132183563],
      [-2, 0.022750131948179195],
      [-1, 0.15865525393145707],
      [-0.5, 0.3085375387259869],
      [0, 0.5],
      [1, 0.8413447460685429],
      [2, 0.9772498680518208],
      [3.4, 0.9996630707343231],
      [5, 0.9999997133484281],
    ];
    for (const [x, p] of ref) {
      close(normalCdf(x), p, 2e-16, `Phi(${x})`);
      if (p < 1e-3) close(normalCdf(x) / p, 1, 1e-12, `relative Phi(${x})`);
    }
    close(erf(0.5), 0.5204998778130465, 2e-16);
    close(erf(-2.7), -0.9998656672600594, 2e-16);
    close(erfc(3) / 2.209049699858544e-5, 1, 1e-14);
    close(erfc(-1), 1.842700792949715, 4e-16);
  });
});

describe('validation: task samplers', () => {
  it('bivariate normal: standard marginals, correlation 0.75; deterministic per seed', () => {
    const s = sampleOf('normal-1x1', 20000);
    const x = column(s.x, 0);
    const y = column(s.y, 0);
    close(mean(x), 0, 0.03, 'mean x');
    close(variance(y), 1, 0.04, 'var y');
    close(corr(x, y), 0.75, 0.015, 'corr');
    assert.deepEqual(sampleOf('normal-1x1', 50, 3).x.data, sampleOf('normal-1x1', 50, 3).x.data);
    assert.notDeepEqual(sampleOf('normal-1x1', 50, 3).x.data, sampleOf('normal-1x1', 50, 4).x.data);
  });

  it('uniform 1x1: U(0,1) marginals; transformed tasks are images of the same base draws', () => {
    const u = sampleOf('uniform-1x1', 20000);
    for (const m of [u.x, u.y]) {
      const c = column(m, 0);
      assert.ok(c.every((v) => v >= 0 && v <= 1));
      close(mean(c), 0.5, 0.01, 'uniform mean');
      close(variance(c), 1 / 12, 0.003, 'uniform var');
    }
    const base = sampleOf('normal-1x1', 100, 2);
    const hc = sampleOf('halfcube-1x1', 100, 2);
    const un = sampleOf('uniform-1x1', 100, 2);
    for (let i = 0; i < 100; i++) {
      // transforms are applied in float64 before the float32 store
      close(hc.x.data[i], halfCube(base.x.data[i]), 1e-5 * (1 + Math.abs(hc.x.data[i])));
      close(un.y.data[i], normalCdf(base.y.data[i]), 1e-6);
    }
  });

  it('dense and sparse multinormals have the designed correlations', () => {
    const d = sampleOf('dense-3x3', 20000);
    assert.equal(d.x.cols, 3);
    assert.equal(d.y.cols, 3);
    close(variance(column(d.x, 2)), 1, 0.04, 'var');
    close(corr(column(d.x, 0), column(d.x, 1)), 0.5, 0.03, 'corr xx');
    close(corr(column(d.x, 1), column(d.y, 2)), 0.5, 0.03, 'corr xy');
    const s = sampleOf('sparse-3x3', 20000);
    close(corr(column(s.x, 0), column(s.y, 0)), 0.8, 0.02, 'pair 1');
    close(corr(column(s.x, 1), column(s.y, 1)), 0.8, 0.02, 'pair 2');
    close(corr(column(s.x, 2), column(s.y, 2)), 0, 0.03, 'independent third');
    close(corr(column(s.x, 0), column(s.x, 1)), 0, 0.03, 'independent within X');
  });

  it('additive uniform noise and Student-t', () => {
    const a = sampleOf('additive-0.1', 5000);
    for (let i = 0; i < 5000; i++) {
      assert.ok(a.x.data[i] >= 0 && a.x.data[i] < 1);
      assert.ok(Math.abs(a.y.data[i] - a.x.data[i]) <= 0.1 + 1e-6);
    }
    // Student-t dof 2 with shared scale: X and Y uncorrelated but |X|, |Y| positively related
    const t = sampleOf('student-2x2-dof2', 20000);
    assert.ok(t.x.data.every(Number.isFinite) && t.y.data.every(Number.isFinite));
    const ax = column(t.x, 0).map((v) => Math.log(Math.abs(v)));
    const ay = column(t.y, 1).map((v) => Math.log(Math.abs(v)));
    assert.ok(corr(ax, ay) > 0.1, `log|X| vs log|Y| correlation ${corr(ax, ay)}`);
    close(corr(column(t.x, 0).map(Math.atan), column(t.y, 0).map(Math.atan)), 0, 0.03, 'sign independence');
    // t with 2 dof: median of |t| is sqrt(2) / sqrt(3) ... P(|t| <= q) = q / sqrt(2 + q^2) -> median q = sqrt(2/3)
    const absX = column(t.x, 0).map(Math.abs).sort((p, q) => p - q);
    close(absX[10000], Math.sqrt(2 / 3), 0.03, 'median |t2|');
  });

  it('entropy tasks: the sample has the designed covariance; 12-bit task: all 4096 patterns', () => {
    const e = sampleOf('entropy-3d-scaled', 20000);
    close(variance(column(e.x, 2)), 4, 0.16, 'var (sd 2)');
    close(variance(column(e.x, 0)), 0.25, 0.01, 'var (sd 0.5)');
    assert.ok(e.y instanceof Int32Array);
    const b = sampleOf('twelvebit-hx', 10);
    assert.equal(b.x.rows, 4096);
    assert.equal(b.x.cols, 12);
    const keys = new Set();
    for (let i = 0; i < 4096; i++) keys.add(Array.from(b.x.data.subarray(i * 12, i * 12 + 12)).join(''));
    assert.equal(keys.size, 4096);
    assert.equal(b.y.reduce((s, v) => s + v, 0), 2118);
  });
});

// ------------------------------------------------------------------------------------------
// A small, obviously-correct KSG (algorithm 1, max-norm everywhere, brute force) as an injected
// estimator, independent of src/metrics/knn.

function digamma(x) {
  let acc = 0;
  while (x < 10) {
    acc -= 1 / x;
    x += 1;
  }
  const r = 1 / (x * x);
  return acc + Math.log(x) - 0.5 / x - r * (1 / 12 - r * (1 / 120 - r / 252));
}

function maxDist(m, i, j) {
  let d = 0;
  for (let c = 0; c < m.cols; c++) d = Math.max(d, Math.abs(m.data[i * m.cols + c] - m.data[j * m.cols + c]));
  return d;
}

function ksgBrute(x, t, k) {
  const n = x.rows;
  let acc = 0;
  const dx = new Float64Array(n);
  const dt = new Float64Array(n);
  const dj = new Float64Array(n - 1);
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (let j = 0; j < n; j++) {
      dx[j] = maxDist(x, i, j);
      dt[j] = maxDist(t, i, j);
      if (j !== i) dj[m++] = Math.max(dx[j], dt[j]);
    }
    const eps = dj.slice().sort()[k - 1];
    let nx = 0;
    let nt = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      if (dx[j] < eps) nx++;
      if (dt[j] < eps) nt++;
    }
    acc += digamma(nx + 1) + digamma(nt + 1);
  }
  return digamma(k) + digamma(n) - acc / n;
}

const {z} = await import('zod');
const fakeKsg = {
  name: 'mi.ksg',
  description: 'test-only brute-force KSG',
  params: z.object({k: z.number().int().default(5), unit: z.enum(['bits', 'nats']).default('bits')}).strict(),
  compute(input, p) {
    if (!input.x) return [];
    const v = ksgBrute(input.x, input.T, p.k);
    return [{quantity: 'I_XT', value: p.unit === 'bits' ? v / Math.LN2 : v, unit: p.unit}];
  },
};

const binning = estimators.get('mi.bin');

describe('validation: runSuite', () => {
  it('mi.bin: discrete rows exact, S1-S3 pass, continuous tasks skipped with a reason', () => {
    const r = runSuite({n: 200, seeds: 2, estimators: ['mi.bin']});
    assert.equal(r.n, 200);
    assert.equal(r.seeds, 2);
    assert.deepEqual(r.rows.map((x) => x.task), ['twelvebit-hx', 'twelvebit-ixy']);
    for (const row of r.rows) {
      assert.equal(row.status, 'ok');
      assert.equal(row.n, 4096);
      close(row.mean, row.truth, 1e-9, row.task);
      assert.equal(row.std, 0);
      assert.equal(row.values.length, 2);
      assert.ok(row.seconds >= 0);
      assert.match(row.params, /bins=30/);
    }
    assert.deepEqual(r.checks.map((c) => c.id), ['S1', 'S2', 'S3']);
    assert.ok(r.checks.every((c) => c.status === 'pass'), JSON.stringify(r.checks));
    assert.equal(r.passed, true);
    assert.equal(r.estimators[0].role, 'identity');
    assert.ok(r.skipped.some((s) => s.estimator === 'mi.bin' && s.tasks.includes('normal-1x1')));
  });

  it('an injected brute-force KSG: rows near the truth, exact scale invariance, 10.2 tolerances skipped at small n', () => {
    const progress = [];
    const r = runSuite({
      n: 400,
      seeds: 2,
      tasks: ['normal-1x1', 'uniform-1x1', 'asinh-1x1', 'dense-2x2', 'twelvebit-hx', 'entropy-1d'],
      estimatorObjects: [fakeKsg, binning],
      onProgress: (p) => progress.push(p),
    });
    const ksg = r.rows.filter((x) => x.estimator === 'mi.ksg');
    assert.deepEqual(ksg.map((x) => x.task), ['normal-1x1', 'uniform-1x1', 'asinh-1x1', 'dense-2x2']);
    for (const row of ksg) {
      assert.equal(row.status, 'ok', row.reason);
      assert.ok(Math.abs(row.bias) < 0.15, `${row.task} bias ${row.bias}`);
      assert.equal(row.bias, row.mean - row.truth);
      close(row.relBias, row.bias / row.truth, 1e-15);
    }
    assert.deepEqual(r.estimators.find((e) => e.name === 'mi.ksg'), {name: 'mi.ksg', role: 'continuous', entropy: false, params: 'k=5'});
    const byId = Object.fromEntries(r.checks.filter((c) => c.estimator === 'mi.ksg').map((c) => [c.id, c]));
    assert.equal(byId['ksg.invariance.scale'].status, 'pass', byId['ksg.invariance.scale'].detail);
    assert.equal(byId['ksg.invariance.monotone'].status, 'skip');
    assert.equal(byId['ksg.tol.normal-1x1'].status, 'skip');
    assert.match(byId['ksg.tol.dense-2x2'].detail, /needs --n >= 5000/);
    assert.equal(byId['ksg.tol.dense-3x3'].status, 'skip'); // task not selected
    assert.ok(r.skipped.some((s) => s.estimator === 'mi.ksg' && s.tasks.includes('twelvebit-hx')));
    assert.ok(r.skipped.some((s) => s.estimator === 'mi.ksg' && s.tasks.includes('entropy-1d')));
    assert.ok(progress.some((p) => p.phase === 'task' && /normal-1x1 seed 2\/2/.test(p.message)));
    assert.equal(r.passed, true);
  });

  it('the registered mi.ksg, on the bivariate and dense 2x2 normals', () => {
    assert.ok(estimators.has('mi.ksg'), 'mi.ksg is not registered');
    const r = runSuite({n: 1000, seeds: 2, estimators: ['mi.ksg'], tasks: ['normal-1x1', 'uniform-1x1', 'dense-2x2']});
    for (const row of r.rows) {
      assert.equal(row.status, 'ok', row.reason);
      assert.ok(Math.abs(row.bias) < 0.1, `${row.task} bias ${row.bias}`);
    }
    assert.equal(r.checks.find((c) => c.id === 'ksg.invariance.scale').status, 'pass');
    assert.equal(r.passed, true);
  });

  it('KDE checks K1-K6 pass for the registered mi.kde', () => {
    assert.ok(estimators.has('mi.kde'), 'mi.kde is not registered');
    const r = runSuite({n: 100, seeds: 1, estimators: ['mi.kde'], tasks: ['twelvebit-hx']});
    assert.deepEqual(r.checks.map((c) => c.id), ['K1', 'K2', 'K3', 'K4', 'K5', 'K6']);
    for (const c of r.checks) assert.equal(c.status, 'pass', `${c.id}: ${c.detail}`);
  });

  it('EBAB invariance and S2/S3 pass for the registered mi.ebab', () => {
    assert.ok(estimators.has('mi.ebab'), 'mi.ebab is not registered');
    const r = runSuite({n: 100, seeds: 1, estimators: ['mi.ebab'], tasks: ['twelvebit-hx']});
    assert.deepEqual(r.checks.map((c) => c.id), ['S2', 'S3', 'ebab.invariance']);
    for (const c of r.checks) assert.equal(c.status, 'pass', `${c.id}: ${c.detail}`);
  });

  it('estimators that throw, return NaN or lack the quantity give n/a rows; bits are converted', () => {
    const mk = (name, compute) => ({name, description: name, params: z.object({unit: z.enum(['bits', 'nats']).default('bits')}).strict(), compute});
    const usesX = (f) => (input, p) => (input.x ? f(input, p) : []);
    const objs = [
      mk('mi.throws', usesX(() => { throw new Error('boom'); })),
      mk('mi.nan', usesX(() => [{quantity: 'I_XT', value: NaN, unit: 'nats'}])),
      // reports 0.5 bits always, ignores the unit parameter
      mk('mi.bits', usesX(() => [{quantity: 'I_XT', value: 0.5, unit: 'bits'}])),
      mk('ent.noh', usesX(() => [{quantity: 'I_XT', value: 0.1, unit: 'nats'}])),
      {name: 'geom.other', description: '', params: z.object({}), compute: () => [{quantity: 'value', value: 1, unit: 'dimensionless'}]},
    ];
    const r = runSuite({n: 50, seeds: 2, tasks: ['normal-1x1', 'entropy-1d'], estimatorObjects: objs});
    const row = (e, t) => r.rows.find((x) => x.estimator === e && x.task === t);
    // a probe that throws: classed by name (mi.* -> identity), so it is not run on continuous tasks
    assert.equal(r.estimators.find((e) => e.name === 'mi.throws').probeError, 'boom');
    assert.equal(row('mi.nan', 'normal-1x1').status, 'n/a');
    assert.match(row('mi.nan', 'normal-1x1').reason, /non-finite I_XT/);
    assert.equal(row('mi.nan', 'normal-1x1').mean, null);
    close(row('mi.bits', 'normal-1x1').mean, 0.5 * Math.LN2, 1e-15);
    assert.equal(row('ent.noh', 'entropy-1d').status, 'n/a');
    assert.match(row('ent.noh', 'entropy-1d').reason, /no H value/);
    assert.ok(r.skipped.some((s) => s.estimator === 'geom.other'));
    assert.equal(r.passed, true);
  });

  it('a wrong binning estimator fails S1-S3; unknown names are user errors (exit 2)', () => {
    const wrong = {...binning, compute: (input, p) => binning.compute(input, p).map((v) => ({...v, value: v.value + 1e-3}))};
    const r = runSuite({n: 50, seeds: 1, tasks: ['twelvebit-hx'], estimatorObjects: [wrong]});
    assert.equal(r.rows[0].std, null); // one seed
    assert.deepEqual(r.checks.map((c) => c.status), ['fail', 'fail', 'fail']);
    assert.equal(r.passed, false);
    assert.match(formatText(r), /FAIL {2}S1/);
    assert.match(formatText(r), /SOME CHECKS FAILED/);
    assert.throws(() => runSuite({n: 50, seeds: 1, estimators: ['mi.nope']}), (e) => e.exitCode === 2 && /unknown estimator 'mi\.nope' \(known: .*mi\.bin/.test(e.message));
    assert.throws(() => runSuite({n: 50, seeds: 1, tasks: ['normal-9x9']}), (e) => e.exitCode === 2 && /known: .*normal-1x1/.test(e.message));
  });

  it('the check list covers S1-S3, K1-K6, EBAB and KSG invariance, the 10.2 tolerances', () => {
    const ids = new Set(checkIds().map((c) => c.id));
    for (const id of ['S1', 'S2', 'S3', 'K1', 'K2', 'K3', 'K4', 'K5', 'K6', 'ebab.invariance', 'ksg.invariance.scale', 'ksg.invariance.monotone', 'ksg.tol.normal-1x1', 'ksg.tol.uniform-1x1', 'ksg.tol.dense-2x2', 'ksg.tol.dense-3x3']) {
      assert.ok(ids.has(id), id);
    }
  });

  it('renders text and Markdown tables', () => {
    const r = runSuite({n: 300, seeds: 2, tasks: ['normal-1x1', 'twelvebit-hx'], estimatorObjects: [fakeKsg, binning]});
    const text = formatText(r);
    assert.match(text, /^Estimator validation/);
    assert.match(text, /estimator\s+task\s+truth\s+mean\s+std\s+bias\s+rel\.bias\s+s\/est/);
    assert.match(text, /mi\.ksg\s+normal-1x1\s+0\.4133\s+0\.\d{4}/);
    assert.match(text, /PASS {2}S1/);
    const md = formatMarkdown(r);
    assert.match(md, /^# Estimator validation/);
    assert.match(md, /\| estimator \| task \| truth \| mean \| std \| bias \| rel\. bias \| s\/est \| note \|/);
    assert.match(md, /\| mi\.bin \| twelvebit-hx \| 8\.3178 \| 8\.3178 \|/);
    assert.match(md, /## Checks/);
    assert.match(md, /\| PASS \| S1 \| mi\.bin \|/);
  });
});

describe('validation: tdlab validate-estimators', () => {
  it('--json prints the SuiteResult and exits 0 when the checks pass; --out writes Markdown', async () => {
    const dir = tempDir();
    const out = join(dir, 'sub', 'validation.md');
    try {
      const res = await runCli(['validate-estimators', '--n', '500', '--seeds', '2', '--estimator', 'mi.bin', '--json', '--out', out]);
      assert.equal(res.code, 0, res.stderr);
      const r = JSON.parse(res.stdout);
      assert.equal(r.n, 500);
      assert.equal(r.seeds, 2);
      assert.ok(Array.isArray(r.rows) && r.rows.length === 2);
      assert.ok(r.checks.length === 3 && r.checks.every((c) => c.status === 'pass'));
      assert.equal(r.passed, true);
      assert.match(res.stderr, /twelvebit-hx seed 1\/2/);
      assert.ok(existsSync(out));
      assert.match(readFileSync(out, 'utf8'), /^# Estimator validation/);
    } finally {
      rmSync(dir, {recursive: true, force: true});
    }
  });

  it('prints the text table without --json', async () => {
    const res = await runCli(['validate-estimators', '--n', '200', '--seeds', '1', '--estimator', 'mi.binwidth', '--task', 'twelvebit-ixy']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /mi\.binwidth\s+twelvebit-ixy\s+0\.6926\s+0\.6926/);
    assert.match(res.stdout, /All checks passed/);
  });

  it('unknown estimator or task: exit 2 with the known names', async () => {
    const [a, b, c] = await Promise.all([
      runCli(['validate-estimators', '--n', '100', '--seeds', '1', '--estimator', 'mi.nope']),
      runCli(['validate-estimators', '--n', '100', '--seeds', '1', '--task', 'nope']),
      runCli(['validate-estimators', '--estimator', 'mi.nope', '--json']),
    ]);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /^Error: --estimator: unknown estimator 'mi\.nope' \(known: .*mi\.bin/m);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /unknown task 'nope' \(known: .*normal-1x1.*twelvebit-hx/);
    assert.equal(c.code, 2);
    assert.match(JSON.parse(c.stdout).error.message, /unknown estimator 'mi\.nope'/);
    assert.ok(taskIds().includes('dense-25x25'));
  });
});
