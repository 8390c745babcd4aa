// Where the spectral Gram kernel (src/native/spectral.c, gram_rows) stands against the no-FMA
// f64x2 throughput ceiling of this engine and CPU (BENCHMARKS.md, covariance entropies):
//  1. probe: bench/wasm/peak.c, 8 independent multiply+add accumulators, no loads (needs clang +
//     wasm-ld to build, e.g. apt-get install -y clang-14 lld-14; skipped otherwise);
//  2. gram_rows on 16 rows x 256 (L1-resident), repeated;
//  3. gram_rows on Z^T (1024 x 10,000), the ent.matrix / ent.vne problem.
// Each is timed `--rounds` times after a warm-up call (V8 tiers WebAssembly up between calls);
// medians. Usage: npx tsc -p tsconfig.json && node bench/wasm-roofline.mjs [--rounds 5]
import {spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {SPECTRAL_WASM_BASE64} from '../dist/native/spectral-wasm.js';
import {median, opt} from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const rounds = Number(opt('rounds', 5));
const time = (f) => {
  f();
  const ms = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    f();
    ms.push(performance.now() - t);
  }
  return median(ms);
};
const out = {rounds, node: process.version};

// 1. probe
const cc = ['clang-14', 'clang'].find((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
if (cc) {
  const wasm = join(mkdtempSync(join(tmpdir(), 'tdlab-peak-')), 'peak.wasm');
  const b = spawnSync(cc, ['--target=wasm32', '-O2', '-msimd128', '-nostdlib', '-Wl,--no-entry', '-o', wasm, join(here, 'wasm', 'peak.c')], {encoding: 'utf8'});
  if (b.status === 0 && existsSync(wasm)) {
    const m = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasm))).exports;
    const n = 1e8;
    out.probe_gflops = +((n * 32) / time(() => m.peak(n, 1.0000001, 0.9999999)) / 1e6).toFixed(1);
  } else out.probe = `build failed: ${b.stderr.trim().split('\n')[0]}`;
} else out.probe = 'skipped: no clang';

// 2. and 3. the kernel
const mod = new WebAssembly.Module(Buffer.from(SPECTRAL_WASM_BASE64, 'base64'));
function instance(doubles) {
  const memory = new WebAssembly.Memory({initial: 2, maximum: 65536});
  const fn = new WebAssembly.Instance(mod, {env: {memory}}).exports;
  const base = Math.ceil(Number(fn.__heap_base.value) / 16) * 16;
  memory.grow(Math.ceil((base + doubles * 8) / 65536));
  return {fn, base, f64: new Float64Array(memory.buffer)};
}
function gramFlops(rows, len) {
  let tiles = 0;
  for (let i = 0; i + 3 < rows; i += 4) for (let j = i; j + 1 < rows; j += 2) tiles++;
  return tiles * 8 * len * 2; // 4 x 2 tiles, a multiply and an add per element
}
{
  const rows = 16;
  const len = 256;
  const h = instance(rows * len + rows * rows);
  for (let i = 0; i < rows * len; i++) h.f64[h.base / 8 + i] = Math.sin(i);
  const reps = 20000;
  const ms = time(() => {
    for (let q = 0; q < reps; q++) h.fn.gram_rows(h.base, rows, len, h.base + rows * len * 8, 0, rows);
  });
  out.l1_gram_gflops = +((reps * gramFlops(rows, len)) / ms / 1e6).toFixed(1);
}
{
  const rows = 1024;
  const len = 10000;
  const h = instance(rows * len + rows * rows);
  for (let i = 0; i < rows * len; i++) h.f64[h.base / 8 + i] = Math.sin(i);
  const G = h.base + rows * len * 8;
  const ms = time(() => {
    for (let i = 0; i < rows; i += 64) h.fn.gram_rows(h.base, rows, len, G, i, Math.min(rows, i + 64));
  });
  out.full_gram_ms = +ms.toFixed(0);
  out.full_gram_gflops = +((rows * rows * len) / ms / 1e6).toFixed(1); // upper triangle: n d^2 flops
}
console.log(JSON.stringify(out));
