/**
 * Anthropic's Messages API as a dialect: every error, modelpin's own or a
 * backend's (OpenAI-shaped) error answer, rendered straight into Anthropic's
 * shape with its status and headers (Retry-After) kept, so the SDKs raise
 * their usual error classes.
 *
 * @module
 */

import type { ProxyError } from "../errors/errors.ts";
import type { Dialect, ErrorReply } from "../proxy/dialect.ts";
import { anthropicErrorBody, anthropicErrorType } from "./errors.ts";

/** Anthropic's error shape, for /v1/messages and count_tokens. */
export const ANTHROPIC: Dialect = {
  name: "anthropic",
  renderError(err: ProxyError): ErrorReply {
    const headers: [string, string][] = [];
    // The backend's headers (Retry-After, request ids) are kept; its length and type describe another body.
    err.backend?.headers.forEach((value, name) => {
      if (name !== "content-length" && name !== "content-type") headers.push([name, value]);
    });
    headers.push(...Object.entries(err.headers), ["content-type", "application/json"]);
    return { status: err.status, headers, body: anthropicErrorBody(anthropicErrorType(err.status), err.message) };
  },
};
