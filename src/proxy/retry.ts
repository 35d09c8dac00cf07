/**
 * The same-route retry's two rules: which failures are a blip worth one more
 * try on the route the user's model name chose (a 5xx or a reset while the
 * route's breaker stays closed, a 429 asking for a short wait; never a
 * timeout), and the wait before it, which a departing client ends.
 *
 * @module
 */

import type { Failure } from "../upstream/failure.ts";
import type { Route } from "./state.ts";

/** The longest Retry-After a 429 may ask for and still be retried on the same route (after waiting it). */
const MAX_RETRY_WAIT_MS = 5000;

/** How long to wait before retrying `failure` on the same route, or `undefined` for no retry. */
export function retryWait(route: Route, failure: Failure): number | undefined {
  switch (failure.kind) {
    case "status":
      if (failure.code === 429) {
        const ms = failure.retryAfterMs;
        return ms !== undefined && ms <= MAX_RETRY_WAIT_MS ? ms : undefined;
      }
      return route.breaker.snapshot().state === "closed" ? 0 : undefined;
    case "connect":
      return route.breaker.snapshot().state === "closed" ? 0 : undefined;
    case "timeout":
    case "bad_stream":
    case "bad_response":
    case "redirect":
    case "client_gone":
      return undefined;
  }
}

/** Resolves true after `ms`, or false as soon as the client leaves. */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const gone = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", gone);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", gone, { once: true });
  });
}
