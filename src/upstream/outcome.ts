/**
 * How one upstream attempt ended, before anything reached the client: what
 * the attempt reports, and what the fallback decision (proxy/fallback.ts) reads.
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
