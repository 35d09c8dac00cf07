/**
 * What the events of a backend's stream mean. Each wire format a backend can
 * speak has a grammar that reads one event: whether it carries content yet
 * (the first-event judge waits past *envelope* events such as a role-only
 * delta or `response.created`), reports an error, finishes the answer, ends
 * the stream, or reports usage. The judge, the relay's end and the usage
 * counter all read an event through one grammar, and the event's JSON is
 * parsed once for all of them (and for a dialect's translator).
 *
 * @module
 */

import { parseJson } from "../json_depth.ts";
import { errorMessageOf, messageOf } from "../errors/errors.ts";
import type { SseEvent } from "./sse_framer.ts";
import { type Usage, usageOf } from "./usage.ts";

/** A JSON object. */
export type JsonObject = Record<string, unknown>;

/** What one upstream event means. */
export interface EventInfo {
  /**
   * `none`: no data (a comment, a keep-alive); `envelope`: data without
   * content yet; `content`: text, a tool call, a finish, anything a client
   * acts on; `error`: the backend reports an error; `done`: the last event.
   */
  kind: "none" | "envelope" | "content" | "error" | "done";
  /** What an error event said. */
  message?: string;
  /** The answer is finished (a `finish_reason`): a clean close after this is complete. */
  finished?: boolean;
  /** Usage the event reports. */
  usage?: Usage;
  /** The event's data, when it is a JSON object. */
  json?: JsonObject;
}

/** An event and what its grammar read in it. */
export interface JudgedEvent {
  /** The event. */
  event: SseEvent;
  /** What it means. */
  info: EventInfo;
}

/** How one wire format's events are read. */
export interface EventGrammar {
  /** The format's name. */
  readonly name: "chat" | "responses" | "opaque";
  /**
   * Whether a stream of this format is complete only with its last event or
   * a finish: one that closes without either was cut short.
   */
  readonly needsEnd: boolean;
  /** Reads one event. */
  inspect(event: SseEvent): EventInfo;
}

const NONE: EventInfo = { kind: "none" };
const DONE: EventInfo = { kind: "done" };

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A chat choice's `finish_reason`, when it has one: `null`, a missing field
 * and `""` (which some backends send in every chunk before the last) are none.
 */
export function finishReasonOf(choice: JsonObject): unknown {
  const reason = choice.finish_reason;
  return reason === null || reason === undefined || reason === "" ? undefined : reason;
}
const hasText = (v: unknown): boolean => typeof v === "string" && v !== "";

/** The event's data as a JSON object, or undefined. */
function jsonOf(data: string): JsonObject | undefined {
  if (data.charCodeAt(0) !== 0x7b && !data.trimStart().startsWith("{")) return undefined;
  try {
    const value = parseJson(data);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** An error event; `value` is its parsed `error` field, else its data is read for a message. */
function errorInfo(value: unknown, data: string | undefined): EventInfo {
  const message = value === undefined ? errorMessageOf(data ?? "") : messageOf(value);
  return { kind: "error", message: message || "the backend reported an error" };
}

/** Whether a chat (or completions) choice carries anything a client acts on. */
function choiceHasContent(choice: JsonObject): boolean {
  if (hasText(choice.text)) return true; // legacy completions
  const delta = isObject(choice.delta) ? choice.delta : isObject(choice.message) ? choice.message : undefined;
  if (delta === undefined) return false;
  return hasText(delta.content) || hasText(delta.reasoning_content) || hasText(delta.reasoning) ||
    hasText(delta.refusal) || (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0) ||
    isObject(delta.function_call);
}

/**
 * Chat completions (and legacy completions): `data: [DONE]` ends the stream;
 * a chunk whose deltas are empty or role-only is an envelope; a
 * `finish_reason` finishes the answer; a chunk with `error` is an error.
 */
export const CHAT_GRAMMAR: EventGrammar = {
  name: "chat",
  needsEnd: true,
  inspect(event) {
    const data = event.data;
    if (event.type === "error") return errorInfo(undefined, data);
    if (data === undefined) return NONE;
    if (data === "[DONE]" || data.trim() === "[DONE]") return DONE;
    const json = jsonOf(data);
    if (json === undefined) return { kind: "content" }; // not a chunk: passed on, as anything the client may read
    if (json.error !== undefined && json.error !== null) return { ...errorInfo(json.error, data), json };
    const usage = usageOf(json.usage);
    let content = false;
    let finished = false;
    if (Array.isArray(json.choices)) {
      for (const choice of json.choices) {
        if (!isObject(choice)) continue;
        if (finishReasonOf(choice) !== undefined) finished = true;
        if (!content && choiceHasContent(choice)) content = true;
      }
    }
    return { kind: content || finished ? "content" : "envelope", finished, usage, json };
  },
};

/** Responses API events that carry no content yet. */
const RESPONSES_ENVELOPE = new Set([
  "response.created",
  "response.in_progress",
  "response.queued",
  "response.content_part.added",
  "response.reasoning_summary_part.added",
]);

/** The item types of `response.output_item.added` that are an empty shell until their deltas come. */
const EMPTY_ITEMS = new Set(["message", "reasoning"]);

/**
 * The Responses API: `response.completed` or `response.incomplete` ends the
 * stream; `response.created`, `response.in_progress` and empty shells are
 * envelopes; `error` and `response.failed` are errors.
 */
export const RESPONSES_GRAMMAR: EventGrammar = {
  name: "responses",
  needsEnd: true,
  inspect(event) {
    const data = event.data;
    if (data === undefined) return event.type === "error" ? errorInfo(undefined, data) : NONE;
    const json = jsonOf(data);
    const type = typeof json?.type === "string" ? json.type : event.type;
    if (json === undefined) return type === "error" ? errorInfo(undefined, data) : { kind: "content" };
    switch (type) {
      case "error":
        return { ...errorInfo(json.error ?? { message: json.message }, data), json };
      case "response.failed": {
        const response = isObject(json.response) ? json.response : {};
        return { ...errorInfo(response.error ?? "the backend's response failed", data), json };
      }
      case "response.completed":
      case "response.incomplete": {
        const response = isObject(json.response) ? json.response : {};
        return { kind: "done", finished: true, usage: usageOf(response.usage), json };
      }
      case "response.output_item.added": {
        const item = isObject(json.item) ? json.item : {};
        return { kind: EMPTY_ITEMS.has(String(item.type)) ? "envelope" : "content", json };
      }
      default:
        if (RESPONSES_ENVELOPE.has(type)) return { kind: "envelope", json };
        if (type.endsWith(".delta") && !hasText(json.delta)) return { kind: "envelope", json };
        return { kind: "content", json };
    }
  },
};

/**
 * Any other stream (an endpoint modelpin does not know): every event with
 * data is content, an error event an error, `[DONE]` the end; a close is
 * complete.
 */
export const OPAQUE_GRAMMAR: EventGrammar = {
  name: "opaque",
  needsEnd: false,
  inspect(event) {
    const data = event.data;
    if (event.type === "error") return errorInfo(undefined, data);
    if (data === undefined) return NONE;
    if (data.trim() === "[DONE]") return DONE;
    if (!data.includes("error")) return { kind: "content" };
    const json = jsonOf(data);
    if (json?.error !== undefined && json.error !== null) return { ...errorInfo(json.error, data), json };
    return { kind: "content", json };
  },
};
