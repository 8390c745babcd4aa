import type * as tfType from '@tensorflow/tfjs';
import type {z} from 'zod';
import {weightMatrices, type CheckpointModel} from '../../model/checkpoint.js';
import type {DenseNet} from '../../model/dense-net.js';
import type {Matrix} from '../../types.js';
import type {EstimatorValue, MemoryCost} from '../types.js';
import {UserError} from '../../util/errors.js';
import {weightsMetric} from './features.js';
import {geomLocalRank} from './local-rank/metric.js';
import {computeLocalRankVjp} from './local-rank/vjp.js';

/** One value of a weight metric: `layerIndex` -1 for network-level values. */
export interface ModelMetricValue extends EstimatorValue {
  layerIndex: number;
  /** Number of input points the value was computed on (0 when no inputs are used). */
  n: number;
}

/**
 * A metric of a network's weights (a checkpoint or an `.npz`) rather than of one layer's
 * activations. Pure: the caller loads the network and the input points.
 */
export interface ModelMetric<P extends Record<string, unknown> = Record<string, unknown>> {
  name: string;
  description: string;
  params: z.ZodType<P, z.ZodTypeDef, unknown>;
  /** True when the metric needs input points X (evaluated at those inputs). */
  needsInputs: boolean;
  /** Memory cost for `n` input points, the widest layer `d` and the network's `inputDim`. */
  memory: MemoryCost<P>;
  /**
   * True when it also needs the rows' labels: a metric of the training loss (curvature), which a
   * run evaluates on its training rows whatever `metrics.subsets` says.
   */
  needsLabels?: boolean;
  /** `extra.y`: labels of the rows of X (with `needsLabels`); `extra.lr`: the run's learning rate at this epoch, when known. */
  compute(net: DenseNet, X: Matrix | undefined, params: P, seed: number, extra?: ModelMetricExtra): ModelMetricValue[];
  /**
   * The same metric on any tdlab model (model.json plan + checkpoint tensors), used for networks
   * that are not pure dense MLPs; `layerIndex` is the plan's layer index. Absent: dense only.
   */
  computeModel?(model: CheckpointModel, X: Matrix | undefined, params: P, seed: number, ctx: ModelMetricContext): Promise<ModelMetricValue[]>;
}

/** Labels and training context a weight metric may use besides the inputs. */
export interface ModelMetricExtra {
  y?: Int32Array;
  lr?: number;
}

/** What `computeModel` may need besides the model: the tensor backend (loaded on first use), progress, interruption. */
export interface ModelMetricContext {
  tf(): Promise<typeof tfType>;
  progress?: (line: string) => void;
  signal?: AbortSignal;
}

export const localRankMetric: ModelMetric<any> = {
  name: geomLocalRank.name,
  description: geomLocalRank.description,
  params: geomLocalRank.params,
  needsInputs: true,
  // per point: the Jacobian d x inputDim, its Gram and SVD work in float64; the batched VJP path holds a few points at once
  memory: ({n, d, inputDim = d}) => 8 * n * inputDim + 48 * d * Math.max(d, inputDim),
  compute: (net, X, p, seed) => geomLocalRank.compute(net, X!, p, seed).flatMap((r) => r.values.map((v) => ({...v, layerIndex: r.layerIndex, n: r.n}))),
  async computeModel(model, X, p, seed, ctx) {
    const rows = await computeLocalRankVjp(await ctx.tf(), model, X!, p, seed, {progress: ctx.progress, signal: ctx.signal});
    return rows.flatMap((r) => r.values.map((v) => ({...v, layerIndex: r.layerIndex, n: r.n})));
  },
};

export const weightFeaturesMetric: ModelMetric<any> = {
  name: weightsMetric.name,
  description: weightsMetric.description,
  params: weightsMetric.params,
  needsInputs: false,
  // singular values of each weight matrix (d x d at most for the widest layer), float64
  memory: ({d, inputDim = d}) => 8 * 4 * (d * Math.max(d, inputDim)),
  compute: (net, _X, p) => weightsMetric.compute(net, p).map((r) => ({...r, n: 0})),
  /** Dense W and conv2d kernels [k, k, C_in, F] read as (k k C_in) x F; layerless values keep -1. */
  async computeModel(model, _X, p) {
    const {net, planIndex} = weightMatrices(model);
    return weightsMetric.compute(net, p).map((r) => ({...r, layerIndex: r.layerIndex > 0 ? planIndex[r.layerIndex - 1] : r.layerIndex, n: 0}));
  },
};

/**
 * Runs a weight metric of the registry (whose wrapper refuses non-finite weights and inputs,
 * src/metrics/finite.ts): dense MLPs go to `compute`, other models to `computeModel`, and a
 * refusal is prefixed with `source` (the checkpoint or .npz file).
 */
export async function computeModelMetric<P extends Record<string, unknown>>(
  metric: ModelMetric<P>,
  network: {net: DenseNet} | {model: CheckpointModel},
  X: Matrix | undefined,
  params: P,
  seed: number,
  ctx: ModelMetricContext,
  source: string,
  extra?: ModelMetricExtra,
): Promise<ModelMetricValue[]> {
  try {
    if ('net' in network) return metric.compute(network.net, X, params, seed, extra);
    if (!metric.computeModel) throw new UserError(`${metric.name} supports dense networks only; ${source} has other layer types`);
    return await metric.computeModel(network.model, X, params, seed, ctx);
  } catch (err) {
    if (err instanceof UserError && !err.message.startsWith(source)) throw new UserError(`${source}: ${err.message}`, {exitCode: err.exitCode, code: err.code});
    throw err;
  }
}
