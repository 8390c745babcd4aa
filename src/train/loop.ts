import type * as tfType from '@tensorflow/tfjs';
import type {TrainConfig} from '../config/schema.js';
import type {TrainData} from '../data/types.js';
import {denseBackprop} from '../model/backprop.js';
import {forward} from '../model/forward.js';
import {initParams, paramSlots, type ModelPlan} from '../model/plan.js';
import {StageError} from '../util/errors.js';
import {Rng} from '../util/prng.js';
import type {TrainEngine, TrainHooks} from './engine.js';
import {beginEpoch} from './evaluate.js';
import {GradientAccumulator} from './grad-stats.js';
import {learningRate} from './lr.js';
import {Optimizer} from './optimizer.js';
import type {TrainState} from './state.js';

type Tf = typeof tfType;
type Tensor = tfType.Tensor;

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

/** The tfjs training loop as a TrainEngine on an already loaded tfjs (its backend is the id). */
export function tfjsEngine(tf: Tf): TrainEngine {
  return {
    name: 'tfjs',
    id: `tfjs ${tf.getBackend()}`,
    train: (plan, data, cfg, seed, snapshots, hooks, start) => trainModel(tf, plan, data, cfg, seed, snapshots, hooks, start),
  };
}
