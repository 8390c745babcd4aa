// Validity warnings measured on the data (docs/metrics.md, "Validity warnings"): the diagnostics'
// closed forms, the rules on tidy rows, and a ReLU run whose report, summary.json and `tdlab runs`
// carry the fixed-range-binning warning while a tanh run's do not; `tdlab measure --json` too.
import assert from 'node:assert/strict';
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {noiseToSpread, outOfRangeFraction, validityWarnings} from '../dist/metrics/validity.js';
import {fixture, readJson, runAll, runCli, tempDir} from './helpers.js';

const m = (data, rows, cols) => ({data: Float32Array.from(data), rows, cols});

describe('validity diagnostics and rules', function () {
  it('out_of_range is the fraction of values outside [lo, hi]; the edges count as inside', function () {
    assert.equal(outOfRangeFraction(m([-1, 1, 0, 0.5], 2, 2), -1, 1), 0);
    assert.equal(outOfRangeFraction(m([-1.5, 1, 2, 0.5], 2, 2), -1, 1), 0.5);
    assert.equal(outOfRangeFraction(m([Number.NaN, 0, 0, 0], 2, 2), -1, 1), 0.25);
  });

  it('noise_to_spread: sqrt(s2) over the rms distance between rows, sqrt(2 x sum of column variances)', function () {
    // two rows at distance D = 5 (3-4-5): mean over all ordered pairs (i = j included) of D^2 = D^2 / 2
    const r = noiseToSpread(m([0, 0, 3, 4], 2, 2), 0.25);
    assert.ok(Math.abs(r - 0.5 / (5 / Math.SQRT2)) < 1e-12, String(r));
    // N points on a line with unit spacing: the rms distance from the variance (N^2 - 1) / 12
    const n = 101;
    const line = noiseToSpread(m(Array.from({length: n}, (_, i) => i), n, 1), 1);
    assert.ok(Math.abs(line - 1 / Math.sqrt((2 * (n * n - 1)) / 12)) < 1e-12);
    assert.ok(Number.isNaN(noiseToSpread(m([1, 1, 1, 1], 2, 2), 1)), 'a constant layer has no scale');
  });

  it('rules: > 1% outside the bins at any snapshot -> range; KDE noise beyond [1e-3, 1] x spread -> scale; ceiling on every layer', function () {
    const row = (epoch, layerIndex, estimator, quantity, value, params, extra = {}) => ({epoch, layerIndex, layer: `h${layerIndex}`, estimator, quantity, params, subset: 'all', n: 100, value, unit: 'dimensionless', atCeiling: false, ...extra});
    const rows = [
      row(0, 1, 'mi.bin', 'out_of_range', 0.005, 'bins=30;hi=1;lo=-1'),
      row(9, 1, 'mi.bin', 'out_of_range', 0.01, 'bins=30;hi=1;lo=-1'),
      row(0, 2, 'mi.bin', 'out_of_range', 0.0, 'bins=30;hi=1;lo=-1'),
      row(9, 2, 'mi.bin', 'out_of_range', 0.2, 'bins=30;hi=1;lo=-1'),
      row(0, 1, 'mi.kde', 'noise_to_spread', 0.5, 'noiseVariance=0.001'),
      row(9, 1, 'mi.kde', 'noise_to_spread', 3, 'noiseVariance=0.001'),
      row(0, 2, 'mi.kde', 'noise_to_spread', 1e-4, 'noiseVariance=0.001'),
      row(0, 1, 'mi.bin', 'I_XT', 6.6, 'bins=30;hi=1;lo=-1', {atCeiling: true}),
      row(9, 1, 'mi.bin', 'I_XT', 6.6, 'bins=30;hi=1;lo=-1', {atCeiling: true}),
      row(0, 2, 'mi.bin', 'I_XT', 6.6, 'bins=30;hi=1;lo=-1', {atCeiling: true}),
      row(9, 2, 'mi.bin', 'I_XT', 3, 'bins=30;hi=1;lo=-1'),
    ];
    const w = validityWarnings(rows, [{index: 1, name: 'h1'}, {index: 2, name: 'h2'}]);
    assert.deepEqual(w.map((x) => [x.layer, x.estimator, x.kind]), [
      ['h1', 'mi.bin', 'ceiling'], // the first layer gets the ceiling warning too
      ['h1', 'mi.kde', 'scale'],
      ['h2', 'mi.bin', 'range'],
      ['h2', 'mi.kde', 'scale'],
    ]);
    assert.match(w[2].message, /20% of the values lie outside the bin range \[-1, 1\] \(at 1 of 2 snapshots: epoch 9; worst at epoch 9\)/);
    assert.match(w[1].message, /3 x the rms distance between rows .* swamps/);
    assert.match(w[3].message, /0\.0001 x the rms distance .* far below/);
  });
});

describe('validity warnings of real runs: ReLU under fixed-range bins', function () {
  this.timeout(300000);
  let dir;
  let relu;
  let tanh;
  before(async function () {
    dir = tempDir('tdlab-warnings-');
    const args = (act) => ['run', fixture('tiny.yaml'), '--set', 'train.epochs=30', '--set', `model.activation=${act}`, '--set', 'metrics.estimators=[mi.bin,mi.binwidth,act.stats]', '--out', join(dir, act), '--json'];
    const [r, t] = await runAll([args('relu'), args('tanh')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(t.code, 0, t.stderr);
    relu = JSON.parse(r.stdout).runDir;
    tanh = JSON.parse(t.stdout).runDir;
  });

  it('summary.json and the report of the ReLU run carry the range warning for mi.bin; the tanh run has none', function () {
    const s = readJson(join(relu, 'report', 'summary.json'));
    const range = s.warnings.filter((w) => w.kind === 'range');
    assert.ok(range.length > 0, JSON.stringify(s.warnings));
    for (const w of range) {
      assert.equal(w.estimator, 'mi.bin');
      assert.deepEqual(Object.keys(w), ['layer', 'estimator', 'params', 'kind', 'message']);
    }
    // the warning says what the data show: recompute the fraction from metrics.csv's diagnostic
    const html = readFileSync(join(relu, 'report', 'index.html'), 'utf8');
    assert.match(html, /<strong>range<\/strong>: h\d, mi\.bin\[bins=30;hi=1;idnnsQuirks=true;lo=-1\]: [\d.]+% of the values lie outside the bin range \[-1, 1\]/);
    assert.match(html, /not valid: range/);
    const flagged = new Set(range.map((w) => w.layer));
    for (const l of s.layers.filter((x) => flagged.has(x.name))) assert.notEqual(l.headline?.estimator, 'mi.bin', `${l.name}: headline from a flagged estimator`);
    const t = readJson(join(tanh, 'report', 'summary.json'));
    assert.deepEqual(t.warnings.filter((w) => w.kind === 'range'), [], 'tanh stays inside [-1, 1]');
    assert.equal(t.headline.estimator, 'mi.bin');
  });

  it('tdlab runs shows the warning and a headline from an unflagged estimator', async function () {
    const r = await runCli(['runs', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout).runs;
    const reluRow = rows.find((x) => x.activation === 'relu');
    const tanhRow = rows.find((x) => x.activation === 'tanh');
    assert.ok(reluRow.warnings.some((w) => w.kind === 'range' && w.estimator === 'mi.bin'));
    const s = readJson(join(relu, 'report', 'summary.json'));
    if (s.warnings.some((w) => w.kind === 'range' && w.layer === reluRow.lastHidden)) assert.notEqual(reluRow.headline?.estimator, 'mi.bin');
    assert.ok(!tanhRow.warnings.some((w) => w.kind === 'range'));
    const text = await runCli(['runs', dir]);
    assert.equal(text.code, 0, text.stderr);
    const line = text.stdout.split('\n').find((l) => /\brelu\b/.test(l));
    assert.match(line, /mi\.bin range \(h\d/);
  });

  it('tdlab measure --json lists the warnings measured on the given activations', async function () {
    // relu-like values: 4 of 8 outside [-1, 1]; labels alternate
    const t = join(dir, 't.csv');
    writeFileSync(t, 'a,b\n0,0.5\n2,0.1\n3,1.5\n0,0.2\n');
    const y = join(dir, 'y.csv');
    writeFileSync(y, 'label\n0\n1\n0\n1\n');
    const r = await runCli(['measure', '--activations', t, '--labels', y, '--metric', 'mi.bin', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.warnings.map((w) => w.kind).sort(), ['ceiling', 'range']);
    assert.match(out.warnings.find((w) => w.kind === 'range').message, /37\.5% of the values lie outside/);
    const ok = await runCli(['measure', '--activations', t, '--labels', y, '--metric', 'mi.binwidth', '--param', 'binWidth=10', '--json']);
    assert.deepEqual(JSON.parse(ok.stdout).warnings, []);
  });
});
