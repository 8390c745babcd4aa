/**
 * Validity of an estimator on the data it was given, measured on that data (never inferred from
 * layer or activation names). Estimators that make an assumption about the values report a
 * diagnostic next to their values (`Estimator.diagnose`); the metrics stage stores it as a
 * metric row with the same estimator, params, layer and epoch (unit dimensionless). This module
 * turns those rows, and the values flagged at the estimator's ceiling, into warnings.
 * docs/metrics.md ("Validity warnings") describes each rule and its threshold.
 *
 * Pure functions over tidy rows; no I/O.
 */
import type {Matrix, MetricRow} from '../types.js';

/** What a diagnostic measured. */
export interface Diagnostic {
  quantity: string;
  value: number;
}

export type WarningKind = 'range' | 'scale' | 'ceiling' | 'chance' | 'dead';

/** One warning, as stored in summary.json, printed by `tdlab measure --json` and listed by `tdlab runs`. */
export interface ValidityWarning {
  /** Layer name, or null for a run-level warning. */
  layer: string | null;
  /** Estimator name (`mi.bin`), or null when no estimator is concerned. */
  estimator: string | null;
  /** Canonical params of the estimator (`bins=30;hi=1;...`), or null. */
  params: string | null;
  kind: WarningKind;
  message: string;
}

// ---------------------------------------------------------------------------------------------
// Diagnostics (computed by the estimators on their input)

/** Diagnostic of fixed-range binning: fraction of values outside [lo, hi]. */
export const OUT_OF_RANGE = 'out_of_range';
/** Diagnostic of KDE with a fixed noise variance: noise std / rms distance between the rows. */
export const NOISE_TO_SPREAD = 'noise_to_spread';

/** Fraction of the values of T that lie outside [lo, hi] (NaN counts as outside). */
export function outOfRangeFraction(T: Matrix, lo: number, hi: number): number {
  const d = T.data;
  if (d.length === 0) return 0;
  let out = 0;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (!(v >= lo && v <= hi)) out++;
  }
  return out / d.length;
}

/**
 * sqrt(s2) over the root-mean-square distance between two rows of T,
 * sqrt(mean_ij ||t_i - t_j||^2) = sqrt(2 * sum of the column variances). The KDE kernel compares
 * ||t_i - t_j||^2 with s2, so this ratio says whether the noise is on the scale of the data.
 * NaN for a constant layer (its KDE value, 0, is exact whatever the noise).
 */
export function noiseToSpread(T: Matrix, noiseVariance: number): number {
  const {data, rows, cols} = T;
  if (rows < 2) return NaN;
  let total = 0;
  for (let j = 0; j < cols; j++) {
    let mean = 0;
    for (let i = 0; i < rows; i++) mean += data[i * cols + j];
    mean /= rows;
    let ss = 0;
    for (let i = 0; i < rows; i++) {
      const e = data[i * cols + j] - mean;
      ss += e * e;
    }
    total += ss / rows;
  }
  const rms = Math.sqrt(2 * total);
  return rms > 0 ? Math.sqrt(noiseVariance) / rms : NaN;
}

// ---------------------------------------------------------------------------------------------
// Rules: when a diagnostic makes a value untrustworthy

/** More than this fraction of a layer's values outside the bin range flags `mi.bin`. */
export const RANGE_TOLERANCE = 0.01;
/** KDE noise std above this multiple of the rms row distance: the mixture is one blob. */
export const NOISE_TOO_LARGE = 1;
/** KDE noise std below this multiple of the rms row distance: only coincident rows are seen. */
export const NOISE_TOO_SMALL = 1e-3;

interface Rule {
  kind: WarningKind;
  flagged(v: number): boolean;
  /** Text for the worst value and the epochs it was seen at. */
  describe(worst: number, where: string, params: string): string;
}

const pct = (v: number) => `${(100 * v).toPrecision(3).replace(/\.?0+$/, '')}%`;
const num = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(3)).toString() : 'infinite');

function paramValue(params: string, key: string): string | undefined {
  return params.split(';').find((kv) => kv.startsWith(`${key}=`))?.slice(key.length + 1);
}

const RULES: Record<string, Rule> = {
  [OUT_OF_RANGE]: {
    kind: 'range',
    flagged: (v) => Number.isFinite(v) && v > RANGE_TOLERANCE,
    describe: (worst, where, params) =>
      `${pct(worst)} of the values lie outside the bin range [${paramValue(params, 'lo') ?? '?'}, ${paramValue(params, 'hi') ?? '?'}] (${where}); ` +
      'they are merged into the edge bins, so I(X;T) and compression are not meaningful here: use mi.binwidth or mi.ebab',
  },
  [NOISE_TO_SPREAD]: {
    kind: 'scale',
    flagged: (v) => Number.isFinite(v) && (v > NOISE_TOO_LARGE || v < NOISE_TOO_SMALL),
    describe: (worst, where, params) =>
      worst > NOISE_TOO_LARGE
        ? `the noise std sqrt(${paramValue(params, 'noiseVariance') ?? 's2'}) is ${num(worst)} x the rms distance between rows (${where}): the noise swamps the activations and the bound measures the noise`
        : `the noise std sqrt(${paramValue(params, 'noiseVariance') ?? 's2'}) is ${num(worst)} x the rms distance between rows (${where}): far below the activation scale, the bound only counts coincident rows; choose noiseVariance on the scale of the activations or use mi.akde`,
  },
};

/** The warning rule of a diagnostic quantity, if it has one. */
export function isDiagnostic(quantity: string): boolean {
  return quantity in RULES;
}

/** Warnings for the diagnostics of one estimator call (`tdlab measure`). */
export function diagnosticWarnings(estimator: string, params: string, layer: string | null, diagnostics: readonly Diagnostic[]): ValidityWarning[] {
  const out: ValidityWarning[] = [];
  for (const d of diagnostics) {
    const rule = RULES[d.quantity];
    if (!rule || !rule.flagged(d.value)) continue;
    out.push({layer, estimator, params, kind: rule.kind, message: `${layer ?? 'activations'}, ${label(estimator, params)}: ${rule.describe(d.value, 'this input', params)}`});
  }
  return out;
}

/** The ceiling warning of one estimator call whose I(X;T) is at its ceiling. */
export function ceilingWarning(estimator: string, params: string, layer: string | null, where: string): ValidityWarning {
  return {
    layer,
    estimator,
    params,
    kind: 'ceiling',
    message: `${layer ?? 'activations'}, ${label(estimator, params)}: I(X;T) is at the estimator's ceiling (log2 N) ${where}; compression cannot be seen there`,
  };
}

function label(estimator: string, params: string): string {
  return params === '' ? estimator : `${estimator}[${params}]`;
}

function epochsText(epochs: readonly number[], total: number): string {
  if (epochs.length === total) return `at every snapshot (${total})`;
  const shown = epochs.length <= 4 ? epochs.join(', ') : `${epochs.slice(0, 2).join(', ')}, ..., ${epochs[epochs.length - 1]}`;
  return `at ${epochs.length} of ${total} snapshots: epoch${epochs.length === 1 ? '' : 's'} ${shown}`;
}

/** `all` when present, else the first subset seen. */
function preferredSubset(rows: readonly MetricRow[]): string | undefined {
  return rows.some((r) => r.subset === 'all') ? 'all' : rows[0]?.subset;
}

/**
 * Warnings of a run's metric rows, per layer and (estimator, params): diagnostics beyond their
 * rule at any snapshot (`range`, `scale`), and MI estimators whose I(X;T) is at the ceiling at
 * every snapshot (`ceiling`, every layer including the first). Rows of the preferred subset
 * (`all` when present). Order: layers in `layers` order, then estimator, params.
 */
export function validityWarnings(metrics: readonly MetricRow[], layers: readonly {index: number; name: string}[]): ValidityWarning[] {
  const groups = new Map<string, MetricRow[]>();
  for (const r of metrics) {
    const relevant = isDiagnostic(r.quantity) || (r.estimator.startsWith('mi.') && r.quantity === 'I_XT');
    if (!relevant || r.layerIndex < 0) continue;
    const key = `${r.layerIndex}\u0000${r.estimator}\u0000${r.params}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const order = new Map(layers.map((l, i) => [l.index, i]));
  const keys = [...groups.keys()].sort((a, b) => {
    const [la, ea, pa] = a.split('\u0000');
    const [lb, eb, pb] = b.split('\u0000');
    return (order.get(Number(la)) ?? Number(la)) - (order.get(Number(lb)) ?? Number(lb)) || (ea < eb ? -1 : ea > eb ? 1 : pa < pb ? -1 : pa > pb ? 1 : 0);
  });
  const out: ValidityWarning[] = [];
  for (const key of keys) {
    const all = groups.get(key)!;
    const subset = preferredSubset(all);
    const rows = all.filter((r) => r.subset === subset);
    const {estimator, params, layer} = rows[0];
    const name = layers.find((l) => l.index === rows[0].layerIndex)?.name ?? layer;
    const byQuantity = new Map<string, MetricRow[]>();
    for (const r of rows) {
      const q = byQuantity.get(r.quantity);
      if (q) q.push(r);
      else byQuantity.set(r.quantity, [r]);
    }
    for (const [quantity, qs] of byQuantity) {
      const sorted = [...qs].sort((a, b) => a.epoch - b.epoch);
      if (quantity === 'I_XT') {
        if (sorted.every((r) => r.atCeiling)) out.push(ceilingWarning(estimator, params, name, epochsText(sorted.map((r) => r.epoch), sorted.length)));
        continue;
      }
      const rule = RULES[quantity];
      const bad = sorted.filter((r) => rule.flagged(r.value));
      if (bad.length === 0) continue;
      const worst = bad.reduce((w, r) => (Math.abs(Math.log(r.value || 1e-300)) > Math.abs(Math.log(w.value || 1e-300)) ? r : w));
      const worstValue = rule.kind === 'range' ? Math.max(...bad.map((r) => r.value)) : worst.value;
      const where = `${epochsText(bad.map((r) => r.epoch), sorted.length)}; worst at epoch ${rule.kind === 'range' ? bad.find((r) => r.value === worstValue)!.epoch : worst.epoch}`;
      out.push({layer: name, estimator, params, kind: rule.kind, message: `${name}, ${label(estimator, params)}: ${rule.describe(worstValue, where, params)}`});
    }
  }
  return out;
}

/** Whether (layer, estimator, params) carries a validity warning: its numbers are not headline material. */
export function isFlagged(warnings: readonly ValidityWarning[], layer: string, estimator: string, params: string): boolean {
  return warnings.some((w) => w.layer === layer && w.estimator === estimator && w.params === params && (w.kind === 'range' || w.kind === 'scale' || w.kind === 'ceiling'));
}
