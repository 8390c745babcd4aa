/**
 * The checks of the two shipped spec-13 studies, evaluated on one run's tidy rows (pure):
 *  - EoS (configs/edge-of-stability.yaml, Cohen et al. 2021): r = lambda_max / (2 / lr) at every
 *    snapshot with both values; max r in [0.8, 1.3], and over the last third of training (snapshot
 *    epochs >= 2/3 of the last one) at least 70% of the snapshots have r in [0.7, 1.3].
 *  - NC (configs/collapse.yaml, Papyan et al. 2020): e* = the first epoch with training accuracy 1;
 *    NC1 at the last snapshot <= 0.1 x NC1 at e* (the first snapshot at or after e*, since NC is
 *    measured at snapshots), and NC2_angle at the last snapshot < NC2_angle at e*.
 * A check whose data are absent is omitted; one whose data are there but cannot be evaluated
 * (accuracy never reaches 1) is 'n/a' with the reason. Thresholds are the issue's, not tuned.
 */
import type {MetricRow, TrainingRow} from '../types.js';
import {layerSeries, trainingSeries} from './analysis.js';

export interface StudyCheck {
  id: 'EoS.max' | 'EoS.late' | 'NC.NC1' | 'NC.NC2_angle';
  description: string;
  status: 'pass' | 'fail' | 'n/a';
  /** The statistic compared with the threshold (null when n/a). */
  value: number | null;
  /** Numbers behind the value. */
  detail: Record<string, number | null>;
  note?: string;
}

export const EOS_MAX_RANGE: [number, number] = [0.8, 1.3];
export const EOS_LATE_RANGE: [number, number] = [0.7, 1.3];
export const EOS_LATE_FRACTION = 0.7;
export const NC1_FACTOR = 0.1;

/** Preferred subset for run-level curvature and collapse rows: train, else all, else the first seen. */
function subsetRows(rows: MetricRow[]): MetricRow[] {
  const subsets = new Set(rows.map((r) => r.subset));
  const s = subsets.has('train') ? 'train' : subsets.has('all') ? 'all' : [...subsets][0];
  const params = rows.find((r) => r.subset === s)?.params;
  return rows.filter((r) => r.subset === s && r.params === params);
}

/** Sharpness ratio lambda_max / two_over_lr per snapshot epoch (curv.hessian, network level). */
export function sharpnessRatios(metrics: readonly MetricRow[]): {epoch: number; lambdaMax: number; twoOverLr: number; ratio: number}[] {
  const rows = subsetRows(metrics.filter((r) => r.estimator === 'curv.hessian' && r.layerIndex === -1));
  const lam = new Map(layerSeries(rows.filter((r) => r.quantity === 'lambda_max'), -1).map((p) => [p.epoch, p.value]));
  return layerSeries(rows.filter((r) => r.quantity === 'two_over_lr'), -1)
    .filter((p) => lam.has(p.epoch))
    .map((p) => ({epoch: p.epoch, lambdaMax: lam.get(p.epoch)!, twoOverLr: p.value, ratio: lam.get(p.epoch)! / p.value}));
}

/** Rows of one nc.collapse quantity (last hidden layer), preferred subset. */
export function collapseSeries(metrics: readonly MetricRow[], quantity: string): {epoch: number; value: number}[] {
  const rows = subsetRows(metrics.filter((r) => r.estimator === 'nc.collapse'));
  const layer = rows[0]?.layerIndex;
  return layerSeries(rows.filter((r) => r.quantity === quantity), layer ?? -1);
}

export function eosChecks(metrics: readonly MetricRow[]): StudyCheck[] {
  const r = sharpnessRatios(metrics);
  if (r.length === 0) return [];
  const within = (v: number, [lo, hi]: [number, number]) => v >= lo && v <= hi;
  const max = Math.max(...r.map((p) => p.ratio));
  const last = r[r.length - 1].epoch;
  const late = r.filter((p) => p.epoch >= (2 / 3) * last);
  const frac = late.filter((p) => within(p.ratio, EOS_LATE_RANGE)).length / late.length;
  return [
    {
      id: 'EoS.max',
      description: `max over snapshots of lambda_max / (2/lr) in [${EOS_MAX_RANGE.join(', ')}]`,
      status: within(max, EOS_MAX_RANGE) ? 'pass' : 'fail',
      value: max,
      detail: {epochOfMax: r.find((p) => p.ratio === max)!.epoch, snapshots: r.length},
    },
    {
      id: 'EoS.late',
      description: `over the last third of training, >= ${EOS_LATE_FRACTION * 100}% of snapshots with lambda_max / (2/lr) in [${EOS_LATE_RANGE.join(', ')}]`,
      status: frac >= EOS_LATE_FRACTION ? 'pass' : 'fail',
      value: frac,
      detail: {snapshots: late.length, from: late[0].epoch, minRatio: Math.min(...late.map((p) => p.ratio)), maxRatio: Math.max(...late.map((p) => p.ratio))},
    },
  ];
}

export function collapseChecks(metrics: readonly MetricRow[], training: readonly TrainingRow[]): StudyCheck[] {
  const nc1 = collapseSeries(metrics, 'NC1');
  const angle = collapseSeries(metrics, 'NC2_angle');
  if (nc1.length === 0) return [];
  const acc = trainingSeries([...training], 'train_acc');
  const first = acc.find((p) => p.value >= 1);
  const descNc1 = `NC1 at the end <= ${NC1_FACTOR} x NC1 when training accuracy first reaches 1`;
  const descAngle = 'NC2_angle at the end < NC2_angle when training accuracy first reaches 1';
  if (!first) {
    const note = `training accuracy never reached 1 (max ${Math.max(...acc.map((p) => p.value), NaN)})`;
    return [
      {id: 'NC.NC1', description: descNc1, status: 'n/a', value: null, detail: {}, note},
      {id: 'NC.NC2_angle', description: descAngle, status: 'n/a', value: null, detail: {}, note},
    ];
  }
  const at = (s: {epoch: number; value: number}[]) => s.find((p) => p.epoch >= first.epoch);
  const end = (s: {epoch: number; value: number}[]) => s[s.length - 1];
  const out: StudyCheck[] = [];
  const n0 = at(nc1);
  const n1 = end(nc1);
  const note = n0 && n0.epoch !== first.epoch ? `accuracy 1 first at epoch ${first.epoch}; NC is measured at snapshots, so the first snapshot after it (${n0.epoch}) is used` : undefined;
  if (!n0 || n0.epoch === n1.epoch) {
    out.push({id: 'NC.NC1', description: descNc1, status: 'n/a', value: null, detail: {firstEpoch: first.epoch}, note: 'no snapshot after the epoch where training accuracy reached 1 (train longer or snapshot later epochs)'});
  } else {
    const ratio = n1.value / n0.value;
    out.push({id: 'NC.NC1', description: descNc1, status: ratio <= NC1_FACTOR ? 'pass' : 'fail', value: ratio, detail: {firstEpoch: first.epoch, snapshot: n0.epoch, nc1There: n0.value, nc1End: n1.value, endEpoch: n1.epoch}, ...(note ? {note} : {})});
  }
  const a0 = at(angle);
  const a1 = angle.length ? end(angle) : undefined;
  if (!a0 || !a1 || a0.epoch === a1.epoch) {
    out.push({id: 'NC.NC2_angle', description: descAngle, status: 'n/a', value: null, detail: {firstEpoch: first.epoch}, note: 'no NC2_angle snapshot after the epoch where training accuracy reached 1'});
  } else {
    out.push({id: 'NC.NC2_angle', description: descAngle, status: a1.value < a0.value ? 'pass' : 'fail', value: a1.value - a0.value, detail: {firstEpoch: first.epoch, snapshot: a0.epoch, angleThere: a0.value, angleEnd: a1.value}, ...(note ? {note} : {})});
  }
  return out;
}

/** Both studies' checks, where the run has their data. */
export function studyChecks(metrics: readonly MetricRow[], training: readonly TrainingRow[]): StudyCheck[] {
  return [...eosChecks(metrics), ...collapseChecks(metrics, training)];
}

/** One line per check, for captions and notes. */
export function checkLine(c: StudyCheck): string {
  const v = c.value === null ? '' : ` (value ${Number(c.value.toPrecision(4))})`;
  return `${c.id} ${c.status.toUpperCase()}: ${c.description}${v}${c.note ? `; ${c.note}` : ''}`;
}
