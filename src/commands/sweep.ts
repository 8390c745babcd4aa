import {availableParallelism} from 'node:os';
import {existsSync, mkdirSync, readFileSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {Args, Flags} from '@oclif/core';
import {BACKEND_CHOICES} from '../backend/tf.js';
import {writeFileAtomic} from '../io/atomic.js';
import {EXIT, UserError} from '../util/errors.js';
import {runLocal} from '../sweep/local.js';
import {EXIT_SWEEP_FAILED, pendingIndices, type PointStatus, type SweepIndex} from '../sweep/plan.js';
import {newSweepIndex, readSweepFile, resolveSweep, type ResolvedSweep} from '../sweep/resolve.js';
import {parseConfig} from '../config/load.js';
import {preflight} from '../run/preflight.js';
import {followJob, jobActive, shq, submit, writeSlurmScript} from '../sweep/slurm.js';
import {pointLabel} from '../sweep/spec.js';
import {acquireLock, describeHolder} from '../io/lock.js';
import {refreshStatuses, SWEEP_JSON, sweepLockFile, writeSweepIndex} from '../sweep/store.js';
import {BaseCommand} from '../cli/base-command.js';

interface SweepResult {
  sweepDir: string;
  name: string;
  executor: string;
  jobId?: string;
  counts: SweepIndex['counts'];
  skipped: number;
  ran: number;
  points: Array<{index: number; overrides: Record<string, unknown>; seed: number | null; configHash: string; runDir: string; status: PointStatus; error?: string}>;
}

/**
 * The checks of `tdlab validate` (input files, model, memory) for every distinct data, model and
 * metrics setting of the points, before the sweep directory is created: a point that cannot run
 * is refused with exit 2 naming it.
 */
async function preflightSweep(resolved: ResolvedSweep): Promise<void> {
  const seen = new Set<string>();
  for (const p of resolved.points) {
    const loaded = parseConfig(resolved.baseText, resolved.baseFile, {set: p.set, seed: p.seed ?? undefined});
    const {data, model, metrics, stages} = loaded.config;
    const key = JSON.stringify({data, model, metrics, stages, seed: data.name === 'table' ? loaded.config.seed : 0});
    if (seen.has(key)) continue;
    seen.add(key);
    try {
      await preflight(loaded, {stages});
    } catch (err) {
      if (err instanceof UserError) throw new UserError(`${resolved.sweepFile}: point ${p.index} (${pointLabel(p)}): ${err.message}`);
      throw err;
    }
  }
}

export default class Sweep extends BaseCommand {
  static override description = `Run every point of a sweep file (grid or seeded random sample of overrides x seeds), in parallel here or as a Slurm job array

Each point is a normal run directory <sweep dir>/runs/<config hash, 12 hex>/ and <sweep dir>/sweep.json indexes them (index, overrides, seed, configHash, runDir, status). Re-running the same sweep resumes it: done runs are skipped, failed or interrupted ones continue (their finished stages are kept), missing ones start.

Sweep file keys: base (config path, relative to the sweep file), name, set (overrides for every point), axes (dotted key: list | a..b | {from, to, step|num, log} | {values: [...]}; with sample also {uniform|loguniform|int: [lo, hi]}), seeds (0..9 or a list), sample ({n, seed}: n settings drawn instead of the full grid, each crossed with every seed), slurm ({partition, cpus, mem, time, throttle, account, qos, extra}).

Exit codes: 0 every point done; 3 the sweep finished but some points failed (see sweep.json and each run's logs/); 2 bad sweep file or flags; 130 interrupted (SIGINT/SIGTERM; re-run to continue).`;
  static override enableJsonFlag = true;
  static override examples = [
    '<%= config.bin %> sweep configs/sweeps/saxe.yaml --jobs 2',
    '<%= config.bin %> sweep configs/sweeps/saxe.yaml --executor slurm',
    '<%= config.bin %> sweep configs/sweeps/saxe.yaml --emit commands | parallel -j 4',
    '<%= config.bin %> sweep configs/sweeps/saxe.yaml --emit slurm --out /scratch/saxe',
  ];
  static override args = {
    sweep: Args.string({description: 'sweep YAML file', required: true}),
  };
  static override flags = {
    out: Flags.string({description: 'the sweep directory (default runs/sweeps/<sweep name>)'}),
    jobs: Flags.integer({char: 'j', description: 'local worker processes (default: number of cores)', min: 1}),
    executor: Flags.option({options: ['local', 'slurm'] as const, default: 'local', description: 'where the runs execute'})(),
    'fail-fast': Flags.boolean({description: 'stop at the first failed point (running ones are interrupted, not counted as failed)', exclusive: ['keep-going']}),
    'keep-going': Flags.boolean({description: 'run every point even when some fail (the default)', exclusive: ['fail-fast']}),
    emit: Flags.option({options: ['slurm', 'commands'] as const, description: 'only write the Slurm script (prints its path) or print one tdlab run command per pending point'})(),
    backend: Flags.option({options: BACKEND_CHOICES, description: 'tensor backend passed to every run'})(),
    'poll-interval': Flags.integer({description: 'seconds between squeue polls (slurm executor)', default: 3, min: 1}),
  };

  async run(): Promise<SweepResult> {
    const {args, flags} = await this.parse(Sweep);
    const {spec} = readSweepFile(args.sweep);
    const sweepDir = resolve(flags.out ?? join('runs', 'sweeps', spec.name));
    const resolved = resolveSweep(args.sweep);
    await preflightSweep(resolved);

    // one coordinator per sweep directory (workers and Slurm tasks do not write sweep.json)
    mkdirSync(sweepDir, {recursive: true});
    const lock = await acquireLock(sweepLockFile(sweepDir), {purpose: 'tdlab sweep'});
    if ('holder' in lock) throw new UserError(`${sweepDir}: another tdlab sweep is running this sweep: ${describeHolder(lock.holder)}`);
    const release = lock.release;

    try {
      let previous: SweepIndex | null = null;
      const file = join(sweepDir, SWEEP_JSON);
      if (existsSync(file)) {
        try {
          previous = JSON.parse(readFileSync(file, 'utf8')) as SweepIndex;
        } catch {
          previous = null;
        }
      }
      const index = newSweepIndex(resolved, previous);
      const save = () => writeSweepIndex(sweepDir, index);
      const basePath = join(sweepDir, index.base);
      if (!existsSync(basePath) || readFileSync(basePath, 'utf8') !== resolved.baseText) writeFileAtomic(basePath, resolved.baseText);

      const prevJob = index.slurmJob;
      const prevActive = prevJob !== null && jobActive(prevJob.jobId);
      if (prevJob && !prevActive) index.slurmJob = null;
      refreshStatuses(sweepDir, index.points);
      save();
      if (prevActive && (flags.executor !== 'slurm' || flags.emit)) {
        throw new UserError(`${sweepDir}: slurm job ${prevJob!.jobId} of this sweep is still queued or running; wait for it, follow it with --executor slurm, or scancel ${prevJob!.jobId}`);
      }

      const todo = pendingIndices(index.points);
      const skipped = index.points.length - todo.length;
      if (flags.emit === 'commands') {
        for (const i of todo) this.log(`tdlab run --from-sweep ${shq(sweepDir)} --index ${i}${flags.backend ? ` --backend ${flags.backend}` : ''}`);
        return this.result(sweepDir, index, 'commands', skipped, 0);
      }
      if (flags.emit === 'slurm') {
        const script = writeSlurmScript(sweepDir, index, todo.length ? todo : index.points.map((p) => p.index), flags.backend);
        if (!this.jsonEnabled()) this.log(script);
        return {...this.result(sweepDir, index, 'slurm-script', skipped, 0), script} as SweepResult;
      }

      process.stderr.write(`sweep ${index.name}: ${index.points.length} points, ${skipped} done already, ${todo.length} to run -> ${sweepDir}\n`);
      let interrupted = false;
      let jobId: string | undefined;
      if (todo.length > 0 || prevActive) {
        if (flags.executor === 'local') {
          const jobs = flags.jobs ?? availableParallelism();
          const r = await runLocal({sweepDir, index, todo, jobs, failFast: flags['fail-fast'], backend: flags.backend, save});
          interrupted = r.interrupted;
        } else {
          let indices: number[];
          if (prevActive) {
            jobId = prevJob!.jobId;
            indices = prevJob!.indices;
            process.stderr.write(`following slurm job ${jobId} submitted ${prevJob!.submittedAt}\n`);
          } else {
            const script = writeSlurmScript(sweepDir, index, todo, flags.backend);
            jobId = submit(script);
            indices = todo;
            index.slurmJob = {jobId, script, indices, submittedAt: new Date().toISOString()};
            save();
            process.stderr.write(`submitted slurm job ${jobId} (array ${todo.length} tasks) from ${script}\n`);
          }
          const r = await followJob({sweepDir, index, jobId, indices, pollMs: flags['poll-interval'] * 1000, save, failFast: flags['fail-fast']});
          interrupted = r.detached;
          if (!r.detached) index.slurmJob = null;
        }
      }
      save();
      const result = this.result(sweepDir, index, flags.executor, skipped, todo.length, jobId);
      const failed = index.points.filter((p) => p.status !== 'done');
      if (!this.jsonEnabled()) {
        this.log(sweepDir);
        const c = index.counts;
        process.stderr.write(`sweep ${index.name}: ${c.done}/${c.total} done, ${c.failed} failed, ${c.interrupted} interrupted, ${c.pending + c.running} not run\n`);
        for (const p of failed.filter((q) => q.status === 'failed').slice(0, 20)) process.stderr.write(`  failed #${p.index} ${pointLabel(p)}: ${p.error ?? ''} (${join(p.runDir, 'logs')})\n`);
      }
      if (interrupted) process.exitCode = EXIT.interrupted;
      else if (failed.length > 0) process.exitCode = EXIT_SWEEP_FAILED;
      return result;
    } finally {
      release();
    }
  }

  private result(sweepDir: string, index: SweepIndex, executor: string, skipped: number, ran: number, jobId?: string): SweepResult {
    return {
      sweepDir,
      name: index.name,
      executor,
      ...(jobId ? {jobId} : {}),
      counts: index.counts,
      skipped,
      ran,
      points: index.points.map((p) => ({index: p.index, overrides: p.overrides, seed: p.seed, configHash: p.configHash, runDir: join(sweepDir, p.runDir), status: p.status, ...(p.error ? {error: p.error} : {})})),
    };
  }
}
