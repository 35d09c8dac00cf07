/**
 * The fallback decision: whether an attempt's outcome is the route's fault,
 * and whether to try the other route. Pure, so it can be table-tested.
 *
 * @module
 */

import type { Outcome } from "../upstream/outcome.ts";

export type { Outcome };

/**
 * Why an outcome counts as a failure of the route (connection error,
 * timeout, 5xx, 429, broken first event, an answer that cannot be relayed), or `undefined` when it does not.
 * Other 4xx are the client's problem, and a redirect is a configuration error.
 */
export function routeFailure(outcome: Outcome): string | undefined {
  switch (outcome.kind) {
    case "connect_error":
      return "connect_error";
    case "timeout":
      return "timeout";
    case "bad_stream":
      return "bad_stream";
    case "bad_response":
      return "bad_response";
    case "response":
      return outcome.status >= 500 || outcome.status === 429 ? `status_${outcome.status}` : undefined;
    default:
      return undefined;
  }
}

/** Whether to retry on the other route: once, only for route failures, only if fallback is on. */
export function shouldFallback(outcome: Outcome, fallbackEnabled: boolean, attemptsMade: number): boolean {
  return fallbackEnabled && attemptsMade === 1 && routeFailure(outcome) !== undefined;
}
