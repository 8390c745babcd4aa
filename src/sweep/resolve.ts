/**
 * Reads a sweep file and resolves every point against its base config (loadConfig with the
 * point's overrides and seed), which gives each point its config hash and run directory.
 */
import {existsSync, readFileSync, statSync} from 'node:fs';
import {basename, dirname, extname, isAbsolute, join, resolve} from 'node:path';
import {loadConfig, parseConfig, readTextFile} from '../config/load.js';
import {tdlabVersion} from '../run/provenance.js';
import {UserError} from '../util/errors.js';
import {duplicateHash, runKey, type SweepIndex, type SweepPoint} from './plan.js';
import {expandSweep, formatOverride, parseSweepText, pointLabel, pointSet, SweepSpecError, type SweepSpec} from './spec.js';

export interface ResolvedSweep {
  spec: SweepSpec;
  sweepFile: string;
  baseFile: string;
  baseText: string;
  points: SweepPoint[];
}

export function readSweepFile(file: string): {spec: SweepSpec; baseFile: string} {
  const text = readTextFile(file, 'sweep file', 'give the path to a YAML file, e.g. configs/sweeps/saxe.yaml');
  let spec: SweepSpec;
  try {
    spec = parseSweepText(text, file, basename(file, extname(file)));
  } catch (err) {
    if (err instanceof SweepSpecError) throw new UserError(err.message);
    throw err;
  }
  const baseFile = isAbsolute(spec.base) ? spec.base : resolve(dirname(file), spec.base);
  if (!existsSync(baseFile) || !statSync(baseFile).isFile()) throw new UserError(`${file}: base: ${spec.base}: config file not found (${baseFile}; paths are relative to the sweep file)`);
  return {spec, baseFile};
}

/** Expands a sweep file into points with config hashes. Every config error names the point. */
export function resolveSweep(file: string): ResolvedSweep {
  const {spec, baseFile} = readSweepFile(file);
  const baseText = readFileSync(baseFile, 'utf8');
  loadConfig(baseFile); // the base alone must be valid: its errors are the clearest
  let specs;
  try {
    specs = expandSweep(spec);
  } catch (err) {
    if (err instanceof SweepSpecError) throw new UserError(`${file}: ${err.message}`);
    throw err;
  }
  if (specs.length === 0) throw new UserError(`${file}: the sweep has no points`);
  const points: SweepPoint[] = specs.map((ps, index) => {
    const set = pointSet(spec.set, ps.overrides);
    let hash: string;
    try {
      hash = parseConfig(baseText, baseFile, {set, seed: ps.seed}).hash;
    } catch (err) {
      if (err instanceof UserError) throw new UserError(`${file}: point ${index} (${pointLabel(ps)}): ${err.message}`);
      throw err;
    }
    return {index, overrides: ps.overrides, seed: ps.seed ?? null, set, configHash: hash, runDir: join('runs', runKey(hash)), status: 'pending'};
  });
  const dup = duplicateHash(points);
  if (dup) throw new UserError(`${file}: points ${dup[0]} (${pointLabel(points[dup[0]])}) and ${dup[1]} (${pointLabel(points[dup[1]])}) resolve to the same config; remove the duplicate axis value`);
  return {spec, sweepFile: resolve(file), baseFile: resolve(baseFile), baseText, points};
}

export function newSweepIndex(r: ResolvedSweep, previous: SweepIndex | null): SweepIndex {
  return {
    tdlab: tdlabVersion(),
    name: r.spec.name,
    sweepFile: r.sweepFile,
    baseFile: r.baseFile,
    base: 'base.yaml',
    mode: r.spec.sample ? 'random' : 'grid',
    sample: r.spec.sample ?? null,
    axes: r.spec.axes.map((a) => ('values' in a ? {key: a.key, values: a.values} : {key: a.key, dist: a.dist})),
    seeds: r.spec.seeds ?? null,
    fixed: r.spec.set.map(([k, v]) => formatOverride(k, v)),
    slurm: r.spec.slurm,
    checks: r.spec.checks,
    slurmJob: previous?.slurmJob ?? null,
    updatedAt: new Date().toISOString(),
    counts: {total: 0, pending: 0, running: 0, done: 0, failed: 0, interrupted: 0},
    points: r.points,
  };
}
