/**
 * `POST /v1/messages/count_tokens` answered locally, without a backend call
 * (OpenAI-compatible backends have no such endpoint, and the backend's
 * tokenizer is unknown anyway). The estimate: every character of text the
 * model would read (system, message text, tool inputs and results, tool
 * names, descriptions and schemas as JSON) divided by 4, rounded up, plus a
 * flat 1,600 tokens per image (Anthropic's cost for an image of about 1.15
 * megapixels, the size it scales larger images down to). Clients use the
 * number to decide when to compact a conversation, so an estimate serves.
 *
 * @module
 */

import { AnthropicRequestError } from "./errors.ts";
import { isObject } from "./json.ts";

/** Characters per token of the estimate. */
const CHARS_PER_TOKEN = 4;
/** Tokens counted for each image. */
export const TOKENS_PER_IMAGE = 1600;

/** Content nested deeper than this is refused: no real request comes close, and recursion must stay bounded. */
const MAX_DEPTH = 64;

/** Adds up the characters and images of a value of any content shape. */
function measure(value: unknown, acc: { chars: number; images: number }, depth = 0): void {
  if (depth > MAX_DEPTH) {
    throw new AnthropicRequestError("messages", `content is nested deeper than ${MAX_DEPTH} levels`);
  }
  if (typeof value === "string") acc.chars += value.length;
  else if (Array.isArray(value)) { for (const v of value) measure(v, acc, depth + 1); }
  else if (isObject(value)) {
    switch (value.type) {
      case "image":
        acc.images++;
        return;
      case "text":
        measure(value.text, acc, depth + 1);
        return;
      case "thinking":
        measure(value.thinking, acc, depth + 1);
        return;
      case "tool_use":
        acc.chars += String(value.name ?? "").length + JSON.stringify(value.input ?? {}).length;
        return;
      case "tool_result":
        measure(value.content, acc, depth + 1);
        return;
      case "document": {
        const source = isObject(value.source) ? value.source : {};
        measure(source.type === "text" ? source.data : source.content, acc, depth + 1);
        return;
      }
      default:
        measure(value.content, acc, depth + 1);
    }
  }
}

/** The estimate for a count_tokens request body; 400 (naming the field) when `messages` is missing. */
export function estimateInputTokens(body: unknown): number {
  if (!isObject(body)) throw new AnthropicRequestError("body", "must be a JSON object");
  if (body.messages === undefined) throw new AnthropicRequestError("messages", "field required");
  if (!Array.isArray(body.messages)) throw new AnthropicRequestError("messages", "must be an array");
  const acc = { chars: 0, images: 0 };
  measure(body.system, acc);
  for (const message of body.messages) measure(isObject(message) ? message.content : undefined, acc);
  if (Array.isArray(body.tools)) {
    for (const tool of body.tools) {
      if (!isObject(tool)) continue;
      acc.chars += String(tool.name ?? "").length + String(tool.description ?? "").length;
      if (tool.input_schema !== undefined) acc.chars += JSON.stringify(tool.input_schema).length;
    }
  }
  return Math.ceil(acc.chars / CHARS_PER_TOKEN) + acc.images * TOKENS_PER_IMAGE;
}
