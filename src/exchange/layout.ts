/**
 * The snapshot directory layout shared by `tdlab import` (reads it) and `tdlab export` (writes it),
 * and by scripts/export_snapshots.py (writes it from a Python training loop):
 *
 *   <dir>/labels.npy                 required: N integer class ids (1-D) or an N x C one-hot array
 *   <dir>/x.npy                      optional: the N inputs (N x ...), row i = sample i
 *   <dir>/split.npy                  optional: N values, 1 = training row, 0 = test row
 *   <dir>/layers.txt                 optional: one layer per line, `name [activation]`, in network order
 *   <dir>/training.csv               optional: columns epoch,quantity,value (and optionally layer)
 *   <dir>/epoch_<N>/<layer>.npy      one array per layer and snapshot epoch N (N x ...), or
 *   <dir>/epoch_<N>.npz              one archive per epoch with one array per layer
 *   <dir>/epoch_<N>/weights.npz      optional: W0, b0, W1, b1, ... (input-by-output, z = x W + b)
 *   <dir>/index.json                 written by tdlab export: what was written
 *
 * Without layers.txt, layers are taken in natural name order (h2 before h10).
 */

export const LABELS_FILE = 'labels.npy';
export const INPUTS_FILE = 'x.npy';
export const SPLIT_FILE = 'split.npy';
export const LAYERS_FILE = 'layers.txt';
export const TRAINING_FILE = 'training.csv';
export const METRICS_FILE = 'metrics.csv';
export const WEIGHTS_FILE = 'weights.npz';
export const INDEX_FILE = 'index.json';

/** Names that cannot be layers: the snapshot's own columns and the files above. */
export const RESERVED_LAYER_NAMES = ['sample', 'label', 'split', 'weights'];

/** `epoch_<N>` (directory) or `epoch_<N>.npz`. */
export function epochEntryName(epoch: number, npz = false): string {
  return `epoch_${epoch}${npz ? '.npz' : ''}`;
}

/** The epoch of an entry name `epoch_<N>` / `epoch_<N>.npz` (any zero padding), else undefined. */
export function parseEpochEntry(name: string): {epoch: number; npz: boolean} | undefined {
  const m = /^epoch_(\d+)(\.npz)?$/.exec(name);
  return m ? {epoch: Number(m[1]), npz: m[2] !== undefined} : undefined;
}

/** Numeric-aware name order (h2 before h10), the same on every host. */
export {naturalCompare as naturalOrder} from '../util/order.js';

/** One line of `layers.txt`; `extra` holds words after the activation (an error for the reader). */
export interface LayerLine {
  name: string;
  activation: string | null;
  line: number;
  extra: string[];
}

/** `layers.txt`: one `name [activation]` per line; blank lines and `#` comments are skipped. */
export function parseLayersFile(text: string): LayerLine[] {
  const out: LayerLine[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const [name, activation, ...extra] = line.split(/\s+/);
    out.push({name, activation: activation ?? null, line: i + 1, extra});
  });
  return out;
}

/** `layers.txt` text for layers with known activations. */
export function formatLayersFile(layers: readonly {name: string; activation: string | null}[]): string {
  return layers.map((l) => (l.activation ? `${l.name} ${l.activation}` : l.name)).join('\n') + '\n';
}
