/**
 * The request handler as a specification, with no sockets: a plain `Request`
 * goes into `handle(state, req)`, the routes' transports are stubs that
 * record what would have gone upstream and answer from a script (as std's
 * serveDir tests call the handler directly).
 */

import assert from "node:assert/strict";
import { parseConfig } from "../../../src/config/config.ts";
import { handle } from "../../../src/proxy/handler.ts";
import { buildState, type ProxyState } from "../../../src/proxy/state.ts";
import type { FetchLike } from "../../../src/upstream/attempt.ts";
import type { Transports } from "../../../src/upstream/transport.ts";
import { TABLE } from "../../../src/endpoints.ts";

const FAST_KEY = "sk-fast-route-0123456789";
const SMART_KEY = "sk-smart-route-9876543210";
const CLIENT_KEY = "sk-client-never-travels-42";
const PROXY_KEY = "proxy-key-for-clients-77";

/** What a route's transport was asked to send. */
interface Sent {
  route: string;
  url: string;
  method: string;
  headers: Headers;
  body: string;
  /** The attempt's abort signal (PROXY_TIMEOUT, the client leaving). */
  signal: AbortSignal | undefined;
}

/** Answers an upstream request; `sent` is what the proxy sent. */
type Script = (sent: Sent) => Response | Promise<Response>;

/** Stub transports: each route's FetchLike records the request and answers from `script`. */
function stubTransports(script: Script): { transports: Transports; sent: Sent[] } {
  const sent: Sent[] = [];
  const transports: Transports = {
    for: (route): FetchLike => async (url, init) => {
      const call: Sent = {
        route: route.name,
        url,
        method: init.method ?? "GET",
        headers: new Headers(init.headers),
        body: init.body == null ? "" : await new Response(init.body).text(),
        signal: init.signal ?? undefined,
      };
      sent.push(call);
      return script(call);
    },
    close: () => {},
  };
  return { transports, sent };
}

/** A proxy state over stub transports, with its log lines collected. */
function proxy(
  script: Script,
  env: Record<string, string> = {},
): { state: ProxyState; sent: Sent[]; lines: string[] } {
  const config = parseConfig({
    FAST_BASE_URL: "http://fast.test/v1",
    FAST_MODEL_NAME: "forced-fast",
    FAST_API_KEY: FAST_KEY,
    SMART_BASE_URL: "http://smart.test/v1",
    SMART_MODEL_NAME: "forced-smart",
    SMART_API_KEY: SMART_KEY,
    PROXY_IDLE_TIMEOUT: "0",
    ...env,
  });
  const { transports, sent } = stubTransports(script);
  const lines: string[] = [];
  return { state: buildState(config, transports, (line) => lines.push(line)), sent, lines };
}

function json(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json", ...headers } });
}

function completion(text: string, model = "upstream-model"): Record<string, unknown> {
  return {
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1,
    model,
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
  };
}

const ok: Script = () => json(completion("hi"));

function post(path: string, body: unknown, headers: Record<string, string> = {}): Request {
  return new Request(`http://proxy.test${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const chat = (model: string, extra: Record<string, unknown> = {}) =>
  post("/v1/chat/completions", { model, messages: [{ role: "user", content: "hello" }], ...extra });

/** Asserts an OpenAI-shaped error with `status` and `code`, and returns its message. */
async function assertOpenAIError(res: Response, status: number, code: string): Promise<string> {
  assert.equal(res.status, status);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  const body = await res.json();
  assert.equal(typeof body.error?.message, "string", JSON.stringify(body));
  assert.equal(typeof body.error.type, "string");
  assert.equal(body.error.code, code);
  return body.error.message;
}

// ---------------------------------------------------------------- forcing and routing

Deno.test("handler: a chat completion goes to the fast route with FAST_MODEL_NAME forced, the rest unchanged", async () => {
  const { state, sent } = proxy(ok);
  const res = await handle(state, TABLE, chat("gpt-4", { temperature: 0.5, tools: [] }));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), completion("hi"));
  assert.equal(sent.length, 1);
  assert.equal(sent[0].route, "fast");
  assert.equal(sent[0].url, "http://fast.test/v1/chat/completions");
  assert.equal(sent[0].method, "POST");
  assert.deepEqual(JSON.parse(sent[0].body), {
    model: "forced-fast",
    messages: [{ role: "user", content: "hello" }],
    temperature: 0.5,
    tools: [],
  });
});

Deno.test("handler: model 'smart' (any case) goes to the smart route with SMART_MODEL_NAME forced", async () => {
  const { state, sent } = proxy(ok);
  for (const model of ["smart", "SMART"]) {
    const res = await handle(state, TABLE, chat(model));
    assert.equal(res.status, 200);
    await res.body?.cancel();
  }
  assert.deepEqual(sent.map((s) => [s.route, s.url, JSON.parse(s.body).model]), [
    ["smart", "http://smart.test/v1/chat/completions", "forced-smart"],
    ["smart", "http://smart.test/v1/chat/completions", "forced-smart"],
  ]);
});

Deno.test("handler: another endpoint (embeddings) goes to fast with its model forced and its query kept", async () => {
  const { state, sent } = proxy(() => json({ object: "list", data: [] }));
  const req = new Request("http://proxy.test/v1/embeddings?api-version=2", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "smart", input: "x" }),
  });
  const res = await handle(state, TABLE, req);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { object: "list", data: [] });
  assert.equal(sent[0].route, "fast", "only chat completions choose a route by model name");
  assert.equal(sent[0].url, "http://fast.test/v1/embeddings?api-version=2");
  assert.deepEqual(JSON.parse(sent[0].body), { model: "forced-fast", input: "x" });
});

Deno.test("handler: the route's key replaces the client's Authorization upstream; client identity stays behind", async () => {
  const { state, sent } = proxy(ok);
  const req = post("/v1/chat/completions", { model: "smart", messages: [] }, {
    authorization: `Bearer ${CLIENT_KEY}`,
    "x-api-key": CLIENT_KEY,
    cookie: "session=1",
  });
  const res = await handle(state, TABLE, req);
  await res.body?.cancel();
  const headers = sent[0].headers;
  assert.equal(headers.get("authorization"), `Bearer ${SMART_KEY}`);
  assert.equal(headers.get("x-api-key"), null);
  assert.equal(headers.get("cookie"), null);
  assert.ok(![...headers.values()].some((v) => v.includes(CLIENT_KEY)), "the client's key never travels");
});

// ---------------------------------------------------------------- answered locally

Deno.test("handler: GET /v1/models lists fast and smart without calling a backend", async () => {
  const { state, sent } = proxy(ok);
  const res = await handle(state, TABLE, new Request("http://proxy.test/v1/models"));
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.object, "list");
  assert.deepEqual(body.data.map((m: { id: string }) => m.id), ["fast", "smart"]);
  assert.equal(sent.length, 0);
});

Deno.test("handler: GET /health shows each route's host, model and breaker, never a key, and calls no backend", async () => {
  const { state, sent } = proxy(ok, { PROXY_API_KEYS: PROXY_KEY });
  const res = await handle(state, TABLE, new Request("http://proxy.test/health"));
  assert.equal(res.status, 200, "no proxy key needed for /health");
  const text = await res.text();
  const body = JSON.parse(text);
  assert.equal(body.status, "ok");
  assert.equal(body.routes.fast.host, "fast.test");
  assert.equal(body.routes.smart.model, "forced-smart");
  assert.equal(body.routes.fast.breaker.state, "closed");
  for (const key of [FAST_KEY, SMART_KEY, PROXY_KEY]) assert.ok(!text.includes(key));
  assert.equal(sent.length, 0);
});

// ---------------------------------------------------------------- errors in OpenAI's shape

Deno.test("handler: an unknown path is a 404 in OpenAI's shape naming method and path", async () => {
  const { state, sent } = proxy(ok);
  const message = await assertOpenAIError(
    await handle(state, TABLE, new Request("http://proxy.test/nope")),
    404,
    "not_found",
  );
  assert.match(message, /GET \/nope/);
  assert.equal(sent.length, 0);
});

Deno.test("handler: a method the endpoint does not serve is a 405 with Allow", async () => {
  const { state, sent } = proxy(ok);
  const res = await handle(state, TABLE, new Request("http://proxy.test/v1/chat/completions"));
  assert.equal(res.headers.get("allow"), "POST");
  await assertOpenAIError(res, 405, "method_not_allowed");
  assert.equal(sent.length, 0);
});

Deno.test("handler: with PROXY_API_KEYS, a missing or wrong key is a 401 and nothing goes upstream", async () => {
  const { state, sent } = proxy(ok, { PROXY_API_KEYS: PROXY_KEY });
  await assertOpenAIError(await handle(state, TABLE, chat("gpt-4")), 401, "invalid_api_key");
  const wrong = post("/v1/chat/completions", { model: "x", messages: [] }, { authorization: "Bearer not-it" });
  await assertOpenAIError(await handle(state, TABLE, wrong), 401, "invalid_api_key");
  // An unknown path is a 401 too: a stranger learns nothing about what exists.
  await assertOpenAIError(
    await handle(state, TABLE, new Request("http://proxy.test/nope")),
    401,
    "invalid_api_key",
  );
  assert.equal(sent.length, 0);
});

Deno.test("handler: with PROXY_API_KEYS, the right key is accepted and replaced by the route's key", async () => {
  const { state, sent } = proxy(ok, { PROXY_API_KEYS: PROXY_KEY });
  const req = post("/v1/chat/completions", { model: "x", messages: [] }, { authorization: `Bearer ${PROXY_KEY}` });
  const res = await handle(state, TABLE, req);
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.equal(sent[0].headers.get("authorization"), `Bearer ${FAST_KEY}`);
});

Deno.test("handler: a Host header that is not a plain host is refused (400 invalid_host) before any backend call", async () => {
  const { state, sent } = proxy(ok);
  const req = new Request("http://proxy.test/v1/models", { headers: { host: "evil.test/v1?x=" } });
  await assertOpenAIError(await handle(state, TABLE, req), 400, "invalid_host");
  assert.equal(sent.length, 0);
});

Deno.test("handler: a path with characters a URL parser would rewrite is refused (400 invalid_path)", async () => {
  const { state, sent } = proxy(ok);
  // The URL parser keeps '|' as it is; a backend's parser may not.
  const req = new Request("http://proxy.test/v1/files|x", { method: "GET" });
  await assertOpenAIError(await handle(state, TABLE, req), 400, "invalid_path");
  assert.equal(sent.length, 0);
});

Deno.test("handler: an encoded slash that could climb out of the base path is refused (400 invalid_path)", async () => {
  const { state, sent } = proxy(ok);
  await assertOpenAIError(
    await handle(state, TABLE, new Request("http://proxy.test/v1/files/..%2f..%2fadmin")),
    400,
    "invalid_path",
  );
  assert.equal(sent.length, 0);
});

// ---------------------------------------------------------------- fallback and masking

Deno.test("handler: a 503 from the primary is retried once on its route, then falls back, and the log line says why", async () => {
  const { state, sent, lines } = proxy((s) =>
    s.route === "fast" ? json({ error: { message: "overloaded" } }, 503) : json(completion("from smart"))
  );
  const res = await handle(state, TABLE, chat("gpt-4"));
  assert.equal(res.status, 200);
  assert.equal((await res.json()).choices[0].message.content, "from smart");
  assert.deepEqual(sent.map((s) => [s.route, JSON.parse(s.body).model]), [
    ["fast", "forced-fast"],
    ["fast", "forced-fast"],
    ["smart", "forced-smart"],
  ]);
  assert.equal(sent[2].headers.get("authorization"), `Bearer ${SMART_KEY}`, "each route gets its own key");
  assert.equal(lines.length, 1);
  assert.match(lines[0], /POST \/v1\/chat\/completions model=gpt-4 -> smart:forced-smart 200 .* fallback=status_503/);
  assert.match(state.telemetry.registry.render(), /modelpin_retries_total\{route="fast",reason="status_5xx"\} 1/);
});

Deno.test("handler: with PROXY_RETRIES=0 a 503 falls back at once", async () => {
  const { state, sent } = proxy(
    (s) => s.route === "fast" ? json({ error: { message: "overloaded" } }, 503) : json(completion("from smart")),
    { PROXY_RETRIES: "0" },
  );
  const res = await handle(state, TABLE, chat("gpt-4"));
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.deepEqual(sent.map((s) => s.route), ["fast", "smart"]);
});

Deno.test("handler: a blip (one 500, one reset) is retried on the same route: the chosen model answers", async () => {
  for (
    const blip of [() => json({ error: { message: "blip" } }, 500), (): Response => {
      throw new TypeError("reset");
    }]
  ) {
    let calls = 0;
    const { state, sent, lines } = proxy(() => ++calls === 1 ? blip() : json(completion("second try")));
    const res = await handle(state, TABLE, chat("smart"));
    assert.equal((await res.json()).choices[0].message.content, "second try");
    assert.deepEqual(sent.map((s) => s.route), ["smart", "smart"], "no fallback: the user's model is kept");
    assert.match(lines[0], /-> smart:forced-smart 200 .* fallback=no$/);
    assert.equal(state.routes.smart.breaker.snapshot().state, "closed", "the success closed the breaker again");
  }
});

Deno.test("handler: a 5xx that opens the route's breaker is not retried there", async () => {
  const { state, sent } = proxy(
    (s) => s.route === "fast" ? json({ error: { message: "down" } }, 502) : json(completion("from smart")),
    { PROXY_BREAKER_FAILURES: "1" },
  );
  const res = await handle(state, TABLE, chat("gpt-4"));
  await res.body?.cancel();
  assert.deepEqual(sent.map((s) => s.route), ["fast", "smart"]);
});

Deno.test("handler: a 429 asking for at most 5 s is waited out and retried; a longer one falls back at once", async () => {
  for (const [retryAfter, routes] of [["0.05", ["fast", "fast"]], ["6", ["fast", "smart"]]] as const) {
    let calls = 0;
    const { state, sent } = proxy((s) =>
      s.route === "fast" && ++calls === 1
        ? json({ error: { message: "slow down" } }, 429, { "retry-after": retryAfter })
        : json(completion(`from ${s.route}`))
    );
    const started = performance.now();
    const res = await handle(state, TABLE, chat("gpt-4"));
    assert.equal((await res.json()).choices[0].message.content, `from ${routes[1]}`);
    assert.deepEqual(sent.map((s) => s.route), routes);
    if (retryAfter === "0.05") assert.ok(performance.now() - started >= 45, "the Retry-After was waited");
  }
});

Deno.test("handler: a timeout is never retried on the same route", async () => {
  const { state, sent } = proxy(
    (s) =>
      s.route === "fast"
        ? new Promise<Response>((_, reject) => s.signal!.addEventListener("abort", () => reject(new Error("aborted"))))
        : json(completion("from smart")),
    { PROXY_TIMEOUT: "0.05" },
  );
  // The deadline timer is unref'd (it never keeps a server alive): this keeps the test's event loop going.
  const alive = setInterval(() => {}, 1000);
  try {
    const res = await handle(state, TABLE, chat("gpt-4"));
    assert.equal((await res.json()).choices[0].message.content, "from smart");
    assert.deepEqual(sent.map((s) => s.route), ["fast", "smart"]);
  } finally {
    clearInterval(alive);
  }
});

Deno.test("handler: a 400 from the primary is the client's problem: passed on, no fallback", async () => {
  const { state, sent, lines } = proxy(() => json({ error: { message: "bad request" } }, 400));
  const res = await handle(state, TABLE, chat("gpt-4"));
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { error: { message: "bad request" } });
  assert.equal(sent.length, 1);
  assert.match(lines[0], /fallback=no$/);
});

Deno.test("handler: when both routes fail, the first failure is answered and the log says the fallback failed too", async () => {
  const { state, sent, lines } = proxy(() => json({ error: { message: "down" } }, 503));
  const res = await handle(state, TABLE, chat("gpt-4"));
  assert.equal(res.status, 503);
  await res.body?.cancel();
  assert.deepEqual(sent.map((s) => s.route), ["fast", "fast", "smart", "smart"], "each route retried once");
  assert.match(lines[0], /-> fast:forced-fast 503 .* fallback=status_503_failed_too/);
});

Deno.test("handler: a primary cooled by its breaker is skipped for the other route, and the log says so", async () => {
  const { state, sent, lines } = proxy(
    (s) => s.route === "fast" ? json({ error: { message: "down" } }, 503) : json(completion("from smart")),
    { PROXY_BREAKER_FAILURES: "1" },
  );
  const first = await handle(state, TABLE, chat("gpt-4")); // fast fails once: its breaker opens
  await first.body?.cancel();
  assert.deepEqual(sent.map((s) => s.route), ["fast", "smart"]);
  const second = await handle(state, TABLE, chat("gpt-4"));
  assert.equal(second.status, 200);
  await second.body?.cancel();
  assert.deepEqual(sent.map((s) => s.route), ["fast", "smart", "smart"], "fast was not tried again");
  assert.match(lines[1], /-> smart:forced-smart 200 .* fallback=fast_cooling$/);
});

Deno.test("handler: a key the backend echoes in a 200 body is masked before it reaches the client", async () => {
  const { state } = proxy((s) => json(completion(`you sent ${s.headers.get("authorization")}`)));
  const res = await handle(state, TABLE, chat("gpt-4"));
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.ok(!text.includes(FAST_KEY), text);
  assert.equal(JSON.parse(text).choices[0].message.content, "you sent Bearer ***");
});

Deno.test("handler: a streamed answer is relayed and logged when the stream ends", async () => {
  const first = `data: {"choices":[{"delta":{"content":"hi"}}]}\n\n`;
  const upstream = new TransformStream<Uint8Array, Uint8Array>();
  const writer = upstream.writable.getWriter();
  writer.write(new TextEncoder().encode(first));
  const { state, lines } = proxy(() =>
    new Response(upstream.readable, { headers: { "content-type": "text/event-stream" } })
  );
  const res = await handle(state, TABLE, chat("gpt-4", { stream: true }));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("cache-control"), "no-cache");
  assert.equal(lines.length, 0, "the line waits for the stream's end");
  writer.write(new TextEncoder().encode("data: [DONE]\n\n"));
  assert.equal(await res.text(), first + "data: [DONE]\n\n");
  await writer.closed.catch(() => {}); // [DONE] ends the stream: the backend's body is let go
  assert.equal(lines.length, 1);
  assert.match(lines[0], / 200 .*ms stream end=complete fallback=no$/);
});

// ---------------------------------------------------------------- the Anthropic front door

const claudeRequest = {
  model: "claude-3-5-haiku-latest",
  max_tokens: 64,
  messages: [{ role: "user", content: "hello" }],
};

Deno.test("handler: /v1/messages goes upstream as a chat completion and comes back as an Anthropic message", async () => {
  const { state, sent } = proxy(() => json(completion("hi there")));
  const res = await handle(
    state,
    TABLE,
    post("/v1/messages?beta=true", claudeRequest, { "x-api-key": CLIENT_KEY, "anthropic-version": "2023-06-01" }),
  );
  assert.equal(res.status, 200);
  const message = await res.json();
  assert.equal(message.type, "message");
  assert.equal(message.role, "assistant");
  assert.equal(message.model, "claude-3-5-haiku-latest", "the answer names the model the client asked for");
  assert.deepEqual(message.content, [{ type: "text", text: "hi there" }]);
  assert.equal(message.stop_reason, "end_turn");
  // Upstream: a chat completion on the route a haiku name picks, with no Anthropic headers or query.
  assert.equal(sent.length, 1);
  assert.equal(sent[0].url, "http://fast.test/v1/chat/completions");
  const body = JSON.parse(sent[0].body);
  assert.equal(body.model, "forced-fast");
  assert.equal(body.max_tokens, 64);
  assert.deepEqual(body.messages, [{ role: "user", content: "hello" }]);
  assert.equal(sent[0].headers.get("anthropic-version"), null);
  assert.equal(sent[0].headers.get("x-api-key"), null);
  assert.equal(sent[0].headers.get("authorization"), `Bearer ${FAST_KEY}`);
});

Deno.test("handler: a backend 401 on /v1/messages comes back in Anthropic's error shape", async () => {
  const { state } = proxy(() =>
    json({ error: { message: "invalid upstream key", type: "invalid_request_error" } }, 401)
  );
  const res = await handle(state, TABLE, post("/v1/messages", { ...claudeRequest, model: "claude-sonnet-4" }));
  assert.equal(res.status, 401);
  assert.deepEqual(await res.json(), {
    type: "error",
    error: { type: "authentication_error", message: "invalid upstream key" },
  });
});

Deno.test("handler: the proxy's own 401 on /v1/messages is in Anthropic's shape too", async () => {
  const { state, sent } = proxy(ok, { PROXY_API_KEYS: PROXY_KEY });
  const res = await handle(state, TABLE, post("/v1/messages", claudeRequest, { "x-api-key": "wrong-key" }));
  assert.equal(res.status, 401);
  const body = await res.json();
  assert.equal(body.type, "error");
  assert.equal(body.error.type, "authentication_error");
  assert.equal(sent.length, 0);
});

// ---------------------------------------------------------------- the request log

Deno.test("handler: PROXY_LOG=json writes one JSON object per request with the route, model and fallback", async () => {
  const { state, lines } = proxy(
    (s) => s.route === "fast" ? json({ error: { message: "down" } }, 502) : json(completion("ok")),
    { PROXY_LOG: "json" },
  );
  const res = await handle(state, TABLE, chat("gpt-4"));
  await res.body?.cancel();
  const local = await handle(state, TABLE, new Request("http://proxy.test/v1/models"));
  await local.body?.cancel();
  assert.equal(lines.length, 2);
  const [line, modelsLine] = lines.map((l) => JSON.parse(l));
  assert.equal(line.method, "POST");
  assert.equal(line.path, "/v1/chat/completions");
  assert.equal(line.requested_model, "gpt-4");
  assert.equal(line.route, "smart");
  assert.equal(line.model, "forced-smart");
  assert.equal(line.status, 200);
  assert.equal(line.stream, false);
  assert.equal(line.fallback, "status_502");
  assert.equal(typeof line.ms, "number");
  assert.ok(!Number.isNaN(Date.parse(line.time)));
  assert.equal(modelsLine.path, "/v1/models");
  assert.equal(modelsLine.route, null, "answered locally: no route");
});

Deno.test("handler: PROXY_LOG=off writes nothing", async () => {
  const { state, lines } = proxy(ok, { PROXY_LOG: "off" });
  const res = await handle(state, TABLE, chat("gpt-4"));
  await res.body?.cancel();
  assert.deepEqual(lines, []);
});

Deno.test("handler: no log line ever holds a key, a body or the query", async () => {
  const { state, lines } = proxy(ok);
  const req = post(`/v1/chat/completions?key=${CLIENT_KEY}`, {
    model: "gpt-4",
    messages: [{ role: "user", content: "secret prompt" }],
  }, { authorization: `Bearer ${CLIENT_KEY}` });
  const res = await handle(state, TABLE, req);
  await res.body?.cancel();
  assert.equal(lines.length, 1);
  for (const never of [CLIENT_KEY, FAST_KEY, "secret prompt", "?"]) assert.ok(!lines[0].includes(never), lines[0]);
});
