import {availableParallelism} from 'node:os';
import {Worker} from 'node:worker_threads';
import type {TrainConfig} from '../../config/schema.js';
import {fusedKernelsId, fusedUnavailable, instantiate, trainModule, type TrainExports} from '../../native/train.js';
import {StageError} from '../../util/errors.js';
import {Rng} from '../../util/prng.js';
import type {TrainData} from '../../data/types.js';
import type {TrainState} from '../state.js';
import type {TrainEngine, TrainHooks} from '../engine.js';
import {beginEpoch} from '../evaluate.js';
import {layerGradStats, type LayerGradStats} from '../grad-stats.js';
import {learningRate} from '../lr.js';
import {initParams, type ModelPlan, type PlannedLayer} from '../../model/plan.js';
import {ACT, Arena, DECAY, KIND, LAYER_FIELDS, NET_FIELDS, OPT, blockedIndex, fieldOffset, padRows, writeStruct, type NetField} from './layout.js';

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
 * An evaluation pass of at least this many multiply-adds is split among threads (train.c's
 * EVAL_PAR_MIN). Measured: the 12-bit net's pass (4096 rows, 1.1M multiply-adds) gains nothing
 * from a second thread (1.2 ms per epoch either way), so it stays below.
 */
const EVAL_PARALLEL_MACS = 1 << 23;

/**
 * Threads for a plan: `TDLAB_THREADS` when set, else 2 (at most the cores) when one minibatch's
 * largest product, or the evaluation pass over all rows, is big enough for the split to pay,
 * else 1.
 */
export function fusedThreads(plan: ModelPlan, cfg: Pick<TrainConfig, 'batchSize'>, rows = 0): number {
  const env = Number(process.env.TDLAB_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  const dense = plan.layers.filter((l) => l.type === 'dense');
  const largest = Math.max(...dense.map((l) => l.params[0].fanIn * l.width * cfg.batchSize));
  const evalMacs = rows * dense.reduce((a, l) => a + l.params[0].fanIn * l.width, 0);
  return largest >= MIN_PARALLEL_MACS || evalMacs >= EVAL_PARALLEL_MACS ? Math.min(2, availableParallelism()) : 1;
}

export const fusedEngine: TrainEngine = {
  name: 'fused',
  id: `fused ${fusedKernelsId()}`,
  train: trainFused,
};

export interface FusedNetOptions {
  seed: number;
  /** Worker threads in all (default: fusedThreads). */
  threads?: number;
  /** Allocate the Welford moments for gradient statistics. */
  gradStats?: boolean;
  /** Start from this state instead of the seeded initialisation. */
  start?: TrainState;
}

/**
 * One network in a shared WebAssembly memory: parameters, optimizer state, the dataset, and
 * every buffer the kernels use (laid out once), plus its worker threads. `trainFused` drives it
 * epoch by epoch; tests call `gradient` and `update` directly.
 */
export class FusedNet {
  readonly threads: number;
  /** Views of the parameters and the optimizer slots (Adam m, v; SGD velocity) in the shared memory. */
  readonly theta: Float32Array;
  readonly slots: Float32Array[];
  readonly stepsPerEpoch: number;
  private readonly ex: TrainExports;
  private readonly memory: WebAssembly.Memory;
  private readonly at;
  private readonly f32: Float32Array;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly u32: Uint32Array;
  private readonly widths: number[];
  private readonly chunk: number;
  private readonly drops: PlannedLayer[];
  private readonly adam: boolean;
  private readonly decay: number;
  private readonly workers: Worker[] = [];

  constructor(private readonly plan: ModelPlan, private readonly data: TrainData, private readonly cfg: TrainConfig, private readonly opts: FusedNetOptions) {
    const problem = fusedPlanProblem(plan) ?? fusedUnavailable();
    if (problem) throw new StageError('train', `train.engine fused: ${problem}; use train.engine: tfjs`);
    const lossKind = cfg.loss ?? 'crossentropy';
    if (lossKind === 'hinge' && data.classes !== 2) throw new StageError('train', `train.loss hinge needs 2 classes, the dataset has ${data.classes}; use crossentropy`);
    const layers = plan.layers;
    const nl = layers.length;
    const D = plan.inputShape[0];
    const {n: N, classes: C} = data;
    const P = plan.numParams;
    const nTrain = data.trainIdx.length;
    const B = Math.max(1, Math.min(cfg.batchSize, nTrain));
    const steps = (this.stepsPerEpoch = Math.ceil(nTrain / cfg.batchSize));
    const adam = (this.adam = cfg.optimizer === 'adam' || cfg.optimizer === 'adamw');
    const opt = adam ? OPT.adam : cfg.momentum > 0 ? OPT.momentum : OPT.sgd;
    const wd = cfg.weightDecay ?? 0;
    // as src/train/optimizer.ts: one flat vector (p - (p mask) lr wd) up to 262144 parameters, per tensor (p (1 - lr wd)) above
    const decay = (this.decay = wd > 0 ? (P <= 262144 ? DECAY.flat : DECAY.tensor) : DECAY.none);
    const drops = (this.drops = layers.filter((l) => l.type === 'dropout'));
    const widths = (this.widths = layers.map((l) => l.width));
    const maxW = Math.max(...widths);
    // evaluation rows per call: a multiple of 8 (whole register tiles)
    const chunk = (this.chunk = Math.min(padRows(N), Math.max(8, Math.floor(EVAL_FLOATS / widths.reduce((a, b) => a + b, 0) / 8) * 8)));
    const Bp = padRows(B);
    // packing buffers per thread: the weight panels of a product (K x fan-out rounded up to 4) or
    // the weight gradient's row panels (row blocks x (fan-in rounded up to 4 + fan-out rounded up to 2) x 4)
    const up = (x: number, m: number) => Math.ceil(x / m) * m;
    const packStride = Math.max(
      ...layers.filter((l) => l.type === 'dense').map((l) => {
        const fanIn = l.params[0].fanIn;
        return Math.max(fanIn * up(l.width, 4), l.width * up(fanIn, 4), Bp * (up(fanIn, 4) + up(l.width, 2)));
      }),
    );
    const T = (this.threads = opts.threads ?? fusedThreads(plan, cfg, Math.min(N, chunk)));
    const gradStats = opts.gradStats ?? false;

    // ---- layout
    const mod = trainModule();
    const probe = new WebAssembly.Memory({initial: 2, maximum: 2, shared: true});
    const heapBase = Number((new WebAssembly.Instance(mod, {env: {memory: probe}}).exports as unknown as TrainExports).__heap_base.value);
    const a = new Arena(heapBase);
    const at = (this.at = {
      net: a.alloc(4 * NET_FIELDS.length),
      layers: a.alloc(4 * LAYER_FIELDS.length * nl),
      X: a.floats(padRows(N) * D),
      labels: a.alloc(4 * N),
      theta: a.floats(P),
      grad: a.floats(P),
      m: a.floats(opt === OPT.sgd ? 0 : P),
      v: a.floats(adam ? P : 0),
      wmean: a.doubles(gradStats ? P : 0),
      wm2: a.doubles(gradStats ? P : 0),
      perm: a.alloc(4 * nTrain),
      stepF: a.floats(4 * Math.max(1, steps)),
      stepRng: a.alloc(16 * Math.max(1, steps) * drops.length),
      dropRate: a.doubles(drops.length),
      Xb: a.floats(Bp * D),
      Yb: a.alloc(4 * Bp),
      dA: a.floats(Bp * maxW),
      dB: a.floats(Bp * maxW),
      logits: a.floats(chunk * C),
      eA: a.floats(chunk * maxW),
      eB: a.floats(chunk * maxW),
      pack: a.floats(packStride * T),
      layer: layers.map((l) => ({Z: a.floats(Bp * l.width), H: a.floats(Bp * l.width), mask: l.type === 'dropout' ? a.floats(Bp * l.width) : 0, E: a.floats(chunk * l.width)})),
      stacks: Array.from({length: T - 1}, () => a.alloc(STACK_BYTES)),
    });
    const pages = Math.ceil(a.next / PAGE);
    const memory = (this.memory = new WebAssembly.Memory({initial: pages, maximum: pages, shared: true}));
    const buf = memory.buffer;
    this.f32 = new Float32Array(buf);
    this.i32 = new Int32Array(buf);
    this.f64 = new Float64Array(buf);
    this.u32 = new Uint32Array(buf);
    const ex = (this.ex = instantiate(memory));
    if (ex.struct_sizes() !== 4 * NET_FIELDS.length * 1000 + 4 * LAYER_FIELDS.length) throw new Error('fused engine: src/train/fused/layout.ts does not match the module (rebuild with scripts/build-wasm.sh)');

    // ---- contents
    // the dataset in the blocked layout (rows padded with zeros)
    const X = this.f32.subarray(at.X / 4, at.X / 4 + padRows(N) * D);
    for (let r = 0; r < N; r++) for (let k = 0; k < D; k++) X[blockedIndex(r, D, k)] = data.x[r * D + k];
    this.i32.set(data.labels.subarray(0, N), at.labels / 4);
    this.theta = this.f32.subarray(at.theta / 4, at.theta / 4 + P);
    this.slots = (opt === OPT.adam ? [at.m, at.v] : opt === OPT.momentum ? [at.m] : []).map((off) => this.f32.subarray(off / 4, off / 4 + P));
    const start = opts.start;
    this.theta.set(start ? start.params : initParams(plan, opts.seed));
    if (start) {
      if (start.slots.length !== this.slots.length) throw new StageError('train', `the optimizer state has ${start.slots.length} slots; ${cfg.optimizer} needs ${this.slots.length}`);
      this.slots.forEach((sl, i) => sl.set(start.slots[i]));
    }
    drops.forEach((l, d) => (this.f64[at.dropRate / 8 + d] = l.options?.rate ?? 0));
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
    writeStruct(buf, at.net, NET_FIELDS, {
      nLayers: nl, L: at.layers, D, C, N, P, X: at.X, labels: at.labels,
      theta: at.theta, grad: at.grad, m: at.m, v: at.v, wmean: at.wmean, wm2: at.wm2,
      loss: lossKind === 'hinge' ? 1 : 0, opt, decay,
      // float32 of each float64 scalar, as tfjs rounds scalar operands
      beta1: cfg.beta1, omb1: 1 - cfg.beta1, beta2: cfg.beta2, omb2: 1 - cfg.beta2, eps: cfg.epsilon, mom: cfg.momentum, l2: cfg.l2,
      batch: cfg.batchSize, perm: at.perm, nTrain, stepF: at.stepF, stepRng: at.stepRng, nDrop: drops.length, dropRate: at.dropRate,
      Xb: at.Xb, Yb: at.Yb, dA: at.dA, dB: at.dB, logits: at.logits, chunk, eA: at.eA, eB: at.eB, pack: at.pack, packStride,
      nThreads: T, minPar: MIN_PARALLEL_MACS,
    });
  }

  /** Starts the worker threads (returns when every one is running). */
  async startWorkers(): Promise<void> {
    for (let t = 1; t < this.threads; t++) {
      const w = new Worker(new URL('./worker.js', import.meta.url), {
        workerData: {module: trainModule(), memory: this.memory, net: this.at.net, thread: t, stackTop: this.at.stacks[t - 1] + STACK_BYTES},
      });
      this.workers.push(w);
      await new Promise<void>((resolve, reject) => {
        w.once('online', resolve);
        w.once('error', reject);
      });
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.terminate()));
  }

  private field(name: NetField): number {
    return (this.at.net + fieldOffset(NET_FIELDS, name)) / 4;
  }

  /** Logits of all rows and (with `capture`) every layer's activations (the output layer as softmax). */
  evaluateAll(capture: boolean): {logits: Float32Array; acts: Float32Array[]} {
    const {data, widths, chunk, at, f32} = this;
    const C = data.classes;
    const logits = new Float32Array(data.n * C);
    const acts = capture ? widths.map((w) => new Float32Array(data.n * w)) : [];
    for (let r0 = 0; r0 < data.n; r0 += chunk) {
      const len = Math.min(chunk, data.n - r0);
      this.ex.eval_rows(at.net, r0, len, capture ? 1 : 0);
      logits.set(f32.subarray(at.logits / 4, at.logits / 4 + len * C), r0 * C);
      acts.forEach((out, i) => out.set(f32.subarray(at.layer[i].E / 4, at.layer[i].E / 4 + len * widths[i]), r0 * widths[i]));
    }
    return {logits, acts};
  }

  /**
   * The per-step tables of `steps` steps from optimizer step `step` (0-based, over the run) at
   * learning rate `lr`: Adam's lr / bc1 and bc2, the decay factor, the dropout streams' states.
   */
  private stepTables(steps: number, step: number, lr: number): void {
    const {cfg, drops, at} = this;
    const wd = cfg.weightDecay ?? 0;
    const stepF = this.f32.subarray(at.stepF / 4, at.stepF / 4 + 4 * steps);
    for (let s = 0; s < steps; s++) {
      const t = step + s + 1;
      stepF[4 * s] = this.adam ? lr / (1 - Math.pow(cfg.beta1, t)) : lr;
      stepF[4 * s + 1] = this.adam ? 1 - Math.pow(cfg.beta2, t) : 0;
      stepF[4 * s + 2] = this.decay === DECAY.flat ? lr * wd : 1 - lr * wd;
      drops.forEach((l, d) => {
        if ((l.options?.rate ?? 0) > 0) this.u32.set(new Rng(this.opts.seed, `dropout/${l.name}/${step + s}`).getState().slice(0, 4), at.stepRng / 4 + 4 * (s * drops.length + d));
      });
    }
  }

  /**
   * One epoch: minibatches of `rows` (dataset row indices, in order), starting at optimizer step
   * `step`, at learning rate `lr`; with `gradStats`, the Welford moments of its minibatch gradients.
   */
  trainEpoch(rows: Int32Array, step: number, lr: number, gradStats: boolean): void {
    const {at, f64} = this;
    this.i32.set(rows, at.perm / 4);
    this.stepTables(this.stepsPerEpoch, step, lr);
    const P = this.plan.numParams;
    if (gradStats) {
      f64.fill(0, at.wmean / 8, at.wmean / 8 + P);
      f64.fill(0, at.wm2 / 8, at.wm2 / 8 + P);
      this.i32[this.field('gsCount')] = 0;
    }
    this.i32[this.field('gsOn')] = gradStats ? 1 : 0;
    this.ex.train_epoch(at.net, this.stepsPerEpoch);
    this.i32[this.field('gsOn')] = 0;
  }

  /** Per-layer gradient statistics of the last epoch trained with gradStats, at the epoch's starting weights `theta`. */
  gradStats(theta: Float32Array): LayerGradStats[] {
    const {at, f64} = this;
    const P = this.plan.numParams;
    return layerGradStats(this.plan, this.i32[this.field('gsCount')], f64.subarray(at.wmean / 8, at.wmean / 8 + P), f64.subarray(at.wm2 / 8, at.wm2 / 8 + P), theta);
  }

  /** The gradient the optimizer would see for the minibatch `rows` at optimizer step `step` (dropout streams): loss + L2. */
  gradient(rows: Int32Array, step: number): Float32Array {
    this.i32.set(rows, this.at.perm / 4);
    this.stepTables(1, step, 0);
    this.ex.gradient(this.at.net, rows.length);
    return this.f32.slice(this.at.grad / 4, this.at.grad / 4 + this.plan.numParams);
  }

  /** One optimizer update from gradient `g` as optimizer step `step` (0-based) at learning rate `lr`. */
  update(g: Float32Array, step: number, lr: number): void {
    this.f32.set(g, this.at.grad / 4);
    this.stepTables(1, step, lr);
    this.ex.update(this.at.net);
  }
}

async function trainFused(plan: ModelPlan, data: TrainData, cfg: TrainConfig, seed: number, snapshots: number[], hooks: TrainHooks, start?: TrainState): Promise<Float32Array> {
  const E = cfg.epochs;
  const lossKind = cfg.loss ?? 'crossentropy';
  const net = new FusedNet(plan, data, cfg, {seed, start, gradStats: cfg.gradientStats && snapshots.length > 0});
  try {
    await net.startWorkers();
    const snapSet = new Set(snapshots);
    const rng = new Rng(seed, 'shuffle');
    if (start) rng.setState(start.rng); // the minibatch order continues the run's stream
    const nTrain = data.trainIdx.length;
    let step = start?.step ?? 0;
    const rows = new Int32Array(nTrain);
    // the state a checkpoint keeps at a snapshot epoch (before that epoch's permutation is drawn)
    const state = (epoch: number, theta: Float32Array): Promise<TrainState> => Promise.resolve({epoch, step, params: theta, slots: net.slots.map((s) => s.slice()), rng: rng.getState()});
    for (let epoch = start?.epoch ?? 0; epoch <= E; epoch++) {
      // one WebAssembly call per epoch: beginEpoch gives signal handlers and progress a turn in between
      const {capture, theta: thetaNow} = await beginEpoch(epoch, {
        cfg, snapshots: snapSet, lossKind, data, hooks, state,
        readParams: () => net.theta.slice(),
        evaluateAll: (c) => net.evaluateAll(c),
      });
      if (epoch === E) return thetaNow!;
      const perm = rng.permutation(nTrain);
      for (let i = 0; i < nTrain; i++) rows[i] = data.trainIdx[perm[i]];
      const gradStats = capture && cfg.gradientStats;
      net.trainEpoch(rows, step, learningRate(cfg, epoch), gradStats);
      step += net.stepsPerEpoch;
      if (gradStats) hooks.onGradStats(epoch, net.gradStats(thetaNow!));
    }
    throw new Error('unreachable');
  } finally {
    await net.close();
  }
}
