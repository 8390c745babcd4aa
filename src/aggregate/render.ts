/**
 * Aggregate report rendering: figures (report SVG toolkit), self-contained HTML, Markdown, the
 * JSON document and the tidy per-seed compression CSV. Pure string builders.
 */
import {toCsv} from '../io/csv.js';
import {fmtBits} from '../report/tables.js';
import {escapeXml as esc, qualitativeColor, renderFigure, type LegendItem, type Mark, type PanelSpec, type Point} from '../report/svg.js';
import {estimatorLabel, traceKey, type AggregateResult, type EstimatorAggregate, type GroupAggregate, type LayerAggregate, type SeedTrace, type Spread} from './build.js';
import type {CheckResult} from './checks.js';
import {valueText} from './group.js';

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
  warnings: string[];
}

const BAND_DASH = '0.013 0';
const BAND_OPACITY = 0.18;

/**
 * The SVG toolkit has no filled areas; a band is drawn as a closed outline (upper edge then the
 * lower edge reversed) tagged with a sentinel dash pattern, and the rendered path is then turned
 * into a filled, stroke-less shape. Should the toolkit's output format change, the band degrades
 * to its outline (still correct, just not filled).
 */
function fillBands(svg: string): string {
  return svg.replace(/<path d="([^"]+)" stroke="([^"]+)"[^>]*? stroke-dasharray="0\.013 0"[^>]*\/>/g, (_m, d: string, color: string) => `<path d="${d}Z" fill="${color}" fill-opacity="${BAND_OPACITY}" stroke="none"/>`);
}

function layerColor(i: number): string {
  return qualitativeColor(i);
}

function layerShort(l: LayerAggregate): string {
  return l.kind === 'output' ? 'out' : `L${l.index}`;
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._=-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
}

function unitLabel(unit: string): string {
  return unit === 'dimensionless' ? '' : ` [${unit}]`;
}

/** Every (estimator, params, subset) present in any group, in a stable order. */
function estimatorKinds(groups: readonly GroupAggregate[]): {estimator: string; params: string; subset: string; unit: string}[] {
  const seen = new Map<string, {estimator: string; params: string; subset: string; unit: string}>();
  for (const g of groups) for (const l of g.layers) for (const e of l.estimators) {
    const k = `${e.estimator}\u0000${e.params}\u0000${e.subset}`;
    if (!seen.has(k)) seen.set(k, {estimator: e.estimator, params: e.params, subset: e.subset, unit: e.unit});
  }
  const c = new Intl.Collator('en', {numeric: true});
  return [...seen.values()].sort((a, b) => c.compare(a.estimator, b.estimator) || c.compare(a.params, b.params) || c.compare(a.subset, b.subset));
}

function findEst(l: LayerAggregate, kind: {estimator: string; params: string; subset: string}): EstimatorAggregate | undefined {
  return l.estimators.find((e) => e.estimator === kind.estimator && e.params === kind.params && e.subset === kind.subset);
}

/** All layers (by index) over groups, for a shared colour per layer. */
function allLayers(groups: readonly GroupAggregate[]): {index: number; label: string}[] {
  const m = new Map<number, string>();
  for (const g of groups) for (const l of g.layers) if (!m.has(l.index)) m.set(l.index, `${layerShort(l)} ${l.layer}${l.width ? ` (width ${l.width})` : ''}`);
  return [...m.entries()].sort((a, b) => a[0] - b[0]).map(([index, label]) => ({index, label}));
}

function bandOf(s: Spread | null, band: BandKind): [number, number] | null {
  if (!s) return null;
  if (band === 'range') return [s.min, s.max];
  return s.std === null ? null : [s.mean - s.std, s.mean + s.std];
}

const BAND_TEXT: Record<BandKind, string> = {
  std: 'the shaded band is mean ± one sample standard deviation over seeds (absent where only one seed has the epoch)',
  range: 'the shaded band spans the minimum to the maximum over seeds',
};

function infoPlaneFigure(res: AggregateResult, kind: ReturnType<typeof estimatorKinds>[number]): AggregateFigure {
  const layersAll = allLayers(res.groups);
  const colorOf = (index: number) => layerColor(layersAll.findIndex((l) => l.index === index));
  const panels: PanelSpec[] = res.groups.map((g, gi) => {
    const thin: Mark[] = [];
    const thick: Mark[] = [];
    const labels: Mark[] = [];
    for (const l of g.layers) {
      const e = findEst(l, kind);
      if (!e) continue;
      const c = colorOf(l.index);
      for (const t of res.traces[gi].get(traceKey(l.index, kind.estimator, kind.params, kind.subset)) ?? []) {
        const pts = t.points.filter((p) => p.ixt !== null && p.ity !== null).map((p) => [p.ixt, p.ity] as Point);
        thin.push({type: 'line', points: pts, color: c, width: 0.7, opacity: 0.3});
      }
      const mean = e.trajectory.filter((p) => p.ixt && p.ity).map((p) => [p.ixt!.mean, p.ity!.mean] as Point);
      if (mean.length === 0) continue;
      thick.push({type: 'line', points: mean, color: c, width: 2.2});
      thick.push({type: 'scatter', points: [{x: mean[mean.length - 1][0], y: mean[mean.length - 1][1], fill: c}], radius: 3.5, stroke: '#ffffff'});
      labels.push({type: 'label', x: mean[mean.length - 1][0], y: mean[mean.length - 1][1], text: layerShort(l), color: c});
    }
    return {
      title: `${g.label} (${g.runs.length} seed${g.runs.length === 1 ? '' : 's'})`,
      x: {kind: 'linear', label: `I(X;T)${unitLabel(kind.unit)}`},
      y: {kind: 'linear', label: `I(T;Y)${unitLabel(kind.unit)}`},
      marks: [...thin, ...thick, ...labels],
    };
  });
  const label = estimatorLabel(kind);
  return {
    file: `info-plane-${slug(label)}${kind.subset === 'all' ? '' : `-${slug(kind.subset)}`}.svg`,
    title: `Information plane, mean over seeds (${label}, subset ${kind.subset})`,
    svg: renderFigure({
      title: `Information plane — ${label} · subset ${kind.subset}`,
      panels,
      columns: Math.min(2, panels.length),
      panelWidth: 420,
      panelHeight: 340,
      legend: layersAll.map((l) => ({label: l.label, color: colorOf(l.index)})),
    }),
    caption:
      'One panel per group. Thick line: the mean over seeds of each layer\'s (I(X;T), I(T;Y)) at every snapshot epoch (the dot and label mark the last snapshot); thin lines: the individual seeds. ' +
      'Fitting moves a trajectory up, compression moves it left. The spread over seeds at each epoch is shown in the next figure.',
  };
}

function epochFigure(res: AggregateResult, kind: ReturnType<typeof estimatorKinds>[number], band: BandKind): AggregateFigure {
  const layersAll = allLayers(res.groups);
  const colorOf = (index: number) => layerColor(layersAll.findIndex((l) => l.index === index));
  const panels: PanelSpec[] = [];
  res.groups.forEach((g, gi) => {
    for (const [key, name] of [['ixt', 'I(X;T)'], ['ity', 'I(T;Y)']] as const) {
      const bands: Mark[] = [];
      const thin: Mark[] = [];
      const thick: Mark[] = [];
      for (const l of g.layers) {
        const e = findEst(l, kind);
        if (!e) continue;
        const c = colorOf(l.index);
        const withBand = e.trajectory.map((p) => ({epoch: p.epoch, b: bandOf(p[key], band)})).filter((p): p is {epoch: number; b: [number, number]} => p.b !== null);
        if (withBand.length >= 2) {
          const outline: Point[] = [...withBand.map((p) => [p.epoch, p.b[1]] as Point), ...withBand.reverse().map((p) => [p.epoch, p.b[0]] as Point)];
          bands.push({type: 'line', points: outline, color: c, width: 0.6, dash: BAND_DASH, opacity: 0.5});
        }
        for (const t of res.traces[gi].get(traceKey(l.index, kind.estimator, kind.params, kind.subset)) ?? ([] as SeedTrace[])) {
          thin.push({type: 'line', points: t.points.filter((p) => p[key] !== null).map((p) => [p.epoch, p[key] as number] as Point), color: c, width: 0.6, opacity: 0.35});
        }
        thick.push({type: 'line', points: e.trajectory.filter((p) => p[key]).map((p) => [p.epoch, p[key]!.mean] as Point), color: c, width: 2});
      }
      panels.push({
        title: `${name} · ${g.label}`,
        x: {kind: 'epoch', label: 'epoch (log scale)'},
        y: {kind: 'linear', label: `${name}${unitLabel(kind.unit)}`},
        marks: [...bands, ...thin, ...thick],
      });
    }
  });
  const label = estimatorLabel(kind);
  return {
    file: `mi-vs-epoch-${slug(label)}${kind.subset === 'all' ? '' : `-${slug(kind.subset)}`}.svg`,
    title: `I(X;T) and I(T;Y) against epoch, mean and spread over seeds (${label}, subset ${kind.subset})`,
    svg: fillBands(
      renderFigure({
        title: `Mutual information against epoch — ${label} · subset ${kind.subset}`,
        panels,
        columns: 2,
        panelWidth: 400,
        panelHeight: 260,
        legend: layersAll.map((l) => ({label: l.label, color: colorOf(l.index)})),
      }),
    ),
    caption: `One row per group. Thick line: mean over seeds; ${BAND_TEXT[band]}; thin lines: individual seeds. The epoch axis is log10(epoch + 1).`,
  };
}

function compressionFigure(res: AggregateResult, kinds: ReturnType<typeof estimatorKinds>): AggregateFigure | null {
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
    panels.push({title: `${estimatorLabel(kind)} · ${kind.subset}`, x: {kind: 'linear', label: 'layer index (last = output)'}, y: {kind: 'linear', label: `compression C${unitLabel(kind.unit)}`, min: 0}, marks});
  }
  if (panels.length === 0) return null;
  const legend: LegendItem[] = res.groups.map((g, gi) => ({label: g.label, color: qualitativeColor(gi), marker: true}));
  return {
    file: 'compression.svg',
    title: 'Compression per layer: mean (line) and every seed (dots)',
    svg: renderFigure({title: 'Compression per layer and seed', panels, columns: Math.min(2, panels.length), panelWidth: 400, panelHeight: 260, legend}),
    caption: 'C = max over snapshot epochs of I(X;T) − I(X;T) at the last snapshot, per layer: lines join the means over seeds, dots are the individual seeds (shifted sideways per group).',
  };
}

export function buildFigures(res: AggregateResult, band: BandKind): AggregateFigure[] {
  const kinds = estimatorKinds(res.groups);
  const out: (AggregateFigure | null)[] = [...kinds.map((k) => infoPlaneFigure(res, k)), ...kinds.map((k) => epochFigure(res, k, band)), compressionFigure(res, kinds)];
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

const CSS = `
body{font-family:Helvetica,Arial,sans-serif;color:#222;max-width:1320px;margin:24px auto;padding:0 24px;line-height:1.45}
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
