/**
 * Cross-run aggregate report: pure function from loaded runs to the JSON document, figures,
 * HTML, Markdown and CSV. The `aggregate` command finds and reads the runs and writes the files.
 */
import {validityWarnings} from '../metrics/validity.js';
import {groupLabel} from '../report/analysis.js';
import {aggregateRuns, type AggregateRun, type GroupAggregate} from './build.js';
import type {CheckSpec} from '../config/checks.js';
import {aggregateBeyond, beyondFigure} from './beyond.js';
import {evaluateChecks} from './checks.js';
import {buildFigures, compressionCsv, renderHtml, renderMarkdown, type AggregateFigure, type AggregateJson, type BandKind} from './render.js';

export interface AggregateOptions {
  /** Grouping key paths; default: every config key that differs between runs, except `seed`. */
  groupBy?: string[];
  band?: BandKind;
  /** Runs that were found but not aggregated, with reasons (reported). */
  skipped?: {runDir: string; reason: string}[];
  title?: string;
  /** Checks declared by the sweep and run configs (see declaredChecks); none: no checks section. */
  checks?: CheckSpec[];
  /** Epoch axis of the figures (default log). */
  epochAxis?: 'log' | 'linear';
}

/**
 * Per group, the estimators that carry a range or scale warning in some run (measured on the data,
 * docs/metrics.md "Validity warnings"): their compression is not meaningful on those layers.
 */
function validityNotes(groups: readonly GroupAggregate[], byDir: ReadonlyMap<string, AggregateRun>): string[] {
  const out: string[] = [];
  for (const g of groups) {
    const byEstimator = new Map<string, {kinds: Set<string>; layers: Set<string>; runs: Set<string>}>();
    for (const dir of g.runs) {
      const run = byDir.get(dir)!;
      for (const w of validityWarnings(run.metrics, run.layers)) {
        if (w.kind !== 'range' && w.kind !== 'scale') continue;
        const key = groupLabel({estimator: w.estimator ?? '', params: w.params ?? ''});
        const e = byEstimator.get(key) ?? {kinds: new Set(), layers: new Set(), runs: new Set()};
        e.kinds.add(w.kind);
        if (w.layer) e.layers.add(w.layer);
        e.runs.add(dir);
        byEstimator.set(key, e);
      }
    }
    for (const [label, e] of byEstimator) {
      out.push(`group ${g.label}: ${label} is not valid (${[...e.kinds].join(', ')}) on ${[...e.layers].join(', ')} in ${e.runs.size} of ${g.runs.length} run(s); its compression there is not meaningful (docs/metrics.md, "Validity warnings")`);
    }
  }
  return out;
}

export interface AggregateOutput {
  json: AggregateJson;
  figures: AggregateFigure[];
  html: string;
  markdown: string;
  csv: string;
}

export function buildAggregate(runs: readonly AggregateRun[], opts: AggregateOptions = {}): AggregateOutput {
  const band = opts.band ?? 'std';
  const res = aggregateRuns(runs, opts.groupBy);
  const byDir = new Map(runs.map((r) => [r.runDir, r]));
  const checks = evaluateChecks(res.groups.map((group) => ({group, runs: group.runs.map((d) => byDir.get(d) as AggregateRun)})), opts.checks ?? []);
  const beyond = aggregateBeyond(res.groups.map((group) => ({group, runs: group.runs.map((d) => byDir.get(d) as AggregateRun)})));
  const json: AggregateJson = {
    groupBy: res.groupBy,
    band,
    runs: runs.length,
    skipped: opts.skipped ?? [],
    groups: res.groups,
    checks,
    ...(beyond.some((g) => g.series.length || g.checks.length) ? {beyond} : {}),
    warnings: [...res.warnings, ...validityNotes(res.groups, byDir)],
  };
  const epochKind = opts.epochAxis ?? ((runs[0]?.config.report as {epochAxis?: 'log' | 'linear'} | undefined)?.epochAxis ?? 'log');
  const beyondFig = beyondFigure(beyond);
  const figures = [...buildFigures(res, band, epochKind), ...(beyondFig ? [beyondFig] : [])];
  const title = opts.title ?? 'tdlab aggregate report';
  return {json, figures, html: renderHtml({title, json, figures}), markdown: renderMarkdown({title, json, figures}), csv: compressionCsv(res)};
}

export {aggregateRuns, aggregateGroup, compressionOf, meanTrajectory, sampleStd, seedStats, type AggregateRun} from './build.js';
export {checkDefinition, declaredChecks, evaluateChecks, type CheckResult} from './checks.js';
export {differingKeys, flattenConfig, groupBy} from './group.js';
