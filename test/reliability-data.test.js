// Issue 11, items 1 and 2: one policy for bad numbers, and foreign data as people have it.
// Reference values come from test/fixtures/foreign/make.py (NumPy); the CLI is driven as a user would.
import assert from 'node:assert/strict';
import {readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {fixture, runCli, tempDir} from './helpers.js';
import {estimators, modelMetrics} from '../dist/metrics/registry.js';
import {measureFiles} from '../dist/stages/measure.js';
import {encodeNpy} from '../dist/io/npy.js';
import {writeZip} from '../dist/io/zip.js';

const foreign = (f) => fixture(join('foreign', f));
const expected = JSON.parse(readFileSync(foreign('expected.json'), 'utf8'));
const dir = tempDir('tdlab-reliability-data-');
after(() => rmSync(dir, {recursive: true, force: true}));

/** `tdlab measure ... --json`: the parsed result (exit 0 asserted). */
async function measure(args) {
  const r = await runCli(['measure', ...args, '--json']);
  assert.equal(r.code, 0, `${args.join(' ')}\n${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout);
}

/** `tdlab measure` that must fail with exit 2 and one line: returns the message. */
async function measureError(args) {
  const r = await runCli(['measure', ...args]);
  assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  return lines[0];
}

/** A 40 x 3 matrix of tanh-like values with one bad value at row 7, column 2 (0-based [6, 1]). */
function withBad(value) {
  const T = Float32Array.from({length: 120}, (_, i) => Math.tanh(Math.sin(i * 1.7) * 2));
  T[6 * 3 + 1] = value;
  return T;
}

describe('issue 11.1: one policy for bad numbers', function () {
  this.timeout(60000);

  it('tdlab measure: a NaN activation is exit 2 naming the file, row and column (not a number)', async function () {
    writeFileSync(join(dir, 'nan.npy'), encodeNpy(withBad(NaN), [40, 3]));
    const msg = await measureError(['--activations', join(dir, 'nan.npy'), '--metric', 'mi.bin']);
    assert.match(msg, /nan\.npy: row 7, column 2 \(\[6, 1\] 0-based\) is NaN/);
  });

  it('every registered estimator refuses NaN and infinities at the boundary (no finite number from non-finite input)', async function () {
    writeFileSync(join(dir, 'inf.npy'), encodeNpy(withBad(-Infinity), [40, 3]));
    writeFileSync(join(dir, 'nan.npy'), encodeNpy(withBad(NaN), [40, 3]));
    writeFileSync(join(dir, 'y.npy'), encodeNpy(Int32Array.from({length: 40}, (_, i) => i % 2), [40]));
    for (const name of estimators.names()) {
      for (const f of ['nan.npy', 'inf.npy']) {
        await assert.rejects(
          () => measureFiles({activations: join(dir, f), labels: join(dir, 'y.npy'), metric: name}),
          (err) => err.name === 'UserError' && err.exitCode === 2 && /row 7, column 2/.test(err.message) && err.message.includes(f),
          `${name} on ${f}`,
        );
      }
    }
  });

  it('mi.binwidth: a bin index past the 32-bit range is an error, not a wrap-around', async function () {
    const T = Float32Array.from({length: 40}, (_, i) => (i === 9 ? 3e9 : i / 40));
    writeFileSync(join(dir, 'big.npy'), encodeNpy(T, [40, 1]));
    const msg = await measureError(['--activations', join(dir, 'big.npy'), '--metric', 'mi.binwidth', '--param', 'binWidth=0.07']);
    assert.match(msg, /big\.npy: mi\.binwidth: row 10, column 1 .* outside the 32-bit range; use a larger binWidth/);
  });

  it('weight metrics: a NaN weight is exit 2 naming the tensor, row and column (local rank used to report 0)', async function () {
    const W0 = Float32Array.from({length: 12}, (_, i) => Math.sin(i + 1));
    W0[5] = NaN; // row 2, column 2 of the 3 x 4 matrix
    const W1 = Float32Array.from({length: 8}, (_, i) => Math.cos(i));
    const npz = await writeZip([{name: 'W0.npy', data: encodeNpy(W0, [3, 4])}, {name: 'W1.npy', data: encodeNpy(W1, [4, 2])}]);
    writeFileSync(join(dir, 'w.npz'), npz);
    writeFileSync(join(dir, 'x.npy'), encodeNpy(Float32Array.from({length: 30}, (_, i) => i / 30), [10, 3]));
    writeFileSync(join(dir, 'y2.npy'), encodeNpy(Int32Array.from({length: 10}, (_, i) => i % 2), [10]));
    for (const name of modelMetrics.names()) {
      // a metric of the training loss (curv.hessian) also takes the rows' labels
      const labels = modelMetrics.get(name).needsLabels ? ['--labels', join(dir, 'y2.npy')] : [];
      const msg = await measureError(['--weights', join(dir, 'w.npz'), '--activation', 'relu', '--x', join(dir, 'x.npy'), ...labels, '--metric', name]);
      assert.match(msg, /w\.npz: layer 1 weights \(W0\): row 2, column 2 \(\[1, 1\] 0-based\) is NaN/, name);
    }
  });
});

describe('issue 11.2: foreign data as people have it', function () {
  this.timeout(60000);
  const miBin = expected['mi.bin'];

  it('labels: one-hot rows (Keras, IDNNs) and other label rows give the values of integer labels', async function () {
    const base = await measure(['--activations', foreign('acts_c.npy'), '--labels', foreign('labels_int.npy'), '--metric', 'mi.bin']);
    assert.ok(Math.abs(base.values.I_TY - miBin.I_TY) < 1e-12, `${base.values.I_TY} vs NumPy ${miBin.I_TY}`);
    for (const f of ['labels_onehot.npy', 'labels_rows.npy']) {
      const r = await measure(['--activations', foreign('acts_c.npy'), '--labels', foreign(f), '--metric', 'mi.bin']);
      assert.deepEqual(r.values, base.values, f);
    }
  });

  it('.npy in Fortran order (np.save(W.T)) reads as the same matrix as C order, also for 3-D arrays', async function () {
    const c = await measure(['--activations', foreign('acts_c.npy'), '--labels', foreign('labels_int.npy'), '--metric', 'mi.bin']);
    const f = await measure(['--activations', foreign('acts_f.npy'), '--labels', foreign('labels_int.npy'), '--metric', 'mi.bin']);
    assert.deepEqual(f.values, c.values);
    assert.equal(c.values.I_XT, miBin.I_XT_distinct);
    const c3 = await measure(['--activations', foreign('acts3_c.npy'), '--metric', 'geom.erank']);
    const f3 = await measure(['--activations', foreign('acts3_f.npy'), '--metric', 'geom.erank']);
    assert.deepEqual(f3.values, c3.values);
  });

  it('.npz from np.savez (zip64 headers) and np.savez_compressed: --column picks the array', async function () {
    const c = await measure(['--activations', foreign('acts_c.npy'), '--labels', foreign('labels_int.npy'), '--metric', 'mi.bin']);
    for (const f of ['acts.npz', 'acts_z.npz']) {
      const r = await measure(['--activations', foreign(f), '--column', 'T', '--labels', foreign('labels_int.npy'), '--metric', 'mi.bin']);
      assert.deepEqual(r.values, c.values, f);
    }
    const msg = await measureError(['--activations', foreign('acts.npz'), '--metric', 'mi.bin']);
    assert.match(msg, /acts\.npz: 2 arrays \(T, X\); pick one with --column/);
  });

  it('--x with repeated inputs: binning I(X;T) = H(T) - H(T|X) over X\'s distinct rows (NumPy reference)', async function () {
    const r = await measure(['--activations', foreign('acts_c.npy'), '--x', foreign('x_dup.npy'), '--metric', 'mi.bin']);
    assert.ok(Math.abs(r.values.I_XT - miBin.I_XT_with_x) < 1e-12, `${r.values.I_XT} vs NumPy ${miBin.I_XT_with_x} (H(T) = ${miBin.H_T})`);
  });

  it('CSV: quoted names, an empty cell names line, row and column; a first row of numbers (even nan) is data, not a header', async function () {
    writeFileSync(join(dir, 'q.csv'), '"unit, a","unit ""b"""\n0.5,0.25\n-0.5,0.75\n0.125,-1\n');
    const q = await measure(['--activations', join(dir, 'q.csv'), '--metric', 'act.stats']);
    assert.equal(q.n, 3);
    writeFileSync(join(dir, 'empty.csv'), 'a,b\n0.5,0.25\n-0.5,\n');
    assert.match(await measureError(['--activations', join(dir, 'empty.csv'), '--metric', 'mi.bin']), /empty\.csv:3: row 2, column 2 \('b'\): empty cell/);
    // a first data row with a nan must not be taken as a header: it is row 1, and its NaN is refused
    writeFileSync(join(dir, 'nanfirst.csv'), 'nan,0.5\n0.25,0.5\n0.5,0.5\n');
    assert.match(await measureError(['--activations', join(dir, 'nanfirst.csv'), '--metric', 'mi.bin']), /nanfirst\.csv: row 1, column 1 .* is NaN/);
    writeFileSync(join(dir, 'mixed.csv'), 'a,1\n0.25,0.5\n');
    assert.match(await measureError(['--activations', join(dir, 'mixed.csv'), '--metric', 'mi.bin']), /mixed\.csv:1: the first row mixes numbers and names/);
  });

  it('mi.ebab and mi.adaptmax take lo; measure defaults to 0 for non-negative data, else -1.000001 (spec 3.3)', async function () {
    const nonneg = Float32Array.from({length: 300}, (_, i) => Math.max(0, Math.sin(i * 0.37) * 3));
    writeFileSync(join(dir, 'relu.npy'), encodeNpy(nonneg, [100, 3]));
    const tanhLike = Float32Array.from({length: 300}, (_, i) => Math.tanh(Math.sin(i * 0.37) * 3));
    writeFileSync(join(dir, 'tanh.npy'), encodeNpy(tanhLike, [100, 3]));
    // in-process: the same code path as tdlab measure (measureFiles), without a process per call
    const values = async (file, metric, extra = {}) => (await measureFiles({activations: join(dir, file), metric, ...extra}))[0].values;
    for (const metric of ['mi.ebab', 'mi.adaptmax']) {
      const d0 = await values('relu.npy', metric);
      assert.deepEqual(d0, await values('relu.npy', metric, {params: ['lo=0']}), `${metric}: default lo 0`);
      assert.deepEqual(d0, await values('relu.npy', metric, {activation: 'relu'}), `${metric}: as a relu layer`);
      const d1 = await values('tanh.npy', metric);
      assert.deepEqual(d1, await values('tanh.npy', metric, {params: ['lo=-1.000001']}), `${metric}: default lo -1.000001`);
      assert.deepEqual(d1, await values('tanh.npy', metric, {activation: 'tanh'}), `${metric}: as a tanh layer`);
      // a different lo gives different edges (and values below lo are refused, not wrapped)
      assert.notDeepEqual(await values('relu.npy', metric, {params: ['lo=-0.5']}), d0, metric);
      await assert.rejects(() => values('tanh.npy', metric, {params: ['lo=0']}), new RegExp(`tanh\\.npy: ${metric.replace('.', '\\.')}: row \\d+, column \\d+ .* below lo = 0`));
    }
    // through the CLI once: the flag and the exit code
    assert.match(await measureError(['--activations', join(dir, 'tanh.npy'), '--metric', 'mi.ebab', '--param', 'lo=0']), /below lo = 0/);
  });
});
