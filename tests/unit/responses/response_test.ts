/**
 * A chat completion as a Responses answer (translateAnswer): the output
 * items (reasoning first, the message, one item per tool call in the form
 * the client offered the tool as), status and incomplete_details, usage,
 * the echo fields, the item store, and the 502 for an answer that is not a
 * chat completion.
 */

import assert from "node:assert/strict";
import { ProxyError } from "../../../src/errors/errors.ts";
import { ItemStore } from "../../../src/responses/item_store.ts";
import { type TranslatedResponses, translateResponsesRequest } from "../../../src/responses/request.ts";
import { translateAnswer } from "../../../src/responses/response.ts";

type Json = Record<string, unknown>;

const LONG = "mcp__a_very_long_server_name_for_testing__and_a_long_tool_name_beyond64";
const PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch\n";
const TOOLS = [
  { type: "function", name: "exec_command", parameters: { type: "object", properties: { cmd: { type: "string" } } } },
  { type: "custom", name: "apply_patch", format: { type: "grammar", syntax: "lark", definition: "start: x" } },
  {
    type: "namespace",
    name: "multi_agent_v1",
    tools: [{ type: "function", name: "spawn_agent", parameters: null }],
  },
  { type: "tool_search", execution: "client", parameters: { type: "object" } },
  { type: "local_shell" },
  { type: "function", name: LONG, parameters: null },
  { type: "web_search" },
];

/** The translated request an answer belongs to. */
function request(extra: Json = {}, store = new ItemStore()): TranslatedResponses {
  return translateResponsesRequest({ model: "gpt-5.5", input: "hi", tools: TOOLS, ...extra }, store);
}

/** A chat completion with one choice. */
function completion(message: Json, finish = "stop", extra: Json = {}): Json {
  return {
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1765552663,
    model: "backend-model",
    choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: finish }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    ...extra,
  };
}

const bytes = (value: unknown) => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));

/** The Response object translateAnswer gives for `answer`. */
function answer(value: unknown, t = request(), store = new ItemStore()): Json {
  return JSON.parse(translateAnswer(bytes(value), t, store));
}

const call = (id: string, name: string, args: string) => ({
  id,
  type: "function",
  function: { name, arguments: args },
});
const output = (r: Json) => r.output as Json[];
/** An output item without its minted `id` (its prefix checked). */
function withoutId(item: Json, prefix: string): Json {
  assert.match(item.id as string, new RegExp(`^${prefix}_[0-9a-f]{24}$`));
  const { id: _, ...rest } = item;
  return rest;
}

Deno.test("responses answer: text becomes a completed message item with output_text and annotations []", () => {
  const r = answer(completion({ content: "The final result is **570**." }));
  assert.match(r.id as string, /^resp_[0-9a-f]{24}$/);
  assert.equal(r.object, "response", "without it openai-node computes no output_text");
  assert.equal(r.created_at, 1765552663, "the backend's created");
  assert.equal(r.status, "completed");
  assert.equal(r.error, null);
  assert.equal(r.incomplete_details, null);
  assert.equal(r.model, "gpt-5.5", "the model the client asked for, not the backend's");
  assert.equal(output(r).length, 1);
  assert.deepEqual(withoutId(output(r)[0], "msg"), {
    type: "message",
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text: "The final result is **570**.", annotations: [], logprobs: [] }],
  });
});

Deno.test("responses answer: reasoning_content (or reasoning) becomes a reasoning item before the message", () => {
  for (const field of ["reasoning_content", "reasoning"]) {
    const r = answer(completion({ content: "4", [field]: "2+2=4" }));
    assert.deepEqual(output(r).map((i) => i.type), ["reasoning", "message"], field);
    assert.deepEqual(withoutId(output(r)[0], "rs"), {
      type: "reasoning",
      summary: [],
      content: [{ type: "reasoning_text", text: "2+2=4" }],
    });
  }
});

Deno.test("responses answer: empty content and empty reasoning make no items", () => {
  const r = answer(completion({ content: "", reasoning_content: "" }));
  assert.deepEqual(r.output, []);
  assert.equal(answer(completion({ content: null })).status, "completed");
});

Deno.test("responses answer: a function call becomes a function_call item with the backend's call id", () => {
  const r = answer(
    completion({ content: null, tool_calls: [call("call_1", "exec_command", '{"cmd":"ls"}')] }, "tool_calls"),
  );
  assert.equal(r.status, "completed");
  assert.deepEqual(withoutId(output(r)[0], "fc"), {
    type: "function_call",
    status: "completed",
    call_id: "call_1",
    name: "exec_command",
    arguments: '{"cmd":"ls"}',
  });
});

Deno.test("responses answer: text, then several calls, each its own item in order", () => {
  const r = answer(
    completion({
      content: "Let me check.",
      tool_calls: [call("call_a", "exec_command", '{"cmd":"a"}'), call("call_b", "exec_command", '{"cmd":"b"}')],
    }, "tool_calls"),
  );
  assert.deepEqual(output(r).map((i) => [i.type, i.call_id]), [
    ["message", undefined],
    ["function_call", "call_a"],
    ["function_call", "call_b"],
  ]);
});

Deno.test("responses answer: a namespace member's call is a function_call with name and namespace", () => {
  const r = answer(completion({ tool_calls: [call("call_ns", "multi_agent_v1__spawn_agent", '{"task":"t"}')] }));
  assert.deepEqual(withoutId(output(r)[0], "fc"), {
    type: "function_call",
    status: "completed",
    call_id: "call_ns",
    name: "spawn_agent",
    arguments: '{"task":"t"}',
    namespace: "multi_agent_v1",
  });
});

Deno.test("responses answer: a custom tool's call is a custom_tool_call with the raw input from {input}", () => {
  const r = answer(completion({ tool_calls: [call("call_p", "apply_patch", JSON.stringify({ input: PATCH }))] }));
  assert.deepEqual(withoutId(output(r)[0], "ctc"), {
    type: "custom_tool_call",
    status: "completed",
    call_id: "call_p",
    name: "apply_patch",
    input: PATCH,
  });
});

Deno.test("responses answer: a custom tool's arguments not in the {input: string} shape are the input as they came", () => {
  for (const args of [PATCH, '{"patch":"x"}', '{"input":42}', "[1]"]) {
    const r = answer(completion({ tool_calls: [call("c", "apply_patch", args)] }));
    assert.equal(output(r)[0].type, "custom_tool_call");
    assert.equal(output(r)[0].input, args, JSON.stringify(args));
  }
});

Deno.test("responses answer: a tool_search call is a tool_search_call, its arguments an object, executed by the client", () => {
  const r = answer(completion({ tool_calls: [call("call_ts", "tool_search", '{"query":"spawn agent","limit":3}')] }));
  assert.deepEqual(withoutId(output(r)[0], "tsc"), {
    type: "tool_search_call",
    status: "completed",
    call_id: "call_ts",
    execution: "client",
    arguments: { query: "spawn agent", limit: 3 },
  });
  const bad = answer(completion({ tool_calls: [call("c", "tool_search", "not json")] }));
  assert.deepEqual(output(bad)[0].arguments, {}, "arguments that do not parse are {}");
});

Deno.test("responses answer: a local_shell call is a local_shell_call with action.command", () => {
  const r = answer(
    completion({
      tool_calls: [
        call("call_ls", "local_shell", '{"command":["bash","-lc","ls"],"workdir":"/tmp","timeout_ms":5000}'),
      ],
    }),
  );
  assert.deepEqual(withoutId(output(r)[0], "lsh"), {
    type: "local_shell_call",
    status: "completed",
    call_id: "call_ls",
    action: {
      type: "exec",
      command: ["bash", "-lc", "ls"],
      env: {},
      timeout_ms: 5000,
      working_directory: "/tmp",
      user: null,
    },
  });
  const str = answer(completion({ tool_calls: [call("c", "local_shell", '{"command":"ls -la"}')] }));
  assert.deepEqual((output(str)[0].action as Json).command, ["ls -la"], "a command string is one element");
});

Deno.test("responses answer: a shortened tool name comes back as the client's long name", () => {
  const t = request();
  const short = t.tools.chatName(LONG);
  assert.equal(short.length, 64);
  const r = answer(completion({ tool_calls: [call("c", short, "{}")] }), t);
  assert.equal(output(r)[0].name, LONG);
});

Deno.test("responses answer: a call without id gets a call_ id; object arguments are serialised", () => {
  const r = answer(completion({
    tool_calls: [{ type: "function", function: { name: "exec_command", arguments: { cmd: "ls" } } }],
  }));
  assert.match(output(r)[0].call_id as string, /^call_[0-9a-f]{24}$/);
  assert.equal(output(r)[0].arguments, '{"cmd":"ls"}');
});

Deno.test("responses answer: finish length is incomplete with reason max_output_tokens; its items incomplete too", () => {
  const r = answer(completion({ content: "cut sh", tool_calls: [call("c", "exec_command", '{"cmd":')] }, "length"));
  assert.equal(r.status, "incomplete");
  assert.deepEqual(r.incomplete_details, { reason: "max_output_tokens" });
  assert.deepEqual(output(r).map((i) => i.status), ["incomplete", "incomplete"]);
});

Deno.test("responses answer: finish content_filter is incomplete with reason content_filter", () => {
  const r = answer(completion({ content: "I can" }, "content_filter"));
  assert.equal(r.status, "incomplete");
  assert.deepEqual(r.incomplete_details, { reason: "content_filter" });
  assert.equal(output(r)[0].status, "incomplete");
});

Deno.test("responses answer: usage in Responses' shape, cached and reasoning tokens included", () => {
  const r = answer(completion({ content: "x" }, "stop", {
    usage: {
      prompt_tokens: 299,
      completion_tokens: 12,
      total_tokens: 311,
      prompt_tokens_details: { cached_tokens: 128 },
      completion_tokens_details: { reasoning_tokens: 7 },
    },
  }));
  assert.deepEqual(r.usage, {
    input_tokens: 299,
    input_tokens_details: { cached_tokens: 128 },
    output_tokens: 12,
    output_tokens_details: { reasoning_tokens: 7 },
    total_tokens: 311,
  });
});

Deno.test("responses answer: usage without details has zeros; without total_tokens the sum; DeepSeek's cache hits count", () => {
  const r = answer(completion({ content: "x" }, "stop", { usage: { prompt_tokens: 3, completion_tokens: 4 } }));
  assert.deepEqual(r.usage, {
    input_tokens: 3,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 4,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 7,
  });
  const deepseek = answer(completion({ content: "x" }, "stop", {
    usage: { prompt_tokens: 30, completion_tokens: 4, total_tokens: 34, prompt_cache_hit_tokens: 20 },
  }));
  assert.equal((deepseek.usage as { input_tokens_details: Json }).input_tokens_details.cached_tokens, 20);
  const none = answer({ choices: [{ message: { content: "x" }, finish_reason: "stop" }] });
  assert.equal(none.usage, null, "no usage: null");
});

Deno.test("responses answer: the request fields a Response echoes", () => {
  const t = request({
    instructions: "Be brief.",
    max_output_tokens: 100,
    metadata: { k: "v" },
    reasoning: { effort: "high", summary: "auto" },
    temperature: 0.3,
    top_p: 0.9,
    tool_choice: "required",
    text: { format: { type: "json_object" } },
    store: true,
    user: "u-1",
    parallel_tool_calls: false,
  });
  const r = answer(completion({ content: "x" }), t);
  assert.equal(r.instructions, "Be brief.");
  assert.equal(r.max_output_tokens, 100);
  assert.deepEqual(r.metadata, { k: "v" });
  assert.deepEqual(r.reasoning, { effort: "high", summary: "auto" });
  assert.equal(r.temperature, 0.3);
  assert.equal(r.top_p, 0.9);
  assert.equal(r.tool_choice, "required");
  assert.deepEqual(r.text, { format: { type: "json_object" } });
  assert.equal(r.store, true);
  assert.equal(r.user, "u-1");
  assert.equal(r.parallel_tool_calls, false);
  assert.deepEqual(r.tools, TOOLS, "the tools as the client sent them");
  assert.equal(r.previous_response_id, null);
});

Deno.test("responses answer: without the backend's created, created_at is now", () => {
  const before = Math.floor(Date.now() / 1000);
  const r = answer({ choices: [{ message: { content: "x" }, finish_reason: "stop" }] });
  assert.ok((r.created_at as number) >= before && (r.created_at as number) <= before + 2);
});

Deno.test("responses answer: every output item is kept in the store, so a later item_reference resolves", () => {
  const store = new ItemStore();
  const r = answer(
    completion({
      reasoning_content: "why",
      content: "Earlier answer.",
      tool_calls: [call("call_1", "exec_command", '{"cmd":"ls"}')],
    }, "tool_calls"),
    request({}, store),
    store,
  );
  assert.equal(store.size, 3);
  for (const item of output(r)) assert.deepEqual(store.get(item.id as string), item);
  // The Vercel AI SDK sends the items back by reference.
  const next = request({
    input: [
      { role: "user", content: "q" },
      ...output(r).map((item) => ({ type: "item_reference", id: item.id })),
      { type: "function_call_output", call_id: "call_1", output: "a.txt" },
    ],
  }, store);
  assert.deepEqual(next.chat.messages, [
    { role: "user", content: "q" },
    {
      role: "assistant",
      content: "Earlier answer.",
      tool_calls: [{ id: "call_1", type: "function", function: { name: "exec_command", arguments: '{"cmd":"ls"}' } }],
      reasoning_content: "why",
    },
    { role: "tool", tool_call_id: "call_1", content: "a.txt" },
  ]);
});

Deno.test("responses answer: an answer that is not JSON, or has no choices, is a 502", () => {
  for (const bad of ["not json", "", "[1,2]", { object: "chat.completion" }, { choices: [] }, { choices: ["x"] }]) {
    assert.throws(() => answer(bad), (err: unknown) => {
      assert.ok(err instanceof ProxyError, String(err));
      assert.equal(err.status, 502);
      assert.equal(err.code, "upstream_bad_answer");
      return true;
    }, JSON.stringify(bad));
  }
});

Deno.test("responses answer: a refusal becomes a message item with a refusal part", () => {
  const r = answer(completion({ role: "assistant", content: null, refusal: "I can't help with that." }));
  assert.deepEqual(output(r).map((item) => item.content), [[{ type: "refusal", refusal: "I can't help with that." }]]);
  assert.equal(r.status, "completed");
});
