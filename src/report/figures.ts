/**
 * The report's figures, built from a run's tidy rows with the SVG toolkit.
 */
import type {LayerInfo, MetricRow} from '../types.js';
import {
  activationRows,
  crossingEpoch,
  deadFraction,
  gradientTrajectory,
  groupLabel,
  ENTROPY_ESTIMATORS,
  layerSeries,
  LOCAL_RANK,
  localRankGroups,
  localRankTrajectory,
  metricGroups,
  miGroups,
  miTrajectory,
  SPECTRUM_ESTIMATORS,
  trainingSeries,
  WEIGHT_FEATURE_ORDER,
  WEIGHT_FEATURES,
  type MetricGroup,
  type MiGroup,
} from './analysis.js';
import {
  ceilingLine, DASH, DOTTED, epochAxis, epochAxisText, epochKey, epochMarker, ESTIMATOR_NAMES, estimatorTitle, labelEntropyLine,
  layerColor, layerLegend, layerShortLabel, layerTitle, MARKER_COLOR, miCeiling, paramsText, splitParams, TEST_COLOR, TRAIN_COLOR,
} from './style.js';
import {validityWarnings} from '../metrics/validity.js';
import {PAGE_WIDTH, renderFigure, type AxisSpec, type Mark, type PanelSpec, type Point} from './svg.js';
import type {ReportFigure, ReportInput} from './types.js';
import {beyondFigures} from './beyond.js';

export {layerShortLabel} from './style.js';

/** File-name-safe form of an estimator name (`mi.bin` stays `mi.bin`). */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-');
}

/** How to read values of a known MI estimator; generic text otherwise. */
export function estimatorDescription(estimator: string): string {
  const name = estimator.slice(estimator.indexOf('.') + 1).toLowerCase();
  if (name.startsWith('bin') || name === 'ebab' || name === 'adaptmax') {
    return 'Binning discretises each unit\'s activation and measures the entropy of the discretised representation, so I(X;T) = H(T) is capped at log2 N for N samples (the dashed line: points near it are saturated, not informative) and depends on the bin size.';
  }
  if (name.startsWith('kde') || name.startsWith('akde')) {
    return 'The KDE estimator (Kolchinsky-Tracey pairwise-distance bound) treats T as the activations plus Gaussian noise of a fixed variance; values depend on that noise level, are upper bounds, and are capped at log2 N (dashed line).';
  }
  if (name.startsWith('knn') || name.startsWith('ksg') || name.startsWith('kraskov')) {
    return 'The k-nearest-neighbour (Kraskov) estimator measures MI of the continuous activations from neighbour distances; it has no hard ceiling but is biased in high dimension.';
  }
  return `Values as computed by the ${estimator} estimator.`;
}

/** First and last snapshot epoch (else metric epochs). */
function epochRange(input: ReportInput): [number, number] {
  const epochs = input.snapshotEpochs.length ? input.snapshotEpochs : input.metrics.map((r) => r.epoch);
  if (epochs.length === 0) return [0, Math.max(1, input.epochs)];
  return [Math.min(...epochs), Math.max(...epochs)];
}

function unitLabel(unit: string): string {
  return unit === 'dimensionless' ? '' : ` [${unit}]`;
}

function groupsByEstimator(groups: readonly MiGroup[]): MiGroup[][] {
  const out = new Map<string, MiGroup[]>();
  for (const g of groups) {
    const list = out.get(g.estimator);
    if (list) list.push(g);
    else out.set(g.estimator, [g]);
  }
  return [...out.values()];
}

/** Largest N a group's values were computed on. */
function groupN(g: MiGroup): number {
  return Math.max(0, ...g.rows.map((r) => r.n));
}

/** The top of the I(X;T) and I(T;Y) axes over every MI group (for report.shareEstimatorAxes), in bits. */
function miAxisTops(input: ReportInput, groups: readonly MiGroup[]): {ixt: number; ity: number} {
  const bits = (v: number, unit: string) => (unit === 'nats' ? v / Math.LN2 : v);
  let ixt = 0;
  let ity = input.dataset.entropyY ?? 0;
  for (const g of groups) {
    const c = miCeiling(groupN(g), 'bits');
    if (c !== null) ixt = Math.max(ixt, c);
    for (const r of g.rows) {
      if (!Number.isFinite(r.value)) continue;
      if (r.quantity === 'I_XT') ixt = Math.max(ixt, bits(r.value, r.unit));
      else ity = Math.max(ity, bits(r.value, r.unit));
    }
  }
  return {ixt, ity};
}

// ---------------------------------------------------------------------------------------------

/**
 * One figure per MI estimator: per parameter set a row of three panels - the information plane
 * (I(T;Y) against I(X;T), one colour per layer, marker size and opacity growing with the epoch),
 * I(X;T) against epoch and I(T;Y) against epoch - with the log2 N ceiling and H(Y) drawn. The
 * I(X;T) axes of a row share one range, as do the I(T;Y) axes (and, with shareEstimatorAxes,
 * those of every estimator).
 */
function miFigure(input: ReportInput, groups: readonly MiGroup[], tops: {ixt: number; ity: number} | null): ReportFigure {
  const range = epochRange(input);
  const marker = epochMarker(range);
  const estimator = groups[0].estimator;
  const unit = groups[0].unit;
  const params = splitParams(groups.map((g) => g.params));
  const toUnit = (bits: number) => (unit === 'nats' ? bits * Math.LN2 : bits);
  const panels: PanelSpec[] = [];
  groups.forEach((g, gi) => {
    const plane: Mark[] = [];
    const labels: Mark[] = [];
    const ixtMarks: Mark[] = [];
    const ityMarks: Mark[] = [];
    for (const layer of input.layers) {
      const traj = miTrajectory(g, layer.index);
      if (traj.length === 0) continue;
      const c = layerColor(input.layers, layer);
      const both = traj.filter((p) => p.ixt !== null && p.ity !== null);
      if (both.length) {
        plane.push({type: 'line', points: both.map((p) => [p.ixt as number, p.ity as number] as Point), color: c, width: 1.4, opacity: 0.75});
        plane.push({type: 'scatter', points: both.map((p) => ({x: p.ixt as number, y: p.ity as number, fill: c, ...marker(p.epoch)}))});
        const last = both[both.length - 1];
        labels.push({type: 'label', x: last.ixt as number, y: last.ity as number, text: layerShortLabel(layer), color: c});
      }
      for (const [key, marks] of [['ixt', ixtMarks], ['ity', ityMarks]] as const) {
        const pts = traj.filter((p) => p[key] !== null);
        if (pts.length === 0) continue;
        marks.push({type: 'line', points: pts.map((p) => [p.epoch, p[key] as number] as Point), color: c, width: 1.6});
        marks.push({type: 'scatter', points: pts.map((p) => ({x: p.epoch, y: p[key] as number, fill: c})), radius: 1.8});
      }
    }
    const ceiling = miCeiling(groupN(g), unit);
    const hy = input.dataset.entropyY;
    const ixtAxis = {min: 0, ...(tops ? {max: toUnit(tops.ixt) * 1.04} : {}), share: `ixt${gi}`};
    const ityAxis = {min: 0, ...(tops ? {max: toUnit(tops.ity) * 1.06} : {}), share: `ity${gi}`};
    const prefix = groups.length > 1 ? `${params.differing[gi] || '(defaults)'}: ` : '';
    panels.push(
      {
        title: `${prefix}information plane`,
        x: {kind: 'linear', label: `I(X;T)${unitLabel(unit)}`, ...ixtAxis},
        y: {kind: 'linear', label: `I(T;Y)${unitLabel(unit)}`, ...ityAxis},
        marks: [...plane, ...labels],
        vlines: ceiling === null ? [] : [ceilingLine(ceiling, unit, 'x')],
        hlines: hy === undefined ? [] : [labelEntropyLine(hy, unit)],
      },
      {
        title: `${prefix}I(X;T) against epoch`,
        x: {...epochAxis(input.epochAxis), share: 'epoch'},
        y: {kind: 'linear', label: `I(X;T)${unitLabel(unit)}`, ...ixtAxis},
        marks: ixtMarks,
        hlines: ceiling === null ? [] : [ceilingLine(ceiling, unit, 'y')],
      },
      {
        title: `${prefix}I(T;Y) against epoch`,
        x: {...epochAxis(input.epochAxis), share: 'epoch'},
        y: {kind: 'linear', label: `I(T;Y)${unitLabel(unit)}`, ...ityAxis},
        marks: ityMarks,
        hlines: hy === undefined ? [] : [labelEntropyLine(hy, unit)],
      },
    );
  });
  const n = Math.max(...groups.map(groupN));
  // layers on which this estimator carries a range or scale warning (docs/metrics.md, "Validity warnings")
  const flagged = validityWarnings(input.metrics, input.layers).filter((w) => w.estimator === estimator && (w.kind === 'range' || w.kind === 'scale'));
  const invalid = flagged.length ? `not valid on ${[...new Set(flagged.map((w) => w.layer))].join(', ')} (${[...new Set(flagged.map((w) => w.kind))].join(', ')}: see the warnings)` : '';
  const subtitle = [params.common, `subset ${groups[0].subset}`, n > 0 ? `N = ${n}` : '', 'marker size and opacity grow with the epoch', invalid].filter((t) => t !== '').join(' · ');
  return {
    file: `info-plane-${slug(estimator)}.svg`,
    title: `Information plane: ${estimatorTitle(estimator)}`,
    svg: renderFigure({
      title: `Information plane: ${estimatorTitle(estimator)}`,
      subtitle,
      panels,
      columns: 3,
      width: PAGE_WIDTH,
      panelHeight: 330,
      legend: [...layerLegend(input.layers, true), ...epochKey(range)],
    }),
    caption:
      'Left: each layer\'s trajectory through the information plane over the snapshot epochs, one colour per layer; markers grow and darken with the epoch (key above) and the label marks the last snapshot. ' +
      'Fitting moves a trajectory up (more information about the label), compression moves it left (less information about the input). ' +
      `Middle and right: I(X;T) and I(T;Y) of every layer against epoch (${epochAxisText(input.epochAxis)}); the I(X;T) axes share one range, as do the I(T;Y) axes. ` +
      'The dashed line is the estimator\'s ceiling log2 N (N evaluation rows), the dotted one H(Y), the most information about the label there is. ' +
      estimatorDescription(estimator),
  };
}

function trainingFigure(input: ReportInput): ReportFigure | null {
  const series = (q: string): Point[] => trainingSeries(input.training, q).map((p) => [p.epoch, p.value] as Point);
  const panel = (title: string, label: string, train: Point[], test: Point[], bounds: {min?: number; max?: number} = {}): PanelSpec => ({
    title,
    x: epochAxis(input.epochAxis),
    y: {kind: 'linear', label, ...bounds},
    marks: [
      {type: 'line', points: train, color: TRAIN_COLOR},
      {type: 'line', points: test, color: TEST_COLOR, dash: DASH},
    ],
  });
  const trainLoss = series('train_loss');
  const testLoss = series('test_loss');
  const trainAcc = series('train_acc');
  const testAcc = series('test_acc');
  const panels: PanelSpec[] = [];
  if (trainLoss.length || testLoss.length) panels.push(panel('Loss', 'loss', trainLoss, testLoss, {min: 0}));
  if (trainAcc.length || testAcc.length) panels.push(panel('Accuracy', 'accuracy', trainAcc, testAcc, {max: 1}));
  if (panels.length === 0) return null;
  return {
    file: 'training-curves.svg',
    title: 'Training curves',
    svg: renderFigure({
      title: 'Training curves',
      subtitle: `${input.dataset.name}: ${input.dataset.nTrain} training and ${input.dataset.nTest} test rows · ${input.epochs} epochs`,
      panels,
      columns: 2,
      panelHeight: 300,
      shareX: true,
      legend: [
        {label: 'train', color: TRAIN_COLOR},
        {label: 'test', color: TEST_COLOR, dash: DASH},
      ],
    }),
    caption: `Loss and accuracy on the training set (solid) and the test set (dashed) at every evaluated epoch; ${epochAxisText(input.epochAxis)}. A growing gap between the curves is overfitting.`,
  };
}

function gradientFigure(input: ReportInput): ReportFigure | null {
  const panels: PanelSpec[] = [];
  for (const layer of input.layers) {
    const traj = gradientTrajectory(input.training, layer.index);
    if (traj.length === 0) continue;
    const c = layerColor(input.layers, layer);
    const crossing = crossingEpoch(traj);
    panels.push({
      title: `${layerTitle(layer)} (width ${layer.width})`,
      x: epochAxis(input.epochAxis),
      y: {kind: 'log', label: 'gradient norm'},
      marks: [
        {type: 'line', points: traj.map((p) => [p.epoch, p.mean] as Point), color: c},
        {type: 'line', points: traj.map((p) => [p.epoch, p.std] as Point), color: c, dash: DASH},
      ],
      vlines: crossing === null ? [] : [{x: crossing, color: MARKER_COLOR, dash: DOTTED, label: `e* = ${crossing}`}],
    });
  }
  if (panels.length === 0) return null;
  return {
    file: 'gradients.svg',
    title: 'Gradient signal and noise per layer',
    svg: renderFigure({
      title: 'Gradient mean and standard deviation per layer',
      subtitle: 'norms over the mini-batches of each snapshot epoch, same axes in every panel',
      panels,
      columns: Math.min(3, panels.length),
      panelHeight: 250,
      shareX: true,
      shareY: true,
      legend: [
        {label: 'norm of the mean gradient (drift)', color: '#333333'},
        {label: 'norm of the gradient std (diffusion)', color: '#333333', dash: DASH},
        {label: 'e*: drift-to-diffusion crossing', color: MARKER_COLOR, dash: DOTTED},
      ],
    }),
    caption:
      `Norm of the mini-batch gradient mean (solid) and of its standard deviation (dashed) per layer at the snapshot epochs; the y axis is logarithmic and ${epochAxisText(input.epochAxis)}. ` +
      'The dotted line e* marks the first snapshot from which the mean stays below the standard deviation (SNR < 1 at every later snapshot): the transition from the drift phase to the diffusion phase.',
  };
}

function activationFigure(input: ReportInput): ReportFigure | null {
  const panels: PanelSpec[] = [];
  const spec = [
    ['dead_units', 'Dead units', 'fraction of units dead'],
    ['saturated_frac', 'Saturated activations', 'fraction saturated'],
  ] as const;
  for (const [quantity, title, label] of spec) {
    const rows = activationRows(input.metrics, quantity);
    if (rows.length === 0) continue;
    const marks: Mark[] = [];
    for (const layer of input.layers) {
      const pts = layerSeries(rows, layer.index);
      if (pts.length === 0) continue;
      const value = (v: number): number => (quantity === 'dead_units' ? deadFraction(v, rows[0].unit, layer.width) : v);
      const c = layerColor(input.layers, layer);
      marks.push({type: 'line', points: pts.map((p) => [p.epoch, value(p.value)] as Point), color: c});
      marks.push({type: 'scatter', points: pts.map((p) => ({x: p.epoch, y: value(p.value), fill: c})), radius: 2.2});
    }
    panels.push({title, x: epochAxis(input.epochAxis), y: {kind: 'linear', label, min: 0, max: 1}, marks});
  }
  if (panels.length === 0) return null;
  return {
    file: 'activations.svg',
    title: 'Dead and saturated units',
    svg: renderFigure({
      title: 'Dead and saturated units per layer',
      subtitle: 'fractions of each layer\'s units (dead) and activations (saturated) at the snapshot epochs',
      panels,
      columns: 2,
      panelHeight: 280,
      shareX: true,
      legend: layerLegend(input.layers, true),
    }),
    caption:
      'Fraction of units per layer that never activate on the evaluation inputs (dead) and fraction of activations in the saturated range of the nonlinearity, at the snapshot epochs. ' +
      'Dead or saturated units reduce the number of distinct activation patterns and thereby what binning estimators can measure.',
  };
}

// ---------------------------------------------------------------------------------------------
// Local rank, entropies, spectra, weight features

/**
 * Forced epoch-axis bounds shared by stacked panels: epoch 0 to the last epoch, padded by 4% of the
 * log10(epoch + 1) span on both sides, so every panel maps an epoch to the same x pixel.
 */
function sharedEpochAxis(lastEpoch: number, kind: ReportInput['epochAxis']): AxisSpec {
  if (kind === 'linear') return epochAxis('linear', {min: 0, max: Math.max(1, lastEpoch)});
  const span = Math.log10(Math.max(1, lastEpoch) + 1);
  return epochAxis('log', {min: 10 ** (-0.04 * span) - 1, max: 10 ** (1.04 * span) - 1});
}

/** A bound this many times above the largest measured rank is named in the title but not drawn. */
const BOUND_DRAW_FACTOR = 2;

function localRankFigure(input: ReportInput, group: {params: string; subset: string; rows: MetricRow[]}, file: string): ReportFigure | null {
  const trainLoss = trainingSeries(input.training, 'train_loss').map((p) => [p.epoch, p.value] as Point);
  const testLoss = trainingSeries(input.training, 'test_loss').map((p) => [p.epoch, p.value] as Point);
  const epochs = [input.epochs, ...group.rows.map((r) => r.epoch), ...trainLoss.map((p) => p[0]), ...testLoss.map((p) => p[0])];
  const x = sharedEpochAxis(Math.max(0, ...epochs.filter(Number.isFinite)), input.epochAxis);
  const panels: PanelSpec[] = [];
  for (const layer of input.layers) {
    const traj = localRankTrajectory(group.rows, layer.index);
    const means = traj.filter((p) => p.mean !== null);
    if (means.length === 0) continue;
    const c = layerColor(input.layers, layer);
    const marks: Mark[] = [];
    const band = traj.filter((p) => p.min !== null && p.max !== null).map((p) => ({x: p.epoch, lo: p.min as number, hi: p.max as number}));
    if (band.length) marks.push({type: 'area', points: band, color: c, opacity: 0.16});
    const bounds = traj.filter((p) => p.bound !== null).map((p) => [p.epoch, p.bound as number] as Point);
    const top = Math.max(...means.map((p) => p.mean as number), ...band.map((p) => p.hi));
    const lastBound = bounds.length ? bounds[bounds.length - 1][1] : null;
    if (lastBound !== null && lastBound <= BOUND_DRAW_FACTOR * Math.max(top, 1)) {
      const constant = bounds.every((b) => b[1] === lastBound);
      marks.push({type: 'line', points: constant ? [[x.min!, lastBound], [x.max!, lastBound]] : bounds, color: c, dash: DASH, width: 1.3});
    }
    marks.push({type: 'line', points: means.map((p) => [p.epoch, p.mean as number] as Point), color: c, width: 2});
    marks.push({type: 'scatter', points: means.map((p) => ({x: p.epoch, y: p.mean as number, fill: c})), radius: 2.6});
    panels.push({
      title: `${layerTitle(layer)} (width ${layer.width}, ${layer.activation})${lastBound === null ? '' : ` · bound ${fmtNumber(lastBound)}`}`,
      x,
      y: {kind: 'linear', label: 'local rank', min: 0}, // a count: anchored at 0, so a fall is drawn to scale
      marks,
    });
  }
  if (panels.length === 0) return null;
  const hasLoss = trainLoss.length > 0 || testLoss.length > 0;
  if (hasLoss) {
    panels.push({
      title: 'Training loss (same epoch axis)',
      x,
      y: {kind: 'linear', label: 'loss'},
      marks: [
        {type: 'line', points: trainLoss, color: TRAIN_COLOR},
        {type: 'line', points: testLoss, color: TEST_COLOR, dash: DASH},
      ],
    });
  }
  const titleParams = group.params === '' ? '' : ` [${group.params}]`;
  return {
    file,
    title: `Local rank per layer against epoch${titleParams}`,
    svg: renderFigure({
      title: `Local rank per layer${hasLoss ? ' with the training loss' : ''}`,
      subtitle: [LOCAL_RANK, paramsText(group.params), `subset ${group.subset}`].filter((t) => t !== '').join(' · '),
      panels,
      columns: 1,
      panelHeight: 200,
      legend: [
        {label: 'mean local rank over evaluation points', color: '#444444', marker: true},
        {label: 'min–max over points (band)', color: '#bbbbbb'},
        {label: 'upper bound', color: '#444444', dash: DASH},
        ...(hasLoss
          ? [
              {label: 'train loss', color: TRAIN_COLOR},
              {label: 'test loss', color: TEST_COLOR, dash: DASH},
            ]
          : []),
      ],
    }),
    caption:
      'Local rank is the number of singular values of the Jacobian of a layer\'s representation with respect to the input above the tolerance, i.e. the dimension of the representation manifold around an input. ' +
      'Each upper panel shows one layer: the line is the mean over the evaluation points at each snapshot epoch, the shaded band spans the smallest to the largest per-point rank, and the dashed line is the largest rank the layer can have (named in the panel title; not drawn when it is far above the measured ranks). ' +
      (hasLoss ? `The bottom panel is the training (solid) and test (dashed) loss on the same epoch axis (${epochAxisText(input.epochAxis)}), so a fall of the local rank after the loss has plateaued - the late compression phase - lines up vertically.` : `${epochAxisText(input.epochAxis)}.`),
  };
}

/** Plain number for titles: integers as is, otherwise 4 significant digits. */
function fmtNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

const QUANTITY_NAMES: Record<string, string> = {H: 'H(T)', I_TY: 'I(T;Y)', I_XT: 'I(X;T)'};

/** Axis name of a group's quantity: the quantity's symbol, or the estimator's name for plain values. */
function quantityName(g: MetricGroup): string {
  return QUANTITY_NAMES[g.quantity] ?? (g.quantity === 'value' ? ESTIMATOR_NAMES[g.estimator] ?? g.estimator : g.quantity);
}

function layerEpochFigure(
  input: ReportInput,
  groups: readonly MetricGroup[],
  file: string,
  title: string,
  caption: string,
): ReportFigure | null {
  const panels: PanelSpec[] = [];
  for (const g of groups) {
    const marks: Mark[] = [];
    for (const layer of input.layers) {
      const pts = layerSeries(g.rows, layer.index);
      if (pts.length === 0) continue;
      const c = layerColor(input.layers, layer);
      marks.push({type: 'line', points: pts.map((p) => [p.epoch, p.value] as Point), color: c});
      marks.push({type: 'scatter', points: pts.map((p) => ({x: p.epoch, y: p.value, fill: c})), radius: 2.2});
    }
    if (marks.length === 0) continue;
    const q = g.quantity === 'value' ? '' : `: ${quantityName(g)}`;
    const p = paramsText(g.params);
    panels.push({
      title: `${ESTIMATOR_NAMES[g.estimator] ?? g.estimator}${q}${p ? ` (${p})` : ''}`,
      x: {...epochAxis(input.epochAxis), share: 'epoch'},
      y: {kind: 'linear', label: `${quantityName(g)}${unitLabel(g.unit)}`},
      marks,
    });
  }
  if (panels.length === 0) return null;
  const present = [...new Set(groups.map((g) => g.estimator))];
  return {
    file,
    title,
    svg: renderFigure({
      title,
      subtitle: `${present.map((e) => groupLabel({estimator: e, params: groups.find((g) => g.estimator === e)!.params})).join(' · ')} · subset ${groups[0].subset} · one line per layer`,
      panels,
      columns: Math.min(3, panels.length),
      panelHeight: 270,
      legend: layerLegend(input.layers, true),
    }),
    caption: `${caption} Estimators: ${present.map((e) => (ESTIMATOR_NAMES[e] ? `${e} = ${ESTIMATOR_NAMES[e]}` : e)).join('; ')}. Panel titles give the estimator, the quantity and the parameters; ${epochAxisText(input.epochAxis)}.`,
  };
}

function entropyFigure(input: ReportInput): ReportFigure | null {
  return layerEpochFigure(
    input,
    metricGroups(input.metrics, ENTROPY_ESTIMATORS, (r) => r.layerIndex >= 0),
    'entropies.svg',
    'Representation entropies against epoch',
    'Entropy of each layer\'s representation H(T), and information about the label I(T;Y) where the estimator has an MI form, at the snapshot epochs, one line per layer. ' +
      'A falling entropy means the representation concentrates (fewer effective states or directions); a rising I(T;Y) means the classes separate. ' +
      'Values of different estimators are not comparable with each other, only their trends are.',
  );
}

function spectrumFigure(input: ReportInput): ReportFigure | null {
  return layerEpochFigure(
    input,
    metricGroups(input.metrics, SPECTRUM_ESTIMATORS, (r) => r.layerIndex >= 0),
    'spectra.svg',
    'Representation spectra against epoch',
    'Statistics of the eigenvalue spectrum of each layer\'s representation covariance at the snapshot epochs, one line per layer. ' +
      'Effective rank, RankMe and participation ratio count how many directions carry variance (falling = dimensional collapse); the α-ReQ exponent is the decay rate of the power-law fit to the spectrum (larger = faster decay, fewer directions).',
  );
}

const WEIGHT_FEATURE_NAMES: Record<string, string> = {
  l1: 'L1 norm',
  l2: 'L2 norm',
  trace: 'trace',
  spectral: 'spectral norm',
  code_sparsity: 'code sparsity',
  computational_sparsity: 'computational sparsity',
  mean_singular_value: 'mean singular value',
  var_singular_value: 'singular value variance',
  mean_w: 'mean weight',
  median_w: 'median weight',
  var_w: 'weight variance',
  mean_b: 'mean bias',
  median_b: 'median bias',
  var_b: 'bias variance',
};

function weightFeaturesFigure(input: ReportInput): ReportFigure | null {
  const order = (q: string): number => {
    const i = (WEIGHT_FEATURE_ORDER as readonly string[]).indexOf(q);
    return i < 0 ? WEIGHT_FEATURE_ORDER.length : i;
  };
  const groups = metricGroups(input.metrics, [WEIGHT_FEATURES], (r) => r.layerIndex === -1);
  // One panel per quantity: the first params set (natural order) wins.
  const seen = new Set<string>();
  const kept = groups.filter((g) => (seen.has(g.quantity) ? false : (seen.add(g.quantity), true)));
  kept.sort((a, b) => order(a.quantity) - order(b.quantity));
  const panels: PanelSpec[] = [];
  for (const g of kept) {
    const pts = layerSeries(g.rows, -1);
    if (pts.length === 0) continue;
    panels.push({
      title: WEIGHT_FEATURE_NAMES[g.quantity] ?? g.quantity,
      x: {...epochAxis(input.epochAxis), share: 'epoch'},
      y: {kind: 'linear', label: `${g.quantity}${unitLabel(g.unit)}`},
      marks: [
        {type: 'line', points: pts.map((p) => [p.epoch, p.value] as Point), color: TRAIN_COLOR},
        {type: 'scatter', points: pts.map((p) => ({x: p.epoch, y: p.value, fill: TRAIN_COLOR})), radius: 2},
      ],
    });
  }
  if (panels.length === 0) return null;
  const params = [...new Set(kept.map((g) => g.params))].filter((p) => p !== '');
  return {
    file: 'weight-features.svg',
    title: 'Weight features of the whole network against epoch',
    svg: renderFigure({
      title: 'Weight features of the whole network',
      subtitle: [WEIGHT_FEATURES, ...params.map(paramsText), 'y axes independent'].join(' · '),
      panels,
      columns: Math.min(4, panels.length),
      panelHeight: 210,
    }),
    caption:
      `Network-level features of the weights at the snapshot epochs, one small panel each (${epochAxisText(input.epochAxis)}; y axes independent): norms (L1, L2, trace, spectral), sparsities, the mean and variance of the singular values, and statistics of all weights (w) and biases (b). ` +
      'Steadily growing norms indicate continued fitting; a late flattening or shrinking of the norms with growing sparsity often accompanies the compression phase.',
  };
}

/** All figures of a run, in report order. Figures without data are omitted. */
export function buildFigures(input: ReportInput): ReportFigure[] {
  const mi = miGroups(input.metrics);
  const byEstimator = groupsByEstimator(mi);
  const tops = input.shareEstimatorAxes ? miAxisTops(input, mi) : null;
  const out: (ReportFigure | null)[] = [
    ...byEstimator.map((g) => miFigure(input, g, tops)),
    trainingFigure(input),
    gradientFigure(input),
    activationFigure(input),
    ...localRankGroups(input.metrics).map((g, i, all) => localRankFigure(input, g, all.length === 1 ? 'local-rank.svg' : `local-rank-${slug(g.params) || i}.svg`)),
    entropyFigure(input),
    spectrumFigure(input),
    weightFeaturesFigure(input),
    ...beyondFigures(input),
  ];
  return out.filter((f): f is ReportFigure => f !== null);
}
