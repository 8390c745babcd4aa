import {availableParallelism} from 'node:os';
import {Worker} from 'node:worker_threads';
import type {TrainConfig} from '../../config/schema.js';
import {fusedKernelsId, fusedUnavailable, instantiate, trainModule, type TrainExports} from '../../native/train.js';
import {StageError} from '../../util/errors.js';
import {Rng} from '../../util/prng.js';
import type {TrainData} from '../../data/types.js';
import type {TrainEngine, TrainHooks} from '../engine.js';
import type {TrainState} from '../state.js';
import {evaluate} from '../evaluate.js';
import {layerGradStats} from '../grad-stats.js';
import {learningRate} from '../lr.js';
import {initParams, type ModelPlan} from '../../model/plan.js';
import {ACT, Arena, DECAY, KIND, LAYER_FIELDS, NET_FIELDS, OPT, fieldOffset, writeStruct, type NetField} from './layout.js';

/**
 * The fused engine: src/native/train.c trains dense networks (dense and dropout layers on a 1-D
 * input) with one WebAssembly call per epoch: minibatch gather, forward, backprop, L2, dropout
 * and the optimizer update, on one flat float32 parameter vector in a shared memory. Evaluation
 * (logits of all rows), snapshots (every layer's activations, softmax output) and gradient
 * statistics (Welford moments in float64) go through the same kernels. Large products are split
 * among worker threads by output tiles, so the result does not depend on the thread count.
 *
 * The TypeScript side keeps what is cheap and must equal the tfjs loop exactly: the seeded
 * minibatch order, the learning-rate schedule, Adam's bias corrections and decay factors (float64,
 * rounded to float32 as tfjs rounds scalars), the dropout streams' seeds, and the float64 losses.
 */

/** Why this plan cannot take the fused engine (null when it can). */
export function fusedPlanProblem(plan: ModelPlan): string | null {
  if (plan.inputShape.length !== 1) return `the input is not 1-D (shape [${plan.inputShape.join(', ')}])`;
  for (const l of plan.layers) {
    if (l.type !== 'dense' && l.type !== 'dropout') return `layer ${l.name} is ${l.type} (the fused engine trains dense and dropout layers)`;
    if (l.kind !== 'output' && !Object.hasOwn(ACT, l.activation)) return `layer ${l.name} has activation ${l.activation}, which the fused engine does not implement`;
  }
  return null;
}

/** Products of at least this many multiply-adds are split among threads. */
const MIN_PARALLEL_MACS = 1 << 21;
/** Float budget of the evaluation buffers (all layers of a chunk of rows). */
const EVAL_FLOATS = 8 * 1024 * 1024;
const STACK_BYTES = 64 * 1024;
const PAGE = 65536;

/**
 * Threads for a plan: `TDLAB_THREADS` when set, else 2 (at most the cores) when one minibatch's
 * largest product is big enough for the split to pay, else 1.
 */
export function fusedThreads(plan: ModelPlan, cfg: Pick<TrainConfig, 'batchSize'>): number {
  const env = Number(process.env.TDLAB_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  const largest = Math.max(...plan.layers.map((l) => (l.type === 'dense' ? l.params[0].fanIn * l.width * cfg.batchSize : 0)));
  return largest >= MIN_PARALLEL_MACS ? Math.min(2, availableParallelism()) : 1;
}

export const fusedEngine: TrainEngine = {
  name: 'fused',
  id: `fused ${fusedKernelsId()}`,
  train: trainFused,
};

const pad8 = (n: number) => Math.ceil(n / 8) * 8;

async function trainFused(plan: ModelPlan, data: TrainData, cfg: TrainConfig, seed: number, snapshots: number[], hooks: TrainHooks, start?: TrainState): Promise<Float32Array> {
  const problem = fusedPlanProblem(plan) ?? fusedUnavailable();
  if (problem) throw new StageError('train', `train.engine fused: ${problem}; use train.engine: tfjs`);
  const E = cfg.epochs;
  const lossKind = cfg.loss ?? 'crossentropy';
  if (lossKind === 'hinge' && data.classes !== 2) throw new StageError('train', `train.loss hinge needs 2 classes, the dataset has ${data.classes}; use crossentropy`);
  const layers = plan.layers;
  const nl = layers.length;
  const D = plan.inputShape[0];
  const {n: N, classes: C} = data;
  const P = plan.numParams;
  const nTrain = data.trainIdx.length;
  const B = Math.max(1, Math.min(cfg.batchSize, nTrain));
  const stepsPerEpoch = Math.ceil(nTrain / cfg.batchSize);
  const adam = cfg.optimizer === 'adam' || cfg.optimizer === 'adamw';
  const opt = adam ? OPT.adam : cfg.momentum > 0 ? OPT.momentum : OPT.sgd;
  const wd = cfg.weightDecay ?? 0;
  // as src/train/optimizer.ts: one flat vector (p - (p mask) lr wd) up to 262144 parameters, per tensor (p (1 - lr wd)) above
  const decay = wd > 0 ? (P <= 262144 ? DECAY.flat : DECAY.tensor) : DECAY.none;
  const drops = layers.filter((l) => l.type === 'dropout');
  const widths = layers.map((l) => l.width);
  const maxW = Math.max(...widths);
  const chunk = Math.max(1, Math.min(N, Math.floor(EVAL_FLOATS / widths.reduce((a, b) => a + b, 0))));
  const T = fusedThreads(plan, cfg);
  const gradStats = cfg.gradientStats && snapshots.length > 0;
  let packStride = 0;
  for (const l of layers) {
    if (l.type !== 'dense') continue;
    const fanIn = l.params[0].fanIn;
    packStride = Math.max(packStride, fanIn * pad8(l.width), B * pad8(l.width), l.width * pad8(fanIn));
  }

  // ---- memory layout
  const mod = trainModule();
  const probe = new WebAssembly.Memory({initial: 2, maximum: 2, shared: true});
  const heapBase = Number((new WebAssembly.Instance(mod, {env: {memory: probe}}).exports as unknown as TrainExports).__heap_base.value);
  const a = new Arena(heapBase);
  const at = {
    net: a.alloc(4 * NET_FIELDS.length),
    layers: a.alloc(4 * LAYER_FIELDS.length * nl),
    X: a.floats(N * D),
    labels: a.alloc(4 * N),
    theta: a.floats(P),
    grad: a.floats(P),
    m: a.floats(opt === OPT.sgd ? 0 : P),
    v: a.floats(adam ? P : 0),
    wmean: a.doubles(gradStats ? P : 0),
    wm2: a.doubles(gradStats ? P : 0),
    perm: a.alloc(4 * nTrain),
    stepF: a.floats(4 * stepsPerEpoch),
    stepRng: a.alloc(16 * stepsPerEpoch * drops.length),
    dropRate: a.doubles(drops.length),
    Xb: a.floats(B * D),
    Yb: a.alloc(4 * B),
    dA: a.floats(B * maxW),
    dB: a.floats(B * maxW),
    logits: a.floats(chunk * C),
    pack: a.floats(packStride * T),
    layer: layers.map((l) => ({Z: a.floats(B * l.width), H: a.floats(B * l.width), mask: l.type === 'dropout' ? a.floats(B * l.width) : 0, E: a.floats(chunk * l.width)})),
    stacks: Array.from({length: T - 1}, () => a.alloc(STACK_BYTES)),
  };
  const pages = Math.ceil(a.next / PAGE);
  const memory = new WebAssembly.Memory({initial: pages, maximum: pages, shared: true});
  const buf = memory.buffer;
  const f32 = new Float32Array(buf);
  const i32 = new Int32Array(buf);
  const f64 = new Float64Array(buf);
  const u32 = new Uint32Array(buf);
  const ex = instantiate(memory);
  if (ex.struct_sizes() !== 4 * NET_FIELDS.length * 1000 + 4 * LAYER_FIELDS.length) throw new Error('fused engine: src/train/fused/layout.ts does not match the module (rebuild with scripts/build-wasm.sh)');

  // ---- contents
  f32.set(data.x.subarray(0, N * D), at.X / 4);
  i32.set(data.labels.subarray(0, N), at.labels / 4);
  const theta = f32.subarray(at.theta / 4, at.theta / 4 + P);
  const slotViews = opt === OPT.adam ? [at.m, at.v] : opt === OPT.momentum ? [at.m] : [];
  const slots = slotViews.map((off) => f32.subarray(off / 4, off / 4 + P));
  theta.set(start ? start.params : initParams(plan, seed));
  if (start) {
    if (start.slots.length !== slots.length) throw new StageError('train', `the optimizer state has ${start.slots.length} slots; ${cfg.optimizer} needs ${slots.length}`);
    slots.forEach((s, i) => s.set(start.slots[i]));
  }
  drops.forEach((l, d) => (f64[at.dropRate / 8 + d] = l.options?.rate ?? 0));
  layers.forEach((l, i) => {
    const dense = l.type === 'dense';
    const rate = l.options?.rate ?? 0;
    writeStruct(buf, at.layers + 4 * LAYER_FIELDS.length * i, LAYER_FIELDS, {
      kind: dense ? KIND.dense : KIND.dropout,
      in: i === 0 ? D : widths[i - 1],
      out: l.width,
      act: l.kind === 'output' ? ACT.linear : ACT[l.activation as keyof typeof ACT],
      w: dense ? l.params[0].offset : 0,
      b: dense ? l.params[1].offset : 0,
      l2: dense && l.kind === 'hidden' ? 1 : 0,
      decay: dense ? 1 : 0,
      rate,
      keep: Math.fround(1 / (1 - rate)),
      drop: dense ? 0 : drops.indexOf(l),
      ...at.layer[i],
    });
  });
  const netValues: Partial<Record<NetField, number>> = {
    nLayers: nl, L: at.layers, D, C, N, P, X: at.X, labels: at.labels,
    theta: at.theta, grad: at.grad, m: at.m, v: at.v, wmean: at.wmean, wm2: at.wm2,
    loss: lossKind === 'hinge' ? 1 : 0, opt, decay,
    beta1: cfg.beta1, omb1: 1 - cfg.beta1, beta2: cfg.beta2, omb2: 1 - cfg.beta2, eps: cfg.epsilon, mom: cfg.momentum, l2: cfg.l2,
    batch: cfg.batchSize, perm: at.perm, nTrain, stepF: at.stepF, stepRng: at.stepRng, nDrop: drops.length, dropRate: at.dropRate,
    Xb: at.Xb, Yb: at.Yb, dA: at.dA, dB: at.dB, logits: at.logits, chunk, pack: at.pack, packStride,
    nThreads: T, minPar: MIN_PARALLEL_MACS,
  };
  writeStruct(buf, at.net, NET_FIELDS, netValues);
  const setNet = (name: NetField, value: number) => (i32[(at.net + fieldOffset(NET_FIELDS, name)) / 4] = value);
  const getNet = (name: NetField) => i32[(at.net + fieldOffset(NET_FIELDS, name)) / 4];

  // ---- threads
  const workers: Worker[] = [];
  try {
    for (let t = 1; t < T; t++) {
      const w = new Worker(new URL('./worker.js', import.meta.url), {workerData: {module: mod, memory, net: at.net, thread: t, stackTop: at.stacks[t - 1] + STACK_BYTES}});
      workers.push(w);
      await new Promise<void>((resolve, reject) => {
        w.once('online', resolve);
        w.once('error', reject);
      });
    }

    const snapSet = new Set(snapshots);
    const rng = new Rng(seed, 'shuffle');
    let step = start?.step ?? 0;
    const epoch0 = start?.epoch ?? 0;
    if (start) rng.setState(start.rng);

    /** Logits of all rows and (with `capture`) every layer's activations (the output layer as softmax). */
    const evaluateAll = (capture: boolean) => {
      const logits = new Float32Array(N * C);
      const acts = capture ? widths.map((w) => new Float32Array(N * w)) : [];
      for (let r0 = 0; r0 < N; r0 += chunk) {
        const len = Math.min(chunk, N - r0);
        ex.eval_rows(at.net, r0, len, capture ? 1 : 0);
        logits.set(f32.subarray(at.logits / 4, at.logits / 4 + len * C), r0 * C);
        acts.forEach((out, i) => out.set(f32.subarray(at.layer[i].E / 4, at.layer[i].E / 4 + len * widths[i]), r0 * widths[i]));
      }
      return {logits, acts};
    };

    const stepF = f32.subarray(at.stepF / 4, at.stepF / 4 + 4 * stepsPerEpoch);
    const perm = i32.subarray(at.perm / 4, at.perm / 4 + nTrain);
    for (let epoch = epoch0; epoch <= E; epoch++) {
      // one call per epoch: give signal handlers and progress a turn in between
      await new Promise((r) => setImmediate(r));
      if (hooks.signal?.aborted) throw new StageError('train', `interrupted at epoch ${epoch}`);
      const capture = snapSet.has(epoch);
      const thetaNow = capture || epoch === E ? theta.slice() : null;
      if (capture || epoch === E || epoch % (cfg.evalEvery ?? 1) === 0) {
        const evald = evaluateAll(capture);
        const stats = evaluate(epoch, evald.logits, data, lossKind);
        if (!Number.isFinite(stats.trainLoss)) {
          throw new StageError('train', `training loss became ${stats.trainLoss} at epoch ${epoch}; lower train.lr (now ${cfg.lr}) or check the data`);
        }
        hooks.onEval(stats, evald.logits);
        if (capture) {
          await hooks.onSnapshot(epoch, evald.acts, thetaNow!);
          if (hooks.onState) await hooks.onState({epoch, step, params: thetaNow!, slots: slots.map((s) => s.slice()), rng: rng.getState()});
        }
      }
      if (epoch === E) return thetaNow!;

      // the epoch's minibatch order (dataset rows), per-step scalars and dropout streams
      const p = rng.permutation(nTrain);
      for (let i = 0; i < nTrain; i++) perm[i] = data.trainIdx[p[i]];
      const lr = learningRate(cfg, epoch);
      for (let s = 0; s < stepsPerEpoch; s++) {
        const t = step + s + 1;
        stepF[4 * s] = adam ? lr / (1 - Math.pow(cfg.beta1, t)) : lr;
        stepF[4 * s + 1] = adam ? 1 - Math.pow(cfg.beta2, t) : 0;
        stepF[4 * s + 2] = decay === DECAY.flat ? lr * wd : 1 - lr * wd;
        drops.forEach((l, d) => {
          if ((l.options?.rate ?? 0) > 0) u32.set(new Rng(seed, `dropout/${l.name}/${step + s}`).getState().slice(0, 4), at.stepRng / 4 + 4 * (s * drops.length + d));
        });
      }
      const stats = capture && cfg.gradientStats;
      if (stats) {
        f64.fill(0, at.wmean / 8, at.wmean / 8 + P);
        f64.fill(0, at.wm2 / 8, at.wm2 / 8 + P);
        setNet('gsCount', 0);
        setNet('gsOn', 1);
      }
      ex.train_epoch(at.net, stepsPerEpoch);
      step += stepsPerEpoch;
      if (stats) {
        setNet('gsOn', 0);
        hooks.onGradStats(epoch, layerGradStats(plan, getNet('gsCount'), f64.subarray(at.wmean / 8, at.wmean / 8 + P), f64.subarray(at.wm2 / 8, at.wm2 / 8 + P), thetaNow!));
      }
    }
    throw new Error('unreachable');
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
