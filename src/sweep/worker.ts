/**
 * `tdlab run --from-sweep <dir> --index N`: runs one point of a sweep in its run directory.
 * Idempotent, so a local worker, a Slurm array task or a CI matrix job can all call it:
 * a done run is left alone; a failed or interrupted one continues (stages whose outputs are all
 * present are kept); a directory without a usable provenance starts afresh.
 */
import {existsSync, mkdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {parseConfig} from '../config/load.js';
import {writeJsonAtomic} from '../io/atomic.js';
import {runPaths} from '../run/paths.js';
import type {BackendChoice} from '../backend/tf.js';
import {runPipeline, type RunOutcome} from '../run/pipeline.js';
import {EXIT, UserError} from '../util/errors.js';
import {stagesToRedo} from './plan.js';
import {acquireLock, clearRunDir, readProvenance, readSweepIndex, runLockFile} from './store.js';

/** Env var set by the local executor: the coordinator's pid. A worker whose parent is gone stops. */
export const PARENT_ENV = 'TDLAB_SWEEP_PPID';

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

export async function runFromSweep(sweepDir: string, index: number, opts: {backend?: BackendChoice; argv?: string[]} = {}): Promise<RunOutcome & {skipped?: boolean}> {
  const sweep = readSweepIndex(sweepDir);
  const point = sweep.points.find((p) => p.index === index);
  if (!point) throw new UserError(`--index ${index}: sweep ${sweep.name} has points 0..${sweep.points.length - 1}`);
  const baseFile = join(sweepDir, sweep.base);
  if (!existsSync(baseFile)) throw new UserError(`${baseFile}: missing (re-run tdlab sweep to write it)`);
  const loaded = parseConfig(readFileSync(baseFile, 'utf8'), baseFile, {set: point.set, seed: point.seed ?? undefined});
  if (loaded.hash !== point.configHash) {
    throw new UserError(`${sweepDir}: point ${index} resolves to config ${loaded.hash.slice(0, 12)}, sweep.json says ${point.configHash.slice(0, 12)} (base.yaml or tdlab changed); re-run tdlab sweep`);
  }
  const runDir = join(sweepDir, point.runDir);
  const paths = runPaths(runDir);
  const stopWatching = watchParent();
  mkdirSync(runDir, {recursive: true});
  // a worker stopped a moment ago (e.g. after its sweep was killed) may still be finishing: wait for it
  const got = await acquireLock(runLockFile(runDir), 120000);
  if ('holder' in got) {
    stopWatching();
    throw new UserError(`${runDir}: in use by pid ${got.holder.pid} on ${got.holder.host} (another worker runs this point)`, {exitCode: EXIT.runtime, code: 'E_LOCKED'});
  }
  try {
    const prov = readProvenance(runDir);
    const sameConfig = prov !== null && prov.configHash === point.configHash && existsSync(paths.config);
    if (sameConfig) {
      const redo = stagesToRedo(loaded.config.stages, prov, (rel) => existsSync(join(runDir, rel)));
      if (redo.length === 0 && prov.status === 'done') {
        process.stderr.write(`${runDir}: already done\n`);
        return {
          runDir,
          runId: prov.runId,
          status: 'done',
          configHash: prov.configHash,
          backend: prov.backend,
          seed: prov.seed,
          stages: Object.fromEntries(Object.entries(prov.stages).map(([k, v]) => [k, v?.status])),
          exitCode: EXIT.ok,
          skipped: true,
        };
      }
      // stages that are done but whose files are gone run again, with everything after them
      for (const s of redo) {
        const rec = prov.stages[s as keyof typeof prov.stages];
        if (rec?.status === 'done') rec.status = 'pending';
      }
      writeJsonAtomic(paths.provenance, prov);
      return await runPipeline({resume: runDir, backend: opts.backend, argv: opts.argv});
    }
    clearRunDir(runDir);
    return await runPipeline({configFile: baseFile, set: point.set, seed: point.seed ?? undefined, runDir, backend: opts.backend, argv: opts.argv});
  } finally {
    stopWatching();
    got.release();
  }
}
