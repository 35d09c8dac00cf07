/**
 * Progress lines of the benchmark go to stderr; stdout carries only the report.
 *
 * @module
 */

/** Writes one progress line to stderr. */
export function log(text: string): void {
  console.error(text);
}
