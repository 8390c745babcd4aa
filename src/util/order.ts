const collator = new Intl.Collator('en', {numeric: true});

/**
 * Natural, host-independent string order: digits compare as numbers ("h2" before "h10",
 * "bins=30" before "bins=100"); strings the collator calls equal fall back to code-unit order,
 * so the order is total.
 */
export function naturalCompare(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}
