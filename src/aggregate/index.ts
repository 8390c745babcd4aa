/**
 * Cross-run aggregate report: pure function from loaded runs to the JSON document, figures,
 * HTML, Markdown and CSV. The `aggregate` command finds and reads the runs and writes the files.
 */
import {aggregateRuns, type AggregateRun} from './build.js';
import type {CheckSpec} from '../config/checks.js';
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
  const json: AggregateJson = {
    groupBy: res.groupBy,
    band,
    runs: runs.length,
    skipped: opts.skipped ?? [],
    groups: res.groups,
    checks,
    warnings: res.warnings,
  };
  const epochKind = opts.epochAxis ?? ((runs[0]?.config.report as {epochAxis?: 'log' | 'linear'} | undefined)?.epochAxis ?? 'log');
  const figures = buildFigures(res, band, epochKind);
  const title = opts.title ?? 'tdlab aggregate report';
  return {json, figures, html: renderHtml({title, json, figures}), markdown: renderMarkdown({title, json, figures}), csv: compressionCsv(res)};
}

export {aggregateRuns, aggregateGroup, compressionOf, meanTrajectory, sampleStd, seedStats, type AggregateRun} from './build.js';
export {checkDefinition, declaredChecks, evaluateChecks, type CheckResult} from './checks.js';
export {differingKeys, flattenConfig, groupBy} from './group.js';
