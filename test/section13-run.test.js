// Spec-13 metrics through the CLI: `tdlab measure` on files (values against the NumPy/PyTorch
// fixtures of scripts/reference/section13.py), bad input, and tiny end-to-end versions of the two
// shipped studies (configs/edge-of-stability.yaml, configs/collapse.yaml) read back with
// apache-arrow and a plain CSV parser.
import assert from 'node:assert/strict';
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {arrowColumn, arrowTable, arrowTensor, fixture, parseCsv, readJson, runAll, runCli, tempDir} from './helpers.js';
import {encodeNpy} from '../dist/io/npy.js';
import {writeZip} from '../dist/io/zip.js';

const ref = (name) => readJson(join(fixture('reference'), `section13-${name}.json`));
const close = (a, b, rel, what = '') => assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

/** Writes a float64 .npy of a fixture matrix {rows, cols, data}. */
function npyMatrix(path, m) {
  writeFileSync(path, encodeNpy(Float64Array.from(m.data), [m.rows, m.cols]));
}

async function npz(path, arrays) {
  writeFileSync(path, await writeZip(Object.entries(arrays).map(([name, {data, shape}]) => ({name: `${name}.npy`, data: encodeNpy(data, shape)}))));
}

describe('tdlab measure: spec 13 metrics on files', function () {
  let dir;
  before(async () => {
    dir = tempDir('tdlab-s13-measure-');
    const c = ref('cka').cases[0];
    npyMatrix(join(dir, 'A.npy'), c.X);
    npyMatrix(join(dir, 'B.npy'), c.Y);
    const h = ref('hessian').cases[0];
    const arrays = {};
    h.layers.forEach((l, i) => {
      arrays[`W${i}`] = {data: Float64Array.from(l.W.data), shape: [l.W.rows, l.W.cols]};
      arrays[`b${i}`] = {data: Float64Array.from(l.b), shape: [l.b.length]};
    });
    await npz(join(dir, 'w.npz'), arrays);
    npyMatrix(join(dir, 'X.npy'), h.X);
    writeFileSync(join(dir, 'y.npy'), encodeNpy(Int32Array.from(h.y), [h.y.length]));
    const n = ref('nc').cases[0];
    npyMatrix(join(dir, 'H.npy'), n.H);
    writeFileSync(join(dir, 'yh.npy'), encodeNpy(Int32Array.from(n.y), [n.y.length]));
    await npz(join(dir, 'out.npz'), {W0: {data: Float64Array.from(n.W.data), shape: [n.W.rows, n.W.cols]}, b0: {data: Float64Array.from(n.b), shape: [n.b.length]}});
  });
  after(() => rmSync(dir, {recursive: true, force: true}));

  it('sim.cka --other prints values.value for linear/RBF, biased/debiased, sigma median or a number', async () => {
    const want = ref('cka').cases[0].values;
    const args = want.map((v) => ['measure', '--metric', 'sim.cka', '--activations', join(dir, 'A.npy'), '--other', join(dir, 'B.npy'), '--param', `kernel=${v.kernel}`, '--param', `sigma=${v.sigma}`, '--param', `debiased=${v.debiased}`, '--json']);
    const res = await runAll(args);
    res.forEach((r, i) => {
      assert.equal(r.code, 0, r.stderr);
      close(JSON.parse(r.stdout).values.value, want[i].value, 1e-10, JSON.stringify(want[i]));
    });
  });

  it('curv.hessian --weights --x --labels prints values.lambda_max, values.trace and per-layer blocks', async () => {
    const runs = [];
    for (const [k, t] of ref('hessian').cases.entries()) {
      const arrays = {};
      t.layers.forEach((l, i) => {
        arrays[`W${i}`] = {data: Float64Array.from(l.W.data), shape: [l.W.rows, l.W.cols]};
        arrays[`b${i}`] = {data: Float64Array.from(l.b), shape: [l.b.length]};
      });
      await npz(join(dir, `net${k}.npz`), arrays);
      npyMatrix(join(dir, `X${k}.npy`), t.X);
      writeFileSync(join(dir, `y${k}.npy`), encodeNpy(Int32Array.from(t.y), [t.y.length]));
      // one activation for every hidden layer (tanh), or a comma list per layer
      const acts = t.layers.every((l, i) => i === t.layers.length - 1 || l.activation === 'tanh') ? 'tanh' : t.layers.map((l) => l.activation).join(',');
      runs.push(['measure', '--metric', 'curv.hessian', '--weights', join(dir, `net${k}.npz`), '--x', join(dir, `X${k}.npy`), '--labels', join(dir, `y${k}.npy`), '--activation', acts, '--param', 'probes=exact', '--param', 'blocks=true', '--param', 'iters=40', '--json']);
    }
    const res = await runAll(runs);
    res.forEach((m, k) => {
      const t = ref('hessian').cases[k];
      assert.equal(m.code, 0, m.stderr);
      const v = JSON.parse(m.stdout).values;
      close(v.lambda_max, t.lambda_max, 1e-8, `${t.name} lambda_max`);
      close(v.trace, t.trace, 1e-12, `${t.name} trace`);
      assert.equal(v.trace_se, 0);
      assert.equal(v.converged, 1);
      t.block_lambda_max.forEach((b, l) => close(v[`${l + 1}.lambda_max`], b, 1e-8, `${t.name} block ${l + 1}`));
    });
  });

  it('nc.collapse --activations --labels --weights prints NC1, NC2_norm, NC2_angle, NC3, NC4; weights.esd keys layers from 1', async () => {
    const n = ref('nc').cases[0];
    const [nc, ncNoW, esd] = await runAll([
      ['measure', '--metric', 'nc.collapse', '--activations', join(dir, 'H.npy'), '--labels', join(dir, 'yh.npy'), '--weights', join(dir, 'out.npz'), '--json'],
      ['measure', '--metric', 'nc.collapse', '--activations', join(dir, 'H.npy'), '--labels', join(dir, 'yh.npy'), '--json'],
      ['measure', '--metric', 'weights.esd', '--weights', join(dir, 'w.npz'), '--json'],
    ]);
    assert.equal(nc.code, 0, nc.stderr);
    const v = JSON.parse(nc.stdout).values;
    for (const k of ['NC1', 'NC2_norm', 'NC2_angle', 'NC3', 'NC4']) close(v[k], n[k], 1e-9, k);
    assert.deepEqual(Object.keys(JSON.parse(ncNoW.stdout).values), ['NC1', 'NC2_norm', 'NC2_angle'], 'NC3/NC4 need the classifier');
    const e = JSON.parse(esd.stdout);
    assert.ok('1.alpha' in e.values && '3.stable_rank' in e.values && 'alpha' in e.values);
    assert.match(e.notes['1.alpha'], /< 20/, 'a small matrix: NaN (null in JSON) with a reason');
  });

  it('bad input exits 2 with one line: --other on a non-similarity metric, nc.collapse without labels, a history metric on files', async () => {
    const res = await runAll([
      ['measure', '--metric', 'geom.erank', '--activations', join(dir, 'A.npy'), '--other', join(dir, 'B.npy')],
      ['measure', '--metric', 'nc.collapse', '--activations', join(dir, 'H.npy')],
      ['measure', '--metric', 'dynamics.examples', '--activations', join(dir, 'H.npy')],
      ['measure', '--metric', 'sim.cka', '--activations', join(dir, 'A.npy'), '--other', join(dir, 'H.npy')],
    ]);
    const want = [/--other/, /--labels/, /training history/, /rows/];
    res.forEach((r, i) => {
      assert.equal(r.code, 2, `${r.args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, want[i]);
    });
  });
});

describe('the shipped spec-13 studies, tiny versions end to end', function () {
  let out;
  let eos;
  let nc;
  before(async () => {
    out = tempDir('tdlab-s13-run-');
    const [a, b] = await runAll([
      ['run', 'configs/edge-of-stability.yaml', '--set', 'data.options.limit=150', '--set', 'train.epochs=12', '--set', 'train.snapshots=every:4', '--backend', 'wasm', '--out', out, '--json'],
      ['run', 'configs/collapse.yaml', '--set', 'data.options.limit=150', '--set', 'train.epochs=12', '--set', 'train.snapshots=every:4', '--set', 'model.layers=[24,22]', '--backend', 'wasm', '--out', out, '--json'],
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    eos = JSON.parse(a.stdout).runDir;
    nc = JSON.parse(b.stdout).runDir;
  });
  after(() => rmSync(out, {recursive: true, force: true}));

  const metricRows = (runDir) => parseCsv(readFileSync(join(runDir, 'metrics', 'metrics.csv'), 'utf8'));

  it('edge of stability: lambda_max and two_over_lr = 2/lr at every snapshot, on the training rows; the checks are in summary.json', () => {
    const rows = metricRows(eos);
    const lr = Number(/lr: ([0-9.e-]+)/.exec(readFileSync(join(eos, 'config.yaml'), 'utf8'))[1]);
    const two = rows.filter((r) => r.estimator === 'curv.hessian' && r.quantity === 'two_over_lr');
    assert.deepEqual(two.map((r) => Number(r.epoch)), [0, 4, 8, 11]);
    for (const r of two) close(Number(r.value), 2 / lr, 1e-12, 'two_over_lr');
    const lam = rows.filter((r) => r.estimator === 'curv.hessian' && r.quantity === 'lambda_max' && r.layer === '');
    assert.equal(lam.length, 4);
    assert.ok(lam.every((r) => r.subset === 'train' && Number(r.value) > 0 && r.n === '120'), 'the 120 training rows of 150');
    const summary = readJson(join(eos, 'report', 'summary.json'));
    assert.deepEqual(summary.checks.map((c) => c.id), ['EoS.max', 'EoS.late']);
    assert.ok(existsSync(join(eos, 'report', 'figures', 'sharpness.svg')));
  });

  it('collapse: NC1-NC4 on the last hidden layer only, CKA to_final = 1 at the end and vs_<self> = 1, ESD rows per matrix', () => {
    const rows = metricRows(nc);
    const ncRows = rows.filter((r) => r.estimator === 'nc.collapse');
    assert.deepEqual([...new Set(ncRows.map((r) => r.layer))], ['h2']);
    assert.deepEqual([...new Set(ncRows.map((r) => r.quantity))].sort(), ['NC1', 'NC2_angle', 'NC2_norm', 'NC3', 'NC4']);
    const cka = rows.filter((r) => r.estimator === 'sim.cka');
    const last = Math.max(...cka.map((r) => Number(r.epoch)));
    for (const r of cka.filter((x) => Number(x.epoch) === last && x.quantity === 'to_final')) close(Number(r.value), 1, 1e-12, `to_final ${r.layer}`);
    for (const r of cka.filter((x) => x.quantity === `vs_${x.layer}`)) close(Number(r.value), 1, 1e-12, `vs self ${r.layer}`);
    assert.equal(cka.filter((r) => r.quantity === 'to_prev' && Number(r.epoch) === 0).length, 0, 'no previous snapshot at epoch 0');
    assert.deepEqual([...new Set(cka.filter((r) => r.quantity.startsWith('vs_')).map((r) => r.quantity))].sort(), ['vs_h1', 'vs_h2', 'vs_out']);
    const esd = rows.filter((r) => r.estimator === 'weights.esd' && r.quantity === 'stable_rank' && Number(r.epoch) === 0);
    assert.deepEqual(esd.map((r) => r.layer), ['h1', 'h2', 'out']);
    assert.ok(Number(esd[0].value) > 1, 'h1 (784 x 24) has 24 eigenvalues, fitted');
  });

  it('dynamics: predictions of every training row after epochs 1..E, and examples.arrow consistent with them', () => {
    const p = arrowTable(join(nc, 'dynamics', 'predictions.arrow'));
    assert.equal(p.numRows, 120);
    assert.deepEqual(JSON.parse(p.schema.metadata.get('epochs')), Array.from({length: 12}, (_, i) => i + 1));
    const pt = arrowTensor(p, 'p_true');
    const cor = arrowTensor(p, 'correct');
    const ex = arrowTable(join(nc, 'dynamics', 'examples.arrow'));
    assert.deepEqual(arrowColumn(ex, 'sample'), arrowColumn(p, 'sample'));
    const conf = arrowColumn(ex, 'confidence');
    const corr = arrowColumn(ex, 'correctness');
    const forg = arrowColumn(ex, 'forgetting');
    const first = arrowColumn(ex, 'first_learned');
    for (let i = 0; i < 120; i++) {
      const ps = Array.from(pt.data.subarray(i * 12, (i + 1) * 12));
      const cs = Array.from(cor.data.subarray(i * 12, (i + 1) * 12));
      close(conf[i], ps.reduce((a, b) => a + b, 0) / 12, 1e-6, 'confidence');
      close(corr[i], cs.reduce((a, b) => a + b, 0) / 12, 1e-12, 'correctness');
      assert.equal(forg[i], cs.slice(1).filter((c, k) => cs[k] === 1 && c === 0).length);
      const k = cs.lastIndexOf(0);
      assert.equal(first[i], k === 11 ? -1 : k + 2, 'epoch numbers start at 1');
    }
    assert.ok(existsSync(join(nc, 'report', 'figures', 'data-map.svg')));
  });

  it('dynamics.examples needs every epoch evaluated: train.evalEvery 2 is rejected with exit 2', async () => {
    const r = await runCli(['validate', 'configs/collapse.yaml', '--set', 'train.evalEvery=2']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /evalEvery/);
  });
});
