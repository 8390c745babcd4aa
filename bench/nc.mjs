// nc.collapse (spec 13.4): tdlab (src/metrics/collapse/nc.ts: K x K eigenproblem, no d x d matrix)
// vs NumPy (bench/nc_numpy.py: d x d covariances and pinv, as Papyan et al.), interleaved rounds,
// medians. Data from bench/section13-lib.mjs.
//
//   npx tsc -p tsconfig.json
//   node bench/nc.mjs --rows 5000 --width 128 --classes 10 --rounds 5 --reps 3 [--python /usr/bin/python3]
import {spawnSync} from 'node:child_process';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {neuralCollapse} from '../dist/metrics/collapse/nc.js';
import {median, opt} from './lib.mjs';
import {pattern} from './section13-lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const n = Number(opt('rows', 5000));
const d = Number(opt('width', 128));
const K = Number(opt('classes', 10));
const rounds = Number(opt('rounds', 5));
const reps = Number(opt('reps', 3));
const python = opt('python', 'python3');

const y = Int32Array.from({length: n}, (_, i) => i % K);
const C = pattern(K, d, 4).map((v) => 3 * v);
const noise = pattern(n, d, 5);
const H = {data: noise.map((v, t) => C[y[Math.floor(t / d)] * d + (t % d)] + v), rows: n, cols: d};
const wn = pattern(d, K, 6);
const W = {data: wn.map((v, t) => C[(t % K) * d + Math.floor(t / K)] + 0.5 * v), rows: d, cols: K};
const b = pattern(1, K, 7).map((v) => 0.1 * v);
const once = () => {
  const t0 = performance.now();
  const r = neuralCollapse(H, y, {W, b});
  return {ms: performance.now() - t0, values: [r.NC1, r.NC2_norm, r.NC2_angle, r.NC3, r.NC4]};
};
once();
const ts = [];
const py = [];
let values = [];
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < reps; k++) {
    const o = once();
    ts.push(o.ms);
    values = o.values;
  }
  const out = spawnSync(python, [join(here, 'nc_numpy.py'), '--rows', String(n), '--width', String(d), '--classes', String(K), '--reps', String(reps)], {encoding: 'utf8', cwd: here});
  if (out.status !== 0) throw new Error(out.stderr);
  py.push(JSON.parse(out.stdout.trim().split('\n').pop()));
}
const tsMs = median(ts);
const pyMs = median(py.map((o) => o.ms));
const ref = py[py.length - 1].values;
console.log(JSON.stringify({what: 'nc.collapse', rows: n, width: d, classes: K, rounds, reps, ts_ms: +tsMs.toFixed(2), numpy_ms: +pyMs.toFixed(2), ratio_ts_over_numpy: +(tsMs / pyMs).toFixed(2), max_rel_diff: Math.max(...values.map((v, i) => Math.abs(v - ref[i]) / Math.max(1e-300, Math.abs(ref[i]))))}));
