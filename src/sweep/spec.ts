/**
 * Sweep files and their expansion into points. Pure: text in, points out (no I/O).
 *
 * ```yaml
 * name: saxe                      # default: the file name without extension
 * base: ../tishby.yaml            # config every point starts from (relative to this file)
 * set: {train.epochs: 2000}       # overrides applied to every point (map or list of key=value)
 * axes:                           # dotted key -> values; the grid is their cartesian product
 *   model.activation: [tanh, relu]
 *   train.lr: {from: 1.0e-4, to: 1.0e-2, num: 3, log: true}
 *   model.layers.0: 8..12         # inclusive integer range
 * seeds: 0..9                     # crossed with every setting (innermost)
 * sample: {n: 4, seed: 0}         # seeded random sampling of the settings instead of the grid
 * slurm: {partition: debug, cpus: 1, mem: 2G, time: "02:00:00", throttle: 2}
 * checks: [...]                   # acceptance checks for tdlab aggregate (src/config/checks.ts)
 * ```
 */
import {isDeepStrictEqual} from 'node:util';
import {parseDocument, stringify} from 'yaml';
import {z} from 'zod';
import {checksSchema, type CheckSpec} from '../config/checks.js';
import {Rng} from '../util/prng.js';

export class SweepSpecError extends Error {}

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const jsonValue: z.ZodType<unknown> = z.lazy(() => z.union([scalar, z.array(jsonValue), z.record(jsonValue)]));

const rangeObj = z
  .object({
    from: z.number(),
    to: z.number(),
    step: z.number().positive().optional(),
    num: z.number().int().min(1).optional(),
    log: z.boolean().default(false),
  })
  .strict();
const distObj = z.union([
  z.object({uniform: z.tuple([z.number(), z.number()])}).strict(),
  z.object({loguniform: z.tuple([z.number().positive(), z.number().positive()])}).strict(),
  z.object({int: z.tuple([z.number().int(), z.number().int()])}).strict(),
]);
const valuesObj = z.object({values: z.array(jsonValue).min(1)}).strict();
const axisSchema = z.union([z.array(jsonValue).min(1), z.string(), z.number(), z.boolean(), rangeObj, distObj, valuesObj]);

const slurmSchema = z
  .object({
    partition: z.string().optional(),
    cpus: z.number().int().positive().default(1),
    mem: z.union([z.string(), z.number()]).optional(),
    time: z.string().optional(),
    throttle: z.number().int().positive().optional(),
    account: z.string().optional(),
    qos: z.string().optional(),
    /** Extra `#SBATCH` lines, e.g. `--constraint=avx2`. */
    extra: z.array(z.string()).default([]),
  })
  .strict();

const sweepSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][\w.-]*$/, 'letters, digits, _ . - only').optional(),
    base: z.string().min(1),
    set: z.union([z.record(jsonValue), z.array(z.string())]).default({}),
    axes: z.record(axisSchema).default({}),
    seeds: z.union([z.string(), z.number().int().min(0), z.array(z.number().int().min(0)).min(1)]).optional(),
    sample: z.object({n: z.number().int().positive(), seed: z.number().int().min(0).default(0)}).strict().optional(),
    slurm: slurmSchema.default({}),
    /** Acceptance checks tdlab aggregate evaluates on this sweep (src/config/checks.ts). */
    checks: checksSchema.default([]),
  })
  .strict();

export type SlurmSpec = z.infer<typeof slurmSchema>;

/** A continuous or integer distribution (random sampling only). */
export type Distribution = {kind: 'uniform' | 'loguniform' | 'int'; lo: number; hi: number};
export type Axis = {key: string; values: unknown[]} | {key: string; dist: Distribution};

export interface SweepSpec {
  name: string;
  base: string;
  /** Fixed overrides, in file order. */
  set: Array<[string, unknown]>;
  axes: Axis[];
  /** undefined: the base config's seed. */
  seeds?: number[];
  sample?: {n: number; seed: number};
  slurm: SlurmSpec;
  checks: CheckSpec[];
}

/** One point before it is resolved against the base config. */
export interface PointSpec {
  /** Axis key -> value (fixed `set` overrides are not repeated here). */
  overrides: Record<string, unknown>;
  seed?: number;
}

const KEY = /^[A-Za-z_][\w-]*(\.([A-Za-z_][\w-]*|\d+))*$/;

/** `a..b` (inclusive integers) -> [a, ..., b]. */
export function parseIntRange(text: string, where: string): number[] {
  const m = /^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$/.exec(text);
  if (!m) throw new SweepSpecError(`${where}: '${text}' is not a range (write a..b, e.g. 0..9, or a list)`);
  const a = Number(m[1]);
  const b = Number(m[2]);
  if (b < a) throw new SweepSpecError(`${where}: empty range ${text} (the end must be >= the start)`);
  if (b - a >= 100000) throw new SweepSpecError(`${where}: range ${text} has more than 100000 values`);
  return Array.from({length: b - a + 1}, (_, i) => a + i);
}

/** Rounds away floating-point noise such as 0.30000000000000004 (12 significant digits). */
const tidy = (x: number) => Number(x.toPrecision(12));

function rangeValues(r: z.infer<typeof rangeObj>, where: string): number[] {
  if ((r.step === undefined) === (r.num === undefined)) throw new SweepSpecError(`${where}: give exactly one of step or num with from/to`);
  if (r.log && (r.from <= 0 || r.to <= 0)) throw new SweepSpecError(`${where}: log ranges need from and to > 0`);
  if (r.num !== undefined) {
    if (r.num === 1) return [r.from];
    const f = (k: number) => (r.log ? 10 ** (Math.log10(r.from) + (k * (Math.log10(r.to) - Math.log10(r.from))) / (r.num! - 1)) : r.from + (k * (r.to - r.from)) / (r.num! - 1));
    return Array.from({length: r.num}, (_, k) => (k === r.num! - 1 ? r.to : tidy(f(k))));
  }
  if (r.log) throw new SweepSpecError(`${where}: log ranges take num, not step`);
  if (r.to < r.from) throw new SweepSpecError(`${where}: empty range (to < from)`);
  const n = Math.floor((r.to - r.from) / r.step! + 1e-9) + 1;
  if (n > 100000) throw new SweepSpecError(`${where}: range has more than 100000 values`);
  return Array.from({length: n}, (_, k) => tidy(r.from + k * r.step!));
}

function toAxis(key: string, raw: z.infer<typeof axisSchema>, where: string): Axis {
  if (Array.isArray(raw)) return {key, values: raw};
  if (typeof raw === 'string') {
    if (/^\s*-?\d+\s*\.\.\s*-?\d+\s*$/.test(raw)) return {key, values: parseIntRange(raw, where)};
    return {key, values: [raw]};
  }
  if (typeof raw !== 'object' || raw === null) return {key, values: [raw]};
  if ('values' in raw) return {key, values: raw.values};
  if ('uniform' in raw) return {key, dist: {kind: 'uniform', lo: raw.uniform[0], hi: raw.uniform[1]}};
  if ('loguniform' in raw) return {key, dist: {kind: 'loguniform', lo: raw.loguniform[0], hi: raw.loguniform[1]}};
  if ('int' in raw) return {key, dist: {kind: 'int', lo: raw.int[0], hi: raw.int[1]}};
  return {key, values: rangeValues(raw as z.infer<typeof rangeObj>, where)};
}

function checkKey(key: string, where: string): void {
  if (!KEY.test(key)) throw new SweepSpecError(`${where}: '${key}' is not a dotted key path (e.g. model.activation)`);
  if (key === 'seed') throw new SweepSpecError(`${where}: sweep seeds with the top-level 'seeds:' key (e.g. seeds: 0..9), not as an override`);
}

/** Parses a sweep file's text. Errors are one line naming the file and field. */
export function parseSweepText(text: string, file: string, defaultName: string): SweepSpec {
  const doc = parseDocument(text, {uniqueKeys: true});
  if (doc.errors.length > 0) throw new SweepSpecError(`${file}: YAML syntax error: ${doc.errors[0].message.split('\n')[0]}`);
  const raw: unknown = doc.toJS() ?? {};
  const parsed = sweepSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.join('.') || '(top level)';
    let msg = issue.message;
    if (issue.code === z.ZodIssueCode.unrecognized_keys) msg = `unknown key '${issue.keys[0]}' (allowed: ${issue.path.length === 0 ? Object.keys(sweepSchema.shape).join(', ') : issue.path[0] === 'slurm' ? Object.keys(slurmSchema.shape).join(', ') : 'see tdlab sweep --help'})`;
    else if (issue.code === z.ZodIssueCode.invalid_union && issue.path[0] === 'axes') msg = 'an axis is a list of values, a range a..b, {from, to, step|num, log}, {values: [...]}, or (with sample) {uniform|loguniform|int: [lo, hi]}';
    else if (issue.code === z.ZodIssueCode.invalid_type) msg = `expected ${issue.expected}, got ${issue.received}`;
    throw new SweepSpecError(`${file}: ${field}: ${msg}`);
  }
  const s = parsed.data;
  const set: Array<[string, unknown]> = [];
  if (Array.isArray(s.set)) {
    for (const ov of s.set) {
      const eq = ov.indexOf('=');
      if (eq <= 0) throw new SweepSpecError(`${file}: set: '${ov}' is not key=value`);
      const key = ov.slice(0, eq).trim();
      const v = parseDocument(ov.slice(eq + 1));
      if (v.errors.length) throw new SweepSpecError(`${file}: set: '${ov}': value is not valid YAML`);
      set.push([key, v.toJS()]);
    }
  } else set.push(...Object.entries(s.set));
  for (const [k] of set) checkKey(k, `${file}: set`);
  const axes = Object.entries(s.axes).map(([k, v]) => {
    checkKey(k, `${file}: axes.${k}`);
    if (set.some(([sk]) => sk === k)) throw new SweepSpecError(`${file}: axes.${k}: also fixed in set (remove one)`);
    return toAxis(k, v, `${file}: axes.${k}`);
  });
  const continuous = axes.find((a) => 'dist' in a);
  if (continuous && !s.sample) throw new SweepSpecError(`${file}: axes.${continuous.key}: distributions need random sampling (add sample: {n, seed})`);
  for (const a of axes) {
    if ('dist' in a && !(a.dist.hi > a.dist.lo)) throw new SweepSpecError(`${file}: axes.${a.key}: empty interval [${a.dist.lo}, ${a.dist.hi}]`);
    if ('values' in a) for (const v of a.values) checkFormattable(a.key, v, `${file}: axes.${a.key}`);
  }
  for (const [k, v] of set) checkFormattable(k, v, `${file}: set.${k}`);
  let seeds: number[] | undefined;
  if (typeof s.seeds === 'string') seeds = parseIntRange(s.seeds, `${file}: seeds`);
  else if (typeof s.seeds === 'number') seeds = [s.seeds];
  else seeds = s.seeds;
  if (seeds) {
    if (seeds.some((x) => x < 0)) throw new SweepSpecError(`${file}: seeds: seeds must be >= 0`);
    if (new Set(seeds).size !== seeds.length) throw new SweepSpecError(`${file}: seeds: repeated seed`);
  }
  const name = s.name ?? defaultName;
  if (!/^[A-Za-z0-9][\w.-]*$/.test(name)) throw new SweepSpecError(`${file}: name: '${name}' (from the file name) cannot name a sweep directory; give name: with letters, digits, _ . - only`);
  return {name, base: s.base, set, axes, seeds, sample: s.sample, slurm: s.slurm, checks: s.checks};
}

/** `key=value` in `--set` syntax: the value as one-line YAML, so parsing it gives it back. */
export function formatOverride(key: string, value: unknown): string {
  return `${key}=${stringify(value, {collectionStyle: 'flow', lineWidth: 0}).trim()}`;
}

function checkFormattable(key: string, value: unknown, where: string): void {
  const text = formatOverride(key, value);
  const back = parseDocument(text.slice(text.indexOf('=') + 1)).toJS();
  if (!isDeepStrictEqual(back, value)) throw new SweepSpecError(`${where}: value ${JSON.stringify(value)} cannot be written as an override`);
}

/** Number of settings (without seeds) of the full grid; Infinity when an axis is a distribution. */
export function gridSize(axes: readonly Axis[]): number {
  return axes.reduce((n, a) => n * ('values' in a ? a.values.length : Infinity), 1);
}

/** The i-th setting of the grid, in odometer order (the last axis varies fastest). */
function gridSetting(axes: readonly Axis[], i: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let k = axes.length - 1; k >= 0; k--) {
    const vals = (axes[k] as {values: unknown[]}).values;
    out[axes[k].key] = vals[i % vals.length];
    i = Math.floor(i / vals.length);
  }
  return Object.fromEntries(axes.map((a) => [a.key, out[a.key]]));
}

function draw(rng: Rng, d: Distribution): number {
  const u = rng.uniform();
  if (d.kind === 'uniform') return tidy(d.lo + u * (d.hi - d.lo));
  if (d.kind === 'loguniform') return tidy(Math.exp(Math.log(d.lo) + u * (Math.log(d.hi) - Math.log(d.lo))));
  return d.lo + Math.floor(u * (d.hi - d.lo + 1));
}

/**
 * The settings of a sweep (axis values, without seeds): the full grid in odometer order, or with
 * `sample: {n, seed}` n settings drawn with a seeded generator - distinct grid points when every
 * axis is a list, else independent draws per axis.
 */
export function expandSettings(spec: Pick<SweepSpec, 'axes' | 'sample'>): Array<Record<string, unknown>> {
  const {axes, sample} = spec;
  const size = gridSize(axes);
  if (!sample) {
    if (size > 100000) throw new SweepSpecError(`the grid has ${size} settings (more than 100000); use sample: {n, seed}`);
    return Array.from({length: size}, (_, i) => gridSetting(axes, i));
  }
  const rng = new Rng(sample.seed, 'sweep-sample');
  if (Number.isFinite(size)) {
    if (sample.n > size) throw new SweepSpecError(`sample.n = ${sample.n} is more than the ${size} settings of the grid (lower n, or drop sample to run the grid)`);
    // partial Fisher-Yates over grid indices: n distinct settings in draw order
    const idx = Array.from({length: size}, (_, i) => i);
    for (let i = 0; i < sample.n; i++) {
      const j = i + rng.int(size - i);
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    return idx.slice(0, sample.n).map((i) => gridSetting(axes, i));
  }
  return Array.from({length: sample.n}, () => Object.fromEntries(axes.map((a) => [a.key, 'values' in a ? a.values[rng.int(a.values.length)] : draw(rng, a.dist)])));
}

/** Every point: each setting crossed with each seed (seeds vary fastest). */
export function expandSweep(spec: Pick<SweepSpec, 'axes' | 'sample' | 'seeds'>): PointSpec[] {
  const settings = expandSettings(spec);
  const out: PointSpec[] = [];
  for (const overrides of settings) {
    if (spec.seeds) for (const seed of spec.seeds) out.push({overrides, seed});
    else out.push({overrides});
  }
  return out;
}

/** The `--set` list of a point: the fixed overrides, then the point's axis values. */
export function pointSet(fixed: ReadonlyArray<[string, unknown]>, overrides: Record<string, unknown>): string[] {
  return [...fixed.map(([k, v]) => formatOverride(k, v)), ...Object.entries(overrides).map(([k, v]) => formatOverride(k, v))];
}

/** A short human label of a point, e.g. `model.activation=relu seed=3`. */
export function pointLabel(p: {overrides: Record<string, unknown>; seed?: number | null}): string {
  const parts = Object.entries(p.overrides).map(([k, v]) => formatOverride(k, v));
  if (p.seed !== undefined && p.seed !== null) parts.push(`seed=${p.seed}`);
  return parts.join(' ') || '(base)';
}
