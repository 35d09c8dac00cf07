/**
 * A Responses request as a chat completion, for a backend with only
 * `/v1/chat/completions`. Pure but for the item store it reads, so every
 * mapping is table-tested. Dropped, because a chat backend cannot take them:
 * `store`, `include`, `prompt_cache_key`, `prompt_cache_retention`,
 * `client_metadata` (Codex), `metadata`, `service_tier`, `truncation`,
 * `text.verbosity`, `reasoning.summary`, `top_logprobs`, `stream_options`,
 * `background: false`, and hosted tools. Refused with a 400 naming the field,
 * because they need state modelpin does not keep: `previous_response_id`,
 * `conversation`, `background: true`, `prompt` (a stored prompt).
 *
 * @module
 */

import type { ItemStore } from "./item_store.ts";
import { translateInput } from "./input.ts";
import { fail, isObject, type Json } from "./json.ts";
import { ToolMap, translateToolChoice, translateTools } from "./tools.ts";

/** The translated request and what the answer's translation needs to know. */
export interface TranslatedResponses {
  /** The chat completions body, without `model` (each route sets its own). */
  chat: Json;
  /** True for `stream: true`. */
  stream: boolean;
  /** The model name the client asked for (routing, and the answer's `model`). */
  requestedModel: unknown;
  /** The chat function names and the client tools they stand for. */
  tools: ToolMap;
  /** The request fields a Response echoes (instructions, tools, tool_choice, text, ...). */
  echo: Json;
}

/**
 * `reasoning.effort` as chat backends take `reasoning_effort`: low, medium and
 * high as they are; the Responses API's newer levels to the nearest of those
 * (chat backends refuse values they do not know); `none` asks for nothing.
 */
const EFFORTS: Record<string, string | undefined> = {
  minimal: "low",
  low: "low",
  medium: "medium",
  high: "high",
  xhigh: "high",
  max: "high",
};

/** Fields that need state modelpin does not keep on a translated route. */
const STATEFUL = ["previous_response_id", "conversation", "prompt"] as const;

/** The sampling, limit and format fields. */
function translateParams(body: Json, chat: Json): void {
  const max = body.max_output_tokens;
  if (max !== undefined && max !== null) {
    if (typeof max !== "number" || !Number.isInteger(max) || max < 1) {
      fail("max_output_tokens", "must be a positive integer");
    }
    chat.max_tokens = max; // most chat backends know max_tokens; max_completion_tokens is OpenAI's
  }
  for (const key of ["temperature", "top_p"] as const) {
    if (body[key] === undefined || body[key] === null) continue;
    if (typeof body[key] !== "number") fail(key, "must be a number");
    chat[key] = body[key];
  }
  const user = body.safety_identifier ?? body.user;
  if (typeof user === "string") chat.user = user;
  const reasoning = body.reasoning;
  const effort = isObject(reasoning) && typeof reasoning.effort === "string" ? EFFORTS[reasoning.effort] : undefined;
  if (effort !== undefined) chat.reasoning_effort = effort;
  const format = isObject(body.text) ? body.text.format : undefined;
  if (isObject(format) && format.type === "json_schema") {
    const schema: Json = { name: typeof format.name === "string" ? format.name : "response", schema: format.schema };
    if (typeof format.strict === "boolean") schema.strict = format.strict;
    if (typeof format.description === "string") schema.description = format.description;
    chat.response_format = { type: "json_schema", json_schema: schema };
  } else if (isObject(format) && format.type === "json_object") chat.response_format = { type: "json_object" };
}

/** The request fields a Response object echoes back, with the API's defaults. */
function echoOf(body: Json): Json {
  return {
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: isObject(body.metadata) ? body.metadata : {},
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    reasoning: isObject(body.reasoning) ? body.reasoning : { effort: null, summary: null },
    store: body.store ?? false,
    temperature: body.temperature ?? null,
    text: isObject(body.text) ? body.text : { format: { type: "text" } },
    tool_choice: body.tool_choice ?? "auto",
    tools: Array.isArray(body.tools) ? body.tools : [],
    top_p: body.top_p ?? null,
    previous_response_id: null,
    user: typeof body.user === "string" ? body.user : null,
  };
}

/**
 * Translates a Responses request body to a chat completions body. Throws a
 * ProxyError (400, naming the field) for a malformed or stateful request.
 */
export function translateResponsesRequest(body: Json, store: ItemStore): TranslatedResponses {
  for (const field of STATEFUL) {
    if (body[field] !== undefined && body[field] !== null) {
      fail(
        field,
        "is not supported on a route that translates to chat completions: modelpin keeps no conversations; send the whole input instead",
      );
    }
  }
  if (body.background === true) fail("background", "is not supported: modelpin keeps no responses to poll");
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") {
    fail("stream", "must be a boolean");
  }
  const tools = new ToolMap();
  translateTools(body.tools, tools);
  const messages: Json[] = [];
  if (typeof body.instructions === "string" && body.instructions !== "") {
    messages.push({ role: "system", content: body.instructions });
  }
  messages.push(...translateInput(body.input, tools, store));
  if (messages.length === 0) fail("input", "is required: a string or a list of items");
  const chat: Json = { messages };
  translateParams(body, chat);
  const choice = translateToolChoice(body.tool_choice, tools); // after the input: a tool search may add tools
  if (tools.tools.length > 0) {
    chat.tools = tools.tools;
    if (choice !== undefined) chat.tool_choice = choice;
    if (typeof body.parallel_tool_calls === "boolean") chat.parallel_tool_calls = body.parallel_tool_calls;
  }
  const stream = body.stream === true;
  if (stream) chat.stream_options = { include_usage: true }; // without it the stream carries no usage
  if (stream) chat.stream = true;
  return { chat, stream, requestedModel: body.model, tools, echo: echoOf(body) };
}
