// curv.hessian (spec 13.2): the top Hessian eigenvalue of a dense MLP's mean cross-entropy.
// tdlab (src/metrics/model/curvature.ts: float64 R-operator HVPs batched over rows, Lanczos) vs
// PyTorch (bench/hessian_torch.py: HVPs by double backward, power iteration, float32 and float64),
// interleaved rounds, medians. Both sides do --hvps Hessian-vector products; tdlab's Lanczos
// value is reported with the steps it needed (it stops early at a 1e-6 relative residual).
//
//   npx tsc -p tsconfig.json
//   node bench/hessian.mjs --rows 1000 --dims 784,64,64,10 --act tanh --hvps 20 --rounds 3 --reps 2 --python /usr/bin/python3
import {spawnSync} from 'node:child_process';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {HessianOperator, hessianMetrics} from '../dist/metrics/model/curvature.js';
import {median, opt} from './lib.mjs';
import {mlp, pattern} from './section13-lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const n = Number(opt('rows', 1000));
const dims = opt('dims', '784,64,64,10').split(',').map(Number);
const act = opt('act', 'tanh');
const hvps = Number(opt('hvps', 20));
const rounds = Number(opt('rounds', 3));
const reps = Number(opt('reps', 2));
const python = opt('python', '/usr/bin/python3');

const net = mlp(dims, act);
const X = {data: pattern(n, dims[0], 21), rows: n, cols: dims[0]};
const y = Int32Array.from({length: n}, (_, i) => i % dims[dims.length - 1]);
/** Builds the operator (forward + backward once) and runs `hvps` products: the fixed-work timing. */
const once = () => {
  const t0 = performance.now();
  const op = new HessianOperator(net, X, y);
  let v = pattern(1, op.size, 40);
  for (let k = 0; k < hvps; k++) v = op.hvp(v);
  return performance.now() - t0;
};
once();
const ts = [];
const py32 = [];
const py64 = [];
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < reps; k++) ts.push(once());
  for (const [dtype, list] of [['float32', py32], ['float64', py64]]) {
    const out = spawnSync(python, [join(here, 'hessian_torch.py'), '--rows', String(n), '--dims', dims.join(','), '--act', act, '--hvps', String(hvps), '--reps', String(reps), '--dtype', dtype], {encoding: 'utf8', cwd: here});
    if (out.status !== 0) throw new Error(out.stderr);
    list.push(JSON.parse(out.stdout.trim().split('\n').pop()));
  }
}
const t0 = performance.now();
const lz = hessianMetrics(net, X, y, {iters: hvps, rows: n});
const lzMs = performance.now() - t0;
const tsMs = median(ts);
const m32 = median(py32.map((o) => o.ms_total));
const m64 = median(py64.map((o) => o.ms_total));
console.log(JSON.stringify({
  what: 'curv.hessian lambda_max', rows: n, dims, act, hvps, rounds, reps, torch_threads: py32[0].threads,
  ts_ms: +tsMs.toFixed(1), torch_f32_ms: +m32.toFixed(1), torch_f64_ms: +m64.toFixed(1),
  ratio_ts_over_torch_f32: +(tsMs / m32).toFixed(2), ratio_ts_over_torch_f64: +(tsMs / m64).toFixed(2),
  ts_lanczos: {lambda_max: lz.lambdaMax, steps: lz.iterations, converged: lz.converged, ms: +lzMs.toFixed(1)},
  torch_power_lambda_f64: py64[py64.length - 1].lambda_max,
}));
