/**
 * The official Anthropic TypeScript SDK against modelpin's `/v1/messages`,
 * with fake OpenAI backends behind it: create, stream (finalMessage()
 * assembles tool inputs), a tool round trip, images, errors as the SDK's
 * classes, fallback on a 503 primary and a stream the backend breaks.
 */

import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import { completion, fakeBackend, jsonResponse, type Seen, sseResponse } from "../support/fake_backend.ts";
import { startProxy } from "../support/proxy.ts";
import { KEYS, MODELS, ONE_ATTEMPT, oneRoute, twoRoutes } from "../support/routes.ts";

const CLIENT_KEY = "sk-client-key-for-modelpin-1";
type Json = Record<string, unknown>;

/**
 * What every proxy here adds to the routes: inbound auth, for the SDK's key, and one attempt per route (these
 * tests count attempts; the same-route retry is tested in fallback_test.ts).
 */
const SDK_SETUP = { PROXY_API_KEYS: CLIENT_KEY, ...ONE_ATTEMPT };

const sdk = (url: string, apiKey = CLIENT_KEY) => new Anthropic({ baseURL: url, apiKey, maxRetries: 0 });

/** One OpenAI stream chunk event. */
function chunk(delta: Json | null, finish: string | null = null, extra: Json = {}): string {
  const choices = delta === null ? [] : [{ index: 0, delta, finish_reason: finish }];
  return `data: ${
    JSON.stringify({ id: "chatcmpl-e2e", object: "chat.completion.chunk", model: "b", choices, ...extra })
  }\n\n`;
}

const TOOL_STREAM = [
  chunk({ role: "assistant", content: "Checking." }),
  chunk({
    tool_calls: [{ index: 0, id: "call_w", type: "function", function: { name: "get_weather", arguments: "" } }],
  }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Os' } }] }),
  chunk({
    tool_calls: [{ index: 1, id: "call_t", type: "function", function: { name: "get_time", arguments: '{"tz":' } }],
  }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: 'lo"}' } }] }),
  chunk({ tool_calls: [{ index: 1, function: { arguments: '"UTC"}' } }] }),
  chunk({}, "tool_calls"),
  chunk(null, null, { usage: { prompt_tokens: 40, completion_tokens: 17, total_tokens: 57 } }),
  "data: [DONE]\n\n",
];

const TOOLS = [
  {
    name: "get_weather",
    description: "weather",
    input_schema: { type: "object" as const, properties: { city: { type: "string" } } },
  },
  {
    name: "get_time",
    description: "time",
    input_schema: { type: "object" as const, properties: { tz: { type: "string" } } },
  },
];

/** The Anthropic error body an SDK error carries. */
function bodyOf(err: unknown): { type: string; error: { type: string; message: string } } {
  assert.ok(err instanceof Anthropic.APIError, String(err));
  return err.error as { type: string; error: { type: string; message: string } };
}

function streamOf(events: string[]): Response {
  return new Response(events.join(""), { headers: { "content-type": "text/event-stream" } });
}

Deno.test("anthropic SDK: messages.create gets the backend's text under the requested model name", async () => {
  await using backend = fakeBackend(() => jsonResponse(completion("hello from the backend")));
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, backend.baseUrl, SDK_SETUP));
  const msg = await sdk(proxy.url).messages.create({
    model: "claude-sonnet-5-5",
    max_tokens: 64,
    system: [{ type: "text", text: "be brief", cache_control: { type: "ephemeral" } }],
    messages: [{ role: "user", content: "hi" }],
    top_k: 3, // dropped: OpenAI backends have no top_k
  } as Anthropic.MessageCreateParamsNonStreaming);
  assert.deepEqual(msg.content, [{ type: "text", text: "hello from the backend" }]);
  assert.equal(msg.model, "claude-sonnet-5-5");
  assert.equal(msg.stop_reason, "end_turn");
  assert.equal(msg.usage.input_tokens, 1);
  const seen = backend.seen[0];
  assert.equal(seen.path, "/v1/chat/completions");
  assert.equal(seen.json!.model, MODELS.smart, "sonnet goes to smart, with the model forced");
  assert.deepEqual(seen.json!.messages, [{ role: "system", content: "be brief" }, { role: "user", content: "hi" }]);
  assert.equal(seen.json!.top_k, undefined);
  assert.equal(seen.headers.get("authorization"), `Bearer ${KEYS.smart}`);
  for (const [name] of seen.headers) {
    assert.ok(!name.startsWith("anthropic-") && name !== "x-api-key", `${name} forwarded`);
  }
});

Deno.test("anthropic SDK: messages.stream finalMessage() assembles interleaved parallel tool inputs", async () => {
  await using backend = fakeBackend(() => streamOf(TOOL_STREAM));
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, backend.baseUrl, SDK_SETUP));
  const stream = sdk(proxy.url).messages.stream({
    model: "claude-haiku-5-5",
    max_tokens: 64,
    tools: TOOLS,
    messages: [{ role: "user", content: "weather and time?" }],
  });
  const texts: string[] = [];
  stream.on("text", (t) => texts.push(t));
  const msg = await stream.finalMessage();
  assert.deepEqual(texts, ["Checking."]);
  // Text blocks may carry SDK-added fields (citations): compare what the backend said.
  assert.deepEqual(msg.content.map((b) => b.type === "text" ? { type: b.type, text: b.text } : b), [
    { type: "text", text: "Checking." },
    { type: "tool_use", id: "call_w", name: "get_weather", input: { city: "Oslo" } },
    { type: "tool_use", id: "call_t", name: "get_time", input: { tz: "UTC" } },
  ]);
  assert.equal(msg.stop_reason, "tool_use");
  assert.equal(msg.usage.output_tokens, 17);
  const seen = backend.seen[0].json!;
  assert.equal(seen.model, MODELS.fast, "haiku goes to fast");
  assert.deepEqual(seen.stream_options, { include_usage: true });
});

Deno.test("anthropic SDK: a tool round trip sends tool_calls and role:tool messages to the backend", async () => {
  await using backend = fakeBackend(() => jsonResponse(completion("It is 12 degrees in Oslo.")));
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, backend.baseUrl, SDK_SETUP));
  const msg = await sdk(proxy.url).messages.create({
    model: "claude-sonnet-5-5",
    max_tokens: 64,
    tools: TOOLS,
    messages: [
      { role: "user", content: "weather in Oslo?" },
      {
        role: "assistant",
        content: [{ type: "tool_use", id: "call_w", name: "get_weather", input: { city: "Oslo" } }],
      },
      {
        role: "user",
        content: [{ type: "tool_result", tool_use_id: "call_w", content: [{ type: "text", text: "12C" }] }],
      },
    ],
  });
  assert.equal((msg.content[0] as { text: string }).text, "It is 12 degrees in Oslo.");
  assert.deepEqual((backend.seen[0].json!.messages as Json[]).slice(1), [
    {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "call_w", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }],
    },
    { role: "tool", tool_call_id: "call_w", content: "12C" },
  ]);
});

Deno.test("anthropic SDK: an image travels as a data URL content part", async () => {
  await using backend = fakeBackend(() => jsonResponse(completion("a red dot")));
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, backend.baseUrl, SDK_SETUP));
  await sdk(proxy.url).messages.create({
    model: "claude-sonnet-5-5",
    max_tokens: 64,
    messages: [{
      role: "user",
      content: [
        { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
        { type: "text", text: "what is it?" },
      ],
    }],
  });
  assert.deepEqual((backend.seen[0].json!.messages as Json[])[0], {
    role: "user",
    content: [
      { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
      { type: "text", text: "what is it?" },
    ],
  });
});

Deno.test("anthropic SDK: errors arrive as the SDK's classes, in Anthropic's shape", async () => {
  let answer: () => Response = () =>
    jsonResponse({ error: { message: "slow down", type: "rate_limit" } }, 429, { "retry-after": "7" });
  await using backend = fakeBackend(() => answer());
  await using proxy = await startProxy(oneRoute(backend.baseUrl, SDK_SETUP));
  const client = sdk(proxy.url);
  const ask = (c = client, extra: Json = {}) =>
    c.messages.create(
      { model: "claude-sonnet-5-5", max_tokens: 8, messages: [{ role: "user", content: "x" }], ...extra } as never,
    );

  const rate = await ask().catch((e) => e);
  assert.ok(rate instanceof Anthropic.RateLimitError, String(rate));
  assert.equal(rate.headers.get("retry-after"), "7");
  assert.deepEqual(rate.error, { type: "error", error: { type: "rate_limit_error", message: "slow down" } });

  answer = () => jsonResponse({ error: { message: "no such thing" } }, 404);
  assert.ok((await ask().catch((e) => e)) instanceof Anthropic.NotFoundError);

  answer = () => jsonResponse({ error: { message: "busy" } }, 503);
  const busy = await ask().catch((e) => e);
  assert.ok(busy instanceof Anthropic.InternalServerError);
  assert.equal(bodyOf(busy).error.type, "overloaded_error");

  const auth = await ask(sdk(proxy.url, "wrong-key")).catch((e) => e);
  assert.ok(auth instanceof Anthropic.AuthenticationError);
  assert.equal(bodyOf(auth).error.type, "authentication_error");

  const calls = backend.seen.length;
  const bad = await ask(client, { max_tokens: undefined }).catch((e) => e);
  assert.ok(bad instanceof Anthropic.BadRequestError);
  assert.match(bodyOf(bad).error.message, /^max_tokens: /);
  assert.equal(backend.seen.length, calls, "a malformed request never reaches the backend");
});

Deno.test("anthropic SDK: a 503 from the primary falls back to the other route", async () => {
  await using fast = fakeBackend(() => jsonResponse({ error: { message: "down" } }, 503));
  await using smart = fakeBackend(() => jsonResponse(completion("from smart")));
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, SDK_SETUP));
  const msg = await sdk(proxy.url).messages.create({
    model: "claude-haiku-5-5",
    max_tokens: 8,
    messages: [{ role: "user", content: "x" }],
  });
  assert.equal((msg.content[0] as { text: string }).text, "from smart");
  assert.equal(msg.model, "claude-haiku-5-5");
  assert.equal(fast.seen.length, 1);
  assert.equal(smart.seen[0].json!.model, MODELS.smart);
});

Deno.test("anthropic SDK: a stream the backend breaks ends with an error event, never message_stop", async () => {
  let up!: ReturnType<typeof sseResponse>;
  let seen!: Seen;
  await using backend = fakeBackend((s) => {
    seen = s;
    up = sseResponse();
    up.send(chunk({ role: "assistant", content: "Once upon" }));
    return up.response;
  });
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, backend.baseUrl, SDK_SETUP));
  // The raw wire first: which events, in which order.
  const res = await fetch(`${proxy.url}/v1/messages?beta=true`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": CLIENT_KEY, "anthropic-version": "2023-06-01" },
    body: JSON.stringify({
      model: "claude-sonnet-5-5",
      max_tokens: 8,
      stream: true,
      messages: [{ role: "user", content: "x" }],
    }),
  });
  assert.equal(res.status, 200);
  assert.equal(seen.path, "/v1/chat/completions", "the query is not forwarded");
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("text_delta")) text += (await reader.read()).value;
  up.fail();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
  }
  const events = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
  assert.deepEqual(events, ["message_start", "content_block_start", "ping", "content_block_delta", "error"]);
  assert.match(text, /data: \{"type":"error","error":\{"type":"api_error","message":"[^"]+"\}\}\n\n$/);

  // And the SDK raises it.
  const stream = sdk(proxy.url).messages.stream({
    model: "claude-sonnet-5-5",
    max_tokens: 8,
    messages: [{ role: "user", content: "x" }],
  });
  const got: string[] = [];
  stream.on("text", (t) => {
    got.push(t);
    up.fail();
  });
  const err = await stream.finalMessage().catch((e) => e);
  assert.deepEqual(got, ["Once upon"]);
  assert.ok(err instanceof Anthropic.APIError, String(err));
  assert.match(String(err.message), /api_error|broke/);
});

Deno.test("anthropic SDK: countTokens answers locally and HEAD / answers 200, neither calling the backend", async () => {
  await using backend = fakeBackend(() => jsonResponse(completion("unused")));
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, backend.baseUrl, SDK_SETUP));
  const counted = await sdk(proxy.url).messages.countTokens({
    model: "claude-sonnet-5-5",
    system: "x".repeat(40),
    messages: [{ role: "user", content: "y".repeat(41) }],
  });
  assert.deepEqual(counted, { input_tokens: 21 });
  const head = await fetch(`${proxy.url}/`, { method: "HEAD" });
  await head.body?.cancel();
  assert.equal(head.status, 200);
  assert.equal(backend.seen.length, 0);
});

Deno.test("anthropic: ANTHROPIC_MAX_TOKENS caps what goes upstream; a smaller request passes as asked", async () => {
  await using backend = fakeBackend(() => jsonResponse(completion("ok")));
  await using proxy = await startProxy(
    twoRoutes(backend.baseUrl, backend.baseUrl, { ...SDK_SETUP, ANTHROPIC_MAX_TOKENS: "8192" }),
  );
  const client = sdk(proxy.url);
  for (const asked of [16000, 100]) {
    await client.messages.create({
      model: "claude-sonnet-4-5",
      max_tokens: asked,
      messages: [{ role: "user", content: "hi" }],
    });
  }
  assert.deepEqual(backend.seen.map((s) => s.json?.max_tokens), [8192, 100]);
});
