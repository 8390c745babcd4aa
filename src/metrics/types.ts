import type {z} from 'zod';
import type {Matrix} from '../types.js';
import type {Diagnostic} from './validity.js';

/** What an estimator sees: one layer's representation at one epoch, plus the rows' inputs and labels. */
export interface EstimatorInput {
  /** Representation T: N rows (samples) x d columns (units). */
  T: Matrix<Float32Array>;
  /** Integer class labels, length N. */
  y: Int32Array;
  /**
   * Input identity per row: rows with equal ids have identical inputs X. Omitted = all rows
   * distinct (then H(T|X) = 0 for a deterministic network).
   */
  xIds?: Int32Array;
  /** The layer's activation function name when known (adaptive estimators use its range). */
  activation?: string;
  /**
   * Continuous inputs X (N rows), when the caller has them (`tdlab measure --x`): kNN estimators
   * use them for I(X;T). Without X, I(X;T) is computed from input identity (xIds) where the
   * estimator allows it (binning, KDE) and omitted otherwise.
   */
  x?: Matrix<Float32Array>;
  /**
   * Largest activation value of this layer over all snapshot epochs up to and including this
   * one (for `mi.adaptmax`); when absent estimators use this epoch's maximum.
   */
  runningMax?: number;
  /** Seed for estimators that draw random numbers (subsampling, jitter, restarts). */
  seed?: number;
  /** The same representation in float64, when the source has it (`tdlab measure` on float64 files); exact estimators prefer it. */
  T64?: Matrix<Float64Array>;
  /**
   * The classifier that reads this representation (the output layer: W is d x K input-by-output,
   * b has K values), for estimators with `layers: 'last-hidden'` (neural collapse).
   */
  classifier?: {W: Matrix; b: ArrayLike<number>};
}

export interface EstimatorValue {
  quantity: string;
  value: number;
  unit: 'bits' | 'nats' | 'dimensionless' | 'count';
  /** The largest value the estimator can return on this input (e.g. log2 N); values within 1% are flagged. */
  ceiling?: number;
  /** Why the value is NaN (degenerate input), shown by `measure` and noted by the metrics stage. */
  reason?: string;
}

/**
 * Peak working memory in bytes of one computation on `n` rows of width `d` (besides the input
 * itself), for the checks that refuse before training what cannot fit (src/run/preflight.ts).
 * `inputDim`: the network's input width, for metrics of a model.
 */
export type MemoryCost<P> = (shape: {n: number; d: number; inputDim?: number}, params: P) => number;

/**
 * An estimator: a pure function over typed arrays plus the schema of its parameters and its
 * memory cost. Parameter names are shared by YAML, `--param` and the outputs.
 */
export interface Estimator<P extends Record<string, unknown> = Record<string, unknown>> {
  name: string;
  description: string;
  /** Parameter schema with defaults; `parse({})` gives the defaults. */
  params: z.ZodType<P, z.ZodTypeDef, unknown>;
  /** Its memory cost, declared by every estimator (an O(N^2) one grows with n^2). */
  memory: MemoryCost<P>;
  /** Which layers a run computes it on: every layer (default), or only the one the output layer reads (with its `classifier`). */
  layers?: 'all' | 'last-hidden';
  compute(input: EstimatorInput, params: P): EstimatorValue[];
  /**
   * What the estimator assumes of the values, measured on this input (e.g. the fraction of values
   * outside a fixed bin range). Stored as metric rows next to the values; src/metrics/validity.ts
   * turns them into warnings.
   */
  diagnose?(input: EstimatorInput, params: P): Diagnostic[];
}

/**
 * A similarity of two representations of the same rows (two layers, two epochs, two models):
 * spec 13.1. A run compares each layer with itself at the last snapshot (`to_final`) and at the
 * previous one (`to_prev`), and, at the last snapshot, with every layer (`vs_<layer>`);
 * `tdlab measure --activations A --other B` compares two files.
 */
export interface PairMetric<P extends Record<string, unknown> = Record<string, unknown>> {
  name: string;
  description: string;
  params: z.ZodType<P, z.ZodTypeDef, unknown>;
  /** Memory of one comparison of two representations of width about `d` on `n` rows. */
  memory: MemoryCost<P>;
  /** One value (quantity `value`) for X and Y with matching rows; `maxRows` caps the rows (seeded). */
  compare(X: Matrix, Y: Matrix, params: P, opts: {seed: number; maxRows?: number}): EstimatorValue;
}

/** Per-epoch evaluation of a set of rows: probability of the true label and argmax correctness (spec 13.5). */
export interface EpochPredictions {
  epoch: number;
  pTrue: Float32Array | Float64Array;
  correct: Uint8Array;
}

/**
 * A metric of the whole training history of every training row rather than of a snapshot
 * (spec 13.5): the train stage records the per-epoch predictions of the training rows when one
 * is configured, so every epoch must be evaluated (`train.evalEvery` 1).
 */
export interface HistoryMetric<P extends Record<string, unknown> = Record<string, unknown>> {
  name: string;
  description: string;
  params: z.ZodType<P, z.ZodTypeDef, unknown>;
  /** Memory of the metrics stage's part on `n` recorded rows (the train stage keeps 8 bytes per row and epoch). */
  memory: MemoryCost<P>;
  /** Per-row columns (name -> values, one per recorded row) and run-level summary values. */
  compute(epochs: EpochPredictions[], params: P): {columns: Record<string, Float64Array | Int32Array>; values: EstimatorValue[]};
}
