import {existsSync, mkdirSync, readFileSync} from 'node:fs';
import {availableParallelism} from 'node:os';
import {basename, join, resolve} from 'node:path';
import {Listr, ListrLogger, ProcessOutput} from 'listr2';
import {stringify} from 'yaml';
import {BACKEND_CHOICES, loadBackend, type BackendChoice, type BackendHint, type LoadedBackend} from '../backend/tf.js';
import {checkStageOrder, loadConfig, type LoadedConfig} from '../config/load.js';
import {removeTempFiles, writeFileAtomic, writeJsonAtomic} from '../io/atomic.js';
import {acquireLock, describeHolder, type HeldLock} from '../io/lock.js';
import {runPaths} from './paths.js';
import {preflight} from './preflight.js';
import {newProvenance, type Provenance, type StageRecord, type StageStatus} from './provenance.js';
import {planResume} from './resume.js';
import {EXIT, StageError, UserError, errorMessage} from '../util/errors.js';
import type {StageName} from './stage-names.js';
import {stages} from '../stages/registry.js';
import type {StageContext} from '../stages/types.js';

export interface RunOptions {
  /** A config file for a new run, or undefined with `resume`. */
  configFile?: string;
  set?: string[];
  seed?: number;
  /** Root under which runs go as `<name>/<run-id>/` (default `runs`). */
  out?: string;
  /** Put a new run in exactly this directory instead (created if missing; it must not hold a run yet). The run id is its name. */
  runDir?: string;
  backend?: BackendChoice;
  /** Continue an existing run directory: stages marked done are kept, the others run (see planResume). */
  resume?: string;
  /** The caller holds the run directory's lock already (the sweep worker, tdlab metrics). */
  locked?: boolean;
  /** Directory relative data paths are relative to (default: the config file's). */
  baseDir?: string;
  argv?: string[];
  /** CPU cores the run may use (default: all available; a sweep running points side by side passes each its share). */
  cores?: number;
}

export interface RunOutcome {
  runDir: string;
  runId: string;
  status: Provenance['status'];
  configHash: string;
  backend: string | null;
  /** The training engine of the train stage (fused or tfjs), null when it did not run. */
  engine: string | null;
  seed: number;
  stages: Partial<Record<StageName, StageStatus>>;
  error?: string;
  exitCode: number;
}

function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** A fresh run directory `<out>/<name>/<time>-<hash8>[-k]` (created). */
export function newRunDir(out: string, name: string, configHash: string): {runDir: string; runId: string} {
  const base = `${timestamp()}-${configHash.slice(0, 8)}`;
  for (let k = 1; ; k++) {
    const runId = k === 1 ? base : `${base}-${k}`;
    const runDir = join(out, name, runId);
    if (!existsSync(runDir)) {
      mkdirSync(runDir, {recursive: true});
      return {runDir, runId};
    }
  }
}

/** A given directory for a new run (e.g. a sweep point's `<sweep>/runs/<hash12>`); the run id is its name. */
function claimRunDir(dir: string): {runDir: string; runId: string} {
  if (existsSync(runPaths(dir).provenance)) throw new UserError(`${dir}: already holds a run (provenance.json); continue it with --resume ${dir}`);
  mkdirSync(dir, {recursive: true});
  return {runDir: dir, runId: basename(resolve(dir))};
}

/**
 * Runs a config's stages into a run directory. Config, input and flag errors throw UserError
 * before anything is written; a stage failure is recorded in provenance.json and returned. The
 * process holds the run's lock while it works, and every way out (a stage error, SIGINT, SIGTERM
 * or SIGHUP - twice forces it -, process.exit) leaves provenance.json with a status other than
 * `running`; only SIGKILL cannot, and then `tdlab runs` sees that the lock's holder is gone.
 */
export async function runPipeline(opts: RunOptions): Promise<RunOutcome> {
  let loaded: LoadedConfig;
  let runDir: string;
  let runId: string;
  let prov: Provenance;
  let lock: HeldLock | undefined;
  let redo: StageName[];
  let trainFrom: number | null = null;
  let backendChoice: BackendChoice = opts.backend ?? 'auto';
  const argv = opts.argv ?? process.argv.slice(2);
  if (opts.resume) {
    const paths = runPaths(opts.resume);
    if (!existsSync(paths.provenance)) {
      throw new UserError(
        existsSync(paths.config)
          ? `${opts.resume}: the run was stopped before it started (no provenance.json); start it again (tdlab run with its config, or its sweep)`
          : `${opts.resume}: not a run directory (no provenance.json); give a path like runs/<name>/<run-id>`,
      );
    }
    loaded = loadConfig(paths.config);
    try {
      prov = JSON.parse(readFileSync(paths.provenance, 'utf8')) as Provenance;
    } catch (err) {
      throw new UserError(`${paths.provenance}: unreadable (${errorMessage(err).split('\n')[0]}); start a new run`);
    }
    if (prov.configHash !== loaded.hash) throw new UserError(`${paths.config}: config was edited after the run started (hash ${loaded.hash.slice(0, 8)} != ${String(prov.configHash).slice(0, 8)}); start a new run instead`);
    runDir = opts.resume;
    runId = prov.runId;
    if (!opts.locked) lock = await takeRunLock(runDir);
    try {
      removeTempFiles(runDir); // of writers that were killed; this process holds the lock
      const plan = planResume(loaded.config, prov, paths);
      redo = plan.redo;
      trainFrom = plan.trainFrom;
      // training that continues must continue on the backend it started on (values differ between backends)
      const recorded = prov.backend === 'tensorflow-gpu' ? 'tensorflow' : (BACKEND_CHOICES as readonly string[]).includes(prov.backend ?? '') ? (prov.backend as BackendChoice) : null;
      if (trainFrom !== null && recorded) {
        if (opts.backend && opts.backend !== 'auto' && opts.backend !== recorded) {
          throw new UserError(`--backend ${opts.backend}: ${runDir} trained on ${recorded} up to epoch ${trainFrom}; continuing on another backend would mix their numerics (resume with --backend ${recorded}, or start a new run)`);
        }
        backendChoice = recorded;
      }
      await preflight(loaded, {stages: redo, runDir});
      prov.resumes = [...(prov.resumes ?? []), {at: new Date().toISOString(), argv, redo, reason: plan.reason, trainFrom}];
    } catch (err) {
      lock?.release();
      throw err;
    }
    prov.status = 'running';
    prov.endedAt = null;
  } else {
    if (!opts.configFile) throw new UserError('give a config file (e.g. tdlab run configs/tishby.yaml) or --resume <run dir>');
    loaded = loadConfig(opts.configFile, {set: opts.set, seed: opts.seed, baseDir: opts.baseDir});
    await preflight(loaded, {stages: loaded.config.stages}); // inputs and memory: nothing is created for a config that cannot run
    ({runDir, runId} = opts.runDir ? claimRunDir(opts.runDir) : newRunDir(opts.out ?? 'runs', loaded.config.name, loaded.hash));
    if (!opts.locked) lock = await takeRunLock(runDir);
    prov = newProvenance({runId, name: loaded.config.name, configHash: loaded.hash, seed: loaded.config.seed, argv});
    redo = [...loaded.config.stages];
  }
  const {config} = loaded;
  const paths = runPaths(runDir);
  const done = new Set(config.stages.filter((s) => !redo.includes(s)));
  const saveProv = () => writeJsonAtomic(paths.provenance, prov);
  try {
    checkStageOrder(config.stages, done, loaded.file);
    if (!opts.resume) writeFileAtomic(paths.config, `# resolved tdlab config; sha256 ${loaded.hash}\n` + stringify(config));
    for (const s of redo) prov.stages[s] = {status: 'pending'};
    saveProv();
  } catch (err) {
    lock?.release();
    throw err;
  }

  const command = ['tdlab', ...prov.argv].join(' ');
  const abort = new AbortController();
  let finished = false;
  /** Last words: every running stage and the run get a final status, the lock goes. */
  const finish = (status: Provenance['status'], why?: string) => {
    if (finished) return;
    finished = true;
    for (const s of config.stages) {
      const rec = prov.stages[s];
      if (rec?.status === 'running') Object.assign(rec, {status: status === 'done' ? 'failed' : status, endedAt: new Date().toISOString(), ...(why ? {error: why} : {})});
    }
    prov.status = status;
    prov.endedAt = new Date().toISOString();
    try {
      saveProv();
    } finally {
      lock?.release();
    }
  };
  const onExit = () => finish('interrupted', 'the process exited while the stage ran');
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) {
      finish('interrupted', `${sig} (forced)`);
      process.exit(EXIT.interrupted);
    }
    process.stderr.write(`\n${sig}: stopping after the current step (again to force)\n`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', onExit);

  let backend: LoadedBackend | undefined;
  const getBackend = async (hint?: BackendHint) => {
    if (!backend) {
      backend = await loadBackend(backendChoice, hint);
      prov.backend = backend.backend;
      prov.backendSkipped = backend.skipped;
      if (backend.adapter) prov.adapter = backend.adapter;
      saveProv();
      const a = backend.adapter;
      const on = a ? ` on ${a.device || a.description || a.vendor} (${a.dawnBackend}${a.software ? ', software' : ''})` : '';
      process.stderr.write(`backend: ${backend.backend}${on}${backend.skipped.length ? ` (skipped ${backend.skipped.join('; ')})` : ''}\n`);
    }
    return backend;
  };

  const output = new ProcessOutput(process.stderr, process.stderr);
  const logger = new ListrLogger({processOutput: output});
  const plain = !process.stderr.isTTY;
  const tasks = new Listr(
    config.stages.map((name) => ({
      title: `${name}: ${stages.get(name).description}`,
      skip: () => (done.has(name) ? 'done earlier' : false),
      task: async (_: unknown, task: {output: string; title: string}) => {
        const rec: StageRecord = (prov.stages[name] = {status: 'running', startedAt: new Date().toISOString()});
        saveProv();
        const t0 = Date.now();
        let lastShown = 0;
        const notes: string[] = [];
        const ctx: StageContext = {
          config,
          configHash: loaded.hash,
          runId,
          paths,
          command,
          backend: getBackend,
          backendChoice,
          signal: abort.signal,
          cores: opts.cores ?? availableParallelism(),
          ...(name === 'train' && trainFrom !== null ? {resumeFrom: trainFrom} : {}),
          progress(line) {
            const now = Date.now();
            if (now - lastShown >= (plain ? 15000 : 100)) {
              lastShown = now;
              task.output = line;
            }
          },
          note(line) {
            notes.push(line);
            task.output = `warning: ${line}`;
          },
        };
        try {
          const result = await stages.get(name).run(ctx);
          Object.assign(rec, {
            status: 'done',
            outputs: result.outputs,
            info: result.info,
            ...(result.resumedFromEpoch !== undefined ? {resumedFromEpoch: result.resumedFromEpoch} : {}),
            ...(notes.length ? {notes} : {}),
          });
        } catch (err) {
          const interrupted = abort.signal.aborted;
          Object.assign(rec, {status: interrupted ? 'interrupted' : 'failed', error: errorMessage(err), ...(notes.length ? {notes} : {})});
          throw err;
        } finally {
          Object.assign(rec, {endedAt: new Date().toISOString(), seconds: (Date.now() - t0) / 1000});
          saveProv();
        }
      },
    })),
    {
      concurrent: false,
      exitOnError: true,
      registerSignalListeners: false,
      rendererOptions: {logger, persistentOutput: false},
      fallbackRenderer: 'simple',
      fallbackRendererOptions: {logger},
      fallbackRendererCondition: () => plain,
    } as never,
  );

  let error: unknown;
  try {
    await tasks.run();
  } catch (err) {
    error = err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('exit', onExit);
  }
  const failed = error !== undefined;
  if (failed && !(error instanceof UserError)) {
    // an unexpected error: keep the stack in the run directory for the bug report
    writeFileAtomic(join(paths.logs, 'error.txt'), (error as Error)?.stack ?? String(error));
  }
  finish(failed ? (abort.signal.aborted ? 'interrupted' : 'failed') : 'done', failed ? errorMessage(error) : undefined);
  const statuses = Object.fromEntries(config.stages.map((s) => [s, prov.stages[s]?.status ?? 'pending'])) as RunOutcome['stages'];
  return {
    runDir,
    runId,
    status: prov.status,
    configHash: loaded.hash,
    backend: prov.backend,
    engine: (prov.stages.train?.info?.engine as string | undefined) ?? null,
    seed: config.seed,
    stages: statuses,
    ...(failed ? {error: errorMessage(error)} : {}),
    exitCode: !failed ? EXIT.ok : prov.status === 'interrupted' ? EXIT.interrupted : error instanceof StageError || !(error instanceof UserError) ? EXIT.runtime : (error as UserError).exitCode,
  };
}

/** The run directory's lock for this process, or a UserError naming who holds it. */
export async function takeRunLock(runDir: string, waitMs = 0): Promise<HeldLock> {
  const got = await acquireLock(runPaths(runDir).lock, {waitMs, purpose: `tdlab ${process.argv.slice(2, 3).join(' ')}`.trim()});
  if ('holder' in got) throw new UserError(`${runDir}: in use by ${describeHolder(got.holder)}; wait for it to finish`, {exitCode: EXIT.runtime, code: 'E_LOCKED'});
  return got;
}
