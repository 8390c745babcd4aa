import {z} from 'zod';
import type {EpochPredictions, EstimatorValue, HistoryMetric} from '../types.js';

/*
 * Per-example training dynamics (spec 13.5): dataset cartography (Swayamdipta et al. 2020) and
 * forgetting events (Toneva et al. 2019), from the per-epoch evaluation of every training row:
 * p_e = the softmax probability of the row's true label after epoch e, c_e = 1 when the argmax
 * of the logits is the true label (ties go to the lowest class, as tf.argMax).
 *   confidence  = mean_e p_e;   variability = std_e p_e (population std, numpy's default);
 *   correctness = mean_e c_e;   forgetting  = #{e : c_(e-1) = 1, c_e = 0} (consecutive evaluations);
 *   first_learned = the first epoch from which c stays 1 up to the last evaluated epoch, -1 when
 *                   the row is misclassified at the last one.
 * The epochs are the ones given (a run uses every training epoch 1..E, after each epoch's updates;
 * epoch 0, the initialisation, is not a learning event). O(E n) time, O(n) memory beyond the input.
 */


export interface ExampleDynamics {
  confidence: Float64Array;
  variability: Float64Array;
  correctness: Float64Array;
  forgetting: Int32Array;
  firstLearned: Int32Array;
  /** Epochs used, in order. */
  epochs: number[];
}

/**
 * Softmax probability of the true label and argmax correctness for the rows `rows` (default all)
 * of logits (N x C row-major). O(|rows| C).
 */
export function truePredictions(logits: ArrayLike<number>, classes: number, labels: Int32Array, rows?: Int32Array): {pTrue: Float32Array; correct: Uint8Array} {
  const n = rows ? rows.length : labels.length;
  const pTrue = new Float32Array(n);
  const correct = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows ? rows[i] : i;
    const o = r * classes;
    let mx = -Infinity;
    let best = 0;
    for (let c = 0; c < classes; c++) {
      if (logits[o + c] > mx) {
        mx = logits[o + c];
        best = c;
      }
    }
    let s = 0;
    for (let c = 0; c < classes; c++) s += Math.exp(logits[o + c] - mx);
    pTrue[i] = Math.exp(logits[o + labels[r]] - mx) / s;
    correct[i] = best === labels[r] ? 1 : 0;
  }
  return {pTrue, correct};
}

/** Spec 13.5 statistics per row from the per-epoch predictions (epochs in increasing order). O(E n). */
export function exampleDynamics(epochs: EpochPredictions[]): ExampleDynamics {
  const E = epochs.length;
  const n = E ? epochs[0].pTrue.length : 0;
  for (const e of epochs) if (e.pTrue.length !== n || e.correct.length !== n) throw new Error(`dynamics.examples: epoch ${e.epoch} has ${e.pTrue.length} rows, expected ${n}`);
  for (let k = 1; k < E; k++) if (!(epochs[k].epoch > epochs[k - 1].epoch)) throw new Error('dynamics.examples: epochs must be increasing');
  const confidence = new Float64Array(n);
  const variability = new Float64Array(n);
  const correctness = new Float64Array(n);
  const forgetting = new Int32Array(n);
  const firstLearned = new Int32Array(n).fill(-1);
  if (E === 0) return {confidence: confidence.fill(NaN), variability: variability.fill(NaN), correctness: correctness.fill(NaN), forgetting, firstLearned, epochs: []};
  for (const e of epochs) for (let i = 0; i < n; i++) confidence[i] += e.pTrue[i];
  for (let i = 0; i < n; i++) confidence[i] /= E;
  for (const e of epochs) {
    for (let i = 0; i < n; i++) {
      variability[i] += (e.pTrue[i] - confidence[i]) ** 2;
      correctness[i] += e.correct[i];
    }
  }
  for (let i = 0; i < n; i++) {
    variability[i] = Math.sqrt(variability[i] / E);
    correctness[i] /= E;
  }
  for (let k = 1; k < E; k++) {
    const a = epochs[k - 1].correct;
    const b = epochs[k].correct;
    for (let i = 0; i < n; i++) if (a[i] && !b[i]) forgetting[i]++;
  }
  for (let i = 0; i < n; i++) {
    let k = E - 1;
    while (k >= 0 && epochs[k].correct[i]) k--;
    if (k < E - 1) firstLearned[i] = epochs[k + 1].epoch;
  }
  return {confidence, variability, correctness, forgetting, firstLearned, epochs: epochs.map((e) => e.epoch)};
}

/** Run-level summaries of the per-row statistics (for aggregates over seeds and phase features). O(n). */
export function dynamicsSummary(d: ExampleDynamics): EstimatorValue[] {
  const n = d.confidence.length;
  const mean = (a: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i];
    return n ? s / n : NaN;
  };
  let forgotten = 0;
  let never = 0;
  for (let i = 0; i < n; i++) {
    if (d.forgetting[i] > 0) forgotten++;
    if (d.firstLearned[i] < 0) never++;
  }
  const dimless = (quantity: string, value: number): EstimatorValue => ({quantity, value, unit: 'dimensionless'});
  return [
    dimless('mean_confidence', mean(d.confidence)),
    dimless('mean_variability', mean(d.variability)),
    dimless('mean_correctness', mean(d.correctness)),
    dimless('mean_forgetting', mean(d.forgetting)),
    dimless('forgotten_frac', n ? forgotten / n : NaN),
    dimless('unlearned_frac', n ? never / n : NaN),
  ];
}

const params = z.object({}).strict();

/**
 * `dynamics.examples` (spec 13.5): per training row, from the train stage's per-epoch predictions
 * (epochs 1..E), written to dynamics/examples.arrow; run-level means go to the metrics table.
 */
export const dynamicsExamples: HistoryMetric<z.infer<typeof params>> = {
  name: 'dynamics.examples',
  description: 'per-example training dynamics: confidence, variability, correctness, forgetting events, first-learned epoch (data maps)',
  params,
  // per-row outputs; reading dynamics/predictions.arrow back takes 8 bytes per row and recorded epoch more
  memory: ({n}) => 64 * n,
  compute(epochs) {
    const d = exampleDynamics(epochs);
    return {
      columns: {confidence: d.confidence, variability: d.variability, correctness: d.correctness, forgetting: d.forgetting, first_learned: d.firstLearned},
      values: dynamicsSummary(d),
    };
  },
};
