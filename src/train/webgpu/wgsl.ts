/**
 * WGSL sources of tdlab's WebGPU training engine, generated per layer with the layer's sizes as
 * constants. Every kernel reads the per-step values (rows, learning rate, bias corrections) from
 * one uniform struct bound at group 1 with a dynamic offset, so a whole epoch is recorded into one
 * compute pass with no per-step buffer or bind-group creation. No atomics and fixed summation
 * orders: the same adapter gives bit-identical results.
 */

import {activations, type Activation} from '../../model/activations.js';

/** Group 1 of every kernel: the step's values (written once per recorded chunk of steps). */
export const STEP_STRUCT = `
struct Step {
  row0: u32,   // first entry of rows[] this step reads
  len: u32,    // rows in this step (the last minibatch may be short)
  mask: u32,   // dropout: this step's slot in the mask buffers
  count: u32,  // gradient statistics: minibatches seen so far this epoch, this one included
  lr: f32,
  lrbc1: f32,  // Adam: lr / (1 - beta1^t)
  bc2: f32,    // Adam: 1 - beta2^t
  lrwd: f32,   // decoupled weight decay: lr * weightDecay
};
@group(1) @binding(0) var<uniform> st: Step;
`;

/** Bytes between two steps' uniform values (the dynamic-offset alignment WebGPU guarantees to accept). */
export const STEP_STRIDE = 256;

/** An activation as WGSL: `h` from `z`, and d h / d z from `z` and `h` (the registry's `wgsl` field, src/model/activations.ts). */
export type WgslActivation = Activation['wgsl'];

export function wgslActivation(name: string): WgslActivation {
  return activations.get(name).wgsl;
}

/** One storage binding of a kernel. */
export interface Binding {
  name: string;
  type: 'f32' | 'u32' | 'i32';
  write: boolean;
}

export interface Kernel {
  /** Readable id (shown in dispatch counts). */
  label: string;
  code: string;
  bindings: Binding[];
  workgroups: [number, number, number];
}

function decls(bindings: Binding[]): string {
  return bindings.map((b, i) => `@group(0) @binding(${i}) var<storage, ${b.write ? 'read_write' : 'read'}> ${b.name}: array<${b.type}>;`).join('\n');
}

const u = (n: number) => `${Math.trunc(n)}u`;

/**
 * Tile of the matrix product: a workgroup of wx x wy threads, each summing a 4 x 4 block of
 * outputs, K in steps of 16. The tile follows the output's shape: 32 x 32 for wide products,
 * 64 x 16 or 128 x 8 when N (the filters of a small convolution) is 16 or 8, and as small as
 * 16 x 8 for the weight gradients of small layers (M x N tiny, K = rows x positions long: those
 * get many workgroups through split-K instead).
 */
const TK = 16;
export function tileFor(maxM: number, N: number): {wx: number; wy: number; TM: number; TN: number} {
  const wx = N <= 8 ? 2 : N <= 16 ? 4 : 8;
  const wy = Math.min(64 / wx, maxM <= 16 ? 4 : maxM <= 32 ? 8 : maxM <= 64 ? 16 : 64);
  return {wx, wy, TM: 4 * wy, TN: 4 * wx};
}

export interface MatmulSpec {
  label: string;
  bindings: Binding[];
  /** WGSL expressions (may use st.len) for the product's sizes, and their largest values for the dispatch. */
  M: string;
  N: number;
  K: string;
  maxM: number;
  maxK: number;
  /** Split K over this many workgroups along z (each writes its own partial product). */
  splits: number;
  /** WGSL function bodies: `fn loadA(m: u32, k: u32) -> f32`, `fn loadB(k: u32, n: u32) -> f32`, `fn store(m: u32, n: u32, acc: f32, split: u32)`. */
  loadA: string;
  loadB: string;
  store: string;
  /** Extra WGSL (helper functions, constants). */
  extra?: string;
}

/**
 * C = A B for A (M x K) and B (K x N) given as load functions, with a store epilogue (bias,
 * activation, derivative, multiplication by the previous layer's derivative, ...). Out-of-range
 * loads are never made: the tiles are zero-padded. Each thread sums its 4 x 4 outputs over k in
 * increasing order, so results do not depend on scheduling.
 */
export function matmulKernel(s: MatmulSpec): Kernel {
  const {wx, wy, TM, TN} = tileFor(s.maxM, s.N);
  const T = wx * wy;
  const kc = Math.ceil(Math.ceil(s.maxK / s.splits) / TK) * TK;
  const code = `${STEP_STRUCT}
${decls(s.bindings)}
${s.extra ?? ''}
fn loadA(m: u32, k: u32) -> f32 { ${s.loadA} }
fn loadB(k: u32, n: u32) -> f32 { ${s.loadB} }
fn store(m: u32, n: u32, acc: f32, split: u32) { ${s.store} }
var<workgroup> As: array<f32, ${TK * (TM + 1)}>;
var<workgroup> Bs: array<f32, ${TK * TN}>;
@compute @workgroup_size(${wx}, ${wy})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let M = ${s.M};
  let N = ${u(s.N)};
  let K = ${s.K};
  let m0 = wg.y * ${u(TM)};
  let n0 = wg.x * ${u(TN)};
  if (m0 >= M) { return; }
  let kBegin = wg.z * ${u(kc)};
  let kEnd = min(K, kBegin + ${u(kc)});
  var acc: array<f32, 16>;
  for (var i = 0u; i < 16u; i++) { acc[i] = 0.0; }
  var k0 = kBegin;
  loop {
    if (k0 >= kEnd) { break; }
    for (var e = li; e < ${u(TM * TK)}; e += ${u(T)}) {
      let mm = e / ${u(TK)};
      let kk = e % ${u(TK)};
      var a = 0.0;
      if (m0 + mm < M && k0 + kk < kEnd) { a = loadA(m0 + mm, k0 + kk); }
      As[kk * ${u(TM + 1)} + mm] = a; // rows padded by one: consecutive threads store to different banks
    }
    for (var e = li; e < ${u(TN * TK)}; e += ${u(T)}) {
      let kk = e / ${u(TN)};
      let nn = e % ${u(TN)};
      var b = 0.0;
      if (n0 + nn < N && k0 + kk < kEnd) { b = loadB(k0 + kk, n0 + nn); }
      Bs[kk * ${u(TN)} + nn] = b;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${u(TK)}; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { a[i] = As[kk * ${u(TM + 1)} + lid.y * 4u + i]; }
      for (var j = 0u; j < 4u; j++) { b[j] = Bs[kk * ${u(TN)} + lid.x * 4u + j]; }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i * 4u + j] = acc[i * 4u + j] + a[i] * b[j]; }
      }
    }
    workgroupBarrier();
    k0 = k0 + ${u(TK)};
  }
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      let m = m0 + lid.y * 4u + i;
      let n = n0 + lid.x * 4u + j;
      if (m < M && n < N) { store(m, n, acc[i * 4u + j], wg.z); }
    }
  }
}
`;
  return {label: s.label, code, bindings: s.bindings, workgroups: [Math.ceil(s.N / TN), Math.ceil(s.maxM / TM), s.splits]};
}

/** One thread per element i < count (a WGSL expression), body in terms of `i`; 1-D grid folded into 2-D past 65535 groups. */
export function elementwiseKernel(label: string, bindings: Binding[], count: string, maxCount: number, body: string, extra = ''): Kernel {
  const groups = Math.max(1, Math.ceil(maxCount / 64));
  const gx = Math.min(groups, 65535);
  const gy = Math.ceil(groups / gx);
  const code = `${STEP_STRUCT}
${decls(bindings)}
${extra}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${u(gx * 64)};
  if (i >= ${count}) { return; }
  ${body}
}
`;
  return {label, code, bindings, workgroups: [gx, gy, 1]};
}

/** Sum of `splits` partial products [splits][size] into dst[offset + i] (in split order). */
export function reduceSplitsKernel(label: string, size: number, splits: number, dst: string, offset: number): Kernel {
  return elementwiseKernel(
    label,
    [
      {name: 'part', type: 'f32', write: false},
      {name: dst, type: 'f32', write: true},
    ],
    u(size),
    size,
    `var s = 0.0;
  for (var z = 0u; z < ${u(splits)}; z++) { s = s + part[z * ${u(size)} + i]; }
  ${dst}[${u(offset)} + i] = s;`,
  );
}
