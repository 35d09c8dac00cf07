/**
 * OpenAI's API as a dialect: its error shape `{"error": {"message", "type",
 * "code", "param"}}`, in JSON answers and as the SSE event that ends a
 * stream. A backend's own error answer is passed on as it came (the backend
 * speaks this API too), masked by the handler.
 *
 * @module
 */

import { errorBody, openAiErrorReply } from "../errors/errors.ts";
import type { Dialect } from "../proxy/dialect.ts";

/** The SSE event that ends a stream the backend broke off, so clients can tell. */
export function openAiStreamError(message: string, code: string): string {
  return `data: ${errorBody(message, "upstream_error", code)}\n\n`;
}

/** OpenAI's error shape, for chat completions and every other `/v1/...` path. */
export const OPENAI: Dialect = { name: "openai", renderError: openAiErrorReply };
