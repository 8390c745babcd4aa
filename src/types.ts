/**
 * Record types shared by stages through the run directory's artifacts.
 * Every type here has a one-to-one Arrow/CSV representation (see src/io/).
 */

/** A dense row-major matrix: `rows` x `cols` values in `data`. */
export interface Matrix<T extends Float32Array | Float64Array = Float32Array | Float64Array> {
  data: T;
  rows: number;
  cols: number;
}

/** One tidy metrics row: one value of one quantity of one estimator on one layer at one epoch. */
export interface MetricRow {
  epoch: number;
  layerIndex: number;
  layer: string;
  /** Registry name of the estimator, e.g. `mi.bin`. */
  estimator: string;
  /** What the value is, e.g. `I_XT`, `I_TY`, `H`, `dead_units`. */
  quantity: string;
  /** Canonical `key=value;key=value` string (keys sorted) of every parameter that defines the value. */
  params: string;
  /** Which evaluation rows were used: `all`, `train` or `test`. */
  subset: string;
  /** Number of rows the value was computed on. */
  n: number;
  value: number;
  unit: 'bits' | 'nats' | 'dimensionless' | 'count';
  /** True when the value lies within 1% of the estimator's ceiling (e.g. log2 N). */
  atCeiling: boolean;
}

/**
 * One tidy training-log row. Epoch-level quantities (`train_loss`, `test_loss`, `train_acc`,
 * `test_acc`) have layerIndex -1 and layer ''. Per-layer quantities at snapshot epochs:
 * `grad_mean_norm`, `grad_std_norm`, `grad_snr`, `weight_norm`.
 */
export interface TrainingRow {
  epoch: number;
  layerIndex: number;
  layer: string;
  quantity: string;
  value: number;
}

/** A layer whose activations are snapshotted. Index 1 is the first hidden layer. */
export interface LayerInfo {
  index: number;
  name: string;
  width: number;
  activation: string;
  kind: 'hidden' | 'output';
}

/** `dynamics/examples.arrow`: one row per recorded training example (spec 13.5). */
export interface ExampleTable {
  sample: Int32Array;
  label: Int32Array;
  confidence: Float64Array;
  variability: Float64Array;
  correctness: Float64Array;
  forgetting: Int32Array;
  firstLearned: Int32Array;
}
