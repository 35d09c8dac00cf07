/**
 * Request translation: an Anthropic Messages API request becomes an OpenAI
 * chat completions request. Pure: no I/O, so every mapping is table-tested.
 *
 * @module
 */

import { fail, isObject, type Json, requireString } from "./json.ts";
import { systemText, translateMessages } from "./messages.ts";
import { ToolNames } from "../request/tool_names.ts";

/** The translated request and what the answer's translation needs to know. */
export interface TranslatedRequest {
  /** The OpenAI chat completions body, without `model` (each route sets its own). */
  openai: Json;
  /** True for `stream: true`. */
  stream: boolean;
  /** The model name the client asked for (routing, and the answer's `model`). */
  requestedModel: string;
  /** True when the client asked for thinking: only then does reasoning come back as `thinking` blocks. */
  wantsThinking: boolean;
  /** Client tool names and the (possibly shortened) names the backend sees. */
  toolNames: ToolNames;
  /** The client's `stop_sequences`, to report which one matched. */
  stopSequences: string[];
}

/**
 * `tools` as OpenAI functions. Anthropic server tools (`web_search_*`,
 * `code_execution_*`, `bash_*`, ...) carry a versioned `type` and no schema:
 * they are dropped, never sent as empty functions.
 */
function translateTools(tools: unknown, names: ToolNames): Json[] {
  if (tools === undefined) return [];
  if (!Array.isArray(tools)) fail("tools", "must be an array");
  const out: Json[] = [];
  tools.forEach((tool, i) => {
    const at = `tools.${i}`;
    if (!isObject(tool)) fail(at, "must be an object");
    const isCustom = tool.type === undefined || tool.type === null || tool.type === "custom";
    if (!isCustom) return;
    const name = requireString(tool.name, `${at}.name`);
    if (!isObject(tool.input_schema)) fail(`${at}.input_schema`, "must be a JSON schema object");
    const fn: Json = { name: names.shorten(name), parameters: tool.input_schema };
    if (typeof tool.description === "string") fn.description = tool.description;
    out.push({ type: "function", function: fn });
  });
  return out;
}

/** `tool_choice` auto/any/tool/none as auto/required/named/none (`any` is never forwarded). */
function translateToolChoice(choice: unknown, names: ToolNames, openai: Json): void {
  if (choice === undefined) return;
  if (!isObject(choice)) fail("tool_choice", "must be an object");
  switch (choice.type) {
    case "auto":
      openai.tool_choice = "auto";
      break;
    case "any":
      openai.tool_choice = "required";
      break;
    case "none":
      openai.tool_choice = "none";
      break;
    case "tool":
      openai.tool_choice = {
        type: "function",
        function: { name: names.shorten(requireString(choice.name, "tool_choice.name")) },
      };
      break;
    default:
      fail("tool_choice.type", "must be 'auto', 'any', 'tool' or 'none'");
  }
  if (choice.disable_parallel_tool_use === true) openai.parallel_tool_calls = false;
}

/** Sampling and limits: the fields with an OpenAI twin. Everything else Anthropic-only is not forwarded. */
function translateParams(body: Json, openai: Json): string[] {
  const maxTokens = body.max_tokens;
  if (maxTokens === undefined) fail("max_tokens", "field required");
  if (typeof maxTokens !== "number" || !Number.isInteger(maxTokens) || maxTokens < 1) {
    fail("max_tokens", "must be a positive integer");
  }
  openai.max_tokens = maxTokens;
  for (const key of ["temperature", "top_p"] as const) {
    if (body[key] === undefined) continue;
    if (typeof body[key] !== "number") fail(key, "must be a number");
    openai[key] = body[key];
  }
  let stops: string[] = [];
  if (body.stop_sequences !== undefined) {
    if (!Array.isArray(body.stop_sequences)) fail("stop_sequences", "must be an array of strings");
    stops = body.stop_sequences.map((s, i) => requireString(s, `stop_sequences.${i}`));
    if (stops.length > 0) openai.stop = stops;
  }
  const metadata = body.metadata;
  if (isObject(metadata) && typeof metadata.user_id === "string") openai.user = metadata.user_id;
  return stops;
}

/** Whether the `thinking` field asks for thinking (`enabled`, or `adaptive` as newer clients send). */
function asksForThinking(thinking: unknown): boolean {
  return isObject(thinking) && (thinking.type === "enabled" || thinking.type === "adaptive");
}

/**
 * Translates an Anthropic Messages request body to an OpenAI chat
 * completions body. Throws {@linkcode AnthropicRequestError} (a 400 that
 * names the field) for a malformed request. Dropped, not forwarded (the
 * backend would reject them): `top_k`, `thinking`, `cache_control`,
 * `context_management`, `output_config`, `service_tier`, `container`,
 * `mcp_servers` and any other Anthropic-only field.
 */
export function translateRequest(body: unknown): TranslatedRequest {
  if (!isObject(body)) fail("body", "must be a JSON object");
  if (body.model === undefined) fail("model", "field required");
  const requestedModel = requireString(body.model, "model");
  const toolNames = new ToolNames();
  const messages: Json[] = [];
  if (body.system !== undefined) {
    const text = systemText(body.system, "system");
    if (text !== "") messages.push({ role: "system", content: text });
  }
  messages.push(...translateMessages(body.messages, toolNames));
  const openai: Json = { messages };
  const stopSequences = translateParams(body, openai);
  const tools = translateTools(body.tools, toolNames);
  if (tools.length > 0) {
    openai.tools = tools;
    // A tool choice without tools is refused by OpenAI backends; all-server-tool lists end up here.
    translateToolChoice(body.tool_choice, toolNames, openai);
  }
  if (body.stream !== undefined && typeof body.stream !== "boolean") fail("stream", "must be a boolean");
  const stream = body.stream === true;
  if (stream) {
    openai.stream = true;
    // Without it the stream carries no usage and the client would be told 0 tokens.
    openai.stream_options = { include_usage: true };
  }
  return { openai, stream, requestedModel, wantsThinking: asksForThinking(body.thinking), toolNames, stopSequences };
}
