// Issue 11.9, fuzzing: seeded mutations of the shipped configs and sweep files, and of sweep.json.
// Every case must end as `tdlab validate` would: accepted, or a UserError with exit code 2 (one
// line naming the problem) - never another exception, which the CLI would print as a stack trace.
// In-process for speed (the same library calls validate and the sweep worker make), plus a sample
// through the CLI and a few full runs, which must leave no run directory that looks finished
// unless they exit 0.
import assert from 'node:assert/strict';
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {parse, stringify} from 'yaml';
import {ROOT, fixture, readJson, runCli, tempDir} from './helpers.js';
import {seeded} from './fault-lib.js';
import {parseConfig} from '../dist/config/load.js';
import {preflight} from '../dist/run/preflight.js';
import {newSweepIndex, resolveSweep} from '../dist/sweep/resolve.js';
import {pointRunDir} from '../dist/sweep/worker.js';
import {encodeNpy} from '../dist/io/npy.js';

// TDLAB_FUZZ_SCALE=10 runs ten times as many in-process cases (the same seeds continue the streams)
const SCALE = Math.max(1, Number(process.env.TDLAB_FUZZ_SCALE) || 1);
const CASES = {configs: 320 * SCALE, sweeps: 120 * SCALE, indexes: 100 * SCALE, cli: 24, runs: 3};
const SEED = 2026;

const dir = tempDir('tdlab-fuzz-');
after(() => rmSync(dir, {recursive: true, force: true}));

// files a mutated config may point at
const FILES = (() => {
  const good = join(dir, 'good.csv');
  writeFileSync(good, 'a,b,label\n' + Array.from({length: 30}, (_, i) => `${(i % 7) / 7},${(i % 3) / 3},${i % 2}`).join('\n') + '\n');
  writeFileSync(join(dir, 'empty-cell.csv'), 'a,b,label\n0.5,,1\n0.25,0.5,0\n');
  writeFileSync(join(dir, 'one-class.csv'), 'a,label\n0.5,1\n0.25,1\n');
  writeFileSync(join(dir, 'blank.csv'), '');
  writeFileSync(join(dir, 'x.npy'), encodeNpy(Float32Array.from({length: 60}, (_, i) => i / 60), [30, 2]));
  writeFileSync(join(dir, 'y.npy'), encodeNpy(Int32Array.from({length: 30}, (_, i) => i % 3), [30]));
  writeFileSync(join(dir, 'garbage.npz'), 'PK not a zip');
  writeFileSync(join(dir, 'garbage.idx'), Buffer.from([0, 0, 8, 3, 0, 0]));
  mkdirSync(join(dir, 'a-directory.csv'));
  return [good, 'good.csv', join(dir, 'empty-cell.csv'), join(dir, 'one-class.csv'), join(dir, 'blank.csv'), join(dir, 'x.npy'), join(dir, 'y.npy'), join(dir, 'garbage.npz'), join(dir, 'garbage.idx'), join(dir, 'a-directory.csv'), join(ROOT, 'package.json'), '/nonexistent/file.csv', '', '.', '..'];
})();

const VALUES = [
  -1, 0, 1, 2, 3, 0.5, 1e-300, 1e9, 1e12, 1e308, -1e308, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER, 'NaN', '.inf', '', ' ', '..', '.', 'a/b', '/etc/passwd', '☃',
  'x'.repeat(300), null, true, false, [], {}, [1, 2, 3], [0], [-1], ['relu'], {name: 'geom.dse'}, 'relu', 'tanh', 'linear', 'adam', 'sgd', 'table', 'mnist', 'gaussian-mixture',
  'sparse-parity', 'twelve-bit', 'log:0', 'log:1', 'log:100000000', 'every:0', 'every:1', 'ibsgd', 'mi.kde', 'geom.local_rank', 'weights.features', 'median', '0..1e9', '1..0',
  {type: 'conv2d', filters: 1e6, kernel: 3}, {type: 'dense', units: 1e9}, {type: 'maxpool2d'}, {type: 'flatten'}, {type: 'dropout', rate: 1}, ...FILES,
];
const KEYS = ['name', 'seed', 'stages', 'data', 'model', 'train', 'metrics', 'report', 'options', 'path', 'labels', 'labelColumn', 'idx', 'dir', 'images', 'limit', 'rows', 'dim', 'classes',
  'layers', 'activation', 'init', 'epochs', 'batchSize', 'lr', 'optimizer', 'snapshots', 'schedule', 'every', 'maxRows', 'params', 'estimators', 'subsets', 'bins', 'lo', 'hi',
  'binWidth', 'k', 'points', 'sigma', 'trainFraction', 'split', 'units', 'type', 'kernel', 'filters', 'evalEvery', 'weightDecay', 'momentum', 'unknownKey'];

function mutator(rnd) {
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
  /** Every (container, key) in a value. */
  const slots = (v, out = []) => {
    if (v && typeof v === 'object') {
      for (const k of Object.keys(v)) {
        out.push([v, Array.isArray(v) ? Number(k) : k]);
        slots(v[k], out);
      }
    }
    return out;
  };
  const structural = (obj) => {
    const all = slots(obj);
    const op = Math.floor(rnd() * 6);
    if (op === 0 && all.length) {
      const [c, k] = pick(all);
      if (Array.isArray(c)) c.splice(k, 1);
      else delete c[k];
    } else if (op <= 2 && all.length) {
      const [c, k] = pick(all);
      c[k] = clone(pick(VALUES));
    } else if (op === 3) {
      const containers = [obj, ...all.map(([c, k]) => c[k]).filter((v) => v && typeof v === 'object' && !Array.isArray(v))];
      pick(containers)[pick(KEYS)] = clone(pick(VALUES));
    } else if (op === 4) {
      // a dataset with file options
      obj.data = {name: pick(['table', 'mnist', 'gaussian-mixture', 'sparse-parity']), options: pick([{path: pick(FILES)}, {path: pick(FILES), labels: pick(FILES)}, {idx: {images: pick(FILES), labels: pick(FILES)}}, {idx: {dir: pick(FILES)}}, {rows: pick(VALUES), dim: pick(VALUES)}, {limit: pick(VALUES)}, {}])};
    } else {
      const est = {name: pick(['mi.bin', 'mi.kde', 'geom.dse', 'ent.renyi', 'mi.ebab', 'geom.local_rank', 'ib.lossy', 'mi.ksg', 'act.stats', 'no.such']), params: rnd() < 0.5 ? {} : {[pick(KEYS)]: clone(pick(VALUES))}};
      if (rnd() < 0.5) est.maxRows = pick(VALUES);
      if (rnd() < 0.3) est.every = pick(VALUES);
      obj.metrics = {...(obj.metrics ?? {}), estimators: [...(Array.isArray(obj.metrics?.estimators) ? obj.metrics.estimators : []), est]};
    }
  };
  const textual = (text) => {
    const i = Math.floor(rnd() * (text.length + 1));
    const op = Math.floor(rnd() * 4);
    if (op === 0) return text.slice(0, i);
    if (op === 1) return text.slice(0, i) + pick(['\t', ':', '{', '[', '"', "'", '\0', '\n  - ', ': :', '&a', '*a', '!!js/function', '\u2028']) + text.slice(i);
    const lines = text.split('\n');
    const j = Math.floor(rnd() * lines.length);
    if (op === 2) lines.splice(j, 0, lines[j]);
    else lines.splice(j, 1);
    return lines.join('\n');
  };
  return {
    pick,
    text(source) {
      if (rnd() < 0.25) return textual(source);
      let obj = parse(source) ?? {};
      for (let m = 1 + Math.floor(rnd() * 3); m > 0; m--) structural(obj);
      return stringify(obj);
    },
    overrides() {
      if (rnd() < 0.7) return [];
      return [pick(['train.epochs=1e12', 'name=..', 'model.layers.99=3', 'a..b=1', '=', 'seed=-1', 'train.snapshots=every:1', 'metrics.estimators.0.maxRows=0', 'data.options.path=/x', 'model.layers=[0]', 'train.lr=NaN', `name=${'n'.repeat(200)}`, 'stages=[report]'])];
    },
  };
}

/** ok | user (a UserError with exit 2) | the unexpected error. */
async function outcome(fn) {
  try {
    await fn();
    return {kind: 'ok'};
  } catch (err) {
    if (err && err.name === 'UserError' && err.exitCode === 2 && !String(err.message).includes('\n')) return {kind: 'user'};
    return {kind: 'crash', error: err && err.stack ? err.stack.split('\n').slice(0, 4).join(' | ') : String(err)};
  }
}

const SOURCES = ['configs/tishby.yaml', 'configs/dsmi.yaml', 'configs/local-rank.yaml', 'configs/mnist-cnn.yaml', 'configs/mnist-saxe.yaml', 'test/fixtures/tiny.yaml'].map((f) => [f, readFileSync(join(ROOT, f), 'utf8')]);

describe('issue 11.9: fuzzing configs, sweep files and sweep.json (seeded)', function () {
  this.timeout(300000);
  const crashes = [];
  const tally = {configs: {ok: 0, user: 0}, sweeps: {ok: 0, user: 0}, indexes: {ok: 0, user: 0}};

  it(`${CASES.configs} mutated configs: validated (schema, files, model, memory) or refused with exit 2`, async function () {
    const m = mutator(seeded(SEED));
    for (let i = 0; i < CASES.configs; i++) {
      const [name, source] = SOURCES[i % SOURCES.length];
      const text = m.text(source);
      const set = m.overrides();
      const file = join(dir, `config-${i}.yaml`);
      const r = await outcome(async () => {
        const loaded = parseConfig(text, file, {set});
        await preflight(loaded, {stages: loaded.config.stages});
      });
      if (r.kind === 'crash') crashes.push(`config ${i} (from ${name}, --set ${set.join(' ')}): ${r.error}\n${text}`);
      else tally.configs[r.kind]++;
    }
    assert.deepEqual(crashes, []);
    assert.ok(tally.configs.ok > 10 && tally.configs.user > 10, JSON.stringify(tally.configs));
  });

  it(`${CASES.sweeps} mutated sweep files: resolved or refused with exit 2`, async function () {
    const m = mutator(seeded(SEED + 1));
    const sources = ['configs/sweeps/tiny.yaml', 'configs/sweeps/saxe.yaml'].map((f) => readFileSync(join(ROOT, f), 'utf8').replace(/^base: .*$/m, `base: ${JSON.stringify(fixture('tiny.yaml'))}`));
    const before = crashes.length;
    for (let i = 0; i < CASES.sweeps; i++) {
      const file = join(dir, `sweep-${i}.yaml`);
      writeFileSync(file, m.text(sources[i % 2]));
      const r = await outcome(() => resolveSweep(file));
      if (r.kind === 'crash') crashes.push(`sweep ${i}: ${r.error}\n${readFileSync(file, 'utf8')}`);
      else tally.sweeps[r.kind]++;
    }
    assert.deepEqual(crashes.slice(before), []);
    assert.ok(tally.sweeps.ok > 5 && tally.sweeps.user > 5, JSON.stringify(tally.sweeps));
  });

  it(`${CASES.indexes} corrupted sweep.json files: the worker refuses (exit 2) or derives the run directory from the hash`, async function () {
    const rnd = seeded(SEED + 2);
    const m = mutator(rnd);
    const sweepFile = join(dir, 'index-sweep.yaml');
    writeFileSync(sweepFile, `name: ix\nbase: ${JSON.stringify(fixture('tiny.yaml'))}\naxes: {model.activation: [tanh, relu]}\n`);
    const resolved = resolveSweep(sweepFile);
    const sweepDir = join(dir, 'index-sweep');
    mkdirSync(sweepDir, {recursive: true});
    writeFileSync(join(sweepDir, 'base.yaml'), resolved.baseText);
    const valid = newSweepIndex(resolved, null);
    const before = crashes.length;
    for (let i = 0; i < CASES.indexes; i++) {
      let index = JSON.parse(JSON.stringify(valid));
      const p = index.points[0];
      const op = Math.floor(rnd() * 8);
      if (op === 0) p.runDir = m.pick(['../victim', '/tmp', 'runs/../../x', 'runs/abc', '', null, 42, 'runs/' + p.configHash.slice(0, 12)]);
      else if (op === 1) p.configHash = m.pick(['', 'zz', null, 'a'.repeat(64), valid.points[1].configHash, p.configHash.toUpperCase()]);
      else if (op === 2) index.base = m.pick(['../../../etc/passwd', '/etc/hostname', 'base.yaml', '', null, 'sweep.json']);
      else if (op === 3) p.set = m.pick([null, 'model.activation=relu', [1, 2], ['name=..'], ['model.activation=relu'], []]);
      else if (op === 4) p.seed = m.pick([-1, 1.5, 'x', null, 2 ** 40, 3]);
      else if (op === 5) index.points = m.pick([null, {}, [], [null], 'points']);
      else if (op === 6) index = m.pick([null, 3, 'x', [], {points: 'x'}]);
      else index.baseFile = m.pick([null, '/nowhere/base.yaml', 12, '']);
      const r = await outcome(() => {
        if (!index || typeof index !== 'object' || !Array.isArray(index.points)) {
          // what readSweepIndex sees on disk
          writeFileSync(join(sweepDir, 'sweep.json'), JSON.stringify(index));
          return import('../dist/sweep/store.js').then(({readSweepIndex}) => readSweepIndex(sweepDir));
        }
        const got = pointRunDir(sweepDir, index, 0);
        assert.equal(got.runDir, join(sweepDir, 'runs', got.loaded.hash.slice(0, 12)));
      });
      if (r.kind === 'crash') crashes.push(`index ${i} (op ${op}): ${r.error}`);
      else tally.indexes[r.kind]++;
    }
    assert.deepEqual(crashes.slice(before), []);
    assert.ok(tally.indexes.user > 20, JSON.stringify(tally.indexes));
  });

  it(`${CASES.cli} mutated configs through tdlab validate: exit 0 or 2, one line, no stack trace`, async function () {
    const m = mutator(seeded(SEED + 3));
    const jobs = Array.from({length: CASES.cli}, (_, i) => {
      const file = join(dir, `cli-${i}.yaml`);
      writeFileSync(file, m.text(SOURCES[i % SOURCES.length][1]));
      return ['validate', file, ...m.overrides().flatMap((o) => ['--set', o])];
    });
    const results = [];
    for (let i = 0; i < jobs.length; i += 2) results.push(...(await Promise.all(jobs.slice(i, i + 2).map((a) => runCli(a)))));
    const bad = results.filter((r) => !(r.code === 0 || (r.code === 2 && r.stderr.trim().split('\n').length === 1)) || /\n\s+at /.test(r.stderr));
    assert.deepEqual(bad.map((r) => `${r.args.join(' ')}: exit ${r.code}\n${r.stderr}`), []);
  });

  it(`${CASES.runs} mutated tiny configs run in full: a run directory looks finished only when the run exited 0`, async function () {
    const m = mutator(seeded(SEED + 4));
    const tiny = readFileSync(fixture('tiny.yaml'), 'utf8');
    for (let i = 0; i < CASES.runs; i++) {
      const file = join(dir, `run-${i}.yaml`);
      writeFileSync(file, m.text(tiny));
      const out = join(dir, `runs-${i}`);
      const r = await runCli(['run', file, '--out', out, '--set', 'train.epochs=3', '--set', 'train.snapshots=every:1', '--json']);
      assert.ok([0, 1, 2].includes(r.code) && !/\n\s+at /.test(r.stderr), `exit ${r.code}: ${r.stderr}`);
      const provs = existsSync(out) ? readdirSync(out, {recursive: true}).map(String).filter((f) => f.endsWith('provenance.json')).map((f) => readJson(join(out, f))) : [];
      if (r.code === 0) assert.ok(provs.length === 1 && provs[0].status === 'done');
      else if (r.code === 2) assert.equal(provs.length, 0, 'an input error creates no run directory');
      else assert.ok(provs.every((p) => p.status === 'failed' && Object.values(p.stages).some((s) => s.status === 'failed')), JSON.stringify(provs.map((p) => p.status)));
    }
  });

  after(function () {
    const n = CASES.configs + CASES.sweeps + CASES.indexes;
    process.stderr.write(`      fuzz: ${n} in-process cases (configs ${JSON.stringify(tally.configs)}, sweeps ${JSON.stringify(tally.sweeps)}, sweep.json ${JSON.stringify(tally.indexes)}), ${CASES.cli} CLI cases, ${CASES.runs} full runs; ${crashes.length} crashes\n`);
  });
});
