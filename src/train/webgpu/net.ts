/// <reference types="@webgpu/types" />
import {convGeometry} from '../../model/layers.js';
import type {ModelPlan, PlannedLayer} from '../../model/plan.js';
import {elementwiseKernel, matmulKernel, reduceSplitsKernel, tileFor, wgslActivation, type Binding, type Kernel, type WgslActivation} from './wgsl.js';

/**
 * The kernels of one network for a fixed number of rows per step, as data: which kernel runs
 * with which buffers, in order. `train` nets have the backward pass and dropout; `eval` nets
 * only the forward pass (dropout is the identity there). Layer l's buffers: H (output), D (d act /
 * dz, for non-linear activations), G (d loss / dz, train nets), IDX (max-pool argmax).
 * Parameter-free layers that change nothing (flatten, dropout at evaluation, with a linear
 * activation) are aliases: they share their input's buffers and cost no dispatch.
 */

export interface Op {
  kernel: Kernel;
  /** Buffer names, in the kernel's binding order (resolved by the engine). */
  buffers: string[];
}

export interface BufferSpec {
  name: string;
  /** Elements (4 bytes each). */
  size: number;
}

export interface NetProgram {
  rows: number;
  forward: Op[];
  /** The loss gradient and the backward pass (train nets). */
  backward: Op[];
  /** Buffers this net owns (besides the shared ones: X, Y, theta, grad, ...). */
  buffers: BufferSpec[];
  /** Per plan layer: the buffer holding its output (H), after alias resolution. */
  output: string[];
  /** Dropout layers' mask buffers: name, floats per step. */
  masks: {layer: PlannedLayer; name: string; perStep: number}[];
}

interface Geo {
  layer: PlannedLayer;
  kind: string;
  inShape: number[];
  inWidth: number;
  width: number;
  act: WgslActivation | null;
  alias: boolean;
  /** Index of the layer whose output is this layer's input (-1: the data rows). */
  src: number;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);
const u = (n: number) => `${Math.trunc(n)}u`;
const F = (name: string): Binding => ({name, type: 'f32', write: false});
const W = (name: string): Binding => ({name, type: 'f32', write: true});


/** The split-K factor for a product whose K is long against its few output tiles (weight gradients over many rows and positions). */
function splitsFor(M: number, N: number, maxK: number): number {
  const t = tileFor(M, N);
  const tiles = Math.ceil(M / t.TM) * Math.ceil(N / t.TN);
  if (tiles >= 64) return 1;
  return Math.max(1, Math.min(256, Math.floor(maxK / 256), Math.ceil(256 / tiles)));
}

export function geometry(plan: ModelPlan, mode: 'train' | 'eval'): Geo[] {
  const out: Geo[] = [];
  let shape = plan.inputShape;
  let src = -1;
  for (const layer of plan.layers) {
    const act = layer.kind === 'output' || layer.activation === 'linear' ? null : wgslActivation(layer.activation);
    const kind = layer.kind === 'output' ? 'dense' : layer.type;
    const rate = layer.options?.rate ?? 0;
    const identity = kind === 'flatten' || (kind === 'dropout' && (mode === 'eval' || rate === 0));
    const g: Geo = {layer, kind, inShape: shape, inWidth: prod(shape), width: layer.width, act, alias: identity && act === null, src};
    out.push(g);
    if (!g.alias) src = out.length - 1;
    shape = layer.outputShape;
  }
  return out;
}

/** Largest number of floats a single split-K scratch needs (for the shared `part` buffer). */
export function partFloats(plan: ModelPlan, rows: number): number {
  let most = 0;
  for (const g of geometry(plan, 'train')) {
    if (!g.layer.params.length) continue;
    const d = dimsOf(g, rows);
    const s = splitsFor(d.M, d.N, d.maxK);
    if (s > 1) most = Math.max(most, s * d.M * d.N);
  }
  return most;
}

function dimsOf(g: Geo, rows: number): {M: number; N: number; maxK: number} {
  if (g.kind === 'conv2d') {
    const c = convGeometry({type: 'conv2d', ...g.layer.options}, g.inShape);
    const P = c.h.out * c.w.out;
    return {M: c.k * c.k * c.C + 1, N: g.layer.options!.filters!, maxK: rows * P};
  }
  return {M: g.inWidth + 1, N: g.width, maxK: rows};
}

export function buildNet(plan: ModelPlan, mode: 'train' | 'eval', rows: number, opts: {lossKind: string}): NetProgram {
  const geo = geometry(plan, mode);
  const train = mode === 'train';
  const buffers: BufferSpec[] = [];
  const forward: Op[] = [];
  const backward: Op[] = [];
  const masks: NetProgram['masks'] = [];
  const name = (l: number, what: string) => `${what}${l}`;
  const output: string[] = [];

  // buffers
  geo.forEach((g, l) => {
    if (g.alias) {
      output.push(g.src < 0 ? 'X' : output[g.src]);
      return;
    }
    const n = rows * g.width;
    buffers.push({name: name(l, 'H'), size: n});
    if (g.act) buffers.push({name: name(l, 'D'), size: n});
    if (train) buffers.push({name: name(l, 'G'), size: n});
    if (g.kind === 'maxpool2d') buffers.push({name: name(l, 'IDX'), size: n});
    if (g.kind === 'dropout' && train) {
      masks.push({layer: g.layer, name: name(l, 'MASK'), perStep: n});
    }
    output.push(name(l, 'H'));
  });
  if (output[output.length - 1] === 'X') throw new Error('the network has no layer with parameters');

  /** WGSL of layer g's input element j of step row b, and the bindings it needs. */
  const input = (g: Geo): {bind: Binding[]; names: string[]; at: (b: string, j: string) => string} => {
    if (g.src < 0) {
      const rs = prod(plan.inputShape);
      return {bind: [F('X'), {name: 'rows', type: 'u32', write: false}], names: ['X', 'rows'], at: (b, j) => `X[rows[st.row0 + ${b}] * ${u(rs)} + ${j}]`};
    }
    return {bind: [F('Hin')], names: [name(g.src, 'H')], at: (b, j) => `Hin[${b} * ${u(g.inWidth)} + ${j}]`};
  };
  /** Store of d loss / d h_src times the source's activation derivative (backward into the source). */
  const intoSource = (g: Geo): {bind: Binding[]; names: string[]; put: (i: string, v: string) => string} => {
    const s = geo[g.src];
    if (s.act) return {bind: [W('Gsrc'), F('Dsrc')], names: [name(g.src, 'G'), name(g.src, 'D')], put: (i, v) => `Gsrc[${i}] = ${v} * Dsrc[${i}];`};
    return {bind: [W('Gsrc')], names: [name(g.src, 'G')], put: (i, v) => `Gsrc[${i}] = ${v};`};
  };
  /** Epilogue storing h = act(z) and, in train nets, act'(z). */
  const activate = (g: Geo, l: number, i: string): {bind: Binding[]; names: string[]; code: string} => {
    if (!g.act) return {bind: [W('H')], names: [name(l, 'H')], code: `H[${i}] = z;`};
    if (!train) return {bind: [W('H')], names: [name(l, 'H')], code: `let h = ${g.act.f}; H[${i}] = h;`};
    return {bind: [W('H'), W('D')], names: [name(l, 'H'), name(l, 'D')], code: `let h = ${g.act.f}; H[${i}] = h; D[${i}] = ${g.act.df};`};
  };

  /** d loss / d input of a layer with weights, as a product G (rows x N_out) W^T, stored into its source (times the source's act'). */
  const inputGrad = (g: Geo, l: number, tag: string, mm: {M: string; N: number; K: string; maxM: number; maxK: number; loadA: string; loadB: string}): Op => {
    const into = intoSource(g);
    return {
      kernel: matmulKernel({label: `${tag} dX`, bindings: [F('G'), F('theta'), ...into.bind], ...mm, splits: 1, store: into.put(`m * ${u(mm.N)} + n`, 'acc')}),
      buffers: [name(l, 'G'), 'theta', ...into.names],
    };
  };

  geo.forEach((g, l) => {
    if (g.alias) return;
    const lay = g.layer;
    const inp = input(g);
    const tag = `${lay.name}:${g.kind}`;
    if (g.kind === 'dense') {
      const [Wp, bp] = lay.params;
      const FI = g.inWidth;
      const N = g.width;
      const act = activate(g, l, `m * ${u(N)} + n`);
      forward.push({
        kernel: matmulKernel({
          label: `${tag} forward`, bindings: [...inp.bind, F('theta'), ...act.bind],
          M: 'st.len', N, K: u(FI), maxM: rows, maxK: FI, splits: 1,
          loadA: `return ${inp.at('m', 'k')};`,
          loadB: `return theta[${u(Wp.offset)} + k * ${u(N)} + n];`,
          store: `let z = acc + theta[${u(bp.offset)} + n]; ${act.code}`,
        }),
        buffers: [...inp.names, 'theta', ...act.names],
      });
      if (!train) return;
      const ops = weightGrad(`${tag} dW`, inp, name(l, 'G'), FI + 1, N, 'st.len', rows, splitsFor(FI + 1, N, rows), Wp.offset,
        `if (m == ${u(FI)}) { return 1.0; } return ${inp.at('k', 'm')};`,
        `return G[k * ${u(N)} + n];`);
      if (g.src >= 0) {
        ops.push(inputGrad(g, l, tag, {
          M: 'st.len', N: FI, K: u(N), maxM: rows, maxK: N,
          loadA: `return G[m * ${u(N)} + k];`,
          loadB: `return theta[${u(Wp.offset)} + n * ${u(N)} + k];`,
        }));
      }
      backward.unshift(...ops);
      return;
    }
    if (g.kind === 'conv2d') {
      const [Wp, bp] = lay.params;
      const c = convGeometry({type: 'conv2d', ...lay.options}, g.inShape);
      const {H: IH, W: IW, C, k: KS, s: S} = c;
      const OH = c.h.out;
      const OW = c.w.out;
      const P = OH * OW;
      const NF = lay.options!.filters!;
      const KKC = KS * KS * C;
      const act = activate(g, l, `m * ${u(NF)} + n`);
      const patch = (m: string, kk: string) => `let b = ${m} / ${u(P)}; let p = ${m} % ${u(P)}; let oy = p / ${u(OW)}; let ox = p % ${u(OW)};
  let ij = ${kk} / ${u(C)}; let c = ${kk} % ${u(C)}; let i = ij / ${u(KS)}; let j = ij % ${u(KS)};
  let y = i32(oy * ${u(S)} + i) - ${c.h.padLo}; let x = i32(ox * ${u(S)} + j) - ${c.w.padLo};
  if (y < 0 || y >= ${IH} || x < 0 || x >= ${IW}) { return 0.0; }
  return ${inp.at('b', `(u32(y) * ${u(IW)} + u32(x)) * ${u(C)} + c`)};`;
      forward.push({
        kernel: matmulKernel({
          label: `${tag} forward`, bindings: [...inp.bind, F('theta'), ...act.bind],
          M: `st.len * ${u(P)}`, N: NF, K: u(KKC), maxM: rows * P, maxK: KKC, splits: 1,
          loadA: patch('m', 'k'),
          loadB: `return theta[${u(Wp.offset)} + k * ${u(NF)} + n];`,
          store: `let z = acc + theta[${u(bp.offset)} + n]; ${act.code}`,
        }),
        buffers: [...inp.names, 'theta', ...act.names],
      });
      if (!train) return;
      const splits = splitsFor(KKC + 1, NF, rows * P);
      const ops = weightGrad(`${tag} dW`, inp, name(l, 'G'), KKC + 1, NF, `st.len * ${u(P)}`, rows * P, splits, Wp.offset,
        `if (m == ${u(KKC)}) { return 1.0; } ${patch('k', 'm')}`,
        `return G[k * ${u(NF)} + n];`);
      if (g.src >= 0) {
        ops.push(inputGrad(g, l, tag, {
          M: `st.len * ${u(IH * IW)}`, N: C, K: u(KS * KS * NF), maxM: rows * IH * IW, maxK: KS * KS * NF,
          loadA: `let b = m / ${u(IH * IW)}; let r = m % ${u(IH * IW)}; let y = r / ${u(IW)}; let x = r % ${u(IW)};
  let ij = k / ${u(NF)}; let f = k % ${u(NF)}; let i = ij / ${u(KS)}; let j = ij % ${u(KS)};
  let ty = i32(y) + ${c.h.padLo} - i32(i); let tx = i32(x) + ${c.w.padLo} - i32(j);
  if (ty < 0 || tx < 0 || ty % ${S} != 0 || tx % ${S} != 0) { return 0.0; }
  let oy = u32(ty / ${S}); let ox = u32(tx / ${S});
  if (oy >= ${u(OH)} || ox >= ${u(OW)}) { return 0.0; }
  return G[((b * ${u(OH)} + oy) * ${u(OW)} + ox) * ${u(NF)} + f];`,
          loadB: `let ij = k / ${u(NF)}; let f = k % ${u(NF)}; return theta[${u(Wp.offset)} + (ij * ${u(C)} + n) * ${u(NF)} + f];`,
        }));
      }
      backward.unshift(...ops);
      return;
    }
    if (g.kind === 'maxpool2d') {
      const p = lay.options?.size ?? 2;
      const [IH, IW, C] = g.inShape;
      const [OH, OW] = lay.outputShape;
      const per = OH * OW * C;
      const a1 = activate(g, l, 'i');
      forward.push({
        kernel: elementwiseKernel(`${tag} forward`, [...inp.bind, ...a1.bind, {name: 'IDX', type: 'u32', write: true}], `st.len * ${u(per)}`, rows * per,
          `let b = i / ${u(per)}; let r = i % ${u(per)}; let oy = r / ${u(OW * C)}; let ox = (r / ${u(C)}) % ${u(OW)}; let c = r % ${u(C)};
  var z = ${inp.at('b', `((oy * ${u(p)}) * ${u(IW)} + ox * ${u(p)}) * ${u(C)} + c`)};
  var arg = 0u;
  for (var a = 0u; a < ${u(p)}; a++) {
    for (var e = 0u; e < ${u(p)}; e++) {
      let v = ${inp.at('b', `((oy * ${u(p)} + a) * ${u(IW)} + ox * ${u(p)} + e) * ${u(C)} + c`)};
      if (v > z) { z = v; arg = a * ${u(p)} + e; }
    }
  }
  IDX[i] = arg;
  ${a1.code}`),
        buffers: [...inp.names, ...a1.names, name(l, 'IDX')],
      });
      if (!train || g.src < 0) return;
      const into = intoSource(g);
      const inPer = IH * IW * C;
      backward.unshift({
        kernel: elementwiseKernel(`${tag} dX`, [F('G'), {name: 'IDX', type: 'u32', write: false}, ...into.bind], `st.len * ${u(inPer)}`, rows * inPer,
          `let b = i / ${u(inPer)}; let r = i % ${u(inPer)}; let y = r / ${u(IW * C)}; let x = (r / ${u(C)}) % ${u(IW)}; let c = r % ${u(C)};
  var v = 0.0;
  if (y < ${u(OH * p)} && x < ${u(OW * p)}) {
    let o = ((b * ${u(OH)} + y / ${u(p)}) * ${u(OW)} + x / ${u(p)}) * ${u(C)} + c;
    if (IDX[o] == (y % ${u(p)}) * ${u(p)} + x % ${u(p)}) { v = G[o]; }
  }
  ${into.put('i', 'v')}`),
        buffers: [name(l, 'G'), name(l, 'IDX'), ...into.names],
      });
      return;
    }
    // dropout (train), flatten or dropout with an activation: z = x (* mask), h = act(z)
    const dropout = g.kind === 'dropout' && train && (lay.options?.rate ?? 0) > 0;
    const w = g.width;
    const a1 = activate(g, l, 'i');
    const maskBind: Binding[] = dropout ? [F('MASK')] : [];
    const maskNames = dropout ? [name(l, 'MASK')] : [];
    const maskAt = dropout ? ` * MASK[st.mask * ${u(rows * w)} + i]` : '';
    forward.push({
      kernel: elementwiseKernel(`${tag} forward`, [...inp.bind, ...maskBind, ...a1.bind], `st.len * ${u(w)}`, rows * w,
        `let b = i / ${u(w)}; let j = i % ${u(w)}; let z = ${inp.at('b', 'j')}${maskAt}; ${a1.code}`),
      buffers: [...inp.names, ...maskNames, ...a1.names],
    });
    if (!train || g.src < 0) return;
    const into = intoSource(g);
    backward.unshift({
      kernel: elementwiseKernel(`${tag} dX`, [F('G'), ...maskBind, ...into.bind], `st.len * ${u(w)}`, rows * w, into.put('i', `G[i]${maskAt}`)),
      buffers: [name(l, 'G'), ...maskNames, ...into.names],
    });
  });

  if (train) backward.unshift(lossGrad(plan, geo.length - 1, opts.lossKind, rows));
  return {rows, forward, backward, buffers, output, masks};
}

function weightGrad(label: string, inp: {bind: Binding[]; names: string[]}, G: string, M: number, N: number, K: string, maxK: number, splits: number, offset: number, loadA: string, loadB: string): Op[] {
  const direct = splits === 1;
  const k = matmulKernel({
    label, bindings: [...inp.bind, F('G'), W(direct ? 'grad' : 'part')],
    M: u(M), N, K, maxM: M, maxK, splits,
    loadA, loadB,
    store: direct ? `grad[${u(offset)} + m * ${u(N)} + n] = acc;` : `part[split * ${u(M * N)} + m * ${u(N)} + n] = acc;`,
  });
  const ops: Op[] = [{kernel: k, buffers: [...inp.names, G, direct ? 'grad' : 'part']}];
  if (!direct) ops.push({kernel: reduceSplitsKernel(`${label} sum`, M * N, splits, 'grad', offset), buffers: ['part', 'grad']});
  return ops;
}

/** d mean loss / d logits of each step row: (softmax(z) - y) / len for cross-entropy; the hinge's subgradient on z1 - z0. */
function lossGrad(plan: ModelPlan, last: number, lossKind: string, rows: number): Op {
  const C = plan.layers[last].width;
  const bind: Binding[] = [F('Z'), {name: 'Y', type: 'i32', write: false}, {name: 'rows', type: 'u32', write: false}, W('G')];
  const body = lossKind === 'hinge'
    ? `let z0 = Z[i * 2u]; let z1 = Z[i * 2u + 1u];
  let s = select(-1.0, 1.0, Y[rows[st.row0 + i]] == 1);
  let g = select(0.0, 1.0 / f32(st.len), 1.0 - s * (z1 - z0) > 0.0);
  G[i * 2u] = s * g;
  G[i * 2u + 1u] = -s * g;`
    : `var mx = Z[i * ${u(C)}];
  for (var c = 1u; c < ${u(C)}; c++) { mx = max(mx, Z[i * ${u(C)} + c]); }
  var se = 0.0;
  for (var c = 0u; c < ${u(C)}; c++) { se = se + exp(Z[i * ${u(C)} + c] - mx); }
  let y = u32(Y[rows[st.row0 + i]]);
  let inv = 1.0 / f32(st.len);
  for (var c = 0u; c < ${u(C)}; c++) {
    let p = exp(Z[i * ${u(C)} + c] - mx) / se;
    G[i * ${u(C)} + c] = (p - select(0.0, 1.0, c == y)) * inv;
  }`;
  return {kernel: elementwiseKernel(`loss ${lossKind} gradient`, bind, 'st.len', rows, body), buffers: [`H${last}`, 'Y', 'rows', `G${last}`]};
}
