/** Answer translation tables: chat.completion JSON to an Anthropic message. */

import assert from "node:assert/strict";
import { BackendAnswerError, translateResponse } from "../../../src/anthropic/response.ts";
import { mapStop } from "../../../src/anthropic/stop_reason.ts";
import { ToolNames } from "../../../src/request/tool_names.ts";

type Json = Record<string, unknown>;

function ctx(extra: Partial<Parameters<typeof translateResponse>[1]> = {}) {
  let n = 0;
  return {
    requestedModel: "claude-sonnet-4-5",
    wantsThinking: false,
    toolNames: new ToolNames(),
    stopSequences: [],
    newId: (p: string) => `${p}gen${++n}`,
    ...extra,
  };
}

function completion(message: Json, finish: string | null = "stop", extra: Json = {}): Json {
  return {
    id: "chatcmpl-abc",
    object: "chat.completion",
    model: "deepseek-v3",
    choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: finish, ...extra }],
    usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
  };
}

Deno.test("anthropic answer: text becomes a text block; the answer carries the requested model", () => {
  assert.deepEqual(translateResponse(completion({ content: "Hello" }), ctx()), {
    id: "msg_abc",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-5",
    content: [{ type: "text", text: "Hello" }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: 12, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  });
});

Deno.test("anthropic answer: tool calls become tool_use with parsed input, backend id kept or toolu_ made", () => {
  const names = new ToolNames();
  const long = "x".repeat(80);
  const short = names.shorten(long);
  const out = translateResponse(
    completion({
      content: "",
      tool_calls: [
        { id: "call_1", type: "function", function: { name: "Bash", arguments: '{"command":"ls -la"}' } },
        { type: "function", function: { name: short, arguments: "" } },
      ],
    }, "tool_calls"),
    ctx({ toolNames: names }),
  );
  assert.deepEqual(out.content, [
    { type: "tool_use", id: "call_1", name: "Bash", input: { command: "ls -la" } },
    { type: "tool_use", id: "toolu_gen1", name: long, input: {} },
  ]);
  assert.equal(out.stop_reason, "tool_use");
});

Deno.test("anthropic answer: no empty text block, content null gives no block", () => {
  assert.deepEqual(translateResponse(completion({ content: null }), ctx()).content, []);
  assert.deepEqual(translateResponse(completion({ content: "" }), ctx()).content, []);
});

Deno.test("anthropic answer: reasoning becomes a thinking block only when thinking was asked for", () => {
  const c = completion({ content: "4", reasoning_content: "2+2" });
  assert.deepEqual(translateResponse(c, ctx({ wantsThinking: true })).content, [
    { type: "thinking", thinking: "2+2", signature: "" },
    { type: "text", text: "4" },
  ]);
  assert.deepEqual(translateResponse(c, ctx()).content, [{ type: "text", text: "4" }]);
});

Deno.test("anthropic answer: cached prompt tokens become cache_read_input_tokens (OpenAI and DeepSeek fields)", () => {
  const openai = {
    ...completion({ content: "x" }),
    usage: { prompt_tokens: 100, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 60 } },
  };
  assert.deepEqual(translateResponse(openai, ctx()).usage, {
    input_tokens: 40,
    output_tokens: 3,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 60,
  });
  const deepseek = {
    ...completion({ content: "x" }),
    usage: { prompt_tokens: 100, completion_tokens: 3, prompt_cache_hit_tokens: 90 },
  };
  assert.equal(
    translateResponse(deepseek, ctx()).usage &&
      (translateResponse(deepseek, ctx()).usage as Json).cache_read_input_tokens,
    90,
  );
});

Deno.test("anthropic answer: a matched stop sequence reported by the backend becomes stop_sequence", () => {
  const out = translateResponse(
    completion({ content: "a" }, "stop", { stop_reason: "END" }),
    ctx({ stopSequences: ["END"] }),
  );
  assert.equal(out.stop_reason, "stop_sequence");
  assert.equal(out.stop_sequence, "END");
});

Deno.test("anthropic answer: an answer without choices is a BackendAnswerError", () => {
  assert.throws(() => translateResponse({ object: "chat.completion", choices: [] }, ctx()), BackendAnswerError);
  assert.throws(() => translateResponse("nope", ctx()), BackendAnswerError);
});

const stops: [unknown, unknown, string[], boolean, string, string | null][] = [
  ["stop", null, [], false, "end_turn", null],
  ["length", null, [], false, "max_tokens", null],
  ["tool_calls", null, [], true, "tool_use", null],
  ["function_call", null, [], true, "tool_use", null],
  ["content_filter", null, [], false, "refusal", null],
  ["stop", "END", ["END"], false, "stop_sequence", "END"],
  ["stop", "END", [], false, "end_turn", null],
  ["stop", 128009, ["END"], false, "end_turn", null],
  ["stop", null, [], true, "tool_use", null],
  [null, null, [], false, "end_turn", null],
];
for (const [finish, matched, seqs, tools, reason, seq] of stops) {
  Deno.test(`anthropic stop: ${finish} (matched ${matched}, tools ${tools}) is ${reason}`, () => {
    assert.deepEqual(mapStop(finish, matched, seqs, tools), { stop_reason: reason, stop_sequence: seq });
  });
}
