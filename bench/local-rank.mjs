// Local rank (spec 5, geom.local_rank) of a random 4 x 200 ReLU MLP on 128 random 784-dim points,
// all 4 layers, pre-activation, tol 0.01: tdlab (plain TS, float64, one thread) against NumPy
// (bench/local_rank_numpy.py, same deterministic weights and points), interleaved rounds.
// Build first (npx tsc -p tsconfig.json), then:
//   node bench/local-rank.mjs --rounds 5                        # TS only
//   node bench/local-rank.mjs --rounds 5 --numpy eigvalsh,gram  # + NumPy, interleaved
//   OPENBLAS_NUM_THREADS=1 node bench/local-rank.mjs --rounds 5 --numpy eigvalsh
// Prints one JSON line per implementation (median / min of the rounds, per-layer local ranks).
import {spawn} from 'node:child_process';
import {createInterface} from 'node:readline';
import {fileURLToPath} from 'node:url';
import {localRank} from '../dist/metrics/model/local-rank/analytic.js';

const argv = process.argv;
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const rounds = Number(arg('rounds', 5));
const points = Number(arg('points', 128));
const d0 = Number(arg('input', 784));
const width = Number(arg('width', 200));
const depth = Number(arg('depth', 4));
const tol = Number(arg('tol', 0.01));
const method = arg('method', 'auto');
const numpy = (arg('numpy', '') || '').split(',').filter(Boolean);
const python = arg('python', 'python3');

// lowbias32 hash of a counter (same as local_rank_numpy.py): uniform on (-sqrt 3, sqrt 3)
function uniform(stream, n) {
  const out = new Float64Array(n);
  const base = Math.imul(stream, 0x9e3779b9) >>> 0;
  for (let i = 0; i < n; i++) {
    let x = (base + i) >>> 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x7feb352d) >>> 0;
    x ^= x >>> 15;
    x = Math.imul(x, 0x846ca68b) >>> 0;
    x ^= x >>> 16;
    out[i] = (2 * (((x >>> 0) + 0.5) / 4294967296) - 1) * Math.sqrt(3);
  }
  return out;
}

const dims = [d0, ...Array(depth).fill(width)];
const layers = [];
for (let l = 0; l < depth; l++) {
  const s = Math.sqrt(2 / dims[l]);
  const W = Float32Array.from(uniform(2 * l + 1, dims[l] * dims[l + 1]), (v) => v * s);
  const b = Float32Array.from(uniform(2 * l + 2, dims[l + 1]), (v) => 0.01 * v);
  layers.push({W, rows: dims[l], cols: dims[l + 1], b, activation: 'relu'});
}
const net = {layers};
const X = {data: Float32Array.from(uniform(1000, points * d0)), rows: points, cols: d0};
const opts = {tol, post: false, points, method};

function runTs() {
  const t0 = process.hrtime.bigint();
  const r = localRank(net, X, opts);
  return {ms: Number(process.hrtime.bigint() - t0) / 1e6, lr: r.layers.map((l) => l.meanRank), method: r.method};
}

let py;
let lines;
async function pyStart() {
  const script = fileURLToPath(new URL('./local_rank_numpy.py', import.meta.url));
  py = spawn(python, [script, '--serve', '--points', String(points), '--input', String(d0), '--width', String(width), '--depth', String(depth), '--tol', String(tol), '--methods', numpy.join(',')], {stdio: ['pipe', 'pipe', 'inherit']});
  lines = createInterface({input: py.stdout})[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done || !JSON.parse(first.value).ready) throw new Error('numpy side did not start');
}
async function runPy(m) {
  py.stdin.write(`${m}\n`);
  const r = await lines.next();
  const o = JSON.parse(r.value);
  return {ms: o.ms, lr: o.local_rank};
}

runTs(); // warm-up (JIT)
if (numpy.length) await pyStart();
const times = {ts: []};
const ranks = {};
for (const m of numpy) times[`numpy-${m}`] = [];
for (let r = 0; r < rounds; r++) {
  const t = runTs();
  times.ts.push(t.ms);
  ranks.ts = t.lr;
  ranks.tsMethod = t.method;
  for (const m of numpy) {
    const o = await runPy(m);
    times[`numpy-${m}`].push(o.ms);
    ranks[`numpy-${m}`] = o.lr;
  }
}
if (py) py.stdin.end();
const med = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
for (const [impl, ts] of Object.entries(times)) {
  console.log(JSON.stringify({
    what: 'local-rank', impl: impl === 'ts' ? `ts-${ranks.tsMethod}` : impl, points, input: d0, width, depth, tol, rounds,
    ms_median: +med(ts).toFixed(1), ms_min: +Math.min(...ts).toFixed(1), ms_rounds: ts.map((v) => +v.toFixed(0)),
    local_rank: ranks[impl], ...(impl === 'ts' ? {node: process.version} : {ratio_ts_over_this: +(med(times.ts) / med(ts)).toFixed(2)}),
  }));
}
