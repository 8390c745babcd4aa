import type {TrainConfig} from '../config/schema.js';
import type {TrainData} from '../data/types.js';
import {StageError} from '../util/errors.js';
import type {EpochStats, TrainHooks} from './engine.js';
import type {TrainState} from './state.js';

/**
 * Train/test loss and accuracy from the logits of all rows, in float64 (cross-entropy by
 * log-sum-exp; hinge: max(0, 1 - s (z1 - z0)) with s = +1 for class 1, -1 for class 0; ties in
 * the argmax go to the first class, as tf.argMax does).
 */
export function evaluate(epoch: number, logits: Float32Array, data: Pick<TrainData, 'labels' | 'classes' | 'trainIdx' | 'testIdx'>, loss: 'crossentropy' | 'hinge' = 'crossentropy'): EpochStats {
  const C = data.classes;
  const hinge = loss === 'hinge';
  const {labels} = data;
  const over = (idx: Int32Array) => {
    let total = 0;
    let correct = 0;
    for (let i = 0; i < idx.length; i++) {
      const r = idx[i];
      let best = 0;
      let mx = -Infinity;
      for (let c = 0; c < C; c++) {
        const z = logits[r * C + c];
        if (z > mx) {
          mx = z;
          best = c;
        }
      }
      if (hinge) {
        const sign = labels[r] === 1 ? 1 : -1;
        total += Math.max(0, 1 - sign * (logits[r * C + 1] - logits[r * C]));
      } else {
        // exp(0) = 1 exactly at the maximum: the same sum, in the same order, one exp fewer
        let se = 0;
        for (let c = 0; c < C; c++) se += c === best ? 1 : Math.exp(logits[r * C + c] - mx);
        total += mx + Math.log(se) - logits[r * C + labels[r]];
      }
      if (best === labels[r]) correct++;
    }
    return idx.length ? {loss: total / idx.length, acc: correct / idx.length} : {loss: NaN, acc: NaN};
  };
  const tr = over(data.trainIdx);
  const te = over(data.testIdx);
  return {epoch, trainLoss: tr.loss, trainAcc: tr.acc, testLoss: te.loss, testAcc: te.acc};
}

/** What `beginEpoch` needs from an engine: its parameters, and logits (and every layer when `capture`) of all rows. */
export interface EpochContext {
  cfg: Pick<TrainConfig, 'epochs' | 'evalEvery' | 'lr'>;
  snapshots: Set<number>;
  lossKind: 'crossentropy' | 'hinge';
  data: Pick<TrainData, 'labels' | 'classes' | 'trainIdx' | 'testIdx'>;
  hooks: TrainHooks;
  readParams(): Promise<Float32Array> | Float32Array;
  evaluateAll(capture: boolean): Promise<{logits: Float32Array; acts: Float32Array[]}> | {logits: Float32Array; acts: Float32Array[]};
  /**
   * The engine's training state at the start of this epoch (before its minibatch order is drawn),
   * given the parameters `theta`: optimizer slots and step, and the minibatch-order generator.
   * Every engine provides it, and takes it back as `start` to continue bit for bit.
   */
  state(epoch: number, theta: Float32Array): Promise<TrainState>;
}

/**
 * The start of epoch `epoch` (0..E) for every training engine: a turn for signal handlers and
 * progress, the interruption check, and at scheduled epochs the evaluation (`onEval`, with the
 * logits of all rows), the
 * snapshot (`onSnapshot`), the training state (`onState`) and the parameters. `theta` is set at
 * snapshot epochs and at E.
 */
export async function beginEpoch(epoch: number, ctx: EpochContext): Promise<{capture: boolean; theta: Float32Array | null}> {
  const {cfg, hooks} = ctx;
  const E = cfg.epochs;
  // WASM kernels resolve without yielding: give signal handlers and progress a turn
  await new Promise((r) => setImmediate(r));
  if (hooks.signal?.aborted) throw new StageError('train', `interrupted at epoch ${epoch}`);
  const capture = ctx.snapshots.has(epoch);
  const theta = capture || epoch === E ? await ctx.readParams() : null;
  if (capture || epoch === E || epoch % (cfg.evalEvery ?? 1) === 0) {
    const evald = await ctx.evaluateAll(capture);
    const stats = evaluate(epoch, evald.logits, ctx.data, ctx.lossKind);
    if (!Number.isFinite(stats.trainLoss)) {
      throw new StageError('train', `training loss became ${stats.trainLoss} at epoch ${epoch}; lower train.lr (now ${cfg.lr}) or check the data`);
    }
    hooks.onEval(stats, evald.logits);
    if (capture) {
      await hooks.onSnapshot(epoch, evald.acts, theta!);
      if (hooks.onState) await hooks.onState(await ctx.state(epoch, theta!));
    }
  }
  return {capture, theta};
}
