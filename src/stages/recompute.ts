import {existsSync, readFileSync} from 'node:fs';
import {checkParamKeys, paramSetsFor, parseParamFlags} from '../config/params.js';
import {loadConfig} from '../config/load.js';
import {writeJsonAtomic} from '../io/atomic.js';
import {writeMetricRows} from '../io/tables.js';
import {anyMetric} from '../metrics/registry.js';
import {runPaths} from '../run/paths.js';
import type {Provenance} from '../run/provenance.js';
import {UserError} from '../util/errors.js';
import {computeMetrics, mergeMetricRows, readExistingMetrics, valueGroup, type MetricJob} from './metrics.js';
import {runPipeline, takeRunLock} from '../run/pipeline.js';
import {planResume} from '../run/resume.js';
import type {Config} from '../config/schema.js';

export interface RecomputeOptions {
  runDir: string;
  /** Estimator names; default: the run config's estimators. */
  estimators?: string[];
  /** `--param key=v1,v2` flags (several values sweep). */
  params?: string[];
  subsets?: string[];
  every?: number;
  maxRows?: number;
  /** Replace values that were already computed with identical parameters. */
  force?: boolean;
  /** Re-render the report afterwards when the run has one. */
  report?: boolean;
  /** Worker threads (default: the run config's metrics.threads, else automatic). */
  threads?: number;
  argv?: string[];
  progress?: (line: string) => void;
}

export interface RecomputeResult {
  runDir: string;
  jobs: Array<{estimator: string; params: Record<string, unknown>}>;
  added: number;
  replaced: number;
  kept: number;
  rows: number;
  report: string | null;
}

/**
 * `tdlab report`: renders a run's report again from its files (metrics, training log, model),
 * e.g. after `report.epochAxis` changed in the code or to refresh an older report.
 */
export async function rerenderReport(runDir: string, argv?: string[]): Promise<{runDir: string; report: string; status: string; error?: string}> {
  const paths = runPaths(runDir);
  if (!existsSync(paths.provenance) || !existsSync(paths.config)) throw new UserError(`${runDir}: not a run directory (no provenance.json/config.yaml); give a path like runs/<name>/<run-id>`);
  if (!existsSync(paths.metricsArrow)) throw new UserError(`${runDir}: no metrics/metrics.arrow yet; run tdlab metrics ${runDir} first`);
  const prov = JSON.parse(readFileSync(paths.provenance, 'utf8')) as Provenance;
  const {config} = loadConfig(paths.config);
  if (!config.stages.includes('report')) throw new UserError(`${paths.config}: stages has no report`);
  prov.stages.report = {status: 'pending'};
  writeJsonAtomic(paths.provenance, prov);
  const outcome = await runPipeline({resume: runDir, argv});
  if (outcome.exitCode !== 0) throw new UserError(`report: ${outcome.error ?? 'failed'}`, {exitCode: outcome.exitCode});
  return {runDir, report: paths.reportHtml, status: outcome.status};
}

/**
 * `tdlab metrics`: computes estimators on an existing run's snapshots without retraining and
 * adds the values beside the earlier ones in metrics/metrics.{arrow,csv}. Values already present
 * with identical parameters are kept unless `force`.
 */
export async function recomputeMetrics(opts: RecomputeOptions): Promise<RecomputeResult> {
  const paths = runPaths(opts.runDir);
  if (!existsSync(paths.provenance) || !existsSync(paths.config)) {
    throw new UserError(`${opts.runDir}: not a run directory (no provenance.json/config.yaml); give a path like runs/<name>/<run-id>`);
  }
  const {config, hash} = loadConfig(paths.config);
  const lock = await takeRunLock(opts.runDir);
  try {
    return await recomputeLocked(opts, config, hash);
  } finally {
    lock.release();
  }
}

async function recomputeLocked(opts: RecomputeOptions, config: Config, hash: string): Promise<RecomputeResult> {
  const paths = runPaths(opts.runDir);
  let prov: Provenance & {metricsUpdates?: unknown[]};
  try {
    prov = JSON.parse(readFileSync(paths.provenance, 'utf8')) as typeof prov;
  } catch (err) {
    throw new UserError(`${paths.provenance}: unreadable (${(err as Error).message.split('\n')[0]})`);
  }
  const plan = planResume(config, prov, paths);
  if (plan.redo.includes('data') || plan.redo.includes('train')) throw new UserError(`${opts.runDir}: ${plan.reason}; finish the run first (tdlab run --resume ${opts.runDir})`);
  const grid = parseParamFlags(opts.params ?? []);
  const names = opts.estimators?.length ? opts.estimators : config.metrics.estimators.map((e) => e.name);
  const ests = names.map((n) => anyMetric(n, '--estimator'));
  checkParamKeys(ests, grid);
  let jobs: MetricJob[];
  if (opts.estimators?.length || Object.keys(grid).length) {
    jobs = ests.flatMap((est) => paramSetsFor(est, grid).map((params) => ({name: est.name, params, every: opts.every ?? 1, maxRows: opts.maxRows})));
  } else {
    jobs = config.metrics.estimators.map((e) => ({...e, every: opts.every ?? e.every, maxRows: opts.maxRows ?? e.maxRows}));
  }
  const subsets = opts.subsets?.length ? opts.subsets : config.metrics.subsets;
  for (const s of subsets) if (!['all', 'train', 'test'].includes(s)) throw new UserError(`--subset ${s}: use all, train or test`);
  // values that exist with identical parameters are not computed again (unless --force)
  const existing = readExistingMetrics(paths);
  const groups = new Set(existing.map(valueGroup));
  const skipped = new Set<string>();
  const have = (g: string) => {
    if (opts.force || !groups.has(g)) return false;
    skipped.add(g);
    return true;
  };
  const {rows: computed, threads} = await computeMetrics({paths, jobs, subsets, seed: config.seed, progress: opts.progress, have, train: config.train, note: opts.progress, threads: opts.threads ?? config.metrics.threads});
  const merged = mergeMetricRows(existing, computed, opts.force ?? false);
  merged.kept += existing.filter((r) => skipped.has(valueGroup(r))).length;
  writeMetricRows(paths.metricsArrow, paths.metricsCsv, merged.rows, {config_sha256: hash});
  prov.metricsUpdates = [
    ...(prov.metricsUpdates ?? []),
    {at: new Date().toISOString(), argv: opts.argv ?? [], jobs: jobs.map((j) => ({estimator: j.name, params: j.params, every: j.every, maxRows: j.maxRows ?? null})), subsets, threads, added: merged.added, replaced: merged.replaced, kept: merged.kept},
  ];
  // the metrics table now exists: a run whose metrics stage never ran (e.g. it failed) must not
  // have it re-run by the report's resume below, which would replace these values
  if (prov.stages.metrics?.status !== 'done') {
    const at = new Date().toISOString();
    prov.stages.metrics = {status: 'done', startedAt: at, endedAt: at, outputs: ['metrics/metrics.arrow', 'metrics/metrics.csv'], info: {by: 'tdlab metrics', rows: merged.rows.length, threads}};
  }
  let report: string | null = null;
  if ((opts.report ?? true) && config.stages.includes('report') && prov.stages.metrics?.status === 'done') {
    prov.stages.report = {status: 'pending'};
    writeJsonAtomic(paths.provenance, prov);
    const outcome = await runPipeline({resume: opts.runDir, argv: opts.argv, locked: true});
    if (outcome.exitCode !== 0) throw new UserError(`report: ${outcome.error ?? 'failed'}`, {exitCode: outcome.exitCode});
    report = paths.reportHtml;
  } else {
    writeJsonAtomic(paths.provenance, prov);
  }
  return {
    runDir: opts.runDir,
    jobs: jobs.map((j) => ({estimator: j.name, params: j.params})),
    added: merged.added,
    replaced: merged.replaced,
    kept: merged.kept,
    rows: merged.rows.length,
    report,
  };
}
