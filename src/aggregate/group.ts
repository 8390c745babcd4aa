/**
 * Grouping runs by configuration: flatten resolved configs to `key.path -> value`, find the keys
 * that differ between runs (the swept ones), and group runs by the values of chosen keys.
 */
import {EXECUTION_KEYS} from '../config/execution.js';

/** Config values at leaf key paths. Objects are flattened (`train.lr`); arrays are kept whole. */
export function flattenConfig(config: unknown, prefix = '', out: Map<string, unknown> = new Map()): Map<string, unknown> {
  if (config !== null && typeof config === 'object' && !Array.isArray(config)) {
    const entries = Object.entries(config as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.set(prefix, {});
    for (const [k, v] of entries) flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.set(prefix, config);
  }
  return out;
}

/** Stable text of a value (JSON with sorted keys) for comparisons. */
export function valueKey(v: unknown): string {
  if (v === undefined) return '(unset)';
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

/** Human text of a value: strings bare, everything else as JSON. */
export function valueText(v: unknown): string {
  return typeof v === 'string' ? v : valueKey(v);
}

/** Key paths whose values are not the same in every config (sorted), minus `exclude` (default: the seed and the execution keys). */
export function differingKeys(configs: readonly unknown[], exclude: readonly string[] = ['seed', ...EXECUTION_KEYS]): string[] {
  const flat = configs.map((c) => flattenConfig(c));
  const keys = new Set<string>();
  for (const f of flat) for (const k of f.keys()) keys.add(k);
  const out: string[] = [];
  for (const k of keys) {
    if (exclude.includes(k)) continue;
    const values = new Set(flat.map((f) => valueKey(f.get(k))));
    if (values.size > 1) out.push(k);
  }
  return out.sort();
}

/** Value at a key path of a config (dotted; array indices allowed). */
export function valueAt(config: unknown, path: string): unknown {
  let cur: unknown = config;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export interface RunGroup<R> {
  /** Key path -> value for the grouping keys. */
  key: Record<string, unknown>;
  /** `model.activation=relu, train.l2=0.015`, or `all runs` when there are no keys. */
  label: string;
  members: R[];
}

/** Groups items by the values of `keys` in their configs; groups in order of first appearance. */
export function groupBy<R>(items: readonly R[], configOf: (r: R) => unknown, keys: readonly string[]): RunGroup<R>[] {
  const groups = new Map<string, RunGroup<R>>();
  for (const it of items) {
    const cfg = configOf(it);
    const key: Record<string, unknown> = {};
    for (const k of keys) key[k] = valueAt(cfg, k) ?? null;
    const id = keys.map((k) => valueKey(key[k])).join('\u0000');
    let g = groups.get(id);
    if (!g) {
      const label = keys.length ? keys.map((k) => `${k}=${valueText(key[k])}`).join(', ') : 'all runs';
      g = {key, label, members: []};
      groups.set(id, g);
    }
    g.members.push(it);
  }
  return [...groups.values()];
}
