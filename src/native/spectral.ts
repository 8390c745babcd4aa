import {SPECTRAL_WASM_BASE64, SPECTRAL_WASM_SHA256} from './spectral-wasm.js';

/**
 * The WebAssembly (f64x2 SIMD) kernels of src/native/spectral.c: the Gram matrix X X^T, the
 * Householder tridiagonalisation, and the dense products of curvature's Hessian-vector products.
 * src/linalg/eigen.ts, src/linalg/gram.ts and src/metrics/model/curvature.ts dispatch to them and
 * keep their TypeScript versions of the same algorithms as the reference and the fallback.
 *
 * Every call gets a fresh instance with its own linear memory sized for that call, so nothing is
 * shared between calls and the memory is garbage-collected with the instance. The module is
 * compiled once per process. Pure functions: inputs are copied in, results copied out.
 *
 * `TDLAB_NATIVE=0` in the environment (or `setNativeKernels(false)`) selects the TypeScript path.
 */

interface Exports {
  gram_rows(X: number, rows: number, len: number, G: number, i0: number, i1: number): void;
  tridiag_step(A: number, n: number, k: number, d: number, e: number, work: number): void;
  tridiag_finish(A: number, n: number, d: number, e: number, work: number): void;
  gemm_nn(A: number, B: number, C: number, n: number, a: number, b: number, r0: number, r1: number): void;
  gemm_tn(A: number, B: number, C: number, n: number, a: number, b: number, r0: number, r1: number): void;
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
  private next: number;
  private readonly base: number;

  constructor(mod: WebAssembly.Module, doubles: number) {
    const memory = new WebAssembly.Memory({initial: 2, maximum: 65536});
    const instance = new WebAssembly.Instance(mod, {env: {memory}});
    this.fn = instance.exports as unknown as Exports;
    this.next = align(Number(this.fn.__heap_base.value));
    this.base = this.next;
    const bytes = this.next + doubles * 8 + 64 * 16;
    const pages = Math.ceil(bytes / PAGE) - memory.buffer.byteLength / PAGE;
    if (pages > 0) memory.grow(pages);
    this.f64 = new Float64Array(memory.buffer);
  }

  /** Whether `doubles` more doubles fit after a `reset`. */
  fits(doubles: number): boolean {
    return this.base + doubles * 8 + 64 * 16 <= this.f64.byteLength;
  }

  /** Frees every block (the memory keeps its size and old contents). */
  reset(): void {
    this.next = this.base;
  }

  /** Byte offset of a new block of `count` doubles (zeroed on a fresh heap only). */
  alloc(count: number): number {
    const at = this.next;
    this.next = align(at + count * 8);
    return at;
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

let gemmHeap: Heap | undefined;

/** Shapes of the three products: `nn` C (n x b) += A (n x a) B (a x b); `tn` C (a x b) += A^T B (A n x a, B n x b); `nt` C (n x a) += A (n x b) B^T (B a x b). */
export type GemmKind = 'nn' | 'tn' | 'nt';

/**
 * C += the `kind` product of A and B (row-major float64; C is read and written back), or false
 * when the kernels are not available for this size (the caller keeps its TypeScript loop).
 * Inputs are copied into one instance kept for these products (its memory grows to the largest
 * call so far); C's rows are covered in 64-row chunks (see `gramInHeap`).
 */
export function nativeGemm(kind: GemmKind, A: Float64Array, B: Float64Array, C: Float64Array, n: number, a: number, b: number): boolean {
  const [lenA, lenB, lenC, rows] = kind === 'nn' ? [n * a, a * b, n * b, n] : kind === 'tn' ? [n * a, n * b, a * b, a] : [n * b, a * b, n * a, n];
  const doubles = lenA + lenB + lenC;
  if (!nativeAvailable(doubles)) return false;
  // one instance reused across calls (a Hessian needs thousands of products; a fresh memory for
  // each would pay its page faults every time); every input is copied in before each call
  if (!gemmHeap || !gemmHeap.fits(doubles)) gemmHeap = new Heap(compiled()!, Math.max(doubles, 2 * (gemmHeap ? gemmHeap.f64.length : 0)));
  const h = gemmHeap;
  h.reset();
  const pa = h.alloc(lenA);
  const pb = h.alloc(lenB);
  const pc = h.alloc(lenC);
  h.view(pa, lenA).set(A.subarray(0, lenA));
  h.view(pb, lenB).set(B.subarray(0, lenB));
  h.view(pc, lenC).set(C.subarray(0, lenC));
  const f = kind === 'nn' ? h.fn.gemm_nn : kind === 'tn' ? h.fn.gemm_tn : h.fn.gemm_nt;
  for (let r = 0; r < rows; r += 64) f(pa, pb, pc, n, a, b, r, Math.min(rows, r + 64));
  C.set(h.view(pc, lenC));
  return true;
}
