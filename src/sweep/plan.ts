/**
 * The sweep index (`sweep.json`) and the resume decisions. Pure: no I/O here.
 */
import type {CheckSpec} from '../config/checks.js';
import type {Provenance} from '../run/provenance.js';
import type {SlurmSpec} from './spec.js';

/** Exit code of `tdlab sweep` when the sweep finished but some points failed. */
export const EXIT_SWEEP_FAILED = 3;

export type PointStatus = 'pending' | 'running' | 'done' | 'failed' | 'interrupted';

export interface SweepPoint {
  index: number;
  /** Swept key -> value of this point (fixed overrides are in the index's `set`). */
  overrides: Record<string, unknown>;
  /** null: the base config's seed. */
  seed: number | null;
  /** Every override of the point in `--set` syntax (fixed ones first). */
  set: string[];
  configHash: string;
  /** The run directory relative to the sweep directory: `runs/<hash12>`. */
  runDir: string;
  status: PointStatus;
  error?: string;
  startedAt?: string;
  endedAt?: string;
}

export interface SweepIndex {
  tdlab: string;
  name: string;
  /** The sweep file and base config as given (absolute paths). */
  sweepFile: string;
  baseFile: string;
  /** Copy of the base config the points resolve against, relative to the sweep directory. */
  base: string;
  mode: 'grid' | 'random';
  sample: {n: number; seed: number} | null;
  axes: Array<{key: string; values?: unknown[]; dist?: unknown}>;
  seeds: number[] | null;
  fixed: string[];
  slurm: SlurmSpec;
  /** Acceptance checks declared in the sweep file (tdlab aggregate evaluates them with the base config's). */
  checks?: CheckSpec[];
  /** The last Slurm submission, while it may still be active. */
  slurmJob: {jobId: string; script: string; indices: number[]; submittedAt: string} | null;
  updatedAt: string;
  counts: Record<PointStatus, number> & {total: number};
  points: SweepPoint[];
}

/** 12 hex digits of the config hash: the run directory name of a point. */
export const runKey = (configHash: string) => configHash.slice(0, 12);

/**
 * Status of a point from its run directory's provenance (null: none). `live`: a process holds the
 * run's lock right now. A run marked running that nobody runs was killed: interrupted.
 */
export function pointStatus(prov: Pick<Provenance, 'status' | 'configHash'> | null, configHash: string, live: boolean): PointStatus {
  if (live) return 'running';
  if (!prov || prov.configHash !== configHash) return 'pending';
  if (prov.status === 'running') return 'interrupted';
  return prov.status;
}

/** Points to run: every point that is not done, in index order. */
export function pendingIndices(points: ReadonlyArray<Pick<SweepPoint, 'index' | 'status'>>): number[] {
  return points.filter((p) => p.status !== 'done').map((p) => p.index);
}

export function countStatuses(points: ReadonlyArray<Pick<SweepPoint, 'status'>>): SweepIndex['counts'] {
  const c = {total: points.length, pending: 0, running: 0, done: 0, failed: 0, interrupted: 0};
  for (const p of points) c[p.status]++;
  return c;
}

/** Two points with one config hash would share a run directory: returns the first such pair. */
export function duplicateHash(points: ReadonlyArray<{index: number; configHash: string}>): [number, number] | null {
  const seen = new Map<string, number>();
  for (const p of points) {
    const k = runKey(p.configHash);
    const prev = seen.get(k);
    if (prev !== undefined) return [prev, p.index];
    seen.set(k, p.index);
  }
  return null;
}

/** Compresses indices into Slurm's `--array` syntax: [0,1,2,5,7,8] -> "0-2,5,7-8". */
export function arraySpec(indices: readonly number[]): string {
  const xs = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j] + 1) j++;
    parts.push(i === j ? String(xs[i]) : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Inverse of arraySpec (also accepts `a-b:step`). */
export function parseArraySpec(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split('%')[0].split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    for (let x = a; x <= b; x += step) out.push(x);
  }
  return out;
}
