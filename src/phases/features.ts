/**
 * Feature names for `tdlab phases` and their extraction from a run's tidy tables.
 *
 * Grammar (one feature = one HMM input column):
 *   <estimator>[<params>]:<quantity>[:<layer>] a metrics.arrow value, e.g. mi.bin:I_XT:h5,
 *                                              mi.kde[noiseVariance=0.001]:I_XT:3, sim.cka:to_final:h2;
 *                                              without a layer, a network-level value
 *                                              (curv.hessian:lambda_max, weights.esd:alpha)
 *   train:<quantity>[:<layer>]                 a training.arrow value, e.g. train:train_loss,
 *                                              train:grad_snr:h3, train:weight_norm:h1
 *   <layer> is a layer name (h1, out), a layer index (1 = first hidden layer) or `*` (every
 *   layer, expanded in layer order). `[params]` is only needed when the estimator was run with
 *   several parameter sets; it lists key=value pairs separated by `;` that the stored parameter
 *   string must contain. Metric values come from subset `all` when present.
 */
import type {MetricRow, TrainingRow} from '../types.js';

export interface FeatureSpec {
  /** The text the user gave (after `*` expansion: with the layer filled in). */
  name: string;
  source: 'metric' | 'train';
  estimator: string;
  /** Required key=value pairs (empty: any single parameter set). */
  params: string[];
  quantity: string;
  /** Layer name or index text; '' for epoch-level training quantities; '*' before expansion. */
  layer: string;
}

/** Splits on `sep` outside square brackets. */
function splitOutside(s: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of s) {
    if (c === '[') depth++;
    else if (c === ']') depth = Math.max(0, depth - 1);
    if (c === sep && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** `a,b` lists (commas inside [...] are kept) from one or more flag values; blanks dropped. */
export function splitFeatureList(values: readonly string[]): string[] {
  return values.flatMap((v) => splitOutside(v, ',')).map((s) => s.trim()).filter((s) => s !== '');
}

export const FEATURE_GRAMMAR =
  '<estimator>[<k=v;...>]:<quantity>[:<layer>] (metrics, e.g. mi.bin:I_XT:h5, sim.cka:to_final:h2; no layer = network level, e.g. curv.hessian:lambda_max) or train:<quantity>[:<layer>] (training log, e.g. train:train_loss, train:grad_snr:h3); <layer> = name, index or *';

/** Parses one feature name; throws an Error with a user-facing message when malformed. */
export function parseFeature(text: string): FeatureSpec {
  const parts = splitOutside(text.trim(), ':');
  const bad = (why: string) => new Error(`feature "${text}": ${why}; expected ${FEATURE_GRAMMAR}`);
  if (parts[0] === 'train') {
    if (parts.length < 2 || parts.length > 3 || parts[1] === '') throw bad('training features are train:<quantity>[:<layer>]');
    return {name: text.trim(), source: 'train', estimator: 'train', params: [], quantity: parts[1], layer: parts[2] ?? ''};
  }
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) throw bad('metric features are <estimator>:<quantity>[:<layer>]');
  const m = /^([^[\]]+)(?:\[([^\]]*)\])?$/.exec(parts[0]);
  if (!m) throw bad(`cannot read the estimator part "${parts[0]}"`);
  const params = (m[2] ?? '').split(';').map((s) => s.trim()).filter((s) => s !== '');
  for (const p of params) if (!p.includes('=')) throw bad(`parameter "${p}" is not key=value`);
  return {name: text.trim(), source: 'metric', estimator: m[1], params, quantity: parts[1], layer: parts[2] ?? ''};
}

export interface LayerRef {
  index: number;
  name: string;
}

/** Replaces a `*` layer by one spec per layer (in the given order). */
export function expandFeature(spec: FeatureSpec, layers: readonly LayerRef[]): FeatureSpec[] {
  if (spec.layer !== '*') return [spec];
  return layers.map((l) => {
    const head = spec.source === 'train' ? 'train' : spec.params.length ? `${spec.estimator}[${spec.params.join(';')}]` : spec.estimator;
    return {...spec, layer: l.name, name: `${head}:${spec.quantity}:${l.name}`};
  });
}

function layerMatches(ref: string, row: {layer: string; layerIndex: number}): boolean {
  if (ref === '') return row.layerIndex === -1 || row.layer === '';
  return row.layer === ref || (/^-?\d+$/.test(ref) && row.layerIndex === Number(ref));
}

function paramsContain(params: string, required: readonly string[]): boolean {
  const have = new Set(params.split(';'));
  return required.every((p) => have.has(p));
}

/**
 * The series (epoch -> value) of one feature in one run, or a string saying why it is not there.
 * Metric rows come from the `all` subset when present (else the first subset seen).
 */
export function featureSeries(spec: FeatureSpec, metrics: readonly MetricRow[], training: readonly TrainingRow[]): Map<number, number> | string {
  const out = new Map<number, number>();
  if (spec.source === 'train') {
    const rows = training.filter((r) => r.quantity === spec.quantity && layerMatches(spec.layer, r));
    if (rows.length === 0) {
      const qs = [...new Set(training.map((r) => (r.layer ? `${r.quantity}:${r.layer}` : r.quantity)))].slice(0, 12);
      return `no training rows for ${spec.name} (training.arrow has e.g. ${qs.map((q) => `train:${q}`).join(', ')})`;
    }
    for (const r of rows) out.set(r.epoch, r.value);
    return out;
  }
  const byQuantity = metrics.filter((r) => r.estimator === spec.estimator && r.quantity === spec.quantity && layerMatches(spec.layer, r));
  if (byQuantity.length === 0) {
    const qs = [...new Set(metrics.map((r) => `${r.estimator}:${r.quantity}`))].slice(0, 12);
    return `no metric rows for ${spec.name} (metrics.arrow has ${qs.join(', ')} on layers ${[...new Set(metrics.map((r) => r.layer))].join(', ')})`;
  }
  const matching = byQuantity.filter((r) => paramsContain(r.params, spec.params));
  const paramSets = [...new Set(matching.map((r) => r.params))];
  if (paramSets.length === 0) return `${spec.name}: no parameter set contains ${spec.params.join(';')} (have ${[...new Set(byQuantity.map((r) => `[${r.params}]`))].join(', ')})`;
  if (paramSets.length > 1) {
    return `${spec.name}: ${paramSets.length} parameter sets match; name one, e.g. ${spec.estimator}[${paramSets[0]}]:${spec.quantity}:${spec.layer}`;
  }
  const subsets = new Set(matching.map((r) => r.subset));
  const subset = subsets.has('all') ? 'all' : matching[0].subset;
  for (const r of matching) if (r.subset === subset) out.set(r.epoch, r.value);
  return out;
}

export interface RunMatrix {
  /** Epochs (rows), ascending. */
  epochs: number[];
  /** rows x features, row-major, raw (not z-scored) values. */
  data: Float64Array;
}

/**
 * Rows = the epochs at which every feature has a value (ascending, at most `maxRows`, the first
 * ones); columns = features. Returns a reason string when a feature is missing or no epoch is shared.
 */
export function runMatrix(specs: readonly FeatureSpec[], metrics: readonly MetricRow[], training: readonly TrainingRow[], maxRows = Infinity): RunMatrix | string {
  const series: Map<number, number>[] = [];
  for (const s of specs) {
    const ser = featureSeries(s, metrics, training);
    if (typeof ser === 'string') return ser;
    series.push(ser);
  }
  let epochs = [...series[0].keys()];
  for (const s of series.slice(1)) epochs = epochs.filter((e) => s.has(e));
  epochs.sort((a, b) => a - b);
  if (epochs.length === 0) return 'the features share no epoch (computed on different schedules)';
  if (epochs.length > maxRows) epochs = epochs.slice(0, maxRows);
  const D = specs.length;
  const data = new Float64Array(epochs.length * D);
  epochs.forEach((e, t) => series.forEach((s, d) => (data[t * D + d] = s.get(e) as number)));
  return {epochs, data};
}
