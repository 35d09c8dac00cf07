/**
 * The Responses API front door (`POST /v1/responses`), attacked from both
 * sides, each way a route can reach its backend: **translated** (the backend
 * has only `/v1/chat/completions`, `FAST_RESPONSES_API=translate`) and
 * **native** (it has `/v1/responses`, `=native`). Backends are fake HTTP
 * servers or raw TCP peers on 127.0.0.1 that write exactly what a broken or
 * hostile backend would: keys in every spelling and split across events,
 * streams that break, stall, end early or go on after their end, odd tool
 * calls, a 24 MB line, the wrong content type, a failure behind envelope
 * events. Clients send JSON nested 100,000 deep, 20 MB inputs, thousands of
 * tools, fields of the wrong type, a 10 MB or control-laden model name, and
 * WebSocket upgrades.
 *
 * What a client assembles from a stream is checked the way the SDKs build it:
 * the `output_text` deltas joined, each function call's argument deltas
 * joined, the custom tool input deltas joined, and the terminal event's
 * `response` object. Tests that check several cases collect every failing
 * case and report them together. A test marked `BUG?` fails on purpose: it
 * states the expected behaviour, and the report says what the client got.
 */

import assert from "node:assert/strict";
import { chatChunk, DONE_EVENT, fakeBackend, jsonResponse, type Seen, USAGE_CHUNK } from "../support/fake_backend.ts";
import { fetchWithin, hostileBackend, keepAliveJson } from "../support/hostile_tcp.ts";
import { logLines, startProxy, type TestProxy } from "../support/proxy.ts";
import { eachCase, keyReadings } from "../support/key_readings.ts";
import { chunked, keepGenerating, LAST_CHUNK, probedWhile, rawSseBackend } from "../support/hostile_sse.ts";
import { deferred, EventReader, within } from "../support/stream_tools.ts";
import { fixedSse, waitForLog } from "../support/wire.ts";

// ------------------------------------------------------------------ shared pieces

type Json = Record<string, unknown>;
type Way = "translate" | "native";
const WAYS: readonly Way[] = ["translate", "native"];
/** Runs `run` for each way, reporting every way that fails. */
const eachWay = (run: (way: Way) => Promise<void>) =>
  eachCase(Object.fromEntries(WAYS.map((way) => [way, () => run(way)])));
/** Where each way sends a Responses request. */
const UPSTREAM_PATH: Record<Way, string> = { translate: "/v1/chat/completions", native: "/v1/responses" };

const encoder = new TextEncoder();

/** The fast route's key: `f` (written `\u0066`), `/` (PHP's `\/`) and `+` (.NET's `\u002B`) in it. */
const KEY = "sk-fast/Resp+Key-7c41d09e";
const { assertUnreadable, assertNoKeyIn } = keyReadings(KEY);
const MODEL = "vendor/hostile-responses-fast";
const SMART_KEY = "sk-smart-route-3b9e51aa";
const SMART_MODEL = "vendor/hostile-responses-smart";

/** Every character as `\uXXXX`, upper-case hex. */
const ALL_ESCAPED = [...KEY].map((c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`)
  .join("");

/** The key as backends write it inside a JSON string. */
const SPELLED = [
  String.raw`sk-\u0066ast\/Resp\u002BKey-7c41d09e`, // `\u0066` for f, PHP's `\/`, .NET's `\u002B`
  String.raw`sk-fast\u002fResp\u002bKey-7c41d09e`, // lower-case hex
  ALL_ESCAPED,
];
/** The key percent-encoded (in either hex case), as in a URL a backend echoes. */
const PERCENT = ["sk-fast%2FResp%2BKey-7c41d09e", "sk-fast%2fResp%2bKey-7c41d09e"];

/** `decoded` as it is written inside a JSON string (one level of escapes more). */
const wire = (decoded: string) => JSON.stringify(decoded).slice(1, -1);

/** `decoded` inside a JSON string as PHP and .NET backends write it: `\u0066` for f, `\/` for /, `\u002B` for +. */
const escapedWire = (decoded: string) =>
  wire(decoded).replace(/f/g, "\\u0066").replace(/\//g, "\\/").replace(/\+/g, "\\u002B");

/** `s` cut at `points` (ascending). */
function cut(s: string, points: number[]): string[] {
  return [...points, s.length].map((end, i) => s.slice(i === 0 ? 0 : points[i - 1], end));
}

/**
 * Placeholders a backend's JSON text is written with, then replaced by raw
 * spellings: `@K0@` is SPELLED[0] in a JSON string; `@W1@` is SPELLED[1] one
 * level deeper (JSON inside a JSON string, as tool arguments are).
 */
const PLACEHOLDERS: Record<string, string> = {
  "@K0@": SPELLED[0],
  "@K1@": SPELLED[1],
  "@K2@": SPELLED[2],
  "@W0@": wire(SPELLED[0]),
  "@W1@": wire(SPELLED[1]),
  "@W2@": wire(SPELLED[2]),
};
function spell(text: string): string {
  return text.replace(/@[KW][0-2]@/g, (p) => PLACEHOLDERS[p]);
}

/** One route, one key, no same-route retry, no breaker (attempts are counted). */
function env(baseUrl: string, way: Way, extra: Record<string, string> = {}): Record<string, string> {
  return {
    FAST_BASE_URL: baseUrl,
    FAST_API_KEY: KEY,
    FAST_MODEL_NAME: MODEL,
    FAST_RESPONSES_API: way,
    PROXY_TIMEOUT: "5",
    PROXY_RETRIES: "0",
    ...extra,
  };
}

/** Two routes on two backends, both reached `way` (fallback on, breaker off so cases do not affect each other). */
function twoRoutes(fast: string, smart: string, way: Way, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...env(fast, way, extra),
    SMART_BASE_URL: smart,
    SMART_API_KEY: SMART_KEY,
    SMART_MODEL_NAME: SMART_MODEL,
    SMART_RESPONSES_API: way,
    PROXY_BREAKER_FAILURES: "0",
  };
}

// --- chat completion chunks (the translated way's backend)

const ROLE = chatChunk({ role: "assistant", content: "" });
const text = (t: string) => chatChunk({ content: t });
const finish = (reason = "stop") => chatChunk({}, reason);
/** A tool call fragment chunk. */
const callChunk = (call: Json) => chatChunk({ tool_calls: [call] });

/** A chat completion with `message`. */
function completionOf(message: Json, finishReason = "stop"): Json {
  return {
    id: "chatcmpl-hr",
    object: "chat.completion",
    created: 1,
    model: "backend-model",
    choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: finishReason }],
    usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
  };
}

// --- Responses events (the native way's backend)

const NATIVE_USAGE = {
  input_tokens: 3,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 5,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 8,
};

/** A Response object as OpenAI writes it. */
function responseObject(id: string, status: string, output: Json[], extra: Json = {}): Json {
  return {
    id,
    object: "response",
    created_at: 1_700_000_000,
    status,
    error: null,
    incomplete_details: null,
    instructions: null,
    model: "native-backend-model",
    output,
    parallel_tool_calls: true,
    tool_choice: "auto",
    tools: [],
    usage: status === "completed" ? NATIVE_USAGE : null,
    ...extra,
  };
}

/** An assistant message item. */
function messageItem(id: string, textValue: string, status = "completed"): Json {
  return {
    id,
    type: "message",
    role: "assistant",
    status,
    content: status === "in_progress" ? [] : [{ type: "output_text", text: textValue, annotations: [] }],
  };
}

/** A native backend's events, numbered, each with its `event:` line, as OpenAI writes them. */
class NativeEvents {
  #seq = 0;
  /** `id` is the Response's id. */
  constructor(readonly id = "resp_hostile", readonly created: Json = {}) {}

  /** One event. */
  ev(type: string, fields: Json = {}): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.#seq++, ...fields })}\n\n`;
  }

  /** `response.created`, `response.in_progress` (envelopes), the message item and its part opened (shells). */
  start(): string[] {
    const at = { item_id: "msg_h1", output_index: 0, content_index: 0 };
    return [
      this.ev("response.created", { response: responseObject(this.id, "in_progress", [], this.created) }),
      this.ev("response.in_progress", { response: responseObject(this.id, "in_progress", [], this.created) }),
      this.ev("response.output_item.added", { output_index: 0, item: messageItem("msg_h1", "", "in_progress") }),
      this.ev("response.content_part.added", { ...at, part: { type: "output_text", text: "", annotations: [] } }),
    ];
  }

  /** An `output_text.delta` of the message. */
  delta(t: string): string {
    return this.ev("response.output_text.delta", {
      item_id: "msg_h1",
      output_index: 0,
      content_index: 0,
      delta: t,
      logprobs: [],
    });
  }

  /** The message's `.done` events, then `response.completed` with `output` (the message by default). */
  end(whole: string, more: Json[] = []): string[] {
    const at = { item_id: "msg_h1", output_index: 0, content_index: 0 };
    const part = { type: "output_text", text: whole, annotations: [] };
    return [
      this.ev("response.output_text.done", { ...at, text: whole, logprobs: [] }),
      this.ev("response.content_part.done", { ...at, part }),
      this.ev("response.output_item.done", { output_index: 0, item: messageItem("msg_h1", whole) }),
      this.completed([messageItem("msg_h1", whole), ...more]),
    ];
  }

  /** `response.completed` with `output`. */
  completed(output: Json[]): string {
    return this.ev("response.completed", { response: responseObject(this.id, "completed", output) });
  }
}

/**
 * A text answer in `way`'s wire format: an envelope first (a role-only chunk,
 * or `response.created` and the shells), `pieces` as deltas, then the end
 * (finish, usage, `[DONE]`, or the `.done` events and `response.completed`)
 * unless `end` is false.
 */
function textAnswer(way: Way, pieces: string[], end = true): string[] {
  if (way === "translate") return [ROLE, ...pieces.map(text), ...(end ? [finish(), USAGE_CHUNK, DONE_EVENT] : [])];
  const n = new NativeEvents();
  return [...n.start(), ...pieces.map((p) => n.delta(p)), ...(end ? n.end(pieces.join("")) : [])];
}

/** One delta event that keeps the stream going (what a backend "still generating" writes). */
function moreText(way: Way): string {
  return way === "translate" ? text(" still generating") : new NativeEvents().delta(" still generating");
}

// --- raw TCP backends

// --- the client side

/** A Responses request (model `gpt-5`: the fast route). */
function request(extra: Json = {}): Json {
  return { model: "gpt-5", input: "hi", ...extra };
}

/** POSTs `body` to `/v1/responses` and reads the answer whole, bounded. */
function send(
  proxy: TestProxy,
  body: unknown,
  ms = 4000,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; ms: number; headers: Headers }> {
  return fetchWithin(
    `${proxy.url}/v1/responses`,
    {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" || body instanceof Uint8Array ? body as BodyInit : JSON.stringify(body),
    },
    ms,
    "POST /v1/responses",
  );
}

/** Opens a `/v1/responses` stream whose answer is read event by event. */
async function open(proxy: TestProxy, body: Json): Promise<{ res: Response; reader: EventReader }> {
  const res = await within(
    fetch(`${proxy.url}/v1/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
    4000,
    "the head of POST /v1/responses",
  );
  return { res, reader: new EventReader(res) };
}

/** One Responses event as a client parses it. */
interface REvent {
  type: string;
  // deno-lint-ignore no-explicit-any
  data: any;
}

/** The events of a Responses SSE text (or of event blocks). */
function responsesEvents(sse: string | string[]): REvent[] {
  const blocks = typeof sse === "string" ? sse.split("\n\n") : sse;
  return blocks.filter((b) => b.trim() !== "").map((block) => {
    const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
    const json = data === "" ? {} : JSON.parse(data);
    const line = /^event: ?(.*)$/m.exec(block)?.[1];
    return { type: typeof json.type === "string" ? json.type : line ?? "", data: json };
  });
}

/** The `output_text` deltas joined, as a client shows the text. */
function streamedText(events: REvent[]): string {
  return events.filter((e) => e.type === "response.output_text.delta").map((e) => e.data.delta).join("");
}

/** Each item's deltas of `type` joined, by output index (function call arguments, custom tool input). */
function deltasByItem(events: REvent[], type: string): Record<number, string> {
  const out: Record<number, string> = {};
  for (const e of events) {
    if (e.type === type) out[e.data.output_index] = (out[e.data.output_index] ?? "") + e.data.delta;
  }
  return out;
}

/** The terminal event's `response` (completed, incomplete or failed). */
function terminalResponse(events: REvent[]): Json {
  const last = events.findLast((e) =>
    ["response.completed", "response.incomplete", "response.failed"].includes(e.type)
  );
  assert.ok(last, `a terminal event: ${events.map((e) => e.type).join(",")}`);
  return last.data.response;
}

/** Asserts every event's `sequence_number` is a number, each greater than the one before. */
function assertIncreasing(events: REvent[], what: string): void {
  let last = -1;
  for (const e of events) {
    const n = e.data.sequence_number;
    assert.ok(typeof n === "number" && n > last, `${what}: sequence_number ${n} after ${last} (${e.type})`);
    last = n;
  }
}

/**
 * Asserts the stream ended the API's failed way: an `error` event with
 * `code`, then `response.failed` (status failed), as its last two events,
 * and never `response.completed`.
 */
function assertFailedEnd(events: REvent[], code: string, what: string): void {
  const types = events.map((e) => e.type);
  assert.ok(!types.includes("response.completed"), `${what}: never response.completed: ${types.join(",")}`);
  assert.deepEqual(types.slice(-2), ["error", "response.failed"], `${what}: ends with error, response.failed`);
  const [error, failed] = events.slice(-2);
  assert.equal(error.data.error?.code, code, `${what}: the error event's code: ${JSON.stringify(error.data)}`);
  assert.equal(failed.data.response?.status, "failed", `${what}: ${JSON.stringify(failed.data)}`);
  assertIncreasing(events, what);
}

/** Asserts an OpenAI-shaped error with `status`; returns the body. */
function assertOpenAiError(res: { status: number; text: string }, status: number, what: string): Json {
  assert.equal(res.status, status, `${what}: status (body ${res.text.slice(0, 300)})`);
  const body = JSON.parse(res.text);
  for (const field of ["message", "type", "code"]) {
    assert.equal(typeof body.error?.[field], "string", `${what}: error.${field} in ${res.text.slice(0, 300)}`);
  }
  return body.error;
}

/** Asserts that no header (name or value) reads as the key. */
function assertHeadersClean(headers: Headers, where: string): void {
  for (const [name, value] of headers) assertUnreadable(`${name}: ${value}`, `${where}, header ${name}`);
}

/** The request log line for `/v1/responses` (waits for it). */
function responsesLog(proxy: TestProxy): Promise<string> {
  return waitForLog(proxy, (l) => l.includes(" /v1/responses "));
}

/** The requests a backend got on `way`'s upstream path. */
const upstreamCalls = (b: { seen: Seen[] }, way: Way) => b.seen.filter((s) => s.path === UPSTREAM_PATH[way]);

/** A fake backend for `way`: its upstream path answered by `script`, anything else a 404. */
function wayBackend(way: Way, script: (seen: Seen) => Response | Promise<Response>) {
  return fakeBackend((seen) => {
    if (seen.path !== UPSTREAM_PATH[way]) return jsonResponse({ error: { message: `no ${seen.path}` } }, 404);
    return script(seen);
  });
}

// ------------------------------------------------------------------ 1. escaped keys

Deno.test("responses hostile 1: a key echoed JSON-escaped (text, tool arguments once and twice, error body, header, native response.completed) never reaches the client readable", async () => {
  const content = "text @K0@ and @K1@ and @K2@";
  const header = { "x-upstream-echo": SPELLED[0], "x-upstream-url": `https://api.example/v1?api_key=${PERCENT[1]}` };
  const errorBody = spell(JSON.stringify({
    error: {
      message: `invalid key @K0@ (also @K2@) for https://api.example/v1?api_key=${PERCENT[0]}`,
      type: "invalid_request_error",
      param: null,
      code: "invalid_api_key",
    },
  }));
  // Tool arguments as the client reads them: the key in them (written escaped on the wire: once), the key escaped
  // by the arguments' own JSON (twice), and a custom tool's `{"input": ...}` holding the key (escaped on the wire).
  const once = `{"token":"${KEY}"}`;
  const twice = `{"token":"${SPELLED[1]}","all":"${SPELLED[2]}"}`;
  const patch = JSON.stringify({ input: `*** Begin Patch\n+${KEY}\n*** End Patch` });
  const k = (args: string) => args.indexOf("sk-");
  const calls = [
    { id: "call_1", name: "lookup", args: once, wireOf: escapedWire, cuts: [k(once) + 4, k(once) + 13] },
    // Cut inside the escapes `\u002f` and `\u002b` themselves.
    {
      id: "call_2",
      name: "lookup",
      args: twice,
      wireOf: wire,
      cuts: [twice.indexOf("\\u002f") + 3, twice.indexOf("\\u002b") + 2],
    },
    { id: "call_3", name: "apply_patch", args: patch, wireOf: escapedWire, cuts: [k(patch) + 4, k(patch) + 13] },
  ];
  /** `spell`, and `@A<i>@` as the i-th call's whole arguments on the wire. */
  const raw = (text: string) =>
    spell(text).replace(/@A(\d)@/g, (_, i: string) => calls[Number(i)].wireOf(calls[Number(i)].args));
  /** The i-th call's arguments in three fragments, cut inside the key, each put on the wire by `event`. */
  const fragments = (i: number, event: (placeholder: string) => string) => {
    const c = calls[i];
    return cut(c.args, c.cuts).map((piece) => event("@P@").replace("@P@", () => c.wireOf(piece)));
  };
  const chatCalls = calls.map((c, i) => ({
    id: c.id,
    type: "function",
    function: { name: c.name, arguments: `@A${i}@` },
  }));
  const chatJson = raw(JSON.stringify(completionOf({ content, tool_calls: chatCalls }, "tool_calls")));
  const chatStream = [
    chatChunk({ role: "assistant", content: "" }),
    chatChunk({ content }),
    ...chatCalls.map((c, index) => callChunk({ index, ...c, function: { ...c.function, arguments: "" } })),
    ...calls.flatMap((_, index) => fragments(index, (p) => callChunk({ index, function: { arguments: p } }))),
    finish("tool_calls"),
    USAGE_CHUNK,
    DONE_EVENT,
  ].map(raw);
  // The native answer: the message, two function calls and a custom tool call, the key in each; the
  // instructions the backend echoes hold it too.
  const fcItem = (i: number) => ({
    id: `fc_${i}`,
    type: "function_call",
    status: "completed",
    call_id: calls[i].id,
    name: "lookup",
    arguments: `@A${i}@`,
  });
  const ctcItem = {
    id: "ctc_3",
    type: "custom_tool_call",
    status: "completed",
    call_id: "call_3",
    name: "apply_patch",
  };
  const nativeOutput = [messageItem("msg_h1", content), fcItem(0), fcItem(1), { ...ctcItem, input: "@K1@" }];
  const nativeJson = raw(JSON.stringify(responseObject("resp_hostile", "completed", nativeOutput, {
    instructions: "echo @K2@",
  })));
  const nativeStream = () => {
    const n = new NativeEvents("resp_hostile", { instructions: "echo @K2@" });
    const call = (i: number) => {
      const at = { item_id: `fc_${i}`, output_index: i + 1 };
      return [
        n.ev("response.output_item.added", {
          output_index: i + 1,
          item: { ...fcItem(i), arguments: "", status: "in_progress" },
        }),
        ...fragments(i, (p) => n.ev("response.function_call_arguments.delta", { ...at, delta: p })),
        n.ev("response.function_call_arguments.done", { ...at, arguments: `@A${i}@` }),
        n.ev("response.output_item.done", { output_index: i + 1, item: fcItem(i) }),
      ];
    };
    return [
      ...n.start(),
      n.delta(content),
      ...n.end(content).slice(0, 3),
      ...call(0),
      ...call(1),
      n.completed(nativeOutput),
    ]
      .map(raw);
  };
  // The precondition: what the backend writes holds the key only escaped, and a reader of it decodes the key.
  const wireText = [...chatStream, chatJson, ...nativeStream(), nativeJson, errorBody].join("");
  assert.ok(!wireText.includes(KEY), "the backend writes the key escaped only");
  const chatArgs: Record<number, string> = {};
  for (const e of chatStream.filter((e) => e.includes('"arguments"'))) {
    for (const c of JSON.parse(e.slice(6)).choices[0].delta.tool_calls) {
      chatArgs[c.index] = (chatArgs[c.index] ?? "") + c.function.arguments;
    }
  }
  const nativeArgs = deltasByItem(responsesEvents(nativeStream()), "response.function_call_arguments.delta");
  assert.deepEqual(
    [
      chatArgs[0],
      JSON.parse(chatArgs[1]).token,
      JSON.parse(chatArgs[2]).input,
      nativeArgs[1],
      JSON.parse(nativeArgs[2]).all,
    ],
    [once, KEY, `*** Begin Patch\n+${KEY}\n*** End Patch`, once, KEY],
    "the backend's fragments decode to the key",
  );
  const backends = {
    translate: wayBackend("translate", (seen) => {
      if (seen.body.includes("case:error")) {
        return new Response(errorBody, { status: 400, headers: { "content-type": "application/json", ...header } });
      }
      if (seen.json?.stream === true) return fixedSse(chatStream, header);
      return new Response(chatJson, { headers: { "content-type": "application/json", ...header } });
    }),
    native: wayBackend("native", (seen) => {
      if (seen.body.includes("case:error")) {
        return new Response(errorBody, { status: 400, headers: { "content-type": "application/json", ...header } });
      }
      if (seen.json?.stream === true) return fixedSse(nativeStream(), header);
      return new Response(nativeJson, { headers: { "content-type": "application/json", ...header } });
    }),
  };
  await using _translate = backends.translate;
  await using _native = backends.native;
  const tools = [
    { type: "function", name: "lookup", parameters: { type: "object", properties: { token: { type: "string" } } } },
    { type: "custom", name: "apply_patch", description: "Edits files." },
  ];
  const cases: Record<string, () => Promise<void>> = {};
  for (const way of WAYS) {
    const ask = (marker: string, stream: boolean) => request({ input: marker, tools, stream });
    cases[`${way}: JSON answer`] = async () => {
      await using proxy = await startProxy(env(backends[way].baseUrl, way));
      const res = await send(proxy, ask("case:json", false));
      assert.equal(res.status, 200, res.text);
      const response = JSON.parse(res.text);
      assert.equal(response.output.length, 4, `the message and three calls: ${res.text}`);
      if (way === "translate") assert.equal(response.output[3].type, "custom_tool_call", res.text);
      assertNoKeyIn(response, "JSON answer");
      assertUnreadable(res.text, "JSON answer");
      assertHeadersClean(res.headers, "JSON answer");
    };
    cases[`${way}: stream`] = async () => {
      await using proxy = await startProxy(env(backends[way].baseUrl, way));
      const res = await send(proxy, ask("case:stream", true));
      assert.equal(res.status, 200, res.text);
      const events = responsesEvents(res.text);
      assert.equal(events.at(-1)?.type, "response.completed", `a whole stream: ${res.text.slice(-300)}`);
      assertNoKeyIn(events.map((e) => e.data), "stream event");
      const assembled = {
        text: streamedText(events),
        args: deltasByItem(events, "response.function_call_arguments.delta"),
        custom: deltasByItem(events, "response.custom_tool_call_input.delta"),
        final: terminalResponse(events),
      };
      assert.ok(assembled.text.startsWith("text "), `the text came: ${assembled.text}`);
      assertNoKeyIn(assembled, "stream, as the client assembles it");
      assertUnreadable(res.text, "stream");
      assertHeadersClean(res.headers, "stream");
    };
    cases[`${way}: error body`] = async () => {
      await using proxy = await startProxy(env(backends[way].baseUrl, way));
      const res = await send(proxy, ask("case:error", false));
      assertOpenAiError(res, 400, "error body");
      assertNoKeyIn(JSON.parse(res.text), "error body");
      assertUnreadable(res.text, "error body");
      assertHeadersClean(res.headers, "error");
    };
  }
  cases["native: a broken stream, response.created echoing the key, ends with response.failed made from it"] =
    async () => {
      await using backend = rawSseBackend(async (conn) => {
        for (const e of nativeStream().slice(0, 5)) await conn.write(chunked(e));
        await conn.write("5\r\ndata"); // half a chunk, then the connection is gone
        conn.close();
      });
      await using proxy = await startProxy(env(backend.baseUrl, "native"));
      const res = await send(proxy, request({ stream: true }));
      assert.equal(res.status, 200, res.text);
      const events = responsesEvents(res.text);
      assertFailedEnd(events, "upstream_stream_broken", "broken native stream");
      assert.equal(terminalResponse(events).id, "resp_hostile", "the failed response is the one the backend began");
      assertNoKeyIn(events.map((e) => e.data), "broken native stream");
      assertUnreadable(res.text, "broken native stream");
    };
  await eachCase(cases);
});

// ------------------------------------------------------------------ 2. keys split across events

/** A backend that streams `text` pieces and `args` pieces (one function call `lookup`) in `way`'s format. */
function splitStream(way: Way, textPieces: string[], argPieces: string[], between?: string): string[] {
  if (way === "translate") {
    return [
      ROLE,
      ...textPieces.map(text),
      callChunk({ index: 0, id: "call_1", type: "function", function: { name: "lookup", arguments: "" } }),
      ...argPieces.map((a) => callChunk({ index: 0, function: { arguments: a } })),
      finish("tool_calls"),
      USAGE_CHUNK,
      DONE_EVENT,
    ];
  }
  const n = new NativeEvents();
  const whole = textPieces.join("");
  const args = argPieces.join("");
  const call = { id: "fc_1", type: "function_call", status: "completed", call_id: "call_1", name: "lookup" };
  const fc = { item_id: "fc_1", output_index: 1 };
  const deltas = textPieces.map((p) => n.delta(p));
  // A hostile backend may put a non-delta event between two deltas of one part.
  if (between !== undefined) deltas.splice(1, 0, n.ev(between, { response: responseObject(n.id, "in_progress", []) }));
  return [
    ...n.start(),
    ...deltas,
    ...n.end(whole).slice(0, 3),
    n.ev("response.output_item.added", { output_index: 1, item: { ...call, status: "in_progress", arguments: "" } }),
    ...argPieces.map((a) => n.ev("response.function_call_arguments.delta", { ...fc, delta: a })),
    n.ev("response.function_call_arguments.done", { ...fc, arguments: args }),
    n.ev("response.output_item.done", { output_index: 1, item: { ...call, arguments: args } }),
    n.completed([messageItem("msg_h1", whole), { ...call, arguments: args }]),
  ];
}

/** What a client assembles from a split stream: the text, the call's arguments, and the final response. */
async function assembleSplit(proxy: TestProxy): Promise<{ text: string; args: string; final: Json; raw: string }> {
  const tools = [{ type: "function", name: "lookup", parameters: { type: "object" } }];
  const res = await send(proxy, request({ stream: true, tools }));
  assert.equal(res.status, 200, res.text);
  const events = responsesEvents(res.text);
  assert.equal(events.at(-1)?.type, "response.completed", `a whole stream: ${res.text.slice(-300)}`);
  const args = Object.values(deltasByItem(events, "response.function_call_arguments.delta"));
  assert.equal(args.length, 1, `one function call: ${JSON.stringify(args)}`);
  return { text: streamedText(events), args: args[0], final: terminalResponse(events), raw: res.text };
}

Deno.test("responses hostile 2a: a key split in two deltas at any point (text and tool arguments) is masked; at most its first two characters go out", async () => {
  // Every cut of the key, each in its own pair of deltas: `" <start>"`, `"<rest> |"`.
  const cuts = Array.from({ length: KEY.length - 1 }, (_, i) => i + 1);
  const textPieces = cuts.flatMap((i) => [` ${KEY.slice(0, i)}`, `${KEY.slice(i)} |`]);
  const argPieces = ['{"t":[', ...cuts.flatMap((i) => [`"${KEY.slice(0, i)}`, `${KEY.slice(i)}",`]), '""]}'];
  await eachWay(async (way) => {
    await using backend = wayBackend(way, () => fixedSse(splitStream(way, textPieces, argPieces)));
    await using proxy = await startProxy(env(backend.baseUrl, way));
    const got = await assembleSplit(proxy);
    // The documented limit: a key's first one or two characters may go out before it can be seen.
    assert.ok(!got.text.includes(KEY.slice(0, 3)), `the text shows the key's start: ${got.text}`);
    assert.equal(got.text.replace(/ (?:s|sk)?\*\*\* \|/g, ""), "", `each cut masked: ${got.text}`);
    const tokens: string[] = JSON.parse(got.args).t;
    assert.equal(tokens.length, cuts.length + 1, got.args);
    for (const t of tokens.slice(0, -1)) assert.match(t, /^(s|sk)?\*\*\*$/, `arguments: ${got.args}`);
    assertNoKeyIn(got.final, "the final response");
    assertUnreadable(got.raw, "the stream");
  });
});

Deno.test("responses hostile 2b: BUG? a key streamed in token-sized deltas (or around a non-delta event) is readable but for its last piece", async () => {
  // BUG?: expected (README "Security", content_masker.ts): what the client assembles never holds the key, at most
  // its first one or two characters before the mask. Got: only the delta that completes the key is masked; every
  // earlier piece went out, because a key prefix that started in text already sent is never held (content_masker.ts
  // #add: `limit >= before.length`), and any non-delta Responses event lets held text go. The client assembles e.g.
  // "key: sk-fast/Resp+Key-7c41***." (tokens) or "key: sk-fast/Resp+Key-7c41d09***." (one character per delta).
  const tokens = ["sk", "-", "fast", "/", "Resp", "+", "Key", "-", "7c41", "d09e"];
  const shapes: Record<string, { text: string[]; args: string[]; between?: string }> = {
    "token-sized deltas": {
      text: ["key: ", ...tokens, "."],
      args: ['{"token":"', ...tokens, '"}'],
    },
    "one character per delta": {
      text: ["key: ", ...KEY, "."],
      args: ['{"token":"', ...KEY, '"}'],
    },
  };
  const cases: Record<string, () => Promise<void>> = {};
  const check = (got: { text: string; args: string; final: Json }) => {
    const leaks = [["text", got.text], ["arguments", got.args]].filter(([, s]) => s.includes(KEY.slice(0, 3)));
    assert.deepEqual(
      leaks,
      [],
      `the client assembles ${leaks.map(([n, s]) => `${n} ${JSON.stringify(s)}`).join(", ")}`,
    );
    assertNoKeyIn(got.final, "the final response");
  };
  for (const way of WAYS) {
    for (const [name, shape] of Object.entries(shapes)) {
      cases[`${way}, ${name}`] = async () => {
        await using backend = wayBackend(way, () => fixedSse(splitStream(way, shape.text, shape.args)));
        await using proxy = await startProxy(env(backend.baseUrl, way));
        check(await assembleSplit(proxy));
      };
    }
  }
  cases["native, two halves with response.in_progress between them"] = async () => {
    const half = Math.floor(KEY.length / 2);
    const textPieces = [`key: ${KEY.slice(0, half)}`, `${KEY.slice(half)}.`];
    await using backend = wayBackend(
      "native",
      () => fixedSse(splitStream("native", textPieces, ["{}"], "response.in_progress")),
    );
    await using proxy = await startProxy(env(backend.baseUrl, "native"));
    check(await assembleSplit(proxy));
  };
  await eachCase(cases);
});

// ------------------------------------------------------------------ 3. a stream broken mid-answer

Deno.test("responses hostile 3: a stream broken mid-answer ends with error + response.failed, never response.completed; the log says end=broken", async () => {
  await eachWay(async (way) => {
    await using backend = rawSseBackend(async (conn) => {
      for (const e of textAnswer(way, ["Half ", "an ans"], false)) await conn.write(chunked(e));
      await conn.write("5\r\ndata"); // half a chunk, then the connection is gone
      conn.close();
    });
    await using proxy = await startProxy(env(backend.baseUrl, way));
    const { res, reader } = await open(proxy, request({ stream: true }));
    assert.equal(res.status, 200);
    let events: REvent[];
    try {
      events = responsesEvents(await reader.rest(3000));
    } finally {
      await reader.cancel().catch(() => {});
    }
    assert.equal(streamedText(events), "Half an ans", "the text before the break arrived");
    assertFailedEnd(events, "upstream_stream_broken", way);
    if (way === "native") assert.equal(terminalResponse(events).id, "resp_hostile", "the backend's response, failed");
    const line = await responsesLog(proxy);
    assert.match(line, / end=broken /, line);
  });
});

// ------------------------------------------------------------------ 4. stalls

Deno.test("responses hostile 4a: a stream that stalls mid-answer ends at PROXY_IDLE_TIMEOUT with response.failed, and the backend is let go", async () => {
  await eachWay(async (way) => {
    const cut = deferred<number>();
    await using backend = rawSseBackend(async (conn) => {
      for (const e of textAnswer(way, ["thinking ", "about it"], false)) await conn.write(chunked(e));
      await conn.peerClosed(); // silent, on purpose, until the proxy gives up
      cut.resolve(performance.now());
    });
    await using proxy = await startProxy(env(backend.baseUrl, way, { PROXY_IDLE_TIMEOUT: "1" }));
    const { reader } = await open(proxy, request({ stream: true }));
    let events: REvent[];
    const started = performance.now();
    try {
      events = responsesEvents(await reader.rest(4000));
    } finally {
      await reader.cancel().catch(() => {});
    }
    const ms = performance.now() - started;
    assert.equal(streamedText(events), "thinking about it");
    assertFailedEnd(events, "upstream_idle_timeout", way);
    assert.ok(ms > 800 && ms < 3000, `ended after ${Math.round(ms)} ms (PROXY_IDLE_TIMEOUT 1 s)`);
    await within(cut.promise, 1000, "the proxy closing the stalled backend's connection");
    const line = await responsesLog(proxy);
    assert.match(line, / end=idle_timeout /, line);
  });
});

Deno.test("responses hostile 4b: a stream that stalls before its first content (after response.created / a role-only chunk) falls back at PROXY_TIMEOUT", async () => {
  await eachWay(async (way) => {
    const cut = deferred();
    await using fast = rawSseBackend(async (conn) => {
      const envelope = way === "translate" ? [ROLE] : new NativeEvents("resp_fast_stalled").start().slice(0, 2);
      for (const e of envelope) await conn.write(chunked(e));
      await conn.peerClosed(); // nothing with content, ever
      cut.resolve();
    });
    await using smart = wayBackend(way, () => fixedSse(textAnswer(way, ["from the ", "smart route"])));
    await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, way, { PROXY_TIMEOUT: "1" }));
    const started = performance.now();
    const res = await send(proxy, request({ stream: true }), 5000);
    assert.equal(res.status, 200, res.text);
    const events = responsesEvents(res.text);
    assert.ok(!res.text.includes("resp_fast_stalled"), "nothing of the stalled route reached the client");
    assert.ok(!events.some((e) => e.type === "error" || e.type === "response.failed"), res.text.slice(0, 300));
    assert.equal(streamedText(events), "from the smart route");
    assert.equal(events.at(-1)?.type, "response.completed");
    assertIncreasing(events, way);
    const ms = performance.now() - started;
    assert.ok(ms > 800 && ms < 3500, `answered after ${Math.round(ms)} ms (PROXY_TIMEOUT 1 s)`);
    await within(cut.promise, 1000, "the proxy closing the stalled route's connection");
    const line = await responsesLog(proxy);
    assert.match(line, /-> smart:.* fallback=timeout/, line);
  });
});

// ------------------------------------------------------------------ 5. ends early, ends late

Deno.test("responses hostile 5a: a stream closed before its end (no finish_reason / no response.completed) ends with response.failed, truncated", async () => {
  await eachWay(async (way) => {
    await using backend = rawSseBackend(async (conn) => {
      for (const e of textAnswer(way, ["cut ", "short"], false)) await conn.write(chunked(e));
      await conn.write(LAST_CHUNK); // a clean close, before the answer's end
    });
    await using proxy = await startProxy(env(backend.baseUrl, way));
    const res = await send(proxy, request({ stream: true }));
    assert.equal(res.status, 200, res.text);
    const events = responsesEvents(res.text);
    assert.equal(streamedText(events), "cut short");
    assertFailedEnd(events, "upstream_stream_truncated", way);
    const line = await responsesLog(proxy);
    assert.match(line, / end=truncated /, line);
  });
});

Deno.test("responses hostile 5b: a backend that keeps sending after response.completed / [DONE]: the client's stream closes at once and the backend is let go", async () => {
  await eachWay(async (way) => {
    const cutOff = deferred<number>();
    await using backend = rawSseBackend(async (conn) => {
      for (const e of textAnswer(way, ["the ", "answer"])) await conn.write(chunked(e));
      await keepGenerating(conn, moreText(way));
      cutOff.resolve(performance.now());
    });
    await using proxy = await startProxy(env(backend.baseUrl, way, { PROXY_IDLE_TIMEOUT: "10" }));
    const { reader } = await open(proxy, request({ stream: true }));
    try {
      let event: string | null;
      do event = await reader.next(3000); while (event !== null && !event.includes("response.completed"));
      assert.ok(event !== null, `the stream ended without response.completed: ${reader.events.join(" | ")}`);
      const at = performance.now();
      assert.equal(await reader.next(1000), null, "nothing after response.completed");
      const backendAt = await within(cutOff.promise, 1000, "the proxy closing the backend's connection");
      assert.ok(backendAt - at < 1000, `the backend was cut off ${Math.round(backendAt - at)} ms later`);
      const events = responsesEvents(reader.events);
      assert.equal(streamedText(events), "the answer");
      assert.equal(events.at(-1)?.type, "response.completed");
    } finally {
      await reader.cancel().catch(() => {});
    }
    const line = await responsesLog(proxy);
    assert.match(line, / end=complete /, line);
  });
});

// ------------------------------------------------------------------ 6. odd tool calls (translated)

Deno.test("responses hostile 6: tool calls without index, with non-JSON arguments, and a custom tool whose arguments are not {input} come back whole and alike, streamed and not (translated)", async () => {
  // Native passes the backend's own Responses items through; only the translation assembles calls.
  type Call = { id: string; name: string; args: string };
  const a: Call = { id: "call_a", name: "get_weather", args: '{"city":"Paris"}' };
  const b: Call = { id: "call_b", name: "get_time", args: '{"zone":"CET"}' };
  const whole = (c: Call) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.args } });
  const patch = "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch\n";
  /** Each scenario: what the backend streams (its JSON answer has the same calls whole), and what the client gets. */
  const scenarios: Record<string, { stream: string[]; calls: Call[]; want: Json[] }> = {
    "no index, one whole call per chunk": {
      stream: [chatChunk({ role: "assistant", tool_calls: [whole(a)] }), chatChunk({ tool_calls: [whole(b)] })],
      calls: [a, b],
      want: [
        { type: "function_call", call_id: "call_a", name: "get_weather", arguments: a.args },
        { type: "function_call", call_id: "call_b", name: "get_time", arguments: b.args },
      ],
    },
    "no index, both calls in one chunk": {
      stream: [chatChunk({ role: "assistant", tool_calls: [whole(a), whole(b)] })],
      calls: [a, b],
      want: [
        { type: "function_call", call_id: "call_a", name: "get_weather", arguments: a.args },
        { type: "function_call", call_id: "call_b", name: "get_time", arguments: b.args },
      ],
    },
    "no index, fragments without id continue the last call": {
      stream: [
        callChunk({ id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"ci' } }),
        callChunk({ function: { arguments: 'ty":"Paris"}' } }),
        callChunk(whole(b)),
      ],
      calls: [a, b],
      want: [
        { type: "function_call", call_id: "call_a", name: "get_weather", arguments: a.args },
        { type: "function_call", call_id: "call_b", name: "get_time", arguments: b.args },
      ],
    },
  };
  const nonJson: Record<string, string[]> = {
    "not json": ["not ", "json"],
    "an array": ["[1, ", "2]"],
    "a cut object": ['{"city": ', '"Par'],
  };
  for (const [name, parts] of Object.entries(nonJson)) {
    const args = parts.join("");
    scenarios[`arguments ${name}`] = {
      stream: [
        callChunk({ index: 0, id: "call_x", type: "function", function: { name: "get_weather", arguments: "" } }),
        ...parts.map((p) => callChunk({ index: 0, function: { arguments: p } })),
      ],
      calls: [{ id: "call_x", name: "get_weather", args }],
      want: [{ type: "function_call", call_id: "call_x", name: "get_weather", arguments: args }],
    };
  }
  const custom: Record<string, { args: string; input: string }> = {
    "raw patch text, not JSON": { args: patch, input: patch },
    "JSON without input": { args: JSON.stringify({ patch }), input: JSON.stringify({ patch }) },
    "input not a string": { args: '{"input": 42}', input: '{"input": 42}' },
    "an array": { args: `[${JSON.stringify(patch)}]`, input: `[${JSON.stringify(patch)}]` },
    "{input} as asked (the control)": { args: JSON.stringify({ input: patch }), input: patch },
  };
  for (const [name, c] of Object.entries(custom)) {
    const half = Math.floor(c.args.length / 2);
    scenarios[`apply_patch, ${name}`] = {
      stream: [
        callChunk({ index: 0, id: "call_p", type: "function", function: { name: "apply_patch", arguments: "" } }),
        callChunk({ index: 0, function: { arguments: c.args.slice(0, half) } }),
        callChunk({ index: 0, function: { arguments: c.args.slice(half) } }),
      ],
      calls: [{ id: "call_p", name: "apply_patch", args: c.args }],
      want: [{ type: "custom_tool_call", call_id: "call_p", name: "apply_patch", input: c.input }],
    };
  }
  await using backend = wayBackend("translate", (seen) => {
    const name = Object.keys(scenarios).find((s) => seen.body.includes(`scenario:${s}`))!;
    const s = scenarios[name];
    if (seen.json?.stream !== true) {
      return jsonResponse(completionOf({ content: null, tool_calls: s.calls.map(whole) }, "tool_calls"));
    }
    return fixedSse([...s.stream, finish("tool_calls"), USAGE_CHUNK, DONE_EVENT]);
  });
  await using proxy = await startProxy(env(backend.baseUrl, "translate"));
  const tools = [
    { type: "function", name: "get_weather", parameters: { type: "object" } },
    { type: "function", name: "get_time", parameters: { type: "object" } },
    { type: "custom", name: "apply_patch", format: { type: "grammar", syntax: "lark", definition: "start: /.+/" } },
  ];
  /** The calls of an output as the client reads them. */
  const callsOf = (output: Json[]) =>
    output.filter((i) => i.type === "function_call" || i.type === "custom_tool_call").map((i) => {
      const { type, call_id, name, status } = i;
      assert.equal(status, "completed", JSON.stringify(i));
      return i.type === "function_call"
        ? { type, call_id, name, arguments: i.arguments }
        : { type, call_id, name, input: i.input };
    });
  const cases: Record<string, () => Promise<void>> = {};
  for (const [name, s] of Object.entries(scenarios)) {
    const ask = (stream: boolean) => request({ stream, tools, input: `scenario:${name}` });
    cases[`${name} (JSON)`] = async () => {
      const res = await send(proxy, ask(false));
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(callsOf(JSON.parse(res.text).output), s.want, res.text);
    };
    cases[`${name} (stream)`] = async () => {
      const res = await send(proxy, ask(true));
      assert.equal(res.status, 200, res.text);
      const events = responsesEvents(res.text);
      assert.equal(events.at(-1)?.type, "response.completed", res.text.slice(-300));
      assertIncreasing(events, name);
      const final = callsOf(terminalResponse(events).output as Json[]);
      assert.deepEqual(final, s.want, `response.completed: ${JSON.stringify(final)}`);
      // What a client assembles from the events agrees with the final response, item by item.
      const done = events.filter((e) => e.type === "response.output_item.done").map((e) => e.data);
      const streamed = done.map((d) => {
        const item = d.item;
        const deltas = item.type === "function_call"
          ? deltasByItem(events, "response.function_call_arguments.delta")[d.output_index] ?? ""
          : deltasByItem(events, "response.custom_tool_call_input.delta")[d.output_index] ?? "";
        return item.type === "function_call"
          ? { type: item.type, call_id: item.call_id, name: item.name, arguments: deltas }
          : { type: item.type, call_id: item.call_id, name: item.name, input: deltas };
      });
      assert.deepEqual(streamed, s.want, `assembled from the deltas: ${JSON.stringify(streamed)}`);
    };
  }
  await eachCase(cases);
});

// ------------------------------------------------------------------ 7. a 24 MB line

Deno.test("responses hostile 7: one 24 MB SSE line without a newline ends the stream with response.failed, promptly, and /health answers meanwhile", async () => {
  const openLine: Record<Way, string> = {
    translate: 'data: {"choices":[{"index":0,"delta":{"content":"',
    native: 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":99,' +
      '"item_id":"msg_h1","output_index":0,"content_index":0,"delta":"',
  };
  await eachWay(async (way) => {
    await using backend = rawSseBackend(async (conn) => {
      for (const e of textAnswer(way, ["the start"], false)) await conn.write(chunked(e));
      const piece = "a".repeat(1024 * 1024);
      await conn.write(chunked(openLine[way]));
      for (let i = 0; i < 24; i++) await conn.write(chunked(piece));
      await conn.peerClosed(); // never a newline, never an end
    });
    await using proxy = await startProxy(env(backend.baseUrl, way, { PROXY_IDLE_TIMEOUT: "4" }));
    const started = performance.now();
    const { reader } = await open(proxy, request({ stream: true }));
    try {
      const { result: blocks, worstMs, probes } = await probedWhile(proxy, reader.rest(10_000));
      const ms = performance.now() - started;
      const events = responsesEvents(blocks);
      assertFailedEnd(events, "upstream_stream_too_large", way);
      assert.match(events.at(-2)!.data.error.message, /16 MiB|too large|outgrew/i, "names the bound");
      assert.equal(streamedText(events), "the start");
      assert.ok(ms < 3500, `the failure came after ${Math.round(ms)} ms`);
      assert.ok(worstMs < 1000, `/health took ${Math.round(worstMs)} ms (of ${probes} probes) meanwhile`);
    } finally {
      await reader.cancel().catch(() => {});
    }
    const line = await responsesLog(proxy);
    assert.match(line, / end=too_large /, line);
  });
});

// ------------------------------------------------------------------ 8. the wrong content type

Deno.test("responses hostile 8: the wrong content type: text/plain JSON is translated, SSE to a JSON request and JSON to a stream request fail or fall back", async () => {
  const chatAnswer = JSON.stringify(completionOf({ content: "labelled oddly" }));
  /** A raw answer with `type` as its content-type (none when undefined). */
  const rawAnswer = (body: string, type: string | undefined) =>
    `HTTP/1.1 200 OK\r\n${type === undefined ? "" : `content-type: ${type}\r\n`}content-length: ${
      encoder.encode(body).length
    }\r\nconnection: close\r\n\r\n${body}`;
  const cases: Record<string, () => Promise<void>> = {};
  for (const [label, type] of [["text/plain", "text/plain"], ["no content-type", undefined]] as const) {
    cases[`translate: a chat completion labelled ${label} is translated`] = async () => {
      await using backend = hostileBackend(async (conn) => {
        const req = await conn.readRequest();
        if (req) await conn.write(rawAnswer(chatAnswer, type));
      });
      await using proxy = await startProxy(env(backend.baseUrl, "translate"));
      const res = await send(proxy, request());
      assert.equal(res.status, 200, res.text);
      const response = JSON.parse(res.text);
      assert.equal(response.object, "response", res.text);
      assert.equal(response.status, "completed", res.text);
      assert.equal(response.output[0]?.content?.[0]?.text, "labelled oddly", res.text);
      assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    };
  }
  const sseAlways = () => wayBackend("translate", () => fixedSse(textAnswer("translate", ["streamed anyway"])));
  cases["translate: SSE to a non-stream request, one route: 502, never SSE"] = async () => {
    await using backend = sseAlways();
    await using proxy = await startProxy(env(backend.baseUrl, "translate"));
    const res = await send(proxy, request());
    assert.ok(!/event-stream/.test(res.headers.get("content-type") ?? ""), `${res.headers.get("content-type")}`);
    assert.ok(!res.text.includes("streamed anyway"), res.text.slice(0, 200));
    assertOpenAiError(res, 502, "SSE to a JSON request");
  };
  cases["translate: SSE to a non-stream request, two routes: the other route answers"] = async () => {
    await using fast = sseAlways();
    await using smart = wayBackend("translate", () => jsonResponse(completionOf({ content: "from the smart route" })));
    await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, "translate"));
    const res = await send(proxy, request());
    assert.equal(res.status, 200, res.text);
    assert.equal(JSON.parse(res.text).output[0].content[0].text, "from the smart route");
    assert.equal(fast.seen.length, 1, "the fast route was tried first");
  };
  for (const way of WAYS) {
    const jsonAlways = (what: string) =>
      wayBackend(
        way,
        () =>
          way === "translate"
            ? jsonResponse(completionOf({ content: what }))
            : jsonResponse(responseObject("resp_json", "completed", [messageItem("msg_j", what)])),
      );
    cases[`${way}: JSON 200 to a stream request, one route: 502`] = async () => {
      await using backend = jsonAlways("not a stream");
      await using proxy = await startProxy(env(backend.baseUrl, way));
      const res = await send(proxy, request({ stream: true }));
      assert.ok(!res.text.includes("not a stream"), res.text.slice(0, 200));
      assertOpenAiError(res, 502, "JSON to a stream request");
    };
    cases[`${way}: JSON 200 to a stream request, two routes: the other route streams`] = async () => {
      await using fast = jsonAlways("not a stream");
      await using smart = wayBackend(way, () => fixedSse(textAnswer(way, ["from the smart route"])));
      await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, way));
      const res = await send(proxy, request({ stream: true }));
      assert.equal(res.status, 200, res.text);
      const events = responsesEvents(res.text);
      assert.equal(streamedText(events), "from the smart route");
      assert.equal(events.at(-1)?.type, "response.completed");
      assert.equal(fast.seen.length, 1, "the fast route was tried first");
      const line = await responsesLog(proxy);
      assert.match(line, /-> smart:.* fallback=bad_stream/, line);
    };
  }
  await eachCase(cases);
});

// ------------------------------------------------------------------ 9. a failure behind envelope events

Deno.test("responses hostile 9: response.created + in_progress then response.failed (or a role chunk then an error) falls back; the client never sees the first failure", async () => {
  const failures: Record<Way, Record<string, () => string[]>> = {
    native: {
      "response.failed": () => {
        const n = new NativeEvents("resp_fast_failed");
        return [
          ...n.start().slice(0, 2),
          n.ev("response.failed", {
            response: responseObject("resp_fast_failed", "failed", [], {
              error: { code: "server_error", message: "fast route overloaded" },
            }),
          }),
        ];
      },
      "an error event": () => {
        const n = new NativeEvents("resp_fast_failed");
        return [
          ...n.start(),
          n.ev("error", { error: { type: "server_error", code: "overloaded", message: "fast route overloaded" } }),
        ];
      },
    },
    translate: {
      "an error chunk": () => [ROLE, `data: {"error":{"message":"fast route overloaded","type":"server_error"}}\n\n`],
      "an `event: error`": () => [ROLE, `event: error\ndata: {"message":"fast route overloaded"}\n\n`],
    },
  };
  const cases: Record<string, () => Promise<void>> = {};
  for (const way of WAYS) {
    for (const [name, events] of Object.entries(failures[way])) {
      cases[`${way}: envelope, then ${name}`] = async () => {
        await using fast = wayBackend(way, () => fixedSse(events()));
        await using smart = wayBackend(way, () => fixedSse(textAnswer(way, ["from the ", "smart route"])));
        await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, way));
        const res = await send(proxy, request({ stream: true }));
        assert.equal(res.status, 200, res.text);
        assert.ok(!/overloaded|resp_fast_failed/.test(res.text), `the first route's failure leaked: ${res.text}`);
        const got = responsesEvents(res.text);
        assert.ok(!got.some((e) => e.type === "error" || e.type === "response.failed"), res.text.slice(0, 300));
        assert.equal(streamedText(got), "from the smart route");
        assert.equal(got.at(-1)?.type, "response.completed");
        assert.equal(got.filter((e) => e.type === "response.created").length, 1, "one response.created");
        assertIncreasing(got, way);
        assert.equal(upstreamCalls(fast, way).length, 1);
        assert.equal(upstreamCalls(smart, way).length, 1);
        const line = await responsesLog(proxy);
        assert.match(line, /-> smart:.* fallback=bad_stream/, line);
      };
    }
  }
  await eachCase(cases);
});

// ------------------------------------------------------------------ 10. JSON nested 100,000 deep

Deno.test("responses hostile 10: JSON nested 100,000 deep in a tool schema or the input is a quick 400 on both ways, with no upstream call", async () => {
  const depth = 100_000;
  const deep = "[".repeat(depth) + "]".repeat(depth);
  const head = JSON.stringify(request()).slice(0, -1);
  const bodies: Record<string, string> = {
    "a tool schema": `${head},"tools":[{"type":"function","name":"deep","parameters":{"type":"object","x":${deep}}}]}`,
    "the input": `{"model":"gpt-5","input":[{"role":"user","content":${deep}}]}`,
    "a function_call_output":
      `{"model":"gpt-5","input":[{"type":"function_call_output","call_id":"c","output":${deep}}]}`,
  };
  await eachWay(async (way) => {
    await using backend = fakeBackend(() => jsonResponse(completionOf({ content: "never asked" })));
    await using proxy = await startProxy(env(backend.baseUrl, way));
    for (const [name, body] of Object.entries(bodies)) {
      for (const stream of [false, true]) {
        const sent = stream ? body.replace('"model":"gpt-5"', '"model":"gpt-5","stream":true') : body;
        const { result: res, worstMs, probes } = await probedWhile(proxy, send(proxy, sent, 10_000));
        const error = assertOpenAiError(res, 400, `${name}${stream ? ", stream" : ""}`);
        assert.equal(error.code, "nested_too_deeply", res.text);
        assert.ok(res.ms < 2000, `${name}: the 400 took ${Math.round(res.ms)} ms`);
        assert.ok(worstMs < 1000, `${name}: /health took ${Math.round(worstMs)} ms (of ${probes} probes)`);
      }
    }
    assert.equal(backend.seen.length, 0, "no deep request went upstream (nor a probe)");
  });
});

// ------------------------------------------------------------------ 11. a huge input

Deno.test("responses hostile 11: a 20 MB input under PROXY_MAX_BODY_MB is forwarded whole on both ways; one over it is a 413 without an upstream call", async () => {
  const big = "z".repeat(20 * 1024 * 1024);
  await eachWay(async (way) => {
    await using backend = wayBackend(
      way,
      () =>
        way === "translate"
          ? jsonResponse(completionOf({ content: "read it" }))
          : jsonResponse(responseObject("resp_big", "completed", [messageItem("msg_b", "read it")])),
    );
    await using proxy = await startProxy(env(backend.baseUrl, way, { PROXY_MAX_BODY_MB: "24" }));
    const body = JSON.stringify(request({ input: [{ role: "user", content: [{ type: "input_text", text: big }] }] }));
    const { result: res, worstMs } = await probedWhile(proxy, send(proxy, body, 20_000));
    assert.equal(res.status, 200, res.text.slice(0, 300));
    assert.equal(JSON.parse(res.text).output[0].content[0].text, "read it");
    assert.ok(worstMs < 1500, `/health took ${Math.round(worstMs)} ms meanwhile`);
    const calls = upstreamCalls(backend, way);
    assert.equal(calls.length, 1);
    if (way === "translate") {
      const messages = calls[0].json?.messages as Json[];
      assert.equal(messages.at(-1)?.content, big, "the text reached the chat backend whole");
      assert.equal(calls[0].json?.model, MODEL);
    } else {
      assert.equal(calls[0].body, body.replace('"model":"gpt-5"', `"model":${JSON.stringify(MODEL)}`), "as sent");
    }
    const over = JSON.stringify(request({ input: big + "z".repeat(5 * 1024 * 1024) }));
    const refused = await send(proxy, over, 20_000);
    const error = assertOpenAiError(refused, 413, "over PROXY_MAX_BODY_MB");
    assert.equal(error.code, "request_too_large");
    assert.equal(backend.seen.length, 1, "the oversized body went nowhere");
  });
});

// ------------------------------------------------------------------ 12. thousands of tools

Deno.test("responses hostile 12: 5,000 function tools and a namespace of 5,000 members translate without stalling the proxy; a call comes back as its tool", async () => {
  const schema = { type: "object", properties: { q: { type: "string" } }, required: ["q"] };
  const functions = Array.from({ length: 5000 }, (_, i) => ({
    type: "function",
    name: `tool_${i}`,
    description: `Tool number ${i}`,
    parameters: schema,
  }));
  // Its members' chat names (`namespace__member`) are over 64 characters: each is shortened and must come back.
  const ns = "mcp__a_server_with_a_rather_long_name_for_this_hostile_test";
  const namespace = {
    type: "namespace",
    name: ns,
    description: "Many members",
    tools: Array.from({ length: 5000 }, (_, i) => ({ type: "function", name: `member_${i}`, parameters: schema })),
  };
  const cases: Record<string, () => Promise<void>> = {};
  for (
    const [label, tools, want] of [
      ["5,000 function tools", functions, { name: "tool_4999" }],
      ["a namespace of 5,000 members", [namespace], { name: "member_4999", namespace: ns }],
    ] as const
  ) {
    for (const stream of [false, true]) {
      cases[`translate: ${label}${stream ? ", stream" : ""}`] = async () => {
        let backendName = "";
        await using backend = wayBackend("translate", (seen) => {
          // The backend calls the last tool it was offered, by the name it was offered under.
          backendName = (seen.json?.tools as { function: { name: string } }[]).at(-1)!.function.name;
          const call = { id: "call_many", type: "function", function: { name: backendName, arguments: '{"q":"x"}' } };
          if (seen.json?.stream !== true) {
            return jsonResponse(completionOf({ content: null, tool_calls: [call] }, "tool_calls"));
          }
          return fixedSse([ROLE, callChunk({ index: 0, ...call }), finish("tool_calls"), USAGE_CHUNK, DONE_EVENT]);
        });
        await using proxy = await startProxy(env(backend.baseUrl, "translate"));
        const body = JSON.stringify(request({ tools, stream }));
        const { result: res, worstMs, probes } = await probedWhile(proxy, send(proxy, body, 20_000));
        assert.equal(res.status, 200, res.text.slice(0, 300));
        assert.ok(worstMs < 1000, `/health took ${Math.round(worstMs)} ms (of ${probes} probes) meanwhile`);
        const chatTools = upstreamCalls(backend, "translate")[0].json?.tools as { function: { name: string } }[];
        assert.equal(chatTools.length, 5000, "every tool reached the backend");
        assert.ok(chatTools.every((t) => t.function.name.length <= 64), "no chat name over 64 characters");
        assert.equal(new Set(chatTools.map((t) => t.function.name)).size, 5000, "5,000 distinct names");
        if (want.name === "tool_4999") assert.equal(backendName, "tool_4999");
        else assert.equal(backendName.length, 64, `${backendName}: a member's name, shortened`);
        const output = stream
          ? terminalResponse(responsesEvents(res.text)).output as Json[]
          : JSON.parse(res.text).output as Json[];
        const call = output.find((i) => i.type === "function_call");
        assert.ok(call, JSON.stringify(output).slice(0, 300));
        assert.deepEqual(
          { name: call.name, namespace: call.namespace, arguments: call.arguments },
          { namespace: undefined, ...want, arguments: '{"q":"x"}' },
        );
      };
    }
  }
  cases["native: 5,000 tools and the namespace go as they are"] = async () => {
    await using backend = wayBackend(
      "native",
      () => jsonResponse(responseObject("resp_tools", "completed", [messageItem("msg_t", "ok")])),
    );
    await using proxy = await startProxy(env(backend.baseUrl, "native"));
    const body = JSON.stringify(request({ tools: [...functions, namespace] }));
    const { result: res, worstMs } = await probedWhile(proxy, send(proxy, body, 20_000));
    assert.equal(res.status, 200, res.text.slice(0, 300));
    assert.ok(worstMs < 1000, `/health took ${Math.round(worstMs)} ms meanwhile`);
    assert.equal(upstreamCalls(backend, "native")[0].body, body.replace('"gpt-5"', JSON.stringify(MODEL)));
  };
  await eachCase(cases);
});

// ------------------------------------------------------------------ 13. fields of the wrong type

Deno.test("responses hostile 13: fields of the wrong type are a 400 in OpenAI's shape naming the field, with no upstream call (translated)", async () => {
  const wrong: Record<string, { body: Json; field: string }> = {
    "input a number": { body: { input: 42 }, field: "input" },
    "input an object": { body: { input: { role: "user" } }, field: "input" },
    "an input item a string": { body: { input: ["hi"] }, field: "input.0" },
    "a message content a number": { body: { input: [{ role: "user", content: 5 }] }, field: "input.0.content" },
    "a function_call_output without call_id": {
      body: { input: [{ type: "function_call_output", output: "x" }] },
      field: "input.0.call_id",
    },
    "tools not an array": { body: { tools: { type: "function", name: "x" } }, field: "tools" },
    "tools a string": { body: { tools: "lookup" }, field: "tools" },
    "a tool without name": { body: { tools: [{ type: "function", parameters: {} }] }, field: "tools.0.name" },
    "a custom tool without name": { body: { tools: [{ type: "custom" }] }, field: "tools.0.name" },
    "a namespace member without name": {
      body: { tools: [{ type: "namespace", name: "ns", tools: [{ type: "function" }] }] },
      field: "tools.0.tools.0.name",
    },
    "a namespace whose tools are not an array": {
      body: { tools: [{ type: "namespace", name: "ns", tools: {} }] },
      field: "tools.0.tools",
    },
    "tool_choice an array": { body: { tool_choice: ["auto"] }, field: "tool_choice" },
    "tool_choice a number": { body: { tool_choice: 1 }, field: "tool_choice" },
    'stream "yes"': { body: { stream: "yes" }, field: "stream" },
    "max_output_tokens -1": { body: { max_output_tokens: -1 }, field: "max_output_tokens" },
    "max_output_tokens 1.5": { body: { max_output_tokens: 1.5 }, field: "max_output_tokens" },
    'max_output_tokens "100"': { body: { max_output_tokens: "100" }, field: "max_output_tokens" },
    'temperature "hot"': { body: { temperature: "hot" }, field: "temperature" },
    'top_p "all"': { body: { top_p: "all" }, field: "top_p" },
    "item_reference to an unknown id": {
      body: { input: [{ type: "item_reference", id: "msg_0123456789abcdef01234567" }] },
      field: "input.0",
    },
    "item_reference without id": { body: { input: [{ type: "item_reference" }] }, field: "input.0.id" },
    "previous_response_id": { body: { previous_response_id: "resp_123" }, field: "previous_response_id" },
    "conversation": { body: { conversation: "conv_123" }, field: "conversation" },
    "background: true": { body: { background: true }, field: "background" },
  };
  await using backend = fakeBackend(() => jsonResponse(completionOf({ content: "never asked" })));
  await using proxy = await startProxy(env(backend.baseUrl, "translate"));
  const cases: Record<string, () => Promise<void>> = {};
  for (const [name, { body, field }] of Object.entries(wrong)) {
    cases[name] = async () => {
      const res = await send(proxy, request(body));
      const error = assertOpenAiError(res, 400, name);
      assert.equal(error.type, "invalid_request_error", res.text);
      assert.ok(String(error.message).startsWith(`${field}:`), `the message names ${field}: ${error.message}`);
    };
  }
  await eachCase(cases);
  assert.equal(backend.seen.length, 0, `no upstream call: ${backend.seen.map((s) => s.body).join("\n")}`);
  // The log counts them as Responses requests to no route.
  const lines = (await logLines(proxy)).filter((l) => l.includes(" /v1/responses "));
  assert.equal(lines.length, Object.keys(wrong).length);
  for (const line of lines) assert.match(line, / 400 /, line);
});

Deno.test("responses hostile 13b: BUG? an assistant message whose content is a number or object is a 500, and object arguments reach the backend as [object Object]", async () => {
  // BUG?: expected a 400 in OpenAI's shape naming the field, and no upstream call, as for every other wrong type.
  // Got: `{"role":"assistant","content":5}` (or `{}`) in `input` answers 500 internal_error (input.ts calls
  // `.filter` on it: "TypeError: (item.content ?? []).filter is not a function"); a function_call item with
  // `"arguments":{"city":"Paris"}` answers 200 after sending the chat backend `"arguments":"[object Object]"`
  // (input.ts `String(item.arguments)`), where OpenAI itself refuses a non-string `arguments`.
  const wrong: Record<string, { input: Json[]; field: string }> = {
    "an assistant message's content a number": {
      input: [{ type: "message", role: "assistant", content: 5 }, { role: "user", content: "hi" }],
      field: "input.0.content",
    },
    "an assistant message's content an object": {
      input: [{ role: "assistant", content: { text: "earlier" } }, { role: "user", content: "hi" }],
      field: "input.0.content",
    },
    "a function_call's arguments an object": {
      input: [
        { type: "function_call", call_id: "call_1", name: "lookup", arguments: { city: "Paris" } },
        { type: "function_call_output", call_id: "call_1", output: "sunny" },
      ],
      field: "input.0.arguments",
    },
  };
  await using backend = fakeBackend(() => jsonResponse(completionOf({ content: "answered" })));
  await using proxy = await startProxy(env(backend.baseUrl, "translate"));
  const tools = [{ type: "function", name: "lookup", parameters: { type: "object" } }];
  const cases: Record<string, () => Promise<void>> = {};
  for (const [name, { input, field }] of Object.entries(wrong)) {
    cases[name] = async () => {
      const before = backend.seen.length;
      const res = await send(proxy, request({ input, tools }));
      const sent = backend.seen.slice(before).map((s) => JSON.stringify(s.json?.messages)).join(" ");
      assert.equal(
        res.status,
        400,
        `status ${res.status}: ${res.text.slice(0, 200)}; the backend got ${sent || "nothing"}`,
      );
      const error = assertOpenAiError(res, 400, name);
      assert.ok(String(error.message).startsWith(`${field}:`), `the message names ${field}: ${error.message}`);
      assert.equal(backend.seen.length, before, `no upstream call: ${sent}`);
    };
  }
  await eachCase(cases);
});

// ------------------------------------------------------------------ 14. hostile model names

Deno.test("responses hostile 14: a 10 MB model name, or one with C0/C1 controls, goes to fast; the log keeps a bounded, escaped copy, /status.json a bounded one", async () => {
  const huge = "m".repeat(10 * 1024 * 1024);
  const controls = ["\u0085", "\u009b", "\u009d", "\u009c", "\u0090", "\u001b", "\r", "\n", "\u2028"];
  const evil = `evil${controls[0]}2026-01-01T00:00:00Z forged${controls[1]}31m${controls[2]}0;title${controls[3]}x${
    controls[4]
  }q${controls[5]}[2J${controls[6]}${controls[7]}fake line${controls[8]}end`;
  await eachWay(async (way) => {
    await using backend = wayBackend(
      way,
      () =>
        way === "translate"
          ? jsonResponse(completionOf({ content: "ok" }))
          : jsonResponse(responseObject("resp_m", "completed", [messageItem("msg_m", "ok")])),
    );
    await using proxy = await startProxy(env(backend.baseUrl, way));
    for (const model of [huge, evil]) {
      const res = await send(proxy, request({ model }), 20_000);
      assert.equal(res.status, 200, res.text.slice(0, 200));
    }
    const calls = upstreamCalls(backend, way);
    assert.equal(calls.length, 2);
    for (const c of calls) assert.equal(c.json?.model, MODEL, "the fast route's model, forced");
    // The log: one short line per request, every control escaped, nothing raw on stdout.
    const lines = (await logLines(proxy)).filter((l) => l.includes(" /v1/responses "));
    assert.equal(lines.length, 2, proxy.stdout.join("").slice(0, 500));
    for (const line of lines) {
      assert.ok(line.length < 1000, `a log line of ${line.length} characters`);
      assert.match(line, /-> fast:/, line);
    }
    const stdout = proxy.stdout.join("");
    // deno-lint-ignore no-control-regex -- control characters are what is looked for
    const raw = [...stdout].filter((c) => /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]/.test(c));
    assert.deepEqual(raw, [], "raw control characters on stdout");
    for (const c of controls) {
      const escaped = `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
      const short = { "\r": "\\r", "\n": "\\n" }[c];
      assert.ok(
        lines[1].toLowerCase().includes(escaped) || (short !== undefined && lines[1].includes(short)),
        `${escaped} missing in ${lines[1]}`,
      );
    }
    // /status.json: the records keep a bounded copy; a stranger's controls are not passed on raw either.
    const status = await fetchWithin(`${proxy.url}/status.json`, {}, 5000, "/status.json");
    assert.ok(status.text.length < 100_000, `/status.json is ${status.text.length} characters`);
    const recent: { requested_model: string | null; route: string | null }[] = JSON.parse(status.text).recent;
    assert.equal(recent.length, 2);
    for (const r of recent) {
      assert.equal(r.route, "fast");
      assert.ok((r.requested_model ?? "").length <= 201, `a record keeps ${r.requested_model?.length} characters`);
    }
    assert.ok(recent[1].requested_model!.startsWith("mmmm"), "the record keeps the name's start");
    assert.equal(recent[0].requested_model, evil, "the short name reads back as it was sent (JSON escapes)");
  });
});

Deno.test("responses hostile 14b: BUG? /status.json hands out a model name's C1 controls and line separators raw, which the log escapes", async () => {
  // BUG?: expected /status.json to keep an escaped copy, as the log does (README "Logging": the C1 controls
  // U+0080-U+009F, e.g. CSI U+009B and OSC U+009D, and U+2028/U+2029 are what a terminal or log viewer acts on).
  // Got: JSON.stringify escapes only C0, so `curl /status.json` puts U+0085, U+009B, U+009D, U+009C, U+0090 and
  // U+2028 of a stranger's model name on the terminal as they came. (The status page itself uses textContent.)
  const model = "evil\u0085forged\u009b31m\u009d0;title\u009cx\u0090q\u2028end";
  await eachWay(async (way) => {
    await using backend = wayBackend(
      way,
      () =>
        way === "translate"
          ? jsonResponse(completionOf({ content: "ok" }))
          : jsonResponse(responseObject("resp_m", "completed", [messageItem("msg_m", "ok")])),
    );
    await using proxy = await startProxy(env(backend.baseUrl, way));
    assert.equal((await send(proxy, request({ model }))).status, 200);
    const status = await fetchWithin(`${proxy.url}/status.json`, {}, 5000, "/status.json");
    assert.equal(JSON.parse(status.text).recent[0].requested_model, model);
    const raw = [...status.text].filter((c) => /[\x7f-\x9f\u2028\u2029]/.test(c));
    assert.deepEqual(raw, [], "raw C1 controls or line separators in /status.json");
  });
});

// ------------------------------------------------------------------ 15. WebSocket upgrades

Deno.test("responses hostile 15: a WebSocket upgrade of /v1/responses is a 426 only with a valid proxy key (401 without), and no backend hears of it", async () => {
  const clientKey = "client-key-for-modelpin-0042";
  const upgrade = {
    connection: "Upgrade",
    upgrade: "websocket",
    "sec-websocket-version": "13",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    "openai-beta": "responses_websockets=2026-02-06",
  };
  const cases: Record<string, () => Promise<void>> = {};
  for (const way of ["translate", "native", "auto"] as const) {
    cases[way] = async () => {
      await using backend = fakeBackend(() => jsonResponse({ error: { message: "never asked" } }, 400));
      await using proxy = await startProxy({
        ...env(backend.baseUrl, "translate"),
        FAST_RESPONSES_API: way,
        PROXY_API_KEYS: `other-key-000000001,${clientKey}`,
      });
      const attempts: [string, Record<string, string>, number][] = [
        ["no key", {}, 401],
        ["a wrong key", { authorization: "Bearer client-key-for-modelpin-0043" }, 401],
        ["the route's own key", { authorization: `Bearer ${KEY}` }, 401],
        ["a valid key (Bearer)", { authorization: `Bearer ${clientKey}` }, 426],
        ["a valid key (x-api-key)", { "x-api-key": clientKey }, 426],
        ["a valid key (api-key)", { "api-key": clientKey }, 426],
      ];
      for (const [what, auth, status] of attempts) {
        const res = await fetchWithin(
          `${proxy.url}/v1/responses`,
          { headers: { ...upgrade, ...auth } },
          3000,
          `upgrade with ${what}`,
        );
        const error = assertOpenAiError(res, status, `${way}, ${what}`);
        assert.equal(error.code, status === 426 ? "upgrade_required" : "invalid_api_key", `${what}: ${res.text}`);
        assert.ok(!res.text.includes(KEY), `${what}: the answer holds the route key`);
      }
      assert.equal(backend.seen.length, 0, `no backend call, no probe: ${backend.seen.map((s) => s.path)}`);
    };
  }
  await eachCase(cases);
});

// ------------------------------------------------------------------ 16. auto, and a probe nobody answers

Deno.test("responses hostile 16: BUG? auto: a backend whose /v1/responses never answers holds every Responses request 5 s, past PROXY_TIMEOUT", async () => {
  // BUG?: expected the first answer within PROXY_TIMEOUT (README: it bounds the wait for the backend's first answer;
  // here the chat backend answers at once). Got: with FAST_RESPONSES_API=auto (the default), each request first
  // waits for the probe `POST /v1/responses {}` up to its fixed 5 s (responses_probe.ts PROBE_MS), outside
  // PROXY_TIMEOUT; no answer decides nothing, so the next request probes, and waits, again.
  const chatAnswer = JSON.stringify(completionOf({ content: "translated anyway" }));
  await using backend = hostileBackend(async (conn) => {
    for (;;) {
      const req = await conn.readRequest();
      if (!req) return;
      if (req.line.startsWith("POST /v1/responses ")) return await conn.peerClosed(); // never answers, on purpose
      await conn.write(keepAliveJson(200, chatAnswer));
    }
  });
  await using proxy = await startProxy({
    ...env(backend.baseUrl, "translate"),
    FAST_RESPONSES_API: "auto",
    PROXY_TIMEOUT: "1",
  });
  const slow: string[] = [];
  for (const n of [1, 2]) {
    const res = await send(proxy, request(), 8000);
    assert.equal(res.status, 200, res.text.slice(0, 300));
    assert.equal(JSON.parse(res.text).output[0].content[0].text, "translated anyway");
    if (res.ms > 2000) slow.push(`request ${n} answered after ${Math.round(res.ms)} ms`);
  }
  const probes = backend.requests.filter((r) => r.line.startsWith("POST /v1/responses ")).length;
  assert.deepEqual(slow, [], `PROXY_TIMEOUT is 1 s, the chat backend answers at once; ${probes} probes were sent`);
});
