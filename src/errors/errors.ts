/**
 * The one failure type a request can end with: modelpin's own errors, and a
 * backend's error answer passed on. Each front door renders it in its API's
 * shape, in one place (its dialect's `renderError`); this module knows only
 * OpenAI's error JSON, which is also what backends speak.
 *
 * @module
 */

import { parseJson } from "../json_depth.ts";

/** The `type` field of an OpenAI-shaped error. */
export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "not_found_error"
  | "rate_limit_error"
  | "upstream_error"
  | "timeout_error"
  | "server_error";

/** A backend's error answer as it came: status, headers (already cleaned for the client) and body. */
export interface BackendError {
  /** The backend's status. */
  status: number;
  /** Its headers, as the client may get them. */
  headers: Headers;
  /** Its body, read whole. */
  body: Uint8Array<ArrayBuffer>;
}

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
  /**
   * The backend's own error answer, when this error is one: a door that speaks
   * the backend's API passes it on as it came (masked); others re-shape it.
   */
  readonly backend: BackendError | undefined;

  /** Builds an error with its status, type, code and client-safe message. */
  constructor(
    status: number,
    type: ErrorType,
    code: string,
    message: string,
    headers: Record<string, string> = {},
    backend?: BackendError,
  ) {
    super(message);
    this.name = "ProxyError";
    this.status = status;
    this.type = type;
    this.code = code;
    this.headers = headers;
    this.backend = backend;
  }

  /**
   * The error as a client may see it: its message masked by `cut` (which
   * masks configured keys, then shortens), everything else as it is.
   */
  shown(cut: (message: string) => string): ProxyError {
    return new ProxyError(this.status, this.type, this.code, cut(this.message), this.headers, this.backend);
  }

  /** The client's request is wrong (a 400 unless `status` says otherwise): `code` names what, `message` how to fix it. */
  static invalid(code: string, message: string, status = 400): ProxyError {
    return new ProxyError(status, "invalid_request_error", code, message);
  }

  /** A backend's error answer (a 4xx, or the 5xx/429 of a route that could not be avoided), passed on. */
  static fromBackend(answer: BackendError): ProxyError {
    const message = errorMessageOf(answer.body) || `the backend answered HTTP ${answer.status}`;
    const type: ErrorType = answer.status === 429
      ? "rate_limit_error"
      : answer.status >= 500
      ? "upstream_error"
      : "invalid_request_error";
    return new ProxyError(answer.status, type, "upstream_error", message, {}, answer);
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

  /** A WebSocket upgrade: modelpin relays HTTP only, and could not force a model inside a WebSocket. */
  static upgradeRequired(): ProxyError {
    return new ProxyError(
      426,
      "invalid_request_error",
      "upgrade_required",
      "modelpin does not relay WebSockets (it could not force the model inside one): use HTTP",
      { upgrade: "HTTP/1.1", connection: "Upgrade" },
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
 * `err` in OpenAI's error shape, the shape of every OpenAI-style API (chat
 * completions, the Responses API): a backend's own error answer as it came
 * (the backend speaks this API too), modelpin's own as `{"error": {...}}`.
 */
export function openAiErrorReply(err: ProxyError): {
  status: number;
  headers: [string, string][];
  body: string | Uint8Array<ArrayBuffer>;
} {
  if (err.backend) {
    const headers: [string, string][] = [];
    err.backend.headers.forEach((value, name) => headers.push([name, value]));
    return { status: err.backend.status, headers, body: err.backend.body };
  }
  return {
    status: err.status,
    headers: [["content-type", "application/json"], ...Object.entries(err.headers)],
    body: errorBody(err.message, err.type, err.code),
  };
}

/** Anything thrown while handling a request, as a {@linkcode ProxyError}: the unexpected ones are a 500 that echoes nothing. */
export function asProxyError(err: unknown): ProxyError {
  return err instanceof ProxyError
    ? err
    : new ProxyError(500, "server_error", "internal_error", "modelpin hit an internal error; see its log");
}

/**
 * The message of a parsed error value: a string, or an object's `message`
 * (one level of `error` nesting followed). `undefined` when there is none.
 */
export function messageOf(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.message === "string") return v.message;
  if (typeof v.error === "string") return v.error;
  if (typeof v.error === "object" && v.error !== null) {
    const inner = (v.error as Record<string, unknown>).message;
    if (typeof inner === "string") return inner;
  }
  return undefined;
}

/**
 * The message inside an error body: OpenAI's shape (`{"error": {"message"}}`),
 * Anthropic's (`{"type": "error", "error": {...}}`), `{"message"}`, or the
 * text itself. "" for an empty body. It is not cut here: a message is masked
 * before it is cut (see `ProxyError.shown`), so no key's prefix survives.
 */
export function errorMessageOf(body: Uint8Array | string): string {
  const text = typeof body === "string" ? body : new TextDecoder().decode(body);
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    try {
      const message = messageOf(parseJson(trimmed));
      if (message !== undefined) return message;
    } catch { /* not JSON: the text itself */ }
  }
  return trimmed;
}
