/**
 * Responses tools as chat function tools, and the way back: function tools
 * change shape, Codex's own tools (custom apply_patch, namespaces,
 * tool_search, local_shell) become functions the ToolMap can turn back into
 * the item the client offered, hosted tools are dropped, long names are
 * shortened and restored, and `tool_choice` follows.
 */

import assert from "node:assert/strict";
import { ProxyError } from "../../../src/errors/errors.ts";
import { ItemStore } from "../../../src/responses/item_store.ts";
import { translateResponsesRequest } from "../../../src/responses/request.ts";
import { ToolMap, translateToolChoice, translateTools } from "../../../src/responses/tools.ts";

type Json = Record<string, unknown>;
interface ChatTool {
  type: string;
  function: { name: string; description?: string; parameters: Json; strict?: boolean };
}

/** The chat body of a request offering `tools` (and, optionally, a tool_choice). */
const chatOf = (tools: unknown[], extra: Json = {}) =>
  translateResponsesRequest({ model: "gpt-5.5", input: "hi", tools, ...extra }, new ItemStore()).chat;
const chatTools = (tools: unknown[], extra: Json = {}) => (chatOf(tools, extra).tools ?? []) as ChatTool[];
const names = (tools: unknown[], extra: Json = {}) => chatTools(tools, extra).map((t) => t.function.name);

const LARK = 'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch" LF\nend_patch: "*** End Patch" LF?\n' +
  "%import common.LF\n";
const APPLY_PATCH = {
  type: "custom",
  name: "apply_patch",
  description: "Use the `apply_patch` tool to edit files. This is a FREEFORM tool, so do not wrap the patch in JSON.",
  format: { type: "grammar", syntax: "lark", definition: LARK },
};
const fn = (name: string, extra: Json = {}) => ({
  type: "function",
  name,
  parameters: { type: "object", properties: {} },
  ...extra,
});
const NAMESPACE = {
  type: "namespace",
  name: "multi_agent_v1",
  description: "Tools for spawning and managing sub-agents.",
  tools: [
    fn("spawn_agent", { description: "Spawns an agent.", strict: false }),
    fn("close_agent"),
    { type: "custom", name: "notes", description: "Free-form notes." },
  ],
};
/** 70 characters: longer than the 64 chat backends take. */
const LONG = "mcp__a_very_long_server_name_for_testing__and_a_long_tool_name_beyond64";

// ---------------------------------------------------------------------------
// Tools

Deno.test("responses tools: a function tool goes flat to nested, description, parameters and strict kept", () => {
  const parameters = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
  assert.deepEqual(chatTools([{ type: "function", name: "get_weather", description: "w", parameters, strict: true }]), [
    { type: "function", function: { parameters, description: "w", strict: true, name: "get_weather" } },
  ]);
});

Deno.test("responses tools: parameters null (or missing) becomes an empty object schema; strict false is kept", () => {
  assert.deepEqual(chatTools([{ type: "function", name: "now", parameters: null, strict: false }]), [
    { type: "function", function: { parameters: { type: "object", properties: {} }, strict: false, name: "now" } },
  ]);
  assert.deepEqual(chatTools([{ type: "function", name: "now" }])[0].function.parameters, {
    type: "object",
    properties: {},
  });
});

Deno.test("responses tools: Codex's custom apply_patch becomes a function taking {input: string}, its lark grammar in the description", () => {
  const [tool] = chatTools([APPLY_PATCH]);
  assert.equal(tool.type, "function");
  assert.equal(tool.function.name, "apply_patch");
  assert.ok(tool.function.description!.startsWith(APPLY_PATCH.description), "the tool's own description first");
  assert.ok(tool.function.description!.includes('{"input": '), "says how to call it");
  const params = tool.function.parameters as {
    type: string;
    properties: { input: { type: string; description: string } };
    required: string[];
  };
  assert.equal(params.type, "object");
  assert.deepEqual(Object.keys(params.properties), ["input"]);
  assert.deepEqual(params.required, ["input"]);
  assert.equal(params.properties.input.type, "string");
  assert.ok(params.properties.input.description.includes(LARK), "the whole grammar text");
  assert.ok(params.properties.input.description.includes("lark"), "its syntax named");
});

Deno.test("responses tools: a custom tool with a text format (or none) has no grammar in its input", () => {
  for (const format of [{ type: "text" }, undefined]) {
    const [tool] = chatTools([{ type: "custom", name: "write_sql", format }]);
    const input = (tool.function.parameters.properties as Json).input as Json;
    assert.equal(input.description, "The tool's free-form input, as raw text.");
    assert.ok(tool.function.description!.startsWith("The write_sql tool."), "a description is made up");
  }
});

Deno.test("responses tools: a namespace's members become ns__member functions; a custom member stays custom", () => {
  const map = new ToolMap();
  translateTools([NAMESPACE], map);
  assert.deepEqual(map.tools.map((t) => (t.function as Json).name), [
    "multi_agent_v1__spawn_agent",
    "multi_agent_v1__close_agent",
    "multi_agent_v1__notes",
  ]);
  assert.equal((map.tools[0].function as Json).description, "Spawns an agent.");
  assert.deepEqual(map.kindOf("multi_agent_v1__spawn_agent"), {
    kind: "function",
    name: "spawn_agent",
    namespace: "multi_agent_v1",
  });
  assert.deepEqual(map.kindOf("multi_agent_v1__notes"), { kind: "custom", name: "notes", namespace: "multi_agent_v1" });
  assert.equal(map.chatName("close_agent", "multi_agent_v1"), "multi_agent_v1__close_agent");
});

Deno.test("responses tools: tool_search becomes a function tool_search with the client's parameters", () => {
  const parameters = {
    type: "object",
    properties: { limit: { type: "number" }, query: { type: "string" } },
    required: ["query"],
    additionalProperties: false,
  };
  assert.deepEqual(
    chatTools([{ type: "tool_search", execution: "client", description: "# Tool discovery", parameters }]),
    [{ type: "function", function: { description: "# Tool discovery", parameters, name: "tool_search" } }],
  );
  const map = new ToolMap();
  translateTools([{ type: "tool_search" }], map);
  assert.deepEqual(map.kindOf("tool_search"), { kind: "tool_search" });
});

Deno.test("responses tools: local_shell becomes a function local_shell taking a command array", () => {
  const [tool] = chatTools([{ type: "local_shell" }]);
  assert.equal(tool.function.name, "local_shell");
  const params = tool.function.parameters as { properties: Json; required: string[] };
  assert.deepEqual(params.properties.command, {
    type: "array",
    items: { type: "string" },
    description: "The command and its arguments",
  });
  assert.deepEqual(params.required, ["command"]);
  const map = new ToolMap();
  translateTools([{ type: "local_shell" }], map);
  assert.deepEqual(map.kindOf("local_shell"), { kind: "local_shell" });
});

Deno.test("responses tools: hosted tools are dropped; with only hosted tools, neither tools nor tool_choice are sent", () => {
  const hosted = [
    { type: "web_search", external_web_access: true, search_content_types: ["text", "image"] },
    { type: "web_search_preview" },
    { type: "file_search", vector_store_ids: ["vs_1"] },
    { type: "mcp", server_label: "deepwiki", server_url: "https://mcp.deepwiki.com/mcp" },
    { type: "code_interpreter", container: { type: "auto" } },
    { type: "image_generation" },
    { type: "computer_use_preview", display_width: 1024, display_height: 768, environment: "browser" },
    { type: "shell" },
    { type: "apply_patch" },
  ];
  assert.deepEqual(names([...hosted, fn("kept")]), ["kept"]);
  const c = chatOf(hosted, { tool_choice: "required", parallel_tool_calls: true });
  assert.equal(c.tools, undefined);
  assert.equal(c.tool_choice, undefined);
  assert.equal(c.parallel_tool_calls, undefined);
});

Deno.test("responses tools: a name over 64 characters is shortened for the backend and restored from its call", () => {
  const map = new ToolMap();
  translateTools([fn(LONG), { type: "custom", name: `${LONG}_c` }], map);
  const [short, shortCustom] = map.tools.map((t) => (t.function as Json).name as string);
  assert.equal(short.length, 64);
  assert.equal(shortCustom.length, 64);
  assert.notEqual(short, shortCustom);
  assert.ok(LONG.startsWith(short.slice(0, 55)), "the name's start is kept");
  assert.deepEqual(map.kindOf(short), { kind: "function", name: LONG, namespace: undefined });
  assert.deepEqual(map.kindOf(shortCustom), { kind: "custom", name: `${LONG}_c`, namespace: undefined });
  assert.equal(map.chatName(LONG), short, "history and tool_choice use the same short name");
});

Deno.test("responses tools: a namespace member whose joined name is long is shortened, and restored to name + namespace", () => {
  const map = new ToolMap();
  translateTools([{
    type: "namespace",
    name: "a_rather_long_namespace_name",
    tools: [fn("and_a_long_member_name_too")],
  }], map);
  const chatName = (map.tools[0].function as Json).name as string;
  assert.ok(chatName.length <= 64);
  assert.deepEqual(map.kindOf(chatName), {
    kind: "function",
    name: "and_a_long_member_name_too",
    namespace: "a_rather_long_namespace_name",
  });
});

Deno.test("responses tools: a tool offered twice (a search may repeat one) is sent once", () => {
  assert.deepEqual(names([fn("a"), fn("a")]), ["a"]);
});

Deno.test("responses tools: an unknown chat name the backend calls is a plain function of that name", () => {
  assert.deepEqual(new ToolMap().kindOf("made_up"), { kind: "function", name: "made_up" });
});

Deno.test("responses tools: malformed tools are a 400 naming where", () => {
  for (
    const [tools, where] of [
      [["x"], "tools.0"],
      [[{ type: "function" }], "tools.0.name"],
      [[{ type: "custom", name: 1 }], "tools.0.name"],
      [[{ type: "namespace", name: "ns" }], "tools.0.tools"],
      [[{ type: "namespace", name: "ns", tools: [{ type: "function" }] }], "tools.0.tools.0.name"],
    ] as const
  ) {
    assert.throws(() => chatOf(tools as unknown as unknown[]), (err: unknown) => {
      assert.ok(err instanceof ProxyError);
      assert.equal(err.status, 400);
      assert.ok(err.message.startsWith(`${where}:`), `${err.message} names ${where}`);
      return true;
    });
  }
});

// ---------------------------------------------------------------------------
// tool_choice

const OFFERED = [fn("get_weather"), APPLY_PATCH, NAMESPACE, { type: "tool_search" }, { type: "local_shell" }];

const choiceTables: [string, unknown, unknown][] = [
  ["auto stays auto", "auto", "auto"],
  ["none stays none", "none", "none"],
  ["required stays required", "required", "required"],
  ["a named function", { type: "function", name: "get_weather" }, {
    type: "function",
    function: { name: "get_weather" },
  }],
  ["a named custom tool is its function", { type: "custom", name: "apply_patch" }, {
    type: "function",
    function: { name: "apply_patch" },
  }],
  ["a namespace member is ns__member", { type: "function", name: "spawn_agent", namespace: "multi_agent_v1" }, {
    type: "function",
    function: { name: "multi_agent_v1__spawn_agent" },
  }],
  ["a hosted tool (web_search_preview) is auto", { type: "web_search_preview" }, "auto"],
  ["a hosted tool (file_search) is auto", { type: "file_search" }, "auto"],
  ["a hosted mcp choice is auto", { type: "mcp", server_label: "deepwiki" }, "auto"],
];

for (const [name, choice, want] of choiceTables) {
  Deno.test(`responses tool_choice: ${name}`, () => {
    assert.deepEqual(chatOf(OFFERED, { tool_choice: choice }).tool_choice, want);
  });
}

Deno.test("responses tool_choice: a long function name is chosen by its short name", () => {
  const c = chatOf([fn(LONG)], { tool_choice: { type: "function", name: LONG } });
  const short = (c.tools as ChatTool[])[0].function.name;
  assert.deepEqual(c.tool_choice, { type: "function", function: { name: short } });
});

Deno.test("responses tool_choice: allowed_tools keeps only the tools it names, its mode as the choice", () => {
  const required = chatOf(OFFERED, {
    tool_choice: {
      type: "allowed_tools",
      mode: "required",
      tools: [{ type: "function", name: "get_weather" }, { type: "custom", name: "apply_patch" }],
    },
  });
  assert.deepEqual((required.tools as ChatTool[]).map((t) => t.function.name), ["get_weather", "apply_patch"]);
  assert.equal(required.tool_choice, "required");
  const auto = chatOf(OFFERED, {
    tool_choice: { type: "allowed_tools", mode: "auto", tools: [{ type: "tool_search" }, { type: "local_shell" }] },
  });
  assert.deepEqual((auto.tools as ChatTool[]).map((t) => t.function.name), ["tool_search", "local_shell"]);
  assert.equal(auto.tool_choice, "auto");
});

Deno.test("responses tool_choice: allowed_tools naming a namespace member keeps that member", () => {
  const c = chatOf(OFFERED, {
    tool_choice: {
      type: "allowed_tools",
      mode: "required",
      tools: [{ type: "function", name: "get_weather" }, {
        type: "function",
        name: "spawn_agent",
        namespace: "multi_agent_v1",
      }],
    },
  });
  // BUG?: allowed_tools looks members up by `name` alone (map.chatName(t.name)), ignoring `namespace`, so a
  // namespace member (chat name multi_agent_v1__spawn_agent) is filtered out, although a plain
  // {type: "function", name, namespace} tool_choice honours the namespace. Expected: both tools kept.
  assert.deepEqual((c.tools as ChatTool[]).map((t) => t.function.name), ["get_weather", "multi_agent_v1__spawn_agent"]);
});

Deno.test("responses tool_choice: translateToolChoice leaves out undefined and null, refuses a number", () => {
  const map = new ToolMap();
  assert.equal(translateToolChoice(undefined, map), undefined);
  assert.equal(translateToolChoice(null, map), undefined);
  assert.throws(() => translateToolChoice(3, map), ProxyError);
});

Deno.test("responses tool_choice: parallel_tool_calls passes with tools", () => {
  assert.equal(chatOf([fn("a")], { parallel_tool_calls: false }).parallel_tool_calls, false);
  assert.equal(chatOf([fn("a")]).parallel_tool_calls, undefined, "not sent when the client did not say");
});
