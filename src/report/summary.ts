/**
 * The machine-readable run summary: final training numbers, per-layer information-plane and
 * gradient-phase statistics, and warnings about results that should not be over-interpreted.
 */
import type {LayerInfo, MetricRow} from '../types.js';
import {
  ACT_STATS,
  activationRows,
  crossingEpoch,
  deadFraction,
  gradientTrajectory,
  lastValue,
  layerSeries,
  localRankGroups,
  localRankTrajectory,
  median,
  miGroups,
  miTrajectory,
  snr,
  trainingSeries,
  type GradientPoint,
  type MiGroup,
} from './analysis.js';
import {isFlagged, validityWarnings, type ValidityWarning} from '../metrics/validity.js';
import {fmtBits} from './tables.js';
import {studyChecks} from './study-checks.js';
import type {GradientSummary, LayerSummary, LocalRankSummary, MiSummary, ReportInput, ReportSummary} from './types.js';

/** Snapshot epochs up to this one count as "early" for the SNR median. */
const EARLY_EPOCH = 20;
/** Fraction of the last snapshot epochs that count as "late" for the SNR median. */
const LATE_FRACTION = 0.2;
/** Accuracy this close to max(initial accuracy, CHANCE_FLOOR) or below counts as chance. */
const CHANCE_MARGIN = 0.02;
const CHANCE_FLOOR = 0.55;

function miSummary(group: MiGroup, layerIndex: number): MiSummary | null {
  const traj = miTrajectory(group, layerIndex);
  if (traj.length === 0) return null;
  let maxIXT: number | null = null;
  let maxIXTEpoch: number | null = null;
  for (const p of traj) {
    if (p.ixt !== null && (maxIXT === null || p.ixt > maxIXT)) {
      maxIXT = p.ixt;
      maxIXTEpoch = p.epoch;
    }
  }
  const withIXT = traj.filter((p) => p.ixt !== null);
  const withITY = traj.filter((p) => p.ity !== null);
  const finalIXT = withIXT.length ? withIXT[withIXT.length - 1].ixt : null;
  const finalITY = withITY.length ? withITY[withITY.length - 1].ity : null;
  return {
    estimator: group.estimator,
    params: group.params,
    subset: group.subset,
    unit: group.unit,
    maxIXT,
    maxIXTEpoch,
    finalIXT,
    compression: maxIXT !== null && finalIXT !== null ? maxIXT - finalIXT : null,
    finalITY,
  };
}

/** First, minimum and final mean local rank and the final bound of one layer; null when not measured. */
export function localRankSummary(rows: readonly MetricRow[], layerIndex: number): LocalRankSummary | null {
  const traj = localRankTrajectory(rows, layerIndex);
  const means = traj.filter((p) => p.mean !== null).map((p) => p.mean as number);
  const bounds = traj.filter((p) => p.bound !== null).map((p) => p.bound as number);
  if (means.length === 0 && bounds.length === 0) return null;
  return {
    first: means.length ? means[0] : null,
    min: means.length ? Math.min(...means) : null,
    final: means.length ? means[means.length - 1] : null,
    bound: bounds.length ? bounds[bounds.length - 1] : null,
  };
}

function snrMedian(points: readonly GradientPoint[]): number | null {
  return median(points.map(snr).filter((v): v is number => v !== null && Number.isFinite(v)));
}

function gradientSummary(traj: readonly GradientPoint[]): GradientSummary {
  const lateCount = Math.max(1, Math.ceil(traj.length * LATE_FRACTION));
  return {
    crossingEpoch: crossingEpoch(traj),
    snrEarly: snrMedian(traj.filter((p) => p.epoch <= EARLY_EPOCH)),
    snrLate: traj.length ? snrMedian(traj.slice(traj.length - lateCount)) : null,
  };
}

function layerName(l: LayerInfo): string {
  return `layer ${l.index} (${l.name})`;
}

function chanceWarning(input: ReportInput): ValidityWarning | null {
  const acc = trainingSeries(input.training, 'train_acc');
  const final = lastValue(acc);
  if (final === null) return null;
  const initial = acc[0].epoch === 0 ? acc[0].value : null;
  const threshold = Math.max(initial ?? CHANCE_FLOOR, CHANCE_FLOOR) + CHANCE_MARGIN;
  if (final > threshold) return null;
  const message =
    `accuracy stayed at chance: final train accuracy ${fmtBits(final)} <= max(epoch-0 accuracy ${initial === null ? 'n/a' : fmtBits(initial)}, ${CHANCE_FLOOR}) + ${CHANCE_MARGIN}; ` +
    'the network did not fit, so its information plane shows no fitting or compression phase';
  return {layer: null, estimator: null, params: null, kind: 'chance', message};
}

function deadWarning(layer: LayerInfo, deadFinal: number | null, unit: string, epoch: number | null): ValidityWarning | null {
  if (deadFinal === null || deadFraction(deadFinal, unit, layer.width) < 1) return null;
  return {layer: layer.name, estimator: ACT_STATS, params: null, kind: 'dead', message: `${layerName(layer)}: all ${layer.width} units are dead at the final snapshot (epoch ${epoch ?? '?'}); it passes no information`};
}

/** Estimators preferred for headline numbers, most direct first; others follow in report order. */
export const HEADLINE_ORDER = ['mi.bin', 'mi.binwidth', 'mi.ebab', 'mi.kde', 'mi.akde', 'mi.adaptmax'] as const;

/** The first MI summary of a layer that carries no validity warning (see HEADLINE_ORDER). */
export function headlineOf(layer: string, mi: readonly MiSummary[], warnings: readonly ValidityWarning[]): MiSummary | null {
  const rank = (e: string) => {
    const i = (HEADLINE_ORDER as readonly string[]).indexOf(e);
    return i < 0 ? HEADLINE_ORDER.length : i;
  };
  const ordered = mi.map((m, i) => ({m, i})).sort((a, b) => rank(a.m.estimator) - rank(b.m.estimator) || a.i - b.i);
  return ordered.find(({m}) => m.compression !== null && !isFlagged(warnings, layer, m.estimator, m.params))?.m ?? null;
}

/** Summarises a run. Pure; key order is fixed so the JSON is stable. */
export function summarize(input: ReportInput): ReportSummary {
  const groups = miGroups(input.metrics);
  const deadRows = activationRows(input.metrics, 'dead_units');
  const localRankRows = localRankGroups(input.metrics)[0]?.rows ?? [];
  const warnings: ValidityWarning[] = [];
  const chance = chanceWarning(input);
  if (chance) warnings.push(chance);
  // every layer, the first included: range, scale and ceiling warnings from the data
  const validity = validityWarnings(input.metrics, input.layers);

  const layers: LayerSummary[] = input.layers.map((layer) => {
    const dead = layerSeries(deadRows, layer.index);
    const deadUnitsFinal = lastValue(dead);
    const deadMsg = deadWarning(layer, deadUnitsFinal, deadRows[0]?.unit ?? 'count', dead.length ? dead[dead.length - 1].epoch : null);
    if (deadMsg) warnings.push(deadMsg);
    warnings.push(...validity.filter((w) => w.layer === layer.name));
    const mi = groups.map((g) => miSummary(g, layer.index)).filter((m): m is MiSummary => m !== null);
    const summary: LayerSummary = {
      index: layer.index,
      name: layer.name,
      width: layer.width,
      activation: layer.activation,
      kind: layer.kind,
      mi,
      headline: headlineOf(layer.name, mi, validity),
      gradients: gradientSummary(gradientTrajectory(input.training, layer.index)),
      deadUnitsFinal,
    };
    const localRank = localRankSummary(localRankRows, layer.index);
    if (localRank) summary.localRank = localRank;
    return summary;
  });

  const final = (q: string): number | null => lastValue(trainingSeries(input.training, q));
  const lastHidden = [...layers].reverse().find((l) => l.kind === 'hidden');
  const checks = studyChecks(input.metrics, input.training);
  return {
    runId: input.runId,
    title: input.title,
    configHash: input.configHash,
    backend: input.backend,
    seed: input.seed,
    epochs: input.epochs,
    snapshots: input.snapshotEpochs.length,
    dataset: {
      name: input.dataset.name,
      n: input.dataset.n,
      nTrain: input.dataset.nTrain,
      nTest: input.dataset.nTest,
      entropyY: input.dataset.entropyY ?? null,
    },
    final: {trainLoss: final('train_loss'), testLoss: final('test_loss'), trainAcc: final('train_acc'), testAcc: final('test_acc')},
    layers,
    headline: lastHidden?.headline ? {layer: lastHidden.name, ...lastHidden.headline} : null,
    ...(checks.length ? {checks} : {}),
    warnings,
  };
}
