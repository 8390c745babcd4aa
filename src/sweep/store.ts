/**
 * File side of sweeps: sweep.json, run-directory status, and lock files.
 */
import {existsSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {writeJsonAtomic} from '../io/atomic.js';
import {liveHolder} from '../io/lock.js';
import {runPaths} from '../run/paths.js';
import type {Provenance} from '../run/provenance.js';
import {UserError} from '../util/errors.js';
import {countStatuses, pointStatus, type SweepIndex, type SweepPoint} from './plan.js';

export const SWEEP_JSON = 'sweep.json';
const SWEEP_LOCK = '.sweep.lock';

export function readSweepIndex(sweepDir: string): SweepIndex {
  const file = join(sweepDir, SWEEP_JSON);
  if (!existsSync(file)) throw new UserError(`${sweepDir}: not a sweep directory (no ${SWEEP_JSON}); run tdlab sweep <sweep.yaml> first`);
  let index: unknown;
  try {
    index = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${(err as Error).message.split('\n')[0]}); re-run tdlab sweep`);
  }
  if (!index || typeof index !== 'object' || !Array.isArray((index as SweepIndex).points)) throw new UserError(`${file}: not a sweep index (no points list); re-run tdlab sweep`);
  return index as SweepIndex;
}

export function writeSweepIndex(sweepDir: string, index: SweepIndex): void {
  index.updatedAt = new Date().toISOString();
  index.counts = countStatuses(index.points);
  writeJsonAtomic(join(sweepDir, SWEEP_JSON), index);
}

/** provenance.json of a run directory, or null when absent or unreadable (a run killed early). */
export function readProvenance(runDir: string): Provenance | null {
  try {
    return JSON.parse(readFileSync(runPaths(runDir).provenance, 'utf8')) as Provenance;
  } catch {
    return null;
  }
}

export const runLockFile = (runDir: string) => runPaths(runDir).lock;
export const sweepLockFile = (sweepDir: string) => join(sweepDir, SWEEP_LOCK);

/** Sets each point's status (and error/times) from its run directory. */
export function refreshStatuses(sweepDir: string, points: SweepPoint[], runningHere: ReadonlySet<number> = new Set()): void {
  for (const p of points) {
    const dir = join(sweepDir, p.runDir);
    const prov = readProvenance(dir);
    const live = runningHere.has(p.index) || liveHolder(runLockFile(dir)) !== null;
    p.status = pointStatus(prov, p.configHash, live);
    delete p.error;
    delete p.startedAt;
    delete p.endedAt;
    if (prov && prov.configHash === p.configHash) {
      p.startedAt = prov.startedAt;
      if (prov.endedAt) p.endedAt = prov.endedAt;
      if (p.status === 'failed' || p.status === 'interrupted') {
        const bad = Object.entries(prov.stages).find(([, r]) => r?.status === 'failed' || r?.status === 'interrupted');
        p.error = bad ? `${bad[0]}: ${bad[1]?.error ?? bad[1]?.status}` : `run ${prov.status}`;
      }
    }
  }
}
