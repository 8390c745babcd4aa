/**
 * Report figures of spec section 13 (beyond the information plane), built with the SVG toolkit:
 * CKA heatmaps, sharpness with the 2/lr line, weight-spectrum alpha per layer, neural collapse
 * NC1-NC4, and the per-example data map. Kept apart from figures.ts so styling changes there and
 * here stay independent. Pure: tidy rows in, SVG out.
 */
import type {LayerInfo} from '../types.js';
import {groupLabel, layerSeries, metricGroups, trainingSeries, type MetricGroup} from './analysis.js';
import {checkLine, collapseChecks, collapseSeries, eosChecks, sharpnessRatios, EOS_LATE_RANGE} from './study-checks.js';
import {qualitativeColor, renderFigure, viridis, type Mark, type PanelSpec, type Point} from './svg.js';
import type {ExampleTable, ReportFigure, ReportInput} from './types.js';

const LINE = '#1f77b4';
const GUIDE = '#d62728';
const GREY = '#777777';
const DASH = '6 3';

const label = (l: LayerInfo) => (l.kind === 'output' ? 'out' : `L${l.index}`);
const layerColor = (layers: readonly LayerInfo[], l: LayerInfo) => qualitativeColor(layers.indexOf(l));
const pts = (s: {epoch: number; value: number}[]): Point[] => s.map((p) => [p.epoch, p.value] as Point);

/** Boundaries of heatmap cells around sorted positions in log10(epoch + 1) space (epoch axis). */
function epochCells(epochs: number[]): [number, number][] {
  const t = epochs.map((e) => Math.log10(e + 1));
  const mid = (a: number, b: number) => 10 ** ((a + b) / 2) - 1;
  return epochs.map((_, i) => {
    const lo = i > 0 ? mid(t[i - 1], t[i]) : Math.max(0, 10 ** (t[0] - (t.length > 1 ? (t[1] - t[0]) / 2 : 0.1)) - 1);
    const hi = i + 1 < t.length ? mid(t[i], t[i + 1]) : 10 ** (t[i] + (t.length > 1 ? (t[i] - t[i - 1]) / 2 : 0.1)) - 1;
    return [lo, hi];
  });
}

/** A filled rectangle [x0, x1] x [y0, y1] as an opaque area mark. */
function cell(x0: number, x1: number, y0: number, y1: number, color: string): Mark {
  return {type: 'area', points: [{x: x0, lo: y0, hi: y1}, {x: x1, lo: y0, hi: y1}], color, opacity: 1};
}

function ckaFigure(input: ReportInput): ReportFigure | null {
  const groups = metricGroups(input.metrics, ['sim.cka'], (r) => r.layerIndex >= 0);
  const toFinal = groups.find((g) => g.quantity === 'to_final');
  if (!toFinal) return null;
  const same = (g: MetricGroup) => g.params === toFinal.params && g.subset === toFinal.subset;
  const layers = input.layers.filter((l) => toFinal.rows.some((r) => r.layerIndex === l.index));
  const epochs = [...new Set(toFinal.rows.map((r) => r.epoch))].sort((a, b) => a - b);
  const cells = epochCells(epochs);
  const color = (v: number) => (Number.isFinite(v) ? viridis(Math.min(1, Math.max(0, v))) : '#dddddd');
  const heat: Mark[] = [];
  layers.forEach((l, li) => {
    const byEpoch = new Map(toFinal.rows.filter((r) => r.layerIndex === l.index).map((r) => [r.epoch, r.value]));
    epochs.forEach((e, k) => {
      if (byEpoch.has(e)) heat.push(cell(cells[k][0], cells[k][1], li + 0.5, li + 1.5, color(byEpoch.get(e)!)));
    });
  });
  const panels: PanelSpec[] = [
    {title: `to_final: CKA with the same layer at epoch ${epochs[epochs.length - 1]}`, x: {kind: 'epoch', label: 'epoch (log scale)', min: cells[0][0], max: cells[cells.length - 1][1]}, y: {kind: 'linear', label: `layer (1 = ${label(layers[0])} … ${layers.length} = ${label(layers[layers.length - 1])})`, min: 0.5, max: layers.length + 0.5}, marks: heat},
  ];
  const vs = groups.filter((g) => same(g) && g.quantity.startsWith('vs_'));
  if (vs.length) {
    const marks: Mark[] = [];
    layers.forEach((row, i) => {
      layers.forEach((col, j) => {
        const r = vs.find((g) => g.quantity === `vs_${col.name}`)?.rows.find((x) => x.layerIndex === row.index);
        if (r) marks.push(cell(j + 0.5, j + 1.5, i + 0.5, i + 1.5, color(r.value)));
      });
    });
    panels.push({title: `layer × layer at epoch ${epochs[epochs.length - 1]}`, x: {kind: 'linear', label: 'layer', min: 0.5, max: layers.length + 0.5}, y: {kind: 'linear', label: 'layer', min: 0.5, max: layers.length + 0.5}, marks});
  }
  const title = `Representation similarity (${groupLabel(toFinal)}, subset ${toFinal.subset})`;
  return {
    file: 'cka.svg',
    title,
    svg: renderFigure({title, panels, columns: 2, panelWidth: 420, panelHeight: 300, colorBar: {label: 'CKA', kind: 'linear', min: 0, max: 1, colormap: viridis}}),
    caption:
      'Centred kernel alignment (spec 13.1; 1 = the same representation up to rotation, shift and scale). Left: each row is a layer (numbered in network order: ' +
      layers.map((l, i) => `${i + 1} = ${label(l)} ${l.name}`).join(', ') +
      '), each column a snapshot epoch (log10(epoch+1) axis); the colour is the CKA with the same layer at the last snapshot, so a layer turns yellow when its representation has settled. Layers that settle early (usually the first) freeze before the later ones. ' +
      (vs.length ? 'Right: CKA between every pair of layers at the last snapshot (symmetric; the diagonal is 1).' : ''),
  };
}

function sharpnessFigure(input: ReportInput): ReportFigure | null {
  const rows = input.metrics.filter((r) => r.estimator === 'curv.hessian');
  const groups = metricGroups(rows, ['curv.hessian']);
  const lam = groups.find((g) => g.quantity === 'lambda_max');
  if (!lam) return null;
  const mine = (q: string) => groups.find((g) => g.quantity === q && g.params === lam.params && g.subset === lam.subset);
  const top = layerSeries(lam.rows, -1);
  const two = mine('two_over_lr');
  const panels: PanelSpec[] = [];
  const marks: Mark[] = [
    {type: 'line', points: pts(top), color: LINE, width: 2},
    {type: 'scatter', points: top.map((p) => ({x: p.epoch, y: p.value, fill: LINE})), radius: 2.2},
  ];
  for (const l of input.layers) {
    const s = layerSeries(lam.rows, l.index);
    if (s.length) marks.push({type: 'line', points: pts(s), color: layerColor(input.layers, l), width: 1.1, opacity: 0.8});
  }
  if (two) marks.push({type: 'line', points: pts(layerSeries(two.rows, -1)), color: GUIDE, dash: DASH, width: 1.6});
  panels.push({title: 'sharpness lambda_max and 2/lr', x: {kind: 'linear', label: 'epoch', min: 0}, y: {kind: 'linear', label: 'top Hessian eigenvalue', min: 0}, marks});
  const ratios = sharpnessRatios(input.metrics);
  if (ratios.length) {
    const last = ratios[ratios.length - 1].epoch;
    const hline = (y: number): Mark => ({type: 'line', points: [[0, y], [last, y]], color: GREY, dash: DASH, width: 1});
    panels.push({
      title: 'lambda_max / (2/lr)',
      x: {kind: 'linear', label: 'epoch', min: 0},
      y: {kind: 'linear', label: 'ratio', min: 0},
      marks: [hline(1), hline(EOS_LATE_RANGE[0]), hline(EOS_LATE_RANGE[1]), {type: 'line', points: ratios.map((p) => [p.epoch, p.ratio] as Point), color: LINE, width: 2}],
      vlines: [{x: (2 / 3) * last, color: GREY, dash: '2 3', label: 'last third'}],
    });
  }
  const tr = mine('trace');
  const se = mine('trace_se');
  if (tr) {
    const t = layerSeries(tr.rows, -1);
    const s = new Map(se ? layerSeries(se.rows, -1).map((p) => [p.epoch, p.value]) : []);
    panels.push({
      title: 'Hessian trace (Hutchinson ± 2 SE)',
      x: {kind: 'linear', label: 'epoch', min: 0},
      y: {kind: 'linear', label: 'trace'},
      marks: [{type: 'area', points: t.map((p) => ({x: p.epoch, lo: p.value - 2 * (s.get(p.epoch) ?? 0), hi: p.value + 2 * (s.get(p.epoch) ?? 0)})), color: LINE}, {type: 'line', points: pts(t), color: LINE}],
    });
  }
  const loss = trainingSeries(input.training, 'train_loss');
  if (loss.length) panels.push({title: 'training loss', x: {kind: 'linear', label: 'epoch', min: 0}, y: {kind: 'log', label: 'train loss'}, marks: [{type: 'line', points: pts(loss), color: GREY}]});
  const checks = eosChecks(input.metrics);
  const title = `Sharpness (${groupLabel(lam)}, ${lam.rows[0]?.n ?? '?'} training rows)`;
  return {
    file: 'sharpness.svg',
    title,
    svg: renderFigure({
      title,
      panels,
      columns: 2,
      panelWidth: 420,
      panelHeight: 250,
      legend: [
        {label: 'lambda_max (whole network)', color: LINE, marker: true},
        ...input.layers.filter((l) => layerSeries(lam.rows, l.index).length).map((l) => ({label: `${label(l)} block`, color: layerColor(input.layers, l)})),
        ...(two ? [{label: '2 / lr (edge of stability)', color: GUIDE, dash: DASH}] : []),
      ],
    }),
    caption:
      'Top eigenvalue of the Hessian of the training loss (mean cross-entropy, penalties excluded; Lanczos on exact Hessian-vector products, spec 13.2) at each snapshot, on a linear epoch axis. ' +
      'For gradient descent without momentum at learning rate lr, a quadratic is stable only while lambda_max < 2/lr: Cohen et al. (2021) found that full-batch training drives the sharpness up to that line and then hovers there (the edge of stability) while the loss keeps falling non-monotonically. ' +
      'With momentum or Adam the stability threshold is different, so the 2/lr line is only a reference. Thin lines are the top eigenvalues of each layer\'s own diagonal block (when measured). ' +
      (checks.length ? `Checks of configs/edge-of-stability.yaml: ${checks.map(checkLine).join(' ')}` : ''),
  };
}

function alphaFigure(input: ReportInput): ReportFigure | null {
  const groups = metricGroups(input.metrics, ['weights.esd']);
  const panels: PanelSpec[] = [];
  for (const q of ['alpha', 'alpha_weighted'] as const) {
    const g = groups.find((x) => x.quantity === q);
    if (!g) continue;
    const marks: Mark[] = [];
    for (const l of input.layers) {
      const s = layerSeries(g.rows, l.index);
      if (!s.length) continue;
      const c = layerColor(input.layers, l);
      marks.push({type: 'line', points: pts(s), color: c}, {type: 'scatter', points: s.map((p) => ({x: p.epoch, y: p.value, fill: c})), radius: 2});
    }
    const net = layerSeries(g.rows, -1);
    if (net.length) marks.push({type: 'line', points: pts(net), color: '#000000', dash: DASH, width: 1.4});
    if (marks.length) panels.push({title: q === 'alpha' ? 'power-law exponent alpha' : 'alpha x log10(lambda_max)', x: {kind: 'epoch', label: 'epoch (log scale)'}, y: {kind: 'linear', label: q}, marks});
  }
  if (panels.length === 0) return null;
  const fitted = input.layers.filter((l) => groups.some((g) => g.quantity === 'alpha' && layerSeries(g.rows, l.index).length));
  return {
    file: 'weight-alpha.svg',
    title: 'Heavy-tailed weight spectra per layer',
    svg: renderFigure({
      title: 'Weight-matrix spectra: power-law alpha per layer (weights.esd)',
      panels,
      columns: 2,
      panelWidth: 400,
      panelHeight: 250,
      legend: [...fitted.map((l) => ({label: `${label(l)} ${l.name}`, color: layerColor(input.layers, l), marker: true})), {label: 'network mean', color: '#000000', dash: DASH}],
    }),
    caption:
      'Exponent alpha of a power law fitted to the tail of the eigenvalues of W^T W / N of each weight matrix (Clauset et al. MLE with the KS-optimal xmin, as WeightWatcher; spec 13.3), at the snapshot epochs. ' +
      'Random initialisation gives a Marchenko-Pastur bulk (large alpha, poor power-law fit); training grows a heavy tail and alpha falls, with alpha between 2 and 4 typical of well-trained layers. Matrices with fewer than 20 eigenvalues are not fitted and have no line.',
  };
}

function collapseFigure(input: ReportInput): ReportFigure | null {
  const nc1 = collapseSeries(input.metrics, 'NC1');
  if (nc1.length === 0) return null;
  const panel = (title: string, series: [string, {epoch: number; value: number}[], string][], log: boolean): PanelSpec => ({
    title,
    x: {kind: 'epoch', label: 'epoch (log scale)'},
    y: {kind: log ? 'log' : 'linear', label: title.split(':')[0], ...(log ? {} : {min: 0})},
    marks: series.flatMap(([, s, c]) => [{type: 'line', points: pts(s), color: c} as Mark, {type: 'scatter', points: s.filter((p) => !log || p.value > 0).map((p) => ({x: p.epoch, y: p.value, fill: c})), radius: 2} as Mark]),
  });
  const acc = trainingSeries(input.training, 'train_acc').find((p) => p.value >= 1);
  const vlines = acc ? [{x: acc.epoch, color: GREY, dash: '2 3', label: 'train acc 1'}] : [];
  const panels = [
    panel('NC1: within-class variability', [['NC1', nc1, LINE]], true),
    panel('NC2: equinorm and equiangularity', [['NC2_norm', collapseSeries(input.metrics, 'NC2_norm'), LINE], ['NC2_angle', collapseSeries(input.metrics, 'NC2_angle'), GUIDE]], true),
    panel('NC3: classifier vs class means', [['NC3', collapseSeries(input.metrics, 'NC3'), LINE]], true),
    panel('NC4: nearest-mean mismatch', [['NC4', collapseSeries(input.metrics, 'NC4'), LINE]], false),
  ].filter((p) => p.marks.some((m) => m.type === 'line' && m.points.length > 0)).map((p) => ({...p, vlines}));
  const checks = collapseChecks(input.metrics, input.training);
  return {
    file: 'neural-collapse.svg',
    title: 'Neural collapse of the last hidden layer',
    svg: renderFigure({
      title: 'Neural collapse of the last hidden layer (nc.collapse)',
      panels,
      columns: 2,
      panelWidth: 400,
      panelHeight: 240,
      legend: [{label: 'NC1 / NC2_norm / NC3 / NC4', color: LINE, marker: true}, {label: 'NC2_angle', color: GUIDE, marker: true}],
    }),
    caption:
      'Papyan, Han & Donoho (2020), spec 13.4, at the snapshot epochs (log10(epoch+1) axis; NC1-NC3 on log axes, NC4 linear since it reaches 0). NC1 = tr(Sigma_W Sigma_B^+)/K falls as features collapse to their class means; NC2 measures how far the centred class means are from equal norms and equal angles (a simplex); NC3 the distance between the normalised classifier and class-mean matrices; NC4 the fraction of rows where the nearest class mean disagrees with the classifier. ' +
      'The dotted line marks the first epoch with training accuracy 1: collapse proceeds in the terminal phase after it. ' +
      (checks.length ? `Checks of configs/collapse.yaml: ${checks.map(checkLine).join(' ')}` : ''),
  };
}

/** Most-forgotten rows: by forgetting events, then variability, then sample id. */
export function mostForgotten(ex: ExampleTable, k: number): number[] {
  const idx = Array.from({length: ex.sample.length}, (_, i) => i).filter((i) => ex.forgetting[i] > 0);
  idx.sort((a, b) => ex.forgetting[b] - ex.forgetting[a] || ex.variability[b] - ex.variability[a] || ex.sample[a] - ex.sample[b]);
  return idx.slice(0, k);
}

/** At most this many points in the data map (every k-th row beyond it). */
const MAP_POINTS = 4000;

function dataMapFigure(input: ReportInput): ReportFigure | null {
  const ex = input.examples;
  if (!ex || ex.sample.length === 0) return null;
  const n = ex.sample.length;
  const step = Math.max(1, Math.ceil(n / MAP_POINTS));
  const points: {x: number; y: number; fill: string}[] = [];
  for (let i = 0; i < n; i += step) points.push({x: ex.variability[i], y: ex.confidence[i], fill: viridis(ex.correctness[i])});
  const panels: PanelSpec[] = [
    {title: 'data map', x: {kind: 'linear', label: 'variability (std of p(true label))', min: 0}, y: {kind: 'linear', label: 'confidence (mean p(true label))', min: 0, max: 1}, marks: [{type: 'scatter', points, radius: 2.2}]},
  ];
  const top = mostForgotten(ex, 12);
  if (top.length) {
    panels.push({
      title: 'most-forgotten examples',
      x: {kind: 'linear', label: 'rank', min: 0.5, max: top.length + 0.5},
      y: {kind: 'linear', label: 'forgetting events', min: 0},
      marks: [
        {type: 'scatter', points: top.map((i, r) => ({x: r + 1, y: ex.forgetting[i], fill: viridis(ex.correctness[i])})), radius: 4},
        ...top.map((i, r): Mark => ({type: 'label', x: r + 1, y: ex.forgetting[i], text: `#${ex.sample[i]} (y=${ex.label[i]})`, color: '#333333'})),
      ],
    });
  }
  let forgotten = 0;
  let never = 0;
  for (let i = 0; i < n; i++) {
    if (ex.forgetting[i] > 0) forgotten++;
    if (ex.firstLearned[i] < 0) never++;
  }
  const list = top.map((i) => `#${ex.sample[i]} (label ${ex.label[i]}, ${ex.forgetting[i]} forgetting events, ${ex.firstLearned[i] < 0 ? 'not learned at the end' : `learned for good at epoch ${ex.firstLearned[i]}`})`).join('; ');
  return {
    file: 'data-map.svg',
    title: 'Data map and forgetting events of the training rows',
    svg: renderFigure({title: `Data map of ${n} training rows (dynamics.examples)`, panels, columns: 2, panelWidth: 420, panelHeight: 300, colorBar: {label: 'correctness', kind: 'linear', min: 0, max: 1, colormap: viridis}}),
    caption:
      'Dataset cartography (Swayamdipta et al. 2020; spec 13.5) from the evaluation after every training epoch: each dot is a training row at (variability, confidence) of the probability given to its true label, coloured by the fraction of epochs it was classified correctly. ' +
      'Easy-to-learn rows sit top left, hard-to-learn (often mislabelled) rows bottom left, ambiguous rows to the right. A forgetting event (Toneva et al. 2019) is a correct-to-incorrect change between consecutive epochs: ' +
      `${forgotten} of ${n} rows were forgotten at least once, ${never} are misclassified at the last epoch. ` +
      (list ? `Most forgotten: ${list}. The full table is dynamics/examples.arrow.` : 'No row was ever forgotten.'),
  };
}

/** Section 13 figures of a run, in report order; figures without data are omitted. */
export function beyondFigures(input: ReportInput): ReportFigure[] {
  return [ckaFigure(input), sharpnessFigure(input), alphaFigure(input), collapseFigure(input), dataMapFigure(input)].filter((f): f is ReportFigure => f !== null);
}
