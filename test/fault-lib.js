// Fault injection for issue 11.9, shared by test/fault-injection.test.js (CI: a dozen kill points)
// and bench/fault-injection.mjs (as many as asked): the default study, scaled down, is SIGKILLed
// at seeded random points in train, metrics and report - at an atomic write (after the temp file
// is on disk, before the rename: TDLAB_TEST_KILL_AT_WRITE) or after a random delay - then resumed
// (alternately `tdlab run --resume` and the sweep worker), and every artifact is compared byte for
// byte with an uninterrupted run of the same sweep point.
import assert from 'node:assert/strict';
import {cpSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join, relative} from 'node:path';
import {ROOT, listFiles, readJson, runCli, startCli, sleep, uniform} from './helpers.js';

/** configs/tishby.yaml at test scale: 60 epochs, 11 log-spaced snapshots, the study's estimators (KDE on 512 rows). */
export function faultSweepText() {
  return [
    'name: fault',
    `base: ${JSON.stringify(join(ROOT, 'configs', 'tishby.yaml'))}`,
    'set:',
    '  train.epochs: 60',
    '  train.snapshots: log:12',
    '  metrics.estimators: [mi.bin, mi.binwidth, mi.ebab, {name: mi.kde, every: 4, maxRows: 512}, act.stats]',
    '',
  ].join('\n');
}

/** A sweep directory with one pending point (tdlab sweep --emit commands): copied for every case. */
export async function prepareTemplate(dir) {
  mkdirSync(dir, {recursive: true});
  const file = join(dir, 'fault.yaml');
  writeFileSync(file, faultSweepText());
  const template = join(dir, 'template');
  const r = await runCli(['sweep', file, '--out', template, '--emit', 'commands']);
  assert.equal(r.code, 0, r.stderr);
  return template;
}

/** The run directory of point 0 of a sweep directory. */
export const pointDir = (sweepDir) => join(sweepDir, readJson(join(sweepDir, 'sweep.json')).points[0].runDir);

/** Which stage an atomic write of a run belongs to (provenance writes: the stage of the write before). */
export function writeStages(log, runDir) {
  const out = [];
  let stage = 'data';
  for (const line of log.trim().split('\n')) {
    const [n, path] = line.split('\t');
    const rel = relative(runDir, path).split('\\').join('/');
    if (rel.startsWith('data/') || rel === 'config.yaml') stage = 'data';
    else if (rel === 'model.json' || rel === 'training.arrow' || rel.startsWith('activations/') || rel.startsWith('checkpoints/')) stage = 'train';
    else if (rel.startsWith('metrics/')) stage = 'metrics';
    else if (rel.startsWith('report/')) stage = 'report';
    out.push({n: Number(n), rel, stage});
  }
  return out;
}

/** The uninterrupted run: its directory, its writes by stage, and how long it took. */
export async function referenceRun(base, template) {
  const sweepDir = join(base, 'reference');
  cpSync(template, sweepDir, {recursive: true});
  const log = join(base, 'reference-writes.log');
  const r = await runCli(['run', '--from-sweep', sweepDir, '--index', '0', '--json'], {env: {TDLAB_TEST_WRITE_LOG: log}});
  assert.equal(r.code, 0, r.stderr);
  const runDir = pointDir(sweepDir);
  return {sweepDir, runDir, writes: writeStages(readFileSync(log, 'utf8'), runDir), ms: r.ms};
}

/** mulberry32: a seeded uniform generator in [0, 1). */
export const seeded = uniform;

/**
 * Kill points: `perStage` seeded random writes in each of train, metrics and report, plus
 * `timed` random delays over the reference run's duration, plus `double` cases that are killed
 * again while they resume.
 */
export function killPlan(ref, {perStage = {train: 4, metrics: 2, report: 2}, timed = 3, double = 1, seed = 11} = {}) {
  const rnd = seeded(seed);
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const plan = [];
  for (const [stage, count] of Object.entries(perStage)) {
    const pool = ref.writes.filter((w) => w.stage === stage);
    for (let i = 0; i < count && pool.length; i++) {
      const w = pool.splice(Math.floor(rnd() * pool.length), 1)[0];
      plan.push({kind: 'write', at: w.n, where: `${stage}: before renaming ${w.rel}`});
    }
  }
  for (let i = 0; i < timed; i++) plan.push({kind: 'timed', afterMs: Math.round(300 + rnd() * Math.max(1000, ref.ms - 300)), where: 'timed'});
  for (let i = 0; i < double; i++) {
    const w = pick(ref.writes.filter((x) => x.stage === 'train'));
    plan.push({kind: 'write', at: w.n, again: 3 + Math.floor(rnd() * 6), where: `train: before renaming ${w.rel}, then again while resuming`});
  }
  return plan.map((p, i) => ({...p, id: i, resumeWith: i % 2 === 0 ? 'resume' : 'sweep'}));
}

/**
 * Report files hold the run's start time, the sweep directory and the commands that continued the
 * run ("Later commands"): compared without them.
 */
function normalised(file, dir, sweepDir) {
  const bytes = readFileSync(join(dir, file));
  if (!/^report\/.*\.(html|md)$/.test(file)) return bytes;
  const started = readJson(join(dir, 'provenance.json')).startedAt;
  const text = bytes
    .toString('utf8')
    .replace(/\n<tr><th>Later commands<\/th><td>.*?<\/td><\/tr>/s, '')
    .replace(/- \*\*Later commands:\*\*\n\n```sh\n.*?\n```\n\n/s, '');
  return Buffer.from(text.split(started).join('STARTED').split(sweepDir).join('SWEEP'));
}

/** Files of a finished run that must equal the reference: all but provenance.json, logs/ and the lock. */
export function compareRuns(ref, refSweep, dir, sweepDir) {
  const files = (d) => listFiles(d).filter((f) => f !== 'provenance.json' && f !== '.lock' && !f.startsWith('logs/'));
  const a = files(ref);
  const b = files(dir);
  const diffs = [];
  for (const f of new Set([...a, ...b])) {
    if (!a.includes(f)) diffs.push(`extra ${f}`);
    else if (!b.includes(f)) diffs.push(`missing ${f}`);
    else if (!normalised(f, ref, refSweep).equals(normalised(f, dir, sweepDir))) diffs.push(`differs ${f}`);
  }
  return {diffs, files: a.length};
}

const worker = (sweepDir, env) => startCli(['run', '--from-sweep', sweepDir, '--index', '0', '--json'], {env});

/**
 * One case: a fresh copy of the sweep, killed as planned, resumed to the end, compared. Returns
 * the stage the kill hit (from provenance), the epoch training continued from, and the differences.
 */
export async function killCase(base, template, ref, point) {
  const sweepDir = join(base, `case-${point.id}`);
  cpSync(template, sweepDir, {recursive: true});
  const runDir = pointDir(sweepDir);
  let hit = null;
  const kill = async (env, afterMs) => {
    const {child, done} = worker(sweepDir, env);
    if (afterMs !== undefined) {
      await Promise.race([sleep(afterMs), done]);
      child.kill('SIGKILL');
    }
    const r = await done;
    if (r.signal === 'SIGKILL' && existsSync(join(runDir, 'provenance.json'))) {
      const prov = readJson(join(runDir, 'provenance.json'));
      hit ??= Object.entries(prov.stages).find(([, s]) => s.status === 'running')?.[0] ?? 'between stages';
    } else if (r.signal === 'SIGKILL') hit ??= 'before provenance';
    return r;
  };
  const first = point.kind === 'write' ? await kill({TDLAB_TEST_KILL_AT_WRITE: String(point.at)}) : await kill({}, point.afterMs);
  if (first.signal !== 'SIGKILL') return {point, hit: 'finished before the kill', diffs: [], resumedFrom: null};
  const tempFiles = listFiles(runDir).filter((f) => /(^|\/)\.[^/]+\.\d+\.tmp$/.test(f));
  if (point.again) await kill({TDLAB_TEST_KILL_AT_WRITE: String(point.again)});
  // a run killed before it wrote provenance.json has not started: only the sweep worker can start it again
  const resumable = existsSync(join(runDir, 'provenance.json'));
  const args = point.resumeWith === 'resume' && resumable ? ['run', '--resume', runDir, '--json'] : ['run', '--from-sweep', sweepDir, '--index', '0', '--json'];
  const r = await runCli(args);
  const prov = existsSync(join(runDir, 'provenance.json')) ? readJson(join(runDir, 'provenance.json')) : null;
  const diffs = r.code === 0 ? compareRuns(ref.runDir, ref.sweepDir, runDir, sweepDir).diffs : [`resume exited ${r.code}: ${r.stderr.trim().split('\n').pop()}`];
  if (prov?.status !== 'done') diffs.push(`status ${prov?.status}`);
  const left = listFiles(runDir).filter((f) => /(^|\/)\.[^/]+\.\d+\.tmp$/.test(f));
  if (left.length) diffs.push(`temp files left: ${left.join(', ')}`);
  return {point, hit, diffs, resumedFrom: prov?.stages?.train?.resumedFromEpoch ?? null, tempFilesAtKill: tempFiles.length};
}

/** Runs cases `limit` at a time (2 cores here). */
export async function runCases(base, template, ref, plan, limit = 2, onResult = () => {}) {
  const results = new Array(plan.length);
  let next = 0;
  const lane = async () => {
    while (next < plan.length) {
      const i = next++;
      results[i] = await killCase(base, template, ref, plan[i]);
      onResult(results[i]);
    }
  };
  await Promise.all(Array.from({length: Math.min(limit, plan.length)}, lane));
  return results;
}
