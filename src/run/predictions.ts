import {existsSync, mkdirSync} from 'node:fs';
import {dirname} from 'node:path';
import {numberColumn, readArrowFile, schemaMetadata, tensorColumn, writeArrowFile} from '../io/arrow.js';
import {truePredictions} from '../metrics/dynamics/examples.js';
import type {EpochPredictions} from '../metrics/types.js';
import type {ExampleTable} from '../types.js';
import {UserError} from '../util/errors.js';

/**
 * `dynamics/predictions.arrow`: how every recorded training row was classified after each
 * training epoch (spec 13.5's input). One Arrow row per training example: `sample` (row of
 * data/dataset.arrow), `label`, `p_true` (FixedSizeList<Float32>[E]: softmax probability of the
 * true label after epochs 1..E) and `correct` (FixedSizeList<Float32>[E]: 1 when the argmax is the
 * label); the epochs are in the schema metadata (`epochs`, a JSON list). Float32, uncompressed:
 * 8 E bytes per row (1,000 rows x 2,000 epochs = 16 MB).
 */

/** Accumulates the per-epoch predictions of fixed rows during training; O(rows) per epoch. */
export class PredictionRecorder {
  private readonly epochs: number[] = [];
  private readonly pTrue: Float32Array[] = [];
  private readonly correct: Uint8Array[] = [];

  /** `rows`: the recorded rows (dataset indices), in order; `labels` of all dataset rows. */
  constructor(readonly rows: Int32Array, private readonly labels: Int32Array, private readonly classes: number) {}

  /** Records the evaluation of `epoch` from the logits of all dataset rows (N x classes); epoch 0 (the initialisation) is skipped. */
  record(epoch: number, logits: Float32Array): void {
    if (epoch < 1) return;
    const r = truePredictions(logits, this.classes, this.labels, this.rows);
    this.epochs.push(epoch);
    this.pTrue.push(r.pTrue);
    this.correct.push(r.correct);
  }

  /**
   * Takes back the epochs before `epoch` from a file this recorder wrote (resuming a training run
   * at `epoch`, which is evaluated again); false when the file is missing or lacks some of them.
   */
  restore(path: string, epoch: number): boolean {
    if (!existsSync(path)) return epoch <= 1;
    const prev = readPredictions(path);
    if (prev.sample.length !== this.rows.length || prev.sample.some((r, i) => r !== this.rows[i])) return false;
    const kept = prev.epochs.filter((e) => e.epoch < epoch);
    if (kept.length !== epoch - 1 || kept.some((e, i) => e.epoch !== i + 1)) return false;
    this.epochs.length = 0;
    this.pTrue.length = 0;
    this.correct.length = 0;
    for (const e of kept) {
      this.epochs.push(e.epoch);
      this.pTrue.push(Float32Array.from(e.pTrue));
      this.correct.push(e.correct);
    }
    return true;
  }

  /** Writes the file atomically (its folder is created when missing). */
  write(path: string, meta: Record<string, string>): void {
    mkdirSync(dirname(path), {recursive: true});
    const n = this.rows.length;
    const E = this.epochs.length;
    const p = new Float32Array(n * E);
    const c = new Float32Array(n * E);
    for (let e = 0; e < E; e++) {
      for (let i = 0; i < n; i++) {
        p[i * E + e] = this.pTrue[e][i];
        c[i * E + e] = this.correct[e][i];
      }
    }
    writeArrowFile(
      path,
      [
        {name: 'sample', column: {kind: 'int32', values: this.rows}},
        {name: 'label', column: {kind: 'int32', values: Int32Array.from(this.rows, (r) => this.labels[r])}},
        {name: 'p_true', column: E ? {kind: 'tensor', values: p, width: E} : {kind: 'list', values: p, offsets: new Int32Array(n + 1)}},
        {name: 'correct', column: E ? {kind: 'tensor', values: c, width: E} : {kind: 'list', values: c, offsets: new Int32Array(n + 1)}},
      ],
      n,
      {...meta, epochs: JSON.stringify(this.epochs)},
    );
  }
}

/** Reads dynamics/predictions.arrow back as per-epoch predictions plus the rows' sample ids and labels. */
export function readPredictions(path: string): {sample: Int32Array; label: Int32Array; epochs: EpochPredictions[]} {
  let t;
  try {
    t = readArrowFile(path);
  } catch (err) {
    throw new UserError(`${path}: ${(err as Error).message} (the train stage writes it when dynamics.examples is configured; re-run training with it)`);
  }
  const list = JSON.parse(schemaMetadata(t).epochs ?? '[]') as number[];
  const n = t.numRows;
  const E = list.length;
  const sample = Int32Array.from(numberColumn(t, 'sample'));
  const label = Int32Array.from(numberColumn(t, 'label'));
  const read = (name: string): Float32Array => (E ? tensorColumn(t, name).data : new Float32Array(0));
  const p = read('p_true');
  const c = read('correct');
  const epochs: EpochPredictions[] = list.map((epoch, e) => {
    const pTrue = new Float32Array(n);
    const correct = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      pTrue[i] = p[i * E + e];
      correct[i] = c[i * E + e];
    }
    return {epoch, pTrue, correct};
  });
  return {sample, label, epochs};
}

/** Reads dynamics/examples.arrow (written by the metrics stage for `dynamics.examples`). */
export function readExamples(path: string): ExampleTable {
  const t = readArrowFile(path);
  const i32 = (name: string) => Int32Array.from(numberColumn(t, name));
  return {
    sample: i32('sample'),
    label: i32('label'),
    confidence: numberColumn(t, 'confidence'),
    variability: numberColumn(t, 'variability'),
    correctness: numberColumn(t, 'correctness'),
    forgetting: i32('forgetting'),
    firstLearned: i32('first_learned'),
  };
}
