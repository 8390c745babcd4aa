/**
 * Aggregation of the spec-13 metrics over seeds: per group, the mean and spread over seeds of
 * sharpness (and lambda_max / (2/lr)), the network-level weight alpha, NC1-NC4, CKA to_final per
 * layer and the per-example summaries; plus how many seeds pass each study check. Pure.
 */
import {layerSeries} from '../report/analysis.js';
import {qualitativeColor, renderFigure, type Mark, type PanelSpec, type Point} from '../report/svg.js';
import {sharpnessRatios, studyChecks} from '../report/study-checks.js';
import type {MetricRow} from '../types.js';
import {mean, sampleStd, seedStats, type AggregateRun, type GroupAggregate, type SeedStats, type Spread} from './build.js';

/** One aggregated series: a quantity of a metric on a layer (or the network, layer ''). */
export interface BeyondSeries {
  /** Short name, e.g. `curv.hessian:lambda_max`, `sim.cka:to_final:h2`. */
  name: string;
  estimator: string;
  quantity: string;
  layer: string;
  /** Mean and spread over seeds at every epoch some seed has. */
  trajectory: {epoch: number; spread: Spread}[];
  /** Value at each seed's last epoch. */
  final: SeedStats;
}

export interface BeyondGroup {
  label: string;
  series: BeyondSeries[];
  /** Per check id: seeds passing / failing / n/a, and the checked statistic over seeds. */
  checks: {id: string; description: string; pass: number; fail: number; na: number; value: SeedStats}[];
}

/** The series aggregated (network level when layer is ''; `*` = every layer that has it). */
const SERIES: {estimator: string; quantity: string; layer: '' | '*'; log?: boolean}[] = [
  {estimator: 'curv.hessian', quantity: 'lambda_max', layer: ''},
  {estimator: 'curv.hessian', quantity: 'sharpness_ratio', layer: ''},
  {estimator: 'curv.hessian', quantity: 'trace', layer: ''},
  {estimator: 'weights.esd', quantity: 'alpha', layer: ''},
  {estimator: 'weights.esd', quantity: 'alpha_weighted', layer: ''},
  {estimator: 'nc.collapse', quantity: 'NC1', layer: '*', log: true},
  {estimator: 'nc.collapse', quantity: 'NC2_norm', layer: '*', log: true},
  {estimator: 'nc.collapse', quantity: 'NC2_angle', layer: '*', log: true},
  {estimator: 'nc.collapse', quantity: 'NC3', layer: '*', log: true},
  {estimator: 'nc.collapse', quantity: 'NC4', layer: '*'},
  {estimator: 'sim.cka', quantity: 'to_final', layer: '*'},
  {estimator: 'dynamics.examples', quantity: 'mean_confidence', layer: ''},
  {estimator: 'dynamics.examples', quantity: 'mean_variability', layer: ''},
  {estimator: 'dynamics.examples', quantity: 'forgotten_frac', layer: ''},
  {estimator: 'dynamics.examples', quantity: 'unlearned_frac', layer: ''},
];

/** Rows of one estimator in its preferred subset (train, else all, else the first) and first params set. */
function preferred(rows: readonly MetricRow[], estimator: string): MetricRow[] {
  const mine = rows.filter((r) => r.estimator === estimator);
  const subsets = new Set(mine.map((r) => r.subset));
  const s = subsets.has('train') ? 'train' : subsets.has('all') ? 'all' : [...subsets][0];
  const params = mine.find((r) => r.subset === s)?.params;
  return mine.filter((r) => r.subset === s && r.params === params);
}

/** (epoch, value) series of one run for one aggregated quantity and layer. */
function runSeries(run: AggregateRun, estimator: string, quantity: string, layerIndex: number): {epoch: number; value: number}[] {
  if (quantity === 'sharpness_ratio') return sharpnessRatios(run.metrics).map((p) => ({epoch: p.epoch, value: p.ratio}));
  return layerSeries(preferred(run.metrics, estimator).filter((r) => r.quantity === quantity), layerIndex);
}

function spread(values: number[]): Spread {
  return {mean: mean(values) as number, std: sampleStd(values), min: Math.min(...values), max: Math.max(...values), n: values.length};
}

export function aggregateBeyond(groups: readonly {group: GroupAggregate; runs: AggregateRun[]}[]): BeyondGroup[] {
  return groups.map(({group, runs}) => {
    const series: BeyondSeries[] = [];
    for (const s of SERIES) {
      const layers = s.layer === '' ? [{index: -1, name: ''}] : [...new Map(runs.flatMap((r) => preferred(r.metrics, s.estimator).filter((m) => m.quantity === s.quantity && m.layerIndex >= 0).map((m) => [m.layerIndex, {index: m.layerIndex, name: m.layer}]))).values()].sort((a, b) => a.index - b.index);
      for (const layer of layers) {
        const per = runs.map((r) => ({run: r, s: runSeries(r, s.estimator, s.quantity, layer.index)})).filter((x) => x.s.length > 0);
        if (per.length === 0) continue;
        const byEpoch = new Map<number, number[]>();
        for (const {s: ser} of per) for (const p of ser) byEpoch.set(p.epoch, [...(byEpoch.get(p.epoch) ?? []), p.value]);
        series.push({
          name: `${s.estimator}:${s.quantity}${layer.name ? `:${layer.name}` : ''}`,
          estimator: s.estimator,
          quantity: s.quantity,
          layer: layer.name,
          trajectory: [...byEpoch.entries()].sort((a, b) => a[0] - b[0]).map(([epoch, v]) => ({epoch, spread: spread(v)})),
          final: seedStats(per.map(({run, s: ser}) => ({value: ser[ser.length - 1].value, seed: run.seed, runDir: run.runDir}))),
        });
      }
    }
    const perRun = runs.map((r) => ({run: r, checks: studyChecks(r.metrics, r.training)}));
    const ids = [...new Set(perRun.flatMap((p) => p.checks.map((c) => c.id)))];
    const checks = ids.map((id) => {
      const cs = perRun.map((p) => ({run: p.run, c: p.checks.find((c) => c.id === id)})).filter((x) => x.c);
      return {
        id,
        description: cs[0].c!.description,
        pass: cs.filter((x) => x.c!.status === 'pass').length,
        fail: cs.filter((x) => x.c!.status === 'fail').length,
        na: cs.filter((x) => x.c!.status === 'n/a').length,
        value: seedStats(cs.map((x) => ({value: x.c!.value, seed: x.run.seed, runDir: x.run.runDir}))),
      };
    });
    return {label: group.label, series, checks};
  });
}

const fmt = (v: number | null) => (v === null || !Number.isFinite(v) ? '–' : Number(v.toPrecision(4)).toString());

/** Table of final values: group, series, seeds, mean, std, per-seed values. */
export function beyondTable(groups: readonly BeyondGroup[]): {header: string[]; rows: string[][]} {
  const rows: string[][] = [];
  for (const g of groups) for (const s of g.series) rows.push([g.label, s.name, String(s.final.values.length), fmt(s.final.mean), fmt(s.final.std), s.final.values.map((v, i) => `${s.final.seeds[i]}: ${fmt(v)}`).join(', ')]);
  return {header: ['Group', 'Metric:quantity[:layer]', 'Seeds', 'Mean at the end', 'Std', 'Per seed (seed: value)'], rows};
}

/** Table of the study checks: group, check, seeds passing / failing / n/a, statistic mean and std. */
export function beyondChecksTable(groups: readonly BeyondGroup[]): {header: string[]; rows: string[][]} {
  const rows: string[][] = [];
  for (const g of groups) for (const c of g.checks) rows.push([g.label, c.id, c.description, `${c.pass}/${c.pass + c.fail + c.na}`, String(c.fail), String(c.na), fmt(c.value.mean), fmt(c.value.std)]);
  return {header: ['Group', 'Check', 'Description', 'Seeds passing', 'Failing', 'n/a', 'Statistic (mean)', 'Std'], rows};
}

/** One figure: a panel per aggregated series (mean line and a mean ± std band per group). */
export function beyondFigure(groups: readonly BeyondGroup[]): {file: string; title: string; svg: string; caption: string} | null {
  const names = [...new Set(groups.flatMap((g) => g.series.map((s) => s.name)))];
  if (names.length === 0) return null;
  const logOf = (name: string) => SERIES.find((s) => name.startsWith(`${s.estimator}:${s.quantity}`))?.log ?? false;
  const panels: PanelSpec[] = names.map((name) => {
    const marks: Mark[] = [];
    groups.forEach((g, gi) => {
      const s = g.series.find((x) => x.name === name);
      if (!s) return;
      const c = qualitativeColor(gi);
      const band = s.trajectory.filter((p) => p.spread.std !== null).map((p) => ({x: p.epoch, lo: p.spread.mean - p.spread.std!, hi: p.spread.mean + p.spread.std!}));
      if (band.length) marks.push({type: 'area', points: logOf(name) ? band.filter((p) => p.lo > 0) : band, color: c});
      marks.push({type: 'line', points: s.trajectory.map((p) => [p.epoch, p.spread.mean] as Point), color: c, width: 2});
    });
    return {title: name, x: {kind: 'epoch', label: 'epoch (log scale)'}, y: {kind: logOf(name) ? 'log' : 'linear', label: name.split(':')[1]}, marks};
  });
  return {
    file: 'beyond-information-plane.svg',
    title: 'Spec 13 metrics: mean and spread over seeds',
    svg: renderFigure({title: 'Spec 13 metrics: mean over seeds (band: ± one sample std)', panels, columns: Math.min(3, panels.length), panelWidth: 330, panelHeight: 220, legend: groups.map((g, gi) => ({label: g.label, color: qualitativeColor(gi)}))}),
    caption:
      'Per group (colour), the mean over seeds at each snapshot epoch of the curvature (lambda_max, lambda_max/(2/lr), Hessian trace), the network-mean weight alpha, neural collapse NC1-NC4 of the last hidden layer, CKA to the final representation per layer and the per-example summaries; the band is mean ± one sample standard deviation (absent with one seed). ' +
      'Values come from the training subset where the run measured one.',
  };
}
