/**
 * The client's error when every attempt failed: the first failure, as the
 * one error type the handler renders in the door's API shape. A backend's
 * own 5xx or 429 is passed on (masked) with one well-formed Retry-After.
 *
 * @module
 */

import { ProxyError } from "../errors/errors.ts";
import type { Failure } from "../upstream/failure.ts";
import { downstreamHeaders } from "../upstream/headers.ts";
import type { ProxyState, Route } from "./state.ts";

/** The client's error when every attempt failed: `failure` is the first one, on `route`. */
export function failureError(state: ProxyState, route: Route, failure: Failure): ProxyError {
  switch (failure.kind) {
    case "timeout":
      return ProxyError.timeout(route.host, state.config.timeoutMs);
    case "connect":
      return ProxyError.unreachable(route.host);
    case "bad_stream":
      return ProxyError.badStream(route.host, failure.message);
    case "bad_response":
      return ProxyError.badResponse(route.host, failure.code, failure.message);
    case "redirect":
      return ProxyError.redirect(route.host, failure.code, route.config.name);
    case "client_gone":
      return ProxyError.clientGone();
    case "status": {
      const headers = downstreamHeaders(failure.answer.headers, false, state.masker);
      if (failure.code === 429) saneRetryAfter(state, headers, failure.retryAfterMs);
      return ProxyError.fromBackend({ status: failure.code, headers, body: failure.answer.body });
    }
  }
}

/** The client gets one well-formed Retry-After, in seconds, capped like the breaker's cooldown. */
function saneRetryAfter(state: ProxyState, headers: Headers, own: number | undefined): void {
  const routeDelays = [state.routes.fast.breaker.snapshot(), state.routes.smart.breaker.snapshot()]
    .filter((s) => s.until !== undefined)
    .map((s) => Date.parse(s.until!) - Date.now());
  const candidates = own !== undefined ? [own] : routeDelays;
  const ms = candidates.length > 0 ? Math.min(...candidates) : state.config.breakerCooldownMs;
  headers.delete("retry-after-ms");
  headers.set("retry-after", String(Math.min(300, Math.max(1, Math.ceil(ms / 1000)))));
}
