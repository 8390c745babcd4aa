import {UserError} from '../util/errors.js';

/**
 * Snapshot schedules (docs/metrics.md, snapshot schedules). Snapshot epoch e is the network after e epochs of
 * training, so epoch 0 is the initialisation; schedules cover [0, E-1] and always include 0 and E-1.
 *  - `log:K`: unique(floor(logspace(0, log10 E, K)) - 1), dense early, sparse late;
 *  - `every:N`: 0, N, 2N, ...;
 *  - `ibsgd`: Saxe et al.'s preset: every epoch < 20, every 5th < 100, every 20th < 2000, every 100th after;
 *  - an explicit list of epochs.
 */
export function snapshotEpochs(spec: string | number[], epochs: number): number[] {
  const E = epochs;
  const count = scheduleSize(spec, E);
  if (count > MAX_SNAPSHOTS) throw new UserError(`train.snapshots: '${Array.isArray(spec) ? `a list of ${spec.length}` : spec}' over ${E} epochs gives about ${count.toExponential(1)} snapshots (at most ${MAX_SNAPSHOTS}: each writes every layer's activations); use log:K or a larger every:N`);
  const set = new Set<number>([0, E - 1]);
  if (Array.isArray(spec)) {
    for (const e of spec) {
      if (e > E - 1) throw new UserError(`train.snapshots: epoch ${e} is past the last epoch ${E - 1} (train.epochs = ${E})`);
      set.add(e);
    }
  } else if (spec === 'ibsgd') {
    for (let e = 0; e < E; e++) {
      if (e < 20 || (e < 100 && e % 5 === 0) || (e < 2000 && e % 20 === 0) || e % 100 === 0) set.add(e);
    }
  } else {
    const [kind, arg] = spec.split(':');
    const k = Number(arg);
    if (kind === 'every') {
      if (k < 1) throw new UserError(`train.snapshots: every:N needs N >= 1`);
      for (let e = 0; e < E; e += k) set.add(e);
    } else if (kind === 'log') {
      if (k < 2) throw new UserError(`train.snapshots: log:K needs K >= 2`);
      const top = Math.log10(E);
      for (let i = 0; i < k; i++) {
        const e = Math.floor(Math.pow(10, (i * top) / (k - 1))) - 1;
        if (e >= 0 && e <= E - 1) set.add(e);
      }
    } else {
      throw new UserError(`train.snapshots: unknown schedule '${spec}' (use log:K, every:N, ibsgd or a list)`);
    }
  }
  return [...set].filter((e) => e >= 0).sort((a, b) => a - b);
}

/** The most snapshot epochs a schedule may have. */
export const MAX_SNAPSHOTS = 100000;

/** An upper bound of a schedule's size, computed without building it. */
function scheduleSize(spec: string | number[], E: number): number {
  if (Array.isArray(spec)) return spec.length + 2;
  if (spec === 'ibsgd') return 20 + 16 + 95 + Math.max(0, E - 2000) / 100 + 2;
  const [kind, arg] = spec.split(':');
  const k = Number(arg);
  if (kind === 'every') return k >= 1 ? E / k + 2 : 0;
  if (kind === 'log') return k + 2;
  return 0;
}
