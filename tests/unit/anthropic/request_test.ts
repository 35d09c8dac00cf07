/**
 * Request translation tables: every Anthropic field and block the issue
 * lists, and the 400s for malformed requests.
 */

import assert from "node:assert/strict";
import { translateRequest } from "../../../src/anthropic/request.ts";
import { AnthropicRequestError } from "../../../src/anthropic/errors.ts";

type Json = Record<string, unknown>;
const base = { model: "claude-sonnet-4-5", max_tokens: 100 };
const req = (extra: Json) => translateRequest({ ...base, messages: [{ role: "user", content: "hi" }], ...extra });
const msgs = (messages: unknown[], extra: Json = {}) =>
  translateRequest({ ...base, messages, ...extra }).openai.messages;
const LONG = "mcp__a_very_long_server_name_for_testing__and_an_even_longer_tool_name_beyond_64";

const tables: [string, () => unknown, unknown][] = [
  ["system string becomes a system message", () => msgs([{ role: "user", content: "q" }], { system: "be brief" }), [
    { role: "system", content: "be brief" },
    { role: "user", content: "q" },
  ]],
  [
    "system text blocks join, cache_control dropped",
    () =>
      msgs([{ role: "user", content: "q" }], {
        system: [{ type: "text", text: "A" }, { type: "text", text: "B", cache_control: { type: "ephemeral" } }],
      }),
    [{ role: "system", content: "A\n\nB" }, { role: "user", content: "q" }],
  ],
  [
    "role:system inside messages becomes a system message in place",
    () => msgs([{ role: "system", content: [{ type: "text", text: "S" }] }, { role: "user", content: "q" }]),
    [{ role: "system", content: "S" }, { role: "user", content: "q" }],
  ],
  [
    "text-only user blocks collapse to one string",
    () => msgs([{ role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }]),
    [{ role: "user", content: "a\n\nb" }],
  ],
  [
    "base64 image becomes a data URL, url image stays a URL",
    () =>
      msgs([{
        role: "user",
        content: [
          { type: "text", text: "what?" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } },
          { type: "image", source: { type: "url", url: "https://x/y.png" } },
        ],
      }]),
    [{
      role: "user",
      content: [
        { type: "text", text: "what?" },
        { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
        { type: "image_url", image_url: { url: "https://x/y.png" } },
      ],
    }],
  ],
  [
    "tool_use becomes tool_calls with content null, thinking becomes reasoning_content, redacted_thinking dropped",
    () =>
      msgs([{ role: "user", content: "q" }, {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "hmm", signature: "sig" },
          { type: "redacted_thinking", data: "xxx" },
          { type: "tool_use", id: "toolu_1", name: "Bash", input: { command: "ls" } },
        ],
      }]),
    [{ role: "user", content: "q" }, {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "toolu_1", type: "function", function: { name: "Bash", arguments: '{"command":"ls"}' } }],
      reasoning_content: "hmm",
    }],
  ],
  [
    "assistant text with a tool call keeps the text",
    () =>
      msgs([{
        role: "assistant",
        content: [{ type: "text", text: "ok" }, { type: "tool_use", id: "t", name: "f", input: {} }],
      }]),
    [{
      role: "assistant",
      content: "ok",
      tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "{}" } }],
    }],
  ],
  [
    "tool_results become tool messages, in order, before the turn's text; block arrays are never JSON-stringified",
    () =>
      msgs([{
        role: "user",
        content: [
          { type: "text", text: "and now?" },
          { type: "tool_result", tool_use_id: "t1", content: "out1" },
          {
            type: "tool_result",
            tool_use_id: "t2",
            content: [{ type: "text", text: "l1" }, { type: "text", text: "l2" }],
          },
        ],
      }]),
    [
      { role: "tool", tool_call_id: "t1", content: "out1" },
      { role: "tool", tool_call_id: "t2", content: "l1\nl2" },
      { role: "user", content: "and now?" },
    ],
  ],
  [
    "is_error is made visible with an Error: prefix",
    () =>
      msgs([{ role: "user", content: [{ type: "tool_result", tool_use_id: "t", is_error: true, content: "boom" }] }]),
    [{ role: "tool", tool_call_id: "t", content: "Error: boom" }],
  ],
  [
    "images inside a tool result move to a following user message",
    () =>
      msgs([{
        role: "user",
        content: [{
          type: "tool_result",
          tool_use_id: "t",
          content: [{ type: "text", text: "shot" }, {
            type: "image",
            source: { type: "base64", media_type: "image/jpeg", data: "QQ==" },
          }],
        }],
      }]),
    [
      { role: "tool", tool_call_id: "t", content: "shot\n(1 image(s) follow in the next user message)" },
      { role: "user", content: [{ type: "image_url", image_url: { url: "data:image/jpeg;base64,QQ==" } }] },
    ],
  ],
  [
    "document with a text source becomes text; a PDF document and unknown blocks are dropped",
    () =>
      msgs([{
        role: "user",
        content: [
          { type: "document", source: { type: "text", media_type: "text/plain", data: "doc body" } },
          { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBER" } },
          { type: "search_result", source: "x", title: "t", content: [] },
          { type: "text", text: "summarise" },
        ],
      }]),
    [{ role: "user", content: "doc body\n\nsummarise" }],
  ],
  [
    "tools become functions; server tools are dropped, not sent as empty functions",
    () =>
      req({
        tools: [
          { name: "get_weather", description: "w", input_schema: { type: "object", properties: {} } },
          { type: "web_search_20250305", name: "web_search", max_uses: 3 },
          { type: "custom", name: "c", input_schema: { type: "object" } },
        ],
      }).openai.tools,
    [
      {
        type: "function",
        function: { name: "get_weather", parameters: { type: "object", properties: {} }, description: "w" },
      },
      { type: "function", function: { name: "c", parameters: { type: "object" } } },
    ],
  ],
  [
    "tool_choice any becomes required",
    () => req({ tools: [{ name: "f", input_schema: {} }], tool_choice: { type: "any" } }).openai.tool_choice,
    "required",
  ],
  [
    "tool_choice auto stays auto",
    () => req({ tools: [{ name: "f", input_schema: {} }], tool_choice: { type: "auto" } }).openai.tool_choice,
    "auto",
  ],
  [
    "tool_choice none stays none",
    () => req({ tools: [{ name: "f", input_schema: {} }], tool_choice: { type: "none" } }).openai.tool_choice,
    "none",
  ],
  [
    "tool_choice tool becomes a named function",
    () =>
      req({ tools: [{ name: "f", input_schema: {} }], tool_choice: { type: "tool", name: "f" } }).openai.tool_choice,
    { type: "function", function: { name: "f" } },
  ],
  [
    "disable_parallel_tool_use becomes parallel_tool_calls false",
    () =>
      req({ tools: [{ name: "f", input_schema: {} }], tool_choice: { type: "auto", disable_parallel_tool_use: true } })
        .openai.parallel_tool_calls,
    false,
  ],
  [
    "tool_choice is not sent when every tool was a server tool",
    () => {
      const o =
        req({ tools: [{ type: "web_search_20250305", name: "web_search" }], tool_choice: { type: "any" } }).openai;
      return [o.tools, o.tool_choice];
    },
    [undefined, undefined],
  ],
  [
    "sampling fields map; stop_sequences become stop; metadata.user_id becomes user",
    () => {
      const o = req({ temperature: 0.2, top_p: 0.9, stop_sequences: ["END"], metadata: { user_id: "u1" } }).openai;
      return [o.max_tokens, o.temperature, o.top_p, o.stop, o.user];
    },
    [100, 0.2, 0.9, ["END"], "u1"],
  ],
  [
    "Anthropic-only fields are dropped, not forwarded",
    () =>
      Object.keys(
        req({
          top_k: 5,
          thinking: { type: "enabled", budget_tokens: 1000 },
          context_management: { edits: [] },
          output_config: { effort: "high" },
          service_tier: "auto",
          container: "c",
          mcp_servers: [],
        }).openai,
      ).sort(),
    ["max_tokens", "messages"],
  ],
  [
    "a stream asks for usage",
    () => {
      const o = req({ stream: true }).openai;
      return [o.stream, o.stream_options];
    },
    [true, { include_usage: true }],
  ],
  [
    "thinking enabled is remembered for the answer",
    () => req({ thinking: { type: "enabled", budget_tokens: 1024 } }).wantsThinking,
    true,
  ],
  ["no thinking field means no thinking blocks", () => req({}).wantsThinking, false],
];

for (const [name, run, want] of tables) {
  Deno.test(`anthropic request: ${name}`, () => assert.deepEqual(run(), want));
}

Deno.test("anthropic request: names over 64 characters are shortened the same way everywhere and restored", () => {
  const t = translateRequest({
    ...base,
    tools: [{ name: LONG, input_schema: { type: "object" } }],
    tool_choice: { type: "tool", name: LONG },
    messages: [
      { role: "user", content: "q" },
      { role: "assistant", content: [{ type: "tool_use", id: "t", name: LONG, input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: "r" }] },
    ],
  });
  const fn = ((t.openai.tools as Json[])[0].function as Json).name as string;
  assert.ok(fn.length <= 64, `shortened to ${fn.length}`);
  assert.notEqual(fn, LONG);
  assert.equal(((t.openai.tool_choice as Json).function as Json).name, fn);
  const call = ((t.openai.messages as Json[])[1].tool_calls as Json[])[0];
  assert.equal((call.function as Json).name, fn);
  assert.equal(t.toolNames.restore(fn), LONG);
  assert.equal(t.toolNames.restore("short_name"), "short_name");
});

const malformed: [string, unknown, string][] = [
  ["no messages", { model: "m", max_tokens: 1 }, "messages"],
  ["empty messages", { model: "m", max_tokens: 1, messages: [] }, "messages"],
  ["no max_tokens", { model: "m", messages: [{ role: "user", content: "x" }] }, "max_tokens"],
  ["no model", { max_tokens: 1, messages: [{ role: "user", content: "x" }] }, "model"],
  ["a bad role", { ...base, messages: [{ role: "bot", content: "x" }] }, "messages.0.role"],
  ["tool_use in a user message", {
    ...base,
    messages: [{ role: "user", content: [{ type: "tool_use", id: "t", name: "f", input: {} }] }],
  }, "messages.0.content.0.type"],
  ["tool_result in an assistant message", {
    ...base,
    messages: [{ role: "assistant", content: [{ type: "tool_result", tool_use_id: "t" }] }],
  }, "messages.0.content.0.type"],
  [
    "a block without a type",
    { ...base, messages: [{ role: "user", content: [{ text: "x" }] }] },
    "messages.0.content.0.type",
  ],
  [
    "a text block without text",
    { ...base, messages: [{ role: "user", content: [{ type: "text" }] }] },
    "messages.0.content.0.text",
  ],
  [
    "a tool without a schema",
    { ...base, messages: [{ role: "user", content: "x" }], tools: [{ name: "f" }] },
    "tools.0.input_schema",
  ],
  ["an unknown tool_choice", {
    ...base,
    messages: [{ role: "user", content: "x" }],
    tools: [{ name: "f", input_schema: {} }],
    tool_choice: { type: "sometimes" },
  }, "tool_choice.type"],
];

for (const [name, body, field] of malformed) {
  Deno.test(`anthropic request: ${name} is a 400 naming '${field}'`, () => {
    assert.throws(() => translateRequest(body), (err: unknown) => {
      assert.ok(err instanceof AnthropicRequestError);
      assert.equal(err.status, 400);
      assert.equal(err.field, field);
      assert.ok(err.message.startsWith(`${field}:`), err.message);
      return true;
    });
  });
}
