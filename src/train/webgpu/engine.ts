/// <reference types="@webgpu/types" />
import type {TrainConfig} from '../../config/schema.js';
import {StageError} from '../../util/errors.js';
import {Rng} from '../../util/prng.js';
import {layerGradStats} from '../grad-stats.js';
import {learningRate} from '../lr.js';
import type {TrainData} from '../../data/types.js';
import {beginEpoch} from '../evaluate.js';
import type {TrainHooks} from '../engine.js';
import type {TrainState} from '../state.js';
import {dropoutMask} from '../../model/layers.js';
import {initParams, type ModelPlan} from '../../model/plan.js';
import {buildNet, partFloats, type NetProgram, type Op} from './net.js';
import {elementwiseKernel, STEP_STRIDE, type Kernel} from './wgsl.js';

/** Dispatch and submit counts of a run (for benchmarks: the figure that matters on a GPU). */
export interface EngineCounters {
  steps: number;
  dispatches: number;
  submits: number;
  readbacks: number;
}

/** Float budget of one evaluation chunk's activations (as in the tfjs loop). */
const EVAL_FLOATS = 64 * 1024 * 1024;
/** Most steps recorded into one submit, and most dropout-mask floats uploaded for one submit. */
const MAX_CHUNK_STEPS = 1024;
const MASK_FLOATS = 16 * 1024 * 1024;

const lit = (x: number) => {
  const s = String(x);
  return /[.eE]/.test(s) ? s : `${s}.0`;
};

interface Compiled {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

interface BoundOp {
  label: string;
  pipeline: GPUComputePipeline;
  group: GPUBindGroup;
  workgroups: [number, number, number];
}

/**
 * tdlab's WebGPU training engine: the whole minibatch step (forward with fused bias and
 * activation, the loss gradient, explicit backprop for dense, conv2d, max-pool, dropout and
 * flatten layers, and one optimizer program over the flat parameter buffer) as our own WGSL
 * programs. Pipelines and bind groups are created once; the per-step values live in one uniform
 * buffer read at a dynamic offset, so an epoch is recorded into one compute pass and one submit
 * (more only when dropout masks for all its steps would not fit the mask budget). Evaluation and
 * snapshot capture read every layer back in one copy per chunk of rows.
 *
 * Same contract and numerics as `trainModel` (src/train/loop.ts): the same initial parameters,
 * minibatch order, dropout masks (drawn in JS from the same streams), learning-rate schedule and
 * optimizer formulas; sums run in another order, so values agree to float32 rounding, not bit for
 * bit. Gradient statistics use Welford moments in float32 on the device.
 */
export class WebGPUEngine {
  readonly counters: EngineCounters = {steps: 0, dispatches: 0, submits: 0, readbacks: 0};
  private readonly pipelines = new Map<string, Compiled>();
  private readonly buffers = new Map<string, GPUBuffer>();
  private stepLayout!: GPUBindGroupLayout;
  private stepBuffer!: GPUBuffer;
  private stepGroup!: GPUBindGroup;
  private stepCapacity = 0;

  constructor(private readonly device: GPUDevice) {}

  private buffer(name: string, floats: number, usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC): GPUBuffer {
    let b = this.buffers.get(name);
    if (!b) {
      b = this.device.createBuffer({label: name, size: Math.max(16, Math.ceil((floats * 4) / 16) * 16), usage});
      this.buffers.set(name, b);
    }
    return b;
  }

  private compile(k: Kernel): Compiled {
    let c = this.pipelines.get(k.code);
    if (!c) {
      const layout = this.device.createBindGroupLayout({
        entries: k.bindings.map((b, i) => ({binding: i, visibility: GPUShaderStage.COMPUTE, buffer: {type: b.write ? 'storage' : 'read-only-storage'}})),
      });
      const module = this.device.createShaderModule({label: k.label, code: k.code});
      const pipeline = this.device.createComputePipeline({
        label: k.label,
        layout: this.device.createPipelineLayout({bindGroupLayouts: [layout, this.stepLayout]}),
        compute: {module, entryPoint: 'main'},
      });
      c = {pipeline, layout};
      this.pipelines.set(k.code, c);
    }
    return c;
  }

  private bind(ops: Op[], prefix: string): BoundOp[] {
    return ops.map((op) => {
      const c = this.compile(op.kernel);
      const group = this.device.createBindGroup({
        layout: c.layout,
        entries: op.buffers.map((n, i) => ({binding: i, resource: {buffer: this.buffers.get(SHARED_NAMES.has(n) ? n : prefix + n)!}})),
      });
      return {label: op.kernel.label, pipeline: c.pipeline, group, workgroups: op.kernel.workgroups};
    });
  }

  private allocNet(net: NetProgram, prefix: string): void {
    for (const b of net.buffers) this.buffer(prefix + b.name, b.size);
    for (const m of net.masks) this.buffer(prefix + m.name, m.perStep * this.maskSlots(net));
  }

  private maskSlots(net: NetProgram): number {
    const per = net.masks.reduce((a, m) => a + m.perStep, 0);
    return per === 0 ? MAX_CHUNK_STEPS : Math.max(1, Math.min(MAX_CHUNK_STEPS, Math.floor(MASK_FLOATS / per)));
  }

  private ensureSteps(n: number): void {
    if (n <= this.stepCapacity) return;
    this.stepBuffer?.destroy();
    this.stepCapacity = Math.max(n, 64);
    this.stepBuffer = this.device.createBuffer({label: 'steps', size: this.stepCapacity * STEP_STRIDE, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST});
    this.stepGroup = this.device.createBindGroup({layout: this.stepLayout, entries: [{binding: 0, resource: {buffer: this.stepBuffer, size: 32}}]});
  }

  private record(pass: GPUComputePassEncoder, ops: BoundOp[], step: number): void {
    for (const op of ops) {
      pass.setPipeline(op.pipeline);
      pass.setBindGroup(0, op.group);
      pass.setBindGroup(1, this.stepGroup, [step * STEP_STRIDE]);
      pass.dispatchWorkgroups(...op.workgroups);
      this.counters.dispatches++;
    }
  }

  private submit(enc: GPUCommandEncoder): void {
    this.device.queue.submit([enc.finish()]);
    this.counters.submits++;
  }

  private async read(src: {buffer: GPUBuffer; offset: number; floats: number}[]): Promise<Float32Array[]> {
    const total = src.reduce((a, s) => a + s.floats, 0);
    const staging = this.device.createBuffer({size: Math.max(16, total * 4), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST});
    const enc = this.device.createCommandEncoder();
    let at = 0;
    for (const s of src) {
      if (s.floats) enc.copyBufferToBuffer(s.buffer, s.offset * 4, staging, at * 4, s.floats * 4);
      at += s.floats;
    }
    this.submit(enc);
    await staging.mapAsync(GPUMapMode.READ);
    this.counters.readbacks++;
    const all = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    const out: Float32Array[] = [];
    at = 0;
    for (const s of src) {
      out.push(all.subarray(at, at + s.floats));
      at += s.floats;
    }
    return out;
  }

  /**
   * Trains `plan` exactly as `trainModel` does (same hooks, same schedule of evaluations and
   * snapshots, the same training state at snapshot epochs); returns the final parameters. With
   * `start` it continues from that state: parameters, optimizer slots and step, minibatch order.
   */
  async train(plan: ModelPlan, data: TrainData, cfg: TrainConfig, seed: number, snapshots: number[], hooks: TrainHooks, start?: TrainState): Promise<Float32Array> {
    const dev = this.device;
    const E = cfg.epochs;
    const lossKind = cfg.loss ?? 'crossentropy';
    if (lossKind === 'hinge' && data.classes !== 2) throw new StageError('train', `train.loss hinge needs 2 classes, the dataset has ${data.classes}; use crossentropy`);
    const maxBinding = dev.limits.maxStorageBufferBindingSize;
    if (data.x.byteLength > maxBinding) throw new StageError('train', `the dataset (${(data.x.byteLength / 2 ** 20).toFixed(0)} MiB) is larger than one WebGPU storage binding on this adapter (${(maxBinding / 2 ** 20).toFixed(0)} MiB); use data.options.limit or --backend wasm`);
    const snapSet = new Set(snapshots);
    const nTrain = data.trainIdx.length;
    const B = Math.min(cfg.batchSize, Math.max(1, nTrain));
    const rowSize = data.inputShape.reduce((a, b) => a * b, 1);
    const floatsPerRow = plan.layers.reduce((a, l) => a + l.width, rowSize);
    const evalRows = Math.max(1, Math.min(data.n, Math.floor(EVAL_FLOATS / floatsPerRow)));
    const P = plan.numParams;
    const C = data.classes;

    this.stepLayout = dev.createBindGroupLayout({entries: [{binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: {type: 'uniform', hasDynamicOffset: true}}]});
    const trainNet = buildNet(plan, 'train', B, {lossKind});
    const evalNet = buildNet(plan, 'eval', evalRows, {lossKind});
    // shared buffers
    const X = this.buffer('X', data.x.length);
    dev.queue.writeBuffer(X, 0, data.x as Float32Array<ArrayBuffer>);
    const Y = this.buffer('Y', data.n);
    dev.queue.writeBuffer(Y, 0, data.labels as Int32Array<ArrayBuffer>);
    this.buffer('rows', Math.max(nTrain, 1));
    const identity = this.buffer('evalrows', data.n);
    dev.queue.writeBuffer(identity, 0, Uint32Array.from({length: data.n}, (_, i) => i));
    const theta = this.buffer('theta', P);
    dev.queue.writeBuffer(theta, 0, (start ? start.params : initParams(plan, seed)) as Float32Array<ArrayBuffer>);
    this.buffer('grad', P);
    this.buffer('part', Math.max(1, partFloats(plan, B)));
    this.allocNet(trainNet, 't.');
    this.allocNet(evalNet, 'e.');
    this.ensureSteps(MAX_CHUNK_STEPS);

    // optimizer state and per-parameter coefficients: (coupled L2 on hidden weights, decoupled decay on all weights)
    const coef = new Float32Array(2 * P);
    for (const layer of plan.layers) {
      for (const p of layer.params) {
        if (p.role !== 'weight') continue;
        for (let i = p.offset; i < p.offset + p.size; i++) {
          coef[2 * i] = layer.kind === 'hidden' ? cfg.l2 : 0;
          coef[2 * i + 1] = 1;
        }
      }
    }
    dev.queue.writeBuffer(this.buffer('coef', 2 * P), 0, coef);
    const adam = cfg.optimizer === 'adam' || cfg.optimizer === 'adamw';
    const wd = cfg.weightDecay ?? 0;
    const m1 = this.buffer('m1', adam || cfg.momentum > 0 ? P : 1);
    const m2 = this.buffer('m2', adam ? P : 1);
    const zero = new Float32Array(P);
    // optimizer slots in TrainState order: Adam [m, v] (m1, m2); SGD with momentum [velocity] (m1); zero without a start
    const slotBuffers = adam ? [m1, m2] : cfg.momentum > 0 ? [m1] : [];
    if (start && start.slots.length !== slotBuffers.length) throw new StageError('train', `the checkpoint holds ${start.slots.length} optimizer slots, ${cfg.optimizer} needs ${slotBuffers.length}`);
    dev.queue.writeBuffer(m1, 0, start && slotBuffers.length > 0 ? (start.slots[0] as Float32Array<ArrayBuffer>) : new Float32Array(m1.size / 4));
    dev.queue.writeBuffer(m2, 0, start && adam ? (start.slots[1] as Float32Array<ArrayBuffer>) : new Float32Array(m2.size / 4));
    const optimizer = this.optimizerOp(cfg, P, adam, wd);
    const wStats = cfg.gradientStats ? this.welfordOp(P) : null;
    if (wStats) {
      this.buffer('wmean', P);
      this.buffer('wm2', P);
    }

    // the evaluation net reads rows through the identity map; bind its ops with that buffer as 'rows'
    dev.pushErrorScope('validation');
    const evalOps = this.bindWithRows(evalNet.forward, 'e.', 'evalrows');
    const trainOps = [...this.bind(trainNet.forward, 't.'), ...this.bind(trainNet.backward, 't.')];
    const optOps = this.bind([optimizer], '');
    const welfordOps = wStats ? this.bind([wStats], '') : [];
    const invalid = await dev.popErrorScope();
    if (invalid) throw new Error(`WebGPU engine: a kernel did not compile: ${invalid.message}`);

    const rng = new Rng(seed, 'shuffle');
    let step = start?.step ?? 0;
    if (start) rng.setState(start.rng);
    const state = async (epoch: number, params: Float32Array): Promise<TrainState> => {
      const slotValues = slotBuffers.length ? await this.read(slotBuffers.map((buffer) => ({buffer, offset: 0, floats: P}))) : [];
      return {epoch, step, params, slots: slotValues.map((v) => Float32Array.from(v)), rng: rng.getState()};
    };
    const readTheta = async () => new Float32Array((await this.read([{buffer: theta, offset: 0, floats: P}]))[0]);

    const evaluateAll = async (capture: boolean): Promise<{logits: Float32Array; acts: Float32Array[]}> => {
      const logits = new Float32Array(data.n * C);
      const acts = capture ? plan.layers.map((l) => new Float32Array(data.n * l.width)) : [];
      const last = plan.layers.length - 1;
      for (let r0 = 0; r0 < data.n; r0 += evalRows) {
        const len = Math.min(evalRows, data.n - r0);
        this.writeSteps([{row0: r0, len}]);
        const enc = dev.createCommandEncoder();
        const pass = enc.beginComputePass();
        this.record(pass, evalOps, 0);
        pass.end();
        this.submit(enc);
        const srcs = [{buffer: this.buffers.get('e.' + evalNet.output[last])!, offset: 0, floats: len * C}];
        if (capture) {
          plan.layers.forEach((l, i) => {
            if (i === last) return;
            const name = evalNet.output[i];
            srcs.push(name === 'X' ? {buffer: X, offset: r0 * rowSize, floats: len * l.width} : {buffer: this.buffers.get('e.' + name)!, offset: 0, floats: len * l.width});
          });
        }
        const got = await this.read(srcs);
        logits.set(got[0], r0 * C);
        if (capture) {
          let k = 1;
          plan.layers.forEach((l, i) => {
            if (i === last) {
              acts[i].set(softmaxRows(got[0], C), r0 * C);
              return;
            }
            acts[i].set(got[k++], r0 * l.width);
          });
        }
      }
      return {logits, acts};
    };

    try {
      for (let epoch = start?.epoch ?? 0; epoch <= E; epoch++) {
        const {capture, theta: thetaNow} = await beginEpoch(epoch, {cfg, snapshots: snapSet, lossKind, data, hooks, readParams: readTheta, evaluateAll, state});
        if (epoch === E) return thetaNow!;

        const lr = learningRate(cfg, epoch);
        const stats = capture && wStats !== null;
        if (stats) {
          dev.queue.writeBuffer(this.buffers.get('wmean')!, 0, zero);
          dev.queue.writeBuffer(this.buffers.get('wm2')!, 0, zero);
        }
        const perm = rng.permutation(nTrain);
        const rows = new Uint32Array(nTrain);
        for (let i = 0; i < nTrain; i++) rows[i] = data.trainIdx[perm[i]];
        dev.queue.writeBuffer(this.buffers.get('rows')!, 0, rows);
        const chunk = this.maskSlots(trainNet);
        const nSteps = Math.ceil(nTrain / B);
        for (let s0 = 0; s0 < nSteps; s0 += chunk) {
          const steps = [];
          for (let s = s0; s < Math.min(nSteps, s0 + chunk); s++) {
            const len = Math.min(B, nTrain - s * B);
            const at = step++;
            this.writeMasks(trainNet, seed, at, s - s0, len);
            const t = at + 1;
            steps.push({
              row0: s * B, len, mask: s - s0, count: s + 1, lr,
              lrbc1: adam ? lr / (1 - Math.pow(cfg.beta1, t)) : 0,
              bc2: adam ? 1 - Math.pow(cfg.beta2, t) : 0,
              lrwd: lr * wd,
            });
          }
          this.writeSteps(steps);
          if (process.env.TDLAB_WEBGPU_PROFILE && epoch === 0 && s0 === 0) await this.profileOps([...trainOps, ...optOps]);
          const enc = dev.createCommandEncoder();
          const pass = enc.beginComputePass();
          steps.forEach((_, i) => {
            this.record(pass, trainOps, i);
            if (stats) this.record(pass, welfordOps, i);
            this.record(pass, optOps, i);
            this.counters.steps++;
          });
          pass.end();
          this.submit(enc);
        }
        if (stats) {
          const [mean, sq] = await this.read([
            {buffer: this.buffers.get('wmean')!, offset: 0, floats: P},
            {buffer: this.buffers.get('wm2')!, offset: 0, floats: P},
          ]);
          hooks.onGradStats(epoch, layerGradStats(plan, nSteps, mean, sq, thetaNow!));
        }
      }
      throw new Error('unreachable');
    } finally {
      this.dispose();
    }
  }

  /** TDLAB_WEBGPU_PROFILE=1: each kernel of the first step alone (submit, wait), median of 3, on stderr as one JSON line. */
  private async profileOps(ops: BoundOp[]): Promise<void> {
    const ms = new Map<string, number[]>();
    for (let rep = 0; rep < 3; rep++) {
      for (const op of ops) {
        const t0 = performance.now();
        const enc = this.device.createCommandEncoder();
        const pass = enc.beginComputePass();
        this.record(pass, [op], 0);
        pass.end();
        this.submit(enc);
        await this.device.queue.onSubmittedWorkDone();
        ms.set(op.label, [...(ms.get(op.label) ?? []), performance.now() - t0]);
      }
    }
    const med = (v: number[]) => [...v].sort((a, b) => a - b)[1];
    process.stderr.write(JSON.stringify({webgpuKernelsMs: Object.fromEntries([...ms].map(([k, v]) => [k, Number(med(v).toFixed(3))]))}) + '\n');
  }

  private bindWithRows(ops: Op[], prefix: string, rowsName: string): BoundOp[] {
    return this.bind(ops.map((op) => ({kernel: op.kernel, buffers: op.buffers.map((n) => (n === 'rows' ? rowsName : n))})), prefix);
  }

  private writeSteps(steps: {row0: number; len: number; mask?: number; count?: number; lr?: number; lrbc1?: number; bc2?: number; lrwd?: number}[]): void {
    this.ensureSteps(steps.length);
    const buf = new ArrayBuffer(steps.length * STEP_STRIDE);
    steps.forEach((s, i) => {
      const u32 = new Uint32Array(buf, i * STEP_STRIDE, 4);
      const f32 = new Float32Array(buf, i * STEP_STRIDE + 16, 4);
      u32.set([s.row0, s.len, s.mask ?? 0, s.count ?? 0]);
      f32.set([s.lr ?? 0, s.lrbc1 ?? 0, s.bc2 ?? 0, s.lrwd ?? 0]);
    });
    this.device.queue.writeBuffer(this.stepBuffer, 0, buf);
  }

  /** The dropout masks of optimizer step `at` (same streams and draws as the tfjs path's dropout layer) into mask slot `slot`. */
  private writeMasks(net: NetProgram, seed: number, at: number, slot: number, len: number): void {
    for (const m of net.masks) {
      const mask = dropoutMask(seed, m.layer.name, at, m.layer.options?.rate ?? 0, len * m.layer.width);
      this.device.queue.writeBuffer(this.buffers.get('t.' + m.name)!, slot * m.perStep * 4, mask);
    }
  }

  /** One program for every parameter: coupled L2, decoupled decay, then Adam / SGD with momentum / SGD (src/train/optimizer.ts's formulas). */
  private optimizerOp(cfg: TrainConfig, P: number, adam: boolean, wd: number): Op {
    const decay = wd > 0 ? 'if (coef[2u * i + 1u] > 0.0) { p = p - (p * coef[2u * i + 1u]) * st.lrwd; }' : '';
    let update: string;
    if (adam) {
      update = `let m = m1[i] * ${lit(cfg.beta1)} + g * ${lit(1 - cfg.beta1)};
  let v = m2[i] * ${lit(cfg.beta2)} + (g * g) * ${lit(1 - cfg.beta2)};
  m1[i] = m;
  m2[i] = v;
  let denom = sqrt(v / st.bc2) + ${lit(cfg.epsilon)};
  theta[i] = p - (m / denom) * st.lrbc1;`;
    } else if (cfg.momentum > 0) {
      update = `let vel = m1[i] * ${lit(cfg.momentum)} + g;
  m1[i] = vel;
  theta[i] = p - vel * st.lr;`;
    } else {
      update = 'theta[i] = p - g * st.lr;';
    }
    const kernel = elementwiseKernel('optimizer update', [
      {name: 'theta', type: 'f32', write: true},
      {name: 'grad', type: 'f32', write: false},
      {name: 'coef', type: 'f32', write: false},
      {name: 'm1', type: 'f32', write: true},
      {name: 'm2', type: 'f32', write: true},
    ], `${P}u`, P, `var p = theta[i];
  let g = grad[i] + coef[2u * i] * p;
  ${decay}
  ${update}`);
    return {kernel, buffers: ['theta', 'grad', 'coef', 'm1', 'm2']};
  }

  /** Welford update of the per-parameter mean and squared deviations of the minibatch gradients. */
  private welfordOp(P: number): Op {
    const kernel = elementwiseKernel('gradient moments', [
      {name: 'grad', type: 'f32', write: false},
      {name: 'wmean', type: 'f32', write: true},
      {name: 'wm2', type: 'f32', write: true},
    ], `${P}u`, P, `let g = grad[i];
  let mean = wmean[i];
  let delta = g - mean;
  let next = mean + delta / f32(st.count);
  wmean[i] = next;
  wm2[i] = wm2[i] + delta * (g - next);`);
    return {kernel, buffers: ['grad', 'wmean', 'wm2']};
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.destroy();
    this.buffers.clear();
    this.stepBuffer?.destroy();
    this.stepCapacity = 0;
  }
}

/** Buffers every program binds by their own name (inputs, labels, row order, parameters, gradients, split-K scratch, optimizer and gradient-statistics state); the rest are per layer. */
const SHARED_NAMES = new Set(['X', 'Y', 'rows', 'evalrows', 'theta', 'grad', 'part', 'coef', 'm1', 'm2', 'wmean', 'wm2']);

/** Row-wise softmax in float64 (the output layer's snapshot activations). */
function softmaxRows(z: Float32Array, C: number): Float32Array {
  const out = new Float32Array(z.length);
  for (let r = 0; r < z.length / C; r++) {
    let mx = -Infinity;
    for (let c = 0; c < C; c++) mx = Math.max(mx, z[r * C + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(z[r * C + c] - mx);
    for (let c = 0; c < C; c++) out[r * C + c] = Math.exp(z[r * C + c] - mx) / s;
  }
  return out;
}
