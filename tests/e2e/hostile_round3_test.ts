/**
 * Hardening round three, end to end and hostile: backends that write keys in
 * spellings a reader decodes, JSON and SSE lines built to make a scan
 * quadratic or a parser hang, streams that go on (or break, or fall silent)
 * after their last event, tool calls in the shapes real backends send, and
 * client strings that carry terminal controls into the log.
 *
 * Each test first records, in one line, how it failed on the code before
 * the round (observed by running this file against that tree). Tests that
 * check several cases collect every failing case and report them together.
 */

import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import { chatChunk, DONE_EVENT, fakeBackend, jsonResponse, type Seen, USAGE_CHUNK } from "../support/fake_backend.ts";
import { fetchWithin, hostileBackend, type HostileConn } from "../support/hostile_tcp.ts";
import { logLines, startProxy, type TestProxy } from "../support/proxy.ts";
import { ONE_ATTEMPT, oneRoute, twoRoutes } from "../support/routes.ts";
import { eachCase, keyReadings } from "../support/key_readings.ts";
import {
  chunked,
  CHUNKED_SSE_HEAD,
  keepGenerating,
  LAST_CHUNK,
  probedWhile,
  rawSseBackend,
} from "../support/hostile_sse.ts";
import { deferred, EventReader, within } from "../support/stream_tools.ts";
import { fixedSse, waitForLog } from "../support/wire.ts";

// ------------------------------------------------------------------ shared pieces

const encoder = new TextEncoder();

/** The fast route's key, in place of KEYS.fast: it holds `/` and `+`, which PHP and .NET escape. */
const KEY = "sk-fast/Route+Key-9f3a2b1c";
const { assertUnreadable, assertNoKeyIn } = keyReadings(KEY);

/** Every character as `\uXXXX`, upper-case hex. */
const ALL_ESCAPED = [...KEY].map((c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`).join(
  "",
);

/** The key as backends write it inside a JSON string. */
const SPELLED = [
  String.raw`sk-\u0066ast\/Route\u002BKey-9f3a2b1c`, // `\u0066` for f, PHP's `\/`, .NET's `\u002B`
  String.raw`sk-fast\u002fRoute\u002bKey-9f3a2b1c`, // lower-case hex
  ALL_ESCAPED,
];

/** The key percent-encoded, as in a URL a backend echoes. */
const PERCENT = ["sk-fast%2FRoute%2BKey-9f3a2b1c", "sk-fast%2fRoute%2bKey-9f3a2b1c"];

/** What every proxy here adds to the routes: the route key above, and no same-route retry (attempts are counted). */
const ROUND3 = { FAST_API_KEY: KEY, ...ONE_ATTEMPT };

const text = (t: string) => chatChunk({ content: t });
const finish = (reason = "stop") => chatChunk({}, reason);

/** A chat completion with `message`. */
function completionOf(message: Record<string, unknown>, finishReason = "stop"): Record<string, unknown> {
  return {
    id: "chatcmpl-r3",
    object: "chat.completion",
    created: 1,
    model: "backend-model",
    choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: finishReason }],
    usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
  };
}

/** An Anthropic Messages request (a haiku name goes to the fast route). */
function claude(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: "claude-haiku-4-5",
    max_tokens: 256,
    messages: [{ role: "user", content: "hi" }],
    ...extra,
  };
}

/** A chat completion request. */
function chat(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: "fast", messages: [{ role: "user", content: "hi" }], ...extra };
}

/** POSTs `body` and reads the answer whole, bounded. */
function send(
  proxy: TestProxy,
  path: string,
  body: unknown,
  ms = 4000,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; ms: number; headers: Headers }> {
  return fetchWithin(
    `${proxy.url}${path}`,
    {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" || body instanceof Uint8Array ? body as BodyInit : JSON.stringify(body),
    },
    ms,
    `POST ${path}`,
  );
}

/** Opens a request whose answer is read event by event. */
async function open(proxy: TestProxy, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await within(
    fetch(`${proxy.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    }),
    4000,
    `the head of POST ${path}`,
  );
  return { res, reader: new EventReader(res) };
}

/** The JSON of every `data:` line of an SSE text that is JSON. */
function dataJson(sse: string): unknown[] {
  const out: unknown[] = [];
  for (const line of sse.split("\n")) {
    if (!line.startsWith("data:")) continue;
    const data = line.slice(5).trim();
    if (data.startsWith("{")) out.push(JSON.parse(data));
  }
  return out;
}

/** One Anthropic SSE event. */
interface AEvent {
  type: string;
  // deno-lint-ignore no-explicit-any
  data: any;
}

/** The events of an Anthropic SSE text (or of event blocks). */
function anthropicEvents(sse: string | string[]): AEvent[] {
  const blocks = typeof sse === "string" ? sse.split("\n\n") : sse;
  return blocks.filter((b) => b.trim() !== "").map((block) => {
    const type = /^event: ?(.*)$/m.exec(block)?.[1] ?? "";
    const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
    return { type, data: data === "" ? {} : JSON.parse(data) };
  });
}

/**
 * The tool_use blocks of an Anthropic stream as the SDKs assemble them: the
 * `input_json_delta` fragments of a block joined and parsed (none is `{}`).
 */
function streamedTools(events: AEvent[]): { id: string; name: string; input: unknown }[] {
  const blocks = new Map<number, { id: string; name: string; json: string }>();
  for (const e of events) {
    if (e.type === "content_block_start" && e.data.content_block?.type === "tool_use") {
      blocks.set(e.data.index, { id: e.data.content_block.id, name: e.data.content_block.name, json: "" });
    }
    if (e.type === "content_block_delta" && e.data.delta?.type === "input_json_delta") {
      const block = blocks.get(e.data.index);
      assert.ok(block, `input_json_delta for block ${e.data.index}, which is no tool_use block`);
      block.json += e.data.delta.partial_json;
    }
  }
  return [...blocks.values()].map(({ id, name, json }) => {
    let input: unknown;
    try {
      input = json === "" ? {} : JSON.parse(json);
    } catch {
      input = { NOT_JSON: json };
    }
    return { id, name, input };
  });
}

/** The text of an Anthropic stream's text deltas. */
function streamedText(events: AEvent[]): string {
  return events.filter((e) => e.type === "content_block_delta" && e.data.delta?.type === "text_delta")
    .map((e) => e.data.delta.text).join("");
}

/**
 * V8's `gc()`, exposed at run time (the test runner is not started with
 * `--expose-gc`): the flag makes new contexts get it.
 */
function exposedGc(): () => void {
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

/** Bytes in use on the JS heap after full collections, so garbage does not count. */
function heapAfterGc(gc: () => void): number {
  gc();
  gc();
  return Deno.memoryUsage().heapUsed;
}

/** The first request log line for `path` (waits for it). */
function logFor(proxy: TestProxy, path: string): Promise<string> {
  return waitForLog(proxy, (l) => l.includes(` ${path} `));
}

/** The lines on stdout that name a `/v1/` path, once there are `count` (JSON lines included), bounded. */
async function requestLines(proxy: TestProxy, count: number): Promise<string[]> {
  let lines: string[] = [];
  for (let turn = 0; turn < 200 && lines.length < count; turn++) {
    await new Promise((r) => setTimeout(r, 0)); // the log is batched per event-loop turn
    lines = proxy.stdout.join("").split("\n").filter((l) => l.includes("/v1/"));
  }
  return lines;
}

/** A response body read as text, but no more than `max` bytes of it (the rest is cancelled). */
async function boundedText(res: Response, max: number, ms: number): Promise<{ text: string; whole: boolean }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  for (;;) {
    const { done, value } = await within(reader.read(), ms, "the body");
    if (done) return { text, whole: true };
    bytes += value.length;
    text += decoder.decode(value, { stream: true });
    if (bytes > max) {
      await reader.cancel();
      return { text, whole: false };
    }
  }
}

// ------------------------------------------------------------------ 1. escaped keys

Deno.test("round3 1: a key the backend wrote JSON-escaped or percent-encoded never reaches the client readable", async () => {
  // before: the client read the key in all six cases (Anthropic text, tool input, error; OpenAI JSON, SSE, error).
  const content = `text ${SPELLED[0]} and ${SPELLED[1]} and ${SPELLED[2]}`;
  // Tool arguments escaped once (the arguments text holds the key) and twice (the arguments' own JSON escapes it).
  const once = `{\\"token\\":\\"${SPELLED[0]}\\"}`;
  const twiceArgs = `{"token":"${SPELLED[1]}","all":"${SPELLED[2]}"}`; // the arguments' own JSON escapes the key
  const wire = (decoded: string) => JSON.stringify(decoded).slice(1, -1);
  const twice = wire(twiceArgs);
  const toolCalls = `[{"id":"call_1","type":"function","function":{"name":"lookup","arguments":"${once}"}},` +
    `{"id":"call_2","type":"function","function":{"name":"lookup","arguments":"${twice}"}}]`;
  const answerJson = `{"id":"chatcmpl-r3","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,` +
    `"message":{"role":"assistant","content":"${content}","tool_calls":${toolCalls}},"finish_reason":"tool_calls"}],` +
    `"usage":{"prompt_tokens":1,"completion_tokens":1}}`;
  // The arguments of the second call in three fragments, cut inside its (doubly) escaped key.
  const frag = (s: string, index: number) =>
    `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":` +
    `{"tool_calls":[{"index":${index},${
      s === "" ? `"id":"call_${index + 1}","type":"function",` : ""
    }"function":{"name":"lookup","arguments":"${s}"}}]},"finish_reason":null}]}\n\n`;
  const streamEvents = [
    `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":` +
    `{"role":"assistant","content":"${content}"},"finish_reason":null}]}\n\n`,
    frag("", 0),
    frag(once, 0),
    frag("", 1),
    frag(wire(twiceArgs.slice(0, 20)), 1),
    frag(wire(twiceArgs.slice(20, 35)), 1),
    frag(wire(twiceArgs.slice(35)), 1),
    finish("tool_calls"),
    DONE_EVENT,
  ];
  const errorBody = `{"error":{"message":"invalid key ${SPELLED[0]} (also ${SPELLED[2]}) for ` +
    `https://api.example/v1?api_key=${PERCENT[0]}","type":"invalid_request_error"}}`;
  const percentHeader = `https://api.example/v1?api_key=${PERCENT[1]}`;
  await using backend = fakeBackend((seen: Seen) => {
    const headers = { "x-upstream-url": percentHeader };
    if (seen.body.includes("case:error")) {
      return new Response(errorBody, { status: 400, headers: { "content-type": "application/json", ...headers } });
    }
    if (seen.json?.stream === true) return fixedSse(streamEvents, headers);
    return new Response(answerJson, { headers: { "content-type": "application/json", ...headers } });
  });
  await using proxy = await startProxy(oneRoute(backend.baseUrl, ROUND3));
  const ask = (marker: string, stream: boolean) => ({
    tools: [{ name: "lookup", input_schema: { type: "object" } }],
    messages: [{ role: "user", content: marker }],
    stream,
  });
  const headersClean = (headers: Headers, where: string) => {
    for (const [name, value] of headers) assertUnreadable(`${name}: ${value}`, `${where}, header ${name}`);
  };
  await eachCase({
    "anthropic JSON answer": async () => {
      const res = await send(proxy, "/v1/messages", claude(ask("case:json", false)));
      assert.equal(res.status, 200, res.text);
      const message = JSON.parse(res.text);
      assert.equal(message.content.length, 3, `text and two tool_use blocks: ${res.text}`);
      assertNoKeyIn(message, "anthropic JSON answer");
      assertUnreadable(res.text, "anthropic JSON answer");
      headersClean(res.headers, "anthropic JSON answer");
    },
    "anthropic stream": async () => {
      const res = await send(proxy, "/v1/messages", claude(ask("case:stream", true)));
      assert.equal(res.status, 200, res.text);
      const events = anthropicEvents(res.text);
      assert.ok(events.some((e) => e.type === "message_stop"), `a whole stream: ${res.text}`);
      assertNoKeyIn(events.map((e) => e.data), "anthropic stream event");
      const tools = streamedTools(events);
      assert.equal(tools.length, 2, `two tool_use blocks: ${JSON.stringify(tools)}`);
      assertNoKeyIn(tools, "anthropic stream, tool input as the SDK assembles it");
      assertUnreadable(res.text, "anthropic stream");
      headersClean(res.headers, "anthropic stream");
    },
    "anthropic error body": async () => {
      const res = await send(proxy, "/v1/messages", claude(ask("case:error", false)));
      assert.equal(res.status, 400, res.text);
      const body = JSON.parse(res.text);
      assert.equal(body.type, "error", `Anthropic's error shape: ${res.text}`);
      assertNoKeyIn(body, "anthropic error body");
      assertUnreadable(res.text, "anthropic error body");
      headersClean(res.headers, "anthropic error");
    },
    "openai JSON answer": async () => {
      const res = await send(
        proxy,
        "/v1/chat/completions",
        chat({ messages: [{ role: "user", content: "case:json" }] }),
      );
      assert.equal(res.status, 200, res.text);
      assertNoKeyIn(JSON.parse(res.text), "openai JSON answer");
      assertUnreadable(res.text, "openai JSON answer");
      headersClean(res.headers, "openai JSON answer");
    },
    "openai SSE": async () => {
      const res = await send(
        proxy,
        "/v1/chat/completions",
        chat({ stream: true, messages: [{ role: "user", content: "case:stream" }] }),
      );
      assert.equal(res.status, 200, res.text);
      assert.ok(res.text.includes("data: [DONE]"), `a whole stream: ${res.text}`);
      assertNoKeyIn(dataJson(res.text), "openai SSE data");
      assertUnreadable(res.text, "openai SSE");
      headersClean(res.headers, "openai SSE");
    },
    "openai error body (escaped and percent-encoded)": async () => {
      const res = await send(
        proxy,
        "/v1/chat/completions",
        chat({ messages: [{ role: "user", content: "case:error" }] }),
      );
      assert.equal(res.status, 400, res.text);
      assertNoKeyIn(JSON.parse(res.text), "openai error body");
      assertUnreadable(res.text, "openai error body");
      headersClean(res.headers, "openai error");
    },
  });
});

// ------------------------------------------------------------------ 2. the status page's last error

Deno.test("round3 2: /status.json never shows a key's first characters when an escaped key straddles the 200-character cut", async () => {
  // before: last_error.message ended "…sk-fast/Ro…" or "…sk-f…" for the escaped keys (the literal one was masked).
  let said = "";
  await using backend = fakeBackend(() =>
    new Response(`{"error":{"message":"${said}","type":"server_error"}}`, {
      status: 500,
      headers: { "content-type": "application/json" },
    })
  );
  await using proxy = await startProxy(oneRoute(backend.baseUrl, ROUND3));
  const prefixes = Array.from({ length: KEY.length - 3 }, (_, i) => KEY.slice(0, i + 4));
  const cases: Record<string, () => Promise<void>> = {};
  for (const [at, spelling] of [[190, SPELLED[0]], [196, SPELLED[2]], [193, SPELLED[1]], [188, KEY]] as const) {
    cases[`key at ${at} as ${spelling.slice(0, 14)}…`] = async () => {
      said = `${"x".repeat(at)}${spelling} and more after it`;
      const res = await send(proxy, "/v1/chat/completions", chat());
      assert.equal(res.status, 500, res.text);
      const status = await fetchWithin(`${proxy.url}/status.json`, {}, 3000, "/status.json");
      const fast = JSON.parse(status.text).routes.find((r: { name: string }) => r.name === "fast");
      const message: string = fast?.last_error?.message ?? "";
      assert.ok(message.includes("xxxx"), `the route's last error is this one: ${JSON.stringify(fast?.last_error)}`);
      for (const p of prefixes) {
        assert.ok(
          !message.includes(p),
          `last_error shows the key's start ${JSON.stringify(p)}: …${message.slice(-40)}`,
        );
      }
      assertUnreadable(status.text, "/status.json");
    };
  }
  await eachCase(cases);
});

// ------------------------------------------------------------------ 3. a key that starts another

Deno.test("round3 3: of two keys where one starts the other, the longer is masked whole when a chunk ends after the shorter", async () => {
  // before: the client read "echo ***-EXTENDED-7777 echoed" (SSE cut after the shorter key, and the plain-text body).
  const short = "sk-abc12345";
  const long = "sk-abc12345-EXTENDED-7777";
  const auth = { authorization: `Bearer ${long}` };
  // Each case: what the backend writes before the cut and after it, and how the answer is framed.
  const cases: Record<string, { head: string; before: string; after: string; sse: boolean }> = {
    "SSE, cut right after the shorter key": {
      head: CHUNKED_SSE_HEAD,
      before: chunked(text("hello ")) + chunked(`data: {"choices":[{"index":0,"delta":{"content":"echo ${short}`),
      after: chunked(`-EXTENDED-7777 echoed"},"finish_reason":null}]}\n\n`) + chunked(finish()) + chunked(DONE_EVENT) +
        LAST_CHUNK,
      sse: true,
    },
    "SSE, cut inside the shorter key": {
      head: CHUNKED_SSE_HEAD,
      before: chunked(text("hello ")) + chunked(`data: {"choices":[{"index":0,"delta":{"content":"echo sk-abc12`),
      after: chunked(`345-EXTENDED-7777 echoed"},"finish_reason":null}]}\n\n`) + chunked(finish()) +
        chunked(DONE_EVENT) +
        LAST_CHUNK,
      sse: true,
    },
    "plain text body, cut right after the shorter key": {
      head: "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
      before: chunked(`hello, echo ${short}`),
      after: chunked("-EXTENDED-7777 echoed\n") + LAST_CHUNK,
      sse: false,
    },
  };
  const wrong: string[] = [];
  for (const [name, c] of Object.entries(cases)) {
    const firstRead = deferred();
    await using backend = hostileBackend(async (conn) => {
      const req = await conn.readRequest();
      if (!req) return;
      await conn.write(c.head + c.before);
      // The second write only once the client has what the proxy made of the first: two separate chunks.
      await firstRead.promise;
      await conn.write(c.after);
      await conn.peerClosed();
    });
    await using proxy = await startProxy(
      oneRoute(backend.baseUrl, { ...ROUND3, FAST_API_KEY: short, PROXY_API_KEYS: long }),
    );
    const res = await within(
      fetch(`${proxy.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...auth },
        body: JSON.stringify(chat({ stream: c.sse })),
      }),
      4000,
      "the answer's head",
    );
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let got = "";
    try {
      for (;;) {
        const { done, value } = await within(reader.read(), 4000, `${name}: the next bytes`);
        if (done) break;
        got += decoder.decode(value, { stream: true });
        if (got.includes(c.sse ? "\n\n" : "hello")) firstRead.resolve();
      }
    } catch (err) {
      wrong.push(`${name}: ${(err as Error).message}`);
      await reader.cancel().catch(() => {});
    }
    firstRead.resolve();
    for (const leak of ["EXTENDED", "7777", long]) {
      if (got.includes(leak)) wrong.push(`${name}: the client read ${JSON.stringify(leak)} in ${JSON.stringify(got)}`);
    }
    if (!got.includes("echoed")) wrong.push(`${name}: the answer is incomplete: ${JSON.stringify(got)}`);
  }
  assert.deepEqual(wrong, []);
});

// ------------------------------------------------------------------ 4. a schema nested 7,000,000 deep

Deno.test("round3 4: a tool schema nested 7,000,000 deep is a quick 400 on every door, and the proxy answers meanwhile", async () => {
  // before: chat: 200 after ~9 s (sent upstream); /v1/messages ~37 s, count_tokens ~31 s; event loop held all along.
  await using backend = fakeBackend(() => jsonResponse(completionOf({ content: "never asked" })));
  await using proxy = await startProxy(oneRoute(backend.baseUrl, { ...ROUND3, PROXY_MAX_BODY_MB: "64" }));
  const depth = 7_000_000;
  const deep = "[".repeat(depth) + "]".repeat(depth);
  const anthropicTools =
    `[{"name":"deep","description":"d","input_schema":{"type":"object","properties":{"x":${deep}}}}]`;
  const bodies: [string, string, "anthropic" | "openai"][] = [
    [
      "/v1/chat/completions",
      JSON.stringify(chat()).slice(0, -1) +
      `,"tools":[{"type":"function","function":{"name":"deep","parameters":{"type":"object","x":${deep}}}}]}`,
      "openai",
    ],
    ["/v1/messages", JSON.stringify(claude()).slice(0, -1) + `,"tools":${anthropicTools}}`, "anthropic"],
    ["/v1/messages/count_tokens", JSON.stringify(claude()).slice(0, -1) + `,"tools":${anthropicTools}}`, "anthropic"],
  ];
  for (const [path, body, shape] of bodies) {
    assert.ok(body.length > 14_000_000, `a ${body.length}-byte body`);
    const started = performance.now();
    const { result: res, worstMs, probes } = await probedWhile(proxy, send(proxy, path, body, 30_000));
    const ms = performance.now() - started;
    assert.equal(res.status, 400, `${path}: status (body ${res.text.slice(0, 300)})`);
    const error = JSON.parse(res.text);
    if (shape === "anthropic") assert.equal(error.type, "error", `${path}: Anthropic's shape: ${res.text}`);
    assert.match(res.text, /nest|deep/i, `${path}: says what is wrong: ${res.text}`);
    assert.ok(worstMs < 1000, `${path}: /health took ${Math.round(worstMs)} ms (of ${probes} probes) meanwhile`);
    assert.ok(ms < 5000, `${path}: the 400 took ${Math.round(ms)} ms`);
  }
  assert.equal(backend.seen.length, 0, "no deep request went upstream");
});

// ------------------------------------------------------------------ 5. an answer of nothing but "usage":{

Deno.test('round3 5: a 15 MB JSON answer of repeated "usage":{ keeps the proxy responsive and reaches the client', async () => {
  // before: /health took 5.7-6.9 s while the proxy looked for usage at each of the 1.7 million "usage" keys.
  const hostile = encoder.encode(`{${'"usage":{'.repeat(1_666_000)}}`);
  await using backend = fakeBackend(() =>
    new Response(hostile.slice(), { headers: { "content-type": "application/json" } })
  );
  await using proxy = await startProxy(oneRoute(backend.baseUrl, ROUND3));
  const ask = fetchWithin(
    `${proxy.url}/v1/chat/completions`,
    { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(chat()) },
    60_000,
    "the 15 MB answer",
  );
  const { result: res, worstMs, probes } = await probedWhile(proxy, ask);
  assert.equal(res.status, 200, res.text.slice(0, 300));
  assert.equal(res.text.length, hostile.length, "the client got the whole answer");
  assert.ok(res.text.startsWith('{"usage":{"usage":{') && res.text.endsWith('"usage":{}'), "as the backend sent it");
  assert.ok(worstMs < 1000, `/health took ${Math.round(worstMs)} ms (of ${probes} probes) meanwhile`);
  assert.ok(res.ms < 5000, `the answer took ${Math.round(res.ms)} ms`);
});

// ------------------------------------------------------------------ 6. one 24 MB line

Deno.test("round3 6: one 24 MB SSE line without a newline ends an Anthropic stream with an error event, promptly", async () => {
  // before: nothing after the first events within 10 s: no bound, the growing line rescanned (~88 s for 24 MB).
  await using backend = rawSseBackend(async (conn) => {
    await conn.write(chunked(text("the start")));
    const piece = "a".repeat(1024 * 1024);
    await conn.write(chunked('data: {"choices":[{"index":0,"delta":{"content":"'));
    for (let i = 0; i < 24; i++) await conn.write(chunked(piece));
    await conn.peerClosed(); // never a newline, never an end
  });
  await using proxy = await startProxy(oneRoute(backend.baseUrl, { ...ROUND3, PROXY_IDLE_TIMEOUT: "4" }));
  const started = performance.now();
  const { reader } = await open(proxy, "/v1/messages", claude({ stream: true }));
  try {
    const { result: events, worstMs, probes } = await probedWhile(proxy, reader.rest(10_000));
    const ms = performance.now() - started;
    const last = anthropicEvents(events).at(-1);
    assert.equal(last?.type, "error", `ends with an error event: ${events.map((e) => e.slice(0, 120)).join(" | ")}`);
    assert.match(last.data.error.message, /16 MiB|too large|outgrew/i, `names the bound: ${JSON.stringify(last)}`);
    assert.equal(streamedText(anthropicEvents(events)), "the start");
    assert.ok(ms < 3500, `the error came after ${Math.round(ms)} ms`);
    assert.ok(worstMs < 1000, `/health took ${Math.round(worstMs)} ms (of ${probes} probes) meanwhile`);
  } finally {
    await reader.cancel().catch(() => {});
  }
});

// ------------------------------------------------------------------ 7. a 20 MB model name

Deno.test("round3 7: twenty requests with a 20 MB model name leave bounded records and log lines", async () => {
  // before: the heap grew by 401 MB (every record kept its 20 MB name; the page and the log lines were already cut).
  await using backend = fakeBackend((seen) =>
    seen.json?.stream === true
      ? fixedSse([text("ok"), finish(), DONE_EVENT])
      : jsonResponse(completionOf({ content: "ok" }))
  );
  await using proxy = await startProxy(oneRoute(backend.baseUrl, { ...ROUND3, PROXY_MAX_BODY_MB: "64" }));
  const huge = "m".repeat(20_000_000);
  // Encoded once: the test's own work is not what is measured.
  const openaiBody = encoder.encode(JSON.stringify(chat({ model: huge })));
  const anthropicBody = encoder.encode(JSON.stringify(claude({ model: huge })));
  const gc = exposedGc();
  const heapBefore = heapAfterGc(gc);
  // Two at a time (one per door): the proxy reads one body while it parses the other.
  for (let i = 0; i < 10; i++) {
    const answers = await Promise.all([
      send(proxy, "/v1/chat/completions", openaiBody, 10_000),
      send(proxy, "/v1/messages", anthropicBody, 10_000),
    ]);
    for (const res of answers) assert.equal(res.status, 200, res.text.slice(0, 200));
  }
  // The proxy runs in this process: what it keeps of the 400 MB of model names is on this heap.
  const kept = heapAfterGc(gc) - heapBefore;
  assert.ok(kept < 100_000_000, `the heap grew by ${Math.round(kept / 1e6)} MB over the 20 requests`);
  const res = await within(fetch(`${proxy.url}/status.json`), 30_000, "/status.json");
  const status = await boundedText(res, 1_000_000, 30_000);
  assert.ok(status.whole, `/status.json is over 1 MB (it starts ${status.text.slice(0, 300)}…)`);
  const recent: { requested_model: string | null }[] = JSON.parse(status.text).recent;
  assert.equal(recent.length, 20);
  for (const r of recent) {
    assert.ok(
      r.requested_model !== null && r.requested_model.length <= 201,
      `a record keeps ${r.requested_model?.length} characters of the model name`,
    );
    assert.ok(r.requested_model.startsWith("mmmm"), "the record keeps the name's start");
  }
  const lines = (await logLines(proxy)).filter((l) => l.includes(" /v1/"));
  assert.equal(lines.length, 20, "one log line per request");
  for (const line of lines) assert.ok(line.length < 1000, `a log line of ${line.length} characters`);
});

// ------------------------------------------------------------------ 8. message_stop and error end the stream

Deno.test("round3 8: after message_stop or an error event the client's stream closes at once and the backend is cut off", async () => {
  // before: no end within 1 s after message_stop, nor after the error event; the backend went on generating.
  const cases: Record<string, { events: string[]; last: string }> = {
    "message_stop": { events: [text("the answer"), finish(), USAGE_CHUNK, DONE_EVENT], last: "message_stop" },
    "error event": {
      events: [text("the start"), `data: {"error":{"message":"the model crashed","type":"server_error"}}\n\n`],
      last: "error",
    },
  };
  const wrong: string[] = [];
  for (const [name, c] of Object.entries(cases)) {
    const cutOff = deferred<number>();
    await using backend = rawSseBackend(async (conn) => {
      for (const e of c.events) await conn.write(chunked(e));
      await keepGenerating(conn, text(" still generating"));
      cutOff.resolve(performance.now());
    });
    await using proxy = await startProxy(oneRoute(backend.baseUrl, ROUND3));
    const { reader } = await open(proxy, "/v1/messages", claude({ stream: true }));
    try {
      let event: string | null;
      do event = await reader.next(3000); while (event !== null && anthropicEvents([event])[0].type !== c.last);
      assert.ok(event !== null, `${name}: the stream ended without ${c.last}: ${reader.events.join(" | ")}`);
      const at = performance.now();
      assert.equal(await reader.next(1000), null, `${name}: nothing after ${c.last}`);
      const backendAt = await within(cutOff.promise, 1000, `${name}: the proxy closing the backend's connection`);
      assert.ok(backendAt - at < 1000, `${name}: the backend was cut off ${Math.round(backendAt - at)} ms later`);
    } catch (err) {
      wrong.push(`${name}: ${(err as Error).message.split("\n")[0]}`);
      await reader.cancel().catch(() => {});
    }
  }
  assert.deepEqual(wrong, []);
});

// ------------------------------------------------------------------ 9. tool arguments that are not JSON

Deno.test("round3 9: tool arguments that are not a JSON object stream as input {} (as the JSON answer gives them)", async () => {
  // before: the stream sent the text as partial_json ("not json", "[1, 2]", ...); the JSON answer already gave {}.
  const variants: Record<string, string[]> = {
    "not json": ["not ", "json"],
    "an array": ["[1, ", "2]"],
    "a cut object": ['{"city": ', '"Par'],
    "a string": ['"Paris"'],
    "null": ["null"],
  };
  await using backend = fakeBackend((seen) => {
    const name = Object.keys(variants).find((v) => seen.body.includes(`variant:${v}`))!;
    const parts = variants[name];
    if (seen.json?.stream !== true) {
      return jsonResponse(completionOf({
        content: null,
        tool_calls: [{ id: "call_1", type: "function", function: { name: "lookup", arguments: parts.join("") } }],
      }, "tool_calls"));
    }
    return fixedSse([
      chatChunk({
        role: "assistant",
        tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "lookup", arguments: "" } }],
      }),
      ...parts.map((p) => chatChunk({ tool_calls: [{ index: 0, function: { arguments: p } }] })),
      finish("tool_calls"),
      DONE_EVENT,
    ]);
  });
  await using proxy = await startProxy(oneRoute(backend.baseUrl, ROUND3));
  const cases: Record<string, () => Promise<void>> = {};
  for (const name of Object.keys(variants)) {
    const request = (stream: boolean) =>
      claude({
        stream,
        tools: [{ name: "lookup", input_schema: { type: "object" } }],
        messages: [{ role: "user", content: `variant:${name}` }],
      });
    cases[`${name} (stream)`] = async () => {
      const res = await send(proxy, "/v1/messages", request(true));
      assert.equal(res.status, 200, res.text);
      const tools = streamedTools(anthropicEvents(res.text));
      assert.deepEqual(tools, [{ id: "call_1", name: "lookup", input: {} }], `streamed: ${JSON.stringify(tools)}`);
    };
    cases[`${name} (JSON)`] = async () => {
      const res = await send(proxy, "/v1/messages", request(false));
      assert.equal(res.status, 200, res.text);
      const tools = JSON.parse(res.text).content.filter((b: { type: string }) => b.type === "tool_use");
      assert.deepEqual(tools, [{ type: "tool_use", id: "call_1", name: "lookup", input: {} }], res.text);
    };
  }
  await eachCase(cases);
});

// ------------------------------------------------------------------ 10. tool calls without index

Deno.test("round3 10: tool calls without index (each whole, with its own id) stay two tools on the Anthropic door", async () => {
  // before: the stream merged both into one tool_use call_a, input '{"city":"Paris"}{"zone":"CET"}'; JSON was right.
  const a = { id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } };
  const b = { id: "call_b", type: "function", function: { name: "get_time", arguments: '{"zone":"CET"}' } };
  const shapes: Record<string, string[]> = {
    "one call per chunk": [chatChunk({ role: "assistant", tool_calls: [a] }), chatChunk({ tool_calls: [b] })],
    "both in one chunk": [chatChunk({ role: "assistant", tool_calls: [a, b] })],
  };
  await using backend = fakeBackend((seen) => {
    if (seen.json?.stream !== true) {
      return jsonResponse(completionOf({ content: null, tool_calls: [a, b] }, "tool_calls"));
    }
    const shape = Object.keys(shapes).find((s) => seen.body.includes(`shape:${s}`))!;
    return fixedSse([...shapes[shape], finish("tool_calls"), USAGE_CHUNK, DONE_EVENT]);
  });
  await using proxy = await startProxy(oneRoute(backend.baseUrl, ROUND3));
  const expected = [
    { id: "call_a", name: "get_weather", input: { city: "Paris" } },
    { id: "call_b", name: "get_time", input: { zone: "CET" } },
  ];
  const tools = [
    { name: "get_weather", input_schema: { type: "object" } },
    { name: "get_time", input_schema: { type: "object" } },
  ];
  const cases: Record<string, () => Promise<void>> = {};
  for (const shape of Object.keys(shapes)) {
    cases[`stream, ${shape}`] = async () => {
      const res = await send(
        proxy,
        "/v1/messages",
        claude({ stream: true, tools, messages: [{ role: "user", content: `shape:${shape}` }] }),
      );
      assert.equal(res.status, 200, res.text);
      const events = anthropicEvents(res.text);
      assert.deepEqual(streamedTools(events), expected, `streamed: ${JSON.stringify(streamedTools(events))}`);
      assert.equal(events.find((e) => e.type === "message_delta")?.data.delta.stop_reason, "tool_use");
    };
  }
  cases["JSON"] = async () => {
    // The JSON answer's calls are an array, each whole: the old code kept them apart too.
    const res = await send(proxy, "/v1/messages", claude({ tools }));
    assert.equal(res.status, 200, res.text);
    const blocks = JSON.parse(res.text).content.filter((b: { type: string }) => b.type === "tool_use");
    assert.deepEqual(blocks.map(({ id, name, input }: Record<string, unknown>) => ({ id, name, input })), expected);
  };
  await eachCase(cases);
});

// ------------------------------------------------------------------ 11. SSE to a non-streaming request

Deno.test("round3 11: an SSE answer to a non-streaming /v1/messages is never relayed: a 502 in Anthropic's shape, or the other route", async () => {
  // before: a 200 text/event-stream (Anthropic SSE) answered the non-streaming request, with one route and with two.
  const sseAlways = () => fakeBackend(() => fixedSse([text("streamed anyway"), finish(), DONE_EVENT]));
  await eachCase({
    "one route: 502": async () => {
      await using backend = sseAlways();
      await using proxy = await startProxy(oneRoute(backend.baseUrl, ROUND3));
      const res = await send(proxy, "/v1/messages", claude());
      assert.ok(
        !/event-stream/.test(res.headers.get("content-type") ?? ""),
        `content-type ${res.headers.get("content-type")}`,
      );
      assert.ok(!res.text.includes("data:"), `no SSE: ${res.text.slice(0, 200)}`);
      assert.equal(res.status, 502, res.text);
      const body = JSON.parse(res.text);
      assert.equal(body.type, "error", res.text);
      assert.equal(body.error.type, "api_error", res.text);
      assert.equal(backend.seen.length, 1);
    },
    "two routes: the other route answers": async () => {
      await using fast = sseAlways();
      await using smart = fakeBackend(() => jsonResponse(completionOf({ content: "from the smart route" })));
      await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, ROUND3));
      const res = await send(proxy, "/v1/messages", claude());
      assert.equal(res.status, 200, res.text);
      const message = JSON.parse(res.text);
      assert.equal(message.type, "message", res.text);
      assert.deepEqual(message.content, [{ type: "text", text: "from the smart route" }]);
      assert.equal(fast.seen.length, 1, "the fast route was tried first");
      assert.equal(smart.seen.length, 1, "then the smart route");
    },
  });
});

// ------------------------------------------------------------------ 12. a completion labelled text/plain or not at all

Deno.test("round3 12: a chat completion labelled text/plain or unlabelled is translated; one over 16 MiB is a 502 in Anthropic's shape", async () => {
  // before: all five reached the client untranslated: 200 with the OpenAI completion (the 17 MiB ones too).
  const small = JSON.stringify(completionOf({ content: "labelled oddly" }));
  const large = JSON.stringify(completionOf({ content: "z".repeat(17 * 1024 * 1024) }));
  const answers: Record<string, { body: string; type: string | undefined }> = {
    "text/plain": { body: small, type: "text/plain" },
    "no content-type": { body: small, type: undefined },
    "over 16 MiB, text/plain": { body: large, type: "text/plain" },
    "over 16 MiB, no content-type": { body: large, type: undefined },
    "over 16 MiB, application/json": { body: large, type: "application/json" },
  };
  await using backend = hostileBackend(async (conn) => {
    const req = await conn.readRequest();
    if (!req) return;
    const { body, type } = answers[Object.keys(answers).find((k) => req.text.includes(`answer:${k}`))!];
    const label = type === undefined ? "" : `content-type: ${type}\r\n`;
    await conn.write(
      `HTTP/1.1 200 OK\r\n${label}content-length: ${encoder.encode(body).length}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  await using proxy = await startProxy(oneRoute(backend.baseUrl, ROUND3));
  const ask = (name: string) =>
    send(proxy, "/v1/messages", claude({ messages: [{ role: "user", content: `answer:${name}` }] }));
  const cases: Record<string, () => Promise<void>> = {};
  for (const name of Object.keys(answers)) {
    cases[name] = name.startsWith("over")
      ? async () => {
        const res = await ask(name);
        assert.equal(res.status, 502, `status (body ${res.text.slice(0, 200)})`);
        const body = JSON.parse(res.text);
        assert.equal(body.type, "error", res.text.slice(0, 200));
        assert.match(body.error.message, /16 MiB|too large/i, res.text);
      }
      : async () => {
        const res = await ask(name);
        assert.equal(res.status, 200, res.text);
        const message = JSON.parse(res.text);
        assert.equal(message.type, "message", `an Anthropic message: ${res.text}`);
        assert.deepEqual(message.content, [{ type: "text", text: "labelled oddly" }]);
        assert.equal(message.stop_reason, "end_turn");
      };
  }
  await eachCase(cases);
});

// ------------------------------------------------------------------ 13. after [DONE]

Deno.test("round3 13: after [DONE] (or message_stop) a keep-alive, a break or silence changes nothing", async () => {
  // before: (a) keep-alive + truncated error sent, (b) "data" + broken error, (c) open at 1 s; Anthropic: end=broken.
  const events = [text("one "), text("two"), finish(), USAGE_CHUNK, DONE_EVENT];
  const openaiCase = (after: (conn: HostileConn) => Promise<void>) => async () => {
    await using backend = rawSseBackend(async (conn) => {
      for (const e of events) await conn.write(chunked(e));
      await after(conn);
    });
    await using proxy = await startProxy(oneRoute(backend.baseUrl, { ...ROUND3, PROXY_IDLE_TIMEOUT: "5" }));
    const { reader } = await open(proxy, "/v1/chat/completions", chat({ stream: true }));
    try {
      const started = performance.now();
      const got = await reader.rest(1000);
      assert.ok(performance.now() - started < 1000, "the stream ended at once");
      const all = got.map((e) => `${e}\n\n`).join("");
      const extra = all.startsWith(events.join("")) ? all.slice(events.join("").length) : all;
      assert.equal(all, events.join(""), `exactly the backend's events up to [DONE], not ${JSON.stringify(extra)}`);
    } finally {
      await reader.cancel().catch(() => {});
    }
    const line = await logFor(proxy, "/v1/chat/completions");
    assert.match(line, / end=complete /, line);
  };
  await eachCase({
    "(a) keep-alive after [DONE], then a clean close": openaiCase(async (conn) => {
      await conn.write(chunked(": keep-alive\n\n") + LAST_CHUNK);
    }),
    "(b) the backend dies right after [DONE]": openaiCase(async (conn) => {
      await conn.write("5\r\ndata"); // half a chunk, then the connection is gone
      conn.close();
    }),
    "(c) the backend stays silent after [DONE]": openaiCase(async (conn) => {
      await conn.peerClosed();
    }),
    "anthropic: message_stop, then a break": async () => {
      await using backend = rawSseBackend(async (conn) => {
        for (const e of events) await conn.write(chunked(e));
        await conn.write("5\r\ndata");
        conn.close();
      });
      await using proxy = await startProxy(oneRoute(backend.baseUrl, { ...ROUND3, PROXY_IDLE_TIMEOUT: "5" }));
      const { reader } = await open(proxy, "/v1/messages", claude({ stream: true }));
      let got: string[];
      try {
        got = await reader.rest(3000);
      } finally {
        await reader.cancel().catch(() => {});
      }
      const types = anthropicEvents(got).map((e) => e.type);
      assert.equal(types.at(-1), "message_stop", types.join(","));
      assert.ok(!types.includes("error"), types.join(","));
      const line = await logFor(proxy, "/v1/messages");
      assert.match(line, / end=complete /, line);
    },
  });
});

// ------------------------------------------------------------------ 14. finished without [DONE]

Deno.test("round3 14: a stream that closes after its finish and usage, without [DONE], is complete; one without a finish is not", async () => {
  // before: upstream_stream_truncated sent after the usage chunk; the unfinished stream was already right.
  await eachCase({
    "finish_reason and usage, then a clean close": async () => {
      const events = [text("all "), text("there"), finish(), USAGE_CHUNK];
      await using backend = rawSseBackend(async (conn) => {
        for (const e of events) await conn.write(chunked(e));
        await conn.write(LAST_CHUNK);
      });
      await using proxy = await startProxy(oneRoute(backend.baseUrl, ROUND3));
      const res = await send(proxy, "/v1/chat/completions", chat({ stream: true }));
      assert.equal(res.status, 200, res.text);
      const extra = res.text.startsWith(events.join("")) ? res.text.slice(events.join("").length) : res.text;
      assert.equal(res.text, events.join(""), `every event, the usage chunk included, not ${JSON.stringify(extra)}`);
      const line = await logFor(proxy, "/v1/chat/completions");
      assert.match(line, / end=complete /, line);
    },
    "no finish_reason, no [DONE]: still truncated (the old code was right here)": async () => {
      const events = [text("cut "), text("short")];
      await using backend = rawSseBackend(async (conn) => {
        for (const e of events) await conn.write(chunked(e));
        await conn.write(LAST_CHUNK);
      });
      await using proxy = await startProxy(oneRoute(backend.baseUrl, ROUND3));
      const res = await send(proxy, "/v1/chat/completions", chat({ stream: true }));
      assert.ok(res.text.startsWith(events.join("")), res.text);
      const last = dataJson(res.text).at(-1) as { error?: { code?: string } };
      assert.equal(last.error?.code, "upstream_stream_truncated", res.text);
      assert.ok(!/^data: ?\[DONE\]/m.test(res.text), "no [DONE] made up");
      const line = await logFor(proxy, "/v1/chat/completions");
      assert.match(line, / end=truncated /, line);
    },
  });
});

// ------------------------------------------------------------------ 15. C1 controls in the log

Deno.test("round3 15: C1 controls in a model name are escaped in the readable and the JSON log", async () => {
  // before: U+0085, U+009B, U+009D, U+009C, U+0090 reached stdout raw in both formats (only C0 and DEL were escaped).
  const controls = ["\u0085", "\u009b", "\u009d", "\u009c", "\u0090"];
  const model = `evil${controls[0]}2026-01-01T00:00:00Z forged${controls[1]}31m${controls[2]}0;title${controls[3]}x${
    controls[4]
  }end`;
  await using backend = fakeBackend(() => jsonResponse(completionOf({ content: "ok" })));
  const wrong: string[] = [];
  for (const log of ["on", "json"]) {
    await using proxy = await startProxy(oneRoute(backend.baseUrl, { ...ROUND3, PROXY_LOG: log }));
    for (const path of ["/v1/chat/completions", "/v1/messages"]) {
      const body = path === "/v1/messages" ? claude({ model }) : chat({ model });
      const res = await send(proxy, path, body);
      if (res.status !== 200) wrong.push(`${log} ${path}: status ${res.status} ${res.text}`);
    }
    const lines = await requestLines(proxy, 2);
    const stdout = proxy.stdout.join("");
    if (lines.length !== 2) wrong.push(`PROXY_LOG=${log}: ${lines.length} request lines: ${JSON.stringify(stdout)}`);
    const raw = [...stdout].filter((c) => c.charCodeAt(0) >= 0x80 && c.charCodeAt(0) <= 0x9f);
    if (raw.length > 0) wrong.push(`PROXY_LOG=${log}: raw C1 controls on stdout: ${JSON.stringify(raw)}`);
    for (const line of lines) {
      for (const c of controls) {
        const escaped = `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
        if (!line.toLowerCase().includes(escaped)) wrong.push(`PROXY_LOG=${log}: ${escaped} missing in ${line}`);
      }
      if (log === "json") {
        const requested = JSON.parse(line).requested_model;
        if (requested !== model) {
          wrong.push(`PROXY_LOG=json: requested_model reads back as ${JSON.stringify(requested)}`);
        }
      }
    }
  }
  assert.deepEqual(wrong, []);
});

// ------------------------------------------------------------------ 16. the first event with content decides

Deno.test("round3 16: a role-only first chunk followed by an error event falls back to the other route, on both doors", async () => {
  // before: the role-only chunk decided: each door relayed it, then the fast route's error; no fallback.
  const roleOnly = chatChunk({ role: "assistant", content: "" });
  const error = `data: {"error":{"message":"fast route overloaded","type":"server_error"}}\n\n`;
  await using fast = fakeBackend(() => fixedSse([roleOnly, error]));
  await using smart = fakeBackend(() =>
    fixedSse([roleOnly, text("from the smart route"), finish(), USAGE_CHUNK, DONE_EVENT])
  );
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, ROUND3));
  await eachCase({
    "/v1/chat/completions": async () => {
      const res = await send(proxy, "/v1/chat/completions", chat({ stream: true }));
      assert.equal(res.status, 200, res.text);
      assert.ok(!res.text.includes("overloaded") && !res.text.includes('"error"'), `no error: ${res.text}`);
      const content = dataJson(res.text).map((c) => (c as { choices?: { delta?: { content?: string } }[] }))
        .map((c) => c.choices?.[0]?.delta?.content ?? "").join("");
      assert.equal(content, "from the smart route");
      assert.ok(res.text.endsWith(DONE_EVENT), res.text);
      const line = await logFor(proxy, "/v1/chat/completions");
      assert.match(line, /-> smart:/, line);
    },
    "/v1/messages": async () => {
      const res = await send(proxy, "/v1/messages", claude({ stream: true }));
      assert.equal(res.status, 200, res.text);
      const events = anthropicEvents(res.text);
      assert.ok(!events.some((e) => e.type === "error"), `no error event: ${res.text}`);
      assert.equal(streamedText(events), "from the smart route");
      assert.equal(events.at(-1)?.type, "message_stop");
      const line = await logFor(proxy, "/v1/messages");
      assert.match(line, /-> smart:/, line);
    },
  });
});
