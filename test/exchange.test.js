// tdlab import / tdlab export: a PyTorch MLP's snapshots (Debian's python3-torch) become a run whose
// mi.bin equals an independent NumPy computation on the same arrays; an export loads with NumPy alone
// and equals the Arrow data bit for bit; export then import round-trips; bad layouts are usage errors.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {arrowColumn, arrowTable, arrowTensor, parseCsv, parseParams, readJson, ROOT, runCli, tempDir, fixture} from './helpers.js';

/** Debian's Python with python3-torch and python3-numpy (.ci/run installs them). */
const PY = '/usr/bin/python3';

function python(args, opts = {}) {
  const r = spawnSync(PY, args, {encoding: 'utf8', cwd: ROOT, ...opts});
  if (r.error) throw new Error(`${PY}: ${r.error.message} (apt-get install python3-numpy python3-torch)`);
  assert.equal(r.status, 0, `${PY} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');
const typedBytes = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** A minimal .npy (v1.0) writer for test inputs: float32 / int64 little-endian, C order. */
function npy(values, shape, dtype = '<f4') {
  const data = dtype === '<f4' ? Float32Array.from(values) : BigInt64Array.from(values, (v) => BigInt(v));
  let header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), typedBytes(data)]);
}

describe('tdlab import: a PyTorch MLP trained by Debian python3-torch', function () {
  this.timeout(300000);
  let dir;
  let snap;
  let ref;
  let out;
  let runDir;
  before(async function () {
    dir = tempDir('tdlab-import-');
    snap = join(dir, 'snapshots');
    python([join('test', 'python', 'torch_mlp_snapshots.py'), snap, join(dir, 'reference.json')]);
    ref = readJson(join(dir, 'reference.json'));
    const r = await runCli(['import', snap, '--name', 'torch-mlp', '--out', join(dir, 'runs'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    out = JSON.parse(r.stdout);
    runDir = out.runDir;
    // add a second bin count, then render the report again
    const m = await runCli(['metrics', runDir, '--estimator', 'mi.bin', '--param', 'bins=10', '--json']);
    assert.equal(m.code, 0, m.stderr);
    const rep = await runCli(['report', runDir, '--json']);
    assert.equal(rep.code, 0, rep.stderr);
  });

  it('prints runDir, status, epochs and layers (layers.txt order) and makes an ordinary run directory', function () {
    assert.deepEqual(Object.keys(out).sort(), ['epochs', 'layers', 'runDir', 'status']);
    assert.equal(out.status, 'done');
    assert.deepEqual(out.epochs, [0, 1, 2, 4, 8, 16, 24]);
    assert.deepEqual(out.layers, ['h1', 'h2', 'out']);
    for (const f of ['config.yaml', 'provenance.json', 'data/dataset.arrow', 'data/dataset.json', 'model.json', 'training.arrow', 'activations/epoch_000024.arrow', 'checkpoints/epoch_000024.arrow', 'metrics/metrics.arrow', 'report/index.html', 'report/summary.json']) {
      assert.ok(existsSync(join(runDir, f)), f);
    }
    const model = readJson(join(runDir, 'model.json'));
    assert.deepEqual(model.layers.map((l) => [l.name, l.width, l.activation, l.kind]), [['h1', 10, 'tanh', 'hidden'], ['h2', 6, 'relu', 'hidden'], ['out', 2, 'softmax', 'output']]);
  });

  it('provenance says imported, from where, with the sha256 of every file read', function () {
    const prov = readJson(join(runDir, 'provenance.json'));
    assert.equal(prov.import.source, snap);
    assert.equal(prov.stages.data.info.imported, true);
    assert.equal(prov.stages.train.info.imported, true);
    const files = Object.fromEntries(prov.import.files.map((f) => [f.path, f.sha256]));
    for (const f of ['labels.npy', 'x.npy', 'layers.txt', 'training.csv', 'epoch_0/h1.npy', 'epoch_24/out.npy', 'epoch_24/weights.npz']) {
      assert.equal(files[f], sha(readFileSync(join(snap, f))), f);
    }
    assert.equal(prov.status, 'done');
  });

  it('the activations are the .npy arrays bit for bit; labels and training log come along', function () {
    const t = arrowTable(join(runDir, 'activations', 'epoch_000016.arrow'));
    const h2 = arrowTensor(t, 'h2');
    const npyBytes = readFileSync(join(snap, 'epoch_16', 'h2.npy'));
    assert.equal(sha(typedBytes(h2.data)), sha(npyBytes.subarray(npyBytes.length - h2.data.byteLength)));
    assert.equal(arrowColumn(t, 'label').length, 512);
    const training = arrowTable(join(runDir, 'training.arrow'));
    const q = arrowColumn(training, 'quantity');
    assert.equal(q.filter((x) => x === 'train_loss').length, 24);
  });

  it('mi.bin (bins 30 and 10) equals an independent NumPy computation on the same arrays to 1e-9', function () {
    const rows = parseCsv(readFileSync(join(runDir, 'metrics', 'metrics.csv'), 'utf8')).filter((r) => r.estimator === 'mi.bin');
    let checked = 0;
    for (const e of ref) {
      for (const q of ['I_XT', 'I_TY']) {
        const row = rows.find((r) => Number(r.epoch) === e.epoch && r.layer === e.layer && r.quantity === q && parseParams(r.params).bins === String(e.bins));
        assert.ok(row, `no mi.bin row for epoch ${e.epoch} ${e.layer} ${q} bins=${e.bins}`);
        assert.ok(Math.abs(Number(row.value) - e[q]) <= 1e-9, `${e.layer} epoch ${e.epoch} bins ${e.bins} ${q}: ${row.value} vs NumPy ${e[q]}`);
        checked++;
      }
      const outside = rows.find((r) => Number(r.epoch) === e.epoch && r.layer === e.layer && r.quantity === 'out_of_range' && parseParams(r.params).bins === String(e.bins));
      assert.ok(Math.abs(Number(outside.value) - e.outside) < 1e-12, `out_of_range ${e.layer} ${e.epoch}`);
    }
    assert.equal(checked, 7 * 3 * 2 * 2);
  });

  it('the report, summary, compare and phases work on the imported run', async function () {
    const summary = readJson(join(runDir, 'report', 'summary.json'));
    assert.deepEqual(summary.layers.map((l) => l.name), ['h1', 'h2', 'out']);
    assert.equal(summary.dataset.name, 'imported');
    assert.ok(summary.layers[0].mi.some((m) => m.params.includes('bins=10')), 'the report lists the values added by tdlab metrics');
    const html = readFileSync(join(runDir, 'report', 'index.html'), 'utf8');
    // the Command is the import; the later metrics and report commands are listed under it
    assert.ok(html.includes(`<code>tdlab import ${snap} --name torch-mlp --out ${join(dir, 'runs')} --json</code>`), 'the command that made the run');
    assert.ok(html.includes(`<code>tdlab metrics ${runDir} --estimator mi.bin --param bins=10 --json</code>`));
    assert.ok(html.includes(`<code>tdlab report ${runDir} --json</code>`));
    const cmp = await runCli(['compare', runDir, runDir, '--json']);
    assert.equal(cmp.code, 0, cmp.stderr);
    assert.ok(JSON.parse(cmp.stdout).metrics.some((m) => m.layer === 'h2'));
    const ph = await runCli(['phases', runDir, '--features', 'mi.binwidth:I_XT:h2,train:train_loss', '--k', '1..2', '--json']);
    assert.equal(ph.code, 0, ph.stderr);
    const ag = await runCli(['aggregate', runDir, '--out', join(dir, 'agg'), '--json']);
    assert.equal(ag.code, 0, ag.stderr);
    assert.deepEqual(JSON.parse(ag.stdout).groups[0].layers.map((l) => l.layer), ['h1', 'h2', 'out']);
  });

  it('weights.npz become checkpoints: local rank of the first layer is rank(W1) = min(8, 10) at every snapshot', async function () {
    const r = await runCli(['metrics', runDir, '--estimator', 'geom.local_rank', '--param', 'points=16', '--no-report', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rows = parseCsv(readFileSync(join(runDir, 'metrics', 'metrics.csv'), 'utf8')).filter((x) => x.estimator === 'geom.local_rank' && x.quantity === 'local_rank');
    const h1 = rows.filter((x) => x.layer === 'h1');
    assert.equal(h1.length, 7);
    for (const x of h1) assert.equal(Number(x.value), 8, `epoch ${x.epoch}`);
    for (const x of rows.filter((y) => y.layer === 'h2')) assert.ok(Number(x.value) <= 6, 'bounded by the width-6 layer');
  });
});

describe('tdlab export: NumPy-readable files equal to the Arrow data, and back with import', function () {
  this.timeout(300000);
  let dir;
  let runDir;
  before(async function () {
    dir = tempDir('tdlab-export-');
    const r = await runCli(['run', fixture('tiny.yaml'), '--set', 'train.epochs=30', '--set', 'model.activation=relu', '--out', join(dir, 'runs'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    runDir = JSON.parse(r.stdout).runDir;
  });

  it('--format npy: every array loads with NumPy alone and equals the Arrow data bit for bit', async function () {
    const out = join(dir, 'npy');
    const r = await runCli(['export', runDir, '--format', 'npy', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const index = readJson(join(out, 'index.json'));
    assert.deepEqual(index.epochs, [0, 10, 20, 29]);
    // NumPy side: shape, dtype and sha256 of the raw bytes of every array (.npy and .npz members)
    const script = `
import json, hashlib, sys, numpy as np, os
out = {}
root = sys.argv[1]
for p in json.load(open(os.path.join(root, 'index.json')))['files']:
    f = os.path.join(root, p['path'])
    if f.endswith('.npy'):
        a = np.load(f)
        out[p['path']] = [list(a.shape), a.dtype.str, hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()]
    elif f.endswith('.npz'):
        with np.load(f) as z:
            for k in z.files:
                a = z[k]
                out[p['path'] + ':' + k] = [list(a.shape), a.dtype.str, hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()]
print(json.dumps(out))`;
    const np = JSON.parse(python(['-c', script, out]));
    // Arrow side, read with apache-arrow (not tdlab's reader)
    const data = arrowTable(join(runDir, 'data', 'dataset.arrow'));
    const x = arrowTensor(data, 'x');
    assert.deepEqual(np['x.npy'], [[4096, 12], '<f4', sha(typedBytes(x.data))]);
    assert.deepEqual(np['labels.npy'], [[4096], '<i4', sha(typedBytes(Int32Array.from(arrowColumn(data, 'label'))))]);
    const split = arrowColumn(data, 'split');
    assert.deepEqual(np['split.npy'][2], sha(typedBytes(Int32Array.from(split, (s) => (s === 'train' ? 1 : 0)))));
    let arrays = 0;
    for (const e of index.epochs) {
      const t = arrowTable(join(runDir, 'activations', `epoch_${String(e).padStart(6, '0')}.arrow`));
      for (const l of ['h1', 'h2', 'h3', 'h4', 'h5', 'out']) {
        const T = arrowTensor(t, l);
        assert.deepEqual(np[`epoch_${e}/${l}.npy`], [[4096, T.cols], '<f4', sha(typedBytes(T.data))], `epoch ${e} ${l}`);
        arrays++;
      }
      const ck = arrowTable(join(runDir, 'checkpoints', `epoch_${String(e).padStart(6, '0')}.arrow`));
      // the model's tensors (rows of role `optimizer` hold the training state and are not exported)
      const model = arrowColumn(ck, 'role').map((r) => r !== 'optimizer');
      const names = arrowColumn(ck, 'name').filter((_, i) => model[i]);
      const values = [...ck.getChild('values')].map((v) => Float32Array.from(v)).filter((_, i) => model[i]);
      names.forEach((name, i) => {
        const k = Math.floor(i / 2);
        const key = `epoch_${e}/weights.npz:${name.endsWith('.W') ? 'W' : 'b'}${k}`;
        assert.equal(np[key][2], sha(typedBytes(values[i])), key);
        arrays++;
      });
    }
    assert.equal(arrays, 4 * 6 + 4 * 12);
    const layers = readFileSync(join(out, 'layers.txt'), 'utf8').trim().split('\n');
    assert.deepEqual(layers, ['h1 relu', 'h2 relu', 'h3 relu', 'h4 relu', 'h5 relu', 'out softmax']);
    const training = parseCsv(readFileSync(join(out, 'training.csv'), 'utf8'));
    assert.deepEqual(Object.keys(training[0]), ['epoch', 'layer', 'quantity', 'value']);
    const tr = arrowTable(join(runDir, 'training.arrow'));
    assert.equal(training.length, tr.numRows);
    assert.deepEqual(training.map((r) => Number(r.value)), arrowColumn(tr, 'value'), 'CSV numbers read back to the same doubles');
  });

  it('--format csv writes the arrays as CSV that parses back to the same float32 values', async function () {
    const out = join(dir, 'csv');
    const r = await runCli(['export', runDir, '--format', 'csv', '--out', out, '--what', 'activations']);
    assert.equal(r.code, 0, r.stderr);
    const rows = parseCsv(readFileSync(join(out, 'epoch_29', 'h3.csv'), 'utf8'));
    const T = arrowTensor(arrowTable(join(runDir, 'activations', 'epoch_000029.arrow')), 'h3');
    assert.equal(rows.length, 4096);
    const flat = rows.flatMap((row) => Object.values(row).map(Number));
    assert.deepEqual(Float32Array.from(flat), T.data);
    assert.ok(!existsSync(join(out, 'metrics.csv')), '--what activations writes only the activations');
    const again = await runCli(['export', runDir, '--format', 'csv', '--out', out]);
    assert.equal(again.code, 2, 'a non-empty --out is refused');
    assert.match(again.stderr, /not empty/);
  });

  it('export then import round-trips: the imported run has the same mi.bin values', async function () {
    const out = join(dir, 'round');
    assert.equal((await runCli(['export', runDir, '--format', 'npy', '--out', out])).code, 0);
    const r = await runCli(['import', out, '--out', join(dir, 'back'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const back = JSON.parse(r.stdout).runDir;
    const key = (x) => `${x.epoch}|${x.layer}|${x.estimator}|${x.quantity}|${x.params}`;
    const orig = new Map(parseCsv(readFileSync(join(runDir, 'metrics', 'metrics.csv'), 'utf8')).map((x) => [key(x), x.value]));
    const imported = parseCsv(readFileSync(join(back, 'metrics', 'metrics.csv'), 'utf8')).filter((x) => x.estimator === 'mi.bin' || x.estimator === 'mi.binwidth');
    assert.ok(imported.length > 0);
    for (const x of imported) assert.equal(x.value, orig.get(key(x)), key(x));
    const model = readJson(join(back, 'model.json'));
    assert.deepEqual(model.layers.map((l) => [l.name, l.activation, l.kind]), [['h1', 'relu', 'hidden'], ['h2', 'relu', 'hidden'], ['h3', 'relu', 'hidden'], ['h4', 'relu', 'hidden'], ['h5', 'relu', 'hidden'], ['out', 'softmax', 'output']]);
    assert.ok(existsSync(join(back, 'checkpoints', 'epoch_000029.arrow')), 'weights.npz become checkpoints');
  });
});

describe('tdlab import: layouts and bad input', function () {
  this.timeout(120000);
  let dir;
  before(() => (dir = tempDir('tdlab-import-bad-')));

  /** Writes a snapshot directory: labels, and per epoch a layer dict of [values, shape]. */
  function layout(name, {labels = [[0, 1, 0, 1, 1, 0], [6]], labelType = '<i8', epochs = {}, npz = false, extra = {}} = {}) {
    const d = join(dir, name);
    mkdirSync(d, {recursive: true});
    if (labels) writeFileSync(join(d, 'labels.npy'), npy(labels[0], labels[1], labelType));
    for (const [e, layers] of Object.entries(epochs)) {
      mkdirSync(join(d, `epoch_${e}`), {recursive: true});
      for (const [l, [values, shape]] of Object.entries(layers)) writeFileSync(join(d, `epoch_${e}`, `${l}.npy`), npy(values, shape));
    }
    for (const [f, text] of Object.entries(extra)) writeFileSync(join(d, f), text);
    return d;
  }
  const acts = (k) => [[0.1 * k, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2].map(Number), [6, 2]];

  it('one-hot labels, natural layer order (h2 before h10), no inputs: rows count as distinct inputs', async function () {
    const oneHot = [1, 0, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0];
    const d = layout('onehot', {labels: [oneHot, [6, 2]], epochs: {0: {h10: acts(1), h2: acts(2)}, 5: {h10: acts(3), h2: acts(4)}}});
    const r = await runCli(['import', d, '--out', join(dir, 'runs'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual(j.layers, ['h2', 'h10']);
    const t = arrowTable(join(j.runDir, 'data', 'dataset.arrow'));
    assert.deepEqual(arrowColumn(t, 'label'), [0, 1, 0, 1, 1, 0]);
    const rows = parseCsv(readFileSync(join(j.runDir, 'metrics', 'metrics.csv'), 'utf8'));
    // 6 distinct rows of h10 at epoch 0 (no repeated inputs): I(X;T) = H(T) = log2 6 under mi.binwidth
    const v = rows.find((x) => x.epoch === '0' && x.layer === 'h10' && x.estimator === 'mi.binwidth' && x.quantity === 'I_XT');
    assert.ok(Math.abs(Number(v.value) - Math.log2(6)) < 1e-12, v.value);
  });

  const cases = [
    ['no labels.npy', () => layout('nolabels', {labels: null, epochs: {0: {h1: acts(1)}}}), /labels\.npy: missing/],
    ['rows that do not match the labels', () => layout('rows', {epochs: {0: {h1: [[1, 2, 3, 4], [2, 2]]}}}), /h1\.npy: 2 rows but labels\.npy has 6/],
    ['a layer missing at one epoch', () => layout('missing', {epochs: {0: {h1: acts(1), h2: acts(1)}, 3: {h1: acts(1)}}}), /epoch_3\/h2\.npy: missing/],
    ['a layer whose shape changes', () => layout('shape', {epochs: {0: {h1: acts(1)}, 3: {h1: [acts(1)[0], [6, 1, 2]]}}}), /layer h1 has shape/],
    ['an epoch given twice', () => layout('twice', {epochs: {0: {h1: acts(1)}, '00': {h1: acts(1)}}}), /epoch 0 is given twice/],
    ['labels that are not class ids', () => layout('floatlabels', {labels: [[0, 1.5, 0, 1, 1, 0], [6]], labelType: '<f4', epochs: {0: {h1: acts(1)}}}), /label 1\.5 in row 1 is not a class id/],
    ['an unknown activation in layers.txt', () => layout('act', {epochs: {0: {h1: acts(1)}}, extra: {'layers.txt': 'h1 swish\n'}}), /layers\.txt:1: unknown activation 'swish'/],
    ['no snapshots', () => layout('nosnap', {}), /no snapshots/],
    ['a bad training.csv', () => layout('csv', {epochs: {0: {h1: acts(1)}}, extra: {'training.csv': 'epoch,value\n1,2\n'}}), /training\.csv: no 'quantity' column/],
  ];
  for (const [what, make, message] of cases) {
    it(`${what}: exit 2, one line, nothing written`, async function () {
      const d = make();
      const runs = join(dir, `runs-${what.replace(/\W+/g, '-')}`);
      const r = await runCli(['import', d, '--out', runs]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(!existsSync(runs), 'no run directory was created');
    });
  }
});
