/**
 * What one upstream event means, per wire format: a table of events and what
 * each grammar reads in them (kind, error message, finish, usage, the parsed
 * JSON). The first-event judge, the relay's end and the usage count all read
 * events through these.
 */

import assert from "node:assert/strict";
import {
  CHAT_GRAMMAR,
  type EventGrammar,
  type EventInfo,
  OPAQUE_GRAMMAR,
  RESPONSES_GRAMMAR,
} from "../../../src/stream/event_grammar.ts";
import { sseEvent } from "../../../src/stream/sse_framer.ts";

const encoder = new TextEncoder();

/** What a case expects: `kind` always; the other fields only where named (`finished` false/undefined alike). */
type Expected = Pick<EventInfo, "kind"> & Partial<Omit<EventInfo, "kind" | "json">> & { json?: boolean };

interface Case {
  name: string;
  event: string;
  want: Expected;
}

/** `data: <json>` as one event. */
const data = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;
/** A chat completion chunk with one choice. */
const choice = (fields: Record<string, unknown>) => data({ id: "c", choices: [{ index: 0, ...fields }] });
/** A Responses API event, with its `event:` line as OpenAI sends it. */
const responses = (type: string, fields: Record<string, unknown> = {}) =>
  `event: ${type}\n${data({ type, ...fields })}`;

function check(grammar: EventGrammar, c: Case): void {
  Deno.test(`grammar ${grammar.name}: ${c.name} -> ${c.want.kind}`, () => {
    const info = grammar.inspect(sseEvent(encoder.encode(c.event)));
    assert.equal(info.kind, c.want.kind);
    if ("message" in c.want) assert.equal(info.message, c.want.message);
    else if (info.kind !== "error") assert.equal(info.message, undefined, "only an error has a message");
    assert.equal(info.finished ?? false, c.want.finished ?? false, "finished");
    assert.deepEqual(info.usage, c.want.usage, "usage");
    if (c.want.json === true) {
      const payload = c.event.split("\n").find((line) => line.startsWith("data: "))!.slice(6);
      assert.deepEqual(info.json, JSON.parse(payload), "the parsed JSON comes along, for the translator");
    } else if (c.want.json === false) assert.equal(info.json, undefined);
  });
}

Deno.test("grammar: chat and Responses streams need their end; an opaque one does not", () => {
  assert.deepEqual([CHAT_GRAMMAR.name, CHAT_GRAMMAR.needsEnd], ["chat", true]);
  assert.deepEqual([RESPONSES_GRAMMAR.name, RESPONSES_GRAMMAR.needsEnd], ["responses", true]);
  assert.deepEqual([OPAQUE_GRAMMAR.name, OPAQUE_GRAMMAR.needsEnd], ["opaque", false]);
});

// ---------------------------------------------------------------- chat completions

const chat: Case[] = [
  {
    name: "a role-only delta",
    event: choice({ delta: { role: "assistant" } }),
    want: { kind: "envelope", json: true },
  },
  {
    name: "an empty content delta",
    event: choice({ delta: { role: "assistant", content: "" } }),
    want: { kind: "envelope" },
  },
  { name: "a null content delta", event: choice({ delta: { content: null } }), want: { kind: "envelope" } },
  { name: "a chunk without choices", event: data({ id: "c", choices: [] }), want: { kind: "envelope" } },
  { name: "content", event: choice({ delta: { content: "Hi" } }), want: { kind: "content", json: true } },
  {
    name: "a tool call",
    event: choice({ delta: { tool_calls: [{ index: 0, id: "t", function: { name: "f", arguments: "" } }] } }),
    want: { kind: "content" },
  },
  { name: "an empty tool_calls list", event: choice({ delta: { tool_calls: [] } }), want: { kind: "envelope" } },
  {
    name: "a legacy function_call",
    event: choice({ delta: { function_call: { name: "f" } } }),
    want: { kind: "content" },
  },
  { name: "reasoning_content", event: choice({ delta: { reasoning_content: "hmm" } }), want: { kind: "content" } },
  { name: "reasoning", event: choice({ delta: { reasoning: "hmm" } }), want: { kind: "content" } },
  { name: "a refusal", event: choice({ delta: { refusal: "no" } }), want: { kind: "content" } },
  { name: "legacy completions text", event: choice({ text: "Hi" }), want: { kind: "content" } },
  { name: "a whole message (not a delta)", event: choice({ message: { content: "Hi" } }), want: { kind: "content" } },
  {
    name: "a finish_reason alone",
    event: choice({ delta: {}, finish_reason: "stop" }),
    want: { kind: "content", finished: true },
  },
  {
    name: 'finish_reason "" (some backends send it in every chunk) is no finish',
    event: choice({ delta: { content: "x" }, finish_reason: "" }),
    want: { kind: "content" },
  },
  {
    name: "finish_reason null is no finish",
    event: choice({ delta: { content: "x" }, finish_reason: null }),
    want: { kind: "content" },
  },
  {
    name: "a finish in a later choice",
    event: data({ choices: [{ index: 0, delta: {} }, { index: 1, delta: {}, finish_reason: "length" }] }),
    want: { kind: "content", finished: true },
  },
  {
    name: "a usage-only chunk (choices [])",
    event: data({ id: "c", choices: [], usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 } }),
    want: { kind: "envelope", usage: { input: 7, output: 2 } },
  },
  {
    name: "a finish with usage",
    event: data({
      choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
      usage: { prompt_tokens: 3, completion_tokens: 4 },
    }),
    want: { kind: "content", finished: true, usage: { input: 3, output: 4 } },
  },
  {
    name: "usage null is no usage",
    event: data({ choices: [{ index: 0, delta: { content: "x" } }], usage: null }),
    want: { kind: "content" },
  },
  {
    name: "an error object",
    event: data({ error: { message: "model overloaded", type: "server_error" } }),
    want: { kind: "error", message: "model overloaded", json: true },
  },
  { name: "an error string", event: data({ error: "bad things" }), want: { kind: "error", message: "bad things" } },
  {
    name: "an error without a message",
    event: data({ error: { code: 500 } }),
    want: { kind: "error", message: "the backend reported an error" },
  },
  {
    name: "error null is no error",
    event: data({ error: null, choices: [] }),
    want: { kind: "envelope" },
  },
  { name: "error_count is no error", event: data({ error_count: 0 }), want: { kind: "envelope" } },
  {
    name: "an error split over data lines",
    event: 'data: {"error":\ndata: {"message":"multi"}}\n\n',
    want: { kind: "error", message: "multi" },
  },
  {
    name: "an error with CRLF endings",
    event: 'data:{"error":{"message":"x"}}\r\n\r\n',
    want: { kind: "error", message: "x" },
  },
  {
    name: "event: error with a JSON message",
    event: 'event: error\ndata: {"message":"rate limited"}\n\n',
    want: { kind: "error", message: "rate limited" },
  },
  { name: "event: error with text", event: "event: error\ndata: oops\n\n", want: { kind: "error", message: "oops" } },
  {
    name: "event: error without data",
    event: "event:error\n\n",
    want: { kind: "error", message: "the backend reported an error" },
  },
  { name: "[DONE]", event: "data: [DONE]\n\n", want: { kind: "done" } },
  { name: "[DONE] with spaces", event: "data:  [DONE] \n\n", want: { kind: "done" } },
  { name: "data that is not JSON", event: "data: hello\n\n", want: { kind: "content", json: false } },
  { name: "data that is broken JSON", event: 'data: {"choices":\n\n', want: { kind: "content", json: false } },
  { name: "a JSON array", event: "data: [1,2]\n\n", want: { kind: "content", json: false } },
  {
    name: "JSON nested deeper than the bound is not parsed",
    event: `data: {"error":${"[".repeat(300)}${"]".repeat(300)}}\n\n`,
    want: { kind: "content", json: false },
  },
  { name: "a comment", event: ": keep-alive\n\n", want: { kind: "none" } },
  { name: "an id-only block", event: "id: 7\n\n", want: { kind: "none" } },
  {
    name: "event: message with a chunk",
    event: `event: message\n${choice({ delta: { content: "x" } })}`,
    want: {
      kind: "content",
    },
  },
];

for (const c of chat) check(CHAT_GRAMMAR, c);

// ---------------------------------------------------------------- Responses API

const responsesCases: Case[] = [
  { name: "response.created", event: responses("response.created", { response: {} }), want: { kind: "envelope" } },
  { name: "response.in_progress", event: responses("response.in_progress"), want: { kind: "envelope" } },
  { name: "response.queued", event: responses("response.queued"), want: { kind: "envelope" } },
  { name: "response.content_part.added", event: responses("response.content_part.added"), want: { kind: "envelope" } },
  {
    name: "response.reasoning_summary_part.added",
    event: responses("response.reasoning_summary_part.added"),
    want: { kind: "envelope" },
  },
  {
    name: "output_item.added of a message (an empty shell)",
    event: responses("response.output_item.added", { item: { type: "message", content: [] } }),
    want: { kind: "envelope", json: true },
  },
  {
    name: "output_item.added of reasoning",
    event: responses("response.output_item.added", { item: { type: "reasoning" } }),
    want: { kind: "envelope" },
  },
  {
    name: "output_item.added of a function call",
    event: responses("response.output_item.added", { item: { type: "function_call", name: "f" } }),
    want: { kind: "content" },
  },
  {
    name: "output_text.delta with text",
    event: responses("response.output_text.delta", { delta: "Hi" }),
    want: { kind: "content", json: true },
  },
  {
    name: "output_text.delta that is empty",
    event: responses("response.output_text.delta", { delta: "" }),
    want: { kind: "envelope" },
  },
  {
    name: "function_call_arguments.delta",
    event: responses("response.function_call_arguments.delta", { delta: "{" }),
    want: { kind: "content" },
  },
  {
    name: "output_text.done",
    event: responses("response.output_text.done", { text: "Hi" }),
    want: { kind: "content" },
  },
  {
    name: "response.completed, with usage from response.usage",
    event: responses("response.completed", {
      response: { status: "completed", usage: { input_tokens: 11, output_tokens: 22, total_tokens: 33 } },
    }),
    want: { kind: "done", finished: true, usage: { input: 11, output: 22 }, json: true },
  },
  {
    name: "response.completed without usage",
    event: responses("response.completed", { response: {} }),
    want: { kind: "done", finished: true },
  },
  {
    name: "response.incomplete",
    event: responses("response.incomplete", { response: { usage: { input_tokens: 1, output_tokens: 2 } } }),
    want: { kind: "done", finished: true, usage: { input: 1, output: 2 } },
  },
  {
    name: "response.failed, with response.error.message",
    event: responses("response.failed", { response: { error: { code: "server_error", message: "it broke" } } }),
    want: { kind: "error", message: "it broke", json: true },
  },
  {
    name: "response.failed without an error",
    event: responses("response.failed", { response: {} }),
    want: { kind: "error", message: "the backend's response failed" },
  },
  {
    name: "an error event with a message",
    event: responses("error", { code: "rate_limit", message: "slow down" }),
    want: { kind: "error", message: "slow down" },
  },
  {
    name: "an error event with an error object",
    event: responses("error", { error: { message: "nested" } }),
    want: { kind: "error", message: "nested" },
  },
  {
    name: "event: error with text",
    event: "event: error\ndata: upstream exploded\n\n",
    want: { kind: "error", message: "upstream exploded" },
  },
  {
    name: "event: error without data",
    event: "event: error\n\n",
    want: { kind: "error", message: "the backend reported an error" },
  },
  {
    name: "the type from the event line when the JSON has none",
    event: "event: response.created\ndata: {}\n\n",
    want: { kind: "envelope" },
  },
  { name: "data that is not JSON", event: "data: hello\n\n", want: { kind: "content", json: false } },
  { name: "a comment", event: ": ping\n\n", want: { kind: "none" } },
];

for (const c of responsesCases) check(RESPONSES_GRAMMAR, c);

// ---------------------------------------------------------------- anything else

const opaque: Case[] = [
  { name: "data", event: "data: x\n\n", want: { kind: "content" } },
  { name: "a JSON chunk", event: choice({ delta: { role: "assistant" } }), want: { kind: "content" } },
  { name: "[DONE]", event: "data: [DONE]\n\n", want: { kind: "done" } },
  {
    name: "an error object",
    event: data({ error: { message: "quota" } }),
    want: { kind: "error", message: "quota", json: true },
  },
  { name: "a field that merely says error", event: data({ errors_seen: 0 }), want: { kind: "content", json: true } },
  { name: "event: error", event: "event: error\ndata: boom\n\n", want: { kind: "error", message: "boom" } },
  { name: "a comment", event: ": keep-alive\n\n", want: { kind: "none" } },
];

for (const c of opaque) check(OPAQUE_GRAMMAR, c);
