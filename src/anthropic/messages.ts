/**
 * Message translation: Anthropic's `system` and `messages` (content blocks,
 * tool use and results, thinking) as OpenAI chat messages.
 *
 * @module
 */

import { fail, isObject, type Json, requireString } from "./json.ts";
import type { ToolNames } from "../request/tool_names.ts";

/** Text of a `system` field: a string or text blocks, joined; `cache_control` and the like dropped. */
export function systemText(system: unknown, field: string): string {
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
export function translateMessages(messages: unknown, names: ToolNames): Json[] {
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
