/**
 * The official OpenAI TypeScript SDK (`openai@6`, 6.49.0 in deno.lock) speaking the Responses API to modelpin's
 * `POST /v1/responses`, in front of scripted backends of both kinds:
 *
 * - **chat-only**: serves `/v1/chat/completions` and answers 404 to `/v1/responses` (vLLM before the Responses API,
 *   llama.cpp, most gateways); modelpin translates;
 * - **native**: serves `/v1/responses` with Responses JSON and SSE events written here as OpenAI sends them (an
 *   `event:` line, `sequence_number`, no `[DONE]`), and refuses the probe's empty body with OpenAI's 400.
 *
 * `FAST_RESPONSES_API=auto` is used once per kind, to prove that the probe (`POST /v1/responses` with `{}`) picks the
 * right way and that the chat-only backend's 404 to it breaks nothing; the other tests set `native` or `translate`.
 * Also here: the WebSocket upgrade Codex's built-in provider tries (426), and the doctor's line for each way.
 *
 * What the SDK needed: `baseURL` ending in `/v1`, any `apiKey` (it never reaches a backend), `maxRetries: 0` so an
 * error shows at once. `output_text` is computed by the SDK from `output` and needs `object: "response"`;
 * `responses.stream(...).finalResponse()` rebuilds the response from the events and throws on an event out of order,
 * so a stream that passes here is one the SDK's strict accumulator (6.45+) takes. `responses.parse` parses the text of
 * a `json_schema` answer, and a strict function tool's arguments (`parsed_arguments`). A stream modelpin ends with
 * its `error` event (`{"type":"error","error":{...}}`, the nested shape OpenAI sends) makes the SDK throw an APIError
 * with the event's `code` (`upstream_stream_broken`) and no `status`.
 *
 * Measured: every test takes 1-150 ms (the first one pays the proxy's start-up); the file about 0.3-0.5 s. The probe
 * is one `POST /v1/responses` with the body `{}` and the route's key, made on the first Responses request of an `auto`
 * route and not logged as a request; a native backend's events reached the SDK unchanged (types, sequence numbers,
 * deltas); a route that falls back is reached its own way (translated fast -> native smart and back).
 */

import assert from "node:assert/strict";
import OpenAI from "openai";
import { fakeBackend, jsonResponse, type Seen, sseResponse } from "../support/fake_backend.ts";
import { logLines, startProxy } from "../support/proxy.ts";
import { runDoctor } from "../../src/ops/doctor.ts";

type Json = Record<string, unknown>;

const FAST_KEY = "sk-route-fast-key-resp-0001";
const SMART_KEY = "sk-route-smart-key-resp-0002";
const FAST_MODEL = "vendor/fast-model";
const SMART_MODEL = "vendor/smart-model";
const SDK_KEY = "sk-dummy-sdk-key-never-forwarded";

const sdk = (proxyUrl: string) => new OpenAI({ baseURL: `${proxyUrl}/v1`, apiKey: SDK_KEY, maxRetries: 0 });

/** The fast route alone (smart shares it), reached `way`. */
const fastOnly = (url: string, way: string) => ({
  FAST_BASE_URL: url,
  FAST_API_KEY: FAST_KEY,
  FAST_MODEL_NAME: FAST_MODEL,
  FAST_RESPONSES_API: way,
});

/** Two distinct routes (so fallback is on), each reached its own way, without same-route retries. */
const twoRoutes = (fast: string, fastWay: string, smart: string, smartWay: string) => ({
  ...fastOnly(fast, fastWay),
  SMART_BASE_URL: smart,
  SMART_API_KEY: SMART_KEY,
  SMART_MODEL_NAME: SMART_MODEL,
  SMART_RESPONSES_API: smartWay,
  PROXY_RETRIES: "0",
});

/** Asserts the SDK's key reached no backend. */
function assertNoSdkKey(seen: Seen[]): void {
  for (const s of seen) for (const [, value] of s.headers) assert.ok(!value.includes(SDK_KEY), "the SDK's key leaked");
}

// ------------------------------------------------------------------ chat-only backend

/** What a chat-only backend answers: text, tool calls, or a whole Response of its own. */
type Reply = { text: string } | { calls: { id: string; name: string; args: string }[] } | Response;

const CHAT_USAGE = { prompt_tokens: 21, completion_tokens: 9, total_tokens: 30 };

/** A chat completion stream of `deltas`, then the finish reason, usage and `[DONE]`, as OpenAI sends it. */
function chatSse(deltas: Json[], finish: string): Response {
  const ev = (o: Json) =>
    `data: ${JSON.stringify({ id: "chatcmpl-r", object: "chat.completion.chunk", created: 1, model: "b", ...o })}\n\n`;
  const body = deltas.map((d) => ev({ choices: [{ index: 0, delta: d, finish_reason: null }] })).join("") +
    ev({ choices: [{ index: 0, delta: {}, finish_reason: finish }] }) + ev({ choices: [], usage: CHAT_USAGE }) +
    "data: [DONE]\n\n";
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

/** A chat completion answer, streamed like OpenAI (role first, text and arguments in pieces) when asked. */
function chatAnswer(seen: Seen, reply: { text: string } | { calls: { id: string; name: string; args: string }[] }) {
  const finish = "text" in reply ? "stop" : "tool_calls";
  if (seen.json?.stream !== true) {
    const message = "text" in reply ? { role: "assistant", content: reply.text } : {
      role: "assistant",
      content: null,
      tool_calls: reply.calls.map((c) => ({
        id: c.id,
        type: "function",
        function: { name: c.name, arguments: c.args },
      })),
    };
    return jsonResponse({
      id: "chatcmpl-r",
      object: "chat.completion",
      created: 1,
      model: "b",
      choices: [{ index: 0, message, finish_reason: finish }],
      usage: CHAT_USAGE,
    });
  }
  const deltas: Json[] = [{ role: "assistant", content: "" }];
  if ("text" in reply) {
    for (let i = 0; i < reply.text.length; i += 4) deltas.push({ content: reply.text.slice(i, i + 4) });
  } else {
    reply.calls.forEach((c, index) => {
      deltas.push({ tool_calls: [{ index, id: c.id, type: "function", function: { name: c.name, arguments: "" } }] });
      for (let i = 0; i < c.args.length; i += 5) {
        deltas.push({ tool_calls: [{ index, function: { arguments: c.args.slice(i, i + 5) } }] });
      }
    });
  }
  return chatSse(deltas, finish);
}

/** A backend with only chat completions; anything else, `/v1/responses` included, is a 404. */
function chatOnlyBackend(script: (seen: Seen) => Reply) {
  return fakeBackend((seen) => {
    if (seen.path !== "/v1/chat/completions") {
      return jsonResponse({ error: { message: `Not Found: ${seen.method} ${seen.path}`, type: "not_found" } }, 404);
    }
    const reply = script(seen);
    return reply instanceof Response ? reply : chatAnswer(seen, reply);
  });
}

/** The chat requests a backend got. */
const chats = (b: { seen: Seen[] }) => b.seen.filter((s) => s.path === "/v1/chat/completions");

// ------------------------------------------------------------------ native backend

const USAGE = {
  input_tokens: 14,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 6,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 20,
};

/** A Response object as OpenAI sends it. */
function responseObject(id: string, status: string, output: Json[]): Json {
  return {
    id,
    object: "response",
    created_at: 1_700_000_000,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    model: "native-backend-model",
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: true,
    temperature: 1,
    text: { format: { type: "text" } },
    tool_choice: "auto",
    tools: [],
    top_p: 1,
    truncation: "disabled",
    usage: status === "completed" ? USAGE : null,
    user: null,
    metadata: {},
  };
}

/** An assistant message item. */
const messageItem = (id: string, text: string, status = "completed"): Json => ({
  id,
  type: "message",
  role: "assistant",
  status,
  content: text === "" && status !== "completed" ? [] : [{ type: "output_text", text, annotations: [] }],
});

/** The Responses events of one text answer, in OpenAI's order. */
function nativeTextEvents(id: string, text: string): Json[] {
  const at = { output_index: 0, item_id: "msg_n1", content_index: 0 };
  const part = (t: string) => ({ type: "output_text", text: t, annotations: [] });
  const events: Json[] = [
    { type: "response.created", response: responseObject(id, "in_progress", []) },
    { type: "response.in_progress", response: responseObject(id, "in_progress", []) },
    { type: "response.output_item.added", output_index: 0, item: messageItem("msg_n1", "", "in_progress") },
    { type: "response.content_part.added", ...at, part: part("") },
  ];
  for (let i = 0; i < text.length; i += 6) {
    events.push({ type: "response.output_text.delta", ...at, delta: text.slice(i, i + 6), logprobs: [] });
  }
  events.push(
    { type: "response.output_text.done", ...at, text, logprobs: [] },
    { type: "response.content_part.done", ...at, part: part(text) },
    { type: "response.output_item.done", output_index: 0, item: messageItem("msg_n1", text) },
    { type: "response.completed", response: responseObject(id, "completed", [messageItem("msg_n1", text)]) },
  );
  return events.map((e, i) => ({ ...e, sequence_number: i }));
}

/** An SSE answer of Responses events, each with its `event:` line, no `[DONE]`. */
function responsesSse(events: Json[]): Response {
  const body = events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join("");
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

/**
 * A backend with the Responses API: the probe's model-less `{}` gets OpenAI's 400, anything but `/v1/responses` a
 * 404, and a real request whatever `script` answers.
 */
function nativeBackend(script: (seen: Seen) => Response) {
  return fakeBackend((seen) => {
    if (seen.path !== "/v1/responses") return jsonResponse({ error: { message: "Not Found" } }, 404);
    if (seen.json?.model === undefined) {
      return jsonResponse({
        error: {
          message: "Missing required parameter: 'model'.",
          type: "invalid_request_error",
          param: "model",
          code: "missing_required_parameter",
        },
      }, 400);
    }
    return script(seen);
  });
}

/** The Responses requests (not probes) a native backend got. */
const calls = (b: { seen: Seen[] }) => b.seen.filter((s) => s.path === "/v1/responses" && s.json?.model !== undefined);

const WEATHER_TOOL = {
  type: "function" as const,
  name: "get_weather",
  description: "The weather in a city",
  parameters: {
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
    additionalProperties: false,
  },
  strict: true,
};

// ------------------------------------------------------------------ create, auto

Deno.test("responses.create, chat-only backend, FAST_RESPONSES_API=auto: the probe's 404 makes it translate, once", async () => {
  await using backend = chatOnlyBackend(() => ({ text: "hello from the chat backend" }));
  await using proxy = await startProxy(fastOnly(backend.baseUrl, "auto"));
  const client = sdk(proxy.url);
  const res = await client.responses.create({
    model: "gpt-4.1",
    instructions: "Be brief.",
    input: "hello",
    max_output_tokens: 50,
    temperature: 0.3,
  });
  assert.equal(res.output_text, "hello from the chat backend");
  assert.equal(res.object, "response");
  assert.equal(res.status, "completed");
  assert.equal(res.model, "gpt-4.1", "the model as the client asked");
  assert.equal(res.usage?.input_tokens, 21);
  assert.equal(res.usage?.output_tokens, 9);
  const again = await client.responses.create({ model: "gpt-4.1", input: "and again" });
  assert.equal(again.output_text, "hello from the chat backend");

  assert.deepEqual(backend.seen.map((s) => `${s.method} ${s.path}`), [
    "POST /v1/responses",
    "POST /v1/chat/completions",
    "POST /v1/chat/completions",
  ], "one probe, kept for the second request");
  const [probe, chat] = backend.seen;
  assert.equal(probe.body, "{}", "the probe names no model, so its 404 cannot mean 'no such model'");
  assert.equal(probe.headers.get("authorization"), `Bearer ${FAST_KEY}`);
  assert.equal(chat.json?.model, FAST_MODEL, "the route's model is forced");
  assert.equal(chat.headers.get("authorization"), `Bearer ${FAST_KEY}`);
  assert.deepEqual(chat.json?.messages, [{ role: "system", content: "Be brief." }, { role: "user", content: "hello" }]);
  assert.equal(chat.json?.max_tokens, 50);
  assert.equal(chat.json?.temperature, 0.3);
  assert.ok(!("stream" in chat.json!));
  assertNoSdkKey(backend.seen);
  const lines = await logLines(proxy);
  assert.equal(lines.length, 2, "the probe is no request of the client's");
  assert.match(lines[0], /POST \/v1\/responses model=gpt-4\.1 -> fast:vendor\/fast-model 200 .*fallback=no/);
});

Deno.test("responses.create, native backend, FAST_RESPONSES_API=auto: the probe's 400 makes it native; body as sent", async () => {
  const answer = responseObject("resp_native_abc", "completed", [messageItem("msg_n1", "hello from the native one")]);
  await using backend = nativeBackend(() => jsonResponse(answer));
  await using proxy = await startProxy(fastOnly(backend.baseUrl, "auto"));
  const params = {
    model: "gpt-4.1",
    input: [{ role: "user" as const, content: "hello" }],
    store: false,
    metadata: { ticket: "T-1" },
    include: ["message.output_text.logprobs" as const],
    truncation: "auto" as const,
  };
  const res = await sdk(proxy.url).responses.create(params);
  assert.equal(res.output_text, "hello from the native one");
  assert.equal(res.id, "resp_native_abc", "the backend's own response");
  assert.equal(res.model, "native-backend-model");

  assert.equal(backend.seen.length, 2);
  assert.deepEqual([backend.seen[0].path, backend.seen[0].body], ["/v1/responses", "{}"]);
  const sent = backend.seen[1];
  assert.equal(sent.path, "/v1/responses");
  assert.deepEqual(sent.json, { ...params, model: FAST_MODEL }, "everything but the model as the SDK sent it");
  assert.equal(sent.headers.get("authorization"), `Bearer ${FAST_KEY}`);
  assertNoSdkKey(backend.seen);
  const again = await sdk(proxy.url).responses.create(params);
  assert.equal(again.output_text, "hello from the native one");
  assert.equal(backend.seen.length, 3, "no second probe");
});

Deno.test("auto: concurrent first requests share one probe, and the 404 to it fails none of them", async () => {
  await using backend = chatOnlyBackend((seen) => ({
    text: `echo: ${(seen.json!.messages as Json[]).at(-1)!.content}`,
  }));
  await using proxy = await startProxy(fastOnly(backend.baseUrl, "auto"));
  const client = sdk(proxy.url);
  const answers = await Promise.all(
    ["one", "two", "three"].map((input) => client.responses.create({ model: "gpt-4.1", input })),
  );
  assert.deepEqual(answers.map((r) => r.output_text), ["echo: one", "echo: two", "echo: three"]);
  assert.equal(backend.seen.filter((s) => s.path === "/v1/responses").length, 1, "one probe for all three");
  assert.equal(chats(backend).length, 3);
});

Deno.test("responses.create: model 'smart' goes to the smart route, anything else to fast (explicit ways, no probe)", async () => {
  await using fast = chatOnlyBackend(() => ({ text: "fast answers" }));
  await using smart = nativeBackend(() =>
    jsonResponse(responseObject("resp_s", "completed", [messageItem("msg_s", "smart answers")]))
  );
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, "translate", smart.baseUrl, "native"));
  const client = sdk(proxy.url);
  assert.equal((await client.responses.create({ model: "smart", input: "think" })).output_text, "smart answers");
  assert.equal((await client.responses.create({ model: "gpt-5", input: "quick" })).output_text, "fast answers");
  assert.deepEqual(smart.seen.map((s) => [s.path, s.json?.model, s.headers.get("authorization")]), [
    ["/v1/responses", SMART_MODEL, `Bearer ${SMART_KEY}`],
  ]);
  assert.deepEqual(fast.seen.map((s) => [s.path, s.json?.model, s.headers.get("authorization")]), [
    ["/v1/chat/completions", FAST_MODEL, `Bearer ${FAST_KEY}`],
  ]);
  const lines = await logLines(proxy);
  assert.match(lines[0], /model=smart -> smart:vendor\/smart-model 200/);
  assert.match(lines[1], /model=gpt-5 -> fast:vendor\/fast-model 200/);
});

// ------------------------------------------------------------------ streams

Deno.test("responses.stream().finalResponse(), chat-only backend (translate): events accumulate, the text is whole", async () => {
  const text = "Streaming through modelpin, piece by piece.";
  await using backend = chatOnlyBackend(() => ({ text }));
  await using proxy = await startProxy(fastOnly(backend.baseUrl, "translate"));
  const stream = sdk(proxy.url).responses.stream({ model: "gpt-4.1", input: "stream please" });
  const events: OpenAI.Responses.ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  const final = await stream.finalResponse();
  assert.equal(final.output_text, text);
  assert.equal(final.status, "completed");
  assert.equal(final.usage?.output_tokens, 9);

  const types = events.map((e) => e.type);
  assert.deepEqual(types.slice(0, 2), ["response.created", "response.in_progress"]);
  assert.equal(types.at(-1), "response.completed");
  assert.equal(types.filter((t) => t === "response.completed").length, 1);
  assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i), "0, 1, 2, ...");
  const deltas = events.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta);
  assert.ok(deltas.length > 1, "the text came in pieces, as the backend sent it");
  assert.equal(deltas.join(""), text);
  for (
    const t of ["response.output_item.added", "response.content_part.added", "response.output_text.done"] as const
  ) assert.ok(types.includes(t), `${t} in ${types}`);

  const [chat] = chats(backend);
  assert.equal(backend.seen.length, 1, "translate: no probe");
  assert.equal(chat.json?.stream, true);
  assert.equal(chat.json?.model, FAST_MODEL);
});

Deno.test("responses.stream().finalResponse(), native backend (native): the backend's events arrive as it sent them", async () => {
  const text = "Native events, untouched.";
  const sent = nativeTextEvents("resp_native_stream", text);
  await using backend = nativeBackend(() => responsesSse(sent));
  await using proxy = await startProxy(fastOnly(backend.baseUrl, "native"));
  const stream = sdk(proxy.url).responses.stream({ model: "gpt-4.1", input: "stream natively" });
  const events: OpenAI.Responses.ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  const final = await stream.finalResponse();
  assert.equal(final.output_text, text);
  assert.equal(final.id, "resp_native_stream");
  assert.deepEqual(events.map((e) => [e.type, e.sequence_number]), sent.map((e) => [e.type, e.sequence_number]));
  assert.deepEqual(
    events.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta),
    sent.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta),
  );
  assert.equal(backend.seen.length, 1, "native: no probe");
  assert.equal(backend.seen[0].json?.stream, true);
  assert.equal(backend.seen[0].json?.model, FAST_MODEL);
});

Deno.test("reasoning_content then text (translate): a reasoning item, then the message, streamed and not", async () => {
  await using backend = chatOnlyBackend((seen) =>
    seen.json?.stream === true
      ? chatSse([
        { role: "assistant", reasoning_content: "Six times " },
        { reasoning_content: "seven." },
        { content: "It is " },
        { content: "42." },
      ], "stop")
      : jsonResponse({
        id: "chatcmpl-r",
        object: "chat.completion",
        created: 1,
        model: "b",
        choices: [{
          index: 0,
          message: { role: "assistant", content: "It is 42.", reasoning_content: "Six times seven." },
          finish_reason: "stop",
        }],
        usage: CHAT_USAGE,
      })
  );
  await using proxy = await startProxy(fastOnly(backend.baseUrl, "translate"));
  const client = sdk(proxy.url);
  const streamed = await client.responses.stream({ model: "gpt-4.1", input: "6*7?" }).finalResponse();
  const plain = await client.responses.create({ model: "gpt-4.1", input: "6*7?" });
  for (const res of [streamed, plain]) {
    assert.equal(res.output_text, "It is 42.");
    assert.deepEqual(res.output.map((i) => i.type), ["reasoning", "message"]);
    const reasoning = res.output[0] as OpenAI.Responses.ResponseReasoningItem;
    assert.deepEqual(reasoning.content?.map((c) => c.text), ["Six times seven."]);
  }
});

Deno.test("text and two parallel tool calls in one streamed answer (translate): three items, the SDK takes them", async () => {
  await using backend = chatOnlyBackend(() =>
    chatSse([
      { role: "assistant", content: "Checking both." },
      { tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "get_weather", arguments: "" } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] },
      { tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "get_weather", arguments: "" } }] },
      { tool_calls: [{ index: 1, function: { arguments: '{"city":"Rome"}' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '"Bern"}' } }] },
    ], "tool_calls")
  );
  await using proxy = await startProxy(fastOnly(backend.baseUrl, "translate"));
  const stream = sdk(proxy.url).responses.stream({ model: "gpt-4.1", input: "Bern and Rome?", tools: [WEATHER_TOOL] });
  const types: string[] = [];
  for await (const e of stream) types.push(e.type);
  const res = await stream.finalResponse();
  assert.equal(res.output_text, "Checking both.");
  const fcs = res.output.filter((i) => i.type === "function_call");
  assert.deepEqual(fcs.map((c) => [c.call_id, c.name, c.parsed_arguments]), [
    ["call_a", "get_weather", { city: "Bern" }],
    ["call_b", "get_weather", { city: "Rome" }],
  ]);
  assert.equal(types.filter((t) => t === "response.output_item.done").length, 3, types.join(" "));
  assert.equal(types.at(-1), "response.completed");
});

Deno.test("a length stop (translate) is status incomplete with reason max_output_tokens, streamed and not", async () => {
  await using backend = chatOnlyBackend((seen) =>
    seen.json?.stream === true ? chatSse([{ role: "assistant", content: "Once upon a" }], "length") : jsonResponse({
      id: "chatcmpl-r",
      object: "chat.completion",
      created: 1,
      model: "b",
      choices: [{ index: 0, message: { role: "assistant", content: "Once upon a" }, finish_reason: "length" }],
      usage: CHAT_USAGE,
    })
  );
  await using proxy = await startProxy(fastOnly(backend.baseUrl, "translate"));
  const client = sdk(proxy.url);
  const stream = client.responses.stream({ model: "gpt-4.1", input: "a story", max_output_tokens: 3 });
  const types: string[] = [];
  for await (const e of stream) types.push(e.type);
  const streamed = await stream.finalResponse();
  const plain = await client.responses.create({ model: "gpt-4.1", input: "a story", max_output_tokens: 3 });
  for (const res of [streamed, plain]) {
    assert.equal(res.status, "incomplete");
    assert.deepEqual(res.incomplete_details, { reason: "max_output_tokens" });
    assert.equal(res.output_text, "Once upon a");
  }
  assert.equal(types.at(-1), "response.incomplete");
  assert.ok(!types.includes("response.completed"));
});

/** The SDK's error for modelpin's `error` event that ends a stream the backend broke. */
function isBrokenStream(err: unknown): true {
  assert.ok(err instanceof OpenAI.APIError, `got ${err}`);
  assert.equal(err.code, "upstream_stream_broken");
  assert.match(err.message, /broke off the stream/);
  return true;
}

Deno.test("a stream the chat backend breaks (translate): the SDK gets an APIError, never a completed response", async () => {
  const upstream = sseResponse();
  await using backend = chatOnlyBackend(() => upstream.response);
  await using proxy = await startProxy(fastOnly(backend.baseUrl, "translate"));
  const stream = sdk(proxy.url).responses.stream({ model: "gpt-4.1", input: "go" });
  upstream.send(
    `data: ${
      JSON.stringify({
        id: "c",
        object: "chat.completion.chunk",
        created: 1,
        model: "b",
        choices: [{ index: 0, delta: { role: "assistant", content: "Half an ans" }, finish_reason: null }],
      })
    }\n\n`,
  );
  const types: string[] = [];
  await assert.rejects(async () => {
    for await (const e of stream) {
      types.push(e.type);
      if (e.type === "response.output_text.delta") upstream.fail(); // the text got through: now the backend dies
    }
  }, isBrokenStream);
  assert.ok(types.includes("response.output_text.delta"), `the text before the break arrived: ${types}`);
  assert.ok(!types.includes("response.completed"), types.join(" "));
});

Deno.test("a stream the native backend breaks (native): the SDK gets an APIError, never a completed response", async () => {
  const events = nativeTextEvents("resp_broken", "This answer never ends");
  const upstream = sseResponse();
  await using backend = nativeBackend(() => upstream.response);
  await using proxy = await startProxy(fastOnly(backend.baseUrl, "native"));
  const stream = sdk(proxy.url).responses.stream({ model: "gpt-4.1", input: "go" });
  for (const e of events.slice(0, 5)) upstream.send(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  const types: string[] = [];
  await assert.rejects(async () => {
    for await (const e of stream) {
      types.push(e.type);
      if (e.type === "response.output_text.delta") upstream.fail();
    }
  }, isBrokenStream);
  assert.deepEqual(types, events.slice(0, 5).map((e) => e.type), "what the backend sent, then the error");
});

// ------------------------------------------------------------------ tool calls

Deno.test("function call round trip, chat-only backend (translate): the output returns as role:tool with the call id", async () => {
  await using backend = chatOnlyBackend((seen) => {
    const messages = seen.json!.messages as Json[];
    const result = messages.find((m) => m.role === "tool");
    if (result) return { text: `It is ${result.content} in Paris.` };
    return { calls: [{ id: "call_weather_1", name: "get_weather", args: '{"city":"Paris"}' }] };
  });
  await using proxy = await startProxy(fastOnly(backend.baseUrl, "translate"));
  const client = sdk(proxy.url);
  const input: OpenAI.Responses.ResponseInputItem[] = [{ role: "user", content: "Weather in Paris?" }];
  const first = await client.responses.create({ model: "gpt-4.1", input, tools: [WEATHER_TOOL], tool_choice: "auto" });
  const call = first.output.find((i) => i.type === "function_call");
  assert.ok(call, JSON.stringify(first.output));
  assert.equal(call.call_id, "call_weather_1");
  assert.equal(call.name, "get_weather");
  assert.deepEqual(JSON.parse(call.arguments), { city: "Paris" });
  assert.equal(first.output_text, "");

  input.push(...first.output as OpenAI.Responses.ResponseInputItem[]);
  input.push({ type: "function_call_output", call_id: call.call_id, output: "18°C and sunny" });
  const second = await client.responses.create({ model: "gpt-4.1", input, tools: [WEATHER_TOOL] });
  assert.equal(second.output_text, "It is 18°C and sunny in Paris.");

  const [one, two] = chats(backend);
  assert.deepEqual(one.json?.tools, [{
    type: "function",
    function: {
      name: "get_weather",
      description: "The weather in a city",
      parameters: WEATHER_TOOL.parameters,
      strict: true,
    },
  }], "flat Responses tools become nested chat tools");
  assert.equal(one.json?.tool_choice, "auto");
  const messages = two.json?.messages as Json[];
  const [assistant, tool] = messages.slice(-2);
  assert.equal(assistant.role, "assistant");
  assert.deepEqual(assistant.tool_calls, [{
    id: "call_weather_1",
    type: "function",
    function: { name: "get_weather", arguments: '{"city":"Paris"}' },
  }]);
  assert.deepEqual(tool, { role: "tool", tool_call_id: "call_weather_1", content: "18°C and sunny" });
});

Deno.test("function call round trip streamed, chat-only backend (translate): arguments stream, the SDK parses them", async () => {
  await using backend = chatOnlyBackend((seen) => {
    const messages = seen.json!.messages as Json[];
    const result = messages.find((m) => m.role === "tool");
    if (result) return { text: `Done: ${result.content}` };
    return { calls: [{ id: "call_stream_1", name: "get_weather", args: '{"city":"Reykjavik"}' }] };
  });
  await using proxy = await startProxy(fastOnly(backend.baseUrl, "translate"));
  const client = sdk(proxy.url);
  const input: OpenAI.Responses.ResponseInputItem[] = [{ role: "user", content: "Weather in Reykjavik?" }];
  const stream = client.responses.stream({ model: "gpt-4.1", input, tools: [WEATHER_TOOL] });
  const argDeltas: string[] = [];
  for await (const e of stream) if (e.type === "response.function_call_arguments.delta") argDeltas.push(e.delta);
  const first = await stream.finalResponse();
  const call = first.output.find((i) => i.type === "function_call");
  assert.ok(call, JSON.stringify(first.output));
  assert.equal(call.call_id, "call_stream_1");
  assert.equal(call.arguments, '{"city":"Reykjavik"}');
  assert.deepEqual(call.parsed_arguments, { city: "Reykjavik" }, "strict: the SDK parsed the arguments");
  assert.equal(argDeltas.join(""), '{"city":"Reykjavik"}');

  input.push(...first.output as OpenAI.Responses.ResponseInputItem[]);
  input.push({ type: "function_call_output", call_id: call.call_id, output: "-2°C, snow" });
  const second = await client.responses.stream({ model: "gpt-4.1", input, tools: [WEATHER_TOOL] }).finalResponse();
  assert.equal(second.output_text, "Done: -2°C, snow");
  const messages = chats(backend)[1].json?.messages as Json[];
  assert.deepEqual(messages.at(-1), { role: "tool", tool_call_id: "call_stream_1", content: "-2°C, snow" });
  assert.equal((messages.at(-2)!.tool_calls as Json[])[0].id, "call_stream_1");
});

Deno.test("function call round trip, native backend (native): the items go to the backend as the SDK sent them", async () => {
  const fc = {
    id: "fc_n1",
    type: "function_call",
    status: "completed",
    call_id: "call_native_1",
    name: "get_weather",
    arguments: '{"city":"Lima"}',
  };
  await using backend = nativeBackend((seen) => {
    const items = seen.json!.input as Json[];
    const out = items.find((i) => i.type === "function_call_output");
    return jsonResponse(
      responseObject("resp_n", "completed", out ? [messageItem("msg_n", `Lima: ${out.output}`)] : [fc]),
    );
  });
  await using proxy = await startProxy(fastOnly(backend.baseUrl, "native"));
  const client = sdk(proxy.url);
  const input: OpenAI.Responses.ResponseInputItem[] = [{ role: "user", content: "Weather in Lima?" }];
  const first = await client.responses.create({ model: "gpt-4.1", input, tools: [WEATHER_TOOL] });
  const call = first.output.find((i) => i.type === "function_call");
  assert.equal(call?.call_id, "call_native_1");
  input.push(...first.output as OpenAI.Responses.ResponseInputItem[]);
  input.push({ type: "function_call_output", call_id: "call_native_1", output: "22°C" });
  const second = await client.responses.create({ model: "gpt-4.1", input, tools: [WEATHER_TOOL] });
  assert.equal(second.output_text, "Lima: 22°C");
  const got = calls(backend)[1].json!;
  assert.deepEqual(got.input, JSON.parse(JSON.stringify(input)));
  assert.deepEqual(got.tools, [WEATHER_TOOL]);
});

// ------------------------------------------------------------------ structured output

const CITY_FORMAT = {
  type: "json_schema" as const,
  name: "city_weather",
  strict: true,
  schema: {
    type: "object",
    properties: { city: { type: "string" }, celsius: { type: "number" } },
    required: ["city", "celsius"],
    additionalProperties: false,
  },
};

Deno.test("responses.parse with text.format json_schema, chat-only backend (translate): response_format, output_parsed", async () => {
  await using backend = chatOnlyBackend(() => ({ text: '{"city":"Oslo","celsius":4.5}' }));
  await using proxy = await startProxy(fastOnly(backend.baseUrl, "translate"));
  const res = await sdk(proxy.url).responses.parse({
    model: "gpt-4.1",
    input: "Weather in Oslo as JSON",
    text: { format: CITY_FORMAT },
  });
  assert.deepEqual(res.output_parsed, { city: "Oslo", celsius: 4.5 });
  assert.deepEqual(chats(backend)[0].json?.response_format, {
    type: "json_schema",
    json_schema: { name: "city_weather", schema: CITY_FORMAT.schema, strict: true },
  });
});

Deno.test("responses.parse with text.format json_schema, native backend (native): text.format goes as it is", async () => {
  const json = '{"city":"Quito","celsius":17}';
  await using backend = nativeBackend(() =>
    jsonResponse(responseObject("resp_p", "completed", [messageItem("msg_p", json)]))
  );
  await using proxy = await startProxy(fastOnly(backend.baseUrl, "native"));
  const res = await sdk(proxy.url).responses.parse({
    model: "gpt-4.1",
    input: "Quito?",
    text: { format: CITY_FORMAT },
  });
  assert.deepEqual(res.output_parsed, { city: "Quito", celsius: 17 });
  assert.deepEqual(calls(backend)[0].json?.text, { format: CITY_FORMAT });
});

// ------------------------------------------------------------------ errors and fallback

const BAD_REQUEST = {
  error: {
    message: "max_output_tokens is too large for this model",
    type: "invalid_request_error",
    param: "max_output_tokens",
    code: "context_length_exceeded",
  },
};

/** Asserts `err` is the SDK's APIError for BAD_REQUEST. */
function isBadRequest(err: unknown): true {
  assert.ok(err instanceof OpenAI.BadRequestError, `got ${err}`);
  assert.equal(err.status, 400);
  assert.equal(err.code, "context_length_exceeded");
  assert.equal(err.param, "max_output_tokens");
  assert.match(err.message, /max_output_tokens is too large/);
  return true;
}

Deno.test("a backend's 400 keeps its status as the SDK's APIError: chat-only (translate), create and stream", async () => {
  await using backend = chatOnlyBackend(() => jsonResponse(BAD_REQUEST, 400));
  await using proxy = await startProxy(fastOnly(backend.baseUrl, "translate"));
  const client = sdk(proxy.url);
  await assert.rejects(client.responses.create({ model: "gpt-4.1", input: "x", max_output_tokens: 1e6 }), isBadRequest);
  await assert.rejects(
    client.responses.stream({ model: "gpt-4.1", input: "x", max_output_tokens: 1e6 }).finalResponse(),
    isBadRequest,
  );
  assert.equal(chats(backend).length, 2, "a client error is neither retried nor fallen back");
});

Deno.test("a backend's 400 keeps its status as the SDK's APIError: native (native), create and stream", async () => {
  await using backend = nativeBackend(() => jsonResponse(BAD_REQUEST, 400));
  await using proxy = await startProxy(fastOnly(backend.baseUrl, "native"));
  const client = sdk(proxy.url);
  await assert.rejects(client.responses.create({ model: "gpt-4.1", input: "x", max_output_tokens: 1e6 }), isBadRequest);
  await assert.rejects(
    client.responses.stream({ model: "gpt-4.1", input: "x", max_output_tokens: 1e6 }).finalResponse(),
    isBadRequest,
  );
  assert.equal(calls(backend).length, 2);
});

Deno.test("a 503 on the primary falls back to the other route: fast chat-only (translate) -> smart native", async () => {
  await using fast = chatOnlyBackend(() =>
    jsonResponse({ error: { message: "overloaded", type: "server_error" } }, 503)
  );
  await using smart = nativeBackend((seen) =>
    seen.json?.stream === true
      ? responsesSse(nativeTextEvents("resp_fb_s", "the smart route streamed it"))
      : jsonResponse(responseObject("resp_fb", "completed", [messageItem("msg_fb", "the smart route took it")]))
  );
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, "translate", smart.baseUrl, "native"));
  const client = sdk(proxy.url);
  const res = await client.responses.create({ model: "gpt-4.1", input: "hello" });
  assert.equal(res.output_text, "the smart route took it");
  const streamed = await client.responses.stream({ model: "gpt-4.1", input: "hello" }).finalResponse();
  assert.equal(streamed.output_text, "the smart route streamed it");
  assert.deepEqual(fast.seen.map((s) => [s.path, s.json?.model]), [
    ["/v1/chat/completions", FAST_MODEL],
    ["/v1/chat/completions", FAST_MODEL],
  ]);
  assert.deepEqual(smart.seen.map((s) => [s.path, s.json?.model, s.headers.get("authorization")]), [
    ["/v1/responses", SMART_MODEL, `Bearer ${SMART_KEY}`],
    ["/v1/responses", SMART_MODEL, `Bearer ${SMART_KEY}`],
  ], "the fallback route is reached its own way, with its own model and key");
  assert.equal(smart.seen[1].json?.stream, true);
  const lines = await logLines(proxy);
  assert.match(lines[0], /-> smart:vendor\/smart-model 200 .*fallback=\S*503/);
});

Deno.test("a 503 on the primary falls back to the other route: smart native (native) -> fast chat-only, streamed", async () => {
  await using smart = nativeBackend(() =>
    jsonResponse({ error: { message: "overloaded", type: "server_error" } }, 503)
  );
  await using fast = chatOnlyBackend(() => ({ text: "the fast route translated it" }));
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, "translate", smart.baseUrl, "native"));
  const res = await sdk(proxy.url).responses.stream({ model: "smart", input: "think hard" }).finalResponse();
  assert.equal(res.output_text, "the fast route translated it");
  assert.equal(calls(smart).length, 1);
  assert.deepEqual(chats(fast).map((s) => [s.json?.model, s.json?.stream]), [[FAST_MODEL, true]]);
  assert.match((await logLines(proxy))[0], /model=smart -> fast:vendor\/fast-model 200 .*fallback=\S*503/);
});

// ------------------------------------------------------------------ WebSocket upgrade

Deno.test("a WebSocket upgrade of GET /v1/responses gets 426 Upgrade Required, and no backend hears of it", async () => {
  await using backend = nativeBackend(() => jsonResponse({}));
  await using proxy = await startProxy(fastOnly(backend.baseUrl, "native"));
  const res = await fetch(`${proxy.url}/v1/responses`, {
    headers: {
      connection: "Upgrade",
      upgrade: "websocket",
      "sec-websocket-version": "13",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "openai-beta": "responses_websockets=2026-02-06",
      authorization: `Bearer ${SDK_KEY}`,
    },
  });
  assert.equal(res.status, 426);
  const body = await res.json();
  assert.equal(body.error.code, "upgrade_required");
  assert.equal(backend.seen.length, 0);
});

// ------------------------------------------------------------------ doctor

/** A backend the doctor finds good (lists the model) and that has, or has not, `/v1/responses`. */
function doctorBackend(model: string, key: string, native: boolean) {
  return fakeBackend((seen) => {
    if (seen.headers.get("authorization") !== `Bearer ${key}`) return jsonResponse({ error: { message: "key" } }, 401);
    if (seen.path === "/v1/models") return jsonResponse({ object: "list", data: [{ id: model }] });
    if (seen.path === "/v1/responses" && native) return jsonResponse({ error: { message: "Missing model" } }, 400);
    return jsonResponse({ error: { message: "Not Found" } }, 404);
  });
}

async function doctor(env: Record<string, string>): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await runDoctor({ source: env, stdout: (t) => void (out += t), stderr: (t) => void (out += t) });
  return { code, out };
}

Deno.test("doctor: auto finds the chat-only route translated and the native route native, and says why", async () => {
  await using chatOnly = doctorBackend(FAST_MODEL, FAST_KEY, false);
  await using native = doctorBackend(SMART_MODEL, SMART_KEY, true);
  const r = await doctor({
    FAST_BASE_URL: chatOnly.baseUrl,
    FAST_API_KEY: FAST_KEY,
    FAST_MODEL_NAME: FAST_MODEL,
    SMART_BASE_URL: native.baseUrl,
    SMART_API_KEY: SMART_KEY,
    SMART_MODEL_NAME: SMART_MODEL,
  });
  assert.equal(r.code, 0, r.out);
  assert.match(
    r.out,
    /^OK\s+fast\s+\/v1\/responses goes translated to chat completions: the backend has no \/v1\/responses \(FAST_RESPONSES_API=auto; it answered HTTP 404\)$/m,
  );
  assert.match(
    r.out,
    /^OK\s+smart\s+\/v1\/responses goes natively: the backend has \/v1\/responses \(SMART_RESPONSES_API=auto; it answered HTTP 400\)$/m,
  );
  const probes = [...chatOnly.seen, ...native.seen].filter((s) => s.path === "/v1/responses");
  assert.deepEqual(probes.map((s) => s.body), ["{}", "{}"]);
  assert.ok(!r.out.includes(FAST_KEY) && !r.out.includes(SMART_KEY));
});

Deno.test("doctor: an explicit way is reported as set, without asking the backend", async () => {
  await using b = doctorBackend(FAST_MODEL, FAST_KEY, false);
  const r = await doctor({ ...fastOnly(b.baseUrl, "native"), SMART_RESPONSES_API: "translate" });
  assert.equal(r.code, 0, r.out);
  assert.match(
    r.out,
    /^OK\s+fast\s+\/v1\/responses goes natively \(to its \/v1\/responses\): FAST_RESPONSES_API=native$/m,
  );
  assert.match(
    r.out,
    /^OK\s+smart\s+\/v1\/responses goes translated to chat completions: SMART_RESPONSES_API=translate$/m,
  );
  assert.equal(b.seen.filter((s) => s.path === "/v1/responses").length, 0);
});
