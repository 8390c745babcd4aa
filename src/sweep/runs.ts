/**
 * Listing and comparing run directories (`tdlab runs`, `tdlab compare`). Loading is I/O; the
 * row building, config diff and metric table are pure.
 */
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs';
import {join, relative} from 'node:path';
import {parse} from 'yaml';
import {runPaths} from '../run/paths.js';
import type {Provenance} from '../run/provenance.js';
import type {ReportSummary, ValidityWarning} from '../report/types.js';
import {EXECUTION_KEYS} from '../config/execution.js';
import {liveHolder} from '../io/lock.js';
import {readProvenance} from './store.js';

export interface LoadedRun {
  dir: string;
  prov: Provenance;
  summary: ReportSummary | null;
  config: Record<string, unknown> | null;
}

/** Every run directory (one holding provenance.json) under `root`, not descending into runs. */
export function findRuns(root: string, maxDepth = 6): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (existsSync(join(dir, 'provenance.json'))) {
      out.push(dir);
      return;
    }
    if (depth >= maxDepth) return;
    let entries;
    try {
      entries = readdirSync(dir, {withFileTypes: true});
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') walk(join(dir, e.name), depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

/**
 * A run directory's provenance, summary and config. A run marked `running` whose lock has no
 * live holder (its process was killed, or its host died) is shown as `interrupted`.
 */
export function loadRun(dir: string): LoadedRun | null {
  const prov = readProvenance(dir);
  if (!prov) return null;
  const p = runPaths(dir);
  if (prov.status === 'running' && liveHolder(p.lock) === null) prov.status = 'interrupted';
  let summary: ReportSummary | null = null;
  let config: Record<string, unknown> | null = null;
  try {
    summary = JSON.parse(readFileSync(p.reportSummary, 'utf8')) as ReportSummary;
  } catch {
    summary = null;
  }
  try {
    config = parse(readFileSync(p.config, 'utf8')) as Record<string, unknown>;
  } catch {
    config = null;
  }
  return {dir, prov, summary, config};
}

/** Whether a path is a directory. */
export const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

// ------------------------------------------------------------------------------------------
// pure part

export interface RunRow {
  name: string;
  runId: string;
  dir: string;
  status: Provenance['status'];
  configHash: string;
  seed: number;
  activation: string | null;
  startedAt: string;
  endedAt: string | null;
  epochs: number | null;
  trainAcc: number | null;
  testAcc: number | null;
  /** The last hidden layer's name and its compression (max - final I(X;T)) per estimator label. */
  lastHidden: string | null;
  compression: Record<string, number | null>;
  /**
   * The last hidden layer's compression from the first estimator without a validity warning on it
   * (report/summary.json `headline`); null when there is none.
   */
  headline: {estimator: string; params: string; compression: number | null} | null;
  /** The report's warnings (summary.json), e.g. `range` for fixed-range bins on unbounded values. */
  warnings: ValidityWarning[];
}

/** One line per kind of warning: `mi.bin range (h1, h2, h3)`, `chance`. */
export function warningSummary(warnings: readonly ValidityWarning[]): string[] {
  const byKey = new Map<string, string[]>();
  for (const w of warnings) {
    const key = w.estimator && w.kind !== 'dead' ? `${w.estimator} ${w.kind}` : w.kind;
    const layers = byKey.get(key) ?? [];
    if (w.layer && !layers.includes(w.layer)) layers.push(w.layer);
    byKey.set(key, layers);
  }
  return [...byKey].map(([k, layers]) => (layers.length ? `${k} (${layers.join(', ')})` : k));
}

/** `mi.bin` when the run has one parameter set of an estimator, else `mi.bin[bins=30;...]`. */
export function estimatorLabels(mi: ReadonlyArray<{estimator: string; params: string; subset: string}>): string[] {
  const count = new Map<string, number>();
  for (const m of mi) count.set(m.estimator, (count.get(m.estimator) ?? 0) + 1);
  const subsets = new Set(mi.map((m) => m.subset));
  return mi.map((m) => `${count.get(m.estimator)! > 1 ? `${m.estimator}[${m.params}]` : m.estimator}${subsets.size > 1 ? `@${m.subset}` : ''}`);
}

export function runRow(r: LoadedRun, base = ''): RunRow {
  const s = r.summary;
  const hidden = s?.layers.filter((l) => l.kind === 'hidden') ?? [];
  const last = hidden[hidden.length - 1];
  const compression: Record<string, number | null> = {};
  if (last) {
    const labels = estimatorLabels(last.mi);
    last.mi.forEach((m, i) => (compression[labels[i]] = m.compression));
  }
  const model = (r.config?.model ?? {}) as {activation?: string};
  return {
    name: r.prov.name,
    runId: r.prov.runId,
    dir: base ? relative(base, r.dir) || '.' : r.dir,
    status: r.prov.status,
    configHash: r.prov.configHash,
    seed: r.prov.seed,
    activation: model.activation ?? null,
    startedAt: r.prov.startedAt,
    endedAt: r.prov.endedAt,
    epochs: s?.epochs ?? null,
    trainAcc: s?.final.trainAcc ?? null,
    testAcc: s?.final.testAcc ?? null,
    lastHidden: last?.name ?? null,
    compression,
    headline: s?.headline ? {estimator: s.headline.estimator, params: s.headline.params, compression: s.headline.compression} : null,
    // summaries written before warnings were objects hold strings: keep them readable
    warnings: (s?.warnings ?? []).map((w) => (typeof w === 'string' ? {layer: null, estimator: null, params: null, kind: 'chance' as const, message: w} : w)),
  };
}

/** Flattens a config to dotted keys (lists of scalars stay one value). */
export function flatten(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (Array.isArray(value) && value.some((v) => v && typeof v === 'object')) {
    value.forEach((v, i) => flatten(v, `${prefix}.${i}`, out));
  } else out[prefix] = value;
  return out;
}

/** Dotted keys whose values differ between configs (missing = null), sorted. */
export function configDiff(configs: ReadonlyArray<Record<string, unknown> | null>): Array<{key: string; values: unknown[]}> {
  const flats = configs.map((c) => flatten(c ?? {}));
  // execution keys (metrics.threads) change how a run is computed, not its values
  const keys = [...new Set(flats.flatMap((f) => Object.keys(f)))].filter((k) => !(EXECUTION_KEYS as readonly string[]).includes(k)).sort();
  const out: Array<{key: string; values: unknown[]}> = [];
  for (const key of keys) {
    const values = flats.map((f) => (key in f ? f[key] : null));
    const first = JSON.stringify(values[0]);
    if (values.some((v) => JSON.stringify(v) !== first)) out.push({key, values});
  }
  return out;
}

export interface MetricRow {
  key: string;
  layer: string | null;
  estimator: string | null;
  quantity: string;
  values: Array<number | null>;
}

/**
 * Side-by-side metrics: final train/test loss and accuracy, then per layer and estimator the
 * max and final I(X;T), the compression and the final I(T;Y) (rows any run has).
 */
export function metricTable(summaries: ReadonlyArray<ReportSummary | null>): MetricRow[] {
  const rows: MetricRow[] = [];
  for (const q of ['trainAcc', 'testAcc', 'trainLoss', 'testLoss'] as const) {
    rows.push({key: `final.${q}`, layer: null, estimator: null, quantity: q, values: summaries.map((s) => s?.final[q] ?? null)});
  }
  const layerOrder: string[] = [];
  const cells = new Map<string, Array<number | null>>();
  const meta = new Map<string, {layer: string; estimator: string; quantity: string}>();
  summaries.forEach((s, i) => {
    for (const l of s?.layers ?? []) {
      const labels = estimatorLabels(l.mi);
      l.mi.forEach((m, k) => {
        for (const q of ['finalIXT', 'maxIXT', 'compression', 'finalITY'] as const) {
          const key = `${l.name}.${labels[k]}.${q}`;
          if (!cells.has(key)) {
            cells.set(key, summaries.map(() => null));
            meta.set(key, {layer: l.name, estimator: labels[k], quantity: q});
            layerOrder.push(key);
          }
          cells.get(key)![i] = m[q];
        }
      });
    }
  });
  for (const key of layerOrder) rows.push({key, ...meta.get(key)!, values: cells.get(key)!});
  return rows;
}

/** A number for a table cell. */
export function fmt(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(3) : v.toExponential(2);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A plain-text table with padded columns. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => (r[j] ?? '').length)));
  const line = (r: string[]) => r.map((c, j) => (c ?? '').padEnd(widths[j])).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
