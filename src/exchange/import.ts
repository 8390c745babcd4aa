/**
 * `tdlab import`: a directory of snapshots written by another program (the layout of
 * ./layout.ts, e.g. by scripts/export_snapshots.py from a PyTorch loop) becomes an ordinary run
 * directory: data/dataset.{arrow,json}, model.json, activations/epoch_NNNNNN.arrow, training.arrow
 * and, when weights are given, checkpoints/. The data and train stages are recorded as done by
 * the import, with the source directory and the sha256 of every file read in provenance.json
 * (`import`); the metrics and report stages then run as for any run.
 */
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs';
import {basename, join, relative, resolve} from 'node:path';
import {stringify} from 'yaml';
import {parseConfig} from '../config/load.js';
import {labelEntropy} from '../data/transforms.js';
import type {DatasetInfo} from '../data/types.js';
import {writeArrowFile, type ColumnSpec} from '../io/arrow.js';
import {writeFileAtomic, writeJsonAtomic} from '../io/atomic.js';
import {parseNpy, type NpyArray} from '../io/npy.js';
import {writeTrainingRows} from '../io/tables.js';
import {readZip} from '../io/zip.js';
import {activations as activationRegistry} from '../model/activations.js';
import {writeCheckpoint} from '../model/checkpoint.js';
import type {ModelPlan, PlannedLayer} from '../model/plan.js';
import {runPaths} from '../run/paths.js';
import {newRunDir, runPipeline, type RunOutcome} from '../run/pipeline.js';
import {newProvenance} from '../run/provenance.js';
import {layersMetadata, writeActivationSnapshot} from '../run/snapshots.js';
import type {TrainingRow} from '../types.js';
import {UserError} from '../util/errors.js';
import {sha256} from '../util/hash.js';
import {
  INPUTS_FILE, LABELS_FILE, LAYERS_FILE, RESERVED_LAYER_NAMES, SPLIT_FILE, TRAINING_FILE, WEIGHTS_FILE,
  naturalOrder, parseEpochEntry, parseLayersFile,
} from './layout.js';

export interface ImportOptions {
  /** The snapshot directory. */
  dir: string;
  /** Run name (default: the directory's name, with characters outside [A-Za-z0-9._-] replaced by -). */
  name?: string;
  /** Root under which the run goes as `<name>/<run-id>/` (default `runs`). */
  out?: string;
  argv?: string[];
}

export interface ImportOutcome extends Omit<RunOutcome, 'exitCode' | 'stages' | 'backend' | 'engine' | 'seed' | 'configHash'> {
  epochs: number[];
  layers: string[];
  exitCode: number;
}

/** One file read, for provenance. */
interface SourceFile {
  path: string;
  bytes: number;
  sha256: string;
}

interface EpochSource {
  epoch: number;
  /** `epoch_<N>` directory or `epoch_<N>.npz` archive (relative to the source directory). */
  entry: string;
  npz: boolean;
  weights: string | null;
}

/** Reads and hashes a file of the source directory. */
class SourceReader {
  readonly files: SourceFile[] = [];
  readonly converted: string[] = [];
  constructor(readonly dir: string) {}

  bytes(rel: string): Uint8Array {
    const path = join(this.dir, rel);
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch {
      throw new UserError(`${path}: cannot read the file`);
    }
    this.files.push({path: rel, bytes: data.byteLength, sha256: sha256(data)});
    return data;
  }

  npy(rel: string): NpyArray {
    return parseNpy(this.bytes(rel), join(this.dir, rel));
  }

  /** Arrays of an .npz archive by name (without `.npy`). */
  async npz(rel: string): Promise<Map<string, NpyArray>> {
    const where = join(this.dir, rel);
    const out = new Map<string, NpyArray>();
    for (const e of await readZip(this.bytes(rel), where)) {
      if (!e.name.endsWith('.npy')) continue;
      out.set(e.name.slice(0, -4), parseNpy(e.data, `${where}:${e.name}`));
    }
    return out;
  }

  /** Float32 values of an array (float64 and integer arrays are converted and noted). */
  float32(a: NpyArray, where: string): Float32Array {
    if (a.data instanceof Float32Array) return a.data;
    if (a.dtype === 'b1') throw new UserError(`${where}: boolean array; expected numbers`);
    this.converted.push(`${where}: ${a.dtype} -> float32`);
    return a.data instanceof BigInt64Array || a.data instanceof BigUint64Array ? Float32Array.from(a.data, Number) : Float32Array.from(a.data as ArrayLike<number>);
  }
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const shapeText = (s: readonly number[]) => `(${s.join(', ')}${s.length === 1 ? ',' : ''})`;

/** Integer class ids from a 1-D array of integers, or from an N x C one-hot array. */
export function labelsFromArray(a: NpyArray, where: string): Int32Array {
  const values = a.data instanceof BigInt64Array || a.data instanceof BigUint64Array ? Float64Array.from(a.data, Number) : (a.data as ArrayLike<number>);
  if (a.shape.length === 1) {
    const out = new Int32Array(a.shape[0]);
    for (let i = 0; i < out.length; i++) {
      const v = values[i];
      if (!Number.isInteger(v) || v < 0) throw new UserError(`${where}: label ${v} in row ${i} is not a class id (use integers 0..C-1)`);
      out[i] = v;
    }
    return out;
  }
  if (a.shape.length === 2) {
    const [n, c] = a.shape;
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let hot = -1;
      for (let k = 0; k < c; k++) {
        const v = values[i * c + k];
        if (v === 1 && hot < 0) hot = k;
        else if (v !== 0) throw new UserError(`${where}: row ${i} is not one-hot (column ${k} holds ${v}); give class ids 0..C-1 or one-hot rows of 0 and one 1`);
      }
      if (hot < 0) throw new UserError(`${where}: row ${i} of the one-hot labels has no 1`);
      out[i] = hot;
    }
    return out;
  }
  throw new UserError(`${where}: labels must be 1-D class ids or a 2-D one-hot array, got shape ${shapeText(a.shape)}`);
}

/**
 * The snapshot epochs of the source directory, sorted: activations from `epoch_<N>.npz` or from the
 * .npy files of `epoch_<N>/` (not both), weights from `epoch_<N>/weights.npz`.
 */
function findEpochs(dir: string): EpochSource[] {
  const byEpoch = new Map<number, {npz?: string; dir?: string}>();
  for (const name of readdirSync(dir).sort()) {
    const e = parseEpochEntry(name);
    if (!e || statSync(join(dir, name)).isDirectory() === e.npz) continue;
    const slot = byEpoch.get(e.epoch) ?? {};
    const key = e.npz ? 'npz' : 'dir';
    if (slot[key]) throw new UserError(`${join(dir, name)}: epoch ${e.epoch} is given twice (also ${slot[key]}); keep one`);
    slot[key] = name;
    byEpoch.set(e.epoch, slot);
  }
  const out: EpochSource[] = [];
  for (const [epoch, slot] of byEpoch) {
    const weights = slot.dir && existsSync(join(dir, slot.dir, WEIGHTS_FILE)) ? join(slot.dir, WEIGHTS_FILE) : null;
    if (slot.npz && slot.dir && readdirSync(join(dir, slot.dir)).some((f) => f.endsWith('.npy'))) {
      throw new UserError(`${join(dir, slot.dir)}: epoch ${epoch} has layer arrays here and in ${slot.npz}; keep one`);
    }
    out.push({epoch, entry: slot.npz ?? slot.dir!, npz: slot.npz !== undefined, weights});
  }
  if (out.length === 0) throw new UserError(`${dir}: no snapshots (expected epoch_<N>/<layer>.npy directories or epoch_<N>.npz files)`);
  return out.sort((a, b) => a.epoch - b.epoch);
}

/** Every layer array of one epoch by name (the .npy files of a directory, or an .npz). */
async function epochArrays(src: SourceReader, e: EpochSource): Promise<Map<string, NpyArray>> {
  if (e.npz) return src.npz(e.entry);
  const out = new Map<string, NpyArray>();
  for (const f of readdirSync(join(src.dir, e.entry)).filter((f) => f.endsWith('.npy')).sort(naturalOrder)) out.set(f.slice(0, -4), src.npy(join(e.entry, f)));
  return out;
}

/** training.csv: columns epoch, quantity, value and optionally layer (any order, header first). */
export function parseTrainingCsv(text: string, where: string, layerIndex: (name: string) => number | undefined): TrainingRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  const cells = (l: string) => l.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
  const header = cells(lines[0]);
  const col = (name: string) => header.indexOf(name);
  for (const need of ['epoch', 'quantity', 'value']) {
    if (col(need) < 0) throw new UserError(`${where}: no '${need}' column (the header must name epoch,quantity,value; found ${header.join(',')})`);
  }
  const [ce, cq, cv, cl] = [col('epoch'), col('quantity'), col('value'), col('layer')];
  return lines.slice(1).map((l, i) => {
    const c = cells(l);
    const row = i + 2;
    if (c.length !== header.length) throw new UserError(`${where}:${row}: ${c.length} fields, the header has ${header.length}`);
    const epoch = Number(c[ce]);
    if (!Number.isInteger(epoch) || epoch < 0) throw new UserError(`${where}:${row}: epoch '${c[ce]}' is not a non-negative integer`);
    const text = c[cv].toLowerCase();
    const value = text === 'nan' ? NaN : text === 'inf' ? Infinity : text === '-inf' ? -Infinity : Number(c[cv]);
    if (Number.isNaN(value) && text !== 'nan') throw new UserError(`${where}:${row}: value '${c[cv]}' is not a number`);
    if (c[cq] === '') throw new UserError(`${where}:${row}: empty quantity`);
    const layer = cl >= 0 ? c[cl] : '';
    const li = layer === '' ? -1 : layerIndex(layer);
    if (li === undefined) throw new UserError(`${where}:${row}: layer '${layer}' is not one of the snapshotted layers`);
    return {epoch, layerIndex: li, layer, quantity: c[cq], value};
  });
}

/** A dense plan's parameters from weights.npz (W0, b0, W1, b1, ...), or a reason why not. */
function denseParams(arrays: Map<string, NpyArray>, layers: readonly PlannedLayer[], inputWidth: number | null, where: string): {params: PlannedLayer['params'][]; numParams: number; inputWidth: number} {
  const count = [...arrays.keys()].filter((k) => /^W\d+$/.test(k)).length;
  if (count !== layers.length) throw new UserError(`${where}: ${count} weight matrices (W0, W1, ...) for ${layers.length} snapshotted layers; give one W<l>, b<l> per layer in order`);
  let offset = 0;
  let fanIn = inputWidth;
  const params = layers.map((layer, l) => {
    const W = arrays.get(`W${l}`);
    if (!W) throw new UserError(`${where}: W${l} missing (layers must be numbered W0, W1, ... without gaps)`);
    if (W.shape.length !== 2) throw new UserError(`${where}: W${l} has shape ${shapeText(W.shape)}; expected a 2-D fan_in x fan_out matrix (dense layers only)`);
    const [rows, cols] = W.shape;
    if (cols !== layer.width) throw new UserError(`${where}: W${l} has ${cols} columns but layer ${layer.name} has ${layer.width} units (W is input-by-output: z = x W + b)`);
    if (fanIn !== null && rows !== fanIn) throw new UserError(`${where}: W${l} has ${rows} rows but its input has ${fanIn} values`);
    const b = arrays.get(`b${l}`);
    if (b && prod(b.shape) !== cols) throw new UserError(`${where}: b${l} has ${prod(b.shape)} values but W${l} has ${cols} columns`);
    fanIn = cols;
    const w = {name: 'W', shape: [rows, cols], role: 'weight' as const, fanIn: rows, fanOut: cols, offset, size: rows * cols};
    offset += w.size;
    const bias = {name: 'b', shape: [cols], role: 'bias' as const, fanIn: rows, fanOut: cols, offset, size: cols};
    offset += cols;
    return [w, bias];
  });
  return {params, numParams: offset, inputWidth: layers.length ? params[0][0].shape[0] : 0};
}

function runName(opts: ImportOptions): string {
  const name = opts.name ?? basename(resolve(opts.dir)).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new UserError(`--name ${JSON.stringify(opts.name ?? name)}: use letters, digits, ".", "_" or "-"`);
  return name;
}

/**
 * Imports a snapshot directory into a new run directory and runs its metrics and report stages.
 * Bad input fails before anything is written (UserError); the run's outcome is returned.
 */
export async function importSnapshots(opts: ImportOptions): Promise<ImportOutcome> {
  const dir = resolve(opts.dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`${opts.dir}: not a directory (give the directory holding labels.npy and epoch_<N> snapshots)`);
  const name = runName(opts);
  const src = new SourceReader(dir);
  if (!existsSync(join(dir, LABELS_FILE))) throw new UserError(`${join(dir, LABELS_FILE)}: missing; write the labels of the N evaluation rows (class ids or one-hot) there`);
  const labels = labelsFromArray(src.npy(LABELS_FILE), join(dir, LABELS_FILE));
  const n = labels.length;
  const classes = Math.max(...labels) + 1;
  if (n < 2 || classes < 2) throw new UserError(`${join(dir, LABELS_FILE)}: need at least 2 rows and 2 classes (found ${n} rows, ${classes} class${classes === 1 ? '' : 'es'})`);

  let x: {data: Float32Array; shape: number[]} | null = null;
  if (existsSync(join(dir, INPUTS_FILE))) {
    const a = src.npy(INPUTS_FILE);
    if (a.shape[0] !== n) throw new UserError(`${join(dir, INPUTS_FILE)}: ${a.shape[0] ?? 0} rows but labels.npy has ${n}; row i of every file is sample i`);
    x = {data: src.float32(a, INPUTS_FILE), shape: a.shape.slice(1).length ? a.shape.slice(1) : [1]};
  }
  const split: string[] = new Array(n).fill('train');
  if (existsSync(join(dir, SPLIT_FILE))) {
    const a = src.npy(SPLIT_FILE);
    if (prod(a.shape) !== n) throw new UserError(`${join(dir, SPLIT_FILE)}: ${prod(a.shape)} values but labels.npy has ${n} rows`);
    for (let i = 0; i < n; i++) {
      const v = Number(a.data[i]);
      if (v !== 0 && v !== 1) throw new UserError(`${join(dir, SPLIT_FILE)}: value ${v} in row ${i}; use 1 for a training row and 0 for a test row`);
      split[i] = v === 1 ? 'train' : 'test';
    }
  }

  const epochs = findEpochs(dir);
  // layer names and order: layers.txt, else the first epoch's arrays in natural order
  let declared: {name: string; activation: string | null}[];
  if (existsSync(join(dir, LAYERS_FILE))) {
    const text = new TextDecoder().decode(src.bytes(LAYERS_FILE));
    const lines = parseLayersFile(text);
    for (const l of lines) {
      if (l.extra.length) throw new UserError(`${join(dir, LAYERS_FILE)}:${l.line}: '${l.extra.join(' ')}' after the activation; write one 'name [activation]' per line`);
      if (l.activation !== null && l.activation !== 'softmax' && !activationRegistry.has(l.activation)) throw new UserError(`${join(dir, LAYERS_FILE)}:${l.line}: unknown activation '${l.activation}' (known: ${[...activationRegistry.names(), 'softmax'].join(', ')})`);
    }
    const dup = lines.find((l, i) => lines.findIndex((m) => m.name === l.name) !== i);
    if (dup) throw new UserError(`${join(dir, LAYERS_FILE)}:${dup.line}: layer '${dup.name}' is listed twice`);
    if (lines.length === 0) throw new UserError(`${join(dir, LAYERS_FILE)}: no layers listed`);
    declared = lines.map(({name: ln, activation}) => ({name: ln, activation}));
  } else {
    declared = [...(await epochArrays(new SourceReader(dir), epochs[0])).keys()].sort(naturalOrder).map((ln) => ({name: ln, activation: null}));
    if (declared.length === 0) throw new UserError(`${join(dir, epochs[0].entry)}: no layer arrays (.npy)`);
  }
  for (const l of declared) {
    if (RESERVED_LAYER_NAMES.includes(l.name) || !/^[A-Za-z0-9._-]+$/.test(l.name)) throw new UserError(`${join(dir, epochs[0].entry)}: layer name '${l.name}' is not allowed (reserved: ${RESERVED_LAYER_NAMES.join(', ')}; use letters, digits, ".", "_" or "-")`);
  }
  const names = declared.map((l) => l.name);
  const withWeights = epochs.filter((e) => e.weights !== null);
  if (withWeights.length > 0 && withWeights.length < epochs.length) {
    const missing = epochs.find((e) => e.weights === null)!;
    throw new UserError(`${join(dir, missing.entry)}: no ${WEIGHTS_FILE}, but other epochs have one; give weights at every snapshot epoch or at none`);
  }

  // pass 1: read every epoch, check names and shapes, hash the files (nothing is written yet)
  const fromFile = existsSync(join(dir, LAYERS_FILE));
  const readEpoch = async (reader: SourceReader, e: EpochSource): Promise<{acts: Float32Array[]; shapes: number[][]}> => {
    const arrays = await epochArrays(reader, e);
    const whereOf = (ln: string) => (e.npz ? `${join(dir, e.entry)}:${ln}.npy` : join(dir, e.entry, `${ln}.npy`));
    if (!fromFile) {
      const extra = [...arrays.keys()].find((k) => !names.includes(k));
      if (extra) throw new UserError(`${whereOf(extra)}: not in the first snapshot (${epochs[0].entry}); every snapshot must hold the same layers, or list the layers to import in layers.txt`);
    }
    const acts: Float32Array[] = [];
    const epochShapes: number[][] = [];
    for (const ln of names) {
      const a = arrays.get(ln);
      const where = whereOf(ln);
      if (!a) throw new UserError(`${where}: missing (every snapshot needs every layer: ${names.join(', ')})`);
      if (a.shape.length === 0 || a.shape[0] !== n) throw new UserError(`${where}: ${a.shape[0] ?? 0} rows but labels.npy has ${n}; row i of every array is sample i`);
      acts.push(reader.float32(a, relative(dir, where)));
      epochShapes.push(a.shape.slice(1).length ? a.shape.slice(1) : [1]);
    }
    return {acts, shapes: epochShapes};
  };
  let shapes: number[][] | null = null;
  for (const e of epochs) {
    const epochShapes = (await readEpoch(src, e)).shapes;
    if (shapes === null) shapes = epochShapes;
    else {
      const k = shapes.findIndex((s, i) => shapeText(s) !== shapeText(epochShapes[i]));
      if (k >= 0) throw new UserError(`${join(dir, e.entry)}: layer ${names[k]} has shape ${shapeText([n, ...epochShapes[k]])} but ${shapeText([n, ...shapes[k]])} in ${epochs[0].entry}`);
    }
  }
  const layerShapes = shapes!;
  const layers: PlannedLayer[] = declared.map((l, i) => ({
    index: i + 1,
    name: l.name,
    width: prod(layerShapes[i]),
    activation: l.activation ?? 'unknown',
    kind: l.name === 'out' || l.name === 'output' ? 'output' : 'hidden',
    type: 'dense',
    init: 'imported',
    params: [],
    outputShape: layerShapes[i],
  }));

  // weights: a dense plan and one checkpoint per epoch
  let weights: {epoch: number; theta: Float32Array}[] = [];
  let inputShape = x ? x.shape : [];
  let numParams = 0;
  if (withWeights.length) {
    const first = await src.npz(withWeights[0].weights!);
    const planned = denseParams(first, layers, x ? prod(x.shape) : null, join(dir, withWeights[0].weights!));
    planned.params.forEach((ps, i) => (layers[i].params = ps));
    numParams = planned.numParams;
    if (!x) inputShape = [planned.inputWidth];
    weights = [];
    for (const [k, e] of withWeights.entries()) {
      const arrays = k === 0 ? first : await src.npz(e.weights!);
      const where = join(dir, e.weights!);
      denseParams(arrays, layers, prod(inputShape), where); // same shapes at every epoch
      const theta = new Float32Array(numParams);
      layers.forEach((layer, l) => {
        const [w, b] = layer.params;
        theta.set(src.float32(arrays.get(`W${l}`)!, `${e.weights}:W${l}`), w.offset);
        const bias = arrays.get(`b${l}`);
        if (bias) theta.set(src.float32(bias, `${e.weights}:b${l}`), b.offset);
      });
      weights.push({epoch: e.epoch, theta});
    }
  }

  let training: TrainingRow[] = [];
  if (existsSync(join(dir, TRAINING_FILE))) {
    const text = new TextDecoder().decode(src.bytes(TRAINING_FILE));
    training = parseTrainingCsv(text, join(dir, TRAINING_FILE), (ln) => layers.find((l) => l.name === ln)?.index);
  }

  // the config: what is known of the run (layer widths, declared activations, snapshot epochs)
  const epochList = epochs.map((e) => e.epoch);
  const hiddenActs = [...new Set(layers.filter((l) => l.kind === 'hidden').map((l) => l.activation))];
  const configActivation = (a: string) => (a === 'unknown' || a === 'softmax' ? undefined : a);
  // tdlab's schedules hold epochs 0..E-1 of E training epochs: the smallest E that fits the snapshots
  const lastEpoch = Math.max(epochList[epochList.length - 1] + 1, ...training.map((r) => r.epoch));
  const rawConfig = {
    name,
    seed: 0,
    stages: ['data', 'train', 'metrics', 'report'],
    data: {name: 'imported'},
    model: {
      activation: (hiddenActs.length === 1 && configActivation(hiddenActs[0])) || 'linear',
      layers: layers.filter((l) => l.kind === 'hidden').map((l) => (configActivation(l.activation) ? {units: l.width, activation: l.activation} : {units: l.width})),
    },
    train: {epochs: lastEpoch, snapshots: epochList, gradientStats: training.some((r) => r.quantity === 'grad_mean_norm')},
    report: {title: name},
  };
  const loaded = parseConfig(stringify(rawConfig), `${name} (import)`);
  const {runDir, runId} = newRunDir(opts.out ?? 'runs', name, loaded.hash);
  const paths = runPaths(runDir);
  const started = new Date().toISOString();
  writeFileAtomic(
    paths.config,
    `# resolved tdlab config; sha256 ${loaded.hash}\n` +
      `# imported by tdlab import from ${dir}: the data and the training happened elsewhere (see provenance.json "import");\n` +
      '# model lists the snapshotted layers (widths; activations as declared in layers.txt, "linear" where none was declared)\n' +
      stringify(loaded.config),
  );

  // data
  const dataColumns: ColumnSpec[] = [{name: 'sample', column: {kind: 'int32', values: Int32Array.from({length: n}, (_, i) => i)}}];
  if (x) dataColumns.push({name: 'x', column: {kind: 'tensor', values: x.data, width: prod(x.shape)}, metadata: {shape: JSON.stringify(x.shape)}});
  dataColumns.push({name: 'label', column: {kind: 'int32', values: labels}}, {name: 'split', column: {kind: 'utf8', values: split}});
  writeArrowFile(paths.dataset, dataColumns, n, {dataset: 'imported', source: dir, input_shape: JSON.stringify(inputShape), classes: String(classes), seed: '0'});
  const nTrain = split.filter((s) => s === 'train').length;
  const info: DatasetInfo = {name: 'imported', n, inputShape, classes, nTrain, nTest: n - nTrain, trainFraction: nTrain / n, splitSource: 'dataset', facts: {source: dir, entropyY: labelEntropy(labels, classes), split: existsSync(join(dir, SPLIT_FILE)) ? SPLIT_FILE : 'none given: every row counts as a training row'}};
  writeJsonAtomic(paths.datasetInfo, info);

  // train: the plan, the snapshots, the checkpoints and the training log
  const plan: ModelPlan = {inputShape, layers, numParams};
  writeJsonAtomic(paths.model, plan);
  const meta = {run_id: runId, config_sha256: loaded.hash, backend: 'imported', dataset: 'imported', source: dir};
  // pass 2: one epoch in memory at a time (files checked and hashed in pass 1)
  const again = new SourceReader(dir);
  for (const e of epochs) writeActivationSnapshot(paths.activation(e.epoch), e.epoch, layers, (await readEpoch(again, e)).acts, {labels, split}, meta);
  for (const w of weights) writeCheckpoint(paths.checkpoint(w.epoch), plan, w.theta, {...meta, epoch: String(w.epoch)});
  writeTrainingRows(paths.training, training, {...meta, complete: 'true', epochs: String(lastEpoch), layers: layersMetadata(layers)});

  const prov = newProvenance({runId, name, configHash: loaded.hash, seed: 0, argv: opts.argv ?? process.argv.slice(2)});
  const ended = new Date().toISOString();
  const importRecord = {source: dir, layout: [...new Set(epochs.map((e) => (e.npz ? 'epoch_<N>.npz' : 'epoch_<N>/<layer>.npy')))], files: src.files, converted: src.converted};
  prov.backend = 'imported';
  prov.stages.data = {status: 'done', startedAt: started, endedAt: ended, outputs: ['data/dataset.arrow', 'data/dataset.json'], info: {imported: true, source: dir}};
  prov.stages.train = {
    status: 'done',
    startedAt: started,
    endedAt: ended,
    outputs: ['model.json', 'training.arrow', 'activations/', ...(weights.length ? ['checkpoints/'] : [])],
    info: {imported: true, source: dir, snapshots: epochs.length, layers: names, weights: weights.length > 0},
  };
  writeJsonAtomic(paths.provenance, {...prov, import: importRecord});
  // the metrics and report stages run as in any run (`tdlab run --resume` semantics)
  const outcome = await runPipeline({resume: runDir, argv: opts.argv});
  return {runDir, runId, status: outcome.status, epochs: epochList, layers: names, ...(outcome.error ? {error: outcome.error} : {}), exitCode: outcome.exitCode};
}
