// Accuracy of the fused engine's float32 activations (src/native/train.c) against float64
// references (Math.tanh, Math.exp, Math.log1p, Math.expm1), in units in the last place of the
// float32 result, over 4 x 2^20 points on [-1e-6, 1e-6], [-1, 1], [-10, 10] and [-100, 100].
// Usage: node bench/fused-math.mjs   (prints one JSON line per activation)
import {TRAIN_WASM_BASE64} from '../dist/native/train-wasm.js';

const mod = new WebAssembly.Module(Buffer.from(TRAIN_WASM_BASE64, 'base64'));
const memory = new WebAssembly.Memory({initial: 256, maximum: 256, shared: true});
const ex = new WebAssembly.Instance(mod, {env: {memory}}).exports;
const n = 1 << 20;
const inOff = 1 << 20;
const outOff = inOff + 4 * n + 64;
const f32 = new Float32Array(memory.buffer);
// ids as in src/train/fused/layout.ts ACT
const refs = {
  tanh: [1, Math.tanh],
  sigmoid: [3, (x) => 1 / (1 + Math.exp(-x))],
  softsign: [4, (x) => x / (1 + Math.abs(x))],
  softplus: [5, (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)))],
  elu: [6, (x) => (x > 0 ? x : Math.expm1(x))],
};
const ulp = (x) => {
  const a = Math.abs(x);
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
};
for (const [name, [id, ref]] of Object.entries(refs)) {
  let worst = 0;
  let at = 0;
  for (const [lo, hi] of [[-1e-6, 1e-6], [-1, 1], [-10, 10], [-100, 100]]) {
    const x = f32.subarray(inOff / 4, inOff / 4 + n);
    for (let i = 0; i < n; i++) x[i] = Math.fround(lo + ((hi - lo) * i) / (n - 1));
    ex.act_apply(id, outOff, inOff, n);
    const y = f32.subarray(outOff / 4, outOff / 4 + n);
    for (let i = 0; i < n; i++) {
      const r = ref(x[i]);
      // below the normal range the absolute error is what matters (~1e-38)
      const e = Math.abs(r) < 2 ** -126 ? Math.abs(y[i] - r) / 2 ** -126 : Math.abs(y[i] - r) / ulp(r);
      if (e > worst) (worst = e), (at = x[i]);
    }
  }
  console.log(JSON.stringify({activation: name, max_error_ulp: +worst.toFixed(2), at}));
}
