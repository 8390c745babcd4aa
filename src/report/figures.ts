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
import {renderFigure, qualitativeColor, viridis, type LegendItem, type Mark, type PanelSpec, type Point} from './svg.js';
import type {ReportFigure, ReportInput} from './types.js';

const TRAIN_COLOR = '#1f77b4';
const TEST_COLOR = '#d62728';
const MARKER_COLOR = '#555555';
const DASH = '6 3';

/** Short on-plot label of a layer: L1..L<n> for hidden layers, "out" for the output layer. */
export function layerShortLabel(layer: LayerInfo): string {
  return layer.kind === 'output' ? 'out' : `L${layer.index}`;
}

/** Colour of a layer by its position in the run's layer list. */
function layerColor(layers: readonly LayerInfo[], layer: LayerInfo): string {
  return qualitativeColor(layers.indexOf(layer));
}

function layerLegend(layers: readonly LayerInfo[], marker = false): LegendItem[] {
  return layers.map((l) => ({
    label: `${layerShortLabel(l)} ${l.name} (${l.width}, ${l.activation})`,
    color: layerColor(layers, l),
    marker,
  }));
}

/** File-name-safe form of an estimator name (`mi.bin` stays `mi.bin`). */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-');
}

/** How to read values of a known MI estimator; generic text otherwise. */
export function estimatorDescription(estimator: string): string {
  const name = estimator.slice(estimator.indexOf('.') + 1).toLowerCase();
  if (name.startsWith('bin')) {
    return 'Binning discretises each unit\'s activation and measures the entropy of the discretised representation, so I(X;T) = H(T) is capped at log2 N for N samples (points near the cap are saturated, not informative) and depends on the bin size.';
  }
  if (name.startsWith('kde')) {
    return 'The KDE estimator (Kolchinsky-Tracey pairwise-distance bound) treats T as the activations plus Gaussian noise of a fixed variance; values depend on that noise level and are upper bounds.';
  }
  if (name.startsWith('knn') || name.startsWith('ksg') || name.startsWith('kraskov')) {
    return 'The k-nearest-neighbour (Kraskov) estimator measures MI of the continuous activations from neighbour distances; it has no hard ceiling but is biased in high dimension.';
  }
  if (name.startsWith('gauss')) {
    return 'The Gaussian estimator fits a Gaussian to the activations (plus noise) and reports its closed-form MI; it only sees second-order statistics.';
  }
  return `Values as computed by the ${estimator} estimator.`;
}

/** First and last snapshot epoch (else metric epochs), for the epoch colour scale. */
function epochRange(input: ReportInput): [number, number] {
  const epochs = input.snapshotEpochs.length ? input.snapshotEpochs : input.metrics.map((r) => r.epoch);
  if (epochs.length === 0) return [0, Math.max(1, input.epochs)];
  return [Math.min(...epochs), Math.max(...epochs)];
}

function epochColor(range: [number, number]): (epoch: number) => string {
  const lo = Math.log10(range[0] + 1);
  const hi = Math.log10(range[1] + 1);
  return (e) => viridis(hi > lo ? (Math.log10(e + 1) - lo) / (hi - lo) : 1);
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

function panelTitle(g: MiGroup): string {
  return `${groupLabel(g)} · subset ${g.subset}`;
}

// ---------------------------------------------------------------------------------------------

function infoPlaneFigure(input: ReportInput, groups: readonly MiGroup[]): ReportFigure {
  const range = epochRange(input);
  const color = epochColor(range);
  const estimator = groups[0].estimator;
  const panels: PanelSpec[] = groups.map((g) => {
    const marks: Mark[] = [];
    const labels: Mark[] = [];
    for (const layer of input.layers) {
      const pts = miTrajectory(g, layer.index).filter((p) => p.ixt !== null && p.ity !== null);
      if (pts.length === 0) continue;
      const c = layerColor(input.layers, layer);
      marks.push({type: 'line', points: pts.map((p) => [p.ixt as number, p.ity as number] as Point), color: c, width: 1.8, opacity: 0.85});
      marks.push({type: 'scatter', points: pts.map((p) => ({x: p.ixt as number, y: p.ity as number, fill: color(p.epoch)})), radius: 3.6, stroke: c});
      const last = pts[pts.length - 1];
      labels.push({type: 'label', x: last.ixt as number, y: last.ity as number, text: layerShortLabel(layer), color: c});
    }
    return {
      title: panelTitle(g),
      x: {kind: 'linear', label: `I(X;T)${unitLabel(g.unit)}`},
      y: {kind: 'linear', label: `I(T;Y)${unitLabel(g.unit)}`},
      marks: [...marks, ...labels],
    };
  });
  return {
    file: `info-plane-${slug(estimator)}.svg`,
    title: `Information plane (${estimator})`,
    svg: renderFigure({
      title: `Information plane — ${estimator}`,
      panels,
      columns: Math.min(2, panels.length),
      panelWidth: 420,
      panelHeight: 340,
      legend: layerLegend(input.layers),
      colorBar: {label: 'epoch', kind: 'epoch', min: range[0], max: range[1], colormap: viridis},
    }),
    caption:
      `Each line is one layer's trajectory through the information plane over the snapshot epochs; point colour gives the epoch (log scale, see colour bar) and the label marks the final snapshot. ` +
      `Fitting moves a trajectory up (more information about the label); compression moves it left (less information about the input). ` +
      estimatorDescription(estimator),
  };
}

function miEpochFigure(input: ReportInput, groups: readonly MiGroup[]): ReportFigure {
  const estimator = groups[0].estimator;
  const panels: PanelSpec[] = [];
  for (const g of groups) {
    for (const [key, name] of [['ixt', 'I(X;T)'], ['ity', 'I(T;Y)']] as const) {
      const marks: Mark[] = [];
      for (const layer of input.layers) {
        const pts = miTrajectory(g, layer.index).filter((p) => p[key] !== null);
        if (pts.length === 0) continue;
        const c = layerColor(input.layers, layer);
        marks.push({type: 'line', points: pts.map((p) => [p.epoch, p[key] as number] as Point), color: c});
        marks.push({type: 'scatter', points: pts.map((p) => ({x: p.epoch, y: p[key] as number, fill: c})), radius: 2.2});
      }
      panels.push({
        title: `${name} · ${groupLabel(g)}`,
        x: {kind: 'epoch', label: 'epoch (log scale)'},
        y: {kind: 'linear', label: `${name}${unitLabel(g.unit)}`},
        marks,
      });
    }
  }
  return {
    file: `mi-vs-epoch-${slug(estimator)}.svg`,
    title: `I(X;T) and I(T;Y) against epoch (${estimator})`,
    svg: renderFigure({
      title: `Mutual information against epoch — ${estimator}`,
      panels,
      columns: 2,
      panelWidth: 400,
      panelHeight: 270,
      legend: layerLegend(input.layers, true),
    }),
    caption:
      'Left: information about the input, I(X;T); right: information about the label, I(T;Y), per layer at each snapshot epoch (epoch axis is log10(epoch+1), so epoch 0 is shown). ' +
      'A rise then fall of I(X;T) after I(T;Y) has saturated is the compression phase. ' +
      estimatorDescription(estimator),
  };
}

function trainingFigure(input: ReportInput): ReportFigure | null {
  const series = (q: string): Point[] => trainingSeries(input.training, q).map((p) => [p.epoch, p.value] as Point);
  const panel = (title: string, label: string, train: Point[], test: Point[]): PanelSpec => ({
    title,
    x: {kind: 'epoch', label: 'epoch (log scale)'},
    y: {kind: 'linear', label},
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
  if (trainLoss.length || testLoss.length) panels.push(panel('Loss', 'loss', trainLoss, testLoss));
  if (trainAcc.length || testAcc.length) panels.push(panel('Accuracy', 'accuracy', trainAcc, testAcc));
  if (panels.length === 0) return null;
  return {
    file: 'training-curves.svg',
    title: 'Training curves',
    svg: renderFigure({
      title: 'Training curves',
      panels,
      columns: 2,
      panelWidth: 400,
      panelHeight: 270,
      legend: [
        {label: 'train', color: TRAIN_COLOR},
        {label: 'test', color: TEST_COLOR, dash: DASH},
      ],
    }),
    caption: 'Loss and accuracy on the training set (solid) and the test set (dashed) at every epoch; the epoch axis is log10(epoch+1). A growing gap between the curves is overfitting.',
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
      title: `${layerShortLabel(layer)} ${layer.name}`,
      x: {kind: 'epoch', label: 'epoch (log scale)'},
      y: {kind: 'log', label: 'gradient norm'},
      marks: [
        {type: 'line', points: traj.map((p) => [p.epoch, p.mean] as Point), color: c},
        {type: 'line', points: traj.map((p) => [p.epoch, p.std] as Point), color: c, dash: DASH},
      ],
      vlines: crossing === null ? [] : [{x: crossing, color: MARKER_COLOR, dash: '2 3', label: `e* = ${crossing}`}],
    });
  }
  if (panels.length === 0) return null;
  return {
    file: 'gradients.svg',
    title: 'Gradient signal and noise per layer',
    svg: renderFigure({
      title: 'Gradient mean and standard deviation per layer',
      panels,
      columns: Math.min(3, panels.length),
      panelWidth: 300,
      panelHeight: 230,
      legend: [
        {label: 'norm of the mean gradient (drift)', color: '#333333'},
        {label: 'norm of the gradient std (diffusion)', color: '#333333', dash: DASH},
        {label: 'e*: drift-to-diffusion crossing', color: MARKER_COLOR, dash: '2 3'},
      ],
    }),
    caption:
      'Norm of the mini-batch gradient mean (solid) and of its standard deviation (dashed) per layer at the snapshot epochs, both axes logarithmic. ' +
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
    panels.push({title, x: {kind: 'epoch', label: 'epoch (log scale)'}, y: {kind: 'linear', label, min: 0}, marks});
  }
  if (panels.length === 0) return null;
  return {
    file: 'activations.svg',
    title: 'Dead and saturated units',
    svg: renderFigure({
      title: 'Dead and saturated units per layer',
      panels,
      columns: 2,
      panelWidth: 360,
      panelHeight: 240,
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
function sharedEpochAxis(lastEpoch: number): {kind: 'epoch'; label: string; min: number; max: number} {
  const span = Math.log10(Math.max(1, lastEpoch) + 1);
  return {kind: 'epoch', label: 'epoch (log scale)', min: 10 ** (-0.04 * span) - 1, max: 10 ** (1.04 * span) - 1};
}

/** A bound this many times above the largest measured rank is named in the title but not drawn. */
const BOUND_DRAW_FACTOR = 2;

function localRankFigure(input: ReportInput, group: {params: string; subset: string; rows: MetricRow[]}, file: string): ReportFigure | null {
  const trainLoss = trainingSeries(input.training, 'train_loss').map((p) => [p.epoch, p.value] as Point);
  const testLoss = trainingSeries(input.training, 'test_loss').map((p) => [p.epoch, p.value] as Point);
  const epochs = [input.epochs, ...group.rows.map((r) => r.epoch), ...trainLoss.map((p) => p[0]), ...testLoss.map((p) => p[0])];
  const x = sharedEpochAxis(Math.max(0, ...epochs.filter(Number.isFinite)));
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
      marks.push({type: 'line', points: constant ? [[x.min, lastBound], [x.max, lastBound]] : bounds, color: c, dash: DASH, width: 1.3});
    }
    marks.push({type: 'line', points: means.map((p) => [p.epoch, p.mean as number] as Point), color: c, width: 2});
    marks.push({type: 'scatter', points: means.map((p) => ({x: p.epoch, y: p.mean as number, fill: c})), radius: 2.6});
    panels.push({
      title: `${layerShortLabel(layer)} ${layer.name} (width ${layer.width}, ${layer.activation})${lastBound === null ? '' : ` · bound ${fmtNumber(lastBound)}`}`,
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
  const paramsText = group.params === '' ? '' : ` [${group.params}]`;
  return {
    file,
    title: `Local rank per layer against epoch${paramsText}`,
    svg: renderFigure({
      title: `Local rank per layer (${LOCAL_RANK}${paramsText}, subset ${group.subset})${hasLoss ? ' with the training loss' : ''}`,
      panels,
      columns: 1,
      panelWidth: 760,
      panelHeight: 190,
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
      (hasLoss ? 'The bottom panel is the training (solid) and test (dashed) loss on the same epoch axis (log10(epoch+1)), so a fall of the local rank after the loss has plateaued - the late compression phase - lines up vertically.' : 'The epoch axis is log10(epoch+1).'),
  };
}

/** Plain number for titles: integers as is, otherwise 4 significant digits. */
function fmtNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

const QUANTITY_NAMES: Record<string, string> = {H: 'H(T)', I_TY: 'I(T;Y)', I_XT: 'I(X;T)'};

const ESTIMATOR_NAMES: Record<string, string> = {
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
};

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
    const q = g.quantity === 'value' ? '' : ` · ${quantityName(g)}`;
    panels.push({
      title: `${groupLabel(g)}${q}`,
      x: {kind: 'epoch', label: 'epoch (log scale)'},
      y: {kind: 'linear', label: `${quantityName(g)}${unitLabel(g.unit)}`},
      marks,
    });
  }
  if (panels.length === 0) return null;
  const present = [...new Set(groups.map((g) => g.estimator))];
  return {
    file,
    title,
    svg: renderFigure({title, panels, columns: Math.min(3, panels.length), panelWidth: 340, panelHeight: 240, legend: layerLegend(input.layers, true)}),
    caption: `${caption} Estimators: ${present.map((e) => (ESTIMATOR_NAMES[e] ? `${e} = ${ESTIMATOR_NAMES[e]}` : e)).join('; ')}. Panel titles give the estimator, its parameters and the quantity; epoch axis is log10(epoch+1).`,
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
      x: {kind: 'epoch', label: 'epoch (log scale)'},
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
      title: `Weight features of the whole network (${WEIGHT_FEATURES}${params.length ? ` [${params.join(', ')}]` : ''})`,
      panels,
      columns: Math.min(5, panels.length),
      panelWidth: 250,
      panelHeight: 185,
    }),
    caption:
      'Network-level features of the weights at the snapshot epochs, one small panel each (epoch axis log10(epoch+1), y axes independent): norms (L1, L2, trace, spectral), sparsities, the mean and variance of the singular values, and statistics of all weights (w) and biases (b). ' +
      'Steadily growing norms indicate continued fitting; a late flattening or shrinking of the norms with growing sparsity often accompanies the compression phase.',
  };
}

/** All figures of a run, in report order. Figures without data are omitted. */
export function buildFigures(input: ReportInput): ReportFigure[] {
  const byEstimator = groupsByEstimator(miGroups(input.metrics));
  const out: (ReportFigure | null)[] = [
    ...byEstimator.map((g) => infoPlaneFigure(input, g)),
    ...byEstimator.map((g) => miEpochFigure(input, g)),
    trainingFigure(input),
    gradientFigure(input),
    activationFigure(input),
    ...localRankGroups(input.metrics).map((g, i, all) => localRankFigure(input, g, all.length === 1 ? 'local-rank.svg' : `local-rank-${slug(g.params) || i}.svg`)),
    entropyFigure(input),
    spectrumFigure(input),
    weightFeaturesFigure(input),
  ];
  return out.filter((f): f is ReportFigure => f !== null);
}
