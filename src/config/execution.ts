/**
 * Config keys that say how a run is computed, not what: every value of them gives the same bytes
 * (e.g. `metrics.threads`). They are left out of the config hash, so changing one does not make
 * a run stale or a sweep point new, and they are not differences between runs (aggregate, compare).
 */
export const EXECUTION_KEYS = ['metrics.threads'] as const;

/** A resolved config without its execution keys (a copy; the config itself is not changed). */
export function withoutExecutionKeys<C extends object>(config: C): C {
  const out = structuredClone(config) as Record<string, unknown>;
  for (const key of EXECUTION_KEYS) {
    const path = key.split('.');
    let at: Record<string, unknown> | undefined = out;
    for (const p of path.slice(0, -1)) at = at?.[p] && typeof at[p] === 'object' ? (at[p] as Record<string, unknown>) : undefined;
    if (at) delete at[path[path.length - 1]];
  }
  return out as C;
}
