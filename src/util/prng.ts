/**
 * Seeded pseudo-random numbers. Every random choice in tdlab (initial weights, data split,
 * minibatch order, subsampling) draws from a stream derived from the config seed and a label,
 * so runs are reproducible and independent of the tensor backend.
 */

/** FNV-1a 32-bit hash of a string. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** splitmix32 step, used to expand a seed into generator state. */
function splitmix32(state: {s: number}): number {
  state.s = (state.s + 0x9e3779b9) >>> 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** xoshiro128** generator with helpers for the distributions tdlab needs. */
export class Rng {
  /** State words a, b, c, d (in a typed array: as object fields, values >= 2^31 would be boxed on every step). */
  private readonly s = new Uint32Array(4);
  private spareNormal: number | null = null;

  /** A stream for `seed` and a purpose `label` (e.g. 'init', 'shuffle', 'split'). */
  constructor(seed: number, label = '') {
    const st = {s: (Math.trunc(seed) ^ fnv1a(label)) >>> 0};
    // mix the high part of large seeds too
    st.s = (st.s ^ Math.trunc(seed / 4294967296)) >>> 0;
    const s = this.s;
    s[0] = splitmix32(st);
    s[1] = splitmix32(st);
    s[2] = splitmix32(st);
    s[3] = splitmix32(st);
    if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    const b = s[1];
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = b << 9;
    s[2] ^= s[0];
    s[3] ^= b;
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /**
   * The generator's whole state (the four xoshiro128** words and a cached normal deviate, or
   * null), for checkpoints: `setState` on a fresh generator continues the same stream exactly.
   */
  getState(): number[] {
    const [a, b, c, d] = this.s;
    return this.spareNormal === null ? [a, b, c, d] : [a, b, c, d, this.spareNormal];
  }

  /** Continues the stream of a `getState()`. */
  setState(state: readonly number[]): this {
    if ((state.length !== 4 && state.length !== 5) || state.slice(0, 4).some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new Error(`not a generator state: [${state.join(', ')}]`);
    }
    this.s.set(state.slice(0, 4));
    this.spareNormal = state.length === 5 ? state[4] : null;
    return this;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Marsaglia polar method). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * f;
    return u * f;
  }

  /** Normal with std `std`, redrawn while |value| > 2 std (TensorFlow's truncated normal). */
  truncatedNormal(std: number): number {
    for (;;) {
      const z = this.normal();
      if (Math.abs(z) <= 2) return z * std;
    }
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T extends {length: number; [i: number]: number}>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
