import {z} from 'zod';
import {readLabels, readMatrix} from '../io/matrix.js';
import {UserError} from '../util/errors.js';
import {Rng} from '../util/prng.js';
import {classCounts, labelEntropy, standardizeColumns} from './transforms.js';
import type {Dataset, DatasetType} from './types.js';

const options = z
  .object({
    /** The table: .csv (numeric, header row), .npy/.npz (rows x features) or .arrow (numeric columns or one FixedSizeList column). A relative path is relative to the config file's directory. */
    path: z.string().min(1),
    /** Labels in a separate file (.npy / .npz / .csv / .arrow: class ids, or one-hot / label rows); default: the `labelColumn` of `path`. Relative to the config file's directory. */
    labels: z.string().optional(),
    /** Name of the label column (CSV header / Arrow field). */
    labelColumn: z.string().default('label'),
    /** Per-sample input shape, e.g. [28, 28, 1]; default [features]. */
    shape: z.array(z.number().int().positive()).optional(),
    /** Standardise each feature column to mean 0, std 1 (constant columns become 0). */
    standardize: z.boolean().default(false),
    /** Seeded permutation of the labels (random-label control). */
    shuffleLabels: z.boolean().default(false),
  })
  .strict();

export type TableOptions = z.infer<typeof options>;

/** A user table with integer class labels 0..C-1 (readers of src/io/matrix.ts). */
export const table: DatasetType<TableOptions> = {
  description: 'your own table (.csv, .npy, .npz, .arrow) with integer labels in a column (labelColumn) or a separate file (labels)',
  options,
  files: (o) => [{field: 'path', path: o.path}, ...(o.labels ? [{field: 'labels', path: o.labels}] : [])],
  async shape(o, seed) {
    const ds = await table.load(o, seed);
    return {n: ds.n, inputShape: ds.inputShape, classes: ds.classes};
  },
  async load(o, seed): Promise<Dataset> {
    const field = (name: string) => (err: unknown) => {
      throw err instanceof UserError ? new UserError(`data.options.${name}: ${err.message}`) : err;
    };
    const m = await readMatrix(o.path, o.labels ? {} : {exclude: [o.labelColumn]}).catch(field('path'));
    const labels = await (o.labels ? readLabels(o.labels) : readLabels(o.path, o.labelColumn)).catch(field(o.labels ? 'labels' : 'labelColumn'));
    if (labels.length !== m.rows) throw new UserError(`data.options: ${m.rows} rows in ${o.path} but ${labels.length} labels`);
    if (m.cols === 0) throw new UserError(`data.options.path: ${o.path}: no feature columns`);
    const bad = m.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new UserError(`data.options.path: ${o.path}: row ${Math.floor(bad / m.cols) + 1}, column ${(bad % m.cols) + 1}: ${m.data[bad]} is not a finite number (inputs must be finite)`);
    let classes = 0;
    for (let i = 0; i < labels.length; i++) {
      const y = labels[i];
      if (y < 0) throw new UserError(`data.options: label ${y} in row ${i + 1} is negative (use class ids 0..C-1)`);
      classes = Math.max(classes, y + 1);
    }
    if (classes < 2) throw new UserError(`data.options: ${o.path}: need at least 2 classes`);
    const inputShape = o.shape ?? [m.cols];
    if (inputShape.reduce((a, b) => a * b, 1) !== m.cols) throw new UserError(`data.options.shape [${inputShape.join(', ')}] does not have ${m.cols} entries`);
    const x = Float32Array.from(m.data);
    if (o.standardize) standardizeColumns(x, m.rows, m.cols);
    const facts: Record<string, number | string> = {source: o.path, entropyY: labelEntropy(labels, classes)};
    if (o.shuffleLabels) {
      new Rng(seed, 'table/shuffle-labels').shuffle(labels);
      facts.labels = 'shuffled (seeded permutation)';
    }
    classCounts(labels, classes).forEach((c, k) => (facts[`count${k}`] = c));
    return {name: 'table', n: m.rows, inputShape, x, labels, classes, facts};
  },
};
