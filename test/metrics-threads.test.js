// The metrics stage on worker threads (issue 9, item 5): snapshots computed by two workers give the
// bytes one thread gives (the serial path, whose values the estimator tests check against
// NumPy/SciPy references), the same notes, and the same refusal of bad input at the same place;
// the run records the thread count; metrics.threads is validated; Ctrl-C stops the workers; and a
// sweep that runs points side by side gives each point's metrics stage one thread.
import assert from 'node:assert/strict';
import {cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {availableParallelism} from 'node:os';
import {join} from 'node:path';
import {tableFromIPC} from 'apache-arrow';
import {lines, readJson, runAll, runCli, sleep, startCli, tempDir} from './helpers.js';

// several kinds of work at once: binning with a running maximum (mi.adaptmax), a KDE on a seeded
// subsample every other snapshot, k-NN MI, a similarity across snapshots (sim.cka: the previous and
// the final snapshot), weight metrics in the worker (local rank with seeded points, curvature
// with the learning rate, weights.esd whose NaN reasons become notes), neural collapse (the
// checkpoint's classifier), two row subsets
const CONFIG = `name: threads
seed: 3
stages: [data, train, metrics, report]
model: {activation: tanh, layers: [10, 7, 5, 4, 3]}
train: {epochs: 30, snapshots: 'every:5', gradientStats: false}
metrics:
  subsets: [all, train]
  estimators:
    - mi.bin
    - mi.adaptmax
    - {name: mi.kde, every: 2, maxRows: 512}
    - {name: mi.ksg, maxRows: 300}
    - {name: sim.cka, every: 2}
    - {name: geom.local_rank, params: {points: 16}}
    - {name: curv.hessian, params: {iters: 5, rows: 200}, every: 3}
    - weights.esd
    - nc.collapse
    - act.stats
`;

/** The run directory a `--json` command printed. */
function runDirOf(r) {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).runDir;
}

/** The one error line of a failed command, with the run directory taken out. */
function errorLine(r, dir) {
  const errs = lines(r.stderr).filter((l) => /^Error\b/.test(l));
  assert.equal(errs.length, 1, r.stderr);
  return errs[0].split(dir).join('<run>');
}

/** Puts NaN at (row, col) of a layer of a snapshot file, in place (the Arrow buffers are views of the file's bytes). */
function poison(file, layer, row, col) {
  const bytes = readFileSync(file);
  const d = tableFromIPC(bytes).getChild(layer).data[0];
  const values = d.children[0].values;
  assert.equal(values.buffer, bytes.buffer, 'the values are a view of the file');
  values[row * d.type.listSize + col] = NaN;
  writeFileSync(file, bytes);
  assert.ok(Number.isNaN(tableFromIPC(readFileSync(file)).getChild(layer).data[0].children[0].values[row * d.type.listSize + col]));
}

const snapshot = (runDir, epoch) => join(runDir, 'activations', `epoch_${String(epoch).padStart(6, '0')}.arrow`);

describe('metrics stage on worker threads', function () {
  this.timeout(300000);
  let dir;
  let cfg;
  let one;
  let two;
  before(async () => {
    dir = tempDir('tdlab-threads-');
    cfg = join(dir, 'threads.yaml');
    writeFileSync(cfg, CONFIG);
    const [r1, r2] = await runAll([
      ['run', cfg, '--out', join(dir, 'one'), '--set', 'metrics.threads=1', '--json'],
      ['run', cfg, '--out', join(dir, 'two'), '--set', 'metrics.threads=2', '--json'],
    ]);
    one = runDirOf(r1);
    two = runDirOf(r2);
  });
  after(() => rmSync(dir, {recursive: true, force: true}));

  it('tdlab run: metrics.threads 1 and 2 write the same metrics.arrow and metrics.csv bytes and the same notes; the stage records its threads', () => {
    const p1 = readJson(join(one, 'provenance.json'));
    const p2 = readJson(join(two, 'provenance.json'));
    assert.equal(p1.configHash, p2.configHash, 'metrics.threads is not part of the config hash');
    assert.equal(p1.stages.metrics.info.threads, 1);
    assert.equal(p2.stages.metrics.info.threads, 2);
    for (const f of ['metrics/metrics.arrow', 'metrics/metrics.csv']) assert.ok(readFileSync(join(one, f)).equals(readFileSync(join(two, f))), `${f} differs`);
    const rows = tableFromIPC(readFileSync(join(one, 'metrics/metrics.arrow')));
    const names = new Set(rows.getChild('estimator').toArray());
    for (const n of ['mi.adaptmax', 'mi.kde', 'mi.ksg', 'sim.cka', 'geom.local_rank', 'curv.hessian', 'weights.esd', 'nc.collapse']) assert.ok(names.has(n), `${n} computed`);
    assert.ok(p1.stages.metrics.notes.some((n) => n.startsWith('weights.esd')), 'NaN reasons are noted');
    assert.deepEqual(p2.stages.metrics.notes, p1.stages.metrics.notes);
  });

  it('tdlab metrics --force --threads 1 / 2 on copies of a run: the same metrics.arrow as the run, the same report/summary.json', async () => {
    const c1 = join(dir, 'copy1');
    const c2 = join(dir, 'copy2');
    cpSync(one, c1, {recursive: true});
    cpSync(one, c2, {recursive: true});
    const [r1, r2] = await runAll([
      ['metrics', c1, '--force', '--threads', '1', '--json'],
      ['metrics', c2, '--force', '--threads', '2', '--json'],
    ]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r2.code, 0, r2.stderr);
    assert.ok(readFileSync(join(c1, 'metrics/metrics.arrow')).equals(readFileSync(join(one, 'metrics/metrics.arrow'))), 'recomputed on one thread = the run');
    assert.ok(readFileSync(join(c2, 'metrics/metrics.arrow')).equals(readFileSync(join(one, 'metrics/metrics.arrow'))), 'recomputed on two threads = the run');
    assert.ok(readFileSync(join(c1, 'report/summary.json')).equals(readFileSync(join(c2, 'report/summary.json'))), 'summary.json differs');
    assert.deepEqual(readJson(join(c2, 'provenance.json')).metricsUpdates.map((u) => u.threads), [2]);
  });

  it('a NaN in two snapshots: exit 2 with the same one-line error on one and two threads, naming the earlier snapshot, layer, row and column', async () => {
    const bad = [join(dir, 'bad1'), join(dir, 'bad2')];
    for (const b of bad) {
      cpSync(one, b, {recursive: true});
      // the first snapshot (the most work: KDE, k-NN, curvature) fails at its last layer, the
      // second at its first: on two threads the second fails first in time, and the error must
      // still be the first one's
      poison(snapshot(b, 5), 'h1', 7, 3);
      poison(snapshot(b, 0), 'out', 100, 1);
    }
    const [r1, r2] = await runAll([
      ['metrics', bad[0], '--force', '--no-report', '--threads', '1'],
      ['metrics', bad[1], '--force', '--no-report', '--threads', '2'],
    ]);
    assert.equal(r1.code, 2, r1.stderr);
    assert.equal(r2.code, 2, r2.stderr);
    const line = errorLine(r1, bad[0]);
    assert.match(line, /<run>\/activations\/epoch_000000\.arrow: layer out at epoch 0: row 101 \(sample 100\), column 2 \(\[100, 1\] 0-based\) is NaN/);
    assert.equal(errorLine(r2, bad[1]), line);
    for (const b of bad) assert.ok(readFileSync(join(b, 'metrics/metrics.arrow')).equals(readFileSync(join(one, 'metrics/metrics.arrow'))), 'the earlier values are kept');
  });

  it('metrics.threads must be a whole number >= 1 (exit 2 naming the key)', async () => {
    const [zero, half] = await runAll([
      ['validate', cfg, '--set', 'metrics.threads=0'],
      ['validate', cfg, '--set', 'metrics.threads=1.5'],
    ]);
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /threads\.yaml: metrics\.threads: at least 1 thread .*\(from --set metrics\.threads=0\)/);
    assert.equal(half.code, 2);
    assert.match(half.stderr, /metrics\.threads: expected integer/);
  });

  it('SIGINT during the metrics stage on two threads: exit 130 soon after, the stage interrupted, training kept', async () => {
    const out = join(dir, 'sigint');
    // a KDE on all 4096 rows at each of 21 snapshots: seconds of work for the workers
    const {child, done} = startCli(['run', cfg, '--out', out, '--set', 'train.epochs=200', '--set', 'train.snapshots=every:10', '--set', 'metrics.estimators=[mi.kde]', '--set', 'metrics.subsets=[all]', '--set', 'metrics.threads=2', '--json']);
    let exited = false;
    done.then(() => (exited = true));
    const deadline = Date.now() + 120000;
    let runDir;
    const metricsRunning = () => {
      try {
        runDir ??= join(out, 'threads', readdirSync(join(out, 'threads'))[0]);
        return readJson(join(runDir, 'provenance.json')).stages.metrics?.status === 'running';
      } catch {
        return false; // not created or being written
      }
    };
    while (!exited && !metricsRunning() && Date.now() < deadline) await sleep(50);
    assert.ok(!exited, 'the run ended before its metrics stage was seen running');
    await sleep(500); // the workers are up and computing
    child.kill('SIGINT');
    const timer = sleep(15000).then(() => 'timeout');
    if ((await Promise.race([done, timer])) === 'timeout') {
      child.kill('SIGKILL'); // our own child, by its handle
      assert.fail('still running 15 s after SIGINT');
    }
    const r = await done;
    assert.equal(r.code, 130, r.stderr);
    const prov = readJson(join(runDir, 'provenance.json'));
    assert.equal(prov.stages.metrics.status, 'interrupted');
    assert.equal(prov.stages.train.status, 'done');
    assert.ok(!existsSync(join(runDir, 'metrics', 'metrics.arrow')));
  });

  it('a sweep running two points side by side gives each point one metrics thread unless metrics.threads is set; a lone run takes the cores', async () => {
    const write = (name, text) => (writeFileSync(join(dir, name), text), join(dir, name));
    const estimators = 'metrics:\n  estimators: [mi.bin, mi.binwidth, act.stats]\n';
    // 4096 rows x 31 units x 3 estimators x 101 snapshots (38.5 M values read): above the size where a lone run goes parallel
    const big = write('big.yaml', CONFIG.replace(/metrics:[\s\S]*$/, estimators).replace("epochs: 30, snapshots: 'every:5'", "epochs: 100, snapshots: 'every:1'").replace('report]', ']'));
    const small = write('small.yaml', CONFIG.replace(/metrics:[\s\S]*$/, estimators).replace('report]', ']'));
    const sweep = (name, base, extra) => write(`${name}.yaml`, `name: ${name}\nbase: ${JSON.stringify(base)}\n${extra}axes:\n  model.activation: [tanh, relu]\n`);
    const auto = await runCli(['sweep', sweep('auto', big, ''), '--jobs', '2', '--out', join(dir, 'sw-auto'), '--json']);
    const set = await runCli(['sweep', sweep('set', small, 'set: {metrics.threads: 2}\n'), '--jobs', '2', '--out', join(dir, 'sw-set'), '--json']);
    const lone = await runCli(['run', big, '--out', join(dir, 'lone'), '--json']);
    const threadsOf = (sweepDir) => readJson(join(sweepDir, 'sweep.json')).points.map((p) => readJson(join(sweepDir, p.runDir, 'provenance.json')).stages.metrics.info.threads);
    assert.equal(auto.code, 0, auto.stderr);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(threadsOf(join(dir, 'sw-auto')), [1, 1]);
    assert.deepEqual(threadsOf(join(dir, 'sw-set')), [2, 2]);
    assert.equal(readJson(join(runDirOf(lone), 'provenance.json')).stages.metrics.info.threads, Math.min(availableParallelism(), 101));
  });
});
