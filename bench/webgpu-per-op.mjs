// Where the time of one tfjs-webgpu op goes: 200 chained tf.add on a [256, 10] tensor then one
// read, repeated; prints microseconds per op. `--profile DIR` also writes a CPU profile of the
// timed loop; `--summary DIR` prints its self time by function and by package.
//   node bench/webgpu-per-op.mjs [--reps 20] [--profile DIR]; node bench/webgpu-per-op.mjs --summary DIR
import {readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {parseArgs} from 'node:util';

const {values: a} = parseArgs({options: {reps: {type: 'string', default: '20'}, summary: {type: 'string'}, profile: {type: 'string'}}});
if (a.summary) {
  const file = readdirSync(a.summary).filter((f) => f.endsWith('.cpuprofile')).sort().pop();
  const prof = JSON.parse(readFileSync(join(a.summary, file), 'utf8'));
  const dt = new Map();
  prof.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  const by = new Map();
  let total = 0;
  for (const n of prof.nodes) {
    const t = dt.get(n.id) ?? 0;
    total += t;
    const f = n.callFrame;
    const where = f.url ? f.url.replace(/.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|bench)\//, '$1/') : '(native)';
    const key = `${f.functionName || '(anonymous)'} ${where.split('/').slice(0, 2).join('/')}`;
    by.set(key, (by.get(key) ?? 0) + t);
  }
  const rows = [...by].sort((x, y) => y[1] - x[1]).slice(0, 25);
  for (const [k, t] of rows) console.log(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`);
  // by package
  const pk = new Map();
  for (const n of prof.nodes) {
    const u = n.callFrame.url;
    const p = !u ? `(native: ${n.callFrame.functionName || 'program/gc/idle'})` : u.includes('node_modules/') ? u.replace(/.*node_modules\//, '').split('/').slice(0, u.includes('@') ? 2 : 1).join('/') : u.startsWith('node:') ? 'node internals' : 'tdlab';
    pk.set(p, (pk.get(p) ?? 0) + (dt.get(n.id) ?? 0));
  }
  console.log('--- by package');
  for (const [k, t] of [...pk].sort((x, y) => y[1] - x[1]).slice(0, 12)) console.log(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`);
  process.exit(0);
}
const {loadBackend} = await import('../dist/backend/tf.js');
const {tf, adapter} = await loadBackend('webgpu');
// time spent inside each Dawn call (wrapping the binding's prototype methods); the rest of an op is JavaScript
const inDawn = new Map();
const wrapAll = () => {
  for (const cls of ['GPUDevice', 'GPUQueue', 'GPUCommandEncoder', 'GPUComputePassEncoder', 'GPUBuffer', 'GPUComputePipeline']) {
    const proto = globalThis[cls]?.prototype;
    if (!proto) continue;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const d = Object.getOwnPropertyDescriptor(proto, name);
      if (name === 'constructor' || typeof d.value !== 'function') continue;
      const orig = d.value;
      const key = `${cls}.${name}`;
      proto[name] = function (...args) {
        const t = performance.now();
        try {
          return orig.apply(this, args);
        } finally {
          const e = inDawn.get(key) ?? {ms: 0, calls: 0};
          e.ms += performance.now() - t;
          e.calls++;
          inDawn.set(key, e);
        }
      };
    }
  }
};
const x0 = tf.randomNormal([256, 10], 0, 1, 'float32', 1);
const run = async () => {
  let x = x0;
  const made = [];
  for (let i = 0; i < 200; i++) {
    x = tf.add(x, 1);
    made.push(x);
  }
  await x.data();
  tf.dispose(made);
};
await run();
wrapAll();
// --profile DIR: a CPU profile of the timed loop only (the inspector's profiler, not --cpu-prof, so loading is left out)
let session;
if (a.profile) {
  const {Session} = await import('node:inspector/promises');
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const t0 = performance.now();
for (let r = 0; r < Number(a.reps); r++) await run();
const ms = (performance.now() - t0) / Number(a.reps);
if (session) {
  const {profile} = await session.post('Profiler.stop');
  const {mkdirSync, writeFileSync} = await import('node:fs');
  mkdirSync(a.profile, {recursive: true});
  writeFileSync(join(a.profile, `per-op-${Date.now()}.cpuprofile`), JSON.stringify(profile));
}
const ops = 200 * Number(a.reps);
const dawn = [...inDawn].sort((x, y) => y[1].ms - x[1].ms);
const dawnUs = dawn.reduce((t, [, e]) => t + e.ms, 0) * 1000 / ops;
console.log(JSON.stringify({
  bench: 'tfjs-webgpu-per-op', adapter: `${adapter.device || adapter.description} (${adapter.dawnBackend})`,
  us_per_op: Number(((ms * 1000) / 200).toFixed(1)),
  us_per_op_in_dawn_calls: Number(dawnUs.toFixed(1)),
  dawn_calls_per_op: Object.fromEntries(dawn.slice(0, 10).map(([k, e]) => [k, {calls: Number((e.calls / ops).toFixed(2)), us: Number(((e.ms * 1000) / ops).toFixed(1))}])),
}));
process.exit(0);
