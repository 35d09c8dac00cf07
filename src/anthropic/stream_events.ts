/**
 * The events that open and close an Anthropic message stream, and the SSE
 * form every event of it takes (with its `event:` line: the Anthropic SDKs
 * skip data-only events).
 *
 * @module
 */

import type { Json } from "./json.ts";
import type { Stop } from "./stop_reason.ts";
import type { AnthropicUsage } from "./usage.ts";

/** One SSE event of type `type`, its data carrying the type too. */
export function sse(type: string, data: Json): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/** `message_start`: the message's id, the model name the client asked for, and the usage known so far. */
export function messageStart(id: string, model: string, usage: AnthropicUsage): string {
  return sse("message_start", {
    message: {
      id,
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage,
    },
  });
}

/** `message_delta` with the stop reason and the final usage, then `message_stop`. */
export function messageEnd(stop: Stop, usage: AnthropicUsage): string {
  return sse("message_delta", {
    delta: { stop_reason: stop.stop_reason, stop_sequence: stop.stop_sequence },
    usage: {
      output_tokens: usage.output_tokens,
      input_tokens: usage.input_tokens,
      cache_creation_input_tokens: usage.cache_creation_input_tokens,
      cache_read_input_tokens: usage.cache_read_input_tokens,
    },
  }) + sse("message_stop", {});
}
