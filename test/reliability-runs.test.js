// Issue 11, items 3-8: paths, locks, crash-safe resume, durable writes, inputs checked before
// anything is created, and memory known before training. Every test drives the built CLI (or
// the library in a child process) the way a user or a cluster would.
import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync} from 'node:fs';
import {createRequire, syncBuiltinESMExports} from 'node:module';
import {hostname} from 'node:os';
import {join} from 'node:path';
import {ROOT, fixture, listFiles, readJson, runCli, startCli, sleep, tempDir} from './helpers.js';
import {tableFromIPC, tableToIPC} from 'apache-arrow';
import {estimators, modelMetrics} from '../dist/metrics/registry.js';

const TINY = fixture('tiny.yaml');
const tmp = [];
const temp = (p) => {
  const d = tempDir(p);
  tmp.push(d);
  return d;
};
after(() => tmp.forEach((d) => rmSync(d, {recursive: true, force: true})));

/** A finished tiny run (20 epochs, snapshots every 10): its run directory. */
async function tinyRun(out, ...extra) {
  const r = await runCli(['run', TINY, '--out', out, '--json', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).runDir;
}

/** The error line (the last line on stderr, after any progress lines): exit 2 by default, no stack trace. */
function userError(r, code = 2) {
  assert.equal(r.code, code, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace');
  const last = r.stderr.trim().split('\n').pop();
  assert.match(last, /^Error: /);
  return last;
}

/** Files of a run directory that must be byte-identical between runs (not provenance, logs or lock). */
function artifacts(dir) {
  return listFiles(dir).filter((f) => f !== 'provenance.json' && f !== '.lock' && !f.startsWith('logs/'));
}

/** A one-point sweep of the tiny config (2 epochs), planned but not run: its directories. */
async function pendingSweep(prefix, extraSet = '') {
  const base = temp(prefix);
  const sweepDir = join(base, 'sweep');
  const sweepFile = join(base, 's.yaml');
  writeFileSync(sweepFile, `name: s\nbase: ${JSON.stringify(TINY)}\nset: {train.epochs: 2, train.snapshots: every:1${extraSet}}\n`);
  assert.equal((await runCli(['sweep', sweepFile, '--out', sweepDir, '--emit', 'commands'])).code, 0);
  return {base, sweepDir, runDir: join(sweepDir, readJson(join(sweepDir, 'sweep.json')).points[0].runDir)};
}

function lockRecord(file, info) {
  writeFileSync(file, JSON.stringify(info) + '\n');
}

describe('issue 11.3: paths', function () {
  this.timeout(120000);

  it("names '.', '..' and with a separator are rejected at validation; --set name=.. cannot leave --out", async function () {
    for (const name of ['..', '.', 'a/b', '../x']) {
      const v = await runCli(['validate', TINY, '--set', `name=${name}`]);
      assert.match(userError(v), /tiny\.yaml: name: /, name);
    }
    const out = join(temp('tdlab-paths-'), 'out');
    const r = await runCli(['run', TINY, '--set', 'name=..', '--out', out]);
    userError(r);
    assert.deepEqual(readdirSync(join(out, '..')), [], 'nothing created, beside --out or in it');
  });

  it('a sweep worker refuses a runDir in sweep.json that its config hash does not give, and touches nothing', async function () {
    const {base, sweepDir} = await pendingSweep('tdlab-sweep-paths-');
    const victim = join(base, 'victim');
    mkdirSync(victim);
    writeFileSync(join(victim, 'precious.txt'), 'keep me');
    const index = readJson(join(sweepDir, 'sweep.json'));
    index.points[0].runDir = '../victim';
    writeFileSync(join(sweepDir, 'sweep.json'), JSON.stringify(index));
    const r = await runCli(['run', '--from-sweep', sweepDir, '--index', '0']);
    assert.match(userError(r), /points\.0\.runDir is '\.\.\/victim', but its config hash gives runs\/[0-9a-f]{12}; refusing/);
    assert.deepEqual(readdirSync(victim), ['precious.txt']);
    assert.equal(readFileSync(join(victim, 'precious.txt'), 'utf8'), 'keep me');
  });

  it('starting afresh in a sweep point directory removes only tdlab artifacts (user files and logs stay)', async function () {
    const {sweepDir, runDir} = await pendingSweep('tdlab-sweep-clear-');
    // what a killed run of another version leaves, next to a user's own files
    mkdirSync(join(runDir, 'activations'), {recursive: true});
    mkdirSync(join(runDir, 'data'), {recursive: true});
    writeFileSync(join(runDir, 'provenance.json'), '{"configHash": "not this one"');
    writeFileSync(join(runDir, 'activations', 'epoch_000007.arrow'), 'stale');
    writeFileSync(join(runDir, 'activations', 'notes.md'), 'mine');
    writeFileSync(join(runDir, 'data', 'raw.csv'), 'mine');
    writeFileSync(join(runDir, 'README.txt'), 'mine');
    const r = await runCli(['run', '--from-sweep', sweepDir, '--index', '0', '--json']);
    assert.equal(r.code, 0, r.stderr);
    for (const f of ['activations/notes.md', 'data/raw.csv', 'README.txt']) assert.equal(readFileSync(join(runDir, f), 'utf8'), 'mine', f);
    assert.ok(!existsSync(join(runDir, 'activations', 'epoch_000007.arrow')), 'the stale snapshot of another config is gone');
    assert.equal(readJson(join(runDir, 'provenance.json')).status, 'done');
  });
});

describe('issue 11.4: locks that survive real clusters', function () {
  this.timeout(120000);
  let sweepDir;
  let runDir;

  before(async function () {
    ({sweepDir, runDir} = await pendingSweep('tdlab-locks-', ', stages: [data, train]'));
    mkdirSync(runDir, {recursive: true});
  });

  const worker = (env = {}) => runCli(['run', '--from-sweep', sweepDir, '--index', '0', '--json'], {env: {TDLAB_LOCK_STALE_S: '2', ...env}});

  it("a dead node's lock expires (heartbeat older than the limit) and the point runs; so does an empty lock file", async function () {
    const lock = join(runDir, '.lock');
    for (const content of [JSON.stringify({pid: 4242, host: 'node-7.cluster', token: 'dead1'}), '']) {
      writeFileSync(lock, content);
      const old = new Date(Date.now() - 60000);
      utimesSync(lock, old, old);
      rmSync(join(runDir, 'provenance.json'), {force: true});
      const r = await worker();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(readJson(join(runDir, 'provenance.json')).status, 'done');
      assert.ok(!existsSync(lock), 'released at the end');
    }
  });

  it('taking over a stale lock is atomic: of 8 processes racing for it, exactly one wins', async function () {
    const dir = temp('tdlab-lockrace-');
    const lock = join(dir, '.lock');
    lockRecord(lock, {pid: 1, host: 'gone-host', token: 'stale-token'});
    const old = new Date(Date.now() - 3600e3);
    utimesSync(lock, old, old);
    const script = `
      import {acquireLock} from ${JSON.stringify(join(ROOT, 'dist', 'io', 'lock.js'))};
      const start = Number(process.argv[1]);
      while (Date.now() < start) {}
      const got = await acquireLock(${JSON.stringify(lock)}, {waitMs: 0});
      process.stdout.write('holder' in got ? 'lost' : 'won');
      setTimeout(() => process.exit(0), 1500); // hold it while the others try
    `;
    const start = Date.now() + 1500;
    const results = await Promise.all(
      Array.from({length: 8}, () => new Promise((resolve) => {
        const c = spawn(process.execPath, ['--input-type=module', '-e', script, String(start)], {stdio: ['ignore', 'pipe', 'inherit'], env: {...process.env, TDLAB_LOCK_STALE_S: '30'}});
        let out = '';
        c.stdout.on('data', (d) => (out += d));
        c.on('close', () => resolve(out));
      })),
    );
    assert.equal(results.filter((x) => x === 'won').length, 1, results.join(','));
    assert.equal(results.filter((x) => x === 'lost').length, 7, results.join(','));
  });

  it('tdlab metrics holds the run lock; a live holder is named with its host and heartbeat age', async function () {
    const out = temp('tdlab-metrics-lock-');
    const run = await tinyRun(out, '--set', 'train.epochs=2', '--set', 'train.snapshots=every:1');
    // this test process plays the live holder (same host, alive, fresh heartbeat)
    lockRecord(join(run, '.lock'), {pid: process.pid, host: hostname(), token: 'live-holder', purpose: 'tdlab run'});
    const r = await runCli(['metrics', run, '--estimator', 'mi.bin']);
    assert.match(userError(r, 1), new RegExp(`in use by pid ${process.pid} on ${hostname().replace(/\./g, '\\.')} \\(tdlab run\\), last heartbeat`));
    // a holder on another host with a recent heartbeat is live too
    lockRecord(join(run, '.lock'), {pid: 4242, host: 'node-7.cluster', token: 'abc123', purpose: 'tdlab run'});
    const other = await runCli(['metrics', run, '--estimator', 'mi.bin'], {env: {TDLAB_LOCK_STALE_S: '600'}});
    assert.match(userError(other, 1), /in use by pid 4242 on node-7\.cluster \(tdlab run\), last heartbeat \d+(\.\d)? s ago; wait for it/);
    rmSync(join(run, '.lock'));
    const ok = await runCli(['metrics', run, '--estimator', 'mi.bin', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(!existsSync(join(run, '.lock')), 'released');
  });
});

describe('issue 11.5: crash-safe, resumable training', function () {
  this.timeout(180000);
  let out;
  let ref;

  before(async function () {
    out = temp('tdlab-resume-');
    ref = await tinyRun(join(out, 'ref'), '--set', 'train.epochs=30');
  });

  /** A copy of the finished reference run as a run that was killed: provenance says running. */
  function killedCopy(name, mutate) {
    const dir = join(out, name);
    cpSync(ref, dir, {recursive: true});
    const prov = readJson(join(dir, 'provenance.json'));
    mutate(dir, prov);
    writeFileSync(join(dir, 'provenance.json'), JSON.stringify(prov));
    return dir;
  }

  it('SIGKILL mid-training: --resume continues from the last checkpoint (resumedFromEpoch) and ends byte-identical', async function () {
    const dir = join(out, 'killed');
    mkdirSync(dir);
    // the 17th atomic write is epoch 20's checkpoint: the process dies with its temp file on disk
    const run = await runCli(['run', TINY, '--set', 'train.epochs=30', '--out', dir, '--json'], {env: {TDLAB_TEST_KILL_AT_WRITE: '17'}});
    assert.equal(run.signal, 'SIGKILL', `exit ${run.code} ${run.stderr}`);
    const [runDir] = readdirSync(join(dir, 'tiny')).map((d) => join(dir, 'tiny', d));
    assert.equal(readJson(join(runDir, 'provenance.json')).stages.train.status, 'running');
    const listed = await runCli(['runs', dir, '--json']);
    assert.equal(JSON.parse(listed.stdout).runs[0].status, 'interrupted', 'tdlab runs: its process is gone');
    const r = await runCli(['run', '--resume', runDir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const prov = readJson(join(runDir, 'provenance.json'));
    assert.ok(Number.isInteger(prov.stages.train.resumedFromEpoch) && prov.stages.train.resumedFromEpoch > 0, JSON.stringify(prov.stages.train));
    assert.equal(prov.status, 'done');
    const a = artifacts(ref).filter((f) => !f.startsWith('report/'));
    assert.deepEqual(artifacts(runDir).filter((f) => !f.startsWith('report/')), a);
    for (const f of a) {
      // run ids differ between the two directories: the files that record it are compared without it
      const strip = (d) => readFileSync(join(d, f)).toString('latin1').split(readJson(join(d, 'provenance.json')).runId).join('RUN');
      assert.ok(strip(runDir) === strip(ref), `${f} differs`);
    }
  });

  it('the WebGPU engine exports and takes back the same training state: a killed WebGPU run resumes byte-identical', async function () {
    const probe = `let m; try { m = await import('webgpu'); } catch { process.exit(0); }
      process.env.EGL_PLATFORM = 'surfaceless';
      const a = await m.create(['backend=opengles']).requestAdapter({featureLevel: 'compatibility'});
      console.log(a ? 'ok' : 'none');`;
    const r0 = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {cwd: ROOT, encoding: 'utf8'});
    if (r0.stdout.trim().split('\n').pop() !== 'ok') this.skip(); // no (software) WebGPU adapter: test/webgpu.test.js says why
    const args = ['run', TINY, '--backend', 'webgpu', '--set', 'train.epochs=30', '--set', 'stages=[data,train]', '--json'];
    const whole = JSON.parse((await runCli([...args, '--out', join(out, 'gpu-ref')])).stdout).runDir;
    const killed = await runCli([...args, '--out', join(out, 'gpu-killed')], {env: {TDLAB_TEST_KILL_AT_WRITE: '17'}});
    assert.equal(killed.signal, 'SIGKILL');
    const [runDir] = readdirSync(join(out, 'gpu-killed', 'tiny')).map((d) => join(out, 'gpu-killed', 'tiny', d));
    const wrong = await runCli(['run', '--resume', runDir, '--backend', 'wasm']);
    assert.match(userError(wrong), /trained on webgpu up to epoch \d+; continuing on another backend would mix their numerics/);
    const r = await runCli(['run', '--resume', runDir, '--json']); // auto: the backend it trained on
    assert.equal(r.code, 0, r.stderr);
    const prov = readJson(join(runDir, 'provenance.json'));
    assert.equal(prov.backend, 'webgpu');
    assert.ok(prov.stages.train.resumedFromEpoch > 0, JSON.stringify(prov.stages.train));
    const files = artifacts(whole);
    assert.deepEqual(artifacts(runDir), files);
    for (const f of files) {
      const strip = (d) => readFileSync(join(d, f)).toString('latin1').split(readJson(join(d, 'provenance.json')).runId).join('RUN');
      assert.ok(strip(runDir) === strip(whole), `${f} differs`);
    }
  });

  it('--resume redoes a done stage whose files were deleted (one decision for --resume, sweeps and tdlab metrics)', async function () {
    const dir = killedCopy('lost', (d, prov) => {
      prov.status = 'failed';
      rmSync(join(d, 'checkpoints', 'epoch_000020.arrow'));
    });
    const r = await runCli(['run', '--resume', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readFileSync(join(dir, 'checkpoints', 'epoch_000020.arrow')), readFileSync(join(ref, 'checkpoints', 'epoch_000020.arrow')));
    assert.equal(readJson(join(dir, 'provenance.json')).stages.train.resumedFromEpoch, 10);
  });

  it('leftover temp files of killed writers are removed when a run resumes (other files stay)', async function () {
    const dir = killedCopy('temps', (d, prov) => {
      prov.status = 'running';
      prov.stages.report.status = 'running';
      writeFileSync(join(d, 'activations', '.epoch_000010.arrow.99999.tmp'), 'partial');
      writeFileSync(join(d, '.provenance.json.12345.tmp'), 'partial');
      writeFileSync(join(d, 'activations', 'mine.tmp'), 'mine');
    });
    const r = await runCli(['run', '--resume', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(join(dir, 'activations', '.epoch_000010.arrow.99999.tmp')));
    assert.ok(!existsSync(join(dir, '.provenance.json.12345.tmp')));
    assert.equal(readFileSync(join(dir, 'activations', 'mine.tmp'), 'utf8'), 'mine');
  });

  it('tdlab metrics really skips values that exist: a damaged snapshot they came from is not even read', async function () {
    const dir = killedCopy('skip', (d, prov) => {
      prov.status = 'done';
      writeFileSync(join(d, 'activations', 'epoch_000010.arrow'), 'not arrow any more');
    });
    const r = await runCli(['metrics', dir, '--estimator', 'mi.bin', '--estimator', 'act.stats', '--json', '--no-report']);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.added, 0);
    assert.ok(res.kept > 0);
    // a value that is missing is computed, and then the damaged file is read
    const more = await runCli(['metrics', dir, '--estimator', 'mi.bin', '--param', 'bins=10', '--no-report']);
    assert.match(userError(more), /epoch_000010\.arrow: not a readable Arrow IPC file/);
  });

  it('a non-finite snapshot fails the metrics stage: exit 2 naming the file, layer, epoch, row and column', async function () {
    const dir = killedCopy('nan-snapshot', (d, prov) => {
      prov.status = 'failed';
      prov.stages.metrics.status = 'failed';
      const file = join(d, 'activations', 'epoch_000010.arrow');
      const table = tableFromIPC(readFileSync(file));
      table.getChild('h2').data[0].children[0].values[4 * 7 + 3] = NaN; // row 5, column 4
      writeFileSync(file, tableToIPC(table, 'file'));
    });
    const r = await runCli(['run', '--resume', dir]);
    const msg = userError(r);
    assert.match(msg, /epoch_000010\.arrow: layer h2 at epoch 10: row 5 \(sample 4\), column 4 \(\[4, 3\] 0-based\) is NaN/);
    const prov = readJson(join(dir, 'provenance.json'));
    assert.equal(prov.stages.metrics.status, 'failed');
    assert.match(prov.stages.metrics.error, /layer h2 at epoch 10/);
    assert.equal(prov.status, 'failed');
  });

  for (const [label, signals] of [['a second Ctrl-C', ['SIGINT', 'SIGINT']], ['SIGTERM twice', ['SIGTERM', 'SIGTERM']], ['SIGHUP', ['SIGHUP']]]) {
    it(`${label} while a stage computes leaves provenance interrupted, never running`, async function () {
      const dir = join(out, `sig-${signals.join('-')}`);
      // KDE on all 4096 rows: seconds of synchronous work per snapshot, so both signals arrive while
      // the first one still waits for the current step to end
      const {child, done} = startCli(['run', TINY, '--set', 'metrics.estimators=[mi.kde]', '--out', dir]);
      let seen = '';
      child.stderr.on('data', (d) => (seen += d));
      while (!/metrics:/.test(seen) && child.exitCode === null) await sleep(50);
      await sleep(300);
      for (const s of signals) {
        child.kill(s); // delivered now, handled when the synchronous step ends: after both arrived
        await sleep(200);
      }
      const r = await done;
      assert.equal(r.code, 130, r.stderr);
      const [runDir] = readdirSync(join(dir, 'tiny')).map((d) => join(dir, 'tiny', d));
      const prov = readJson(join(runDir, 'provenance.json'));
      assert.equal(prov.status, 'interrupted');
      assert.equal(prov.stages.metrics.status, 'interrupted');
      assert.equal(prov.stages.train.status, 'done');
      assert.ok(!existsSync(join(runDir, '.lock')), 'lock released');
    });
  }
});

describe('issue 11.6: durable writes', function () {
  it('an atomic write fsyncs the temp file before the rename and the directory after it', async function () {
    const require = createRequire(import.meta.url);
    const fs = require('node:fs');
    const {writeFileAtomic} = await import('../dist/io/atomic.js');
    const dir = temp('tdlab-fsync-');
    const events = [];
    const orig = {fsyncSync: fs.fsyncSync, renameSync: fs.renameSync, openSync: fs.openSync};
    const fdPath = new Map();
    fs.openSync = (p, ...rest) => {
      const fd = orig.openSync(p, ...rest);
      fdPath.set(fd, String(p));
      return fd;
    };
    fs.fsyncSync = (fd) => {
      events.push(`fsync ${fdPath.get(fd)}`);
      return orig.fsyncSync(fd);
    };
    fs.renameSync = (a, b) => {
      events.push(`rename ${b}`);
      return orig.renameSync(a, b);
    };
    syncBuiltinESMExports();
    try {
      writeFileAtomic(join(dir, 'x.json'), '{}');
    } finally {
      Object.assign(fs, orig);
      syncBuiltinESMExports();
    }
    const tmpName = events[0]?.replace('fsync ', '');
    assert.match(tmpName ?? '', /\.x\.json\.\d+\.tmp$/, events.join('; '));
    assert.deepEqual(events, [`fsync ${tmpName}`, `rename ${join(dir, 'x.json')}`, `fsync ${dir}`]);
    assert.equal(readFileSync(join(dir, 'x.json'), 'utf8'), '{}');
  });
});

describe('issue 11.7: inputs checked before anything is created', function () {
  this.timeout(120000);

  /** A table config next to (or away from) its CSV. */
  function tableConfig(dir, {csv = 't.csv', body} = {}) {
    mkdirSync(dir, {recursive: true});
    if (body !== undefined) writeFileSync(join(dir, csv), body);
    const file = join(dir, 'table.yaml');
    writeFileSync(file, `name: tab\ndata:\n  name: table\n  options: {path: ${csv}}\nmodel: {layers: [4]}\ntrain: {epochs: 3, snapshots: every:1}\nmetrics: {estimators: [mi.bin]}\n`);
    return file;
  }
  const goodCsv = 'a,b,label\n' + Array.from({length: 40}, (_, i) => `${(i % 7) / 7},${(i % 5) / 5},${i % 2}`).join('\n') + '\n';

  it('a missing table file: validate and run exit 2 naming the file and the field; run creates no run directory', async function () {
    const dir = temp('tdlab-inputs-');
    const cfg = tableConfig(join(dir, 'cfg'));
    const v = await runCli(['validate', cfg]);
    assert.match(userError(v), /table\.yaml: data\.options\.path: .*cfg\/t\.csv: no such file/);
    const out = join(dir, 'runs');
    const r = await runCli(['run', cfg, '--out', out]);
    assert.match(userError(r), /data\.options\.path: .*t\.csv: no such file/);
    assert.ok(!existsSync(out), 'no run directory');
  });

  it('relative data paths are relative to the config file, not the working directory', async function () {
    const dir = temp('tdlab-relpath-');
    const cfg = tableConfig(join(dir, 'cfg'), {body: goodCsv});
    const v = await runCli(['validate', cfg, '--json'], {cwd: dir});
    assert.equal(v.code, 0, v.stderr);
    assert.equal(JSON.parse(v.stdout).config.data.options.path, join(dir, 'cfg', 't.csv'));
  });

  it('a bad cell in the table: validate names the field, line, row and column; run creates nothing', async function () {
    const dir = temp('tdlab-badcell-');
    const cfg = tableConfig(join(dir, 'cfg'), {body: goodCsv.replace('\n0.14285714285714285,0.2,1', '\n0.14285714285714285,,1')});
    const v = await runCli(['validate', cfg]);
    assert.match(userError(v), /data\.options\.path: .*t\.csv:3: row 2, column 2 \('b'\): empty cell/);
    const out = join(dir, 'runs');
    userError(await runCli(['run', cfg, '--out', out]));
    assert.ok(!existsSync(out));
  });

  it('missing IDX files of an mnist config: exit 2 naming the field', async function () {
    const dir = temp('tdlab-idx-');
    const cfg = join(dir, 'm.yaml');
    writeFileSync(cfg, 'name: m\ndata: {name: mnist, options: {idx: {images: imgs.idx, labels: lbls.idx}}}\n');
    assert.match(userError(await runCli(['validate', cfg])), /m\.yaml: data\.options\.idx\.images: .*imgs\.idx: no such file/);
  });
});

describe('issue 11.8: know the cost before training', function () {
  this.timeout(60000);

  it('every activation estimator and weight metric declares its memory; the O(N^2) ones grow as N^2', function () {
    for (const reg of [estimators, modelMetrics]) {
      for (const name of reg.names()) {
        const m = reg.get(name);
        assert.equal(typeof m.memory, 'function', name);
        const p = m.params.parse({});
        const a = m.memory({n: 1000, d: 10, inputDim: 12}, p);
        assert.ok(Number.isFinite(a) && a > 0, `${name}: ${a}`);
      }
    }
    for (const name of ['geom.dse', 'geom.dsmi', 'ent.renyi']) {
      const m = estimators.get(name);
      const r = m.memory({n: 20000, d: 10}, m.params.parse({})) / m.memory({n: 10000, d: 10}, m.params.parse({}));
      assert.ok(r > 3.9 && r < 4.1, `${name}: x${r}`);
    }
  });

  it('validate and run refuse an estimator that cannot fit in memory (exit 2, naming it and suggesting maxRows)', async function () {
    const dir = temp('tdlab-memory-');
    const cfg = join(dir, 'big.yaml');
    writeFileSync(cfg, 'name: big\ndata: {name: gaussian-mixture, options: {rows: 20000, dim: 20}}\nmodel: {layers: [8]}\ntrain: {epochs: 2}\nmetrics: {estimators: [mi.bin, geom.dse]}\n');
    const env = {TDLAB_MEMORY_GB: '1'};
    const v = await runCli(['validate', cfg], {env});
    assert.match(userError(v), /big\.yaml: metrics\.estimators\.1 \(geom\.dse\): needs about [\d.]+ GiB at N = 20000 rows .* this machine has 1\.0 GiB \(TDLAB_MEMORY_GB\); set maxRows: \d+ on it/);
    const out = join(dir, 'runs');
    userError(await runCli(['run', cfg, '--out', out], {env}));
    assert.ok(!existsSync(out), 'refused before anything is created');
    // with the suggested maxRows it passes
    const suggested = Number(/maxRows: (\d+)/.exec(v.stderr)[1]);
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('geom.dse]', `{name: geom.dse, maxRows: ${suggested}}]`));
    const ok = await runCli(['validate', cfg], {env});
    assert.equal(ok.code, 0, ok.stderr);
  });
});
