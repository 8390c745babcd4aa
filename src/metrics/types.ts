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
}

export interface EstimatorValue {
  quantity: string;
  value: number;
  unit: 'bits' | 'nats' | 'dimensionless' | 'count';
  /** The largest value the estimator can return on this input (e.g. log2 N); values within 1% are flagged. */
  ceiling?: number;
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
  compute(input: EstimatorInput, params: P): EstimatorValue[];
  /**
   * What the estimator assumes of the values, measured on this input (e.g. the fraction of values
   * outside a fixed bin range). Stored as metric rows next to the values; src/metrics/validity.ts
   * turns them into warnings.
   */
  diagnose?(input: EstimatorInput, params: P): Diagnostic[];
}
