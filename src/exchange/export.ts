/**
 * `tdlab export`: everything in a run as files NumPy (or any CSV reader) opens without pyarrow, in
 * the layout `tdlab import` reads (./layout.ts), so that export then import round-trips. The
 * values are the Arrow data bit for bit (float32 activations, inputs and weights; int32 labels).
 */
import {STATE_ROLE} from '../model/checkpoint.js';
import {existsSync, readdirSync, readFileSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {listColumn, readArrowFile, stringColumn, tensorColumn} from '../io/arrow.js';
import {writeFileAtomic, writeJsonAtomic} from '../io/atomic.js';
import {toCsv} from '../io/csv.js';
import {encodeNpy} from '../io/npy.js';
import {readMetricRows, readTrainingRows} from '../io/tables.js';
import {writeZip} from '../io/zip.js';
import {readModelPlan} from '../model/checkpoint.js';
import {isDensePlan} from '../model/plan.js';
import {readDataset} from '../run/dataset.js';
import {epochOfFile, runPaths} from '../run/paths.js';
import {tdlabVersion} from '../run/provenance.js';
import {UserError} from '../util/errors.js';
import {
  INDEX_FILE, INPUTS_FILE, LABELS_FILE, LAYERS_FILE, METRICS_FILE, SPLIT_FILE, TRAINING_FILE, WEIGHTS_FILE,
  epochEntryName, formatLayersFile,
} from './layout.js';

export const EXPORT_PARTS = ['activations', 'checkpoints', 'training', 'metrics'] as const;
export type ExportPart = (typeof EXPORT_PARTS)[number];
export type ExportFormat = 'npy' | 'csv';

export interface ExportOptions {
  runDir: string;
  format: ExportFormat;
  out: string;
  /** What to write (default: everything the run has). */
  what?: ExportPart[];
}

/** One file written, as listed in index.json. */
export interface ExportedFile {
  path: string;
  what: ExportPart;
  /** labels, inputs, split, layers, activations, weights, training, metrics. */
  kind: string;
  epoch?: number;
  layer?: string;
  /** Array shape (npy) or rows x columns (csv tables of arrays). */
  shape?: number[];
  dtype?: string;
}

export interface ExportIndex {
  tdlab: string;
  run: string;
  runId: string;
  format: ExportFormat;
  what: ExportPart[];
  n: number;
  classes: number;
  epochs: number[];
  layers: {name: string; index: number; kind: string; activation: string; width: number; shape: number[]}[];
  files: ExportedFile[];
}

/** A float32 matrix as CSV (header c0..c{d-1}); numbers in the shortest text that reads back to the same float32. */
function matrixCsv(data: Float32Array | Int32Array, rows: number, cols: number, header?: string[]): string {
  const head = header ?? Array.from({length: cols}, (_, j) => `c${j}`);
  const out: (number | string)[][] = [];
  for (let i = 0; i < rows; i++) out.push(Array.from(data.subarray(i * cols, (i + 1) * cols)));
  return toCsv(head, out);
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Writes the export; fails before writing anything on bad input. Returns what index.json lists. */
export async function exportRun(opts: ExportOptions): Promise<ExportIndex> {
  const paths = runPaths(opts.runDir);
  if (!existsSync(paths.provenance) || !existsSync(paths.datasetInfo)) throw new UserError(`${opts.runDir}: not a run directory with data (no provenance.json or data/dataset.json); give a path like runs/<name>/<run-id>`);
  if (existsSync(opts.out) && readdirSync(opts.out).length > 0) throw new UserError(`--out ${opts.out}: not empty; export into a new or empty directory`);
  const what = opts.what?.length ? [...new Set(opts.what)] : [...EXPORT_PARTS];
  const plan = readModelPlan(paths.model);
  const data = readDataset(paths);
  const epochs = existsSync(paths.activationsDir) ? readdirSync(paths.activationsDir).map(epochOfFile).filter((e): e is number => e !== undefined).sort((a, b) => a - b) : [];
  const ckptEpochs = existsSync(paths.checkpointsDir) ? readdirSync(paths.checkpointsDir).map(epochOfFile).filter((e): e is number => e !== undefined).sort((a, b) => a - b) : [];
  if (what.includes('checkpoints') && opts.what?.includes('checkpoints') && ckptEpochs.length === 0) throw new UserError(`${opts.runDir}: no checkpoints/ to export`);
  if (what.includes('metrics') && opts.what?.includes('metrics') && !existsSync(paths.metricsArrow)) throw new UserError(`${opts.runDir}: no metrics/metrics.arrow to export (run tdlab metrics first)`);
  const csv = opts.format === 'csv';
  const files: ExportedFile[] = [];
  const put = (f: ExportedFile, bytes: string | Uint8Array) => {
    writeFileAtomic(join(opts.out, f.path), bytes);
    files.push(f);
  };
  const n = data.n;

  if (what.includes('activations')) {
    if (csv) {
      put({path: 'labels.csv', what: 'activations', kind: 'labels', shape: [n, 1], dtype: 'int32'}, matrixCsv(data.labels, n, 1, ['label']));
      put({path: 'split.csv', what: 'activations', kind: 'split', shape: [n, 1], dtype: 'int32'}, matrixCsv(Int32Array.from(data.split, (s) => (s === 'train' ? 1 : 0)), n, 1, ['train']));
    } else {
      put({path: LABELS_FILE, what: 'activations', kind: 'labels', shape: [n], dtype: 'int32'}, encodeNpy(data.labels, [n]));
      put({path: SPLIT_FILE, what: 'activations', kind: 'split', shape: [n], dtype: 'int32'}, encodeNpy(Int32Array.from(data.split, (s) => (s === 'train' ? 1 : 0)), [n]));
    }
    if (data.x.length > 0) {
      const shape = [n, ...data.inputShape];
      if (csv) put({path: 'x.csv', what: 'activations', kind: 'inputs', shape: [n, data.x.length / n], dtype: 'float32'}, matrixCsv(data.x, n, data.x.length / n));
      else put({path: INPUTS_FILE, what: 'activations', kind: 'inputs', shape, dtype: 'float32'}, encodeNpy(data.x, shape));
    }
    put({path: LAYERS_FILE, what: 'activations', kind: 'layers'}, formatLayersFile(plan.layers.map((l) => ({name: l.name, activation: l.activation === 'unknown' ? null : l.activation}))));
    for (const epoch of epochs) {
      const t = readArrowFile(paths.activation(epoch));
      for (const layer of plan.layers) {
        const T = tensorColumn(t, layer.name);
        const shape = [n, ...layer.outputShape];
        const dir = epochEntryName(epoch);
        if (csv) put({path: `${dir}/${layer.name}.csv`, what: 'activations', kind: 'activations', epoch, layer: layer.name, shape: [n, T.cols], dtype: 'float32'}, matrixCsv(T.data, n, T.cols));
        else put({path: `${dir}/${layer.name}.npy`, what: 'activations', kind: 'activations', epoch, layer: layer.name, shape, dtype: 'float32'}, encodeNpy(T.data, shape));
      }
    }
  }

  if (what.includes('checkpoints')) {
    const dense = isDensePlan(plan);
    for (const epoch of ckptEpochs) {
      const t = readArrowFile(paths.checkpoint(epoch));
      // the model's tensors only: rows of role `optimizer` are training state, not weights
      const keep = stringColumn(t, 'role').map((r) => r !== STATE_ROLE);
      const names = stringColumn(t, 'name').filter((_, i) => keep[i]);
      const shapes = stringColumn(t, 'shape').filter((_, i) => keep[i]).map((s) => JSON.parse(s) as number[]);
      const values = listColumn(t, 'values').filter((_, i) => keep[i]);
      // dense networks: W0, b0, W1, b1, ... (the names tdlab import and tdlab measure --weights read); others: <layer>.<param>
      let w = 0;
      const arrayName = names.map((name) => {
        if (!dense) return name;
        const role = name.endsWith('.W') ? 'W' : 'b';
        return role === 'W' ? `W${w++}` : `b${w - 1}`;
      });
      if (csv) {
        names.forEach((_, i) => {
          const shape = shapes[i];
          const cols = shape.length ? shape[shape.length - 1] : 1;
          const rows = prod(shape) / cols;
          put({path: `${epochEntryName(epoch)}/weights/${arrayName[i]}.csv`, what: 'checkpoints', kind: 'weights', epoch, layer: names[i], shape: [rows, cols], dtype: 'float32'}, matrixCsv(values[i], rows, cols));
        });
      } else {
        const zip = await writeZip(names.map((_, i) => ({name: `${arrayName[i]}.npy`, data: encodeNpy(values[i], shapes[i])})));
        put({path: `${epochEntryName(epoch)}/${WEIGHTS_FILE}`, what: 'checkpoints', kind: 'weights', epoch, shape: [names.length], dtype: 'npz'}, zip);
      }
    }
  }

  if (what.includes('training') && existsSync(paths.training)) {
    const rows = readTrainingRows(paths.training);
    put({path: TRAINING_FILE, what: 'training', kind: 'training', shape: [rows.length, 4]}, toCsv(['epoch', 'layer', 'quantity', 'value'], rows.map((r) => [r.epoch, r.layer, r.quantity, r.value])));
  }

  if (what.includes('metrics') && existsSync(paths.metricsArrow)) {
    const rows = readMetricRows(paths.metricsArrow);
    put(
      {path: METRICS_FILE, what: 'metrics', kind: 'metrics', shape: [rows.length, 11]},
      toCsv(['epoch', 'layer_index', 'layer', 'estimator', 'quantity', 'params', 'subset', 'n', 'value', 'unit', 'at_ceiling'], rows.map((r) => [r.epoch, r.layerIndex, r.layer, r.estimator, r.quantity, r.params, r.subset, r.n, r.value, r.unit, r.atCeiling])),
    );
  }

  const prov = JSON.parse(readFileSync(paths.provenance, 'utf8')) as {runId: string};
  const index: ExportIndex = {
    tdlab: tdlabVersion(),
    run: resolve(opts.runDir),
    runId: prov.runId,
    format: opts.format,
    what,
    n,
    classes: data.classes,
    epochs,
    layers: plan.layers.map((l) => ({name: l.name, index: l.index, kind: l.kind, activation: l.activation, width: l.width, shape: l.outputShape})),
    files,
  };
  writeJsonAtomic(join(opts.out, INDEX_FILE), index);
  return index;
}
