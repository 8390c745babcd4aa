// tdlab sweep / runs / compare: pure expansion and resume logic (from dist/), then the CLI end to
// end on tiny sweeps with the local executor: resume, partial reruns, SIGINT and SIGKILL mid-sweep
// (finished runs untouched, metrics byte-identical to an uninterrupted sweep), failures and exit 3.
import assert from 'node:assert/strict';
import {readFileSync, rmSync, writeFileSync, existsSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {ROOT, fixture, tempDir, runCli, startCli, readJson, lines, sleep} from './helpers.js';
import {parseSweepText, expandSweep, formatOverride} from '../dist/sweep/spec.js';
import {arraySpec, parseArraySpec, pointStatus, duplicateHash} from '../dist/sweep/plan.js';
import {configDiff} from '../dist/sweep/runs.js';

const TINY_SWEEP = join(ROOT, 'configs', 'sweeps', 'tiny.yaml');
const BASE = fixture('tiny.yaml');
const tmp = [];
const temp = (p) => {
  const d = tempDir(p);
  tmp.push(d);
  return d;
};

/** Writes a sweep file (base: the tiny fixture) into a temp dir; returns its path. */
function sweepFile(body, name = 'sw') {
  const dir = temp('tdlab-sweepfile-');
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\nbase: ${JSON.stringify(BASE)}\n${body}`);
  return file;
}

const parse = (text) => parseSweepText(text, 'x.yaml', 'x');
const sweepJson = (dir) => readJson(join(dir, 'sweep.json'));
const byteMap = (dir, rel) => Object.fromEntries(sweepJson(dir).points.map((p) => [p.configHash, readFileSync(join(dir, p.runDir, rel))]));

function parseJson(r) {
  let obj;
  assert.doesNotThrow(() => (obj = JSON.parse(r.stdout)), `stdout is not one JSON document:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return obj;
}

after(function () {
  for (const d of tmp) rmSync(d, {recursive: true, force: true});
});

describe('sweep expansion (pure)', function () {
  it('grid: odometer order, last axis fastest, seeds innermost; ranges and fixed overrides', function () {
    const spec = parse('base: b.yaml\nset: {train.epochs: 20}\naxes:\n  model.activation: [tanh, relu]\n  train.lr: {from: 1.0e-4, to: 1.0e-2, num: 3, log: true}\nseeds: 0..1\n');
    assert.deepEqual(spec.set, [['train.epochs', 20]]);
    const pts = expandSweep(spec);
    assert.equal(pts.length, 2 * 3 * 2);
    assert.deepEqual(pts[0], {overrides: {'model.activation': 'tanh', 'train.lr': 1e-4}, seed: 0});
    assert.deepEqual(pts[1], {overrides: {'model.activation': 'tanh', 'train.lr': 1e-4}, seed: 1});
    assert.deepEqual(pts[2].overrides, {'model.activation': 'tanh', 'train.lr': 0.001});
    assert.deepEqual(pts[11], {overrides: {'model.activation': 'relu', 'train.lr': 0.01}, seed: 1});
    assert.deepEqual(expandSweep(parse('base: b\naxes: {model.layers.0: 8..10}\n')).map((p) => p.overrides['model.layers.0']), [8, 9, 10]);
    assert.deepEqual(expandSweep(parse('base: b\naxes: {train.l2: {from: 0, to: 0.3, step: 0.1}}\n')).map((p) => p.overrides['train.l2']), [0, 0.1, 0.2, 0.3]);
    // no axes and no seeds: one point, the base itself
    assert.deepEqual(expandSweep(parse('base: b\n')), [{overrides: {}}]);
  });

  it('overrides round-trip through --set syntax (strings that look like numbers stay strings)', function () {
    assert.equal(formatOverride('model.activation', 'relu'), 'model.activation=relu');
    assert.equal(formatOverride('model.layers', [12, 8]), 'model.layers=[ 12, 8 ]');
    assert.equal(formatOverride('report.title', '1'), 'report.title="1"');
  });

  it('random sampling: n distinct grid settings, seeded (same seed, same points), each crossed with every seed', function () {
    const text = (seed) => `base: b\naxes:\n  model.activation: [tanh, relu, elu]\n  train.lr: [0.1, 0.01, 0.001]\nsample: {n: 4, seed: ${seed}}\nseeds: [0, 7]\n`;
    const a = expandSweep(parse(text(0)));
    assert.equal(a.length, 8);
    const settings = a.filter((_, i) => i % 2 === 0).map((p) => JSON.stringify(p.overrides));
    assert.equal(new Set(settings).size, 4, 'distinct settings');
    assert.deepEqual(a.map((p) => p.seed), [0, 7, 0, 7, 0, 7, 0, 7]);
    assert.deepEqual(expandSweep(parse(text(0))), a, 'deterministic');
    const others = [1, 2, 3].map((s) => JSON.stringify(expandSweep(parse(text(s)))));
    assert.ok(others.some((o) => o !== JSON.stringify(a)), 'another sample seed gives another sample');
    assert.throws(() => expandSweep(parse(text(0).replace('n: 4', 'n: 10'))), /more than the 9 settings/);
    // distributions need sample, and stay inside their interval
    assert.throws(() => parse('base: b\naxes: {train.lr: {loguniform: [1.0e-4, 1.0e-2]}}\n'), /need random sampling/);
    const d = expandSweep(parse('base: b\naxes: {train.lr: {loguniform: [1.0e-4, 1.0e-2]}}\nsample: {n: 20, seed: 3}\n'));
    assert.equal(d.length, 20);
    assert.ok(d.every((p) => p.overrides['train.lr'] >= 1e-4 && p.overrides['train.lr'] <= 1e-2));
  });

  it('rejects bad sweep files with one line naming the field', function () {
    assert.throws(() => parse('axes: {a: [1]}\n'), /x\.yaml: base: /);
    assert.throws(() => parse('base: b\nseeds: 3..1\n'), /seeds: empty range/);
    assert.throws(() => parse('base: b\naxes: {seed: [1, 2]}\n'), /seeds:/);
    assert.throws(() => parse('base: b\nfoo: 1\n'), /unknown key 'foo'/);
  });

  it('resume logic: status from provenance, pending indices as a Slurm array', function () {
    assert.equal(pointStatus(null, 'h', false), 'pending');
    assert.equal(pointStatus({status: 'done', configHash: 'h'}, 'h', false), 'done');
    assert.equal(pointStatus({status: 'done', configHash: 'other'}, 'h', false), 'pending');
    assert.equal(pointStatus({status: 'running', configHash: 'h'}, 'h', false), 'interrupted');
    assert.equal(pointStatus({status: 'running', configHash: 'h'}, 'h', true), 'running');
    assert.equal(pointStatus({status: 'failed', configHash: 'h'}, 'h', false), 'failed');
    assert.equal(arraySpec([8, 0, 1, 2, 5, 7]), '0-2,5,7-8');
    assert.deepEqual(parseArraySpec('0-2,5,7-8%2'), [0, 1, 2, 5, 7, 8]);
    assert.deepEqual(duplicateHash([{index: 0, configHash: 'abcdef0123456'}, {index: 1, configHash: 'abcdef0123457'}]), [0, 1]);
  });
});

describe('tdlab sweep (local executor, tiny sweep)', function () {
  this.timeout(120000);
  let dir;
  let first;

  before(async function () {
    dir = temp('tdlab-sweep-a-');
    first = await runCli(['sweep', TINY_SWEEP, '--jobs', '2', '--out', dir, '--json']);
  });

  it('runs 2 activations x 2 seeds: exit 0, sweep.json lists 4 done runs with distinct hashes', function () {
    assert.equal(first.code, 0, first.stderr);
    const out = parseJson(first);
    assert.equal(out.ran, 4);
    const idx = sweepJson(dir);
    assert.equal(idx.points.length, 4);
    assert.deepEqual(idx.counts, {total: 4, pending: 0, running: 0, done: 4, failed: 0, interrupted: 0});
    assert.deepEqual(idx.points.map((p) => [p.index, p.overrides['model.activation'], p.seed]), [[0, 'tanh', 0], [1, 'tanh', 1], [2, 'relu', 0], [3, 'relu', 1]]);
    assert.equal(new Set(idx.points.map((p) => p.configHash)).size, 4);
    for (const p of idx.points) {
      assert.equal(p.status, 'done');
      assert.equal(p.runDir, `runs/${p.configHash.slice(0, 12)}`);
      const prov = readJson(join(dir, p.runDir, 'provenance.json'));
      assert.equal(prov.status, 'done');
      assert.equal(prov.configHash, p.configHash);
      assert.equal(prov.seed, p.seed);
      assert.ok(existsSync(join(dir, p.runDir, 'report', 'summary.json')));
      assert.match(readFileSync(join(dir, p.runDir, 'config.yaml'), 'utf8'), new RegExp(`activation: ${p.overrides['model.activation']}\\b`));
      assert.match(readFileSync(join(dir, p.runDir, 'logs', 'sweep.stderr.log'), 'utf8'), /train: /, 'the job log is kept in the run directory');
    }
  });

  it('re-running does nothing: every run skipped, quickly, no file touched', async function () {
    const before_ = Object.fromEntries(sweepJson(dir).points.map((p) => [p.index, statSync(join(dir, p.runDir, 'provenance.json')).mtimeMs]));
    const r = await runCli(['sweep', TINY_SWEEP, '--jobs', '2', '--out', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = parseJson(r);
    assert.equal(out.skipped, 4);
    assert.equal(out.ran, 0);
    assert.ok(r.ms < 8000, `took ${r.ms} ms`);
    for (const p of sweepJson(dir).points) assert.equal(statSync(join(dir, p.runDir, 'provenance.json')).mtimeMs, before_[p.index]);
  });

  it('a run whose report was deleted and that is marked failed is redone, alone', async function () {
    const pts = sweepJson(dir).points;
    const victim = pts[2];
    const vdir = join(dir, victim.runDir);
    rmSync(join(vdir, 'report'), {recursive: true});
    const prov = readJson(join(vdir, 'provenance.json'));
    prov.status = 'failed';
    prov.stages.report.status = 'failed';
    writeFileSync(join(vdir, 'provenance.json'), JSON.stringify(prov));
    const metricsBefore = readFileSync(join(vdir, 'metrics', 'metrics.csv'));
    const others = Object.fromEntries(pts.filter((p) => p !== victim).map((p) => [p.index, statSync(join(dir, p.runDir, 'provenance.json')).mtimeMs]));
    const r = await runCli(['sweep', TINY_SWEEP, '--out', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = parseJson(r);
    assert.equal(out.ran, 1);
    assert.equal(out.skipped, 3);
    assert.ok(existsSync(join(vdir, 'report', 'summary.json')), 'report redone');
    assert.equal(readJson(join(vdir, 'provenance.json')).status, 'done');
    assert.deepEqual(readFileSync(join(vdir, 'metrics', 'metrics.csv')), metricsBefore);
    for (const p of pts.filter((q) => q !== victim)) assert.equal(statSync(join(dir, p.runDir, 'provenance.json')).mtimeMs, others[p.index], `run ${p.index} touched`);
  });

  it('--emit commands prints one tdlab run line per pending point (none when all are done)', async function () {
    const fresh = temp('tdlab-sweep-emit-');
    const r = await runCli(['sweep', TINY_SWEEP, '--out', fresh, '--emit', 'commands']);
    assert.equal(r.code, 0, r.stderr);
    const ls = lines(r.stdout);
    assert.equal(ls.length, 4);
    ls.forEach((l, i) => assert.equal(l, `tdlab run --from-sweep ${fresh} --index ${i}`));
    assert.equal(sweepJson(fresh).counts.pending, 4);
    const none = await runCli(['sweep', TINY_SWEEP, '--out', dir, '--emit', 'commands']);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, '');
    // a printed command works as is (tdlab = node bin/run.js) and is idempotent
    const one = await runCli(['run', '--from-sweep', fresh, '--index', '3', '--json']);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(parseJson(one).configHash, sweepJson(fresh).points[3].configHash);
    const again = await runCli(['sweep', TINY_SWEEP, '--out', fresh, '--emit', 'commands']);
    assert.equal(lines(again.stdout).length, 3);
  });

  it('runs --json lists the runs with status, hash, seed and key metrics', async function () {
    const r = await runCli(['runs', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = parseJson(r);
    assert.equal(out.runs.length, 4);
    const hashes = sweepJson(dir).points.map((p) => p.configHash).sort();
    assert.deepEqual(out.runs.map((x) => x.configHash).sort(), hashes);
    for (const x of out.runs) {
      assert.equal(x.status, 'done');
      assert.equal(x.name, 'tiny');
      assert.ok([0, 1].includes(x.seed));
      assert.ok(['tanh', 'relu'].includes(x.activation));
      assert.equal(typeof x.trainAcc, 'number');
      assert.equal(typeof x.testAcc, 'number');
      assert.equal(x.lastHidden, 'h5');
      assert.equal(typeof x.compression['mi.bin'], 'number');
      assert.ok(!Number.isNaN(Date.parse(x.startedAt)));
    }
    const text = await runCli(['runs', dir]);
    assert.equal(text.code, 0);
    assert.equal(lines(text.stdout).length, 5, text.stdout);
  });

  it('compare --json shows the differing config keys and side-by-side metrics', async function () {
    const pts = sweepJson(dir).points;
    const [a, b, c] = [pts[0], pts[2], pts[1]].map((p) => join(dir, p.runDir));
    const r = await runCli(['compare', a, b, c, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = parseJson(r);
    assert.equal(out.runs.length, 3);
    const diff = Object.fromEntries(out.configDiff.map((d) => [d.key, d.values]));
    assert.deepEqual(diff['model.activation'], ['tanh', 'relu', 'tanh']);
    assert.deepEqual(diff.seed, [0, 0, 1]);
    assert.equal(Object.keys(diff).length, 2, JSON.stringify(diff));
    const m = Object.fromEntries(out.metrics.map((x) => [x.key, x.values]));
    const summaries = [a, b, c].map((d) => readJson(join(d, 'report', 'summary.json')));
    assert.deepEqual(m['final.testAcc'], summaries.map((s) => s.final.testAcc));
    const h5 = summaries.map((s) => s.layers.find((l) => l.name === 'h5').mi.find((x) => x.estimator === 'mi.bin'));
    assert.deepEqual(m['h5.mi.bin.compression'], h5.map((x) => x.compression));
    assert.deepEqual(m['h5.mi.bin.finalIXT'], h5.map((x) => x.finalIXT));
    const one = await runCli(['compare', a, '--json']);
    assert.equal(one.code, 2);
  });

  it('compare leaves out execution keys: metrics.threads changes no value, so it is no difference', function () {
    const base = {seed: 0, metrics: {estimators: ['mi.bin']}};
    assert.deepEqual(configDiff([{...base, metrics: {...base.metrics, threads: 1}}, {...base, metrics: {...base.metrics, threads: 2}}, base]), []);
    const d = configDiff([{...base, metrics: {...base.metrics, threads: 1}}, {...base, seed: 1}]);
    assert.deepEqual(d, [{key: 'seed', values: [0, 1]}]);
  });

  it('a bad sweep file is a usage error (exit 2, one line naming the point)', async function () {
    const f = sweepFile('axes:\n  model.activaton: [tanh]\n');
    const r = await runCli(['sweep', f, '--out', temp('tdlab-sweep-bad-')]);
    assert.equal(r.code, 2);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /point 0 .*unknown key 'activaton'/);
  });
});

describe('tdlab sweep: failures', function () {
  this.timeout(120000);
  // relu + SGD at lr 1e30 makes the loss NaN at epoch 1: the train stage fails
  const failing = 'set: {train.epochs: 20, train.snapshots: "every:10", train.optimizer: sgd, model.activation: relu}\n';

  it('--keep-going: a failing point gives exit 3, the others are done', async function () {
    const f = sweepFile(`${failing}axes:\n  train.lr: [0.01, 1.0e30, 0.001]\n`);
    const dir = temp('tdlab-sweep-fail-');
    const r = await runCli(['sweep', f, '--out', dir, '--jobs', '2', '--keep-going', '--json']);
    assert.equal(r.code, 3, r.stderr);
    const idx = sweepJson(dir);
    assert.deepEqual(idx.points.map((p) => p.status), ['done', 'failed', 'done']);
    assert.match(idx.points[1].error, /train/);
    assert.equal(readJson(join(dir, idx.points[1].runDir, 'provenance.json')).status, 'failed');
    assert.deepEqual(parseJson(r).counts, {total: 3, pending: 0, running: 0, done: 2, failed: 1, interrupted: 0});
    // without --json: the failure is named on stderr
    const again = await runCli(['sweep', f, '--out', dir]);
    assert.equal(again.code, 3);
    assert.match(again.stderr, /failed #1 train\.lr=1e\+30/);
  });

  it('--fail-fast stops at the first failure (later points not run), exit 3', async function () {
    const f = sweepFile(`${failing}axes:\n  train.lr: [1.0e30, 0.01, 0.02, 0.03]\n`);
    const dir = temp('tdlab-sweep-ff-');
    const r = await runCli(['sweep', f, '--out', dir, '--jobs', '1', '--fail-fast']);
    assert.equal(r.code, 3, r.stderr);
    const st = sweepJson(dir).points.map((p) => p.status);
    assert.equal(st[0], 'failed');
    assert.deepEqual(st.slice(1), ['pending', 'pending', 'pending']);
    for (const p of sweepJson(dir).points.slice(1)) assert.ok(!existsSync(join(dir, p.runDir, 'provenance.json')));
  });
});

describe('tdlab sweep: killed midway, then re-run', function () {
  this.timeout(240000);
  // slower points: 2 activations x 2 seeds, 150 epochs each (several seconds per run)
  const body = 'set: {train.epochs: 150, train.snapshots: "every:50"}\naxes:\n  model.activation: [tanh, relu]\nseeds: 0..1\n';
  let file;
  let ref;

  before(async function () {
    file = sweepFile(body, 'slow');
    ref = temp('tdlab-sweep-ref-');
    const r = await runCli(['sweep', file, '--out', ref, '--jobs', '2']);
    assert.equal(r.code, 0, r.stderr);
  });

  /** Starts the sweep, waits until a first run is done, sends `sig`; returns the result and the runs done by then. */
  async function killAfterFirstDone(dir, sig) {
    const {child, done} = startCli(['sweep', file, '--out', dir, '--jobs', '2']);
    const t0 = Date.now();
    let finished = [];
    for (;;) {
      await sleep(200);
      if (existsSync(join(dir, 'sweep.json'))) {
        try {
          finished = sweepJson(dir).points.filter((p) => p.status === 'done');
        } catch {
          finished = [];
        }
      }
      if (finished.length > 0) break;
      assert.ok(Date.now() - t0 < 90000, 'no run finished within 90 s');
    }
    child.kill(sig);
    const res = await done;
    return {res, finished};
  }

  /** Waits until no worker holds a run lock (orphans of a killed sweep stop by themselves within ~1 s). */
  async function workersGone(dir) {
    const t0 = Date.now();
    for (;;) {
      const live = sweepJson(dir).points.filter((p) => {
        const f = join(dir, p.runDir, '.lock');
        if (!existsSync(f)) return false;
        const text = readFileSync(f, 'utf8');
        const pid = text.startsWith('{') ? JSON.parse(text).pid : Number(text.split(' ')[0]);
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      });
      if (live.length === 0) return Date.now() - t0;
      assert.ok(Date.now() - t0 < 20000, `workers still running 20 s after the sweep died: ${live.map((p) => p.index)}`);
      await sleep(200);
    }
  }

  async function checkRerun(dir, finishedBefore) {
    await workersGone(dir);
    const idx = sweepJson(dir);
    const doneNow = idx.points.filter((p) => existsSync(join(dir, p.runDir, 'provenance.json')) && readJson(join(dir, p.runDir, 'provenance.json')).status === 'done');
    assert.ok(doneNow.length >= 1 && doneNow.length < 4, `done after the kill: ${doneNow.length}`);
    const keep = Object.fromEntries(doneNow.map((p) => [p.index, readFileSync(join(dir, p.runDir, 'provenance.json'))]));
    const r = await runCli(['sweep', file, '--out', dir, '--jobs', '2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = parseJson(r);
    assert.equal(out.ran, 4 - doneNow.length, 'only what was missing runs');
    assert.equal(out.counts.done, 4);
    for (const p of doneNow) assert.deepEqual(readFileSync(join(dir, p.runDir, 'provenance.json')), keep[p.index], `finished run ${p.index} was touched`);
    for (const p of finishedBefore) assert.ok(keep[p.index], `run ${p.index} was done before the kill`);
    const want = byteMap(ref, 'metrics/metrics.csv');
    const got = byteMap(dir, 'metrics/metrics.csv');
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
    for (const h of Object.keys(want)) assert.ok(want[h].equals(got[h]), `metrics.csv of ${h.slice(0, 12)} differs from the uninterrupted sweep`);
  }

  it('SIGINT: workers stop cleanly (exit 130, runs marked interrupted); the re-run finishes only what was missing, byte-identical', async function () {
    const dir = temp('tdlab-sweep-int-');
    const {res, finished} = await killAfterFirstDone(dir, 'SIGINT');
    assert.equal(res.code, 130, res.stderr.slice(-2000));
    const st = sweepJson(dir).points.map((p) => p.status);
    assert.ok(st.includes('interrupted'), `statuses after SIGINT: ${st}`);
    assert.ok(!st.includes('running'), `statuses after SIGINT: ${st}`);
    // a worker stopped after it wrote its provenance records the interruption there
    for (const p of sweepJson(dir).points.filter((q) => q.status === 'interrupted')) {
      const f = join(dir, p.runDir, 'provenance.json');
      if (existsSync(f)) assert.equal(readJson(f).status, 'interrupted');
    }
    await checkRerun(dir, finished);
  });

  it('SIGKILL: finished runs stay intact; the re-run finishes only what was missing, byte-identical', async function () {
    const dir = temp('tdlab-sweep-kill-');
    const {res, finished} = await killAfterFirstDone(dir, 'SIGKILL');
    assert.equal(res.signal, 'SIGKILL');
    await checkRerun(dir, finished);
  });
});
