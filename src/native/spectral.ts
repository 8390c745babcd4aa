import {SPECTRAL_WASM_BASE64, SPECTRAL_WASM_SHA256} from './spectral-wasm.js';

/**
 * The WebAssembly (f64x2 SIMD) kernels of src/native/spectral.c: the Gram matrix X X^T, the
 * Householder tridiagonalisation, and the dense products of curvature's Hessian-vector products.
 * src/linalg/eigen.ts, src/linalg/gram.ts and src/metrics/model/curvature.ts dispatch to them and
 * keep their TypeScript versions of the same algorithms as the reference and the fallback.
 *
 * The Gram and eigenvalue calls get a fresh instance with its own linear memory sized for that
 * call, so nothing is shared between calls and the memory is garbage-collected with the instance.
 * Products and CKA's centred Gram reuse one scratch instance per thread (`NativeArena`, below),
 * and a computation that makes many products over the same operands (a Hessian's Lanczos run)
 * keeps its own arena, with those operands resident, for its lifetime. The module is compiled
 * once per process. Pure functions: inputs are copied in (unless already resident), results out.
 *
 * `TDLAB_NATIVE=0` in the environment (or `setNativeKernels(false)`) selects the TypeScript path.
 */

interface Exports {
  gram_rows(X: number, rows: number, len: number, G: number, i0: number, i1: number): void;
  tridiag_step(A: number, n: number, k: number, d: number, e: number, work: number): void;
  tridiag_finish(A: number, n: number, d: number, e: number, work: number): void;
  pack_b(B: number, K: number, b: number, P: number): void;
  gemm_packed(A: number, trans: number, K: number, P: number, C: number, rowsC: number, b: number, r0: number, r1: number, pa: number, kidx: number): void;
  pack_a(A: number, trans: number, K: number, rowsC: number, r0: number, r1: number, PA: number, KIDX: number, CNT: number): void;
  gemm_prepacked(PA: number, KIDX: number, CNT: number, K: number, P: number, C: number, rowsC: number, b: number, r0: number, r1: number): void;
  col_means(src: number, n: number, d: number, mean: number): void;
  centre_pack(src: number, d: number, mean: number, dst: number, n: number, at: number, sq: number, sqOn: number, i0: number, i1: number): void;
  gram_packed(Z: number, np: number, n: number, G: number, I0: number, I1: number): void;
  gemm_nt(A: number, B: number, C: number, n: number, a: number, b: number, r0: number, r1: number): void;
  __heap_base: WebAssembly.Global;
}

const PAGE = 65536;
/** wasm32 addresses 4 GiB; stay well below so a failed grow cannot happen mid-call. */
const MAX_BYTES = 3 * 1024 ** 3;

let module: WebAssembly.Module | null | undefined;
let enabled = process.env.TDLAB_NATIVE !== '0';

/** Turns the WebAssembly kernels on or off (tests compare both paths); returns the previous setting. */
export function setNativeKernels(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

function compiled(): WebAssembly.Module | null {
  if (module === undefined) {
    try {
      module = new WebAssembly.Module(Buffer.from(SPECTRAL_WASM_BASE64, 'base64'));
    } catch {
      module = null; // no WebAssembly SIMD here: the TypeScript path is used
    }
  }
  return module;
}

/** A fresh instance plus a bump allocator over its memory (offsets in bytes, 16-byte aligned). */
class Heap {
  readonly fn: Exports;
  readonly f64: Float64Array;
  /** Next free byte (the allocation mark). */
  top: number;
  /** First byte after the module's own data. */
  readonly baseBytes: number;

  constructor(mod: WebAssembly.Module, doubles: number) {
    const memory = new WebAssembly.Memory({initial: 2, maximum: 65536});
    const instance = new WebAssembly.Instance(mod, {env: {memory}});
    this.fn = instance.exports as unknown as Exports;
    this.top = align(Number(this.fn.__heap_base.value));
    this.baseBytes = this.top;
    const bytes = this.top + doubles * 8 + 64 * 16;
    const pages = Math.ceil(bytes / PAGE) - memory.buffer.byteLength / PAGE;
    if (pages > 0) memory.grow(pages);
    this.f64 = new Float64Array(memory.buffer);
  }

  /** Byte offset of a new block of `count` doubles (zeroed on a fresh heap only). */
  alloc(count: number): number {
    const at = this.top;
    this.top = align(at + count * 8);
    return at;
  }

  /** Like `alloc`, or -1 (nothing allocated) when the block does not fit. */
  tryAlloc(count: number): number {
    return align(this.top + count * 8) <= this.f64.byteLength ? this.alloc(count) : -1;
  }

  view(at: number, count: number): Float64Array {
    return this.f64.subarray(at / 8, at / 8 + count);
  }
}

function align(x: number): number {
  return Math.ceil(x / 16) * 16;
}

/** A heap for `doubles` doubles of buffers, or null when the kernels are off or it would not fit. */
function heap(doubles: number): Heap | null {
  return nativeAvailable(doubles) ? new Heap(compiled()!, doubles) : null;
}

/** Which implementation the spectral metrics use, for provenance: `wasm-simd128 <sha256 prefix>` or `typescript`. */
export function spectralKernelsId(): string {
  return nativeAvailable() ? `wasm-simd128 ${SPECTRAL_WASM_SHA256.slice(0, 12)}` : 'typescript';
}

/** Whether the WebAssembly kernels would be used for a problem of this many doubles. */
export function nativeAvailable(doubles = 0): boolean {
  return enabled && doubles * 8 <= MAX_BYTES && compiled() !== null;
}

/**
 * G = X X^T (upper triangle) in chunks of rows. Why chunks: V8 runs new WebAssembly code in its
 * baseline tier and swaps in optimised code between calls (no on-stack replacement), so a single
 * long call ran ~2.5x slower the first time; after the first chunk the optimised code is used.
 */
function gramInHeap(h: Heap, X: number, rows: number, len: number, G: number): void {
  const chunk = Math.max(4, Math.min(64, 4 * Math.ceil(rows / 64)));
  for (let i = 0; i < rows; i += chunk) h.fn.gram_rows(X, rows, len, G, i, Math.min(rows, i + chunk));
}

/** Diagonal d and off-diagonal e (e[k] couples k and k + 1) of a symmetric tridiagonal matrix. */
export interface Tridiagonal {
  d: Float64Array;
  e: Float64Array;
}

/** Householder-tridiagonalises A (already in the heap, destroyed). */
function tridiagonalInHeap(h: Heap, A: number, n: number): Tridiagonal {
  const d = h.alloc(n);
  const e = h.alloc(n);
  const work = h.alloc(4 * n);
  // one call per step: see `gramInHeap` on tiering
  for (let k = 0; k < n - 1; k++) h.fn.tridiag_step(A, n, k, d, e, work);
  h.fn.tridiag_finish(A, n, d, e, work);
  return {d: h.view(d, n).slice(), e: h.view(e, n).slice()};
}

/**
 * A tridiagonal with the eigenvalues of the symmetric n x n row-major `matrix` (upper triangle
 * read), or null when the kernels are not available for this size (the caller falls back to
 * TypeScript). The QL iteration on it (O(n^2)) is left to the caller.
 */
export function nativeSymmetricTridiagonal(matrix: Float64Array, n: number): Tridiagonal | null {
  const h = heap(n * n + 6 * n);
  if (!h) return null;
  const A = h.alloc(n * n);
  h.view(A, n * n).set(matrix.subarray(0, n * n));
  return tridiagonalInHeap(h, A, n);
}

/**
 * A tridiagonal with the eigenvalues of X X^T for X rows x len row-major, written into the heap
 * by `fill` (so callers can centre, scale or transpose their data straight into place), or null
 * when the kernels are not available for this size.
 */
export function nativeGramRowsTridiagonal(rows: number, len: number, fill: (x: Float64Array) => void): Tridiagonal | null {
  const h = heap(rows * len + rows * rows + 6 * rows);
  if (!h) return null;
  const X = h.alloc(rows * len);
  fill(h.view(X, rows * len));
  const G = h.alloc(rows * rows);
  gramInHeap(h, X, rows, len, G);
  return tridiagonalInHeap(h, G, rows);
}

/** G = X X^T (rows x rows, upper triangle) for X rows x len, or null when not available. */
export function nativeGramUpper(X: Float64Array, rows: number, len: number): Float64Array | null {
  const h = heap(rows * len + rows * rows);
  if (!h) return null;
  const x = h.alloc(rows * len);
  h.view(x, rows * len).set(X.subarray(0, rows * len));
  const G = h.alloc(rows * rows);
  gramInHeap(h, x, rows, len, G);
  return h.view(G, rows * rows).slice();
}

/** Shapes of the three products: `nn` C (n x b) += A (n x a) B (a x b); `tn` C (a x b) += A^T B (A n x a, B n x b); `nt` C (n x a) += A (n x b) B^T (B a x b). */
export type GemmKind = 'nn' | 'tn' | 'nt';

/**
 * One WebAssembly instance and its memory, as a bump allocator whose blocks are Float64Array
 * views of that memory. A view passed back to `gemm` is used in place (no copy); anything else
 * is copied into scratch space for the call. The memory never grows after construction (growing
 * would detach every view handed out), so an `alloc` that does not fit returns an ordinary
 * array and `gemm` returns false when its scratch does not fit (the caller's TypeScript loop
 * then runs).
 */
export class NativeArena {
  private readonly h: Heap;
  /** Left operands packed once (`prepack`), by array and product kind. */
  private readonly packed = new Map<Float64Array, Partial<Record<'nn' | 'tn', {pa: number; kidx: number; cnt: number}>>>();

  private constructor(h: Heap) {
    this.h = h;
  }

  /** An arena of `doubles` doubles, or null when the kernels are off or it would not fit. */
  static create(doubles: number): NativeArena | null {
    const h = heap(doubles);
    return h ? new NativeArena(h) : null;
  }

  /** Capacity in doubles (after the module's own data). */
  get capacity(): number {
    return (this.h.f64.length * 8 - this.h.baseBytes) / 8;
  }

  /** A block of `count` doubles (zeroed unless `zero` is false): a view of the memory, or an ordinary array when full. */
  alloc(count: number, zero = true): Float64Array {
    const at = this.h.tryAlloc(count);
    if (at < 0) return new Float64Array(count);
    const v = this.h.view(at, count);
    if (zero) v.fill(0);
    return v;
  }

  /** `src` copied into a block (an ordinary array when full). */
  hold(src: ArrayLike<number>): Float64Array {
    const v = this.alloc(src.length, false);
    v.set(src);
    return v;
  }

  /** The allocation mark, for `release`. */
  mark(): number {
    return this.h.top;
  }

  /** Frees every block allocated after `mark` (their views must no longer be used). */
  release(mark: number): void {
    this.h.top = mark;
    for (const [A, by] of this.packed) if ((by.nn?.pa ?? -1) >= mark || (by.tn?.pa ?? -1) >= mark || A.byteOffset >= mark) this.packed.delete(A);
  }

  /** Whether `x` is a view of this arena's memory. */
  resident(x: Float64Array): boolean {
    return x.buffer === this.h.f64.buffer;
  }

  /** Byte offset of `x` in the memory: in place when resident, else a scratch copy (`copy` = false leaves it uninitialised). */
  private place(x: Float64Array, copy = true): number {
    if (this.resident(x)) return x.byteOffset;
    const at = this.h.tryAlloc(x.length);
    if (at >= 0 && copy) this.h.view(at, x.length).set(x);
    return at;
  }

  /**
   * Packs the resident A (n x a) once as the left operand of `kind` products (nn: A B; tn: A^T B),
   * for an A that takes part in many products and does not change while this arena lives (the
   * caller's promise); `gemm` then skips packing it. About 1.5x A's size; false when it does not fit.
   */
  prepack(A: Float64Array, kind: 'nn' | 'tn', n: number, a: number): boolean {
    if (!this.resident(A)) return false;
    const [K, rowsC, trans] = kind === 'nn' ? [a, n, 0] : [n, a, 1];
    const panels = Math.ceil(rowsC / 4);
    const pa = this.h.tryAlloc(4 * K * panels);
    const kidx = this.h.tryAlloc(Math.ceil((K * panels) / 2));
    const cnt = this.h.tryAlloc(Math.ceil(panels / 2));
    if (pa < 0 || kidx < 0 || cnt < 0) return false;
    for (let r = 0; r < rowsC; r += 64) this.h.fn.pack_a(A.byteOffset, trans, K, rowsC, r, Math.min(rowsC, r + 64), pa, kidx, cnt);
    this.packed.set(A, {...this.packed.get(A), [kind]: {pa, kidx, cnt}});
    return true;
  }

  /** C += the `kind` product of A and B (see `nativeGemm`); false (C untouched) when scratch does not fit. */
  gemm(kind: GemmKind, A: Float64Array, B: Float64Array, C: Float64Array, n: number, a: number, b: number): boolean {
    const [lenA, lenB, lenC] = kind === 'nn' ? [n * a, a * b, n * b] : kind === 'tn' ? [n * a, n * b, a * b] : [n * b, a * b, n * a];
    const mark = this.mark();
    try {
      const pa = this.place(A.subarray(0, lenA));
      const pb = this.place(B.subarray(0, lenB));
      const c = C.subarray(0, lenC);
      const pc = this.place(c);
      if (pa < 0 || pb < 0 || pc < 0) return false;
      const f = this.h.fn;
      if (kind === 'nt') {
        for (let r = 0; r < n; r += 64) f.gemm_nt(pa, pb, pc, n, a, b, r, Math.min(n, r + 64));
      } else {
        // nn: C (n x b) = A (n x K=a) B; tn: C (a x b) = A^T (A: K=n x a) B
        const [K, rowsC, trans] = kind === 'nn' ? [a, n, 0] : [n, a, 1];
        const pre = this.packed.get(A)?.[kind];
        const panels = this.h.tryAlloc(K * 4 * Math.ceil(b / 4));
        const packA = pre ? 0 : this.h.tryAlloc(4 * K);
        const kidx = pre ? 0 : this.h.tryAlloc(Math.ceil(K / 2));
        if (panels < 0 || packA < 0 || kidx < 0) return false;
        f.pack_b(pb, K, b, panels);
        for (let r = 0; r < rowsC; r += 64) {
          if (pre) f.gemm_prepacked(pre.pa, pre.kidx, pre.cnt, K, panels, pc, rowsC, b, r, Math.min(rowsC, r + 64));
          else f.gemm_packed(pa, trans, K, panels, pc, rowsC, b, r, Math.min(rowsC, r + 64), packA, kidx);
        }
      }
      if (!this.resident(c)) c.set(this.h.view(pc, lenC));
      return true;
    } finally {
      this.release(mark);
    }
  }

  /**
   * The centred Gram of CKA's feature form: the blocks (n x cols_b each, row-major; `rows` selects
   * rows of every block) are centred by their column means and stacked transposed into
   * Z = [X_c Y_c]^T (m x n, m = sum of cols; held as packed panels of 4 features, see
   * centre_pack in spectral.c), and G = Z Z^T (upper triangle, m x m). Returns G, the column
   * means of each block and, with `squares`, each block's centred row norms
   * sum_j (x_ij - mean_j)^2; null when the scratch does not fit.
   */
  centredGram(blocks: Array<{data: Float32Array | Float64Array; cols: number}>, rows: Int32Array | undefined, n: number, squares: boolean): {G: Float64Array; means: Float64Array[]; squares: Float64Array[]} | null {
    const m = blocks.reduce((s, b) => s + b.cols, 0);
    const np = Math.ceil(m / 4);
    const wide = Math.max(...blocks.map((b) => b.cols));
    const mark = this.mark();
    try {
      const raw = this.h.tryAlloc(n * wide);
      const Z = this.h.tryAlloc(4 * np * n);
      const G = this.h.tryAlloc(16 * np * np);
      const means = this.h.tryAlloc(m);
      const sq = this.h.tryAlloc(blocks.length * n);
      if (raw < 0 || Z < 0 || G < 0 || means < 0 || sq < 0) return null;
      this.h.view(sq, blocks.length * n).fill(0);
      if (m % 4) this.h.view(Z + (np - 1) * 4 * n * 8, 4 * n).fill(0); // the last panel's unused features
      const f = this.h.fn;
      let at = 0;
      blocks.forEach(({data, cols: d}, k) => {
        const dst = this.h.view(raw, n * d);
        if (rows) for (let i = 0; i < n; i++) dst.set(data.subarray(rows[i] * d, rows[i] * d + d), i * d);
        else dst.set(data.subarray(0, n * d));
        const mean = means + at * 8;
        f.col_means(raw, n, d, mean);
        // chunks of rows: see gramInHeap on tiering
        for (let i = 0; i < n; i += 1024) f.centre_pack(raw, d, mean, Z, n, at, sq + k * n * 8, squares ? 1 : 0, i, Math.min(n, i + 1024));
        at += d;
      });
      // panel rows in chunks (tiering, see gramInHeap)
      const step = Math.max(1, Math.ceil(np / 16));
      for (let I = 0; I < np; I += step) f.gram_packed(Z, np, n, G, I, Math.min(np, I + step));
      const ld = 4 * np;
      const Gp = this.h.view(G, ld * ld);
      const out = new Float64Array(m * m);
      for (let i = 0; i < m; i++) out.set(Gp.subarray(i * ld + i, i * ld + m), i * m + i);
      at = 0;
      const meanList = blocks.map(({cols: d}) => {
        const v = this.h.view(means + at * 8, d).slice();
        at += d;
        return v;
      });
      return {G: out, means: meanList, squares: blocks.map((_, k) => this.h.view(sq + k * n * 8, n).slice())};
    } finally {
      this.release(mark);
    }
  }
}

/**
 * The thread's scratch arena for one-off products and CKA Grams, replaced by a larger one when a
 * call needs more (a fresh memory per call paid its page faults every time). Kept only up to
 * SCRATCH_KEEP doubles: larger calls get an arena of their own, freed with it.
 */
let scratch: NativeArena | null = null;
const SCRATCH_KEEP = 32 * 1024 * 1024; // 256 MiB

function scratchArena(doubles: number): NativeArena | null {
  if (!nativeAvailable(doubles)) return null;
  if (scratch && scratch.capacity >= doubles + 64) return scratch;
  const size = Math.max(doubles + 64, Math.min(SCRATCH_KEEP, 2 * (scratch?.capacity ?? 0)));
  const fresh = NativeArena.create(size);
  if (size <= SCRATCH_KEEP) scratch = fresh;
  return fresh;
}

/** Upper bound of the scratch doubles `NativeArena.gemm` needs for a product of this shape. */
function gemmScratch(kind: GemmKind, n: number, a: number, b: number): number {
  const K = kind === 'nn' ? a : n;
  return n * a + a * b + n * b + (kind === 'nt' ? 0 : K * (4 * Math.ceil(b / 4) + 5)) + 8 * 16;
}

/**
 * C += the `kind` product of A and B (row-major float64; C is read and written back), or false
 * when the kernels are not available for this size (the caller keeps its TypeScript loop).
 * Inputs are copied into the thread's scratch arena (its memory grows to the largest call so far).
 */
export function nativeGemm(kind: GemmKind, A: Float64Array, B: Float64Array, C: Float64Array, n: number, a: number, b: number): boolean {
  const ar = scratchArena(gemmScratch(kind, n, a, b));
  return ar !== null && ar.gemm(kind, A, B, C, n, a, b);
}

/** Doubles a `NativeArena.gemm` call of this shape may need in scratch, for sizing an arena. */
export function nativeGemmScratch(kind: GemmKind, n: number, a: number, b: number): number {
  return gemmScratch(kind, n, a, b);
}

/**
 * CKA's centred Gram (see `NativeArena.centredGram`) in the thread's scratch arena, or null when
 * the kernels are not available for this size (the caller keeps its TypeScript path).
 */
export function nativeCentredGram(blocks: Array<{data: Float32Array | Float64Array; cols: number}>, rows: Int32Array | undefined, n: number, squares: boolean): {G: Float64Array; means: Float64Array[]; squares: Float64Array[]} | null {
  const m = blocks.reduce((s, b) => s + b.cols, 0);
  const np = Math.ceil(m / 4);
  const ar = scratchArena(n * Math.max(...blocks.map((b) => b.cols)) + 4 * np * n + 16 * np * np + m + blocks.length * n + 5 * 16);
  return ar && ar.centredGram(blocks, rows, n, squares);
}
