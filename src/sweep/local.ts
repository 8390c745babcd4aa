/**
 * Local executor: N worker processes, each `node bin/run.js run --from-sweep <dir> --index i`,
 * with live listr2 progress (one line per running job plus done/failed/remaining counts). Each
 * job's stdout/stderr go to `<run dir>/logs/sweep.stdout.log|sweep.stderr.log` (appended).
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {closeSync, mkdirSync, openSync, readSync, fstatSync, writeSync} from 'node:fs';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import {Listr, ListrLogger, ProcessOutput} from 'listr2';
import type {SweepIndex, SweepPoint} from './plan.js';
import {pointLabel} from './spec.js';
import {readProvenance, refreshStatuses} from './store.js';
import {JOBS_ENV, PARENT_ENV} from './worker.js';

export const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'run.js');

export interface LocalOptions {
  sweepDir: string;
  index: SweepIndex;
  todo: number[];
  jobs: number;
  failFast: boolean;
  backend?: string;
  /** Called after every status change (the caller persists sweep.json). */
  save: () => void;
}

export interface LocalResult {
  /** SIGINT/SIGTERM stopped the sweep. */
  interrupted: boolean;
  /** --fail-fast stopped the sweep after a failure. */
  stoppedEarly: boolean;
}

/** The last non-empty line of a log file (reads its tail only). */
function lastLine(file: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const n = Math.min(size, 4096);
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, size - n);
    const lines = buf.toString('utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('=== '));
    return lines[lines.length - 1] ?? '';
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export async function runLocal(opts: LocalOptions): Promise<LocalResult> {
  const {sweepDir, index} = opts;
  const byIndex = new Map(index.points.map((p) => [p.index, p]));
  const queue = [...opts.todo];
  const running = new Map<number, ChildProcess>();
  const total = opts.todo.length;
  // points running side by side: each run's metrics stage takes its share of the cores (src/sweep/worker.ts)
  const sideBySide = Math.max(1, Math.min(opts.jobs, total));
  const counts = {done: 0, failed: 0};
  let stopping: 'signal' | 'failfast' | null = null;
  let signals = 0;

  const stopAll = (sig: NodeJS.Signals) => {
    for (const child of running.values()) child.kill(sig);
  };
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (!stopping) stopping = 'signal';
    process.stderr.write(`\n${sig}: stopping the running jobs (they keep what is finished)${signals === 1 ? '; again to force' : ''}\n`);
    stopAll(signals >= 3 ? 'SIGKILL' : 'SIGINT');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const remaining = () => total - counts.done - counts.failed - running.size;
  const summary = () => `sweep ${index.name}: ${counts.done} done, ${counts.failed} failed, ${running.size} running, ${Math.max(0, queue.length)} remaining (of ${total})`;

  /** Runs one point to its end; resolves with its final status. */
  const runPoint = (p: SweepPoint): Promise<{status: SweepPoint['status']; code: number | null; signal: NodeJS.Signals | null}> => {
    const runDir = join(sweepDir, p.runDir);
    const logs = join(runDir, 'logs');
    mkdirSync(logs, {recursive: true});
    const args = [BIN, 'run', '--from-sweep', sweepDir, '--index', String(p.index), '--json', ...(opts.backend ? ['--backend', opts.backend] : [])];
    const out = openSync(join(logs, 'sweep.stdout.log'), 'a');
    const err = openSync(join(logs, 'sweep.stderr.log'), 'a');
    writeSync(err, `=== ${new Date().toISOString()} tdlab ${args.slice(1).join(' ')}\n`);
    // own process group: a terminal's Ctrl-C reaches only the coordinator, which stops the workers once
    const child = spawn(process.execPath, args, {stdio: ['ignore', out, err], detached: true, env: {...process.env, [PARENT_ENV]: String(process.pid), [JOBS_ENV]: String(sideBySide), FORCE_COLOR: '0'}});
    closeSync(out);
    closeSync(err);
    running.set(p.index, child);
    return new Promise((resolvePoint) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        running.delete(p.index);
        const prov = readProvenance(runDir);
        let status: SweepPoint['status'];
        // a run whose provenance says done finished every stage, even if a signal then ended its process
        if (prov?.status === 'done' && prov.configHash === p.configHash) status = 'done';
        else if (code === 130 || signal !== null || prov?.status === 'interrupted') status = 'interrupted';
        else status = 'failed';
        resolvePoint({status, code, signal});
      };
      child.on('error', () => finish(1, null));
      child.on('exit', finish);
    });
  };

  const output = new ProcessOutput(process.stderr, process.stderr);
  const logger = new ListrLogger({processOutput: output});
  const plain = !process.stderr.isTTY;
  let allDone!: () => void;
  const finished = new Promise<void>((r) => (allDone = r));
  let workersLeft = sideBySide;

  type Task = {title: string; output: string};
  const worker = async (task: Task) => {
    while (queue.length > 0 && !stopping) {
      const i = queue.shift()!;
      const p = byIndex.get(i)!;
      const label = `#${i} ${pointLabel(p)}`;
      p.status = 'running';
      p.startedAt = new Date().toISOString();
      delete p.error;
      opts.save();
      task.title = label;
      if (plain) task.output = `start ${label} -> ${p.runDir}`;
      const t0 = Date.now();
      const timer = plain ? undefined : setInterval(() => (task.output = lastLine(join(sweepDir, p.runDir, 'logs', 'sweep.stderr.log'))), 500);
      const r = await runPoint(p);
      if (timer) clearInterval(timer);
      refreshStatuses(sweepDir, [p]);
      p.status = r.status === 'done' && (p.status as SweepPoint['status']) === 'done' ? 'done' : r.status;
      if (p.status !== 'done' && !p.error) p.error = r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`;
      if (p.status === 'done') counts.done++;
      else if (p.status === 'failed') counts.failed++;
      opts.save();
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      task.output = `${p.status} ${label} (${secs} s)${p.status === 'failed' ? `: ${p.error}; log ${join(p.runDir, 'logs', 'sweep.stderr.log')}` : ''} | ${summary()}`;
      if (p.status === 'failed' && opts.failFast && !stopping) {
        stopping = 'failfast';
        process.stderr.write(`--fail-fast: point ${i} failed; stopping the other jobs\n`);
        stopAll('SIGINT');
      }
    }
    task.title = stopping ? 'stopped' : 'idle';
    if (--workersLeft === 0) allDone();
  };

  const tasks = new Listr(
    [
      {
        title: summary(),
        task: async (_: unknown, task: Task) => {
          const t = setInterval(() => (task.title = summary()), 500);
          await finished;
          clearInterval(t);
          task.title = summary();
        },
      },
      ...Array.from({length: workersLeft}, (_, w) => ({
        title: `worker ${w + 1}`,
        task: (_: unknown, task: Task) => worker(task),
      })),
    ],
    {
      concurrent: true,
      exitOnError: false,
      registerSignalListeners: false,
      rendererOptions: {logger, persistentOutput: false, collapseSubtasks: false},
      fallbackRenderer: 'simple',
      fallbackRendererOptions: {logger},
      fallbackRendererCondition: () => plain,
    } as never,
  );
  try {
    await tasks.run();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  void remaining;
  return {interrupted: stopping === 'signal', stoppedEarly: stopping === 'failfast'};
}
