/**
 * How each piece of a translated Responses stream is written: the kinds of
 * text (message text, refusal, reasoning) with their item, content part and
 * events, and the events of a tool call item sent whole.
 *
 * @module
 */

import type { Json } from "./json.ts";
import { messageItem, reasoningItem, refusalItem } from "./output.ts";

/** The kinds of text an answer streams: the message's text or refusal, or the backend's reasoning. */
export type Prose = "message" | "refusal" | "reasoning";

/** How each kind of text streams: its item, its content part, its events, its finished item. */
export const PROSE: Record<Prose, {
  prefix: string;
  shell: (id: string) => Json;
  part: (text: string) => Json;
  delta: string;
  done: string;
  /** The `.done` event's field holding the whole text, and what a delta carries besides its text. */
  field: "text" | "refusal";
  extra: Json;
  item: (id: string, text: string, status: string) => Json;
}> = {
  message: {
    prefix: "msg",
    shell: (id) => ({ id, type: "message", role: "assistant", status: "in_progress", content: [] }),
    part: (text) => ({ type: "output_text", text, annotations: [], logprobs: [] }),
    delta: "response.output_text.delta",
    done: "response.output_text.done",
    field: "text",
    extra: { logprobs: [] },
    item: messageItem,
  },
  refusal: {
    prefix: "msg",
    shell: (id) => ({ id, type: "message", role: "assistant", status: "in_progress", content: [] }),
    part: (refusal) => ({ type: "refusal", refusal }),
    delta: "response.refusal.delta",
    done: "response.refusal.done",
    field: "refusal",
    extra: {},
    item: refusalItem,
  },
  reasoning: {
    prefix: "rs",
    shell: (id) => ({ id, type: "reasoning", summary: [], content: [] }),
    part: (text) => ({ type: "reasoning_text", text }),
    delta: "response.reasoning_text.delta",
    done: "response.reasoning_text.done",
    field: "text",
    extra: {},
    item: (id, text) => reasoningItem(id, text),
  },
};

/** Writes one event (`type` and its fields; the writer numbers it). */
export type Emit = (type: string, fields: Json) => void;

/**
 * A tool call item whose input is whole: `output_item.added` (empty), its
 * input in one delta and its `.done` (function arguments or a custom tool's
 * input; a tool search or shell call has none). The caller sends `output_item.done`.
 */
export function emitWholeCall(emit: Emit, item: Json, index: number, args: string): void {
  const at = { item_id: item.id, output_index: index };
  if (item.type === "function_call") {
    emit("response.output_item.added", {
      output_index: index,
      item: { ...item, status: "in_progress", arguments: "" },
    });
    if (args !== "") emit("response.function_call_arguments.delta", { ...at, delta: args });
    emit("response.function_call_arguments.done", { ...at, name: item.name, arguments: args });
  } else if (item.type === "custom_tool_call") {
    emit("response.output_item.added", { output_index: index, item: { ...item, status: "in_progress", input: "" } });
    emit("response.custom_tool_call_input.delta", { ...at, delta: item.input });
    emit("response.custom_tool_call_input.done", { ...at, input: item.input });
  } else {
    emit("response.output_item.added", { output_index: index, item: { ...item, status: "in_progress" } });
  }
}
