import type {ModelPlan} from '../model/plan.js';

export interface LayerGradStats {
  layerIndex: number;
  layer: string;
  /** ||mean over minibatches of dL/dW||_2 */
  meanNorm: number;
  /** sqrt(trace of the minibatch-gradient covariance) = sqrt((1/B) sum_b ||g_b - g_mean||^2) */
  stdNorm: number;
  snr: number;
  /** ||W||_F at the start of the epoch. */
  weightNorm: number;
}

/**
 * Accumulates minibatch gradients of every layer's weight matrix (biases excluded) over one
 * epoch with Welford's algorithm in float64, so nothing but two vectors is kept (docs/metrics.md, gradient statistics).
 */
export class GradientAccumulator {
  private count = 0;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;

  constructor(private readonly plan: ModelPlan) {
    this.mean = new Float64Array(plan.numParams);
    this.m2 = new Float64Array(plan.numParams);
  }

  add(grad: Float32Array): void {
    this.count++;
    const n = this.count;
    for (const layer of this.plan.layers) {
      for (const p of layer.params) {
        if (p.role !== 'weight') continue;
        for (let i = p.offset; i < p.offset + p.size; i++) {
          const g = grad[i];
          const delta = g - this.mean[i];
          this.mean[i] += delta / n;
          this.m2[i] += delta * (g - this.mean[i]);
        }
      }
    }
  }

  /** One entry per layer with weights (parameter-free layers such as dropout or max-pool are skipped). */
  result(theta: Float32Array): LayerGradStats[] {
    return layerGradStats(this.plan, this.count, this.mean, this.m2, theta);
  }
}

/**
 * Per-layer statistics from Welford moments of the minibatch gradients (`mean` and the sum of
 * squared deviations `m2`, one entry per parameter, over `count` minibatches) and the weights
 * at the start of the epoch.
 */
export function layerGradStats(plan: ModelPlan, count: number, mean: ArrayLike<number>, m2: ArrayLike<number>, theta: Float32Array): LayerGradStats[] {
  return plan.layers.filter((layer) => layer.params.some((p) => p.role === 'weight')).map((layer) => {
    let mean2 = 0;
    let var2 = 0;
    let w2 = 0;
    for (const p of layer.params) {
      if (p.role !== 'weight') continue;
      for (let i = p.offset; i < p.offset + p.size; i++) {
        mean2 += mean[i] * mean[i];
        var2 += m2[i];
        w2 += theta[i] * theta[i];
      }
    }
    const meanNorm = Math.sqrt(mean2);
    const stdNorm = count > 0 ? Math.sqrt(var2 / count) : 0;
    return {
      layerIndex: layer.index,
      layer: layer.name,
      meanNorm,
      stdNorm,
      snr: stdNorm > 0 ? meanNorm / stdNorm : Infinity,
      weightNorm: Math.sqrt(w2),
    };
  });
}
