/**
 * Real Responses API clients nobody here wrote, in-process against modelpin's
 * `POST /v1/responses`: the Vercel AI SDK (`ai` + `@ai-sdk/openai`, whose
 * `openai(model)` is the Responses API) and the OpenAI Agents SDK
 * (`@openai/agents`, whose default model is the Responses API). Behind the
 * proxy: a chat-only fake backend (404 on `/v1/responses`, so `auto`
 * translates) and a native one (serves `/v1/responses` itself).
 *
 * What the clients needed, and what surprised, found by running them (ai
 * 7.0.173 + @ai-sdk/openai 4.0.118, @openai/agents 0.20.0 + openai 7.60.0;
 * see also /work/notes/research_responses.md 5.1–5.3):
 *
 * - AI SDK: text turns, streams and tool loops need nothing but `baseURL` +
 *   `apiKey`. With `store` left at its default (not sent) it sends the
 *   assistant text of an earlier step as `{"type": "item_reference", "id":
 *   "msg_..."}`, never the text, so a translated route must resolve the id
 *   from the items it made; function calls always travel in full. For a
 *   reasoning model (`gpt-5`) it shows none of the raw reasoning
 *   (`reasoning_text` is not read, only summaries) yet still refers to the
 *   reasoning item by id, and it turns `system` into `developer`. After a
 *   proxy restart the same history is a 400 (an `APICallError`, not
 *   retried); with `providerOptions.openai.store = false` it sends the text
 *   itself, as a plain string `content`.
 * - Importing `ai` under Deno needs `--allow-sys=hostname` (`@vercel/oidc`, which `ai` imports through
 *   `@ai-sdk/gateway`, asks the hostname when it loads): `deno task test:e2e` grants that.
 * - Agents SDK: the default provider builds its OpenAI client once, on the
 *   first run, and the default runner keeps that provider: a later
 *   `setDefaultOpenAIClient` is ignored. So every Agents case shares one
 *   proxy (the `setDefaultOpenAIClient` call happens once), as steps of one
 *   test. Its default model, `gpt-5.6-luna`, comes with `reasoning:
 *   {effort: "none"}` and `text: {verbosity: "low"}` unasked: modelpin
 *   leaves effort "none" out (a chat backend that knows only
 *   low/medium/high would refuse it). It reads the final items from the terminal
 *   event's `response.output`, not from `output_item.done`, and a stream that
 *   ends in `error` + `response.failed` rejects the run with openai's
 *   `APIError`.
 *
 * If a package cannot be installed from npm, its tests are skipped with the
 * reason printed (like claude_code_test.ts).
 */

import assert from "node:assert/strict";
import { chatChunk, type FakeBackend, fakeBackend, jsonResponse, type Seen } from "../support/fake_backend.ts";
import { startProxy } from "../support/proxy.ts";
import { KEYS, MODELS, ONE_ATTEMPT, oneRoute, twoRoutes } from "../support/routes.ts";
import { fixedSse } from "../support/wire.ts";

type Json = Record<string, unknown>;

const CLIENT_KEY = "sk-client-key-for-responses-sdks";

// ---------------------------------------------------------------- the packages

// Imported dynamically (the specifiers are deno.json's), so that a package npm cannot install skips its tests
// instead of failing the file.
type AiModule = typeof import("ai");
type AiOpenAIModule = typeof import("@ai-sdk/openai");
type AgentsModule = typeof import("@openai/agents");
type OpenAIModule = typeof import("openai-v7");

async function load<T>(what: string, importer: () => Promise<T>): Promise<{ mod: T } | { reason: string }> {
  try {
    return { mod: await importer() };
  } catch (err) {
    return { reason: `${what} could not be loaded from npm: ${String(err).slice(0, 300)}` };
  }
}

const aiLoaded = await load("npm:ai@7", () => import("ai"));
const aiOpenAILoaded = await load("npm:@ai-sdk/openai@4", () => import("@ai-sdk/openai"));
const agentsLoaded = await load("npm:@openai/agents@0.20", () => import("@openai/agents"));
// The Agents SDK depends on openai ^7; its default client must be one of those (the project's own is openai@6).
const openaiLoaded = await load("npm:openai@7", () => import("openai-v7"));

const aiSkip = "reason" in aiLoaded ? aiLoaded.reason : "reason" in aiOpenAILoaded ? aiOpenAILoaded.reason : "";
const agentsSkip = "reason" in agentsLoaded ? agentsLoaded.reason : "reason" in openaiLoaded ? openaiLoaded.reason : "";
if (aiSkip) console.log(`responses_sdks_test: AI SDK tests skipped: ${aiSkip}`);
if (agentsSkip) console.log(`responses_sdks_test: Agents SDK tests skipped: ${agentsSkip}`);

function ai(): AiModule {
  if ("reason" in aiLoaded) throw new Error(aiLoaded.reason);
  return aiLoaded.mod;
}
function aiOpenAI(): AiOpenAIModule {
  if ("reason" in aiOpenAILoaded) throw new Error(aiOpenAILoaded.reason);
  return aiOpenAILoaded.mod;
}
function agents(): AgentsModule {
  if ("reason" in agentsLoaded) throw new Error(agentsLoaded.reason);
  return agentsLoaded.mod;
}
function openai(): OpenAIModule {
  if ("reason" in openaiLoaded) throw new Error(openaiLoaded.reason);
  return openaiLoaded.mod;
}

// ---------------------------------------------------------------- proxy and backends

/**
 * The fast route (and the smart one when `smart` is given), each with its way to `/v1/responses`; inbound auth on,
 * for the SDKs' key; a longer first-answer timeout than oneRoute's 5 s; and one attempt per route: these tests
 * count the backend's requests.
 */
function env(fast: string, fastWay = "auto", smart?: string, smartWay = "auto"): Record<string, string> {
  const setup = { FAST_RESPONSES_API: fastWay, PROXY_API_KEYS: CLIENT_KEY, PROXY_TIMEOUT: "10", ...ONE_ATTEMPT };
  return smart === undefined
    ? oneRoute(fast, setup)
    : twoRoutes(fast, smart, { ...setup, SMART_RESPONSES_API: smartWay });
}

/** One scripted assistant turn of the chat backend. */
interface Turn {
  /** Sent as `reasoning_content`, as DeepSeek and vLLM's reasoning parsers do. */
  reasoning?: string;
  content?: string;
  calls?: { id: string; name: string; args: string }[];
  /** Streamed only: after the text, the backend breaks the connection instead of finishing. */
  broken?: boolean;
}

const CHAT_USAGE = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };

/** `turn` as a chat completion, or as a chat stream (text and arguments in two pieces each) when one was asked. */
function chatAnswer(request: Json | undefined, turn: Turn): Response {
  const calls = turn.calls ?? [];
  const finish = calls.length > 0 ? "tool_calls" : "stop";
  const toolCalls = calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.args } }));
  if (request?.stream !== true) {
    const message: Json = { role: "assistant", content: turn.content ?? null };
    if (turn.reasoning) message.reasoning_content = turn.reasoning;
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    return jsonResponse({
      id: "chatcmpl-sdk",
      object: "chat.completion",
      created: 1,
      model: "backend-model",
      choices: [{ index: 0, message, finish_reason: finish }],
      usage: CHAT_USAGE,
    });
  }
  const halves = (s: string) => [s.slice(0, Math.ceil(s.length / 2)), s.slice(Math.ceil(s.length / 2))];
  const events = [chatChunk({ role: "assistant", content: "" })];
  if (turn.reasoning) {
    for (const piece of halves(turn.reasoning)) {
      events.push(chatChunk({ reasoning_content: piece }));
    }
  }
  if (turn.content) { for (const piece of halves(turn.content)) events.push(chatChunk({ content: piece })); }
  if (turn.broken) return brokenSse(events);
  calls.forEach((c, index) => {
    events.push(
      chatChunk({ tool_calls: [{ index, id: c.id, type: "function", function: { name: c.name, arguments: "" } }] }),
    );
    for (const piece of halves(c.args)) {
      events.push(chatChunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
    }
  });
  events.push(chatChunk({}, finish), chatChunk(null, null, { usage: CHAT_USAGE }), "data: [DONE]\n\n");
  return fixedSse(events);
}

/** An SSE answer that sends `events`, then breaks off (the connection errors) instead of ending. */
function brokenSse(events: string[]): Response {
  const encoder = new TextEncoder();
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i < events.length) return controller.enqueue(encoder.encode(events[i++]));
      await new Promise((r) => setTimeout(r, 20)); // the events reach the client first
      controller.error(new Error("fake backend: broken on purpose"));
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

/**
 * A backend with only `/v1/chat/completions` (404 elsewhere, as vLLM or
 * Ollama answer an unknown path). Answers the scripted turns in order, taking
 * each off the list but the last, which answers again when they run out;
 * `turns` may be replaced between runs.
 */
function chatOnlyBackend(script: { turns: Turn[] }): FakeBackend {
  return fakeBackend((seen) => {
    if (seen.method !== "POST" || seen.path !== "/v1/chat/completions") {
      return jsonResponse({ error: { message: `no route for ${seen.path}`, type: "not_found" } }, 404);
    }
    return chatAnswer(seen.json, script.turns.length > 1 ? script.turns.shift()! : script.turns[0]);
  });
}

/** The chat completion requests a backend received, parsed. */
function chatRequests(backend: FakeBackend): Json[] {
  return backend.seen.filter((s) => s.path === "/v1/chat/completions").map((s) => s.json!);
}

/** The `{}` probe modelpin's `auto` sends first. */
function assertProbe(seen: Seen, key: string): void {
  assert.equal(seen.method, "POST");
  assert.equal(seen.path, "/v1/responses");
  assert.equal(seen.body, "{}");
  assert.equal(seen.headers.get("authorization"), `Bearer ${key}`);
}

// A native Responses backend: the answer shapes OpenAI sends (see research 2.1 and 3.2).

const NATIVE_USAGE = {
  input_tokens: 21,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 5,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 26,
};

function nativeMessage(id: string, text: string, status = "completed"): Json {
  return {
    id,
    type: "message",
    role: "assistant",
    status,
    content: text === "" && status !== "completed" ? [] : [{ type: "output_text", text, annotations: [] }],
  };
}

function nativeResponseObject(model: unknown, status: string, output: Json[], usage: Json | null): Json {
  return {
    id: "resp_native_1",
    object: "response",
    created_at: 1_700_000_000,
    status,
    error: null,
    incomplete_details: null,
    model,
    output,
    usage,
    parallel_tool_calls: true,
    tool_choice: "auto",
    tools: [],
  };
}

/** The events of a native text answer, as OpenAI streams them. */
function nativeEvents(model: unknown, text: string): Response {
  const id = "msg_native_1";
  const at = { output_index: 0, item_id: id, content_index: 0 };
  const events: Json[] = [
    { type: "response.created", response: nativeResponseObject(model, "in_progress", [], null) },
    { type: "response.in_progress", response: nativeResponseObject(model, "in_progress", [], null) },
    { type: "response.output_item.added", output_index: 0, item: nativeMessage(id, "", "in_progress") },
    { type: "response.content_part.added", ...at, part: { type: "output_text", text: "", annotations: [] } },
    { type: "response.output_text.delta", ...at, delta: text.slice(0, 4), logprobs: [] },
    { type: "response.output_text.delta", ...at, delta: text.slice(4), logprobs: [] },
    { type: "response.output_text.done", ...at, text, logprobs: [] },
    { type: "response.content_part.done", ...at, part: { type: "output_text", text, annotations: [] } },
    { type: "response.output_item.done", output_index: 0, item: nativeMessage(id, text) },
    {
      type: "response.completed",
      response: nativeResponseObject(model, "completed", [nativeMessage(id, text)], NATIVE_USAGE),
    },
  ];
  return fixedSse(events.map((e, i) => `event: ${e.type}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`));
}

/**
 * A backend with the Responses API: the `{}` probe earns a 400 (no model),
 * as from OpenAI; a real request gets `text` as a Response or its events.
 */
function nativeBackend(script: { text: string }): FakeBackend {
  return fakeBackend((seen) => {
    if (seen.method !== "POST" || seen.path !== "/v1/responses") {
      return jsonResponse({ error: { message: `no route for ${seen.path}` } }, 404);
    }
    const body = seen.json ?? {};
    if (body.model === undefined) {
      return jsonResponse({
        error: { message: "Missing required parameter: 'model'.", type: "invalid_request_error", param: "model" },
      }, 400);
    }
    if (body.stream === true) return nativeEvents(body.model, script.text);
    return jsonResponse(
      nativeResponseObject(body.model, "completed", [nativeMessage("msg_native_1", script.text)], NATIVE_USAGE),
    );
  });
}

/** The real (non-probe) Responses requests a native backend received. */
function nativeRequests(backend: FakeBackend): Seen[] {
  return backend.seen.filter((s) => s.path === "/v1/responses" && s.body !== "{}");
}

// ---------------------------------------------------------------- what the client sent

/** One request as the client sent it (recorded by the `fetch` it was given). */
interface Sent {
  url: string;
  method: string;
  body: Json | undefined;
  /** The proxy's answer body as text (read from a clone, so the client reads its own copy). */
  answer: Promise<string>;
}

/** A `fetch` for a client that records what it sends and what comes back. */
function recordingFetch(sent: Sent[]): typeof fetch {
  return async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    const text = typeof init?.body === "string" ? init.body : undefined;
    const res = await fetch(input, init);
    sent.push({
      url,
      method: init?.method ?? (input instanceof Request ? input.method : "GET"),
      body: text === undefined ? undefined : JSON.parse(text),
      answer: res.clone().text().catch((e) => `<unreadable: ${e}>`),
    });
    return res;
  };
}

/** The input items of a Responses request body. */
function inputOf(body: Json | undefined): Json[] {
  assert.ok(body && Array.isArray(body.input), `no input array in ${JSON.stringify(body)}`);
  return body.input as Json[];
}

// ---------------------------------------------------------------- Vercel AI SDK

function aiProvider(proxyUrl: string, sent: Sent[]) {
  return aiOpenAI().createOpenAI({ baseURL: `${proxyUrl}/v1`, apiKey: CLIENT_KEY, fetch: recordingFetch(sent) });
}

const WEATHER_SCHEMA = {
  type: "object" as const,
  properties: { city: { type: "string" as const } },
  required: ["city" as const],
  additionalProperties: false as const,
};

/** The AI SDK's weather tool, recording the inputs it ran with. */
function aiWeatherTool(ran: unknown[]) {
  const { tool, jsonSchema } = ai();
  return tool({
    description: "The current weather in a city",
    inputSchema: jsonSchema<{ city: string }>(WEATHER_SCHEMA),
    execute: (input: { city: string }) => {
      ran.push(input);
      return Promise.resolve({ city: input.city, temperature: 12, unit: "C" });
    },
  });
}

const SUMMARY_SCHEMA = {
  type: "object" as const,
  properties: { summary: { type: "string" as const } },
  required: ["summary"],
  additionalProperties: false as const,
};

const AI_TOOL_RESULT = JSON.stringify({ city: "Oslo", temperature: 12, unit: "C" });

Deno.test({
  name: `ai SDK: openai(model) generateText reaches /v1/responses and gets a chat-only backend's text${
    aiSkip ? " (SKIPPED)" : ""
  }`,
  ignore: aiSkip !== "",
  async fn() {
    await using backend = chatOnlyBackend({ turns: [{ content: "Hello from a chat-only backend." }] });
    await using proxy = await startProxy(env(backend.baseUrl, "auto"));
    const sent: Sent[] = [];
    const openaiProvider = aiProvider(proxy.url, sent);
    const result = await ai().generateText({
      model: openaiProvider("gpt-4.1"), // the default model factory: the Responses API in @ai-sdk/openai 4
      system: "Be brief.",
      prompt: "hi",
      maxRetries: 0,
    });
    assert.equal(result.text, "Hello from a chat-only backend.");
    assert.equal(result.finishReason, "stop");
    assert.equal(result.usage.inputTokens, 11);
    assert.equal(result.usage.outputTokens, 7);
    assert.equal(result.response.modelId, "gpt-4.1", "the model the client asked for");

    assert.deepEqual(sent.map((s) => `${s.method} ${s.url}`), [`POST ${proxy.url}/v1/responses`]);
    assert.equal(sent[0].body?.stream, undefined);
    assert.equal(sent[0].body?.store, undefined, "store is left at its default (not sent)");

    assert.equal(backend.seen.length, 2, "the auto probe, then one chat completion");
    assertProbe(backend.seen[0], KEYS.fast);
    const [chat] = chatRequests(backend);
    assert.equal(chat.model, MODELS.fast);
    assert.equal(chat.stream, undefined);
    assert.deepEqual(chat.messages, [{ role: "system", content: "Be brief." }, { role: "user", content: "hi" }]);
    assert.equal(backend.seen[1].headers.get("authorization"), `Bearer ${KEYS.fast}`);
    for (const s of backend.seen) for (const [, v] of s.headers) assert.ok(!v.includes(CLIENT_KEY));
  },
});

Deno.test({
  name: `ai SDK: openai.responses(model) streamText streams a chat backend's text (translate)${
    aiSkip ? " (SKIPPED)" : ""
  }`,
  ignore: aiSkip !== "",
  async fn() {
    const text = "Streamed, piece by piece, from chat.";
    await using backend = chatOnlyBackend({ turns: [{ content: text }] });
    await using proxy = await startProxy(env(backend.baseUrl, "translate"));
    const sent: Sent[] = [];
    const errors: unknown[] = [];
    const result = ai().streamText({
      model: aiProvider(proxy.url, sent).responses("gpt-4.1"),
      prompt: "stream please",
      maxRetries: 0,
      onError: ({ error }: { error: unknown }) => void errors.push(error),
    });
    const pieces: string[] = [];
    for await (const piece of result.textStream) pieces.push(piece);
    assert.deepEqual(errors, []);
    assert.equal(pieces.join(""), text);
    assert.ok(pieces.length >= 2, `the text came in pieces: ${JSON.stringify(pieces)}`);
    assert.equal(await result.text, text);
    assert.equal(await result.finishReason, "stop");
    assert.equal((await result.usage).inputTokens, 11);

    assert.deepEqual(sent.map((s) => s.url), [`${proxy.url}/v1/responses`]);
    assert.equal(sent[0].body?.stream, true);
    const answer = await sent[0].answer;
    assert.match(answer, /^event: response\.created\n/);
    assert.match(answer, /event: response\.completed\n[^\n]*\n\n$/);

    assert.equal(backend.seen.length, 1, "translate: no probe");
    const [chat] = chatRequests(backend);
    assert.equal(chat.model, MODELS.fast);
    assert.equal(chat.stream, true);
    assert.deepEqual(chat.stream_options, { include_usage: true });
    assert.deepEqual(chat.messages, [{ role: "user", content: "stream please" }]);
  },
});

Deno.test({
  name: `ai SDK: generateText tool round trip through a chat-only backend${aiSkip ? " (SKIPPED)" : ""}`,
  ignore: aiSkip !== "",
  async fn() {
    await using backend = chatOnlyBackend({
      turns: [
        { calls: [{ id: "call_w1", name: "get_weather", args: '{"city":"Oslo"}' }] },
        { content: "It is 12 degrees in Oslo." },
      ],
    });
    await using proxy = await startProxy(env(backend.baseUrl, "auto"));
    const sent: Sent[] = [];
    const ran: unknown[] = [];
    const result = await ai().generateText({
      model: aiProvider(proxy.url, sent)("gpt-4.1"),
      prompt: "What is the weather in Oslo?",
      tools: { get_weather: aiWeatherTool(ran) },
      stopWhen: ai().stepCountIs(3),
      maxRetries: 0,
    });
    assert.deepEqual(ran, [{ city: "Oslo" }]);
    assert.equal(result.text, "It is 12 degrees in Oslo.");
    assert.equal(result.steps.length, 2);
    assert.equal(result.steps[0].finishReason, "tool-calls");
    assert.deepEqual(
      result.steps[0].toolCalls.map((c: { toolCallId: string; toolName: string; input: unknown }) => [
        c.toolCallId,
        c.toolName,
        c.input,
      ]),
      [
        ["call_w1", "get_weather", { city: "Oslo" }],
      ],
    );

    assert.deepEqual(sent.map((s) => s.url), [`${proxy.url}/v1/responses`, `${proxy.url}/v1/responses`]);
    // Step 2 carries the call in full (function calls are never item_references) and its output.
    const step2 = inputOf(sent[1].body);
    assert.ok(!step2.some((i) => i.type === "item_reference"), JSON.stringify(step2));
    const call = step2.find((i) => i.type === "function_call");
    assert.equal(call?.call_id, "call_w1");
    const output = step2.find((i) => i.type === "function_call_output");
    assert.equal(output?.call_id, "call_w1");

    const chats = chatRequests(backend);
    assert.equal(chats.length, 2);
    assert.deepEqual((chats[0].tools as Json[]).map((t) => (t.function as Json).name), ["get_weather"]);
    assert.deepEqual(((chats[0].tools as Json[])[0].function as Json).parameters, WEATHER_SCHEMA);
    assert.deepEqual(chats[1].messages, [
      { role: "user", content: "What is the weather in Oslo?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{
          id: "call_w1",
          type: "function",
          function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
        }],
      },
      { role: "tool", tool_call_id: "call_w1", content: AI_TOOL_RESULT },
    ]);
  },
});

/** The AI SDK's step-2 `item_reference` and the id of the message item step 1's answer held. */
async function referencedText(sent: Sent[], streamed: boolean): Promise<{ ref: Json; madeId: string }> {
  const step2 = inputOf(sent[1].body);
  const refs = step2.filter((i) => i.type === "item_reference");
  assert.equal(refs.length, 1, `one item_reference in step 2: ${JSON.stringify(step2)}`);
  const answer = await sent[0].answer;
  let made: Json[];
  if (streamed) {
    const done = answer.split("\n").filter((l) => l.startsWith("data: ")).map((l) => JSON.parse(l.slice(6)))
      .find((e) => e.type === "response.completed");
    made = done.response.output;
  } else made = JSON.parse(answer).output;
  const message = made.find((i) => i.type === "message");
  assert.ok(message, `step 1's answer holds a message item: ${answer.slice(0, 500)}`);
  return { ref: refs[0], madeId: String(message.id) };
}

const REF_TURNS: Turn[] = [
  { content: "Let me look that up.", calls: [{ id: "call_r1", name: "get_weather", args: '{"city":"Oslo"}' }] },
  { content: "Sunny and 12 degrees." },
];

/** The assistant message modelpin rebuilt from an item_reference and the function call. */
const REF_ASSISTANT = {
  role: "assistant",
  content: "Let me look that up.",
  tool_calls: [{ id: "call_r1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }],
};

Deno.test({
  name: `ai SDK: generateText text + tool call, step 2's item_reference is resolved (default store)${
    aiSkip ? " (SKIPPED)" : ""
  }`,
  ignore: aiSkip !== "",
  async fn() {
    await using backend = chatOnlyBackend({ turns: [...REF_TURNS] });
    await using proxy = await startProxy(env(backend.baseUrl, "auto"));
    const sent: Sent[] = [];
    const ran: unknown[] = [];
    const result = await ai().generateText({
      model: aiProvider(proxy.url, sent)("gpt-4.1"),
      prompt: "Weather in Oslo?",
      tools: { get_weather: aiWeatherTool(ran) },
      stopWhen: ai().stepCountIs(3),
      maxRetries: 0,
    });
    assert.deepEqual(ran, [{ city: "Oslo" }]);
    assert.equal(result.steps[0].text, "Let me look that up.");
    assert.equal(result.text, "Sunny and 12 degrees.");

    assert.equal(sent.length, 2);
    assert.equal(sent[1].body?.store, undefined, "store left at its default");
    const { ref, madeId } = await referencedText(sent, false);
    assert.deepEqual(ref, { type: "item_reference", id: madeId }, "the SDK referred to modelpin's message item");

    const chats = chatRequests(backend);
    assert.equal(chats.length, 2);
    assert.deepEqual(chats[1].messages, [
      { role: "user", content: "Weather in Oslo?" },
      REF_ASSISTANT,
      { role: "tool", tool_call_id: "call_r1", content: AI_TOOL_RESULT },
    ]);
  },
});

Deno.test({
  name: `ai SDK: streamText multi-step, step 2's item_reference to a streamed message is resolved${
    aiSkip ? " (SKIPPED)" : ""
  }`,
  ignore: aiSkip !== "",
  async fn() {
    await using backend = chatOnlyBackend({ turns: [...REF_TURNS] });
    await using proxy = await startProxy(env(backend.baseUrl, "translate"));
    const sent: Sent[] = [];
    const ran: unknown[] = [];
    const errors: unknown[] = [];
    const result = ai().streamText({
      model: aiProvider(proxy.url, sent)("gpt-4.1"),
      prompt: "Weather in Oslo?",
      tools: { get_weather: aiWeatherTool(ran) },
      stopWhen: ai().stepCountIs(3),
      maxRetries: 0,
      onError: ({ error }: { error: unknown }) => void errors.push(error),
    });
    const parts: string[] = [];
    for await (const part of result.fullStream) {
      if (part.type === "tool-call" || part.type === "tool-result" || part.type === "finish-step") {
        parts.push(part.type);
      }
    }
    assert.deepEqual(errors, []);
    assert.deepEqual(parts, ["tool-call", "tool-result", "finish-step", "finish-step"]);
    assert.deepEqual(ran, [{ city: "Oslo" }]);
    const steps = await result.steps;
    assert.equal(steps[0].text, "Let me look that up.");
    assert.equal(await result.text, "Sunny and 12 degrees.");

    assert.equal(sent.length, 2);
    assert.equal(sent[1].body?.stream, true);
    const { ref, madeId } = await referencedText(sent, true);
    assert.deepEqual(ref, { type: "item_reference", id: madeId });

    const chats = chatRequests(backend);
    assert.equal(chats.length, 2);
    assert.deepEqual(chats[1].messages, [
      { role: "user", content: "Weather in Oslo?" },
      REF_ASSISTANT,
      { role: "tool", tool_call_id: "call_r1", content: AI_TOOL_RESULT },
    ]);
  },
});

Deno.test({
  name: `ai SDK: a native Responses backend gets the client's body but for the model (generateText, streamText)${
    aiSkip ? " (SKIPPED)" : ""
  }`,
  ignore: aiSkip !== "",
  async fn() {
    await using backend = nativeBackend({ text: "Native hello." });
    await using proxy = await startProxy(env(backend.baseUrl, "auto"));
    const sent: Sent[] = [];
    const model = aiProvider(proxy.url, sent)("gpt-4.1");

    const generated = await ai().generateText({ model, system: "Be brief.", prompt: "hi", maxRetries: 0 });
    assert.equal(generated.text, "Native hello.");
    assert.equal(generated.usage.inputTokens, 21);

    const errors: unknown[] = [];
    const streamed = ai().streamText({
      model,
      prompt: "stream",
      maxRetries: 0,
      onError: ({ error }: { error: unknown }) => void errors.push(error),
    });
    const pieces: string[] = [];
    for await (const piece of streamed.textStream) pieces.push(piece);
    assert.deepEqual(errors, []);
    assert.deepEqual(pieces, ["Nati", "ve hello."]);
    assert.equal(await streamed.finishReason, "stop");

    assert.deepEqual(sent.map((s) => s.url), [`${proxy.url}/v1/responses`, `${proxy.url}/v1/responses`]);
    assertProbe(backend.seen[0], KEYS.fast);
    const native = nativeRequests(backend);
    assert.equal(native.length, 2);
    assert.ok(!backend.seen.some((s) => s.path === "/v1/chat/completions"));
    native.forEach((seen, i) => {
      assert.equal(seen.json!.model, MODELS.fast, "the route's model forced");
      assert.deepEqual({ ...seen.json, model: "gpt-4.1" }, sent[i].body, "otherwise the client's body");
      assert.equal(seen.headers.get("authorization"), `Bearer ${KEYS.fast}`);
    });
  },
});

Deno.test({
  name: `ai SDK: a reasoning model (gpt-5): developer role, and reasoning_content comes back via item_reference${
    aiSkip ? " (SKIPPED)" : ""
  }`,
  ignore: aiSkip !== "",
  async fn() {
    for (const streamed of [false, true]) {
      await using backend = chatOnlyBackend({
        turns: [{ reasoning: "The tool knows.", ...REF_TURNS[0] }, REF_TURNS[1]],
      });
      await using proxy = await startProxy(env(backend.baseUrl, "auto"));
      const sent: Sent[] = [];
      const ran: unknown[] = [];
      const options = {
        model: aiProvider(proxy.url, sent)("gpt-5"),
        system: "Be brief.",
        prompt: "Weather in Oslo?",
        tools: { get_weather: aiWeatherTool(ran) },
        stopWhen: ai().stepCountIs(3),
        maxRetries: 0,
      };
      let text = "";
      if (streamed) {
        const errors: unknown[] = [];
        const result = ai().streamText({
          ...options,
          onError: ({ error }: { error: unknown }) => void errors.push(error),
        });
        for await (const piece of result.textStream) text += piece;
        assert.deepEqual(errors, []);
      } else text = (await ai().generateText(options)).text;
      const at = streamed ? "streamText" : "generateText";
      // textStream carries every step's text; generateText's text is the last step's.
      assert.equal(text, streamed ? "Let me look that up.Sunny and 12 degrees." : "Sunny and 12 degrees.", at);
      assert.deepEqual(ran, [{ city: "Oslo" }], at);

      assert.equal(sent.length, 2, at);
      assert.deepEqual(
        inputOf(sent[0].body)[0],
        { role: "developer", content: "Be brief." },
        "gpt-5: system → developer",
      );
      // The SDK shows none of the raw reasoning (it reads summaries only) but still refers to the reasoning item.
      const refs = inputOf(sent[1].body).filter((i) => i.type === "item_reference").map((i) => String(i.id));
      assert.deepEqual(refs.map((id) => id.split("_")[0]), ["rs", "msg"], `${at}: ${JSON.stringify(sent[1].body)}`);

      const chats = chatRequests(backend);
      assert.equal(chats.length, 2, at);
      assert.deepEqual(chats[1].messages, [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Weather in Oslo?" },
        { ...REF_ASSISTANT, reasoning_content: "The tool knows." },
        { role: "tool", tool_call_id: "call_r1", content: AI_TOOL_RESULT },
      ], at);
    }
  },
});

type ModelMessage = import("npm:ai@7").ModelMessage;

Deno.test({
  name: `ai SDK: a follow-up turn's item_reference resolves, is a 400 after a restart, and store:false sends the text${
    aiSkip ? " (SKIPPED)" : ""
  }`,
  ignore: aiSkip !== "",
  async fn() {
    await using backend = chatOnlyBackend({ turns: [{ content: "Paris is sunny." }] });
    const sent: Sent[] = [];
    const ask = (proxyUrl: string, messages: ModelMessage[], store?: boolean) =>
      ai().generateText({
        model: aiProvider(proxyUrl, sent)("gpt-4.1"),
        messages,
        maxRetries: 0,
        ...(store === undefined ? {} : { providerOptions: { openai: { store } } }),
      });
    let followUp: ModelMessage[];
    {
      await using first = await startProxy(env(backend.baseUrl, "translate"));
      const turn1 = await ask(first.url, [{ role: "user", content: "Weather in Paris?" }]);
      followUp = [
        { role: "user", content: "Weather in Paris?" },
        ...turn1.response.messages,
        { role: "user", content: "And tomorrow?" },
      ];
      assert.equal((await ask(first.url, followUp)).text, "Paris is sunny.");
      const refs = inputOf(sent[1].body).filter((i) => i.type === "item_reference");
      assert.equal(refs.length, 1, "the earlier answer went as a reference");
      assert.deepEqual(chatRequests(backend)[1].messages, [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: "Paris is sunny." },
        { role: "user", content: "And tomorrow?" },
      ]);
    }

    // A new process keeps no items: the same history is a 400 naming the reference, which the SDK does not retry.
    await using second = await startProxy(env(backend.baseUrl, "translate"));
    const calls = chatRequests(backend).length;
    const err: unknown = await ask(second.url, followUp).then(() => undefined, (e: unknown) => e);
    assert.ok(ai().APICallError.isInstance(err), `got ${err}`);
    const apiErr = err as { statusCode?: number; isRetryable?: boolean; message: string };
    assert.equal(apiErr.statusCode, 400);
    assert.equal(apiErr.isRetryable, false);
    assert.match(apiErr.message, /^input\.1: item_reference "msg_\w+" is not an item modelpin still keeps/);
    assert.match(apiErr.message, /set store: false in the client/);
    assert.equal(chatRequests(backend).length, calls, "refused before the backend");

    // The documented way out: store: false makes the SDK send the text itself.
    const turn3 = await ask(second.url, followUp, false);
    assert.equal(turn3.text, "Paris is sunny.");
    const last = sent[sent.length - 1].body!;
    assert.equal(last.store, false);
    assert.deepEqual(inputOf(last)[1], { role: "assistant", content: "Paris is sunny." });
    assert.deepEqual(chatRequests(backend).at(-1)!.messages, [
      { role: "user", content: "Weather in Paris?" },
      { role: "assistant", content: "Paris is sunny." },
      { role: "user", content: "And tomorrow?" },
    ]);
  },
});

Deno.test({
  name: `ai SDK: a stream the backend breaks ends in an error part and finish 'error', never 'stop'${
    aiSkip ? " (SKIPPED)" : ""
  }`,
  ignore: aiSkip !== "",
  async fn() {
    await using backend = chatOnlyBackend({ turns: [{ content: "Once upon a time", broken: true }] });
    await using proxy = await startProxy(env(backend.baseUrl, "translate"));
    const sent: Sent[] = [];
    const errors: unknown[] = [];
    const result = ai().streamText({
      model: aiProvider(proxy.url, sent)("gpt-4.1"),
      prompt: "tell me a story",
      maxRetries: 0,
      onError: ({ error }: { error: unknown }) => void errors.push(error),
    });
    const parts: string[] = [];
    for await (const part of result.fullStream) {
      parts.push(part.type === "finish" ? `finish:${part.finishReason}` : part.type);
    }
    assert.deepEqual(parts, [
      "start",
      "start-step",
      "text-start",
      "text-delta",
      "text-delta",
      "error",
      "finish-step",
      "finish:error",
    ]);
    assert.equal(await result.text, "Once upon a time", "what came before the break");
    assert.equal(errors.length, 1);
    assert.match(String((errors[0] as Error).message), /broke off the stream/);
    const answer = await sent[0].answer;
    assert.match(answer, /event: error\n[^\n]*\n\nevent: response\.failed\n[^\n]*\n\n$/);
    assert.doesNotMatch(answer, /response\.completed/);
  },
});

// ---------------------------------------------------------------- OpenAI Agents SDK

Deno.test({
  name: `agents SDK: default model (Responses API) through modelpin, chat-only and native${
    agentsSkip ? " (SKIPPED)" : ""
  }`,
  ignore: agentsSkip !== "",
  async fn(t) {
    const { Agent, run, setDefaultOpenAIClient, setTracingDisabled, tool, getDefaultModel } = agents();
    setTracingDisabled(true); // or the SDK exports traces to api.openai.com
    // Anything this test fetches outside the loopback is recorded (the test runs with --allow-net=127.0.0.1 too).
    const outside: string[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.hostname !== "127.0.0.1" && url.hostname !== "localhost") outside.push(url.href);
      return realFetch(input, init);
    };
    try {
      const chatScript = { turns: [] as Turn[] };
      const nativeScript = { text: "" };
      await using chat = chatOnlyBackend(chatScript);
      await using native = nativeBackend(nativeScript);
      await using proxy = await startProxy(env(chat.baseUrl, "auto", native.baseUrl, "auto"));
      const sent: Sent[] = [];
      const OpenAI = openai().default;
      // Once: the default provider keeps the first client it gets (see the module comment).
      setDefaultOpenAIClient(
        new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0, fetch: recordingFetch(sent) }),
      );
      const defaultModel = getDefaultModel();
      const ran: unknown[] = [];
      const weather = tool({
        name: "get_weather",
        description: "The current weather in a city",
        parameters: WEATHER_SCHEMA,
        strict: true,
        execute: (input: unknown) => { // typed here, so that the file still type-checks when the package is missing
          ran.push(input);
          return Promise.resolve(`12 degrees in ${(input as { city: string }).city}`);
        },
      });
      let chatSeen = 0;
      const newChats = () => {
        const all = chatRequests(chat);
        const fresh = all.slice(chatSeen);
        chatSeen = all.length;
        return fresh;
      };

      await t.step("run(agent, text) returns the chat backend's text as finalOutput", async () => {
        chatScript.turns = [{ content: "Hello from chat, agent." }];
        const agent = new Agent({ name: "greeter", instructions: "You greet people." });
        const result = await run(agent, "Say hi");
        assert.equal(result.finalOutput, "Hello from chat, agent.");

        assert.equal(sent.length, 1);
        assert.equal(sent[0].url, `${proxy.url}/v1/responses`);
        assert.equal(sent[0].body?.model, defaultModel, "the SDK's default model, routed to fast");
        assert.equal(sent[0].body?.instructions, "You greet people.");
        assert.notEqual(sent[0].body?.stream, true);
        assertProbe(chat.seen[0], KEYS.fast);
        const [req] = newChats();
        assert.equal(req.model, MODELS.fast);
        assert.deepEqual(req.messages, [
          { role: "system", content: "You greet people." },
          { role: "user", content: "Say hi" },
        ]);
        // The gpt-5 family defaults the SDK adds unasked (0.20.0 sends reasoning: {effort: "none"} and
        // text: {verbosity: "low"}): effort "none" asks for nothing, so a chat backend that knows only
        // low/medium/high is not sent a level it would refuse.
        const body = sent[0].body!;
        const effort = (body.reasoning as Json | undefined)?.effort;
        if (effort === "none") assert.equal(req.reasoning_effort, undefined);
        else if (effort !== undefined) assert.equal(typeof req.reasoning_effort, "string");
        assert.equal(req.verbosity, undefined, "text.verbosity is dropped");
      });

      await t.step("a function tool round trip: the tool output goes back as a role:tool message", async () => {
        sent.length = 0;
        ran.length = 0;
        chatScript.turns = [
          { calls: [{ id: "call_a1", name: "get_weather", args: '{"city":"Bergen"}' }] },
          { content: "Bergen has 12 degrees." },
        ];
        const agent = new Agent({ name: "weather", instructions: "Use the tool.", tools: [weather] });
        const result = await run(agent, "Weather in Bergen?");
        assert.equal(result.finalOutput, "Bergen has 12 degrees.");
        assert.deepEqual(ran, [{ city: "Bergen" }]);
        const kinds = result.newItems.map((i: { type: string }) => i.type);
        assert.deepEqual(kinds, ["tool_call_item", "tool_call_output_item", "message_output_item"]);

        assert.equal(sent.length, 2);
        const step2 = inputOf(sent[1].body);
        assert.equal(step2.find((i) => i.type === "function_call")?.call_id, "call_a1");
        assert.equal(step2.find((i) => i.type === "function_call_output")?.call_id, "call_a1");
        const [first, second] = newChats();
        assert.deepEqual((first.tools as Json[]).map((x) => (x.function as Json).name), ["get_weather"]);
        assert.deepEqual(second.messages, [
          { role: "system", content: "Use the tool." },
          { role: "user", content: "Weather in Bergen?" },
          {
            role: "assistant",
            content: null,
            tool_calls: [{
              id: "call_a1",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Bergen"}' },
            }],
          },
          { role: "tool", tool_call_id: "call_a1", content: "12 degrees in Bergen" },
        ]);
      });

      await t.step("a streamed run with a tool call: text events, then completion", async () => {
        sent.length = 0;
        ran.length = 0;
        chatScript.turns = [
          { content: "Checking.", calls: [{ id: "call_s1", name: "get_weather", args: '{"city":"Tromso"}' }] },
          { content: "Tromso: 12 degrees, streamed." },
        ];
        const agent = new Agent({ name: "streamer", instructions: "Use the tool.", tools: [weather] });
        const result = await run(agent, "Weather in Tromso?", { stream: true });
        const text: string[] = [];
        for await (const piece of result.toTextStream()) text.push(piece);
        await result.completed;
        assert.equal(result.error, null);
        assert.equal(result.finalOutput, "Tromso: 12 degrees, streamed.");
        assert.equal(text.join(""), "Checking.Tromso: 12 degrees, streamed.");
        assert.deepEqual(ran, [{ city: "Tromso" }]);

        assert.equal(sent.length, 2);
        assert.ok(sent.every((s) => s.body?.stream === true));
        const [first, second] = newChats();
        assert.equal(first.stream, true);
        assert.deepEqual((second.messages as Json[]).slice(2), [
          {
            role: "assistant",
            content: "Checking.",
            tool_calls: [{
              id: "call_s1",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Tromso"}' },
            }],
          },
          { role: "tool", tool_call_id: "call_s1", content: "12 degrees in Tromso" },
        ]);
      });

      await t.step("parallel tool calls and a JSON schema outputType", async () => {
        sent.length = 0;
        ran.length = 0;
        chatScript.turns = [
          {
            calls: [
              { id: "call_p1", name: "get_weather", args: '{"city":"Oslo"}' },
              { id: "call_p2", name: "get_weather", args: '{"city":"Rome"}' },
            ],
          },
          { content: '{"summary":"12 degrees in both"}' },
        ];
        const agent = new Agent({
          name: "summarizer",
          instructions: "Use the tool, answer in JSON.",
          tools: [weather],
          outputType: { type: "json_schema", name: "weather_summary", strict: true, schema: SUMMARY_SCHEMA },
        });
        const result = await run(agent, "Weather in Oslo and Rome?");
        assert.deepEqual(result.finalOutput, { summary: "12 degrees in both" });
        assert.deepEqual(ran, [{ city: "Oslo" }, { city: "Rome" }]);

        const [first, second] = newChats();
        assert.deepEqual(first.response_format, {
          type: "json_schema",
          json_schema: { name: "weather_summary", schema: SUMMARY_SCHEMA, strict: true },
        });
        assert.deepEqual((second.messages as Json[]).slice(3), [
          { role: "tool", tool_call_id: "call_p1", content: "12 degrees in Oslo" },
          { role: "tool", tool_call_id: "call_p2", content: "12 degrees in Rome" },
        ]);
        assert.deepEqual(
          ((second.messages as Json[])[2].tool_calls as Json[]).map((c) => c.id),
          ["call_p1", "call_p2"],
        );
      });

      await t.step("a streamed run the backend breaks rejects with openai's APIError", async () => {
        sent.length = 0;
        chatScript.turns = [{ content: "Once upon a time", broken: true }];
        const agent = new Agent({ name: "teller", instructions: "Tell stories." });
        const result = await run(agent, "Tell me a story", { stream: true });
        const pieces: string[] = [];
        const err = await (async () => {
          for await (const piece of result.toTextStream()) pieces.push(piece);
          await result.completed;
        })().then(() => undefined, (e) => e);
        assert.ok(err instanceof openai().APIError, `got ${err}`);
        assert.match(err.message, /broke off the stream/);
        assert.equal(result.error, err, "the run keeps the error");
        assert.equal(newChats().length, 1, "not retried once text was sent");
      });

      await t.step("model 'smart' on a native Responses backend: the body goes through, model forced", async () => {
        sent.length = 0;
        nativeScript.text = "Native agent answer.";
        const agent = new Agent({ name: "native", instructions: "Be native.", model: "smart" });
        const result = await run(agent, "hello native");
        assert.equal(result.finalOutput, "Native agent answer.");

        const streamed = await run(agent, "hello native, streamed", { stream: true });
        const text: string[] = [];
        for await (const piece of streamed.toTextStream()) text.push(piece);
        await streamed.completed;
        assert.equal(streamed.finalOutput, "Native agent answer.");
        assert.equal(text.join(""), "Native agent answer.");

        assertProbe(native.seen[0], KEYS.smart);
        const reqs = nativeRequests(native);
        assert.equal(reqs.length, 2);
        reqs.forEach((seen, i) => {
          assert.equal(seen.json!.model, MODELS.smart);
          assert.deepEqual({ ...seen.json, model: "smart" }, sent[i].body);
          assert.equal(seen.headers.get("authorization"), `Bearer ${KEYS.smart}`);
        });
        assert.equal(newChats().length, 0, "nothing went to the chat backend");
      });

      assert.deepEqual(outside, [], "nothing left the machine (tracing is off)");
    } finally {
      globalThis.fetch = realFetch;
    }
  },
});
