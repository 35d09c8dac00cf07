/**
 * The fallback decision: whether an attempt's outcome is the route's fault,
 * and whether to try the other route. Pure, so it can be table-tested.
 *
 * @module
 */

/** How one upstream attempt ended, before anything reached the client. */
export type Outcome =
  /** The backend answered; for a stream, its first event arrived and was not an error. */
  | { kind: "response"; status: number }
  /** Refused, reset, DNS failure, TLS failure: no usable answer. */
  | { kind: "connect_error" }
  /** No answer (headers, first event, or whole JSON body) within PROXY_TIMEOUT. */
  | { kind: "timeout" }
  /** A 200 stream whose first event was an error, or a 200 that is not SSE when SSE was asked for. */
  | { kind: "bad_stream" }
  /** A redirect, which is never followed: the key must not travel to another host. */
  | { kind: "redirect"; status: number }
  /** An answer that cannot be relayed (a status outside 200-599, an unknown encoding): `message` says why. */
  | { kind: "bad_response"; code: string; message: string }
  /** The client left; nothing more is attempted for it. */
  | { kind: "client_gone" };

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
