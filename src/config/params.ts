import {parseDocument} from 'yaml';
import {z} from 'zod';
import type {Estimator} from '../metrics/types.js';

/** What parameter handling needs of any metric kind (estimator, weight, similarity or history metric). */
type Metric = Pick<Estimator<any>, 'name' | 'params'>;
import {UserError} from '../util/errors.js';

/** Parameter names an estimator accepts (keys of its zod object schema). */
export function paramNames(est: Metric): string[] {
  let s: z.ZodTypeAny = est.params as z.ZodTypeAny;
  for (;;) {
    if (s instanceof z.ZodEffects) s = s._def.schema;
    else if (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s._def.innerType;
    else break;
  }
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function parseValue(text: string): unknown {
  const doc = parseDocument(text);
  return doc.errors.length ? text : doc.toJS();
}

/**
 * `--param key=v1,v2` flags to a value list per key (values YAML-typed: 1e-3 is a number,
 * true a boolean). Several values make a sweep.
 */
export function parseParamFlags(flags: string[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const f of flags) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new UserError(`--param ${f}: expected name=value or name=v1,v2,... (e.g. --param noiseVariance=1e-4,1e-3)`);
    const key = f.slice(0, eq).trim();
    const values = f.slice(eq + 1).split(',').map((v) => parseValue(v.trim()));
    out[key] = [...(out[key] ?? []), ...values];
  }
  return out;
}

/** Cartesian product of parameter value lists, in the order given. */
export function expandGrid(grid: Record<string, unknown[]>): Record<string, unknown>[] {
  let sets: Record<string, unknown>[] = [{}];
  for (const [k, values] of Object.entries(grid)) sets = sets.flatMap((s) => values.map((v) => ({...s, [k]: v})));
  return sets;
}

/**
 * Parameter sets for one estimator from `--param` flags: only the keys it accepts are used;
 * each set is validated (defaults filled). `strict` rejects keys no chosen estimator knows.
 */
export function paramSetsFor(est: Metric, grid: Record<string, unknown[]>): Record<string, unknown>[] {
  const names = new Set(paramNames(est));
  const own = Object.fromEntries(Object.entries(grid).filter(([k]) => names.has(k)));
  return expandGrid(own).map((p) => {
    const r = est.params.safeParse(p);
    if (!r.success) {
      const is = r.error.issues[0];
      throw new UserError(`--param ${is.path.join('.') || ''}: ${est.name}: ${is.message} (parameters: ${[...names].join(', ')})`);
    }
    return r.data as Record<string, unknown>;
  });
}

/** Fails when a `--param` key is accepted by none of the chosen estimators. */
export function checkParamKeys(ests: Metric[], grid: Record<string, unknown[]>): void {
  for (const key of Object.keys(grid)) {
    if (!ests.some((e) => paramNames(e).includes(key))) {
      const known = ests.map((e) => `${e.name}: ${paramNames(e).join(', ') || '(none)'}`).join('; ');
      throw new UserError(`--param ${key}: no chosen estimator has a parameter '${key}' (${known})`);
    }
  }
}
