/**
 * Fault injection: the cases that tests/fallback_test.ts and
 * tests/streaming_test.ts do not already cover. Each asserts what the client
 * sees, what the backend saw, and that no key leaked.
 */

import assert from "node:assert/strict";
import { chunkEvent, completion, fakeBackend, jsonResponse, sseResponse } from "../support/fake_backend.ts";
import { logLines, post, startProxy, type TestProxy } from "../support/proxy.ts";
import { ALL_KEYS, chat, KEYS, MODELS, ONE_ATTEMPT, twoRoutes } from "../support/routes.ts";
import { chunkedSse, httpResponse, rawBackend, rawHttpBackend } from "../support/raw_tcp.ts";
import {
  assertNoKeys,
  deferred,
  delay,
  eventJson,
  EventReader,
  eventually,
  streamBackend,
  within,
} from "../support/stream_tools.ts";

const DONE = "data: [DONE]";
const encoder = new TextEncoder();

function goodBackend(route: "fast" | "smart") {
  return fakeBackend((seen) =>
    seen.json?.stream === true
      ? new Response(`${chunkEvent(`streamed by ${route}`)}${DONE}\n\n`, {
        headers: { "content-type": "text/event-stream" },
      })
      : jsonResponse(completion(`answer from ${route}`, MODELS[route]))
  );
}

function unusedBackend() {
  return fakeBackend(() => jsonResponse({ error: { message: "this route must not be used" } }, 500));
}

/** Everything the operator or the client could read from the proxy so far. */
function proxyOutput(proxy: TestProxy): string {
  return proxy.stdout.join("") + proxy.stderr.join("");
}

interface Health {
  routes: Record<"fast" | "smart", { breaker: { state: string; failures: number; until?: string } }>;
}

async function health(proxy: TestProxy): Promise<Health> {
  const text = await (await fetch(`${proxy.url}/health`)).text();
  assertNoKeys(text, ALL_KEYS, "/health");
  return JSON.parse(text);
}

/** Sends raw bytes to the proxy with `Connection: close` and returns the whole raw answer. */
async function rawRequest(proxy: TestProxy, head: string, body: string | Uint8Array): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.server.addr.port });
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  await conn.write(encoder.encode(`${head}\r\ncontent-length: ${bytes.length}\r\n\r\n`));
  await conn.write(bytes);
  return new TextDecoder().decode(await new Response(conn.readable).bytes());
}

// ---------------------------------------------------------------- key custody

Deno.test("upstream 401 whose body echoes the key: the key is masked, no fallback", async (t) => {
  const echo = (key: string) =>
    jsonResponse(
      {
        error: { message: `Incorrect API key provided: ${key}. Find yours at example.com.`, code: "invalid_api_key" },
      },
      401,
      { "x-echo": "none" },
    );
  for (const stream of [false, true]) {
    await t.step(stream ? "stream request" : "JSON request", async () => {
      await using fast = fakeBackend((seen) => echo(seen.headers.get("authorization")!.slice(7)));
      await using smart = unusedBackend();
      await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, ONE_ATTEMPT));
      const res = await chat(proxy, "fast", { stream });
      const text = await res.text();
      assert.equal(res.status, 401);
      assertNoKeys(text + JSON.stringify([...res.headers]), ALL_KEYS, "client response");
      const body = JSON.parse(text);
      assert.match(body.error.message, /^Incorrect API key provided: \*\*\*\. Find yours/);
      assert.equal(body.error.code, "invalid_api_key");
      assert.equal(fast.seen.length, 1);
      assert.equal(fast.seen[0].headers.get("authorization"), `Bearer ${KEYS.fast}`, "the backend did get the key");
      assert.equal(smart.seen.length, 0, "401 is not a route failure");
      assertNoKeys(proxyOutput(proxy), ALL_KEYS, "proxy output");
    });
  }
});

Deno.test("both routes fail echoing their keys: the primary's body reaches the client masked", async () => {
  await using fast = fakeBackend(() => jsonResponse({ error: { message: `bad gateway for ${KEYS.fast}` } }, 502));
  await using smart = fakeBackend(() => jsonResponse({ error: { message: `down for ${KEYS.smart}` } }, 503));
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, ONE_ATTEMPT));
  const res = await chat(proxy, "fast");
  const text = await res.text();
  assert.equal(res.status, 502);
  assert.deepEqual(JSON.parse(text), { error: { message: "bad gateway for ***" } });
  assert.equal(fast.seen.length, 1);
  assert.equal(smart.seen.length, 1);
  assertNoKeys(text + proxyOutput(proxy), ALL_KEYS, "client response and log");
});

Deno.test("a first SSE error event that echoes the key: masked in the 502 when both routes fail", async () => {
  const errorEvent = (key: string) => `data: {"error": {"message": "key ${key} is over quota"}}\n\n`;
  await using fast = fakeBackend((seen) => {
    const sse = sseResponse();
    sse.send(errorEvent(seen.headers.get("authorization")!.slice(7)));
    return sse.response;
  });
  await using smart = fakeBackend(() => jsonResponse({ error: { message: `smart down ${KEYS.smart}` } }, 500));
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, ONE_ATTEMPT));
  const res = await chat(proxy, "fast", { stream: true });
  const text = await res.text();
  assert.equal(res.status, 502);
  const body = JSON.parse(text);
  assert.equal(body.error.type, "upstream_error");
  assert.match(body.error.message, /key \*\*\* is over quota/);
  assertNoKeys(text + proxyOutput(proxy), ALL_KEYS, "client response and log");
  assert.equal(fast.seen.length, 1);
  assert.equal(smart.seen.length, 1);
});

Deno.test("hostile client headers and body fields change neither the destination nor the key", async (t) => {
  for (const inbound of [undefined, "pk-inbound-777777"]) {
    await t.step(inbound ? "with PROXY_API_KEYS" : "without inbound auth", async () => {
      await using evil = fakeBackend(() => jsonResponse(completion("evil answered")));
      await using fast = fakeBackend(() =>
        jsonResponse(completion("from the configured backend"), 200, { "set-cookie": "tracking=backend-cookie" })
      );
      await using smart = unusedBackend();
      await using proxy = await startProxy(
        twoRoutes(fast.baseUrl, smart.baseUrl, {
          ...ONE_ATTEMPT,
          ...(inbound ? { PROXY_API_KEYS: `other-key,${inbound}` } : {}),
        }),
      );
      const evilHost = new URL(evil.baseUrl).host;
      const clientSecrets = ["client-secret-A", "client-secret-B", "client-secret-C", "client-secret-D"];
      const body = JSON.stringify({
        model: "gpt-4",
        messages: [{ role: "user", content: "hi" }],
        api_base: evil.baseUrl,
        base_url: evil.baseUrl,
        api_key: "client-secret-E",
        extra_headers: { Authorization: "Bearer client-secret-F" },
      });
      const raw = await rawRequest(
        proxy,
        [
          "POST /v1/chat/completions?trace=1 HTTP/1.1",
          `Host: ${evilHost}`,
          `Authorization: Bearer ${inbound ?? "client-secret-A"}`,
          `x-api-key: ${inbound ? inbound : "client-secret-B"}`,
          "api-key: client-secret-C",
          "Cookie: session=client-secret-D",
          "Proxy-Authorization: Basic client-secret-G",
          "Connection: close, Authorization, X-Hop-Secret",
          "X-Hop-Secret: client-secret-H",
          "Keep-Alive: timeout=5",
          `X-Forwarded-Host: ${evilHost}`,
          `X-Original-Host: ${evilHost}`,
          `Forwarded: host=${evilHost}`,
          "X-Forwarded-For: 10.6.6.6",
          "Proxy-Connection: keep-alive",
          "TE: trailers",
          "OpenAI-Organization: org-client",
          "X-Custom-Passes: yes",
          "Content-Type: application/json",
        ].join("\r\n"),
        body,
      );
      const [head, answer] = raw.split("\r\n\r\n");
      assert.match(head, /^HTTP\/1\.1 200 /, raw);
      assert.doesNotMatch(head, /set-cookie/i, "Set-Cookie is not passed back");
      assert.match(answer, /from the configured backend/);
      assertNoKeys(raw, [...ALL_KEYS, ...(inbound ? [inbound] : [])], "client response");

      assert.equal(evil.seen.length, 0, "nothing in the request can redirect it");
      assert.equal(fast.seen.length, 1);
      const seen = fast.seen[0];
      assert.equal(seen.path, "/v1/chat/completions?trace=1");
      assert.equal(seen.headers.get("authorization"), `Bearer ${KEYS.fast}`);
      assert.equal(seen.headers.get("host"), new URL(fast.baseUrl).host);
      assert.equal(seen.headers.get("x-custom-passes"), "yes");
      for (
        const name of [
          "x-api-key",
          "api-key",
          "cookie",
          "proxy-authorization",
          "x-hop-secret",
          "keep-alive",
          "x-forwarded-host",
          "x-original-host",
          "forwarded",
          "x-forwarded-for",
          "proxy-connection",
          "te",
          "openai-organization",
        ]
      ) {
        assert.equal(seen.headers.get(name), null, `${name} must not reach the backend`);
      }
      const upstreamHeaders = JSON.stringify([...seen.headers]);
      assertNoKeys(upstreamHeaders, [...clientSecrets, "client-secret-G", "client-secret-H"], "upstream headers");
      if (inbound) assertNoKeys(upstreamHeaders + seen.body, [inbound], "upstream request");
      // Body fields are forwarded as body fields at most, never used.
      assert.equal(seen.json?.model, MODELS.fast);
      assert.equal(seen.json?.api_base, evil.baseUrl);
      assert.deepEqual(seen.json?.extra_headers, { Authorization: "Bearer client-secret-F" });
      assertNoKeys(proxyOutput(proxy), [...ALL_KEYS, ...clientSecrets, ...(inbound ? [inbound] : [])], "log");
    });
  }
});

Deno.test("upstream 307 to another host is not followed: the key stays home", async () => {
  await using evil = fakeBackend(() => jsonResponse(completion("stolen")));
  await using fast = fakeBackend(() =>
    new Response(null, { status: 307, headers: { location: `${evil.baseUrl}/chat/completions` } })
  );
  await using smart = goodBackend("smart");
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, ONE_ATTEMPT));
  const res = await chat(proxy, "fast");
  const text = await res.text();
  assert.ok(res.status >= 300, `status ${res.status}: the redirect is not followed`);
  assert.doesNotMatch(text, /stolen/);
  assert.equal(evil.seen.length, 0, "the redirect target never sees the request (nor the key)");
  assert.equal(fast.seen.length, 1);
  assertNoKeys(text + JSON.stringify([...res.headers]) + proxyOutput(proxy), ALL_KEYS, "client response and log");
  if (res.status === 502) assert.equal(JSON.parse(text).error.code, "upstream_redirect");
});

// ---------------------------------------------------------------- bad input

Deno.test("body over PROXY_MAX_BODY_MB: 413 and no upstream call", async (t) => {
  await using fast = goodBackend("fast");
  await using smart = goodBackend("smart");
  await using proxy = await startProxy(
    twoRoutes(fast.baseUrl, smart.baseUrl, { ...ONE_ATTEMPT, PROXY_MAX_BODY_MB: "0.01" }),
  );
  const big = JSON.stringify({ model: "fast", messages: [{ role: "user", content: "x".repeat(20_000) }] });

  await t.step("with Content-Length", async () => {
    const res = await post(`${proxy.url}/v1/chat/completions`, big);
    assert.equal(res.status, 413);
    assert.equal((await res.json()).error.code, "request_too_large");
  });
  await t.step("chunked, without Content-Length", async () => {
    const bytes = encoder.encode(big);
    let at = 0;
    const res = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new ReadableStream({
        pull(c) {
          if (at >= bytes.length) return c.close();
          c.enqueue(bytes.slice(at, at + 4096));
          at += 4096;
        },
      }),
    });
    assert.equal(res.status, 413);
    const body = await res.json();
    assert.equal(body.error.type, "invalid_request_error");
  });
  await t.step("a body just under the limit still goes through", async () => {
    const res = await chat(proxy, "fast", { note: "y".repeat(8000) });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });
  assert.equal(fast.seen.length, 1, "only the small request reached a backend");
  assert.equal(smart.seen.length, 0);
});

Deno.test("malformed bodies: 400 OpenAI-shaped, no upstream call", async () => {
  await using fast = goodBackend("fast");
  await using smart = goodBackend("smart");
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, ONE_ATTEMPT));
  const cases: [string, BodyInit][] = [
    ["malformed JSON", '{"model": "fast", "messages": [}'],
    ["JSON array", '[{"model": "fast"}]'],
    ["JSON string", '"fast"'],
    ["empty body", ""],
    ["invalid UTF-8", new Uint8Array([0x7b, 0x22, 0x6d, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
  ];
  for (const [name, body] of cases) {
    const res = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    const json = await res.json();
    assert.equal(res.status, 400, name);
    assert.equal(json.error.type, "invalid_request_error", name);
    assert.equal(typeof json.error.message, "string", name);
    assert.equal(typeof json.error.code, "string", name);
  }
  assert.equal(fast.seen.length + smart.seen.length, 0);
});

// ---------------------------------------------------------------- Retry-After

Deno.test("429 Retry-After forms: seconds, HTTP-date, retry-after-ms, garbage, huge", async (t) => {
  const cases: { name: string; headers: () => Record<string, string>; cooling?: [number, number] }[] = [
    { name: "delay-seconds", headers: () => ({ "retry-after": "2" }), cooling: [1800, 2300] },
    {
      name: "HTTP-date",
      headers: () => ({ "retry-after": new Date(Date.now() + 6000).toUTCString() }),
      cooling: [4500, 6300],
    },
    { name: "retry-after-ms", headers: () => ({ "retry-after-ms": "1500" }), cooling: [1300, 1800] },
    { name: "huge (capped at 300 s)", headers: () => ({ "retry-after": "99999999" }), cooling: [290_000, 300_500] },
    { name: "garbage (ignored)", headers: () => ({ "retry-after": "soon-ish, maybe" }) },
    { name: "past HTTP-date", headers: () => ({ "retry-after": "Sun, 06 Nov 1994 08:49:37 GMT" }), cooling: [0, 0] },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await using fast = fakeBackend(() => jsonResponse({ error: { message: "rate limited" } }, 429, c.headers()));
      await using smart = goodBackend("smart");
      await using proxy = await startProxy(
        twoRoutes(fast.baseUrl, smart.baseUrl, {
          ...ONE_ATTEMPT,
          PROXY_BREAKER_FAILURES: "3",
          PROXY_BREAKER_COOLDOWN: "30",
        }),
      );
      const before = Date.now();
      const res = await chat(proxy, "fast");
      assert.equal(res.status, 200, "the 429 falls back");
      assert.equal((await res.json()).choices[0].message.content, "answer from smart");
      assert.equal(fast.seen.length, 1);
      assert.equal(smart.seen.length, 1);
      const breaker = (await health(proxy)).routes.fast.breaker;
      if (c.cooling === undefined) {
        assert.equal(breaker.state, "closed", "garbage does not cool the route at once");
        assert.equal(breaker.failures, 1);
      } else if (c.cooling[1] === 0) {
        assert.notEqual(breaker.state, "cooling", "a date in the past means no wait");
      } else {
        assert.equal(breaker.state, "cooling");
        const ms = Date.parse(breaker.until!) - before;
        assert.ok(ms >= c.cooling[0] && ms <= c.cooling[1], `cooling for ${ms} ms`);
      }
    });
  }
});

Deno.test("both routes answer 429 with garbage Retry-After: the client gets a sane one", async () => {
  await using fast = fakeBackend(() => jsonResponse({ error: { message: "fast limit" } }, 429, { "retry-after": "x" }));
  await using smart = fakeBackend(() =>
    jsonResponse({ error: { message: "smart limit" } }, 429, { "retry-after": "-5" })
  );
  await using proxy = await startProxy(
    twoRoutes(fast.baseUrl, smart.baseUrl, { ...ONE_ATTEMPT, PROXY_BREAKER_COOLDOWN: "4" }),
  );
  const res = await chat(proxy, "fast");
  assert.equal(res.status, 429);
  assert.deepEqual(await res.json(), { error: { message: "fast limit" } });
  const after = res.headers.get("retry-after");
  assert.match(after ?? "", /^\d+$/, `Retry-After ${after}`);
  assert.ok(Number(after) >= 1 && Number(after) <= 300);
  assert.equal(fast.seen.length, 1);
  assert.equal(smart.seen.length, 1);
});

// ---------------------------------------------------------------- partial answers

Deno.test("JSON headers then a stalled body count as a timeout and fall back", async () => {
  const cancelled = deferred();
  await using fast = fakeBackend(() =>
    new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(encoder.encode('{"id": "chatcmpl-slow", "choices": ['));
        },
        cancel() {
          cancelled.resolve();
        },
      }),
      { headers: { "content-type": "application/json" } },
    )
  );
  await using smart = goodBackend("smart");
  await using proxy = await startProxy(
    twoRoutes(fast.baseUrl, smart.baseUrl, { ...ONE_ATTEMPT, PROXY_TIMEOUT: "0.3" }),
  );
  const res = await chat(proxy, "fast");
  assert.equal(res.status, 200);
  assert.equal((await res.json()).choices[0].message.content, "answer from smart");
  await within(cancelled.promise, 2000, "the stalled body to be abandoned");
  assert.equal(fast.seen.length, 1);
  assert.equal(smart.seen.length, 1);
  assert.equal(smart.seen[0].json?.model, MODELS.smart);
  assert.match((await logLines(proxy))[0], /fallback=timeout/);
});

Deno.test("raw TCP: headers then a cut-off JSON body is a connection error and falls back", async () => {
  await using cut = rawBackend({
    kind: "partial",
    text: 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n{"id": "cut',
  });
  await using smart = goodBackend("smart");
  await using proxy = await startProxy(twoRoutes(cut.baseUrl, smart.baseUrl, ONE_ATTEMPT));
  const res = await chat(proxy, "fast");
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.equal(JSON.parse(text).choices[0].message.content, "answer from smart");
  assert.equal(cut.connections.length, 1);
  assert.match(await cut.connections[0].head, new RegExp(`authorization: Bearer ${KEYS.fast}`, "i"));
  assert.equal(smart.seen.length, 1);
});

Deno.test("raw TCP: a chunked SSE stream cut mid-way ends with an error event, no [DONE]", async () => {
  await using cut = rawBackend({ kind: "partial", text: chunkedSse([chunkEvent("one"), chunkEvent("two")], true) });
  await using smart = unusedBackend();
  await using proxy = await startProxy(twoRoutes(cut.baseUrl, smart.baseUrl, ONE_ATTEMPT));
  const res = await chat(proxy, "fast", { stream: true });
  assert.equal(res.status, 200);
  const events = await new EventReader(res).rest();
  assert.equal(events.length, 3, JSON.stringify(events));
  assert.equal(events[0], chunkEvent("one").trimEnd());
  assert.equal(events[1], chunkEvent("two").trimEnd());
  assert.ok((eventJson(events[2]).error as { message: string }).message.length > 0);
  assert.ok(!events.includes(DONE));
  assertNoKeys(events.join("\n"), ALL_KEYS, "client stream");
  assert.equal(smart.seen.length, 0, "no fallback once events were sent");
  await eventually(() => proxy.server.proxy.relays.size === 0, 1000, "the relay to close");
});

// ---------------------------------------------------------------- slow readers

Deno.test("a slow client: backpressure reaches the backend, other clients are unaffected", async () => {
  const EVENT = encoder.encode(`data: {"pad": "${"x".repeat(64 * 1024)}"}\n\n`);
  const END = encoder.encode(`${DONE}\n\n`);
  // 100 MB in all: more than every socket buffer between the three parties can hold (tcp_rmem/wmem max).
  const TOTAL = 1600;
  let pulls = 0;
  const finished = deferred();
  await using fast = fakeBackend((seen) => {
    if (seen.json?.stream !== true) return jsonResponse(completion("quick answer"));
    return new Response(
      new ReadableStream<Uint8Array>({
        pull(c) {
          pulls++;
          if (pulls <= TOTAL) c.enqueue(EVENT);
          else {
            c.enqueue(END);
            c.close();
            finished.resolve();
          }
        },
      }, { highWaterMark: 0 }),
      { headers: { "content-type": "text/event-stream" } },
    );
  });
  await using smart = unusedBackend();
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, ONE_ATTEMPT));
  const res = await chat(proxy, "fast", { stream: true });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  let received = 0;
  while (received < 3 * EVENT.length) {
    const { done, value } = await within(reader.read(), 3000, "the first events");
    assert.ok(!done);
    received += value.length;
  }

  // The client now stops reading: the pause is the behaviour under test. The socket buffers between
  // the parties fill (slower on a busy machine), then the pulls must stop well short of the total.
  let stalled = pulls;
  for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
    await delay(250);
    if (pulls === stalled) break;
    stalled = pulls;
  }
  assert.ok(stalled < TOTAL, `the proxy read all ${TOTAL} events ahead of a client that read 3`);
  await delay(250);
  assert.equal(pulls, stalled, "nothing more is pulled from the backend while the client does not read");

  // Meanwhile another client is served at once.
  const other = await within(chat(proxy, "fast"), 2000, "another client's answer");
  assert.equal((await other.json()).choices[0].message.content, "quick answer");

  // Reading resumes: the backend is pulled again, and every byte arrives, once.
  let tail = new Uint8Array(0);
  for (;;) {
    const { done, value } = await within(reader.read(), 5000, "the rest of the stream");
    if (done) break;
    received += value.length;
    tail = value;
  }
  assert.equal(received, TOTAL * EVENT.length + END.length);
  assert.ok(new TextDecoder().decode(tail).endsWith(`${DONE}\n\n`));
  await within(finished.promise, 1000, "the backend to finish");
  assert.equal(pulls, TOTAL + 1);
  assert.equal(fast.seen.length, 2);
  assert.equal(smart.seen.length, 0);
});

// ---------------------------------------------------------------- shutdown

Deno.test("graceful shutdown with live streams: finishing ones finish, the rest get an error event", async () => {
  await using fast = streamBackend();
  await using hung = rawBackend({ kind: "hang" });
  const proxy = await startProxy(twoRoutes(fast.baseUrl, hung.baseUrl, ONE_ATTEMPT));
  try {
    // Two live streams on fast, and a JSON request waiting on the hung smart backend.
    const pendingA = chat(proxy, "fast", { stream: true });
    const a = await fast.stream(0);
    a.send(chunkEvent("a1"));
    const clientA = new EventReader(await pendingA);
    assert.equal(await clientA.next(), chunkEvent("a1").trimEnd());
    const pendingB = chat(proxy, "fast", { stream: true });
    const b = await fast.stream(1);
    b.send(chunkEvent("b1"));
    const clientB = new EventReader(await pendingB);
    assert.equal(await clientB.next(), chunkEvent("b1").trimEnd());
    const waiting = chat(proxy, "smart");
    await within(hung.connection(0), 2000, "the waiting request to reach its backend");

    const closed = proxy.close(400);
    // B finishes within the grace period, untouched.
    b.send(chunkEvent("b2"));
    b.send(`${DONE}\n\n`);
    b.end();
    assert.deepEqual(await clientB.rest(), [chunkEvent("b2").trimEnd(), DONE]);

    // A does not: after the grace it ends with an SSE error event, and its upstream is aborted.
    const restA = await clientA.rest(3000);
    assert.equal(restA.length, 1, JSON.stringify(restA));
    assert.equal((eventJson(restA[0]).error as { code: string }).code, "proxy_shutdown");
    assert.ok(!clientA.events.includes(DONE));
    await within(a.cancelled, 2000, "stream A's upstream to be cancelled");

    // The waiting request gets a 503, not a fallback and not silence.
    const res = await waiting;
    assert.equal(res.status, 503);
    assert.equal((await res.json()).error.code, "proxy_shutdown");
    await within(hung.connections[0].closedByPeer, 2000, "the waiting upstream to be closed");

    assert.equal(await within(closed, 3000, "close() to resolve"), 0);
    assert.equal(proxy.server.proxy.relays.size, 0);
    assert.equal(fast.seen.length, 2, "no fallback attempt during shutdown");
    assertNoKeys(proxyOutput(proxy), ALL_KEYS, "proxy output");
  } finally {
    await proxy.close();
  }
});

Deno.test("shutdown: new connections are refused once it starts", async () => {
  await using fast = streamBackend();
  await using smart = unusedBackend();
  const proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, ONE_ATTEMPT));
  try {
    const pending = chat(proxy, "fast", { stream: true });
    const up = await fast.stream(0);
    up.send(chunkEvent("1"));
    const events = new EventReader(await pending);
    assert.equal(await events.next(), chunkEvent("1").trimEnd());
    const closed = proxy.close(2000);
    const client = Deno.createHttpClient({});
    try {
      await assert.rejects(fetch(`${proxy.url}/health`, { client }));
    } finally {
      client.close();
    }
    up.send(`${DONE}\n\n`);
    up.end();
    assert.deepEqual(await events.rest(), [DONE]);
    assert.equal(await within(closed, 2000, "close() once the last stream ended"), 0);
    assert.equal(fast.seen.length, 1);
  } finally {
    await proxy.close();
  }
});

// ---------------------------------------------------------------- soak

Deno.test("soak: 2000 requests, 200 concurrent, mixed failures: all answered, nothing left open", async () => {
  const TOTAL = 2000;
  const CONCURRENCY = 200;
  type Kind = "ok" | "fail_over" | "both_fail" | "stream" | "truncated" | "broken";
  const KINDS: Kind[] = [
    "ok",
    "ok",
    "ok",
    "ok",
    "fail_over",
    "fail_over",
    "both_fail",
    "stream",
    "truncated",
    "broken",
  ];
  // Raw TCP, so a stream can be cut inside its chunked body, as a dying backend does.
  await using fast = rawHttpBackend((seen) => {
    switch (seen.json?.kind as Kind) {
      case "ok":
        return httpResponse(200, "application/json", JSON.stringify(completion("fast ok")));
      case "fail_over":
      case "both_fail":
        return httpResponse(503, "application/json", '{"error": {"message": "fast overloaded"}}');
      case "stream":
        return chunkedSse([chunkEvent("s1"), chunkEvent("s2"), `${DONE}\n\n`], false);
      case "truncated":
        return chunkedSse([chunkEvent("t1"), chunkEvent("t2")], false);
      default:
        return chunkedSse([chunkEvent("b1"), chunkEvent("b2")], true);
    }
  });
  await using smart = fakeBackend((seen) =>
    seen.json?.kind === "both_fail"
      ? jsonResponse({ error: { message: "smart overloaded" } }, 503)
      : jsonResponse(completion("smart ok"))
  );
  // The breaker is off so every request's path is deterministic.
  await using proxy = await startProxy(
    twoRoutes(fast.baseUrl, smart.baseUrl, { ...ONE_ATTEMPT, PROXY_BREAKER_FAILURES: "0", PROXY_LOG: "off" }),
  );
  const heapBefore = Deno.memoryUsage().heapUsed;

  const counts: Record<string, number> = {};
  let next = 0;
  const worker = async () => {
    while (next < TOTAL) {
      const i = next++;
      const kind = KINDS[i % KINDS.length];
      const stream = kind === "stream" || kind === "truncated" || kind === "broken";
      const res = await chat(proxy, i % 2 === 0 ? "gpt-4" : "fast", { stream, kind, n: i });
      const text = await res.text();
      assertNoKeys(text, ALL_KEYS, "client response");
      let outcome: string;
      if (kind === "both_fail") {
        assert.equal(res.status, 503);
        outcome = JSON.parse(text).error.message;
      } else if (!stream) {
        assert.equal(res.status, 200, text);
        outcome = JSON.parse(text).choices[0].message.content;
      } else {
        assert.equal(res.status, 200, text);
        const last = text.trimEnd().split("\n\n").at(-1)!;
        outcome = last === DONE ? "done" : (eventJson(last).error as { code: string }).code;
        assert.ok(kind === "stream" || !text.includes(DONE), "never a fabricated [DONE]");
        assert.ok(text.startsWith(chunkEvent(`${kind[0]}1`)), "the backend's events come first");
      }
      const key = `${kind}:${outcome}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
  };
  await within(Promise.all(Array.from({ length: CONCURRENCY }, worker)), 60_000, "the soak to finish");

  const per = TOTAL / KINDS.length;
  assert.deepEqual(counts, {
    "ok:fast ok": 4 * per,
    "fail_over:smart ok": 2 * per,
    "both_fail:fast overloaded": per,
    "stream:done": per,
    "truncated:upstream_stream_truncated": per,
    "broken:upstream_stream_broken": per,
  });
  assert.equal(fast.seen.length, TOTAL);
  assert.equal(smart.seen.length, 3 * per);
  for (const seen of fast.seen) {
    assert.equal(seen.json?.model, MODELS.fast);
    assert.equal(seen.headers.get("authorization"), `Bearer ${KEYS.fast}`);
  }
  for (const seen of smart.seen) {
    assert.equal(seen.json?.model, MODELS.smart);
    assert.equal(seen.headers.get("authorization"), `Bearer ${KEYS.smart}`);
  }
  // Nothing left open: no relay, no upstream connection, and the heap is not holding the traffic.
  await eventually(() => proxy.server.proxy.relays.size === 0, 2000, "every relay to close");
  await eventually(() => fast.open === 0, 2000, "every upstream connection to close");
  const h = await (await fetch(`${proxy.url}/health`)).json();
  assert.equal(h.open_streams, 0);
  const grown = Deno.memoryUsage().heapUsed - heapBefore;
  assert.ok(grown < 64 * 1024 * 1024, `heap grew by ${Math.round(grown / 1048576)} MB`);
});

Deno.test("a mid-stream error event that echoes the key: masked before it reaches the client", async () => {
  await using fast = streamBackend();
  await using smart = unusedBackend();
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, ONE_ATTEMPT));
  const pending = chat(proxy, "fast", { stream: true });
  const up = await fast.stream(0);
  up.send(chunkEvent("1"));
  const events = new EventReader(await pending);
  assert.equal(await events.next(), chunkEvent("1").trimEnd());
  const key = up.seen.headers.get("authorization")!.slice(7);
  assert.equal(key, KEYS.fast);
  up.send(`data: {"error": {"message": "key ${key} was revoked mid-generation", "type": "auth"}}\n\n`);
  up.end();
  const rest = await events.rest();
  assert.ok(rest.length >= 1, JSON.stringify(rest));
  assertNoKeys(rest.join("\n"), ALL_KEYS, "client stream");
  assert.match(rest[0], /key \*\*\* was revoked/);
  assert.ok(!events.events.includes(DONE));
  assert.equal(smart.seen.length, 0);
});

Deno.test("shutdown: a never-ending pass-through body cannot hold the exit past the grace period", async () => {
  // Audio and other non-SSE bodies pass through untouched, so no SSE error event can end them.
  const audio = sseResponse();
  await using backend = fakeBackend(() =>
    new Response(audio.response.body, { headers: { "content-type": "audio/mpeg" } })
  );
  const proxy = await startProxy({ FAST_BASE_URL: backend.baseUrl, FAST_MODEL_NAME: "m" });
  const res = await post(`${proxy.url}/v1/audio/speech`, { model: "tts", input: "hi" });
  audio.send("ID3-first-bytes");
  const reader = res.body!.getReader();
  assert.equal(new TextDecoder().decode((await reader.read()).value), "ID3-first-bytes");
  const code = await within(proxy.close(200), 10_000, "shutdown to finish despite the endless body");
  assert.equal(code, 0);
  await reader.cancel().catch(() => {});
  await within(audio.cancelled, 5000, "the upstream body to be released");
});

// ------------------------------------------- compressed answers a client did not ask for

async function gzip(text: string | Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  return await new Response(
    new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip")),
  ).bytes();
}

Deno.test("a backend that gzips although asked for identity: the client gets readable JSON", async () => {
  const answer = JSON.stringify(completion("squeezed", MODELS.fast));
  const body = await gzip(answer);
  await using backend = fakeBackend((seen) => {
    assert.equal(seen.headers.get("accept-encoding"), "identity");
    return new Response(body, { headers: { "content-type": "application/json", "content-encoding": "gzip" } });
  });
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, backend.baseUrl, ONE_ATTEMPT));
  const res = await chat(proxy, "fast");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-encoding"), null);
  assert.deepEqual(await res.json(), JSON.parse(answer));
});

Deno.test("a gzip SSE stream is decoded and relayed event by event", async () => {
  const events = `${chunkEvent("one")}${chunkEvent("two")}${DONE}\n\n`;
  const body = await gzip(events);
  await using backend = fakeBackend(() =>
    new Response(body, { headers: { "content-type": "text/event-stream", "content-encoding": "gzip" } })
  );
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, backend.baseUrl, ONE_ATTEMPT));
  const res = await chat(proxy, "fast", { stream: true });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-encoding"), null);
  assert.equal(await res.text(), events);
});

Deno.test("a gzip error body echoing the key is masked after decoding", async () => {
  const body = await gzip(JSON.stringify({ error: { message: `bad key ${KEYS.fast}` } }));
  await using backend = fakeBackend(() =>
    new Response(body, { status: 401, headers: { "content-type": "application/json", "content-encoding": "gzip" } })
  );
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, backend.baseUrl, ONE_ATTEMPT));
  const res = await chat(proxy, "fast");
  assert.equal(res.status, 401);
  const text = await res.text();
  assert.equal(JSON.parse(text).error.message, "bad key ***");
  assertNoKeys(text, ALL_KEYS, "decoded error body");
});

Deno.test("an encoding modelpin cannot decode is a clear 502, never bytes labelled as JSON", async () => {
  await using backend = fakeBackend(() =>
    new Response(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]), {
      headers: { "content-type": "application/json", "content-encoding": "zstd" },
    })
  );
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, backend.baseUrl, ONE_ATTEMPT));
  const res = await chat(proxy, "fast");
  assert.equal(res.status, 502);
  const error = (await res.json()).error;
  assert.equal(error.code, "upstream_bad_encoding");
  assert.match(error.message, /zstd/);
});

Deno.test("a gzip bomb: a 256 MiB answer from 255 KiB keeps the proxy's memory bounded", async () => {
  const bomb = await gzip(new Uint8Array(256 * 1024 * 1024));
  await using backend = fakeBackend(() =>
    new Response(bomb, { headers: { "content-type": "application/json", "content-encoding": "gzip" } })
  );
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, backend.baseUrl, ONE_ATTEMPT));
  const before = Deno.memoryUsage().rss;
  let peak = before;
  const res = await chat(proxy, "fast");
  // Either a clear refusal or a body that streams through: read it (slowly enough to matter) and watch memory.
  const reader = res.body!.getReader();
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.length;
    peak = Math.max(peak, Deno.memoryUsage().rss);
  }
  const grew = (peak - before) / 1024 / 1024;
  assert.ok(grew < 150, `the proxy grew by ${grew.toFixed(0)} MB while decoding`);
  assert.ok(res.status === 502 || received === 256 * 1024 * 1024, `status ${res.status}, ${received} bytes`);
});

// ------------------------------------------------ statuses modelpin cannot relay

Deno.test("raw TCP: a 101 Switching Protocols to a POST, and a status of 999, become a 502 naming the status", async () => {
  for (const status of [101, 999]) {
    await using backend = rawHttpBackend(() =>
      `HTTP/1.1 ${status} Odd\r\nconnection: upgrade\r\nupgrade: websocket\r\ncontent-length: 0\r\n\r\n`
    );
    await using proxy = await startProxy(twoRoutes(backend.baseUrl, backend.baseUrl, ONE_ATTEMPT));
    const res = await chat(proxy, "fast");
    const text = await res.text();
    assert.equal(res.status, 502, `${status}: ${text}`);
    const error = JSON.parse(text).error;
    assert.equal(error.code, "upstream_bad_status");
    assert.match(error.message, new RegExp(`\\b${status}\\b`));
    assert.doesNotMatch(proxyOutput(proxy), /RangeError|internal error/);
  }
});

Deno.test("a non-SSE answer that stalls after its headers ends at PROXY_IDLE_TIMEOUT, its upstream aborted", async () => {
  const upstreamGone = deferred();
  await using backend = fakeBackend(() =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(encoder.encode("partial "));
        },
        cancel() {
          upstreamGone.resolve();
        },
      }),
      { headers: { "content-type": "text/plain" } },
    )
  );
  await using proxy = await startProxy(
    twoRoutes(backend.baseUrl, backend.baseUrl, { ...ONE_ATTEMPT, PROXY_IDLE_TIMEOUT: "0.3" }),
  );
  const res = await fetch(`${proxy.url}/v1/files/file-1/content`);
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  assert.equal(new TextDecoder().decode((await reader.read()).value), "partial ");
  await assert.rejects(
    within(reader.read(), 5000, "the stalled body to end"),
    "the client sees the body fail, not hang",
  );
  await within(upstreamGone.promise, 5000, "the upstream body to be cancelled");
});
