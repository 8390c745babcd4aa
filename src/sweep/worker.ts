/**
 * `tdlab run --from-sweep <dir> --index N`: runs one point of a sweep in its run directory.
 * Idempotent, so a local worker, a Slurm array task or a CI matrix job can all call it:
 * a done run is left alone; a failed or interrupted one continues (planResume: stages whose
 * outputs are all present are kept, training continues from its last checkpoint); a directory
 * without a usable provenance starts afresh (only tdlab's own files in it are removed).
 */
import {existsSync, mkdirSync, readFileSync} from 'node:fs';
import {availableParallelism} from 'node:os';
import {dirname, isAbsolute, join} from 'node:path';
import {parseConfig, type LoadedConfig} from '../config/load.js';
import {clearRunDir} from '../run/artifacts.js';
import {runPaths} from '../run/paths.js';
import type {BackendChoice} from '../backend/tf.js';
import {runPipeline, takeRunLock, type RunOutcome} from '../run/pipeline.js';
import {planResume} from '../run/resume.js';
import {EXIT, UserError} from '../util/errors.js';
import {runKey, type SweepIndex, type SweepPoint} from './plan.js';
import {readProvenance, readSweepIndex, SWEEP_JSON} from './store.js';

/** Env var set by the local executor: the coordinator's pid. A worker whose parent is gone stops. */
export const PARENT_ENV = 'TDLAB_SWEEP_PPID';
/** Env var set by the local executor: how many points it runs side by side. */
export const JOBS_ENV = 'TDLAB_SWEEP_JOBS';

/** The cores one point may use: its share when the local executor runs several side by side, else all. */
function pointCores(): number {
  const jobs = Number(process.env[JOBS_ENV]);
  return Number.isInteger(jobs) && jobs > 1 ? Math.max(1, Math.floor(availableParallelism() / jobs)) : availableParallelism();
}

function watchParent(): () => void {
  const want = Number(process.env[PARENT_ENV]);
  if (!want) return () => {};
  const timer = setInterval(() => {
    if (process.ppid !== want) {
      clearInterval(timer);
      process.stderr.write(`sweep coordinator (pid ${want}) is gone: stopping\n`);
      process.kill(process.pid, 'SIGTERM');
    }
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * The run directory of a sweep point, derived from its config hash under the sweep directory
 * (`<sweep>/runs/<hash12>`) - never taken from sweep.json alone: an index whose base, hash or
 * runDir does not check out is refused (exit 2) before anything is touched.
 */
export function pointRunDir(sweepDir: string, sweep: SweepIndex, index: number): {point: SweepPoint; runDir: string; baseFile: string; baseDir: string; loaded: LoadedConfig} {
  const file = join(sweepDir, SWEEP_JSON);
  if (!Array.isArray(sweep.points)) throw new UserError(`${file}: points: not a list; re-run tdlab sweep`);
  const point = sweep.points.find((p) => p && p.index === index);
  if (!point) throw new UserError(`--index ${index}: sweep ${sweep.name} has points 0..${sweep.points.length - 1}`);
  if (sweep.base !== 'base.yaml') throw new UserError(`${file}: base: '${String(sweep.base)}' (expected base.yaml, the copy tdlab sweep writes); re-run tdlab sweep`);
  if (typeof point.configHash !== 'string' || !/^[0-9a-f]{64}$/.test(point.configHash)) throw new UserError(`${file}: points.${index}.configHash: not a sha256; re-run tdlab sweep`);
  if (!Array.isArray(point.set) || point.set.some((x) => typeof x !== 'string')) throw new UserError(`${file}: points.${index}.set: not a list of overrides; re-run tdlab sweep`);
  if (point.seed !== null && point.seed !== undefined && !(Number.isInteger(point.seed) && point.seed >= 0)) throw new UserError(`${file}: points.${index}.seed: not a seed; re-run tdlab sweep`);
  const runDir = join(sweepDir, 'runs', runKey(point.configHash));
  if (point.runDir !== join('runs', runKey(point.configHash))) {
    throw new UserError(`${file}: points.${index}.runDir is '${String(point.runDir)}', but its config hash gives runs/${runKey(point.configHash)}; refusing to touch it (re-run tdlab sweep)`);
  }
  const baseFile = join(sweepDir, 'base.yaml');
  if (!existsSync(baseFile)) throw new UserError(`${baseFile}: missing (re-run tdlab sweep to write it)`);
  // relative data paths resolve against the original base config's directory, as when the sweep was planned
  const baseDir = typeof sweep.baseFile === 'string' && isAbsolute(sweep.baseFile) ? dirname(sweep.baseFile) : sweepDir;
  const loaded = parseConfig(readFileSync(baseFile, 'utf8'), baseFile, {set: point.set, seed: point.seed ?? undefined, baseDir});
  if (loaded.hash !== point.configHash) {
    throw new UserError(`${sweepDir}: point ${index} resolves to config ${loaded.hash.slice(0, 12)}, sweep.json says ${point.configHash.slice(0, 12)} (base.yaml or tdlab changed); re-run tdlab sweep`);
  }
  return {point, runDir, baseFile, baseDir, loaded};
}

export async function runFromSweep(sweepDir: string, index: number, opts: {backend?: BackendChoice; argv?: string[]} = {}): Promise<RunOutcome & {skipped?: boolean}> {
  const sweep = readSweepIndex(sweepDir);
  const {point, runDir, baseFile, baseDir, loaded} = pointRunDir(sweepDir, sweep, index);
  const paths = runPaths(runDir);
  const stopWatching = watchParent();
  mkdirSync(runDir, {recursive: true});
  // a worker stopped a moment ago (e.g. after its sweep was killed) may still be finishing: wait for it
  let lock;
  try {
    lock = await takeRunLock(runDir, 120000);
  } catch (err) {
    stopWatching();
    throw err;
  }
  try {
    const prov = readProvenance(runDir);
    const sameConfig = prov !== null && prov.configHash === point.configHash && existsSync(paths.config);
    if (sameConfig) {
      const plan = planResume(loaded.config, prov, paths);
      if (plan.redo.length === 0 && prov.status === 'done') {
        process.stderr.write(`${runDir}: already done\n`);
        return {
          runDir,
          runId: prov.runId,
          status: 'done',
          configHash: prov.configHash,
          backend: prov.backend,
          engine: (prov.stages.train?.info?.engine as string | undefined) ?? null,
          seed: prov.seed,
          stages: Object.fromEntries(Object.entries(prov.stages).map(([k, v]) => [k, v?.status])),
          exitCode: EXIT.ok,
          skipped: true,
        };
      }
      return await runPipeline({resume: runDir, backend: opts.backend, argv: opts.argv, locked: true, cores: pointCores()});
    }
    clearRunDir(runDir); // tdlab's own files of another config or a run killed before its provenance: nothing else
    return await runPipeline({configFile: baseFile, set: point.set, seed: point.seed ?? undefined, runDir, backend: opts.backend, argv: opts.argv, locked: true, baseDir, cores: pointCores()});
  } finally {
    stopWatching();
    lock.release();
  }
}
