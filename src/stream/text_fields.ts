/**
 * Where a client assembles text from a stream's events, per wire format: the
 * fields whose values it joins across events (a choice's content, a tool
 * call's arguments, a Responses item's deltas, the tokens of their logprobs),
 * each named by its *channel* (the run of values a client joins) and its
 * *group* (what ends together: a choice at its `finish_reason`, a Responses
 * item at its `.done` event). The content masker reads them to find keys
 * split across events.
 *
 * @module
 */

import { ToolCallKeys } from "./chat_tool_calls.ts";
import { type EventGrammar, finishReasonOf, type JsonObject } from "./event_grammar.ts";

/** One text value of an event, where it sits, and the run of values it belongs to. */
export interface TextField {
  /** What ends together: `c<index>` for a chat choice, the item for a Responses event. */
  group: string;
  /** The run of values a client joins, within its group. */
  channel: string;
  /** The object (or array) holding the value. */
  holder: Record<string, unknown>;
  /** The value's key in `holder`. */
  key: string;
}

/** What an event ends: nothing, some groups, or every group (the stream's end, or an event naming none). */
export type Ends = "none" | "all" | string[];

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The text fields of one event of `grammar`. `calls` tells each choice's
 * tool calls apart, as the translators do.
 */
export function textFields(grammar: EventGrammar, json: JsonObject, calls: Map<string, ToolCallKeys>): TextField[] {
  if (grammar.name === "chat") return chatFields(json, calls);
  if (grammar.name === "responses") return responsesFields(json);
  return [];
}

/** What an event of `grammar` ends: a finished choice's group, a `.done` event's item. */
export function groupsEnded(grammar: EventGrammar, json: JsonObject | undefined): Ends {
  if (json === undefined) return "none";
  if (grammar.name === "chat") {
    if (!Array.isArray(json.choices)) return "none";
    const ended = json.choices.flatMap((choice, i) =>
      isObject(choice) && finishReasonOf(choice) !== undefined ? [choiceGroup(choice, i)] : []
    );
    return ended.length > 0 ? ended : "none";
  }
  if (grammar.name === "responses" && String(json.type ?? "").endsWith(".done")) {
    return typeof json.item_id === "string" || typeof json.output_index === "number" ? [itemGroup(json)] : "all";
  }
  return "none";
}

function choiceGroup(choice: JsonObject, i: number): string {
  return `c${typeof choice.index === "number" ? choice.index : i}`;
}

function itemGroup(json: JsonObject): string {
  return typeof json.item_id === "string" ? `item:${json.item_id}` : `output:${json.output_index}`;
}

/** The text fields of a chat (or completions) chunk. */
function chatFields(json: JsonObject, calls: Map<string, ToolCallKeys>): TextField[] {
  const fields: TextField[] = [];
  if (!Array.isArray(json.choices)) return fields;
  json.choices.forEach((choice, i) => {
    if (!isObject(choice)) return;
    const group = choiceGroup(choice, i);
    const add = (channel: string, holder: Record<string, unknown>, key: string) => {
      if (typeof holder[key] === "string") fields.push({ group, channel, holder, key });
    };
    add("text", choice, "text");
    logprobFields(choice.logprobs, (channel, holder, key) => add(channel, holder, key));
    const delta = choice.delta;
    if (!isObject(delta)) return;
    for (const key of ["content", "reasoning_content", "reasoning", "refusal"]) add(key, delta, key);
    if (isObject(delta.function_call)) add("function_call", delta.function_call, "arguments");
    if (!Array.isArray(delta.tool_calls)) return;
    for (const call of delta.tool_calls) {
      if (!isObject(call)) continue;
      const channel = callChannel(group, call, calls);
      if (isObject(call.function)) add(channel, call.function, "arguments");
    }
  });
  return fields;
}

/** Tool calls told apart at most per choice, and choices with calls: a backend that never ends them cannot grow the keys. */
const MAX_CALLS = 4096;

/** The channel of a tool call fragment: its call, told apart as the translators tell it (chat_tool_calls.ts). */
function callChannel(group: string, call: JsonObject, calls: Map<string, ToolCallKeys>): string {
  if (calls.size > MAX_CALLS) calls.clear(); // as many choices with tool calls: forget the oldest wholesale
  let keys = calls.get(group);
  if (keys === undefined || keys.size > MAX_CALLS) calls.set(group, keys = new ToolCallKeys());
  return `tool#${keys.of(call).call}`;
}

/**
 * The tokens of a choice's (or a Responses delta's) logprobs: what a client
 * that shows them joins. `content` and `refusal` lists of `{token}`, and the
 * legacy completions' `tokens` list of strings.
 */
function logprobFields(
  logprobs: unknown,
  add: (channel: string, holder: Record<string, unknown>, key: string) => void,
) {
  if (Array.isArray(logprobs)) {
    for (const entry of logprobs) if (isObject(entry)) add("logprobs", entry, "token");
    return;
  }
  if (!isObject(logprobs)) return;
  for (const list of ["content", "refusal"]) {
    const entries = logprobs[list];
    if (Array.isArray(entries)) {
      for (const entry of entries) if (isObject(entry)) add(`logprobs.${list}`, entry, "token");
    }
  }
  const tokens = logprobs.tokens;
  if (Array.isArray(tokens)) {
    tokens.forEach((_, i) => add("logprobs.tokens", tokens as unknown as Record<string, unknown>, String(i)));
  }
}

/** The text of a Responses delta event (and its logprobs), by item and part. */
function responsesFields(json: JsonObject): TextField[] {
  const type = String(json.type ?? "");
  if (!type.endsWith(".delta") || typeof json.delta !== "string") return [];
  const group = itemGroup(json);
  const part = `${type}|${json.content_index ?? json.summary_index ?? ""}`;
  const fields: TextField[] = [{ group, channel: part, holder: json, key: "delta" }];
  logprobFields(json.logprobs, (channel, holder, key) => {
    if (typeof holder[key] === "string") fields.push({ group, channel: `${part}|${channel}`, holder, key });
  });
  return fields;
}
