// sim.cka (spec 13.1): tdlab (src/metrics/similarity/cka.ts: one float64 SIMD Gram of [X Y]^T for
// the linear kernel, n x n kernels for RBF) vs NumPy (bench/cka_numpy.py), interleaved rounds:
// each round times `--reps` TS runs, then one Python process timing `--reps` runs; medians over
// all rounds. Settings: n rows, p and q columns, kernel, debiased; data from bench/section13-lib.mjs.
//
//   npx tsc -p tsconfig.json
//   node bench/cka.mjs --rows 2000 --p 64 --q 64 --kernel linear --debiased 0 --rounds 5 --reps 3 [--python /usr/bin/python3]
import {spawnSync} from 'node:child_process';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {cka} from '../dist/metrics/similarity/cka.js';
import {median, opt} from './lib.mjs';
import {pattern} from './section13-lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const n = Number(opt('rows', 2000));
const p = Number(opt('p', 64));
const q = Number(opt('q', 64));
const kernel = opt('kernel', 'linear');
const debiased = opt('debiased', '0') === '1';
const rounds = Number(opt('rounds', 5));
const reps = Number(opt('reps', 3));
const python = opt('python', 'python3');

const X = {data: pattern(n, p, 1), rows: n, cols: p};
const a = pattern(n, q, 2);
const b = pattern(n, q, 3);
const Y = {data: a.map((v, i) => Math.tanh(v + 0.5 * b[i])), rows: n, cols: q};
const once = () => {
  const t0 = performance.now();
  const r = cka(X, Y, {kernel, debiased});
  return {ms: performance.now() - t0, value: r.value};
};
once();
const ts = [];
const py = [];
let value = NaN;
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < reps; k++) {
    const o = once();
    ts.push(o.ms);
    value = o.value;
  }
  const out = spawnSync(python, [join(here, 'cka_numpy.py'), '--rows', String(n), '--p', String(p), '--q', String(q), '--kernel', kernel, '--debiased', debiased ? '1' : '0', '--reps', String(reps)], {encoding: 'utf8', cwd: here});
  if (out.status !== 0) throw new Error(out.stderr);
  py.push(JSON.parse(out.stdout.trim().split('\n').pop()));
}
const tsMs = median(ts);
const pyMs = median(py.map((o) => o.ms));
console.log(JSON.stringify({what: 'sim.cka', rows: n, p, q, kernel, debiased, rounds, reps, ts_ms: +tsMs.toFixed(2), numpy_ms: +pyMs.toFixed(2), ratio_ts_over_numpy: +(tsMs / pyMs).toFixed(2), value_ts: value, value_numpy: py[py.length - 1].value, abs_diff: Math.abs(value - py[py.length - 1].value)}));
