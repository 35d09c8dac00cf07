/**
 * Anthropic-shaped errors: `{"type":"error","error":{"type","message"}}`
 * with the HTTP status kept, as JSON and as the stream's `event: error`.
 *
 * @module
 */

/** The `error.type` values Anthropic's API and SDKs know. */
export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "overloaded_error"
  | "timeout_error";

/** A malformed Anthropic request: answered 400 without a backend call; the message names the field. */
export class AnthropicRequestError extends Error {
  /** Always 400. */
  readonly status = 400;
  /** The offending field's path, e.g. `messages.2.content.0.type`. */
  readonly field: string;

  /** `field` is the JSON path of the offending field; `message` says what is wrong with it. */
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "AnthropicRequestError";
    this.field = field;
  }
}

/** The Anthropic error type for an HTTP status (the SDKs pick their error class by status). */
export function anthropicErrorType(status: number): AnthropicErrorType {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    case 504:
      return "timeout_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

/** The JSON text of an Anthropic error body. */
export function anthropicErrorBody(type: AnthropicErrorType, message: string): string {
  return JSON.stringify({ type: "error", error: { type, message } });
}

/** The SSE `event: error` that ends an Anthropic stream which cannot complete. */
export function anthropicErrorEvent(message: string, type: AnthropicErrorType = "api_error"): string {
  return `event: error\ndata: ${anthropicErrorBody(type, message)}\n\n`;
}
