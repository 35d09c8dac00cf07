/**
 * A Responses `input` as chat messages. Messages keep their role (`developer`
 * becomes `system`, which every chat backend takes); the assistant's side of
 * a turn (its text, reasoning and tool calls, however many items) becomes one
 * assistant message with `tool_calls` and `reasoning_content`; each tool
 * output becomes a `role: "tool"` message paired by `call_id`. An
 * `item_reference` is replaced by the item modelpin made for it, when kept.
 *
 * @module
 */

import type { ItemStore } from "./item_store.ts";
import { fail, isObject, type Json, requireString } from "./json.ts";
import { addTool, type ToolMap } from "./tools.ts";

/** The assistant message being assembled from consecutive assistant-side items. */
interface AssistantTurn {
  texts: string[];
  reasoning: string[];
  calls: Json[];
}

/** Text of content parts (input_text, output_text, refusal), joined. */
function partsText(parts: Json[]): string {
  return parts.map((p) => typeof p.text === "string" ? p.text : typeof p.refusal === "string" ? p.refusal : "")
    .join("");
}

/** A user or system message's content parts as chat parts; text-only content collapses to a string. */
function chatContent(content: unknown, at: string): string | Json[] {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) fail(`${at}.content`, "must be a string or an array of content parts");
  const parts = content.map((part, i): Json => {
    const p = `${at}.content.${i}`;
    if (!isObject(part)) fail(p, "must be a content part");
    switch (part.type) {
      case "input_text":
      case "output_text":
        return { type: "text", text: requireString(part.text, `${p}.text`) };
      case "input_image": {
        if (typeof part.image_url !== "string") {
          fail(`${p}.image_url`, "must be a URL: file ids need OpenAI's Files API");
        }
        const url: Json = { url: part.image_url };
        if (part.detail === "low" || part.detail === "high" || part.detail === "auto") url.detail = part.detail;
        return { type: "image_url", image_url: url };
      }
      case "input_file": {
        if (typeof part.file_data !== "string") {
          fail(`${p}.file_data`, "a file must be sent inline: file ids and URLs need OpenAI's Files API");
        }
        const file: Json = { file_data: part.file_data };
        if (typeof part.filename === "string") file.filename = part.filename;
        return { type: "file", file };
      }
      default:
        fail(`${p}.type`, "must be input_text, input_image or input_file");
    }
  });
  return parts.every((p) => p.type === "text") ? parts.map((p) => p.text as string).join("\n\n") : parts;
}

/** A tool's output: its text, and any images (for a user message after the tool messages). */
function toolOutput(output: unknown, at: string): { text: string; images: Json[] } {
  if (typeof output === "string") return { text: output, images: [] };
  if (!Array.isArray(output)) return { text: JSON.stringify(output ?? ""), images: [] };
  const texts: string[] = [];
  const images: Json[] = [];
  output.forEach((part, i) => {
    if (!isObject(part)) fail(`${at}.output.${i}`, "must be a content part");
    if (part.type === "input_image" && typeof part.image_url === "string") {
      images.push({ type: "image_url", image_url: { url: part.image_url } });
    } else if (typeof part.text === "string") texts.push(part.text);
  });
  let text = texts.join("\n");
  if (images.length > 0) text += `${text ? "\n" : ""}(${images.length} image(s) follow in the next user message)`;
  return { text, images };
}

/** An assistant message's text: its content, a string or content parts. */
function assistantText(content: unknown, at: string): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) fail(`${at}.content`, "must be a string or an array of content parts");
  return partsText(content.filter(isObject));
}

/** The reasoning text of a reasoning item: its raw content, else its summary. */
function reasoningText(item: Json): string {
  const content = Array.isArray(item.content) ? item.content.filter(isObject) : [];
  const summary = Array.isArray(item.summary) ? item.summary.filter(isObject) : [];
  return partsText(content.length > 0 ? content : summary);
}

/** A tool call item of the assistant's, as a chat tool call. */
function chatCall(item: Json, at: string, map: ToolMap): Json {
  const id = requireString(item.call_id, `${at}.call_id`);
  const call = (name: string, args: string): Json => ({ id, type: "function", function: { name, arguments: args } });
  const ns = typeof item.namespace === "string" ? item.namespace : undefined;
  switch (item.type) {
    case "function_call": {
      const args = item.arguments === undefined ? "{}" : requireString(item.arguments, `${at}.arguments`);
      return call(map.chatName(requireString(item.name, `${at}.name`), ns), args);
    }
    case "custom_tool_call":
      return call(
        map.chatName(requireString(item.name, `${at}.name`), ns),
        JSON.stringify({ input: item.input ?? "" }),
      );
    case "tool_search_call":
      return call(map.chatName("tool_search"), JSON.stringify(item.arguments ?? {}));
    default: { // local_shell_call
      const action = isObject(item.action) ? item.action : {};
      const args = { command: action.command ?? [], workdir: action.working_directory, timeout_ms: action.timeout_ms };
      return call(map.chatName("local_shell"), JSON.stringify(args));
    }
  }
}

const ASSISTANT_ITEMS = new Set(["function_call", "custom_tool_call", "tool_search_call", "local_shell_call"]);
const OUTPUT_ITEMS = new Set([
  "function_call_output",
  "custom_tool_call_output",
  "tool_search_output",
  "local_shell_call_output",
]);

/** Translates `input` (a string or a list of items) into chat messages; `map` learns tools a search found. */
export function translateInput(input: unknown, map: ToolMap, store: ItemStore): Json[] {
  if (typeof input === "string") return [{ role: "user", content: input }];
  if (input === undefined || input === null) return [];
  if (!Array.isArray(input)) fail("input", "must be a string or an array of items");
  const out: Json[] = [];
  let turn: AssistantTurn | undefined;
  let images: Json[] = [];
  const flush = () => {
    if (turn) out.push(assistantMessage(turn));
    turn = undefined;
  };
  const flushImages = () => {
    if (images.length > 0) out.push({ role: "user", content: images });
    images = [];
  };
  input.forEach((raw, i) => {
    const at = `input.${i}`;
    const item = resolve(raw, at, store);
    const type = item.type ?? (typeof item.role === "string" ? "message" : undefined);
    if (type === "message" && item.role === "assistant") {
      (turn ??= { texts: [], reasoning: [], calls: [] }).texts.push(assistantText(item.content, at));
    } else if (type === "reasoning") {
      (turn ??= { texts: [], reasoning: [], calls: [] }).reasoning.push(reasoningText(item));
    } else if (ASSISTANT_ITEMS.has(String(type))) {
      (turn ??= { texts: [], reasoning: [], calls: [] }).calls.push(chatCall(item, at, map));
    } else if (OUTPUT_ITEMS.has(String(type))) {
      flush();
      if (type === "tool_search_output" && Array.isArray(item.tools)) {
        item.tools.forEach((tool, j) => addTool(map, tool, `${at}.tools.${j}`)); // the model may call what it found
      }
      const id = type === "local_shell_call_output" ? item.id : item.call_id;
      const { text, images: more } = toolOutput(
        type === "tool_search_output" ? JSON.stringify(item.tools ?? []) : item.output,
        at,
      );
      out.push({ role: "tool", tool_call_id: requireString(id, `${at}.call_id`), content: text });
      images.push(...more);
    } else if (type === "message") {
      flush();
      flushImages();
      const role = item.role === "developer" ? "system" : item.role;
      if (role !== "user" && role !== "system") fail(`${at}.role`, "must be user, assistant, system or developer");
      out.push({ role, content: chatContent(item.content, at) });
    }
    // Items a chat backend has no use for (web_search_call, mcp_*, ...) are dropped.
    if (type !== undefined && !OUTPUT_ITEMS.has(String(type))) flushImages();
  });
  flush();
  flushImages();
  return out;
}

/** The item itself, or for an `item_reference` the item modelpin made under that id. */
function resolve(raw: unknown, at: string, store: ItemStore): Json {
  if (!isObject(raw)) fail(at, "must be an object");
  if (raw.type !== "item_reference") return raw;
  const id = requireString(raw.id, `${at}.id`);
  const item = store.get(id);
  if (item === undefined) {
    fail(
      at,
      `item_reference ${
        JSON.stringify(id)
      } is not an item modelpin still keeps (it keeps its recent answers' items, not conversations); send the item itself, or set store: false in the client`,
    );
  }
  return item;
}

/** One assistant message of a turn's items. */
function assistantMessage(turn: AssistantTurn): Json {
  const text = turn.texts.join("");
  const message: Json = { role: "assistant", content: text !== "" ? text : turn.calls.length > 0 ? null : "" };
  if (turn.calls.length > 0) message.tool_calls = turn.calls;
  const reasoning = turn.reasoning.join("");
  if (reasoning !== "") message.reasoning_content = reasoning;
  return message;
}
