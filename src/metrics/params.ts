/**
 * Canonical text of an estimator's parameters as stored with every value:
 * `key=value` pairs sorted by key, joined with ';' (the unit has its own column).
 */
export function formatParams(params: Record<string, unknown>): string {
  return Object.keys(params)
    .filter((k) => k !== 'unit' && params[k] !== undefined)
    .sort()
    .map((k) => `${k}=${String(params[k])}`)
    .join(';');
}
