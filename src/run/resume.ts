import {existsSync} from 'node:fs';
import {join} from 'node:path';
import type {Config} from '../config/schema.js';
import {readTrainingLog} from '../io/tables.js';
import {readModelPlan} from '../model/checkpoint.js';
import {snapshotEpochs} from '../train/schedule.js';
import {readTrainState} from '../train/state.js';
import type {RunPaths} from './paths.js';
import type {Provenance} from './provenance.js';
import type {StageName} from './stage-names.js';

/** What continuing a run must redo: decided from the stage statuses and the files present. */
export interface ResumePlan {
  /** Stages to run again, in config order: the first one that is not done or lost an output, and every stage after it. */
  redo: StageName[];
  /** Why the first of them is redone. */
  reason: string | null;
  /** When train is redone: the snapshot epoch whose checkpoint it continues from (null: from the start). */
  trainFrom: number | null;
}

/**
 * The one decision of what to redo, shared by `tdlab run --resume`, the sweep worker and
 * `tdlab metrics`. A stage is kept when it is marked done and every output it recorded is still
 * there (for train: every snapshot's activations and checkpoint, and the log); the first stage
 * that is not is redone with every stage after it. A redone train stage continues from the
 * latest snapshot epoch e whose checkpoint holds the training state, with every snapshot up to e
 * on disk and the log reaching e.
 */
export function planResume(config: Config, prov: Pick<Provenance, 'stages'>, paths: RunPaths): ResumePlan {
  const exists = (rel: string) => existsSync(join(paths.root, rel));
  const snapshots = config.stages.includes('train') ? safeSnapshots(config) : [];
  let reason: string | null = null;
  const first = config.stages.findIndex((s) => {
    const rec = prov.stages[s];
    if (rec?.status !== 'done') {
      reason = `${s} is ${rec?.status ?? 'not started'}`;
      return true;
    }
    const lost = (rec.outputs ?? []).find((o) => !exists(o));
    if (lost) {
      reason = `${s} is done but ${lost} is missing`;
      return true;
    }
    if (s === 'train') {
      // every snapshot's activations, and its checkpoint when the stage wrote checkpoints (an imported run may have none)
      const ckpts = (rec.outputs ?? []).includes('checkpoints/');
      const gone = snapshots.find((e) => !existsSync(paths.activation(e)) || (ckpts && !existsSync(paths.checkpoint(e))));
      if (gone !== undefined) {
        reason = `train is done but snapshot ${gone} is missing`;
        return true;
      }
    }
    return false;
  });
  const redo = first < 0 ? [] : config.stages.slice(first);
  const trainFrom = redo.includes('train') && !redo.includes('data') ? trainResumePoint(config, paths, snapshots) : null;
  return {redo, reason, trainFrom};
}

function safeSnapshots(config: Config): number[] {
  try {
    return snapshotEpochs(config.train.snapshots, config.train.epochs);
  } catch {
    return [];
  }
}

/** The latest snapshot epoch training can continue from, or null. */
export function trainResumePoint(config: Config, paths: RunPaths, snapshots: number[]): number | null {
  if (!existsSync(paths.model) || !existsSync(paths.training)) return null;
  const log = readTrainingLog(paths.training);
  if (!log) return null;
  let plan;
  try {
    plan = readModelPlan(paths.model);
  } catch {
    return null;
  }
  // snapshots up to e must all be on disk: the first missing one bounds e
  let upTo = snapshots.length;
  const missing = snapshots.findIndex((e) => !existsSync(paths.activation(e)) || !existsSync(paths.checkpoint(e)));
  if (missing >= 0) upTo = missing;
  for (let i = upTo - 1; i >= 0; i--) {
    const e = snapshots[i];
    if (e > log.through) continue;
    if (readTrainState(paths.checkpoint(e), plan, config.train)) return e;
  }
  return null;
}
