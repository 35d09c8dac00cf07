/**
 * Request translation tables for the Responses API on a chat-only backend:
 * every `input` item and content part Codex, the SDKs and the Vercel AI SDK
 * send, the parameters, the fields dropped, and the 400s that name what
 * modelpin cannot honour (state it does not keep, files it cannot fetch).
 */

import assert from "node:assert/strict";
import { ProxyError } from "../../../src/errors/errors.ts";
import { ItemStore } from "../../../src/responses/item_store.ts";
import { translateResponsesRequest } from "../../../src/responses/request.ts";

type Json = Record<string, unknown>;

const translate = (body: Json, store = new ItemStore()) =>
  translateResponsesRequest({ model: "gpt-5.5", ...body }, store);
/** The chat messages of `input`. */
const messages = (input: unknown, extra: Json = {}, store?: ItemStore) =>
  translate({ input, ...extra }, store).chat.messages as Json[];
/** The chat body of a request with a one-line input. */
const chat = (extra: Json) => translate({ input: "hi", ...extra }).chat;

/** Asserts `fn` is refused with a 400 in OpenAI's shape whose message names each of `mentions`. */
function assert400(fn: () => unknown, ...mentions: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ProxyError, `a ProxyError, got ${err}`);
    assert.equal(err.status, 400);
    assert.equal(err.type, "invalid_request_error");
    for (const m of mentions) assert.ok(err.message.includes(m), `${JSON.stringify(err.message)} names ${m}`);
    return true;
  });
}

const PNG = "data:image/png;base64,iVBORw0KGgo=";
const PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch\n";

// ---------------------------------------------------------------------------
// input: strings, messages and their content parts

const inputTables: [string, unknown, Json[]][] = [
  ["a string input is one user message", "hello", [{ role: "user", content: "hello" }]],
  [
    "an easy message without type keeps its role and string content",
    [{ role: "user", content: "hi" }, { role: "assistant", content: "Sunny" }],
    [{ role: "user", content: "hi" }, { role: "assistant", content: "Sunny" }],
  ],
  [
    "input_text parts collapse to one string, joined by a blank line",
    [{
      type: "message",
      role: "user",
      content: [{ type: "input_text", text: "a" }, { type: "input_text", text: "b" }],
    }],
    [{ role: "user", content: "a\n\nb" }],
  ],
  [
    "output_text parts in a user message are text too",
    [{ type: "message", role: "user", content: [{ type: "output_text", text: "quoted", annotations: [] }] }],
    [{ role: "user", content: "quoted" }],
  ],
  [
    "an assistant history message's output_text parts become its content",
    [{
      type: "message",
      id: "msg_1",
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: "The answer ", annotations: [] }, {
        type: "output_text",
        text: "is 4.",
        annotations: [],
      }],
    }],
    [{ role: "assistant", content: "The answer is 4." }],
  ],
  [
    "a refusal part in an assistant message is kept as its text",
    [{ type: "message", role: "assistant", content: [{ type: "refusal", refusal: "I can't." }] }],
    [{ role: "assistant", content: "I can't." }],
  ],
  [
    "developer becomes system (every chat backend takes system)",
    [{
      type: "message",
      id: "msg_dev",
      role: "developer",
      content: [{ type: "input_text", text: "You are Codex." }],
    }, {
      type: "message",
      role: "user",
      content: [{ type: "input_text", text: "make hello.txt" }],
    }],
    [{ role: "system", content: "You are Codex." }, { role: "user", content: "make hello.txt" }],
  ],
  [
    "system stays system",
    [{ role: "system", content: "S" }, { role: "user", content: "q" }],
    [{ role: "system", content: "S" }, { role: "user", content: "q" }],
  ],
  [
    "input_image by URL and by data URL, detail kept (low, high, auto)",
    [{
      role: "user",
      content: [
        { type: "input_text", text: "what is this?" },
        { type: "input_image", image_url: "https://example.com/cat.png", detail: "high" },
        { type: "input_image", image_url: PNG, detail: "low" },
        { type: "input_image", image_url: PNG, detail: "auto" },
      ],
    }],
    [{
      role: "user",
      content: [
        { type: "text", text: "what is this?" },
        { type: "image_url", image_url: { url: "https://example.com/cat.png", detail: "high" } },
        { type: "image_url", image_url: { url: PNG, detail: "low" } },
        { type: "image_url", image_url: { url: PNG, detail: "auto" } },
      ],
    }],
  ],
  [
    "input_image without detail, or a detail chat does not know ('original'), has none",
    [{
      role: "user",
      content: [{ type: "input_image", image_url: PNG }, { type: "input_image", image_url: PNG, detail: "original" }],
    }],
    [{
      role: "user",
      content: [{ type: "image_url", image_url: { url: PNG } }, { type: "image_url", image_url: { url: PNG } }],
    }],
  ],
  [
    "input_file sent inline becomes a chat file part with its filename",
    [{
      role: "user",
      content: [
        { type: "input_text", text: "summarise" },
        { type: "input_file", file_data: "data:application/pdf;base64,JVBERi0=", filename: "a.pdf" },
      ],
    }],
    [{
      role: "user",
      content: [
        { type: "text", text: "summarise" },
        { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=", filename: "a.pdf" } },
      ],
    }],
  ],
  [
    "items a chat backend has no use for (web_search_call, mcp_list_tools) are dropped",
    [
      { role: "user", content: "q" },
      { type: "web_search_call", id: "ws_1", status: "completed", action: { type: "search", query: "x" } },
      { type: "mcp_list_tools", id: "mcpl_1", server_label: "s", tools: [] },
      { role: "assistant", content: "a" },
    ],
    [{ role: "user", content: "q" }, { role: "assistant", content: "a" }],
  ],
];

for (const [name, input, want] of inputTables) {
  Deno.test(`responses request: ${name}`, () => {
    assert.deepEqual(messages(input), want);
  });
}

Deno.test("responses request: instructions become the first system message, before a developer message", () => {
  assert.deepEqual(
    messages([{ role: "developer", content: "D" }, { role: "user", content: "q" }], { instructions: "Be brief." }),
    [{ role: "system", content: "Be brief." }, { role: "system", content: "D" }, { role: "user", content: "q" }],
  );
  assert.deepEqual(messages("q", { instructions: "" }), [{ role: "user", content: "q" }], "empty instructions: none");
});

// ---------------------------------------------------------------------------
// The assistant's side of a turn, and tool outputs

Deno.test("responses request: a turn's text, reasoning, function_call and custom_tool_call make ONE assistant message", () => {
  const got = messages([
    { type: "message", role: "user", content: [{ type: "input_text", text: "make hello.txt" }] },
    {
      type: "reasoning",
      id: "rs_1",
      summary: [{ type: "summary_text", text: "a summary, not used when there is raw content" }],
      content: [{ type: "reasoning_text", text: "I should write the file." }],
      encrypted_content: null,
    },
    {
      type: "message",
      id: "msg_1",
      role: "assistant",
      content: [{ type: "output_text", text: "Creating it.", annotations: [] }],
    },
    {
      type: "function_call",
      id: "fc_1",
      call_id: "call_1",
      name: "exec_command",
      arguments: '{"cmd":"ls"}',
      status: "completed",
    },
    {
      type: "custom_tool_call",
      id: "ctc_2",
      status: "completed",
      call_id: "call_2",
      name: "apply_patch",
      input: PATCH,
    },
    { type: "function_call_output", id: "fco_1", call_id: "call_1", output: "hello.txt" },
    { type: "custom_tool_call_output", id: "ctco_1", call_id: "call_2", output: "Exit code: 0\nSuccess." },
  ]);
  assert.deepEqual(got, [
    { role: "user", content: "make hello.txt" },
    {
      role: "assistant",
      content: "Creating it.",
      tool_calls: [
        { id: "call_1", type: "function", function: { name: "exec_command", arguments: '{"cmd":"ls"}' } },
        {
          id: "call_2",
          type: "function",
          function: { name: "apply_patch", arguments: JSON.stringify({ input: PATCH }) },
        },
      ],
      reasoning_content: "I should write the file.",
    },
    { role: "tool", tool_call_id: "call_1", content: "hello.txt" },
    { role: "tool", tool_call_id: "call_2", content: "Exit code: 0\nSuccess." },
  ]);
});

Deno.test("responses request: an assistant turn of tool calls only has content null; reasoning falls back to its summary", () => {
  const got = messages([
    { role: "user", content: "q" },
    { type: "reasoning", id: "rs_1", summary: [{ type: "summary_text", text: "Thinking about it" }] },
    { type: "function_call", call_id: "call_1", name: "f", arguments: "{}" },
  ]);
  assert.deepEqual(got[1], {
    role: "assistant",
    content: null,
    tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }],
    reasoning_content: "Thinking about it",
  });
});

Deno.test("responses request: a namespaced function_call is called by its chat name namespace__member", () => {
  const got = messages([
    { role: "user", content: "q" },
    { type: "function_call", call_id: "c", name: "spawn_agent", namespace: "multi_agent_v1", arguments: "{}" },
    { type: "function_call_output", call_id: "c", output: "ok" },
  ]);
  assert.deepEqual((got[1].tool_calls as Json[])[0], {
    id: "c",
    type: "function",
    function: { name: "multi_agent_v1__spawn_agent", arguments: "{}" },
  });
});

Deno.test("responses request: local_shell_call is a local_shell call; its output is paired by the output's id", () => {
  const got = messages([
    { role: "user", content: "list files" },
    {
      type: "local_shell_call",
      id: "lsh_1",
      call_id: "call_ls1",
      status: "completed",
      action: {
        type: "exec",
        command: ["bash", "-lc", "ls"],
        env: {},
        timeout_ms: 10000,
        working_directory: "/tmp",
        user: null,
      },
    },
    { type: "local_shell_call_output", id: "call_ls1", output: '{"output":"a.txt"}', status: "completed" },
  ]);
  const call = (got[1].tool_calls as Json[])[0] as { id: string; function: { name: string; arguments: string } };
  assert.equal(call.id, "call_ls1");
  assert.equal(call.function.name, "local_shell");
  assert.deepEqual(JSON.parse(call.function.arguments), {
    command: ["bash", "-lc", "ls"],
    workdir: "/tmp",
    timeout_ms: 10000,
  });
  assert.deepEqual(got[2], { role: "tool", tool_call_id: "call_ls1", content: '{"output":"a.txt"}' });
});

Deno.test("responses request: tool_search_call and tool_search_output; the tools it found are offered to the backend", () => {
  const found = [{
    type: "namespace",
    name: "multi_agent_v1",
    description: "Sub-agents.",
    tools: [{
      type: "function",
      name: "spawn_agent",
      description: "Spawns one.",
      strict: false,
      parameters: { type: "object", properties: { task: { type: "string" } } },
    }],
  }];
  const t = translate({
    tools: [{
      type: "tool_search",
      execution: "client",
      description: "Finds tools.",
      parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"] },
    }],
    input: [
      { role: "user", content: "spawn an agent" },
      {
        type: "tool_search_call",
        id: "ts_1",
        call_id: "call_ts1",
        execution: "client",
        status: "completed",
        arguments: { query: "spawn agent", limit: 3 },
      },
      { type: "tool_search_output", id: "tso_1", call_id: "call_ts1", execution: "client", tools: found },
    ],
  });
  const msgs = t.chat.messages as Json[];
  assert.deepEqual(msgs[1], {
    role: "assistant",
    content: null,
    tool_calls: [{
      id: "call_ts1",
      type: "function",
      function: { name: "tool_search", arguments: JSON.stringify({ query: "spawn agent", limit: 3 }) },
    }],
  });
  assert.deepEqual(msgs[2], { role: "tool", tool_call_id: "call_ts1", content: JSON.stringify(found) });
  const names = (t.chat.tools as { function: { name: string } }[]).map((tool) => tool.function.name);
  assert.deepEqual(names, ["tool_search", "multi_agent_v1__spawn_agent"]);
  assert.deepEqual(t.tools.kindOf("multi_agent_v1__spawn_agent"), {
    kind: "function",
    name: "spawn_agent",
    namespace: "multi_agent_v1",
  });
});

Deno.test("responses request: a tool_search_output's tools reach the chat tools even when the request offered none", () => {
  const t = translate({
    input: [
      { role: "user", content: "q" },
      { type: "tool_search_call", call_id: "c", arguments: { query: "x" } },
      {
        type: "tool_search_output",
        call_id: "c",
        tools: [{ type: "function", name: "found", parameters: null }],
      },
    ],
  });
  assert.deepEqual(t.chat.tools, [{
    type: "function",
    function: { parameters: { type: "object", properties: {} }, name: "found" },
  }]);
});

Deno.test("responses request: a tool output with images: text and a note in the tool message, the images in a user message after", () => {
  const got = messages([
    { role: "user", content: "look" },
    { type: "function_call", call_id: "call_1", name: "view_image", arguments: '{"path":"a.png"}' },
    { type: "function_call", call_id: "call_2", name: "view_image", arguments: '{"path":"b.png"}' },
    {
      type: "function_call_output",
      call_id: "call_1",
      output: [{ type: "input_text", text: "a.png" }, { type: "input_image", image_url: PNG }],
    },
    {
      type: "function_call_output",
      call_id: "call_2",
      output: [{ type: "input_image", image_url: "https://x/b.png" }],
    },
    { role: "assistant", content: "Two images." },
  ]);
  assert.deepEqual(got.slice(2), [
    { role: "tool", tool_call_id: "call_1", content: "a.png\n(1 image(s) follow in the next user message)" },
    { role: "tool", tool_call_id: "call_2", content: "(1 image(s) follow in the next user message)" },
    {
      role: "user",
      content: [
        { type: "image_url", image_url: { url: PNG } },
        { type: "image_url", image_url: { url: "https://x/b.png" } },
      ],
    },
    { role: "assistant", content: "Two images." },
  ], "the tool messages stay together after their calls; the images follow them");
});

Deno.test("responses request: a tool output of text parts joins them with newlines; a non-string output is JSON", () => {
  const got = messages([
    { role: "user", content: "q" },
    { type: "function_call", call_id: "a", name: "f", arguments: "{}" },
    { type: "function_call", call_id: "b", name: "f", arguments: "{}" },
    {
      type: "function_call_output",
      call_id: "a",
      output: [{ type: "input_text", text: "one" }, { type: "input_text", text: "two" }],
    },
    { type: "function_call_output", call_id: "b", output: { ok: true } },
  ]);
  assert.deepEqual(got.slice(2), [
    { role: "tool", tool_call_id: "a", content: "one\ntwo" },
    { role: "tool", tool_call_id: "b", content: '{"ok":true}' },
  ]);
});

Deno.test("responses request: a user message after tool outputs starts a new turn; a later assistant item a new assistant message", () => {
  const got = messages([
    { role: "user", content: "q1" },
    { type: "function_call", call_id: "a", name: "f", arguments: "{}" },
    { type: "function_call_output", call_id: "a", output: "r" },
    { role: "assistant", content: "done" },
    { role: "user", content: "q2" },
    { role: "assistant", content: "again" },
  ]);
  assert.deepEqual(got.map((m) => m.role), ["user", "assistant", "tool", "assistant", "user", "assistant"]);
});

// ---------------------------------------------------------------------------
// item_reference

Deno.test("responses request: an item_reference resolves to the item modelpin kept under that id", () => {
  const store = new ItemStore();
  store.put({
    id: "msg_kept",
    type: "message",
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text: "Earlier answer.", annotations: [], logprobs: [] }],
  });
  store.put({ id: "rs_kept", type: "reasoning", summary: [], content: [{ type: "reasoning_text", text: "why" }] });
  const got = messages(
    [
      { role: "user", content: "q" },
      { type: "item_reference", id: "rs_kept" },
      { type: "item_reference", id: "msg_kept" },
      { role: "user", content: "and?" },
    ],
    {},
    store,
  );
  assert.deepEqual(got, [
    { role: "user", content: "q" },
    { role: "assistant", content: "Earlier answer.", reasoning_content: "why" },
    { role: "user", content: "and?" },
  ]);
});

Deno.test("responses request: an item_reference to an item not kept is a 400 naming the id", () => {
  assert400(
    () => messages([{ role: "user", content: "q" }, { type: "item_reference", id: "msg_gone123" }]),
    "input.1",
    '"msg_gone123"',
  );
});

// ---------------------------------------------------------------------------
// State modelpin does not keep, and files it cannot fetch

for (
  const [field, value] of [
    ["previous_response_id", "resp_123"],
    ["conversation", "conv_123"],
    ["conversation", { id: "conv_123" }],
    ["prompt", { id: "pmpt_123", version: "2" }],
    ["background", true],
  ] as const
) {
  Deno.test(`responses request: ${field}: ${JSON.stringify(value)} is a 400 naming ${field}`, () => {
    assert400(() => chat({ [field]: value }), field);
  });
}

Deno.test("responses request: background: false and null stateful fields are fine", () => {
  const c = chat({ background: false, previous_response_id: null, conversation: null, prompt: null });
  assert.deepEqual(c, { messages: [{ role: "user", content: "hi" }] });
});

Deno.test("responses request: input_image by file_id is a 400 (it needs OpenAI's Files API)", () => {
  assert400(
    () => messages([{ role: "user", content: [{ type: "input_image", file_id: "file-abc", detail: "auto" }] }]),
    "input.0.content.0",
    "Files API",
  );
});

Deno.test("responses request: input_file by file_id or by file_url is a 400 (it needs OpenAI's Files API)", () => {
  assert400(() => messages([{ role: "user", content: [{ type: "input_file", file_id: "file-abc" }] }]), "Files API");
  assert400(
    () => messages([{ role: "user", content: [{ type: "input_file", file_url: "https://x/a.pdf" }] }]),
    "Files API",
  );
});

Deno.test("responses request: malformed input is a 400 naming where", () => {
  assert400(() => messages(42), "input");
  assert400(() => messages(["just a string"]), "input.0");
  assert400(() => messages([{ role: "tool", content: "x" }]), "input.0.role");
  assert400(() => messages([{ role: "user", content: [{ type: "video", url: "x" }] }]), "input.0.content.0.type");
  assert400(() => messages([{ type: "function_call", name: "f", arguments: "{}" }]), "input.0.call_id");
  assert400(() => messages([]), "input");
  assert400(() => translate({}), "input");
});

// ---------------------------------------------------------------------------
// Parameters

const paramTables: [string, Json, Json][] = [
  ["max_output_tokens becomes max_tokens", { max_output_tokens: 256 }, { max_tokens: 256 }],
  ["temperature and top_p pass", { temperature: 0.2, top_p: 0.9 }, { temperature: 0.2, top_p: 0.9 }],
  ["temperature 0 is kept", { temperature: 0 }, { temperature: 0 }],
  ["null parameters are left out", { temperature: null, top_p: null, max_output_tokens: null }, {}],
  ["user passes as user", { user: "u-1" }, { user: "u-1" }],
  ["safety_identifier becomes user", { safety_identifier: "s-1" }, { user: "s-1" }],
  ["safety_identifier wins over the deprecated user", { safety_identifier: "s-1", user: "u-1" }, { user: "s-1" }],
  ["reasoning.effort becomes reasoning_effort", { reasoning: { effort: "high" } }, { reasoning_effort: "high" }],
  ["effort minimal is low for chat", { reasoning: { effort: "minimal" } }, { reasoning_effort: "low" }],
  ["effort xhigh is high for chat", { reasoning: { effort: "xhigh" } }, { reasoning_effort: "high" }],
  ["effort max is high for chat", { reasoning: { effort: "max" } }, { reasoning_effort: "high" }],
  ["effort none asks for nothing (the Agents SDK's default)", { reasoning: { effort: "none" } }, {}],
  [
    "reasoning.summary alone is dropped",
    { reasoning: { summary: "auto" } },
    {},
  ],
  [
    "text.format json_schema becomes response_format json_schema (flat to nested)",
    {
      text: {
        format: {
          type: "json_schema",
          name: "codex_output_schema",
          schema: { type: "object", properties: { a: { type: "string" } } },
          strict: true,
          description: "the output",
        },
        verbosity: "low",
      },
    },
    {
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "codex_output_schema",
          schema: { type: "object", properties: { a: { type: "string" } } },
          strict: true,
          description: "the output",
        },
      },
    },
  ],
  [
    "json_schema without a name gets one",
    { text: { format: { type: "json_schema", schema: { type: "object" } } } },
    { response_format: { type: "json_schema", json_schema: { name: "response", schema: { type: "object" } } } },
  ],
  [
    "text.format json_object becomes response_format json_object",
    { text: { format: { type: "json_object" } } },
    { response_format: { type: "json_object" } },
  ],
  ["text.format text adds nothing", { text: { format: { type: "text" } } }, {}],
  [
    "stream adds stream and stream_options.include_usage",
    { stream: true },
    { stream_options: { include_usage: true }, stream: true },
  ],
  ["stream: false adds neither", { stream: false }, {}],
];

for (const [name, extra, want] of paramTables) {
  Deno.test(`responses request: ${name}`, () => {
    const { messages: _, ...rest } = chat(extra);
    assert.deepEqual(rest, want);
  });
}

Deno.test("responses request: stream, requested model and the translation's own fields", () => {
  const t = translate({ model: "smart", input: "hi", stream: true });
  assert.equal(t.stream, true);
  assert.equal(t.requestedModel, "smart");
  assert.equal(t.chat.model, undefined, "each route sets its own model");
  assert.equal(translate({ input: "hi" }).stream, false);
});

Deno.test("responses request: malformed parameters are a 400 naming the field", () => {
  for (const bad of [0, -1, 1.5, "100"]) assert400(() => chat({ max_output_tokens: bad }), "max_output_tokens");
  assert400(() => chat({ temperature: "hot" }), "temperature");
  assert400(() => chat({ top_p: "1" }), "top_p");
  assert400(() => chat({ stream: "yes" }), "stream");
  assert400(() => chat({ tools: {} }), "tools");
});

Deno.test("responses request: dropped fields never reach the chat body", () => {
  const c = chat({
    store: false,
    include: ["reasoning.encrypted_content"],
    prompt_cache_key: "01a23c59-f0e1",
    prompt_cache_retention: "24h",
    client_metadata: { thread_id: "t", session_id: "s" },
    metadata: { k: "v" },
    service_tier: "priority",
    truncation: "disabled",
    text: { verbosity: "low" },
    reasoning: { summary: "detailed" },
    top_logprobs: 5,
    stream_options: { include_obfuscation: false },
    background: false,
  });
  assert.deepEqual(c, { messages: [{ role: "user", content: "hi" }] });
});

Deno.test("responses request: Codex's first request (gpt-5.5) as a chat body", () => {
  const t = translate({
    model: "gpt-5.5",
    stream: true,
    input: [
      {
        type: "message",
        id: "msg_6ca4",
        role: "developer",
        content: [{ type: "input_text", text: "You are Codex." }],
      },
      { type: "message", id: "msg_2", role: "user", content: [{ type: "input_text", text: "make hello.txt" }] },
    ],
    tools: [
      {
        type: "function",
        name: "exec_command",
        description: "Runs a command.",
        strict: false,
        parameters: { type: "object", properties: { cmd: { type: "string" } }, required: ["cmd"] },
      },
      {
        type: "custom",
        name: "apply_patch",
        description: "Edits files.",
        format: { type: "grammar", syntax: "lark", definition: "start: begin_patch hunk+ end_patch" },
      },
      { type: "tool_search", execution: "client", description: "Finds tools.", parameters: { type: "object" } },
      { type: "web_search", external_web_access: true },
    ],
    tool_choice: "auto",
    parallel_tool_calls: true,
    reasoning: { effort: "medium" },
    store: false,
    include: ["reasoning.encrypted_content"],
    prompt_cache_key: "01a23c59",
    text: { verbosity: "low" },
    client_metadata: { thread_id: "t" },
  });
  assert.deepEqual(Object.keys(t.chat).sort(), [
    "messages",
    "parallel_tool_calls",
    "reasoning_effort",
    "stream",
    "stream_options",
    "tool_choice",
    "tools",
  ]);
  assert.deepEqual(t.chat.messages, [
    { role: "system", content: "You are Codex." },
    { role: "user", content: "make hello.txt" },
  ]);
  assert.deepEqual((t.chat.tools as { function: { name: string } }[]).map((x) => x.function.name), [
    "exec_command",
    "apply_patch",
    "tool_search",
  ]);
  assert.equal(t.chat.tool_choice, "auto");
  assert.equal(t.chat.parallel_tool_calls, true);
  assert.equal(t.chat.reasoning_effort, "medium");
});

Deno.test("responses request: the echo fields a Response carries, with the API's defaults", () => {
  assert.deepEqual(translate({ input: "hi" }).echo, {
    instructions: null,
    max_output_tokens: null,
    metadata: {},
    parallel_tool_calls: true,
    reasoning: { effort: null, summary: null },
    store: false,
    temperature: null,
    text: { format: { type: "text" } },
    tool_choice: "auto",
    tools: [],
    top_p: null,
    previous_response_id: null,
    user: null,
  });
  const tools = [{ type: "web_search" }, { type: "function", name: "f", parameters: null }];
  const echo = translate({
    input: "hi",
    instructions: "I",
    max_output_tokens: 9,
    metadata: { k: "v" },
    parallel_tool_calls: false,
    reasoning: { effort: "low", summary: "auto" },
    store: true,
    temperature: 0.5,
    text: { format: { type: "json_object" } },
    tool_choice: "required",
    tools,
    top_p: 0.7,
    user: "u",
  }).echo;
  assert.deepEqual(echo, {
    instructions: "I",
    max_output_tokens: 9,
    metadata: { k: "v" },
    parallel_tool_calls: false,
    reasoning: { effort: "low", summary: "auto" },
    store: true,
    temperature: 0.5,
    text: { format: { type: "json_object" } },
    tool_choice: "required",
    tools,
    top_p: 0.7,
    previous_response_id: null,
    user: "u",
  }, "tools echo as the client sent them, hosted ones included");
});
