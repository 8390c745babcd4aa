import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {encodeArrowFile} from '../dist/io/arrow.js';
import {readLabels, readMatrix} from '../dist/io/matrix.js';
import {encodeNpy, parseNpy} from '../dist/io/npy.js';
import {twelveBit} from '../dist/data/twelve-bit.js';

const dir = mkdtempSync(join(tmpdir(), 'tdlab-measure-'));
const cli = (args) => spawnSync(process.execPath, ['bin/run.js', ...args], {encoding: 'utf8'});

/** A hand-made .npy (v1.0) with the given header dict text and little-endian body. */
function npyBytes(header, body) {
  let h = header;
  const pad = (64 - ((10 + h.length + 1) % 64)) % 64;
  h += ' '.repeat(pad) + '\n';
  const out = new Uint8Array(10 + h.length + body.byteLength);
  out.set([0x93, 78, 85, 77, 80, 89, 1, 0]);
  new DataView(out.buffer).setUint16(8, h.length, true);
  out.set(Buffer.from(h, 'latin1'), 10);
  out.set(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), 10 + h.length);
  return out;
}

describe('foreign activation files and tdlab measure', () => {
  const ds = twelveBit.load({});
  // T = the 12-bit input scaled into (-1,1): distinct rows, so I(X;T) = 12 bits and I(T;Y) = H(Y)
  const T = Float32Array.from(ds.x, (v) => v * 0.9 - 0.45);
  const HY = 0.9991571208502705;

  it('reads .npy float64 and int64 the way numpy writes them', async () => {
    const f64 = Float64Array.from([1.5, -2, 3.25, 4, 5, 6]);
    const a = parseNpy(npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", f64), 'a.npy');
    assert.deepEqual(a.shape, [3, 2]);
    assert.deepEqual(Array.from(a.data), [1.5, -2, 3.25, 4, 5, 6]);
    const i64 = BigInt64Array.from([0n, 1n, 1n]);
    writeFileSync(join(dir, 'y64.npy'), npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", i64));
    assert.deepEqual(Array.from(await readLabels(join(dir, 'y64.npy'))), [0, 1, 1]);
    assert.throws(() => parseNpy(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 'bad.npy'), /not a .npy file/);
  });

  it('reads the same matrix from .npy, .csv and .arrow', async () => {
    const m = Float32Array.from([0.5, 1, -1, 2, 3.5, 4]);
    writeFileSync(join(dir, 'm.npy'), encodeNpy(m, [3, 2]));
    writeFileSync(join(dir, 'm.csv'), 'a,b,label\n0.5,1,0\n-1,2,1\n3.5,4,1\n');
    writeFileSync(join(dir, 'm.arrow'), encodeArrowFile([{name: 'h', column: {kind: 'tensor', values: m, width: 2}}, {name: 'label', column: {kind: 'int32', values: Int32Array.from([0, 1, 1])}}], 3));
    for (const f of ['m.npy', 'm.csv', 'm.arrow']) {
      const r = await readMatrix(join(dir, f), {exclude: ['label']});
      assert.deepEqual([r.rows, r.cols, Array.from(r.data)], [3, 2, Array.from(m)], f);
    }
    assert.deepEqual(Array.from(await readLabels(join(dir, 'm.csv'))), [0, 1, 1]);
    assert.deepEqual(Array.from(await readLabels(join(dir, 'm.arrow'))), [0, 1, 1]);
  });

  it('measure --json on .npy gives the contract object with closed-form values', () => {
    writeFileSync(join(dir, 't.npy'), encodeNpy(T, [4096, 12]));
    writeFileSync(join(dir, 'y.npy'), encodeNpy(ds.labels, [4096]));
    const r = cli(['measure', '--activations', join(dir, 't.npy'), '--labels', join(dir, 'y.npy'), '--metric', 'mi.bin', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(out), ['metric', 'params', 'unit', 'n', 'values', 'warnings']);
    assert.equal(out.metric, 'mi.bin');
    assert.equal(out.n, 4096);
    assert.equal(out.unit, 'bits');
    assert.equal(out.params.bins, 30);
    assert.equal(out.values.I_XT, 12);
    assert.ok(Math.abs(out.values.I_TY - HY) < 1e-12);
  });

  it('measure sweeps parameters and reports nats on request', () => {
    // T in {0, 0.9}^12: width 0.07 keeps all 4096 rows distinct, width 1 puts them in one bin
    writeFileSync(join(dir, 't2.npy'), encodeNpy(Float32Array.from(ds.x, (v) => v * 0.9), [4096, 12]));
    const r = cli(['measure', '--activations', join(dir, 't2.npy'), '--labels', join(dir, 'y.npy'), '--metric', 'mi.binwidth', '--param', 'binWidth=0.07,1', '--param', 'unit=nats', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.length, 2);
    assert.ok(Math.abs(out[0].values.I_XT - 12 * Math.LN2) < 1e-12);
    assert.equal(out[1].values.I_XT, 0);
    assert.equal(out[1].unit, 'nats');
  });

  it('measure rejects bad input with exit 2 and one line', () => {
    const cases = [
      [['--activations', join(dir, 'nope.npy'), '--metric', 'mi.bin'], /nope.npy: file not found/],
      [['--activations', join(dir, 't.npy'), '--metric', 'mi.nope'], /unknown estimator 'mi.nope'/],
      [['--activations', join(dir, 't.npy'), '--metric', 'mi.bin', '--param', 'binz=3'], /no chosen estimator has a parameter 'binz'/],
      [['--activations', join(dir, 't.npy'), '--metric', 'mi.bin', '--param', 'bins=1'], /bins/],
      [['--activations', join(dir, 't.npy'), '--labels', join(dir, 'm.csv'), '--metric', 'mi.bin'], /3 labels for 4096 activation rows/],
    ];
    for (const [args, re] of cases) {
      const r = cli(['measure', ...args]);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});
