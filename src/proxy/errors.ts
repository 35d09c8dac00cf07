/**
 * Errors the proxy itself produces, and the one place they become HTTP
 * responses in OpenAI's error shape.
 *
 * @module
 */

/** The `type` field of an OpenAI-shaped error. */
export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "not_found_error"
  | "rate_limit_error"
  | "upstream_error"
  | "timeout_error"
  | "server_error";

/** An error that the proxy answers with; it carries everything the response needs. */
export class ProxyError extends Error {
  /** HTTP status sent to the client. */
  readonly status: number;
  /** OpenAI error `type`. */
  readonly type: ErrorType;
  /** OpenAI error `code`: a stable machine-readable reason. */
  readonly code: string;
  /** Extra response headers, such as `Allow` or `Retry-After`. */
  readonly headers: Record<string, string>;

  /** Builds an error with its status, type, code and client-safe message. */
  constructor(
    status: number,
    type: ErrorType,
    code: string,
    message: string,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ProxyError";
    this.status = status;
    this.type = type;
    this.code = code;
    this.headers = headers;
  }
}

/** The JSON text of an OpenAI-shaped error body. */
export function errorBody(message: string, type: string, code: string): string {
  return JSON.stringify({ error: { message, type, code, param: null } });
}

/**
 * Turns anything thrown while handling a request into a response. A
 * {@linkcode ProxyError} keeps its status; anything else is a 500 whose
 * message does not echo internals (they could hold configuration).
 */
export function errorResponse(err: unknown): Response {
  const e = err instanceof ProxyError
    ? err
    : new ProxyError(500, "server_error", "internal_error", "modelpin hit an internal error; see its log");
  return new Response(errorBody(e.message, e.type, e.code), {
    status: e.status,
    headers: { "content-type": "application/json", ...e.headers },
  });
}

/** The SSE event that ends a stream the backend broke off, so clients can tell. */
export function sseErrorEvent(message: string, code: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(
    `data: ${errorBody(message, "upstream_error", code)}\n\n`,
  );
}
