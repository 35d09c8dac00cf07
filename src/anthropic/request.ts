/**
 * Request translation: an Anthropic Messages API request becomes an OpenAI
 * chat completions request. Pure: no I/O, so every mapping is table-tested.
 *
 * @module
 */

import { AnthropicRequestError } from "./errors.ts";
import { ToolNames } from "./tool_names.ts";

type Json = Record<string, unknown>;

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

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function fail(field: string, message: string): never {
  throw new AnthropicRequestError(field, message);
}

function requireString(value: unknown, field: string): string {
  if (typeof value !== "string") fail(field, "must be a string");
  return value;
}

/** Text of a `system` field: a string or text blocks, joined; `cache_control` and the like dropped. */
function systemText(system: unknown, field: string): string {
  if (typeof system === "string") return system;
  if (!Array.isArray(system)) fail(field, "must be a string or an array of text blocks");
  return system.map((block, i) => {
    if (!isObject(block) || block.type !== "text") fail(`${field}.${i}.type`, "must be 'text'");
    return requireString(block.text, `${field}.${i}.text`);
  }).join("\n\n");
}

/** An image block's OpenAI content part: base64 becomes a data URL, a URL stays a URL. */
function imagePart(block: Json, field: string): Json {
  const source = block.source;
  if (!isObject(source)) fail(`${field}.source`, "must be an object");
  if (source.type === "base64") {
    const media = requireString(source.media_type, `${field}.source.media_type`);
    const data = requireString(source.data, `${field}.source.data`);
    return { type: "image_url", image_url: { url: `data:${media};base64,${data}` } };
  }
  if (source.type === "url") {
    return { type: "image_url", image_url: { url: requireString(source.url, `${field}.source.url`) } };
  }
  fail(`${field}.source.type`, "must be 'base64' or 'url'");
}

/** A document block's text, or undefined for sources an OpenAI backend cannot read (PDF, files). */
function documentText(block: Json): string | undefined {
  const source = block.source;
  if (!isObject(source)) return undefined;
  if (source.type === "text" && typeof source.data === "string") return source.data;
  if (source.type === "content" && Array.isArray(source.content)) {
    return source.content.filter((b) => isObject(b) && b.type === "text" && typeof b.text === "string")
      .map((b) => (b as Json).text as string).join("\n");
  }
  return undefined;
}

/** Content parts of a user message; text-only content collapses to one string (every backend takes that). */
function userContent(parts: Json[]): string | Json[] {
  if (parts.every((p) => p.type === "text")) return parts.map((p) => p.text as string).join("\n\n");
  return parts;
}

/** A `tool_result` block: the tool message, and any images it held (moved to a following user message). */
function toolResult(block: Json, field: string): { message: Json; images: Json[] } {
  const id = requireString(block.tool_use_id, `${field}.tool_use_id`);
  const texts: string[] = [];
  const images: Json[] = [];
  const content = block.content;
  if (typeof content === "string") texts.push(content);
  else if (Array.isArray(content)) {
    content.forEach((inner, j) => {
      const at = `${field}.content.${j}`;
      if (!isObject(inner)) fail(at, "must be a content block");
      if (inner.type === "text") texts.push(requireString(inner.text, `${at}.text`));
      else if (inner.type === "image") images.push(imagePart(inner, at));
      else if (inner.type === "document") {
        const text = documentText(inner);
        if (text !== undefined) texts.push(text);
      }
    });
  } else if (content !== undefined) fail(`${field}.content`, "must be a string or an array of blocks");
  let text = texts.join("\n");
  if (images.length > 0) text += `${text ? "\n" : ""}(${images.length} image(s) follow in the next user message)`;
  // Models read an error only if it says so: the OpenAI format has no is_error flag.
  if (block.is_error === true) text = `Error: ${text}`;
  return { message: { role: "tool", tool_call_id: id, content: text }, images };
}

/** A user turn: its tool results first (in order), then one user message with the rest. */
function userMessages(content: unknown[], field: string): Json[] {
  const tools: Json[] = [];
  const resultImages: Json[] = [];
  const parts: Json[] = [];
  content.forEach((block, i) => {
    const at = `${field}.${i}`;
    if (!isObject(block) || typeof block.type !== "string") fail(`${at}.type`, "must be a content block type");
    switch (block.type) {
      case "text":
        parts.push({ type: "text", text: requireString(block.text, `${at}.text`) });
        break;
      case "image":
        parts.push(imagePart(block, at));
        break;
      case "tool_result": {
        const { message, images } = toolResult(block, at);
        tools.push(message);
        resultImages.push(...images);
        break;
      }
      case "document": {
        const text = documentText(block);
        if (text !== undefined) parts.push({ type: "text", text });
        break;
      }
      case "tool_use":
      case "thinking":
      case "redacted_thinking":
        fail(`${at}.type`, `'${block.type}' blocks belong to assistant messages`);
        break;
      default: // search results, container uploads, ...: nothing an OpenAI backend can take.
    }
  });
  const rest = [...resultImages, ...parts];
  return rest.length > 0 ? [...tools, { role: "user", content: userContent(rest) }] : tools;
}

/** An assistant turn: text, `tool_calls` (content null when there is no text), thinking as `reasoning_content`. */
function assistantMessage(content: unknown[], field: string, names: ToolNames): Json {
  const texts: string[] = [];
  const thinking: string[] = [];
  const calls: Json[] = [];
  content.forEach((block, i) => {
    const at = `${field}.${i}`;
    if (!isObject(block) || typeof block.type !== "string") fail(`${at}.type`, "must be a content block type");
    if (block.type === "text") texts.push(requireString(block.text, `${at}.text`));
    else if (block.type === "thinking") thinking.push(requireString(block.thinking, `${at}.thinking`));
    else if (block.type === "tool_use") {
      const name = names.shorten(requireString(block.name, `${at}.name`));
      const args = JSON.stringify(block.input ?? {});
      calls.push({ id: requireString(block.id, `${at}.id`), type: "function", function: { name, arguments: args } });
    } else if (block.type === "tool_result" || block.type === "image") {
      fail(`${at}.type`, `'${block.type}' blocks belong to user messages`);
    }
    // redacted_thinking and server tool blocks are dropped: the backend cannot read them.
  });
  const text = texts.join("");
  const message: Json = { role: "assistant", content: text !== "" ? text : calls.length > 0 ? null : "" };
  if (calls.length > 0) message.tool_calls = calls;
  if (thinking.length > 0) message.reasoning_content = thinking.join("");
  return message;
}

/** The `messages` array: each Anthropic message becomes one or more OpenAI messages. */
function translateMessages(messages: unknown, names: ToolNames): Json[] {
  if (messages === undefined) fail("messages", "field required");
  if (!Array.isArray(messages)) fail("messages", "must be an array");
  if (messages.length === 0) fail("messages", "at least one message is required");
  const out: Json[] = [];
  messages.forEach((m, i) => {
    const at = `messages.${i}`;
    if (!isObject(m)) fail(at, "must be an object");
    const role = m.role;
    if (role !== "user" && role !== "assistant" && role !== "system") {
      fail(`${at}.role`, "must be 'user' or 'assistant'");
    }
    const content = m.content;
    if (role === "system") out.push({ role: "system", content: systemText(content, `${at}.content`) });
    else if (typeof content === "string") out.push({ role, content });
    else if (!Array.isArray(content)) fail(`${at}.content`, "must be a string or an array of content blocks");
    else if (role === "user") out.push(...userMessages(content, `${at}.content`));
    else out.push(assistantMessage(content, `${at}.content`, names));
  });
  return out;
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
