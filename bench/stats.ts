/**
 * Small statistics helpers of the benchmark (pure).
 *
 * @module
 */

/** The p-th percentile (nearest rank) of `values`; NaN for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** The median (nearest rank, so always one of the values). */
export function median(values: number[]): number {
  return percentile(values, 50);
}

/** `items` rotated left by `by`, so each round starts with a different target. */
export function rotate<T>(items: T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
