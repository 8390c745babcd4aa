/**
 * Acceptance checks declared as data (`checks:` in a config or sweep file; schema and fields in
 * src/config/checks.ts, the shipped ones in docs/metrics.md) evaluated on groups of runs.
 *
 * For each group whose runs all match `where`, a check takes a per-run statistic of a metric's
 * trajectory on each selected layer, averages it over the group's seeds, optionally relates it to
 * another metric or group, combines the layers (`over`) and compares the result with the
 * threshold. A check that cannot be evaluated (no matching group, metric or layer) is n/a with the
 * reason. Pure functions over loaded runs.
 */
import {CHECK_STATISTICS, parseMetricRef, type CheckSpec, type CheckStatistic} from '../config/checks.js';
import {crossingEpoch, gradientTrajectory, median, snr} from '../report/analysis.js';
import type {LayerInfo, MetricRow} from '../types.js';
import {mean, type AggregateRun, type GroupAggregate} from './build.js';
import {valueAt, valueKey, valueText} from './group.js';

export type CheckStatus = 'pass' | 'fail' | 'n/a';

export interface CheckResult {
  /** The check's id, e.g. `A1.2`. */
  id: string;
  /** Family: the id up to its first dot, e.g. `A1`. */
  check: string;
  /** The declared description, else the definition. */
  description: string;
  /** What is computed and compared, in words (generated from the declaration). */
  definition: string;
  /** Label of the group evaluated, null when no group applies. */
  group: string | null;
  status: CheckStatus;
  /** The statistic compared with the threshold, null when n/a. */
  value: number | null;
  threshold: number;
  op: CheckSpec['op'];
  /** Seeds in the group. */
  seeds: number;
  /** Per-layer numbers behind `value`. */
  detail?: Record<string, number | null>;
  /** Why the check is n/a, or caveats (fewer seeds or another setup than the threshold assumes). */
  note?: string;
}

export interface CheckGroup {
  group: GroupAggregate;
  runs: AggregateRun[];
}

const BITS_PER_NAT = 1 / Math.LN2;
/** Snapshot epochs up to this one are "early" for the gradient SNR ratio. */
const EARLY_EPOCH = 20;
const LATE_FRACTION = 0.2;

// ---------------------------------------------------------------------------------------------
// Definitions in words

const OVER_TEXT: Record<string, string> = {min: 'the minimum over', max: 'the maximum over', mean: 'the mean over', spread: 'the spread (max - min) over'};

function layersText(sel: CheckSpec['layers']): string {
  if (typeof sel === 'string') return {'last-hidden': 'the last hidden layer', 'first-hidden': 'the first hidden layer', output: 'the output layer', hidden: 'the hidden layers', all: 'all layers'}[sel];
  return `layers ${sel.join(', ')}`;
}

function whereText(where: Record<string, unknown>): string {
  const e = Object.entries(where);
  return e.length ? e.map(([k, v]) => `${k}=${valueText(v)}`).join(', ') : 'every group';
}

/** The declaration of a check in one sentence. */
export function checkDefinition(c: CheckSpec): string {
  const single = typeof c.layers === 'string' && ['last-hidden', 'first-hidden', 'output'].includes(c.layers);
  const metric = c.metric === 'gradients' ? 'the gradient statistics' : `${c.metric}${c.quantity ? ` ${c.quantity}` : ' I_XT'}`;
  let what = `mean over seeds of ${c.statistic} (${CHECK_STATISTICS[c.statistic]}) of ${metric}`;
  if (c.statistic === 'min-of-mean') what = `${c.statistic} (${CHECK_STATISTICS[c.statistic]}) of ${metric}`;
  if (c.relative && 'ratioTo' in c.relative) what += `, divided by the same for ${c.relative.ratioTo}${c.relative.floor ? ` (floored at ${c.relative.floor})` : ''}`;
  if (c.relative && 'minus' in c.relative) what += `, minus the same in the group with ${whereText(c.relative.minus)}`;
  const over = typeof c.over === 'object' ? `in at least ${c.over.atLeast} of ${layersText(c.layers)}` : single ? `on ${layersText(c.layers)}` : `${OVER_TEXT[c.over]} ${layersText(c.layers)}`;
  return `${what}, ${over} ${c.op} ${c.threshold}; groups with ${whereText(c.where)}`;
}

// ---------------------------------------------------------------------------------------------
// Per-run statistics

function paramMap(params: string): Map<string, string> {
  return new Map(params.split(/[;,]/).filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')).trim(), kv.slice(kv.indexOf('=') + 1).trim()]));
}

/** Whether stored params contain every `key=value` of the check (numbers compared as numbers). */
function paramsMatch(stored: string, wanted: readonly string[]): boolean {
  const have = paramMap(stored);
  for (const [k, v] of paramMap(wanted.join(';'))) {
    const h = have.get(k);
    if (h === undefined) return false;
    const same = h === v || (h !== '' && v !== '' && !Number.isNaN(Number(h)) && Number(h) === Number(v));
    if (!same) return false;
  }
  return true;
}

/** One run's series of a metric on one layer (preferred subset, sorted), or a reason. */
function series(run: AggregateRun, metric: string, quantity: string, layerIndex: number): {epoch: number; value: number}[] | string {
  const ref = parseMetricRef(metric);
  const rows = run.metrics.filter((r) => r.estimator === ref.estimator && r.quantity === quantity && r.layerIndex === layerIndex && paramsMatch(r.params, ref.params));
  if (rows.length === 0) return `no ${metric} ${quantity} values on layer ${layerIndex}`;
  const paramSets = [...new Set(rows.map((r) => r.params))];
  if (paramSets.length > 1) return `${metric} matches several parameter sets (${paramSets.join(' | ')}); name the params in metric`;
  const subset = rows.some((r) => r.subset === 'all') ? 'all' : rows[0].subset;
  const toBits = (r: MetricRow) => (r.unit === 'nats' && quantity.startsWith('I_') ? r.value * BITS_PER_NAT : r.value);
  return rows
    .filter((r) => r.subset === subset && Number.isFinite(r.value))
    .map((r) => ({epoch: r.epoch, value: toBits(r)}))
    .sort((a, b) => a.epoch - b.epoch);
}

function statOf(s: {epoch: number; value: number}[], stat: CheckStatistic): number | null {
  if (s.length === 0) return null;
  const vals = s.map((p) => p.value);
  const max = Math.max(...vals);
  const last = vals[vals.length - 1];
  switch (stat) {
    case 'compression':
      return max - last;
    case 'final':
      return last;
    case 'max':
      return max;
    case 'min':
      return Math.min(...vals);
    case 'first':
      return vals[0];
    case 'final-over-max':
      return max !== 0 ? last / max : null;
    default:
      return null;
  }
}

/** Per-run gradient SNR statistics of one layer (A2 of the 12-bit study), or null without gradient rows. */
function gradientStat(run: AggregateRun, layerIndex: number, stat: CheckStatistic): number | null {
  const traj = gradientTrajectory(run.training, layerIndex);
  if (traj.length === 0) return null;
  if (stat === 'snr-ratio') {
    const vals = (pts: typeof traj) => pts.map(snr).filter((v): v is number => v !== null && Number.isFinite(v));
    const early = median(vals(traj.filter((p) => p.epoch <= EARLY_EPOCH)));
    const late = median(vals(traj.slice(traj.length - Math.max(1, Math.ceil(traj.length * LATE_FRACTION)))));
    return early !== null && late !== null && late > 0 ? early / late : null;
  }
  const epochs = Number(valueAt(run.config, 'train.epochs') ?? traj[traj.length - 1].epoch);
  const c = crossingEpoch(traj);
  return c === null ? 1 : c / Math.max(1, epochs);
}

/** Mean over a group's runs of a per-layer statistic, or a reason why there is none. */
function layerValue(c: Pick<CheckSpec, 'metric' | 'quantity' | 'statistic'>, runs: readonly AggregateRun[], layerIndex: number): number | string {
  const quantity = c.quantity ?? 'I_XT';
  if (c.metric === 'gradients') {
    const v = runs.map((r) => gradientStat(r, layerIndex, c.statistic)).filter((x): x is number => x !== null);
    return v.length ? (mean(v) as number) : 'no gradient statistics in training.arrow';
  }
  const per: {epoch: number; value: number}[][] = [];
  for (const r of runs) {
    const s = series(r, c.metric, quantity, layerIndex);
    if (typeof s === 'string') {
      if (s.includes('several parameter sets')) return s;
      continue;
    }
    per.push(s);
  }
  if (per.length === 0) return `no ${c.metric} ${quantity} values on layer ${layerIndex}`;
  if (c.statistic === 'min-of-mean') {
    const byEpoch = new Map<number, number[]>();
    for (const s of per) for (const p of s) byEpoch.set(p.epoch, [...(byEpoch.get(p.epoch) ?? []), p.value]);
    return Math.min(...[...byEpoch.values()].map((v) => mean(v) as number));
  }
  const v = per.map((s) => statOf(s, c.statistic)).filter((x): x is number => x !== null);
  return v.length ? (mean(v) as number) : `no ${c.statistic} of ${c.metric} on layer ${layerIndex}`;
}

// ---------------------------------------------------------------------------------------------
// Groups and layers

function layersOf(runs: readonly AggregateRun[]): LayerInfo[] {
  const m = new Map<number, LayerInfo>();
  for (const r of runs) for (const l of r.layers) if (!m.has(l.index)) m.set(l.index, l);
  return [...m.values()].sort((a, b) => a.index - b.index);
}

function selectLayers(all: readonly LayerInfo[], sel: CheckSpec['layers']): LayerInfo[] {
  const hidden = all.filter((l) => l.kind === 'hidden');
  if (sel === 'last-hidden') return hidden.slice(-1);
  if (sel === 'first-hidden') return hidden.slice(0, 1);
  if (sel === 'output') return all.filter((l) => l.kind === 'output');
  if (sel === 'hidden') return hidden;
  if (sel === 'all') return [...all];
  return all.filter((l) => sel.some((s) => (typeof s === 'number' ? l.index === s : l.name === s)));
}

function matches(runs: readonly AggregateRun[], where: Record<string, unknown>): boolean {
  return runs.length > 0 && runs.every((r) => Object.entries(where).every(([k, v]) => valueKey(valueAt(r.config, k) ?? null) === valueKey(v)));
}

function judge(value: number, op: CheckSpec['op'], threshold: number): CheckStatus {
  const ok = op === '>=' ? value >= threshold : op === '<=' ? value <= threshold : op === '>' ? value > threshold : value < threshold;
  return ok ? 'pass' : 'fail';
}

function combine(values: number[], over: CheckSpec['over'], op: CheckSpec['op']): number | null {
  if (values.length === 0) return null;
  if (typeof over === 'object') {
    if (values.length < over.atLeast) return null;
    const best = [...values].sort((a, b) => (op === '>=' || op === '>' ? b - a : a - b));
    return best[over.atLeast - 1];
  }
  if (over === 'min') return Math.min(...values);
  if (over === 'max') return Math.max(...values);
  if (over === 'mean') return mean(values);
  return Math.max(...values) - Math.min(...values);
}

function setupNote(c: CheckSpec, runs: readonly AggregateRun[]): string | undefined {
  if (!c.calibratedOn) return undefined;
  const notes: string[] = [];
  const want = c.calibratedOn.seeds;
  if (want !== undefined && runs.length < want) notes.push(`${runs.length} seed(s); the threshold assumes >= ${want}`);
  for (const [k, v] of Object.entries(c.calibratedOn.config)) {
    const have = [...new Set(runs.map((r) => valueKey(valueAt(r.config, k) ?? null)))];
    if (have.length !== 1 || have[0] !== valueKey(v)) notes.push(`threshold calibrated on ${k}=${valueText(v)} (these: ${[...new Set(runs.map((r) => valueText(valueAt(r.config, k) ?? null)))].join(', ')})`);
  }
  return notes.length ? notes.join('; ') : undefined;
}

function evaluateOne(c: CheckSpec, cg: CheckGroup, groups: readonly CheckGroup[]): CheckResult {
  const base = {id: c.id, check: c.id.split('.')[0], description: c.description ?? checkDefinition(c), definition: checkDefinition(c), group: cg.group.label, threshold: c.threshold, op: c.op, seeds: cg.runs.length};
  const na = (reason: string): CheckResult => ({...base, status: 'n/a', value: null, note: reason});
  const layers = selectLayers(layersOf(cg.runs), c.layers);
  if (layers.length === 0) return na(`no ${typeof c.layers === 'string' ? c.layers : `layers ${c.layers.join(', ')}`} in these runs`);
  let other: CheckGroup | undefined;
  if (c.relative && 'minus' in c.relative) {
    const found = groups.filter((g) => g !== cg && matches(g.runs, c.relative && 'minus' in c.relative ? c.relative.minus : {}));
    if (found.length !== 1) return na(found.length ? `several groups with ${whereText(c.relative.minus)}: the comparison is ambiguous` : `no group with ${whereText(c.relative.minus)} to compare with`);
    other = found[0];
  }
  const detail: Record<string, number | null> = {};
  const values: number[] = [];
  let missing: string | undefined;
  for (const l of layers) {
    let v = layerValue(c, cg.runs, l.index);
    if (typeof v === 'number' && c.relative && 'ratioTo' in c.relative) {
      const d = layerValue({...c, metric: c.relative.ratioTo}, cg.runs, l.index);
      v = typeof d === 'string' ? d : v / Math.max(d, c.relative.floor);
    }
    if (typeof v === 'number' && other) {
      const d = layerValue(c, other.runs, l.index);
      v = typeof d === 'string' ? `${other.group.label}: ${d}` : v - d;
    }
    if (typeof v === 'string' || !Number.isFinite(v)) {
      missing ??= typeof v === 'string' ? v : `no finite value on layer ${l.name}`;
      detail[l.name] = null;
    } else {
      values.push(v);
      detail[l.name] = v;
    }
  }
  if (missing && typeof c.over !== 'object') return {...na(missing), detail};
  const value = combine(values, c.over, c.op);
  if (value === null) return {...na(missing ?? `fewer than ${typeof c.over === 'object' ? c.over.atLeast : 1} layers with values`), detail};
  const note = setupNote(c, cg.runs);
  return {...base, status: judge(value, c.op, c.threshold), value, detail, ...(note ? {note} : {})};
}

/** Every declared check on every group it applies to (n/a once when none does), in declaration order. */
export function evaluateChecks(groups: readonly CheckGroup[], checks: readonly CheckSpec[]): CheckResult[] {
  const out: CheckResult[] = [];
  for (const c of checks) {
    const applicable = groups.filter((g) => matches(g.runs, c.where));
    if (applicable.length === 0) {
      out.push({id: c.id, check: c.id.split('.')[0], description: c.description ?? checkDefinition(c), definition: checkDefinition(c), group: null, status: 'n/a', value: null, threshold: c.threshold, op: c.op, seeds: 0, note: `no group whose runs all have ${whereText(c.where)}`});
      continue;
    }
    for (const g of applicable) out.push(evaluateOne(c, g, groups));
  }
  return out;
}

/**
 * The checks a set of runs declares: the sweep file's (sweep.json) first, then each run config's
 * `checks` in run order; the first declaration of an id wins, and a different later one is reported.
 */
export function declaredChecks(sweepChecks: readonly CheckSpec[], configs: readonly Record<string, unknown>[]): {checks: CheckSpec[]; warnings: string[]} {
  const byId = new Map<string, CheckSpec>();
  const warnings: string[] = [];
  const add = (c: CheckSpec, from: string) => {
    const prev = byId.get(c.id);
    if (!prev) byId.set(c.id, c);
    else if (valueKey(prev) !== valueKey(c)) {
      const text = `check ${c.id} is declared differently in ${from}; the first declaration is used`;
      if (!warnings.includes(text)) warnings.push(text);
    }
  };
  for (const c of sweepChecks) add(c, 'the sweep file');
  for (const cfg of configs) for (const c of (cfg.checks as CheckSpec[] | undefined) ?? []) add(c, 'a run config');
  return {checks: [...byId.values()], warnings};
}
