import type * as tfType from '@tensorflow/tfjs';
import type {TrainConfig} from '../config/schema.js';
import {StageError} from '../util/errors.js';
import {Rng} from '../util/prng.js';
import {GradientAccumulator, type LayerGradStats} from './grad-stats.js';
import {learningRate} from './lr.js';
import {forward} from '../model/forward.js';
import {initParams, paramSlots, type ModelPlan} from '../model/plan.js';
import {denseBackprop} from '../model/backprop.js';
import {Optimizer} from './optimizer.js';
import type {TrainData} from '../data/types.js';
import type {TrainState} from './state.js';

type Tf = typeof tfType;
type Tensor = tfType.Tensor;

export interface EpochStats {
  epoch: number;
  trainLoss: number;
  trainAcc: number;
  testLoss: number;
  testAcc: number;
}

export interface TrainHooks {
  /** State after `epoch` epochs (0 = initialisation), for every epoch 0..E. */
  onEval(stats: EpochStats): void;
  /** At scheduled epochs: every layer's activations on all rows (row-major N x width) and the parameters. */
  onSnapshot(epoch: number, acts: Float32Array[], theta: Float32Array): void | Promise<void>;
  /** Minibatch-gradient statistics of the epoch that starts at a snapshot epoch. */
  onGradStats(epoch: number, stats: LayerGradStats[]): void;
  /** At scheduled epochs, after onSnapshot: the full training state (what a checkpoint keeps to continue from). */
  onState?(state: TrainState): void | Promise<void>;
  signal?: AbortSignal;
}

/**
 * Train/test loss and accuracy from the logits of all rows, in float64 (cross-entropy by
 * log-sum-exp; hinge: max(0, 1 - s (z1 - z0)) with s = +1 for class 1, -1 for class 0; ties in
 * the argmax go to the first class, as tf.argMax does).
 */
export function evaluate(epoch: number, logits: Float32Array, data: Pick<TrainData, 'labels' | 'classes' | 'trainIdx' | 'testIdx'>, loss: 'crossentropy' | 'hinge' = 'crossentropy'): EpochStats {
  const C = data.classes;
  const hinge = loss === 'hinge';
  const over = (idx: Int32Array) => {
    let total = 0;
    let correct = 0;
    for (const r of idx) {
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
        const sign = data.labels[r] === 1 ? 1 : -1;
        total += Math.max(0, 1 - sign * (logits[r * C + 1] - logits[r * C]));
      } else {
        let se = 0;
        for (let c = 0; c < C; c++) se += Math.exp(logits[r * C + c] - mx);
        total += mx + Math.log(se) - logits[r * C + data.labels[r]];
      }
      if (best === data.labels[r]) correct++;
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
  readParams(): Promise<Float32Array>;
  evaluateAll(capture: boolean): Promise<{logits: Float32Array; acts: Float32Array[]}>;
  /**
   * The engine's training state at the start of this epoch (before its minibatch order is drawn),
   * given the parameters `theta`: optimizer slots and step, and the minibatch-order generator.
   * Every engine provides it, and takes it back as `start` to continue bit for bit.
   */
  state(epoch: number, theta: Float32Array): Promise<TrainState>;
}

/**
 * The start of epoch `epoch` (0..E) for every training engine: a turn for signal handlers and
 * progress, the interruption check, and at scheduled epochs the evaluation (`onEval`), the
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
    hooks.onEval(stats);
    if (capture) {
      await hooks.onSnapshot(epoch, evald.acts, theta!);
      if (hooks.onState) await hooks.onState(await ctx.state(epoch, theta!));
    }
  }
  return {capture, theta};
}

/** Float budget of one evaluation pass (all layers' activations of a chunk of rows); larger evaluation sets are run in chunks. */
const EVAL_FLOATS = 64 * 1024 * 1024;

/**
 * Trains the planned network with a hand-written loop: one flat parameter tensor, our own
 * seeded minibatch order, and an optimizer step of a few whole-vector ops. Deterministic for a
 * given seed and backend. Dropout is active only in the training step (masks seeded by run seed,
 * layer and step); evaluation and snapshots use the full network. With `start` (a checkpoint's
 * training state) it continues from that snapshot epoch exactly as the unsplit run would.
 */
export async function trainModel(tf: Tf, plan: ModelPlan, data: TrainData, cfg: TrainConfig, seed: number, snapshots: number[], hooks: TrainHooks, start?: TrainState): Promise<Float32Array> {
  const E = cfg.epochs;
  const lossKind = cfg.loss ?? 'crossentropy';
  if (lossKind === 'hinge' && data.classes !== 2) throw new StageError('train', `train.loss hinge needs 2 classes, the dataset has ${data.classes}; use crossentropy`);
  const snapSet = new Set(snapshots);
  const rowSize = data.inputShape.reduce((a, b) => a * b, 1);
  // evaluation rows per forward pass: all of them unless the activations would be too large
  const floatsPerRow = plan.layers.reduce((a, l) => a + l.width, rowSize);
  const evalChunk = Math.max(1, Math.min(data.n, Math.floor(EVAL_FLOATS / floatsPerRow)));
  const X = evalChunk >= data.n ? tf.tensor(data.x, [data.n, ...data.inputShape]) : null;
  const slots = paramSlots(plan);
  const theta0 = start ? start.params : initParams(plan, seed);
  let params: Tensor[] = slots.map((p) => tf.tensor(theta0.subarray(p.offset, p.offset + p.size), p.shape));
  // L2 penalty (l2/2) sum ||W||^2 on hidden-layer weights: its gradient l2 * W is added to theirs
  const l2Params = new Set(cfg.l2 > 0 ? slots.flatMap((p, i) => (p.role === 'weight' && plan.layers.find((l) => l.params.includes(p))?.kind === 'hidden' ? [i] : [])) : []);
  const optimizer = new Optimizer(tf, cfg, slots.map((p) => p.shape), slots.map((p) => p.role === 'weight'));
  const rng = new Rng(seed, 'shuffle');
  const nTrain = data.trainIdx.length;
  let step = start?.step ?? 0;
  if (start) {
    // continue exactly: optimizer slots and step counter, and the minibatch order's stream
    optimizer.setState(start.step, start.slots);
    rng.setState(start.rng);
  }
  const readParams = async () => {
    const out = new Float32Array(plan.numParams);
    const vals = await Promise.all(params.map((p) => p.data()));
    slots.forEach((p, i) => out.set(vals[i] as Float32Array, p.offset));
    return out;
  };

  const crossEntropy = (logits: Tensor, y: Tensor) => tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits)), 1));
  // hinge on the margin z1 - z0 with targets s = +1 (class 1) / -1 (class 0): y is one-hot, so s = y1 - y0
  const hinge = (logits: Tensor, y: Tensor) => {
    const [z0, z1] = tf.split(logits, 2, 1);
    const [y0, y1] = tf.split(y, 2, 1);
    return tf.relu(tf.sub(1, tf.mul(tf.sub(y1, y0), tf.sub(z1, z0))));
  };
  const lossFn = lossKind === 'hinge' ? hinge : crossEntropy;
  // dense-only networks take explicit backpropagation (fewer kernels, no tape); others autodiff
  const fastGrads = denseBackprop(tf, plan, lossKind);
  const batchLoss = (xb: Tensor, yb: Tensor, at: number) => (...ps: Tensor[]) => tf.mean(lossFn(forward(tf, plan, ps, xb, false, {training: true, seed, step: at}).logits, yb)) as tfType.Scalar;

  /** Logits of all rows and (when `capture`) every layer's activations, in chunks if needed. */
  const evaluateAll = async (capture: boolean): Promise<{logits: Float32Array; acts: Float32Array[]}> => {
    if (X) {
      const evald = tf.tidy(() => forward(tf, plan, params, X, capture));
      try {
        const logits = (await evald.logits.data()) as Float32Array;
        const acts = capture ? ((await Promise.all(evald.acts.map((a) => a.data()))) as Float32Array[]) : [];
        return {logits, acts};
      } finally {
        evald.logits.dispose();
        for (const a of evald.acts) a.dispose();
      }
    }
    const logits = new Float32Array(data.n * data.classes);
    const acts = capture ? plan.layers.map((l) => new Float32Array(data.n * l.width)) : [];
    for (let r0 = 0; r0 < data.n; r0 += evalChunk) {
      const len = Math.min(evalChunk, data.n - r0);
      const evald = tf.tidy(() => forward(tf, plan, params, tf.tensor(data.x.subarray(r0 * rowSize, (r0 + len) * rowSize), [len, ...data.inputShape]), capture));
      try {
        logits.set((await evald.logits.data()) as Float32Array, r0 * data.classes);
        for (let i = 0; i < evald.acts.length; i++) acts[i].set((await evald.acts[i].data()) as Float32Array, r0 * plan.layers[i].width);
      } finally {
        evald.logits.dispose();
        for (const a of evald.acts) a.dispose();
      }
    }
    return {logits, acts};
  };

  try {
    const state = async (epoch: number, theta: Float32Array): Promise<TrainState> => ({epoch, step, params: theta, slots: await optimizer.getState(), rng: rng.getState()});
    for (let epoch = start?.epoch ?? 0; epoch <= E; epoch++) {
      const {capture, theta: thetaNow} = await beginEpoch(epoch, {cfg, snapshots: snapSet, lossKind, data, hooks, readParams, evaluateAll, state});
      if (epoch === E) return thetaNow!;

      const lr = learningRate(cfg, epoch);
      const acc = capture && cfg.gradientStats ? new GradientAccumulator(plan) : null;
      const perm = rng.permutation(nTrain);
      for (let b = 0; b < nTrain; b += cfg.batchSize) {
        const len = Math.min(cfg.batchSize, nTrain - b);
        // the minibatch is assembled in JS and uploaded: cheaper than two gather kernels on WASM
        const xbData = new Float32Array(len * rowSize);
        const ybData = new Float32Array(len * data.classes);
        for (let i = 0; i < len; i++) {
          const r = data.trainIdx[perm[b + i]];
          xbData.set(data.x.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize);
          ybData[i * data.classes + data.labels[r]] = 1;
        }
        const at = step++;
        const out = tf.tidy(() => {
          const xb = tf.tensor(xbData, [len, ...data.inputShape]);
          const yb = tf.tensor2d(ybData, [len, data.classes]);
          const gradCe = fastGrads ? fastGrads(params, xb, yb) : tf.grads(batchLoss(xb, yb, at))(params);
          const g = l2Params.size ? gradCe.map((gi, i) => (l2Params.has(i) ? tf.add(gi, tf.mul(params[i], cfg.l2)) : gi)) : gradCe;
          const next = optimizer.update(params, g, lr);
          return {next, grad: acc ? tf.concat(gradCe.map((t) => tf.reshape(t, [-1]))) : tf.scalar(0)};
        });
        if (acc) acc.add((await out.grad.data()) as Float32Array);
        out.grad.dispose();
        tf.dispose(params);
        params = out.next;
      }
      if (acc) hooks.onGradStats(epoch, acc.result(thetaNow!));
    }
    throw new Error('unreachable');
  } finally {
    if (X) X.dispose();
    tf.dispose(params);
    optimizer.dispose();
  }
}
