/**
 * Format-neutral report content (run facts and tables as plain strings) shared by the HTML and
 * Markdown renderers, so both show exactly the same numbers.
 */
import {groupLabel} from './analysis.js';
import type {ReportInput, ReportSummary} from './types.js';

export interface Table {
  header: string[];
  rows: string[][];
}

const DASH = '–';

/** Bits (and other information values) with 3 decimals. */
export function fmtBits(v: number | null): string {
  return v === null ? DASH : v.toFixed(3);
}

function fmtRatio(v: number | null): string {
  return v === null ? DASH : v.toPrecision(3);
}

function fmtInt(v: number | null): string {
  return v === null ? DASH : String(v);
}

function fmtMaybe(v: number | null): string {
  return v === null ? DASH : String(Number(v.toFixed(4)));
}

/** Label/value pairs for the report header (the command is shown separately). */
export function runFacts(input: ReportInput, summary: ReportSummary): [string, string][] {
  const d = summary.dataset;
  const dataset = `${d.name} — n = ${d.n} (train ${d.nTrain}, test ${d.nTest})${d.entropyY === null ? '' : `, H(Y) = ${fmtBits(d.entropyY)} bits`}`;
  const f = summary.final;
  return [
    ['Run id', summary.runId],
    ['Config hash', summary.configHash],
    ['Backend', summary.backend],
    ['Seed', String(summary.seed)],
    ['Created', input.createdAt],
    ['Dataset', dataset],
    ['Epochs', `${summary.epochs} (${summary.snapshots} snapshots)`],
    ['Final loss', `train ${fmtMaybe(f.trainLoss)}, test ${fmtMaybe(f.testLoss)}`],
    ['Final accuracy', `train ${fmtMaybe(f.trainAcc)}, test ${fmtMaybe(f.testAcc)}`],
    [
      'Headline',
      summary.headline
        ? `${summary.headline.layer} (last hidden layer): compression ${fmtBits(summary.headline.compression)} ${summary.headline.unit}, final I(X;T) ${fmtBits(summary.headline.finalIXT)}, final I(T;Y) ${fmtBits(summary.headline.finalITY)} (${groupLabel(summary.headline)}, the first estimator without a validity warning)`
        : summary.layers.some((l) => l.mi.length) ? 'none: every MI estimator of the last hidden layer carries a validity warning' : '–',
    ],
  ];
}

/** Kinds of the validity warnings on one layer and estimator/params, e.g. `range, ceiling`. */
function warningKinds(summary: ReportSummary, layer: string, estimator: string, params: string): string {
  const kinds = summary.warnings.filter((w) => w.layer === layer && w.estimator === estimator && w.params === params).map((w) => w.kind);
  return [...new Set(kinds)].join(', ');
}

/** One row per layer per MI estimator/params; flagged rows name their warnings, the headline row is marked. */
export function miTable(summary: ReportSummary): Table {
  const rows: string[][] = [];
  for (const l of summary.layers) {
    for (const m of l.mi) {
      const flags = warningKinds(summary, l.name, m.estimator, m.params);
      const headline = l.headline !== null && l.headline.estimator === m.estimator && l.headline.params === m.params;
      rows.push([
        `${l.index} ${l.name}`,
        groupLabel(m),
        m.subset,
        fmtBits(m.maxIXT),
        fmtInt(m.maxIXTEpoch),
        fmtBits(m.finalIXT),
        fmtBits(m.compression),
        fmtBits(m.finalITY),
        m.unit,
        flags ? `not valid: ${flags}` : headline ? 'headline' : '',
      ]);
    }
  }
  return {
    header: ['Layer', 'Estimator', 'Subset', 'max I(X;T)', 'Epoch of max', 'Final I(X;T)', 'Compression', 'Final I(T;Y)', 'Unit', 'Validity'],
    rows,
  };
}

/** One row per layer: gradient phases and dead units. */
export function layerTable(summary: ReportSummary): Table {
  return {
    header: ['Layer', 'Width', 'Activation', 'Drift→diffusion e*', 'Median SNR (epochs ≤ 20)', 'Median SNR (last 20%)', 'Dead units (final)'],
    rows: summary.layers.map((l) => [
      `${l.index} ${l.name}`,
      String(l.width),
      l.activation,
      fmtInt(l.gradients.crossingEpoch),
      fmtRatio(l.gradients.snrEarly),
      fmtRatio(l.gradients.snrLate),
      fmtMaybe(l.deadUnitsFinal),
    ]),
  };
}

/** One row per layer with a local rank summary; no rows when local rank was not measured. */
export function localRankTable(summary: ReportSummary): Table {
  const rows: string[][] = [];
  for (const l of summary.layers) {
    const r = l.localRank;
    if (!r) continue;
    rows.push([`${l.index} ${l.name}`, String(l.width), fmtMaybe(r.first), fmtMaybe(r.min), fmtMaybe(r.final), fmtMaybe(r.bound)]);
  }
  return {header: ['Layer', 'Width', 'Local rank (first)', 'Min over snapshots', 'Local rank (final)', 'Bound'], rows};
}

export const LOCAL_RANK_TABLE_NOTE =
  'Mean local rank over the evaluation points (geom.local_rank, first parameter set) at the first and last snapshot epoch and its minimum over snapshots; the bound is the largest rank the layer can have.';

export const MI_TABLE_NOTE =
  'Compression = max I(X;T) − final I(X;T) over snapshot epochs (final = last snapshot). Values in the unit shown, 3 decimals. ' +
  'Validity: "not valid" rows carry a warning (range: values outside fixed bins; scale: KDE noise far from the activation scale; ceiling: at log2 N throughout; see docs/metrics.md); "headline" marks the numbers summaries and tdlab runs quote for the layer, from the first estimator without a warning.';
export const LAYER_TABLE_NOTE =
  'SNR = ‖mean gradient‖ / ‖gradient std‖ over mini-batches; e* is the first snapshot epoch after which SNR < 1 at every later snapshot.';
