/**
 * Per-route figures the status page shows: counts, tokens, the last error and
 * the median time to first token over a fixed window of samples.
 *
 * @module
 */

import type { FailureLabel } from "../upstream/failure.ts";

/** The last failed attempt of a route, for the status page. */
export interface LastError {
  /** When, as an ISO date. */
  time: string;
  /** The metric reason. */
  reason: FailureLabel;
  /** What happened, already masked by the caller. */
  message: string;
}

const FIRST_BYTE_SAMPLES = 128;

/** Per-route figures the status page shows. */
export class RouteStats {
  /** Requests this route answered. */
  requests = 0;
  /** Failed attempts on this route. */
  failures = 0;
  /** Requests that left this route for the other one. */
  fallbacks = 0;
  /** Retries on this route after a transient failure. */
  retries = 0;
  /** Tokens in (prompt) and out (completion). */
  tokensIn = 0;
  /** Tokens out. */
  tokensOut = 0;
  /** The last failure, if any. */
  lastError: LastError | undefined;
  readonly #firstByte = new Float64Array(FIRST_BYTE_SAMPLES);
  #samples = 0;

  /** Records a first-byte time in seconds (the last 128 are kept). */
  firstByte(seconds: number): void {
    this.#firstByte[this.#samples++ % FIRST_BYTE_SAMPLES] = seconds;
  }

  /** The median first-byte time in ms over the kept samples, or null without any. */
  firstByteP50Ms(): number | null {
    const n = Math.min(this.#samples, FIRST_BYTE_SAMPLES);
    if (n === 0) return null;
    const sorted = this.#firstByte.slice(0, n).sort();
    const mid = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    return Math.round(mid * 10_000) / 10;
  }
}
