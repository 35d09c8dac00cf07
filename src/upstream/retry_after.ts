/**
 * Retry-After parsing: delay-seconds, HTTP-date, and the `retry-after-ms`
 * header that OpenAI-compatible backends send.
 *
 * @module
 */

/**
 * The delay a response asks for, in ms, or `undefined` when it names none or
 * only garbage. A date in the past means 0.
 */
export function retryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = headers.get("retry-after-ms");
  if (ms !== null && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.round(Number(ms));
  const value = headers.get("retry-after")?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  // HTTP-date (IMF-fixdate and the obsolete forms): must name a weekday or GMT to count.
  if (!/[a-z]{3}/i.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
