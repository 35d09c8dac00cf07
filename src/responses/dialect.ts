/**
 * OpenAI's Responses API as a dialect: its errors are OpenAI-shaped
 * (`{"error": {...}}`) with their status kept, like chat completions'.
 *
 * @module
 */

import { openAiErrorReply } from "../errors/errors.ts";
import type { Dialect } from "../proxy/dialect.ts";

/** The Responses API's error shape. */
export const RESPONSES: Dialect = { name: "responses", renderError: openAiErrorReply };
