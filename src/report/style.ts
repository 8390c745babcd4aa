/**
 * The look shared by every figure of the run report and the aggregate report (and by panels added
 * in other files): one colour per layer, layer labels, estimator names for titles, parameters
 * for subtitles, the epoch axis, the MI ceiling lines and the epoch key of information planes.
 * Build panels with these helpers and src/report/svg.ts, and a new figure looks like the others.
 */
import type {LayerInfo} from '../types.js';
import {qualitativeColor, type AxisSpec, type HLine, type LegendItem, type VLine} from './svg.js';

export const TRAIN_COLOR = '#1f77b4';
export const TEST_COLOR = '#d62728';
export const MARKER_COLOR = '#555555';
export const CEILING_COLOR = '#666666';
export const DASH = '6 3';
export const DOTTED = '2 3';

/** Short on-plot label of a layer: L1..L<n> for hidden layers, "out" for the output layer. */
export function layerShortLabel(layer: Pick<LayerInfo, 'index' | 'kind'>): string {
  return layer.kind === 'output' ? 'out' : `L${layer.index}`;
}

/** `L1 h1`, or `out` when the short label is the name itself. */
export function layerTitle(layer: Pick<LayerInfo, 'index' | 'kind' | 'name'>): string {
  const short = layerShortLabel(layer);
  return short === layer.name ? short : `${short} ${layer.name}`;
}

/** The colour of a layer: its position in the run's layer list (the same in every figure). */
export function layerColor(layers: readonly Pick<LayerInfo, 'index'>[], layer: Pick<LayerInfo, 'index'>): string {
  return qualitativeColor(layers.findIndex((l) => l.index === layer.index));
}

/** One legend entry per layer: short label, name, width and activation. */
export function layerLegend(layers: readonly LayerInfo[], marker = false): LegendItem[] {
  return layers.map((l) => ({
    label: `${layerTitle(l)}${l.width ? ` (${l.width}${l.activation && l.activation !== 'unknown' ? `, ${l.activation}` : ''})` : ''}`,
    color: layerColor(layers, l),
    marker,
  }));
}

/** What each estimator is, for figure titles. */
export const ESTIMATOR_NAMES: Record<string, string> = {
  'mi.bin': 'fixed-range binning',
  'mi.binwidth': 'fixed-width binning',
  'mi.ebab': 'entropy-based adaptive binning',
  'mi.adaptmax': 'binning up to the running maximum',
  'mi.kde': 'KDE pairwise-distance bound',
  'mi.akde': 'adaptive KDE bound',
  'mi.ksg': 'KSG nearest neighbours',
  'ib.lossy': 'lossy-compression kNN',
  'geom.dse': 'diffusion spectral entropy',
  'geom.dsmi': 'diffusion spectral MI with labels',
  'ent.renyi': 'matrix-based Rényi entropy',
  'ent.matrix': 'covariance matrix entropy',
  'ent.vne': 'von Neumann entropy',
  'ent.mbe2': 'matrix-based entropy (order 2)',
  'ent.kl': 'Kozachenko–Leonenko kNN entropy',
  'ent.wkl': 'weighted kNN entropy',
  'geom.erank': 'effective rank',
  'geom.rankme': 'RankMe',
  'geom.alphareq': 'α-ReQ exponent',
  'geom.pr': 'participation ratio',
  'geom.local_rank': 'local rank',
  'weights.features': 'weight features',
};

/** `fixed-range binning (mi.bin)`, or the name alone for unknown estimators. */
export function estimatorTitle(estimator: string): string {
  const name = ESTIMATOR_NAMES[estimator];
  return name ? `${name} (${estimator})` : estimator;
}

/** `bins=30;hi=1;lo=-1` -> `bins = 30, hi = 1, lo = −1` (the unit key is left out: it is on the axes). */
export function paramsText(params: string): string {
  return params
    .split(';')
    .filter((kv) => kv !== '' && !kv.startsWith('unit='))
    .map((kv) => {
      const eq = kv.indexOf('=');
      return eq < 0 ? kv : `${kv.slice(0, eq)} = ${kv.slice(eq + 1).replace(/^-/, '\u2212')}`;
    })
    .join(', ');
}

/**
 * The parameters every set has in common, and per set the ones that differ (for panel titles when
 * one figure shows several parameter sets of an estimator).
 */
export function splitParams(sets: readonly string[]): {common: string; differing: string[]} {
  const maps = sets.map((s) => new Map(s.split(';').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv])));
  const keys = [...new Set(maps.flatMap((m) => [...m.keys()]))];
  const same = keys.filter((k) => maps.every((m) => m.get(k) === maps[0].get(k)));
  const common = same.map((k) => maps[0].get(k)).filter((kv): kv is string => kv !== undefined).join(';');
  const differing = maps.map((m) => keys.filter((k) => !same.includes(k)).map((k) => m.get(k) ?? `${k}=–`).join(';'));
  return {common: paramsText(common), differing: differing.map(paramsText)};
}

export type EpochAxisKind = 'log' | 'linear';

/** The epoch axis of the report's time panels: log10(epoch + 1) (shows epoch 0) or linear. */
export function epochAxis(kind: EpochAxisKind = 'log', bounds: {min?: number; max?: number} = {}): AxisSpec {
  return kind === 'linear' ? {kind: 'linear', label: 'epoch', ...bounds} : {kind: 'epoch', label: 'epoch (log scale)', ...bounds};
}

/** `the epoch axis is log10(epoch + 1)` or `... linear` for captions. */
export function epochAxisText(kind: EpochAxisKind = 'log'): string {
  return kind === 'linear' ? 'the epoch axis is linear' : 'the epoch axis is log10(epoch + 1), so epoch 0 is shown';
}

/** log2 N (bits) or ln N (nats): the largest I(X;T) (and H(T)) N distinct rows can show. */
export function miCeiling(n: number, unit: string): number | null {
  if (!(n > 1)) return null;
  return unit === 'nats' ? Math.log(n) : unit === 'bits' ? Math.log2(n) : null;
}

const num = (v: number) => String(Number(v.toPrecision(4)));

/** The dashed ceiling line of an I(X;T) axis. */
export function ceilingLine(ceiling: number, unit: string, axis: 'x' | 'y'): HLine & VLine {
  const label = unit === 'nats' ? `ln N = ${num(ceiling)}` : `log2 N = ${num(ceiling)}`;
  return axis === 'x' ? {x: ceiling, y: NaN, color: CEILING_COLOR, dash: DASH, label} : {x: NaN, y: ceiling, color: CEILING_COLOR, dash: DASH, label};
}

/** The dotted H(Y) line of an I(T;Y) axis (the most label information there is). */
export function labelEntropyLine(entropyY: number, unit: string): HLine {
  const v = unit === 'nats' ? entropyY * Math.LN2 : entropyY;
  return {y: v, color: CEILING_COLOR, dash: DOTTED, label: `H(Y) = ${num(v)}`};
}

/** Marker radius and opacity of a snapshot at `epoch` in an information plane: both grow with the (log) epoch. */
export function epochMarker(range: [number, number]): (epoch: number) => {r: number; opacity: number} {
  const lo = Math.log10(range[0] + 1);
  const hi = Math.log10(range[1] + 1);
  return (e) => {
    const t = hi > lo ? Math.min(1, Math.max(0, (Math.log10(e + 1) - lo) / (hi - lo))) : 1;
    return {r: 1.6 + 3.2 * t, opacity: 0.3 + 0.7 * t};
  };
}

/** Legend entries that explain the epoch markers: first, middle (log) and last epoch. */
export function epochKey(range: [number, number]): LegendItem[] {
  const marker = epochMarker(range);
  const mid = Math.round(10 ** ((Math.log10(range[0] + 1) + Math.log10(range[1] + 1)) / 2) - 1);
  const epochs = [...new Set([range[0], mid, range[1]])];
  return epochs.map((e) => ({label: `epoch ${e}`, color: '#444444', ...(({r, opacity}) => ({radius: r, opacity}))(marker(e))}));
}
