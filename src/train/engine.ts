import type {TrainConfig} from '../config/schema.js';
import type {TrainData} from '../data/types.js';
import type {ModelPlan} from '../model/plan.js';
import type {LayerGradStats} from './grad-stats.js';
import type {TrainState} from './state.js';

/**
 * The contract of a training engine: what `train` (src/stages/train.ts) calls, implemented by the
 * tfjs loop (src/train/loop.ts, any model, any tfjs backend; the reference) and by the fused
 * WebAssembly engine (src/train/fused/engine.ts, dense networks on the CPU).
 * Same plan, data, config and seed give the same trajectory up to float32 rounding on both;
 * each is bit-reproducible on its own.
 */

export interface EpochStats {
  epoch: number;
  trainLoss: number;
  trainAcc: number;
  testLoss: number;
  testAcc: number;
}

export interface TrainHooks {
  /**
   * State after `epoch` epochs (0 = initialisation), for every evaluated epoch; `logits` holds
   * the output layer's pre-softmax values of all rows (row-major rows x classes).
   */
  onEval(stats: EpochStats, logits: Float32Array): void;
  /** At scheduled epochs: every layer's activations on all rows (row-major N x width) and the parameters. */
  onSnapshot(epoch: number, acts: Float32Array[], theta: Float32Array): void | Promise<void>;
  /** Minibatch-gradient statistics of the epoch that starts at a snapshot epoch. */
  onGradStats(epoch: number, stats: LayerGradStats[]): void;
  /** At scheduled epochs, after onSnapshot: the full training state (what a checkpoint keeps to continue from). */
  onState?(state: TrainState): void | Promise<void>;
  signal?: AbortSignal;
}

export interface TrainEngine {
  /** 'tfjs' or 'fused'. */
  readonly name: string;
  /** What computes, for provenance (tfjs backend name, or the module's hash). */
  readonly id: string;
  /**
   * Trains `plan` for cfg.epochs epochs and returns the final parameters. With `start` (a
   * checkpoint's training state, src/train/state.ts) training continues from that snapshot epoch
   * (evaluated again first), and a run split this way equals the unsplit run bit for bit.
   */
  train(plan: ModelPlan, data: TrainData, cfg: TrainConfig, seed: number, snapshots: number[], hooks: TrainHooks, start?: TrainState): Promise<Float32Array>;
}
