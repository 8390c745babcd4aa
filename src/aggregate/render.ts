/**
 * Aggregate report rendering: figures (report SVG toolkit), self-contained HTML, Markdown, the
 * JSON document and the tidy per-seed compression CSV. Pure string builders.
 */
import {toCsv} from '../io/csv.js';
import {fmtBits} from '../report/tables.js';
import {ceilingLine, epochAxis, epochAxisText, ESTIMATOR_NAMES, estimatorTitle, layerColor, layerLegend, layerShortLabel, miCeiling, paramsText, type EpochAxisKind} from '../report/style.js';
import {escapeXml as esc, PAGE_WIDTH, qualitativeColor, renderFigure, type LegendItem, type Mark, type PanelSpec, type Point} from '../report/svg.js';
import type {LayerInfo} from '../types.js';
import {estimatorLabel, traceKey, type AggregateResult, type EstimatorAggregate, type GroupAggregate, type LayerAggregate, type SeedTrace, type Spread} from './build.js';
import type {CheckResult} from './checks.js';
import {beyondChecksTable, beyondTable, type BeyondGroup} from './beyond.js';
import {valueText} from './group.js';
import {naturalCompare} from '../util/order.js';

export type BandKind = 'std' | 'range';

export interface AggregateFigure {
  file: string;
  title: string;
  svg: string;
  caption: string;
}

export interface AggregateJson {
  groupBy: string[];
  band: BandKind;
  runs: number;
  skipped: {runDir: string; reason: string}[];
  groups: Omit<GroupAggregate, never>[];
  checks: CheckResult[];
  /** Spec-13 metrics over seeds (when any run has them). */
  beyond?: BeyondGroup[];
  warnings: string[];
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._=-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
}

function unitLabel(unit: string): string {
  return unit === 'dimensionless' ? '' : ` [${unit}]`;
}

type Kind = {estimator: string; params: string; subset: string; unit: string};

/** Every (estimator, params, subset) present in any group, in a stable order. */
function estimatorKinds(groups: readonly GroupAggregate[]): Kind[] {
  const seen = new Map<string, Kind>();
  for (const g of groups) for (const l of g.layers) for (const e of l.estimators) {
    const k = `${e.estimator}\u0000${e.params}\u0000${e.subset}`;
    if (!seen.has(k)) seen.set(k, {estimator: e.estimator, params: e.params, subset: e.subset, unit: e.unit});
  }
  return [...seen.values()].sort((a, b) => naturalCompare(a.estimator, b.estimator) || naturalCompare(a.params, b.params) || naturalCompare(a.subset, b.subset));
}

function findEst(l: LayerAggregate, kind: Omit<Kind, 'unit'>): EstimatorAggregate | undefined {
  return l.estimators.find((e) => e.estimator === kind.estimator && e.params === kind.params && e.subset === kind.subset);
}

/** All layers (by index) over groups, for one colour per layer in every panel. */
function allLayers(groups: readonly GroupAggregate[]): LayerInfo[] {
  const m = new Map<number, LayerInfo>();
  for (const g of groups) {
    for (const l of g.layers) {
      const seen = m.get(l.index);
      if (!seen) m.set(l.index, {index: l.index, name: l.layer, width: l.width, activation: l.activation, kind: l.kind});
      else if (seen.activation !== l.activation) seen.activation = ''; // differs between groups: not named in the legend
    }
  }
  return [...m.values()].sort((a, b) => a.index - b.index);
}

function bandOf(s: Spread | null, band: BandKind): [number, number] | null {
  if (!s) return null;
  if (band === 'range') return [s.min, s.max];
  return s.std === null ? null : [s.mean - s.std, s.mean + s.std];
}

const BAND_TEXT: Record<BandKind, string> = {
  std: 'the shaded band is mean ± one sample standard deviation over seeds (absent where only one seed has the epoch), clipped to [0, log2 N]',
  range: 'the shaded band spans the minimum to the maximum over seeds',
};

/** Largest N behind an estimator's values in the aggregate (from the runs' rows), for the log2 N ceiling. */
function kindN(res: AggregateResult, kind: Omit<Kind, 'unit'>): number {
  let n = 0;
  res.traces.forEach((byKey) => {
    for (const [key, traces] of byKey) {
      const [, estimator, params, subset] = key.split('\u0000');
      if (estimator === kind.estimator && params === kind.params && subset === kind.subset) for (const t of traces) n = Math.max(n, t.n ?? 0);
    }
  });
  return n;
}

/**
 * One figure per estimator/params: per group a row of three panels - the information plane (mean
 * over seeds, thick, and each seed, thin), I(X;T) and I(T;Y) against epoch with the spread band -
 * one colour per layer, the log2 N ceiling drawn, I(X;T) axes (and I(T;Y) axes) sharing one range
 * across all groups.
 */
function miFigure(res: AggregateResult, kind: Kind, band: BandKind, epochKind: EpochAxisKind): AggregateFigure {
  const layersAll = allLayers(res.groups);
  const n = kindN(res, kind);
  const ceiling = miCeiling(n, kind.unit);
  const clip = (v: number) => Math.min(Math.max(v, 0), ceiling ?? Infinity);
  const panels: PanelSpec[] = [];
  res.groups.forEach((g, gi) => {
    const plane: {thin: Mark[]; thick: Mark[]; labels: Mark[]} = {thin: [], thick: [], labels: []};
    const time = {ixt: {bands: [] as Mark[], thin: [] as Mark[], thick: [] as Mark[]}, ity: {bands: [] as Mark[], thin: [] as Mark[], thick: [] as Mark[]}};
    for (const l of g.layers) {
      const e = findEst(l, kind);
      if (!e) continue;
      const c = layerColor(layersAll, l);
      const traces = res.traces[gi].get(traceKey(l.index, kind.estimator, kind.params, kind.subset)) ?? ([] as SeedTrace[]);
      for (const t of traces) {
        plane.thin.push({type: 'line', points: t.points.filter((p) => p.ixt !== null && p.ity !== null).map((p) => [p.ixt, p.ity] as Point), color: c, width: 0.7, opacity: 0.3});
      }
      const mean = e.trajectory.filter((p) => p.ixt && p.ity).map((p) => [p.ixt!.mean, p.ity!.mean] as Point);
      if (mean.length) {
        plane.thick.push({type: 'line', points: mean, color: c, width: 2.2});
        plane.thick.push({type: 'scatter', points: [{x: mean[mean.length - 1][0], y: mean[mean.length - 1][1], fill: c}], radius: 3.5, stroke: '#ffffff'});
        plane.labels.push({type: 'label', x: mean[mean.length - 1][0], y: mean[mean.length - 1][1], text: layerShortLabel(l), color: c});
      }
      for (const key of ['ixt', 'ity'] as const) {
        const withBand = e.trajectory.map((p) => ({epoch: p.epoch, b: bandOf(p[key], band)})).filter((p): p is {epoch: number; b: [number, number]} => p.b !== null);
        if (withBand.length >= 2) time[key].bands.push({type: 'area', points: withBand.map((p) => ({x: p.epoch, lo: clip(p.b[0]), hi: clip(p.b[1])})), color: c, opacity: 0.18});
        for (const t of traces) time[key].thin.push({type: 'line', points: t.points.filter((p) => p[key] !== null).map((p) => [p.epoch, p[key] as number] as Point), color: c, width: 0.6, opacity: 0.35});
        time[key].thick.push({type: 'line', points: e.trajectory.filter((p) => p[key]).map((p) => [p.epoch, p[key]!.mean] as Point), color: c, width: 2});
      }
    }
    const seeds = `${g.runs.length} seed${g.runs.length === 1 ? '' : 's'}`;
    const ixtAxis = {kind: 'linear' as const, label: `I(X;T)${unitLabel(kind.unit)}`, min: 0, share: 'ixt'};
    const ityAxis = {kind: 'linear' as const, label: `I(T;Y)${unitLabel(kind.unit)}`, min: 0, share: 'ity'};
    const ceilingX = ceiling === null ? [] : [ceilingLine(ceiling, kind.unit, 'x')];
    const ceilingY = ceiling === null ? [] : [ceilingLine(ceiling, kind.unit, 'y')];
    panels.push(
      {title: `${g.label} (${seeds})`, x: ixtAxis, y: ityAxis, marks: [...plane.thin, ...plane.thick, ...plane.labels], vlines: ceilingX},
      {title: 'I(X;T) against epoch', x: {...epochAxis(epochKind), share: 'epoch'}, y: ixtAxis, marks: [...time.ixt.bands, ...time.ixt.thin, ...time.ixt.thick], hlines: ceilingY},
      {title: 'I(T;Y) against epoch', x: {...epochAxis(epochKind), share: 'epoch'}, y: ityAxis, marks: [...time.ity.bands, ...time.ity.thin, ...time.ity.thick]},
    );
  });
  const label = estimatorLabel(kind);
  const subtitle = [paramsText(kind.params), `subset ${kind.subset}`, n > 0 ? `N = ${n}` : '', `${res.groups.length} group${res.groups.length === 1 ? '' : 's'}, one row each`].filter((t) => t !== '').join(' · ');
  return {
    file: `info-plane-${slug(label)}${kind.subset === 'all' ? '' : `-${slug(kind.subset)}`}.svg`,
    title: `Information plane and MI against epoch, mean and spread over seeds: ${estimatorTitle(kind.estimator)}`,
    svg: renderFigure({
      title: `Information plane over seeds: ${estimatorTitle(kind.estimator)}`,
      subtitle,
      panels,
      columns: 3,
      width: PAGE_WIDTH,
      panelHeight: 320,
      legend: layerLegend(layersAll),
    }),
    caption:
      'One row per group. Left: the mean over seeds of each layer\'s (I(X;T), I(T;Y)) at every snapshot epoch (thick; the dot and label mark the last snapshot) and the individual seeds (thin). ' +
      `Middle and right: I(X;T) and I(T;Y) against epoch, mean over seeds (thick), ${BAND_TEXT[band]}, individual seeds (thin); ${epochAxisText(epochKind)}. ` +
      'Every I(X;T) axis has the same range, as has every I(T;Y) axis; the dashed line is the estimator\'s ceiling log2 N.',
  };
}

function compressionFigure(res: AggregateResult, kinds: readonly Kind[]): AggregateFigure | null {
  const panels: PanelSpec[] = [];
  for (const kind of kinds) {
    const marks: Mark[] = [];
    res.groups.forEach((g, gi) => {
      const c = qualitativeColor(gi);
      const means: Point[] = [];
      const dots: {x: number; y: number; fill: string}[] = [];
      for (const l of g.layers) {
        const e = findEst(l, kind);
        if (!e || e.compression.mean === null) continue;
        means.push([l.index, e.compression.mean]);
        // seeds spread sideways by group so groups do not hide each other
        const off = (gi - (res.groups.length - 1) / 2) * 0.12;
        for (const v of e.compression.values) dots.push({x: l.index + off, y: v, fill: c});
      }
      if (means.length) marks.push({type: 'line', points: means, color: c, width: 1.8}, {type: 'scatter', points: dots, radius: 2.4});
    });
    if (marks.length === 0) continue;
    const p = paramsText(kind.params);
    panels.push({title: `${ESTIMATOR_NAMES[kind.estimator] ?? kind.estimator}${p ? ` (${p})` : ''}`, x: {kind: 'linear', label: 'layer index (last = output)'}, y: {kind: 'linear', label: `compression C${unitLabel(kind.unit)}`, min: 0}, marks});
  }
  if (panels.length === 0) return null;
  const legend: LegendItem[] = res.groups.map((g, gi) => ({label: g.label, color: qualitativeColor(gi), marker: true}));
  return {
    file: 'compression.svg',
    title: 'Compression per layer: mean (line) and every seed (dots)',
    svg: renderFigure({title: 'Compression per layer and seed', subtitle: 'one panel per estimator; colours are groups here', panels, columns: Math.min(3, panels.length), panelHeight: 300, shareX: true, legend}),
    caption: 'C = max over snapshot epochs of I(X;T) − I(X;T) at the last snapshot, per layer: lines join the means over seeds, dots are the individual seeds (shifted sideways per group).',
  };
}

export function buildFigures(res: AggregateResult, band: BandKind, epochKind: EpochAxisKind = 'log'): AggregateFigure[] {
  const kinds = estimatorKinds(res.groups);
  const out: (AggregateFigure | null)[] = [...kinds.map((k) => miFigure(res, k, band, epochKind)), compressionFigure(res, kinds)];
  return out.filter((f): f is AggregateFigure => f !== null);
}

// ---------------------------------------------------------------------------------------------
// Tables

export interface Table {
  header: string[];
  rows: string[][];
}

function fmtNum(v: number | null, digits = 3): string {
  return v === null || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

export function compressionTable(groups: readonly GroupAggregate[]): Table {
  const rows: string[][] = [];
  for (const g of groups) {
    for (const l of g.layers) {
      for (const e of l.estimators) {
        const c = e.compression;
        rows.push([
          g.label,
          `${l.index} ${l.layer}`,
          `${estimatorLabel(e)}${e.subset === 'all' ? '' : ` (${e.subset})`}`,
          String(c.values.length),
          fmtBits(c.mean),
          fmtBits(c.std),
          c.values.map((v, i) => `${c.seeds[i]}: ${v.toFixed(2)}`).join(', '),
          fmtBits(e.finalIXT.mean),
          fmtBits(e.finalITY.mean),
          e.unit,
        ]);
      }
    }
  }
  return {header: ['Group', 'Layer', 'Estimator', 'Seeds', 'Mean C', 'Std C', 'C per seed (seed: value)', 'Mean final I(X;T)', 'Mean final I(T;Y)', 'Unit'], rows};
}

function checkValue(c: CheckResult): string {
  return c.value === null ? '–' : fmtNum(c.value);
}

export function checksTable(checks: readonly CheckResult[]): Table {
  return {
    header: ['Check', 'Status', 'Group', 'Value', 'Threshold', 'Definition', 'Per layer', 'Note'],
    rows: checks.map((c) => [
      c.id,
      c.status.toUpperCase(),
      c.group ?? '–',
      checkValue(c),
      `${c.op} ${c.threshold}`,
      c.description === c.definition ? c.definition : `${c.description}: ${c.definition}`,
      c.detail ? Object.entries(c.detail).map(([k, v]) => `${k}: ${fmtNum(v, 2)}`).join(', ') : '',
      c.note ?? '',
    ]),
  };
}

export const COMPRESSION_NOTE =
  'C = max over snapshot epochs of I(X;T) − I(X;T) at the last snapshot, per seed (docs/metrics.md, "Compression"). Std is the sample standard deviation over seeds (n − 1; – for one seed).';
export const CHECKS_NOTE =
  'The checks declared under checks: in the sweep file and the runs\' configs (docs/metrics.md, "Checks"), each on every group it applies to, on the means over seeds. A group set up differently from the calibration (fewer seeds, shorter runs, other data) is evaluated with a Note: indicative only. n/a = the group, estimator or layer the check needs is not in this aggregate.';
const NO_CHECKS = 'No checks declared: add checks: to the config or the sweep file (docs/metrics.md, "Checks").';

// ---------------------------------------------------------------------------------------------
// Documents

const BEYOND_NOTE =
  'Final value = each seed\'s value at its last snapshot; curvature, collapse and CKA from the training subset where measured. Checks: configs/edge-of-stability.yaml (max lambda_max/(2/lr) in [0.8, 1.3]; >= 70% of last-third snapshots in [0.7, 1.3]) and configs/collapse.yaml (NC1 at the end <= 0.1 x NC1 when training accuracy first reaches 1; NC2_angle decreases over that span), evaluated per seed.';

const CSS = `
body{font-family:Helvetica,Arial,sans-serif;color:#222;max-width:1216px;margin:24px auto;padding:0 24px;line-height:1.45}
h1{font-size:24px;margin:0 0 12px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border:1px solid #d0d0d0;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.pass{background:#e7f5e7;font-weight:bold}
td.fail{background:#fbe3e3;font-weight:bold}
td.na{color:#777}
.note{font-size:12.5px;color:#555;margin:2px 0 10px}
.warnings{border:1px solid #e0b252;background:#fff8e6;padding:8px 14px;margin:8px 0}
figure{margin:18px 0 28px}
figure svg{max-width:100%;height:auto;display:block}
figcaption{font-size:13px;color:#333;max-width:1000px;margin-top:6px}
code{font-family:Menlo,Consolas,monospace;font-size:12.5px}
`;

const NUMERIC = /^(−|–|-)?[0-9.]+$|^–$/;

function htmlTable(t: Table, statusCol = -1): string {
  const head = `<tr>${t.header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const body = t.rows
    .map(
      (r) =>
        `<tr>${r
          .map((c, i) => {
            if (i === statusCol) return `<td class="${c === 'N/A' ? 'na' : c.toLowerCase()}">${esc(c)}</td>`;
            return NUMERIC.test(c) ? `<td class="num">${esc(c)}</td>` : `<td>${esc(c)}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('\n');
  return `<table>\n${head}\n${body}\n</table>`;
}

function groupsTable(groups: readonly GroupAggregate[]): Table {
  return {
    header: ['Group', 'Seeds', 'Runs'],
    rows: groups.map((g) => [g.label, g.seeds.join(', '), g.runIds.join(', ')]),
  };
}

export interface RenderInput {
  title: string;
  json: AggregateJson;
  figures: AggregateFigure[];
}

export function renderHtml({title, json, figures}: RenderInput): string {
  const checks = checksTable(json.checks);
  const warnings = [...json.warnings, ...json.skipped.map((s) => `skipped ${s.runDir}: ${s.reason}`)];
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${esc(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<h1>${esc(title)}</h1>`,
    `<p>${json.runs} runs in ${json.groups.length} group(s), grouped by ${json.groupBy.length ? json.groupBy.map((k) => `<code>${esc(k)}</code>`).join(', ') : 'nothing (all runs together)'}. Spread band: ${esc(BAND_TEXT[json.band])}.</p>`,
    htmlTable(groupsTable(json.groups)),
    warnings.length ? `<div class="warnings"><ul>\n${warnings.map((w) => `<li>${esc(w)}</li>`).join('\n')}\n</ul></div>` : '',
    '<h2>Checks</h2>',
    json.checks.length ? htmlTable(checks, 1) : `<p>${esc(NO_CHECKS)}</p>`,
    `<p class="note">${esc(CHECKS_NOTE)}</p>`,
    '<h2>Compression per group, layer and estimator</h2>',
    htmlTable(compressionTable(json.groups)),
    `<p class="note">${esc(COMPRESSION_NOTE)}</p>`,
    ...(json.beyond ? ['<h2>Spec 13 metrics over seeds</h2>', htmlTable(beyondTable(json.beyond)), '<h3>Study checks (edge of stability, neural collapse)</h3>', htmlTable(beyondChecksTable(json.beyond)), `<p class="note">${esc(BEYOND_NOTE)}</p>`] : []),
    '<h2>Figures</h2>',
    ...figures.map(
      (f, i) => `<figure>\n${f.svg}\n<figcaption><strong>Figure ${i + 1}. ${esc(f.title)}.</strong> ${esc(f.caption)} <code>figures/${esc(f.file)}</code></figcaption>\n</figure>`,
    ),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function mdCell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function mdInline(s: string): string {
  return s.replace(/([\\`*_[\]<>|])/g, '\\$1');
}

function mdTable(t: Table): string {
  return [`| ${t.header.map(mdCell).join(' | ')} |`, `|${t.header.map(() => ' --- ').join('|')}|`, ...t.rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`)].join('\n');
}

export function renderMarkdown({title, json, figures}: RenderInput): string {
  const warnings = [...json.warnings, ...json.skipped.map((s) => `skipped ${s.runDir}: ${s.reason}`)];
  const out = [
    `# ${mdInline(title)}`,
    '',
    `${json.runs} runs in ${json.groups.length} group(s), grouped by ${json.groupBy.length ? json.groupBy.map((k) => `\`${k}\``).join(', ') : 'nothing (all runs together)'}. Spread band: ${mdInline(BAND_TEXT[json.band])}.`,
    '',
    mdTable(groupsTable(json.groups)),
    '',
    ...(warnings.length ? ['## Warnings', '', ...warnings.map((w) => `- ${mdInline(w)}`), ''] : []),
    '## Checks',
    '',
    json.checks.length ? mdTable(checksTable(json.checks)) : mdInline(NO_CHECKS),
    '',
    `_${mdInline(CHECKS_NOTE)}_`,
    '',
    '## Compression per group, layer and estimator',
    '',
    mdTable(compressionTable(json.groups)),
    '',
    `_${mdInline(COMPRESSION_NOTE)}_`,
    '',
    ...(json.beyond ? ['## Spec 13 metrics over seeds', '', mdTable(beyondTable(json.beyond)), '', '### Study checks (edge of stability, neural collapse)', '', mdTable(beyondChecksTable(json.beyond)), '', `_${mdInline(BEYOND_NOTE)}_`, ''] : []),
    '## Figures',
    '',
  ];
  figures.forEach((f, i) => out.push(`![${mdInline(f.title)}](figures/${encodeURI(f.file)})`, '', `**Figure ${i + 1}. ${mdInline(f.title)}.** ${mdInline(f.caption)}`, ''));
  return out.join('\n');
}

/** Tidy CSV: one row per group x run x layer x estimator with the per-seed compression numbers. */
export function compressionCsv(res: AggregateResult): string {
  const header = ['group', ...res.groupBy, 'run_dir', 'run_id', 'seed', 'layer_index', 'layer', 'kind', 'estimator', 'params', 'subset', 'unit', 'max_ixt', 'final_ixt', 'compression', 'final_ity'];
  const rows: (string | number)[][] = [];
  for (const g of res.groups) {
    for (const l of g.layers) {
      for (const e of l.estimators) {
        const byRun = (s: EstimatorAggregate['compression'], run: string) => {
          const i = s.runs.indexOf(run);
          return i < 0 ? '' : s.values[i];
        };
        g.runs.forEach((run, ri) => {
          if (!e.compression.runs.includes(run) && !e.maxIXT.runs.includes(run)) return;
          rows.push([
            g.label,
            ...res.groupBy.map((k) => valueText(g.key[k])),
            run,
            g.runIds[ri],
            g.seeds[ri],
            l.index,
            l.layer,
            l.kind,
            e.estimator,
            e.params,
            e.subset,
            e.unit,
            byRun(e.maxIXT, run),
            byRun(e.finalIXT, run),
            byRun(e.compression, run),
            byRun(e.finalITY, run),
          ]);
        });
      }
    }
  }
  return toCsv(header, rows);
}
