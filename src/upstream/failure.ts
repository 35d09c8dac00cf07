/**
 * How an upstream attempt failed, decided once, where the backend's answer
 * is judged. Everything else derives from this one closed union with an
 * exhaustive `switch`: the breaker's verdict, the fallback decision, the
 * metric label, the log's reason. No other module names a failure.
 *
 * @module
 */

/** A backend's error answer, kept to be passed on (masked) when it is the one the client gets. */
export interface BackendAnswer {
  /** Its status. */
  status: number;
  /** Its headers. */
  headers: Headers;
  /** Its body, read whole (bounded). */
  body: Uint8Array<ArrayBuffer>;
}

/** Why an attempt produced nothing the client can be given. */
export type Failure =
  /** No answer (head, first content event, or whole JSON body) within PROXY_TIMEOUT. */
  | { kind: "timeout" }
  /** Refused, reset, DNS or TLS failure: no usable answer. */
  | { kind: "connect" }
  /** A 5xx or a 429: the backend's answer, and the delay a 429 asked for. */
  | { kind: "status"; code: number; retryAfterMs: number | undefined; answer: BackendAnswer }
  /** A stream whose first event with content was an error, that ended or broke before it, or that is not SSE. */
  | { kind: "bad_stream"; message: string }
  /** An answer that cannot be relayed (an odd status or encoding, too large, the wrong shape). */
  | { kind: "bad_response"; code: string; message: string }
  /** A redirect, never followed: the key must not travel to another host. */
  | { kind: "redirect"; code: number }
  /** The client left: nothing more is attempted for it. */
  | { kind: "client_gone" };

/** The metric label of a failure (and of a fallback, with `cooling` for a skipped route). */
export type FailureLabel =
  | "timeout"
  | "connect_error"
  | "status_5xx"
  | "status_429"
  | "bad_stream"
  | "bad_response"
  | "redirect"
  | "client_gone";

/**
 * Whether the failure is the route's: it counts against the route's breaker
 * and the other route is tried. A redirect is a configuration error and a
 * departed client says nothing about the backend.
 */
export function isRouteFailure(failure: Failure): boolean {
  switch (failure.kind) {
    case "timeout":
    case "connect":
    case "status":
    case "bad_stream":
    case "bad_response":
      return true;
    case "redirect":
    case "client_gone":
      return false;
  }
}

/** The failure's metric label. */
export function failureLabel(failure: Failure): FailureLabel {
  switch (failure.kind) {
    case "timeout":
      return "timeout";
    case "connect":
      return "connect_error";
    case "status":
      return failure.code === 429 ? "status_429" : "status_5xx";
    case "bad_stream":
      return "bad_stream";
    case "bad_response":
      return "bad_response";
    case "redirect":
      return "redirect";
    case "client_gone":
      return "client_gone";
  }
}

/** The reason the log and the status page give for a fallback: the label, with the exact status. */
export function failureReason(failure: Failure): string {
  return failure.kind === "status" ? `status_${failure.code}` : failureLabel(failure);
}
