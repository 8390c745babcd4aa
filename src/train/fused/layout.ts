/**
 * The memory layout of the fused engine: the C structs of src/native/train.c mirrored field by
 * field (every field is 4 bytes: int, float or pointer), a bump allocator over the shared
 * linear memory, and the row-blocked layout of activation matrices (rows in the four lanes of a
 * vector; rows padded to a multiple of 8). `struct_sizes()` of the module is checked against
 * these lists at start.
 */

type Kind = 'i' | 'f';

/** `struct Layer` of train.c, in order. */
export const LAYER_FIELDS = [
  ['kind', 'i'], ['in', 'i'], ['out', 'i'], ['act', 'i'], ['w', 'i'], ['b', 'i'], ['l2', 'i'], ['decay', 'i'],
  ['rate', 'f'], ['keep', 'f'], ['drop', 'i'], ['Z', 'i'], ['H', 'i'], ['mask', 'i'], ['E', 'i'], ['pad', 'i'],
] as const satisfies readonly (readonly [string, Kind])[];

/** `struct Net` of train.c (including its trailing `Job`), in order. */
export const NET_FIELDS = [
  ['nLayers', 'i'], ['L', 'i'], ['D', 'i'], ['C', 'i'], ['N', 'i'], ['P', 'i'], ['X', 'i'], ['labels', 'i'],
  ['theta', 'i'], ['grad', 'i'], ['m', 'i'], ['v', 'i'], ['wmean', 'i'], ['wm2', 'i'], ['gsOn', 'i'], ['gsCount', 'i'],
  ['loss', 'i'], ['opt', 'i'], ['decay', 'i'],
  ['beta1', 'f'], ['omb1', 'f'], ['beta2', 'f'], ['omb2', 'f'], ['eps', 'f'], ['mom', 'f'], ['l2', 'f'],
  ['batch', 'i'], ['perm', 'i'], ['nTrain', 'i'], ['stepF', 'i'], ['stepRng', 'i'], ['nDrop', 'i'], ['dropRate', 'i'],
  ['Xb', 'i'], ['Yb', 'i'], ['dA', 'i'], ['dB', 'i'], ['logits', 'i'], ['chunk', 'i'], ['eA', 'i'], ['eB', 'i'],
  ['pack', 'i'], ['packStride', 'i'], ['nThreads', 'i'], ['minPar', 'i'], ['gen', 'i'], ['done', 'i'],
  // struct Job
  ['jobKind', 'i'], ['jA', 'i'], ['jK', 'i'], ['jB', 'i'], ['jbks', 'i'], ['jbis', 'i'], ['jM', 'i'], ['jnb', 'i'], ['jC', 'i'], ['jbias', 'i'],
  ['jD', 'i'], ['jN', 'i'], ['jG', 'i'], ['jbyRows', 'i'], ['jstep', 'i'], ['jr0', 'i'], ['jn', 'i'], ['jcapture', 'i'],
] as const satisfies readonly (readonly [string, Kind])[];

export type LayerField = (typeof LAYER_FIELDS)[number][0];
export type NetField = (typeof NET_FIELDS)[number][0];

/** train.c's enums. */
export const ACT = {linear: 0, tanh: 1, relu: 2, sigmoid: 3, softsign: 4, softplus: 5, elu: 6} as const;
export const KIND = {dense: 0, dropout: 1} as const;
export const OPT = {adam: 0, sgd: 1, momentum: 2} as const;
export const DECAY = {none: 0, flat: 1, tensor: 2} as const;

/** Slack after every buffer (the kernels stay inside their buffers; this is a margin). */
const SLACK = 64;

/** Bump allocator: byte offsets, 16-byte aligned, each block followed by SLACK bytes. */
export class Arena {
  constructor(public next: number) {}

  alloc(bytes: number): number {
    const at = Math.ceil(this.next / 16) * 16;
    this.next = at + bytes + SLACK;
    return at;
  }

  floats(n: number): number {
    return this.alloc(4 * n);
  }

  doubles(n: number): number {
    return this.alloc(8 * n);
  }
}

/** Writes one struct's fields at byte offset `at`. */
export function writeStruct<F extends string>(mem: ArrayBuffer | SharedArrayBuffer, at: number, fields: readonly (readonly [F, Kind])[], values: Partial<Record<F, number>>): void {
  const i32 = new Int32Array(mem, at, fields.length);
  const f32 = new Float32Array(mem, at, fields.length);
  fields.forEach(([name, kind], i) => {
    const value = values[name] ?? 0;
    if (kind === 'f') f32[i] = value;
    else i32[i] = value;
  });
}

/** Byte offset of a field inside its struct. */
export function fieldOffset<F extends string>(fields: readonly (readonly [F, Kind])[], name: F): number {
  const i = fields.findIndex(([n]) => n === name);
  if (i < 0) throw new Error(`no field ${name}`);
  return 4 * i;
}

/** Rows padded for the blocked layout (two blocks of 4 rows per register tile). */
export const padRows = (n: number): number => Math.ceil(n / 8) * 8;

/** Offset (in floats) of element (r, j) of a blocked matrix of width w. */
export const blockedIndex = (r: number, w: number, j: number): number => ((r >> 2) * w + j) * 4 + (r & 3);
