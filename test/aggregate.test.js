// tdlab aggregate: pure aggregation (means/stds/compression on synthetic rows), grouping by the
// keys that differ, acceptance-check evaluation, and the CLI on 4 tiny real runs.
import assert from 'node:assert/strict';
import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {aggregateRuns, buildAggregate, compressionOf, declaredChecks, differingKeys, evaluateChecks, flattenConfig, sampleStd} from '../dist/aggregate/index.js';
import {loadConfig} from '../dist/config/load.js';
import {readSweepFile} from '../dist/sweep/resolve.js';
import {parseCsv, runAll, runCli, tempDir} from './helpers.js';

const EPOCHS = [0, 10, 100, 1000, 7999];

/** The checks shipped as data: the 12-bit study's (tishby.yaml), Saxe's and Chelombiev's (sweep files). */
const SHIPPED = {
  tishby: loadConfig('configs/tishby.yaml').config.checks,
  saxe: readSweepFile('configs/sweeps/saxe.yaml').spec.checks,
  l2: readSweepFile('configs/sweeps/chelombiev-l2.yaml').spec.checks,
};
const ALL_CHECKS = [...SHIPPED.tishby, ...SHIPPED.saxe, ...SHIPPED.l2];
const TANH_LAYERS = [1, 2, 3, 4, 5].map((i) => ({index: i, name: `h${i}`, width: [10, 7, 5, 4, 3][i - 1], activation: 'tanh', kind: 'hidden'}));
const layersOf = (act) => [...TANH_LAYERS.map((l) => ({...l, activation: act})), {index: 6, name: 'out', width: 2, activation: 'softmax', kind: 'output'}];

const PARAMS = {
  'mi.bin': 'bins=30;hi=1;idnnsQuirks=true;lo=-1',
  'mi.binwidth': 'binWidth=0.07',
  'mi.kde': 'bound=upper;noiseVariance=0.001',
  'mi.ebab': 'bins=30',
};

/**
 * Metric rows where I(X;T) of layer l under estimator e rises to `peak` at epoch 100 and ends at
 * `peak - c` (so compression = c exactly); I(T;Y) ends at `ity`.
 */
function metricRows(spec) {
  const rows = [];
  for (const [estimator, layers] of Object.entries(spec)) {
    for (const [layer, {peak, c, ity = 1}] of Object.entries(layers)) {
      const li = layer === 'out' ? 6 : Number(layer.slice(1));
      const ixt = [peak - 1, peak - 0.5, peak, peak - c / 2, peak - c];
      EPOCHS.forEach((epoch, s) => {
        const base = {epoch, layerIndex: li, layer, estimator, params: PARAMS[estimator], subset: 'all', n: 4096, unit: 'bits', atCeiling: false};
        rows.push({...base, quantity: 'I_XT', value: ixt[s]});
        rows.push({...base, quantity: 'I_TY', value: s === EPOCHS.length - 1 ? ity : 0.5});
      });
    }
  }
  return rows;
}

function run({dir, seed, act = 'tanh', l2 = 0, spec, lr = 4e-4}) {
  return {
    runDir: dir,
    runId: dir.split('/').pop(),
    seed,
    config: {name: 'tishby', seed, data: {name: 'twelve-bit'}, model: {activation: act, layers: [10, 7, 5, 4, 3]}, train: {epochs: 8000, lr, l2}},
    layers: layersOf(act),
    metrics: metricRows(spec),
    training: [],
  };
}

/** Every hidden layer plus the output with the same numbers under one estimator. */
const all = (f) => Object.fromEntries(['h1', 'h2', 'h3', 'h4', 'h5', 'out'].map((l) => [l, f(l)]));

describe('aggregate: pure functions', function () {
  it('compression per seed with mean and sample std; mean trajectory with spread', function () {
    const runs = [1, 2, 3].map((seed) => run({dir: `/r/tanh-${seed}`, seed, spec: {'mi.bin': {h5: {peak: 8, c: seed}}}}));
    const res = aggregateRuns(runs);
    assert.deepEqual(res.groupBy, []);
    assert.equal(res.groups.length, 1);
    const [g] = res.groups;
    assert.equal(g.label, 'all runs');
    assert.deepEqual(g.seeds, [1, 2, 3]);
    const h5 = g.layers.find((l) => l.layer === 'h5');
    const e = h5.estimators[0];
    assert.equal(e.estimator, 'mi.bin');
    assert.deepEqual(e.compression.values, [1, 2, 3]);
    assert.deepEqual(e.compression.seeds, [1, 2, 3]);
    assert.equal(e.compression.mean, 2);
    assert.equal(e.compression.std, 1);
    assert.deepEqual(e.finalIXT.values, [7, 6, 5]);
    assert.equal(e.maxIXT.mean, 8);
    const last = e.trajectory[e.trajectory.length - 1];
    assert.equal(last.epoch, 7999);
    assert.equal(last.ixt.mean, 6);
    assert.equal(last.ixt.std, 1);
    assert.deepEqual([last.ixt.min, last.ixt.max, last.ixt.n], [5, 7, 3]);
    assert.equal(e.trajectory[2].ixt.std, 0);
    assert.equal(sampleStd([4]), null);
    assert.ok(Math.abs(sampleStd([1, 2, 3, 4]) - Math.sqrt(5 / 3)) < 1e-12);
    assert.deepEqual(compressionOf([{epoch: 0, ixt: 3, ity: null}, {epoch: 1, ixt: 5, ity: 0.2}, {epoch: 2, ixt: 4.5, ity: null}]), {maxIXT: 5, finalIXT: 4.5, compression: 0.5, finalITY: 0.2});
  });

  it('groups by every config key that differs except seed, or by --group-by keys', function () {
    const a = {seed: 0, model: {activation: 'tanh', layers: [10, 7]}, train: {lr: 1e-3}};
    const b = {seed: 1, model: {activation: 'relu', layers: [10, 7]}, train: {lr: 1e-3}};
    const c = {seed: 2, model: {activation: 'relu', layers: [10, 5]}, train: {lr: 1e-3}};
    assert.deepEqual(differingKeys([a, b, c]), ['model.activation', 'model.layers']);
    assert.deepEqual(differingKeys([a, b], []), ['model.activation', 'seed']);
    assert.equal(flattenConfig(a).get('train.lr'), 1e-3);
    const spec = {'mi.bin': {h1: {peak: 12, c: 0}}};
    const runs = [
      run({dir: '/r/t0', seed: 0, act: 'tanh', spec}),
      run({dir: '/r/r0', seed: 0, act: 'relu', spec}),
      run({dir: '/r/t1', seed: 1, act: 'tanh', spec}),
      run({dir: '/r/r1', seed: 1, act: 'relu', spec, lr: 1e-3}),
    ];
    const res = aggregateRuns(runs);
    assert.deepEqual(res.groupBy, ['model.activation', 'train.lr']);
    assert.deepEqual(res.groups.map((g) => g.label), ['model.activation=relu, train.lr=0.0004', 'model.activation=relu, train.lr=0.001', 'model.activation=tanh, train.lr=0.0004']);
    const byAct = aggregateRuns(runs, ['model.activation']);
    assert.deepEqual(byAct.groups.map((g) => [g.label, g.runs]), [
      ['model.activation=relu', ['/r/r0', '/r/r1']],
      ['model.activation=tanh', ['/r/t0', '/r/t1']],
    ]);
    assert.deepEqual(byAct.groups[0].key, {'model.activation': 'relu'});
  });

  it('evaluates the shipped A1/A3/A7 checks (data) pass and fail on constructed numbers and marks missing ones n/a', function () {
    // tanh: last hidden layer and output compress 2 bits, first layer 0.05 at 12 bits, I(T;Y) 0.99
    const tanhSpec = {
      'mi.bin': {...all(() => ({peak: 10, c: 0.5, ity: 0.99})), h1: {peak: 13, c: 0.05, ity: 0.99}, h5: {peak: 6, c: 2, ity: 0.99}, out: {peak: 3, c: 2, ity: 0.99}},
      'mi.kde': {h5: {peak: 6, c: 1.0}},
    };
    // relu: binwidth compression 0.1 everywhere (<= 0.3), kde 0.5 on h2 (> 0.3: A3.2 fails), ebab 0.6 on h3-h5 (>= 0.4, 6x)
    const reluSpec = {
      'mi.binwidth': all(() => ({peak: 9, c: 0.1})),
      'mi.kde': {...all(() => ({peak: 9, c: 0})), h2: {peak: 9, c: 0.5}},
      'mi.ebab': {h3: {peak: 9, c: 0.6}, h4: {peak: 9, c: 0.6}, h5: {peak: 9, c: 0.6}},
    };
    const runs = [];
    for (const seed of [0, 1, 2, 3]) {
      runs.push(run({dir: `/r/tanh${seed}`, seed, act: 'tanh', spec: tanhSpec}));
      runs.push(run({dir: `/r/relu${seed}`, seed, act: 'relu', spec: reluSpec}));
    }
    const out = buildAggregate(runs, {checks: ALL_CHECKS});
    const byId = Object.fromEntries(out.json.checks.map((c) => [c.id, c]));
    assert.deepEqual([...new Set(out.json.checks.map((c) => c.id))], ALL_CHECKS.map((c) => c.id), 'every declared check, in declaration order, and nothing else');
    assert.equal(buildAggregate(runs).json.checks.length, 0, 'no checks declared: none evaluated');
    const expect = {
      'A1.1': ['pass', 2],
      'A1.2': ['pass', 2],
      'A1.3': ['pass', 0.05],
      'A1.4': ['pass', 12],
      'A1.5': ['pass', 0.99],
      'A3.1': ['pass', 0.1],
      'A3.2': ['fail', 0.5],
      'A3.3': ['pass', 2],
      'A3.4': ['fail', 1],
      'A7.1': ['pass', 0.6],
      'A7.2': ['pass', 6],
    };
    for (const [id, [status, value]] of Object.entries(expect)) {
      assert.equal(byId[id].status, status, `${id}: ${JSON.stringify(byId[id])}`);
      assert.ok(Math.abs(byId[id].value - value) < 1e-9, `${id} value ${byId[id].value} != ${value}`);
      assert.equal(byId[id].seeds, 4);
      assert.equal(byId[id].note, undefined, `${id}: no caveat for 4 seeds x 8000 epochs on the 12-bit task`);
    }
    assert.equal(byId['A1.1'].threshold, 1.5);
    assert.equal(byId['A1.1'].group, 'model.activation=tanh');
    assert.equal(byId['A3.1'].group, 'model.activation=relu');
    assert.deepEqual(Object.keys(byId['A3.1'].detail), ['h1', 'h2', 'h3', 'h4', 'h5']);
    assert.match(byId['A3.1'].definition, /compression .* of mi\.binwidth\[binWidth=0\.07\] I_XT, the maximum over the hidden layers <= 0\.3; groups with model\.activation=relu, train\.l2=0/);
    // gradient statistics are absent (no training rows) -> n/a with the reason
    assert.equal(byId['A2.1'].status, 'n/a');
    assert.match(byId['A2.1'].note, /no gradient statistics/);
    // no L2 group -> A8 n/a, naming what is missing
    assert.equal(byId['A8.1'].status, 'n/a');
    assert.match(byId['A8.1'].note, /train\.l2=0\.015/);

    // a relu group without mi.ebab -> A7 n/a naming the estimator; no tanh group -> A1 n/a
    const reluRuns = runs.filter((r) => r.runDir.includes('relu')).map((r) => ({...r, metrics: r.metrics.filter((m) => m.estimator !== 'mi.ebab')}));
    const reluOnly = evaluateChecks([{group: aggregateRuns(reluRuns).groups[0], runs: reluRuns}], ALL_CHECKS);
    const r = Object.fromEntries(reluOnly.map((c) => [c.id, c]));
    assert.equal(r['A7.1'].status, 'n/a');
    assert.match(r['A7.1'].note, /no mi\.ebab\[bins=30\] I_XT values/);
    assert.equal(r['A1.1'].status, 'n/a');
    assert.match(r['A1.1'].note, /model\.activation=tanh/);
    assert.equal(r['A1.1'].value, null);

    // fewer than 4 seeds, or another setup than the calibration: evaluated, with the caveat in the note
    const two = Object.fromEntries(buildAggregate(runs.filter((x) => x.seed < 2), {checks: ALL_CHECKS}).json.checks.map((c) => [c.id, c]));
    assert.equal(two['A1.1'].status, 'pass');
    assert.match(two['A1.1'].note, /2 seed\(s\); the threshold assumes >= 4/);
    const short = runs.map((x) => ({...x, config: {...x.config, train: {...x.config.train, epochs: 30}}}));
    assert.match(Object.fromEntries(buildAggregate(short, {checks: ALL_CHECKS}).json.checks.map((c) => [c.id, c]))['A1.1'].note, /calibrated on train\.epochs=8000 \(these: 30\)/);
  });

  it('A7 takes "at least two of layers 3-5"; A8 compares the L2 group with the plain ReLU group', function () {
    // EBAB compresses 0.6 in h4 and h5 only: at least two of three layers pass, the value is the 2nd best
    const reluSpec = {
      'mi.binwidth': all(() => ({peak: 9, c: 0.1})),
      'mi.ebab': {h3: {peak: 9, c: 0}, h4: {peak: 9, c: 0.6}, h5: {peak: 9, c: 0.9}},
    };
    const l2Spec = {'mi.binwidth': {...all(() => ({peak: 9, c: 1.2})), h2: {peak: 5, c: 1.1}, h3: {peak: 5.5, c: 1.3}, h4: {peak: 6, c: 1.5}, h5: {peak: 5, c: 1.4}}};
    const runs = [];
    for (const seed of [0, 1, 2]) {
      runs.push(run({dir: `/r/relu${seed}`, seed, act: 'relu', spec: reluSpec}));
      runs.push(run({dir: `/r/l2${seed}`, seed, act: 'relu', l2: 0.015, spec: l2Spec}));
    }
    const checks = buildAggregate(runs, {checks: ALL_CHECKS}).json.checks;
    const byId = Object.fromEntries(checks.map((c) => [c.id, c]));
    assert.equal(checks.filter((c) => c.id === 'A7.1').length, 1, 'A7 applies to the plain ReLU group only');
    const a71 = byId['A7.1'];
    assert.equal(a71.group, 'train.l2=0');
    assert.equal(a71.status, 'pass');
    assert.ok(Math.abs(a71.value - 0.6) < 1e-12, `2nd largest of 0, 0.6, 0.9: ${a71.value}`);
    const a72 = byId['A7.2'];
    assert.ok(Math.abs(a72.value - 6) < 1e-9, `2nd largest of 0/0.1, 0.6/0.1, 0.9/0.1: ${a72.value}`);
    const a81 = byId['A8.1'];
    assert.equal(a81.status, 'pass');
    assert.ok(Math.abs(a81.value - 1.1) < 1e-12);
    const a82 = byId['A8.2'];
    assert.ok(Math.abs(a82.value - 1.0) < 1e-12, `min over h2-h5 of (L2 - plain) compression: ${a82.value}`);
    const a83 = byId['A8.3'];
    // final I(X;T) = peak - c: h2 3.9, h3 4.2, h4 4.5, h5 3.6 -> spread 0.9
    assert.ok(Math.abs(a83.value - 0.9) < 1e-12, a83.value);
    assert.equal(a83.status, 'pass');
    const a84 = byId['A8.4'];
    assert.equal(a84.status, 'fail', 'plain ReLU layers all end at 8.9 bits: spread 0');
    // conflicting declarations: the first wins, the second is reported
    const changed = {...SHIPPED.tishby[0], threshold: 9};
    const d = declaredChecks([SHIPPED.tishby[0]], [{checks: [changed]}]);
    assert.equal(d.checks[0].threshold, 1.5);
    assert.match(d.warnings[0], /A1\.1 is declared differently/);
  });

  it('renders HTML with inline SVG bands, Markdown and a tidy CSV', function () {
    const runs = [0, 1].map((seed) => run({dir: `/r/t${seed}`, seed, spec: {'mi.bin': {h5: {peak: 8, c: 1 + seed}}}}));
    const out = buildAggregate(runs, {band: 'range'});
    assert.match(out.html, /<svg/);
    assert.match(out.html, /fill-opacity="0\.18"/, 'the spread band is filled');
    assert.doesNotMatch(out.html, /<script|https?:\/\/(?!www\.w3\.org)/);
    assert.match(out.html, /minimum to the maximum over seeds/);
    assert.match(out.markdown, /\| Group \| Layer \| Estimator \|/);
    const rows = parseCsv(out.csv);
    assert.equal(rows.length, 2);
    assert.deepEqual(rows.map((r) => Number(r.compression)), [1, 2]);
    assert.deepEqual(rows.map((r) => r.seed), ['0', '1']);
  });
});

describe('aggregate: CLI on 4 real runs (tanh/relu x 2 seeds, 30 epochs)', function () {
  this.timeout(300000);
  let dir;
  before(async function () {
    dir = tempDir('tdlab-aggregate-');
    const args = (act, seed) => ['run', 'configs/tishby.yaml', '--set', 'train.epochs=30', '--set', 'train.snapshots=every:3', '--set', `model.activation=${act}`, '--seed', String(seed), '--out', dir, '--json'];
    const results = await runAll([args('tanh', 1), args('tanh', 2), args('relu', 1), args('relu', 2)]);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
  });

  it('writes index.html, aggregate.md, aggregate.json and the CSV; JSON groups by model.activation', async function () {
    const r = await runCli(['aggregate', dir, '--json', '--csv']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const outDir = join(dir, 'aggregate');
    for (const f of ['index.html', 'aggregate.md', 'aggregate.json', 'compression.csv']) assert.ok(existsSync(join(outDir, f)), f);
    const file = JSON.parse(readFileSync(join(outDir, 'aggregate.json'), 'utf8'));
    assert.deepEqual(file.groups.map((g) => g.key), [{'model.activation': 'relu'}, {'model.activation': 'tanh'}]);
    assert.deepEqual(j.groupBy, ['model.activation']);
    for (const g of file.groups) {
      assert.equal(g.runs.length, 2);
      assert.deepEqual([...g.seeds].sort(), [1, 2]);
      assert.deepEqual(g.layers.map((l) => l.layer), ['h1', 'h2', 'h3', 'h4', 'h5', 'out']);
      for (const l of g.layers) {
        assert.deepEqual(l.estimators.map((e) => e.estimator), ['mi.bin', 'mi.binwidth', 'mi.ebab', 'mi.kde']);
        for (const e of l.estimators) {
          assert.equal(e.compression.values.length, 2);
          assert.ok(e.compression.values.every((v) => v >= 0));
          assert.ok(Math.abs(e.compression.mean - (e.compression.values[0] + e.compression.values[1]) / 2) < 1e-12);
        }
      }
    }
    // only the checks the runs' config (configs/tishby.yaml) declares: A1 and A2
    assert.deepEqual([...new Set(file.checks.map((c) => c.id))], ['A1.1', 'A1.2', 'A1.3', 'A1.4', 'A1.5', 'A2.1', 'A2.2']);
    for (const c of file.checks) {
      assert.ok(['pass', 'fail', 'n/a'].includes(c.status));
      assert.equal(typeof c.threshold, 'number');
      assert.equal(typeof c.definition, 'string');
      if (c.status !== 'n/a') assert.equal(typeof c.value, 'number');
    }
    assert.equal(file.checks.find((c) => c.id === 'A1.1').group, 'model.activation=tanh');
    assert.match(file.checks.find((c) => c.id === 'A1.1').note, /2 seed/);
    const csv = parseCsv(readFileSync(join(outDir, 'compression.csv'), 'utf8'));
    assert.equal(csv.length, 2 * 2 * 6 * 4, 'group x seed x layer x estimator');
    assert.ok(csv.every((row) => row['model.activation'] === 'tanh' || row['model.activation'] === 'relu'));
    const html = readFileSync(join(outDir, 'index.html'), 'utf8');
    assert.match(html, /<svg/);
    assert.match(html, /A1\.1/);
    assert.match(html, /groups with model\.activation=tanh/, 'the definition is shown');
  });

  it('takes run directories and --group-by/--out; a sweep.json index; unknown keys are usage errors', async function () {
    const found = JSON.parse((await runCli(['aggregate', dir, '--json', '--out', join(dir, 'x')])).stdout);
    const runDirs = found.groups.flatMap((g) => g.runs);
    const out = join(dir, 'by-list');
    const r = await runCli(['aggregate', ...runDirs.slice(0, 2), '--group-by', 'model.activation', '--out', out, '--band', 'range']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 group\(s\) by model\.activation/);
    assert.ok(existsSync(join(out, 'aggregate', 'index.html')));
    // a sweep index with relative runDirs; a point not done is skipped
    const sweep = tempDir('tdlab-sweep-');
    const points = runDirs.map((d, i) => ({runDir: d, overrides: [], seed: i, configHash: 'x', status: 'done'}));
    points.push({runDir: 'missing/run', overrides: [], seed: 9, configHash: 'y', status: 'pending'});
    writeFileSync(join(sweep, 'sweep.json'), JSON.stringify({points, checks: SHIPPED.saxe}));
    const s = JSON.parse((await runCli(['aggregate', sweep, '--json'])).stdout);
    assert.equal(s.runs, 4);
    assert.equal(s.skipped.length, 1);
    // the sweep's checks (sweep.json) come first, then the configs' A1/A2
    assert.deepEqual([...new Set(s.checks.map((c) => c.id))], [...SHIPPED.saxe.map((c) => c.id), 'A1.1', 'A1.2', 'A1.3', 'A1.4', 'A1.5', 'A2.1', 'A2.2']);
    assert.equal(s.checks.find((c) => c.id === 'A3.1').group, 'model.activation=relu');
    assert.ok(existsSync(join(sweep, 'aggregate', 'aggregate.json')));
    const bad = await runCli(['aggregate', dir, '--group-by', 'model.nope']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /model\.nope: no such config key/);
  });
});
