/**
 * A small, dependency-free SVG plotting toolkit: scales with nice ticks (linear, log10, and an
 * epoch axis log10(epoch + 1) that shows epoch 0), line, scatter and area marks, horizontal and
 * vertical reference lines, a legend, a colour bar and a multi-panel grid.
 *
 * Text never overlaps: every label is measured (Helvetica/Arial advance widths, the metrics of
 * the fonts the figures name) and placed through one registry per figure; tick labels that would
 * collide are dropped, panel titles are shortened, and point and line labels try several
 * positions and are left out (the legend names them) when none is free.
 *
 * Panels of a figure can share axis ranges (`shareX`/`shareY`, or the same `share` key on their
 * axes). Figures are sized to the report page (PAGE_WIDTH) unless a panel size is given.
 *
 * Output is deterministic (no ids, no dates, no randomness), uses no ids at all (so many figures can
 * be inlined into one HTML page), escapes all text and prints coordinates with one decimal.
 */

export type AxisKind = 'linear' | 'log' | 'epoch';

export interface Tick {
  value: number;
  /** Mantissa text; for decade ticks of a log axis `label` is "10" and `sup` the exponent. */
  label: string;
  sup?: string;
}

export interface Scale {
  kind: AxisKind;
  /** Data-space domain (untransformed). */
  domain: [number, number];
  map(v: number): number;
  ticks: Tick[];
  /** Unlabelled minor tick positions (log-like axes). */
  minor: number[];
}

export interface AxisSpec {
  kind: AxisKind;
  label: string;
  /** Forced data-space bounds; otherwise taken from the data with padding. */
  min?: number;
  max?: number;
  /** Panels whose axes carry the same key get the same range (in addition to FigureSpec.shareX/Y). */
  share?: string;
}

export type Point = readonly [number, number];

export interface LineMark {
  type: 'line';
  points: readonly Point[];
  color: string;
  width?: number;
  dash?: string;
  opacity?: number;
}

export interface ScatterMark {
  type: 'scatter';
  /** Per point: position, fill, and optionally radius and opacity (e.g. growing with the epoch). */
  points: readonly {x: number; y: number; fill: string; r?: number; opacity?: number}[];
  radius?: number;
  stroke?: string;
}

export interface LabelMark {
  type: 'label';
  x: number;
  y: number;
  text: string;
  color: string;
}

/** A filled band between `lo` and `hi` along x (e.g. a min-max range); drawn as one polygon per run of representable points. */
export interface AreaMark {
  type: 'area';
  points: readonly {x: number; lo: number; hi: number}[];
  color: string;
  opacity?: number;
}

export type Mark = LineMark | ScatterMark | LabelMark | AreaMark;

export interface VLine {
  x: number;
  color: string;
  dash?: string;
  label?: string;
}

/** A horizontal reference line across the panel (e.g. the log2 N ceiling). */
export interface HLine {
  y: number;
  color: string;
  dash?: string;
  label?: string;
}

export interface PanelSpec {
  title?: string;
  x: AxisSpec;
  y: AxisSpec;
  marks: Mark[];
  vlines?: VLine[];
  hlines?: HLine[];
}

export interface LegendItem {
  label: string;
  color: string;
  dash?: string;
  /** Draw a marker dot instead of (or on) the line sample. */
  marker?: boolean;
  /** Marker radius and opacity (e.g. the epoch key of an information plane); implies a marker without a line. */
  radius?: number;
  opacity?: number;
}

export interface ColorBarSpec {
  label: string;
  kind: AxisKind;
  min: number;
  max: number;
  /** Maps t in [0, 1] (position along the bar in transformed space) to a colour. */
  colormap: (t: number) => string;
}

export interface FigureSpec {
  title: string;
  /** A second, smaller title line: the parameters, subset, N... */
  subtitle?: string;
  panels: PanelSpec[];
  columns: number;
  /** Panel size; default: the page width split between the columns, and a height to match. */
  panelWidth?: number;
  panelHeight?: number;
  /** Total width when panelWidth is not given (default PAGE_WIDTH). */
  width?: number;
  legend?: LegendItem[];
  colorBar?: ColorBarSpec;
  /** Same x (y) range in every panel. */
  shareX?: boolean;
  shareY?: boolean;
}

/** Width (px) the report's figures are laid out for: the HTML page's content width. */
export const PAGE_WIDTH = 1200;
export const FONT_FAMILY = "Helvetica, Arial, 'Liberation Sans', sans-serif";

// ---------------------------------------------------------------------------------------------
// Text and numbers

const XML_ESCAPES: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};

/** Escapes text for XML/HTML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]);
}

/** Fixed-precision number without trailing zeros ("-0" printed as "0"). */
export function fmt(v: number, digits = 1): string {
  const s = v.toFixed(digits);
  const t = s.includes('.') ? s.replace(/\.?0+$/, '') : s;
  return t === '-0' ? '0' : t;
}

const MINUS = '\u2212';

/** Compact tick-label number: at most 4 significant digits, true minus sign. */
function tickText(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  let s: string;
  if (a >= 1e5 || a < 1e-3) {
    const [m, e] = v.toExponential(1).split('e');
    s = `${m.replace(/\.0$/, '')}e${Number(e)}`;
  } else {
    s = String(Number(v.toPrecision(4)));
  }
  return s.replace(/-/g, MINUS);
}

/*
 * Advance widths (1/1000 em) of Helvetica / Arial / Liberation Sans (metric-compatible fonts) for
 * the printable ASCII characters 32..126, regular and bold, from the fonts' published metrics.
 */
const REGULAR = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
  1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
  333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
const BOLD = [
  278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
  975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
  333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];
const WIDE: Record<string, number> = {'\u2212': 584, '\u2013': 556, '\u2014': 1000, '\u00b7': 278, '\u00d7': 584, '\u2264': 549, '\u2265': 549, '\u00b1': 584, '\u2026': 1000, '\u2192': 1000};

/** Estimated width in pixels of a text in the figures' font (slightly generous: layout must not undershoot). */
export function textWidth(s: string, fontSize: number, bold = false): number {
  const table = bold ? BOLD : REGULAR;
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    w += c >= 32 && c <= 126 ? table[c - 32] : (WIDE[ch] ?? 640);
  }
  return (w / 1000) * fontSize * 1.03 + 1;
}

// ---------------------------------------------------------------------------------------------
// Colours

/** tab10 qualitative palette. */
export const QUALITATIVE = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd',
  '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
] as const;

export function qualitativeColor(i: number): string {
  return QUALITATIVE[((i % QUALITATIVE.length) + QUALITATIVE.length) % QUALITATIVE.length];
}

/** Viridis sampled at nine equidistant points; interpolated linearly in RGB. */
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84], [71, 45, 123], [59, 82, 139], [44, 114, 142], [33, 145, 140],
  [40, 174, 128], [94, 201, 98], [173, 220, 48], [253, 231, 37],
];

function hex2(v: number): string {
  return Math.round(Math.min(255, Math.max(0, v))).toString(16).padStart(2, '0');
}

/** Sequential viridis-like colour map on t in [0, 1]. */
export function viridis(t: number): string {
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const f = u - i;
  const a = VIRIDIS[i];
  const b = VIRIDIS[i + 1];
  return `#${hex2(a[0] + (b[0] - a[0]) * f)}${hex2(a[1] + (b[1] - a[1]) * f)}${hex2(a[2] + (b[2] - a[2]) * f)}`;
}

// ---------------------------------------------------------------------------------------------
// Scales

/** Transform from data space into the space the axis is linear in. */
function forward(kind: AxisKind, v: number): number {
  if (kind === 'log') return Math.log10(v);
  if (kind === 'epoch') return Math.log10(v + 1);
  return v;
}

/** Whether a data value can be shown on an axis of this kind. */
export function representable(kind: AxisKind, v: number): boolean {
  if (!Number.isFinite(v)) return false;
  if (kind === 'log') return v > 0;
  if (kind === 'epoch') return v > -1;
  return true;
}

function niceStep(span: number, target: number): number {
  const raw = span / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const r = raw / mag;
  const m = r <= 1 ? 1 : r <= 2 ? 2 : r <= 2.5 ? 2.5 : r <= 5 ? 5 : 10;
  return m * mag;
}

function linearTicks(lo: number, hi: number, target: number): number[] {
  const step = niceStep(hi - lo, target);
  const out: number[] = [];
  const start = Math.ceil(lo / step - 1e-9);
  const end = Math.floor(hi / step + 1e-9);
  for (let k = start; k <= end; k++) out.push(Number((k * step).toPrecision(12)));
  return out;
}

/** Candidate 1-2-5 (or decade-only) values between lo and hi (data space, positive). */
function logCandidates(lo: number, hi: number, mantissas: readonly number[]): number[] {
  const out: number[] = [];
  for (let d = Math.floor(Math.log10(lo)) - 1; d <= Math.ceil(Math.log10(hi)) + 1; d++) {
    for (const m of mantissas) {
      const v = Number((m * 10 ** d).toPrecision(12));
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
  }
  return out;
}

/**
 * Keeps candidate ticks in order of priority (lower first) unless closer than `minGap` pixels to an
 * already kept tick; returns the kept values sorted ascending.
 */
function thin(values: readonly number[], priority: (v: number) => number, map: (v: number) => number, minGap: number): number[] {
  const order = [...values].sort((a, b) => priority(a) - priority(b) || a - b);
  const kept: number[] = [];
  for (const v of order) {
    if (kept.every((k) => Math.abs(map(k) - map(v)) >= minGap)) kept.push(v);
  }
  return kept.sort((a, b) => a - b);
}

/** Tick priority on log-like axes: 0 and decades first, then 5x, then 2x, then the rest. */
function logPriority(v: number): number {
  if (v === 0) return 0;
  const m = Number((v / 10 ** Math.floor(Math.log10(v) + 1e-9)).toPrecision(6));
  return m === 1 ? 0 : m === 5 ? 1 : m === 2 ? 2 : 3;
}

const isDecade = (v: number): boolean => v > 0 && logPriority(v) === 0;

/** Decade exponent too long to print as a plain number. */
function needsExponent(v: number): boolean {
  const e = Math.round(Math.log10(v));
  return e < -3 || e > 4;
}

/** Decade label: a plain number, or 10 with a superscript exponent. */
function decadeTick(v: number, exponent: boolean): Tick {
  const e = Math.round(Math.log10(v));
  return exponent ? {value: v, label: '10', sup: String(e).replace('-', MINUS)} : {value: v, label: tickText(v)};
}

/**
 * Builds a scale mapping data values onto the pixel range [r0, r1] (r1 may be smaller than r0 for
 * y axes). `values` are the data the axis must show; forced bounds in `spec` take precedence.
 * The domain is padded by 4% below and `padHigh` above (more headroom leaves room for labels).
 * Tick labels of one axis use one format: on a log axis every label is a power of ten with an
 * exponent once any label needs one (then only decades are labelled).
 */
export function makeScale(
  spec: Pick<AxisSpec, 'kind' | 'min' | 'max'>,
  values: readonly number[],
  r0: number,
  r1: number,
  padHigh = 0.04,
): Scale {
  const kind = spec.kind;
  const vs = values.filter((v) => representable(kind, v)).map((v) => forward(kind, v));
  let lo = vs.length ? Math.min(...vs) : 0;
  let hi = vs.length ? Math.max(...vs) : 1;
  if (hi - lo < 1e-12) {
    const pad = kind === 'linear' ? Math.max(Math.abs(lo) * 0.1, 0.5) : 0.5;
    lo -= pad;
    hi += pad;
  }
  const span = hi - lo;
  lo -= span * 0.04;
  hi += span * padHigh;
  if (spec.min !== undefined && representable(kind, spec.min)) lo = forward(kind, spec.min);
  if (spec.max !== undefined && representable(kind, spec.max)) hi = forward(kind, spec.max);

  const pixels = Math.abs(r1 - r0);
  const target = Math.max(2, Math.round(pixels / 70));
  // For linear axes, widen the domain to the enclosing nice ticks when that costs little.
  if (kind === 'linear') {
    const step = niceStep(hi - lo, target);
    const nlo = Math.floor(lo / step) * step;
    const nhi = Math.ceil(hi / step) * step;
    if (spec.min === undefined && lo - nlo < 0.5 * step) lo = nlo;
    if (spec.max === undefined && nhi - hi < 0.5 * step) hi = nhi;
  }
  const map = (v: number): number => r0 + ((forward(kind, v) - lo) / (hi - lo)) * (r1 - r0);
  const inverse = (u: number): number => (kind === 'log' ? 10 ** u : kind === 'epoch' ? 10 ** u - 1 : u);
  const dlo = inverse(lo);
  const dhi = inverse(hi);

  let ticks: Tick[];
  let minor: number[] = [];
  if (kind === 'linear') {
    ticks = linearTicks(lo, hi, target).map((v) => ({value: v, label: tickText(v)}));
  } else {
    const all = logCandidates(kind === 'epoch' ? Math.max(dlo, 1) : dlo, dhi, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const candidates = kind === 'epoch' && dlo <= 1e-9 ? [0, ...all.filter((v) => v >= 1)] : all;
    const exponentNeeded = kind === 'log' && candidates.some((v) => isDecade(v) && needsExponent(v));
    const decadesOnly = kind === 'log' && (hi - lo >= 2.5 || exponentNeeded);
    let labelled = thin(decadesOnly ? candidates.filter(isDecade) : candidates.filter((v) => logPriority(v) <= 2), logPriority, map, kind === 'epoch' ? 30 : 26);
    if (decadesOnly && labelled.length < 2) labelled = thin(candidates.filter((v) => logPriority(v) <= 2), logPriority, map, 26);
    const exponent = exponentNeeded && labelled.every(isDecade);
    ticks = labelled.map((v) => (isDecade(v) ? decadeTick(v, exponent) : {value: v, label: tickText(v)}));
    if (hi - lo <= 6) minor = candidates.filter((v) => v > 0 && !labelled.includes(v));
  }
  return {kind, domain: [dlo, dhi], map, ticks, minor};
}

// ---------------------------------------------------------------------------------------------
// Text layout: one registry per figure

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

type Anchor = 'start' | 'middle' | 'end';

/** Bounding box of a text whose baseline starts (anchor) at (x, y). */
function textBox(x: number, y: number, s: string, fontSize: number, anchor: Anchor, bold = false, extra = 0): Box {
  const w = textWidth(s, fontSize, bold) + extra;
  const left = anchor === 'start' ? x : anchor === 'middle' ? x - w / 2 : x - w;
  return {x: left, y: y - 0.93 * fontSize, w, h: 1.17 * fontSize};
}

function overlaps(a: Box, b: Box, pad = 1): boolean {
  return a.x < b.x + b.w + pad && b.x < a.x + a.w + pad && a.y < b.y + b.h + pad && b.y < a.y + a.h + pad;
}

/** Every text box placed in a figure so far. */
class TextRegistry {
  private readonly boxes: Box[] = [];
  free(b: Box): boolean {
    return this.boxes.every((o) => !overlaps(b, o));
  }
  add(b: Box): void {
    this.boxes.push(b);
  }
  /** Adds the box when it is free; returns whether it was added. */
  claim(b: Box): boolean {
    if (!this.free(b)) return false;
    this.add(b);
    return true;
  }
}

/** Shortens a text with an ellipsis until it fits `max` pixels. */
function fitText(s: string, fontSize: number, max: number, bold = false): string {
  if (textWidth(s, fontSize, bold) <= max) return s;
  let t = s;
  while (t.length > 1 && textWidth(`${t}\u2026`, fontSize, bold) > max) t = t.slice(0, -1);
  return `${t.trimEnd()}\u2026`;
}

/** Splits a text into lines of at most `max` pixels at spaces. */
function wrapText(s: string, fontSize: number, max: number): string[] {
  const words = s.split(' ');
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    const next = cur ? `${cur} ${w}` : w;
    if (cur && textWidth(next, fontSize) > max) {
      lines.push(cur);
      cur = w;
    } else cur = next;
  }
  if (cur) lines.push(cur);
  return lines.map((l) => fitText(l, fontSize, max));
}

// ---------------------------------------------------------------------------------------------
// Primitive elements

function attrs(a: Record<string, string | number | undefined>): string {
  let s = '';
  for (const [k, v] of Object.entries(a)) {
    if (v === undefined) continue;
    s += ` ${k}="${typeof v === 'number' ? fmt(v, k.endsWith('opacity') ? 2 : 1) : escapeXml(v)}"`;
  }
  return s;
}

function text(x: number, y: number, content: string, a: Record<string, string | number | undefined> = {}): string {
  return `<text${attrs({x, y, ...a})}>${escapeXml(content)}</text>`;
}

function tickLabel(x: number, y: number, t: Tick, anchor: Anchor): string {
  const body = t.sup === undefined ? escapeXml(t.label) : `${escapeXml(t.label)}<tspan dy="-4" font-size="8">${escapeXml(t.sup)}</tspan>`;
  return `<text${attrs({x, y, 'text-anchor': anchor})}>${body}</text>`;
}

function tickBox(x: number, y: number, t: Tick, anchor: Anchor): Box {
  const supW = t.sup === undefined ? 0 : textWidth(t.sup, 8);
  const b = textBox(x, y, t.label, TICK_FONT, anchor, false, supW);
  return t.sup === undefined ? b : {...b, y: b.y - 4, h: b.h + 4};
}

function pathData(points: readonly (readonly [number, number])[]): string {
  return points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${fmt(x)} ${fmt(y)}`).join('');
}

// ---------------------------------------------------------------------------------------------
// Panels

const TICK_FONT = 10;
const AXIS_FONT = 11;
const PANEL_TITLE_FONT = 11.5;
const LABEL_FONT = 10;
const MARGIN = {right: 16, top: 28, bottom: 46};

function collectValues(panel: PanelSpec): {xs: number[]; ys: number[]} {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const m of panel.marks) {
    if (m.type === 'line') {
      for (const [x, y] of m.points) {
        xs.push(x);
        ys.push(y);
      }
    } else if (m.type === 'scatter') {
      for (const p of m.points) {
        xs.push(p.x);
        ys.push(p.y);
      }
    } else if (m.type === 'area') {
      for (const p of m.points) {
        xs.push(p.x);
        ys.push(p.lo, p.hi);
      }
    }
  }
  for (const v of panel.vlines ?? []) xs.push(v.x);
  for (const h of panel.hlines ?? []) ys.push(h.y);
  return {xs, ys};
}

/** Maps a polyline to pixels, splitting it where a point is not representable and dropping sub-pixel steps. */
function segments(points: readonly Point[], sx: Scale, sy: Scale): [number, number][][] {
  const out: [number, number][][] = [];
  let cur: [number, number][] = [];
  for (const [x, y] of points) {
    if (representable(sx.kind, x) && representable(sy.kind, y)) {
      cur.push([sx.map(x), sy.map(y)]);
      // Drop the previous point when it is within half a pixel of the one before it (keeps the last point).
      const n = cur.length;
      if (n >= 3 && Math.abs(cur[n - 2][0] - cur[n - 3][0]) < 0.5 && Math.abs(cur[n - 2][1] - cur[n - 3][1]) < 0.5) cur.splice(n - 2, 1);
    } else if (cur.length) {
      out.push(cur);
      cur = [];
    }
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Candidate offsets (dx, dy from the anchor point, text anchor) for a point label, nearest first. */
const LABEL_SPOTS: readonly [number, number, Anchor][] = [
  [7, -5, 'start'], [7, 12, 'start'], [-7, -5, 'end'], [-7, 12, 'end'], [0, -9, 'middle'], [0, 17, 'middle'],
  [12, -14, 'start'], [-12, -14, 'end'], [12, 21, 'start'], [-12, 21, 'end'], [18, 4, 'start'], [-18, 4, 'end'],
  [0, -20, 'middle'], [0, 28, 'middle'], [24, -22, 'start'], [-24, -22, 'end'], [24, 30, 'start'], [-24, 30, 'end'],
];

function renderPanel(panel: PanelSpec, box: Box, shared: {xs?: number[]; ys?: number[]}, reg: TextRegistry): string {
  const top = box.y + MARGIN.top;
  const plotH = box.h - MARGIN.top - MARGIN.bottom;
  const own = collectValues(panel);
  const sy = makeScale(panel.y, shared.ys ?? own.ys, top + plotH, top, 0.1);
  // left margin from the widest y tick label, the rotated axis title beside it
  const widest = Math.max(0, ...sy.ticks.map((t) => textWidth(t.label, TICK_FONT) + (t.sup ? textWidth(t.sup, 8) : 0)));
  const left = Math.max(52, Math.ceil(widest) + 10 + 20);
  const plot: Box = {x: box.x + left, y: top, w: box.w - left - MARGIN.right, h: plotH};
  const sx = makeScale(panel.x, shared.xs ?? own.xs, plot.x, plot.x + plot.w);
  const parts: string[] = [];

  // panel title (shortened to the panel width), axis titles
  const titles: string[] = [];
  if (panel.title) {
    const t = fitText(panel.title, PANEL_TITLE_FONT, box.w - 12, true);
    const cx = plot.x + plot.w / 2;
    const tx = Math.min(Math.max(cx, box.x + 6 + textWidth(t, PANEL_TITLE_FONT, true) / 2), box.x + box.w - 6 - textWidth(t, PANEL_TITLE_FONT, true) / 2);
    reg.add(textBox(tx, box.y + 18, t, PANEL_TITLE_FONT, 'middle', true));
    titles.push(text(tx, box.y + 18, t, {'text-anchor': 'middle', 'font-size': PANEL_TITLE_FONT, 'font-weight': 'bold'}));
  }
  const xTitle = fitText(panel.x.label, AXIS_FONT, plot.w);
  reg.add(textBox(plot.x + plot.w / 2, box.y + box.h - 9, xTitle, AXIS_FONT, 'middle'));
  titles.push(text(plot.x + plot.w / 2, box.y + box.h - 9, xTitle, {'text-anchor': 'middle', 'font-size': AXIS_FONT}));
  const yTitle = fitText(panel.y.label, AXIS_FONT, plot.h);
  const ly = plot.y + plot.h / 2;
  const yx = box.x + 13;
  const yw = textWidth(yTitle, AXIS_FONT);
  reg.add({x: yx - 0.93 * AXIS_FONT, y: ly - yw / 2, w: 1.17 * AXIS_FONT, h: yw});
  titles.push(text(yx, ly, yTitle, {'text-anchor': 'middle', 'font-size': AXIS_FONT, transform: `rotate(-90 ${fmt(yx)} ${fmt(ly)})`}));

  // grid and ticks; a tick label that would overlap another text is left out (the tick stays)
  const grid: string[] = [];
  const tickMarks: string[] = [];
  const labels: string[] = [];
  for (const t of sy.ticks) {
    const py = sy.map(t.value);
    grid.push(`M${fmt(plot.x)} ${fmt(py)}H${fmt(plot.x + plot.w)}`);
    tickMarks.push(`M${fmt(plot.x)} ${fmt(py)}h-4`);
    if (reg.claim(tickBox(plot.x - 7, py + 3.5, t, 'end'))) labels.push(tickLabel(plot.x - 7, py + 3.5, t, 'end'));
  }
  for (const t of sx.ticks) {
    const px = sx.map(t.value);
    grid.push(`M${fmt(px)} ${fmt(plot.y)}V${fmt(plot.y + plot.h)}`);
    tickMarks.push(`M${fmt(px)} ${fmt(plot.y + plot.h)}v4`);
    if (reg.claim(tickBox(px, plot.y + plot.h + 17, t, 'middle'))) labels.push(tickLabel(px, plot.y + plot.h + 17, t, 'middle'));
  }
  for (const v of sx.minor) tickMarks.push(`M${fmt(sx.map(v))} ${fmt(plot.y + plot.h)}v2.5`);
  for (const v of sy.minor) tickMarks.push(`M${fmt(plot.x)} ${fmt(sy.map(v))}h-2.5`);
  parts.push(`<path d="${grid.join('')}" stroke="#e6e6e6" stroke-width="0.8" fill="none"/>`);

  // reference lines (behind data); their labels inside the plot, placed once the data is known
  const lineLabels: string[] = [];
  const lineLabelRequests: {label: string; color: string; spots: [number, number, Anchor][]}[] = [];
  const placeLineLabel = (label: string, color: string, spots: [number, number, Anchor][]) => lineLabelRequests.push({label, color, spots});
  for (const h of panel.hlines ?? []) {
    if (!representable(sy.kind, h.y)) continue;
    const py = sy.map(h.y);
    if (py < plot.y - 0.5 || py > plot.y + plot.h + 0.5) continue;
    parts.push(`<path${attrs({d: `M${fmt(plot.x)} ${fmt(py)}H${fmt(plot.x + plot.w)}`, stroke: h.color, 'stroke-width': 1.1, 'stroke-dasharray': h.dash, fill: 'none'})}/>`);
    if (h.label) {
      // along the line, right end first, above then below it
      const spots: [number, number, Anchor][] = [];
      for (let k = 0; k <= 8; k++) {
        const x = plot.x + plot.w - 4 - ((plot.w - 8) * k) / 8;
        spots.push([x, py - 4, k === 8 ? 'start' : 'end'], [x, py + 12, k === 8 ? 'start' : 'end']);
      }
      placeLineLabel(h.label, h.color, spots);
    }
  }
  for (const v of panel.vlines ?? []) {
    if (!representable(sx.kind, v.x)) continue;
    const px = sx.map(v.x);
    if (px < plot.x - 0.5 || px > plot.x + plot.w + 0.5) continue;
    parts.push(`<path${attrs({d: `M${fmt(px)} ${fmt(plot.y)}V${fmt(plot.y + plot.h)}`, stroke: v.color, 'stroke-width': 1.2, 'stroke-dasharray': v.dash, fill: 'none'})}/>`);
    if (v.label) {
      const spots: [number, number, Anchor][] = [];
      for (let k = 0; k < Math.floor((plot.h - 8) / 12); k++) spots.push([px + 3, plot.y + 12 + 12 * k, 'start'], [px - 3, plot.y + 12 + 12 * k, 'end']);
      placeLineLabel(v.label, v.color, spots);
    }
  }

  // data (the pixels of points and line vertices are obstacles labels try to avoid)
  const obstacles: Box[] = [];
  const obstacle = (x: number, y: number, r: number) => obstacles.push({x: x - r, y: y - r, w: 2 * r, h: 2 * r});
  const pointLabels: LabelMark[] = [];
  for (const m of panel.marks) {
    if (m.type === 'line') {
      for (const seg of segments(m.points, sx, sy)) {
        if (seg.length < 2) continue;
        // line segments as obstacles: points every ~4 px along them
        for (let k = 1; k < seg.length; k++) {
          const [x0, y0] = seg[k - 1];
          const [x1, y1] = seg[k];
          const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) / 4));
          for (let t = 0; t <= steps; t++) obstacle(x0 + ((x1 - x0) * t) / steps, y0 + ((y1 - y0) * t) / steps, 1.5);
        }
        parts.push(
          `<path${attrs({
            d: pathData(seg),
            stroke: m.color,
            'stroke-width': m.width ?? 1.6,
            'stroke-dasharray': m.dash,
            'stroke-opacity': m.opacity,
            'stroke-linejoin': 'round',
            'stroke-linecap': 'round',
            fill: 'none',
          })}/>`,
        );
      }
    } else if (m.type === 'scatter') {
      const r0 = m.radius ?? 3;
      for (const p of m.points) {
        if (!representable(sx.kind, p.x) || !representable(sy.kind, p.y)) continue;
        obstacle(sx.map(p.x), sy.map(p.y), p.r ?? r0);
        parts.push(`<circle${attrs({cx: sx.map(p.x), cy: sy.map(p.y), r: p.r ?? r0, fill: p.fill, 'fill-opacity': p.opacity, stroke: m.stroke, 'stroke-width': m.stroke ? 0.7 : undefined})}/>`);
      }
    } else if (m.type === 'area') {
      const runs: {x: number; lo: number; hi: number}[][] = [[]];
      for (const p of m.points) {
        if (representable(sx.kind, p.x) && representable(sy.kind, p.lo) && representable(sy.kind, p.hi)) runs[runs.length - 1].push(p);
        else if (runs[runs.length - 1].length) runs.push([]);
      }
      for (const run of runs) {
        if (run.length < 2) continue;
        const outline: [number, number][] = [
          ...run.map((p) => [sx.map(p.x), sy.map(p.hi)] as [number, number]),
          ...[...run].reverse().map((p) => [sx.map(p.x), sy.map(p.lo)] as [number, number]),
        ];
        parts.push(`<path${attrs({d: `${pathData(outline)}Z`, fill: m.color, 'fill-opacity': m.opacity ?? 0.18, stroke: 'none'})}/>`);
      }
    } else if (representable(sx.kind, m.x) && representable(sy.kind, m.y)) {
      pointLabels.push(m);
    }
  }
  // labels: the first spot inside the plot free of other text, preferring spots that cover no data;
  // a label with no free spot is left out (the legend names every layer)
  const inside = (b: Box) => b.x >= plot.x + 1 && b.x + b.w <= plot.x + plot.w - 1 && b.y >= plot.y + 1 && b.y + b.h <= plot.y + plot.h - 1;
  const clearOfData = (b: Box) => obstacles.every((o) => !overlaps(b, o, 0));
  const place = (candidates: {x: number; y: number; anchor: Anchor}[], content: string, bold: boolean): {x: number; y: number; anchor: Anchor} | null => {
    for (const strict of [true, false]) {
      for (const c of candidates) {
        const b = textBox(c.x, c.y, content, LABEL_FONT, c.anchor, bold);
        if (!inside(b) || (strict && !clearOfData(b)) || !reg.free(b)) continue;
        reg.add(b);
        return c;
      }
    }
    return null;
  };
  const placed: string[] = [];
  for (const l of pointLabels) {
    const px = sx.map(l.x);
    const py = sy.map(l.y);
    const at = place(LABEL_SPOTS.map(([dx, dy, anchor]) => ({x: px + dx, y: py + dy, anchor})), l.text, true);
    if (at) placed.push(text(at.x, at.y, l.text, {'font-size': LABEL_FONT, 'font-weight': 'bold', fill: l.color, 'text-anchor': at.anchor, stroke: '#ffffff', 'stroke-width': 2.5, 'paint-order': 'stroke'}));
  }
  for (const r of lineLabelRequests) {
    const at = place(r.spots.map(([x, y, anchor]) => ({x, y, anchor})), r.label, false);
    if (at) lineLabels.push(text(at.x, at.y, r.label, {'font-size': LABEL_FONT, fill: r.color, 'text-anchor': at.anchor, stroke: '#ffffff', 'stroke-width': 3, 'paint-order': 'stroke'}));
  }
  parts.push(...placed, ...lineLabels);

  // frame, ticks, labels, titles
  parts.push(`<rect${attrs({x: plot.x, y: plot.y, width: plot.w, height: plot.h, fill: 'none', stroke: '#333333', 'stroke-width': 0.8})}/>`);
  parts.push(`<path d="${tickMarks.join('')}" stroke="#333333" stroke-width="0.8" fill="none"/>`);
  parts.push(`<g font-size="${TICK_FONT}" fill="#222222">${labels.join('')}</g>`);
  parts.push(...titles);
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------
// Legend and colour bar

const LEGEND_FONT = 11;

function legendSample(x: number, y: number, item: LegendItem): string {
  if (item.radius !== undefined) return `<circle${attrs({cx: x + 11, cy: y, r: item.radius, fill: item.color, 'fill-opacity': item.opacity})}/>`;
  const line = `<path${attrs({d: `M${fmt(x)} ${fmt(y)}h22`, stroke: item.color, 'stroke-width': 2, 'stroke-dasharray': item.dash, fill: 'none'})}/>`;
  const dot = item.marker ? `<circle${attrs({cx: x + 11, cy: y, r: 3.2, fill: item.color})}/>` : '';
  return line + dot;
}

/** Lays out legend items in rows of at most `width` pixels; returns the markup and its height. */
function renderLegend(items: readonly LegendItem[], x0: number, y0: number, width: number, reg: TextRegistry): {svg: string; height: number} {
  const rowH = 18;
  let x = x0;
  let y = y0 + rowH / 2;
  const parts: string[] = [];
  for (const item of items) {
    const label = fitText(item.label, LEGEND_FONT, width - 30);
    const w = 28 + textWidth(label, LEGEND_FONT) + 18;
    if (x > x0 && x + w > x0 + width) {
      x = x0;
      y += rowH;
    }
    reg.add(textBox(x + 27, y + 4, label, LEGEND_FONT, 'start'));
    parts.push(legendSample(x, y, item), text(x + 27, y + 4, label, {'font-size': LEGEND_FONT}));
    x += w;
  }
  return {svg: parts.join(''), height: items.length ? y - y0 + rowH / 2 : 0};
}

const COLORBAR_WIDTH = 80;

function renderColorBar(cb: ColorBarSpec, box: Box, reg: TextRegistry): string {
  const barX = box.x + 10;
  const barW = 12;
  const top = box.y + MARGIN.top + 6;
  const bottom = box.y + box.h - MARGIN.bottom;
  const scale = makeScale({kind: cb.kind, min: cb.min, max: cb.max}, [cb.min, cb.max], bottom, top);
  const steps = 48;
  const parts: string[] = [];
  const h = (bottom - top) / steps;
  for (let i = 0; i < steps; i++) {
    const t = (i + 0.5) / steps;
    parts.push(`<rect${attrs({x: barX, y: bottom - (i + 1) * h, width: barW, height: h + 0.4, fill: cb.colormap(t)})}/>`);
  }
  parts.push(`<rect${attrs({x: barX, y: top, width: barW, height: bottom - top, fill: 'none', stroke: '#333333', 'stroke-width': 0.6})}/>`);
  const ticks: string[] = [];
  const labels: string[] = [];
  for (const t of scale.ticks) {
    const py = scale.map(t.value);
    ticks.push(`M${fmt(barX + barW)} ${fmt(py)}h3`);
    if (reg.claim(tickBox(barX + barW + 5, py + 3.5, t, 'start'))) labels.push(tickLabel(barX + barW + 5, py + 3.5, t, 'start'));
  }
  parts.push(`<path d="${ticks.join('')}" stroke="#333333" stroke-width="0.8" fill="none"/>`);
  parts.push(`<g font-size="${TICK_FONT}" fill="#222222">${labels.join('')}</g>`);
  const label = fitText(cb.label, 10.5, COLORBAR_WIDTH - 4);
  reg.add(textBox(barX + barW / 2, top - 9, label, 10.5, 'middle'));
  parts.push(text(barX + barW / 2, top - 9, label, {'text-anchor': 'middle', 'font-size': 10.5}));
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------
// Figure

/**
 * Per panel, the values its x and y axes must show when shared: the union over every panel axis
 * with the same `share` key (x and y axes may share one key, e.g. an information plane's I(X;T)
 * axis with the I(X;T)-against-epoch panels), or over all panels with shareX / shareY.
 */
function sharedValues(panels: readonly PanelSpec[], shareX: boolean, shareY: boolean): {xs?: number[]; ys?: number[]}[] {
  const keyOf = (p: PanelSpec, axis: 'x' | 'y') => (axis === 'x' && shareX ? '\u0000x' : axis === 'y' && shareY ? '\u0000y' : p[axis].share);
  const pools = new Map<string, number[]>();
  for (const p of panels) {
    const own = collectValues(p);
    for (const axis of ['x', 'y'] as const) {
      const key = keyOf(p, axis);
      if (key === undefined) continue;
      const forced = [p[axis].min, p[axis].max].filter((v): v is number => v !== undefined);
      pools.set(key, [...(pools.get(key) ?? []), ...(axis === 'x' ? own.xs : own.ys), ...forced]);
    }
  }
  return panels.map((p) => {
    const kx = keyOf(p, 'x');
    const ky = keyOf(p, 'y');
    return {xs: kx === undefined ? undefined : pools.get(kx), ys: ky === undefined ? undefined : pools.get(ky)};
  });
}

/** Renders a complete multi-panel figure as a standalone SVG document. */
export function renderFigure(spec: FigureSpec): string {
  const cols = Math.max(1, Math.min(spec.columns, spec.panels.length || 1));
  const rows = Math.max(1, Math.ceil(spec.panels.length / cols));
  const cbW = spec.colorBar ? COLORBAR_WIDTH : 0;
  const pw = spec.panelWidth ?? Math.floor(((spec.width ?? PAGE_WIDTH) - 16 - cbW) / cols);
  const ph = spec.panelHeight ?? Math.round(Math.min(420, Math.max(210, pw * 0.7)));
  const gridW = cols * pw;
  const width = gridW + cbW + 16;
  const reg = new TextRegistry();

  const head: string[] = [];
  const title = fitText(spec.title, 14, width - 16, true);
  reg.add(textBox(8, 20, title, 14, 'start', true));
  head.push(text(8, 20, title, {'font-size': 14, 'font-weight': 'bold'}));
  let y = 26;
  if (spec.subtitle) {
    for (const line of wrapText(spec.subtitle, 11, width - 16)) {
      y += 15;
      reg.add(textBox(8, y, line, 11, 'start'));
      head.push(text(8, y, line, {'font-size': 11, fill: '#444444'}));
    }
  }
  const legend = renderLegend(spec.legend ?? [], 52, y + 4, width - 60, reg);
  const gridTop = y + 4 + legend.height + (legend.height ? 4 : 0);
  const height = gridTop + rows * ph + 4;

  const shared = sharedValues(spec.panels, spec.shareX ?? false, spec.shareY ?? false);
  const body: string[] = [];
  spec.panels.forEach((panel, i) => {
    const box = {x: 8 + (i % cols) * pw, y: gridTop + Math.floor(i / cols) * ph, w: pw, h: ph};
    body.push(renderPanel(panel, box, shared[i], reg));
  });
  if (spec.colorBar) body.push(renderColorBar(spec.colorBar, {x: 8 + gridW, y: gridTop, w: cbW, h: Math.min(ph, rows * ph)}, reg));

  return [
    `<svg xmlns="http://www.w3.org/2000/svg"${attrs({width, height, viewBox: `0 0 ${fmt(width)} ${fmt(height)}`, 'font-family': FONT_FAMILY, 'font-size': 11})}>`,
    `<title>${escapeXml(spec.title)}</title>`,
    `<rect${attrs({x: 0, y: 0, width, height, fill: '#ffffff'})}/>`,
    ...head,
    legend.svg,
    ...body,
    '</svg>',
  ].join('\n');
}
