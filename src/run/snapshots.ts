import {writeArrowFile, type ColumnSpec} from '../io/arrow.js';
import type {PlannedLayer} from '../model/plan.js';

/** What a run's activation snapshot records besides the activations. */
export interface SnapshotRows {
  labels: Int32Array;
  split: string[];
}

/** The `layers` schema metadata of activation snapshots: index, name, type, width, activation, kind, shape per layer. */
export function layersMetadata(layers: readonly PlannedLayer[]): string {
  return JSON.stringify(layers.map(({index, name, type, width, activation, kind, outputShape}) => ({index, name, type, width, activation, kind, shape: outputShape})));
}

/**
 * Writes `activations/epoch_NNNNNN.arrow`: sample, label, split, then one FixedSizeList<Float32>
 * column per layer (rows x width, row-major), with the layer's index, type, activation, kind and
 * shape as field metadata and `meta` plus the epoch and the layer list as schema metadata.
 */
export function writeActivationSnapshot(path: string, epoch: number, layers: readonly PlannedLayer[], acts: readonly Float32Array[], rows: SnapshotRows, meta: Record<string, string>): void {
  const n = rows.labels.length;
  const cols: ColumnSpec[] = [
    {name: 'sample', column: {kind: 'int32', values: Int32Array.from({length: n}, (_, i) => i)}},
    {name: 'label', column: {kind: 'int32', values: rows.labels}},
    {name: 'split', column: {kind: 'utf8', values: rows.split}},
    ...layers.map((l, i) => ({
      name: l.name,
      column: {kind: 'tensor' as const, values: acts[i], width: l.width},
      metadata: {layer_index: String(l.index), type: l.type, activation: l.activation, kind: l.kind, shape: JSON.stringify(l.outputShape)},
    })),
  ];
  writeArrowFile(path, cols, n, {...meta, epoch: String(epoch), layers: layersMetadata(layers)});
}
