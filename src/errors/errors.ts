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

  /** The client disconnected (499, nginx's code): nothing more is attempted for it. */
  static clientGone(): ProxyError {
    return new ProxyError(499, "invalid_request_error", "client_gone", "the client disconnected");
  }

  /** Shutdown has begun: retry shortly (another instance may serve it). */
  static shuttingDown(): ProxyError {
    return new ProxyError(503, "server_error", "proxy_shutdown", "modelpin is shutting down; retry shortly", {
      "retry-after": "1",
    });
  }

  /** A method the endpoint does not serve; `allow` lists those it does. */
  static methodNotAllowed(allow: string): ProxyError {
    return new ProxyError(405, "invalid_request_error", "method_not_allowed", `method not allowed; use ${allow}`, {
      allow,
    });
  }

  /** No or a wrong proxy key while PROXY_API_KEYS is set. */
  static unauthorized(): ProxyError {
    return new ProxyError(
      401,
      "authentication_error",
      "invalid_api_key",
      "missing or wrong proxy key: send one of PROXY_API_KEYS as 'Authorization: Bearer <key>'",
    );
  }

  /** A path no endpoint serves. */
  static notFound(method: string, path: string): ProxyError {
    return new ProxyError(
      404,
      "not_found_error",
      "not_found",
      `no route for ${method} ${path}: modelpin serves /v1/... (OpenAI API) and /health`,
    );
  }

  /** A path that could climb out of the backend's base path. */
  static dotSegments(): ProxyError {
    return new ProxyError(
      400,
      "invalid_request_error",
      "invalid_path",
      "path must not contain '.' or '..' segments, backslashes or encoded slashes",
    );
  }

  /** The backend gave no first answer within PROXY_TIMEOUT. */
  static timeout(host: string, timeoutMs: number): ProxyError {
    return new ProxyError(
      504,
      "timeout_error",
      "upstream_timeout",
      `backend ${host} did not answer within PROXY_TIMEOUT (${timeoutMs / 1000} s)`,
    );
  }

  /** The backend could not be reached (refused, reset, DNS, TLS). */
  static unreachable(host: string): ProxyError {
    return new ProxyError(502, "upstream_error", "upstream_unreachable", `could not connect to backend ${host}`);
  }

  /** A stream whose first event was an error, or a non-stream answer to a stream request. */
  static badStream(host: string, said: string): ProxyError {
    return new ProxyError(502, "upstream_error", "upstream_bad_stream", `backend ${host} failed the stream: ${said}`);
  }

  /** An answer that cannot be relayed (an odd status, an unknown encoding). */
  static badResponse(host: string, code: string, message: string): ProxyError {
    return new ProxyError(502, "upstream_error", code, `${message} (backend ${host})`);
  }

  /** A redirect, never followed so that the key stays on its host. */
  static redirect(host: string, status: number, route: string): ProxyError {
    return new ProxyError(
      502,
      "upstream_error",
      "upstream_redirect",
      `backend ${host} answered with redirect ${status}; modelpin never follows redirects (so the key stays on that host): check ${route.toUpperCase()}_BASE_URL`,
    );
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
