/**
 * End-to-end streaming tests: SSE passes event by event, the first event
 * decides fallback, broken and idle streams end with an SSE error event, and
 * a client that leaves aborts the upstream.
 */

import assert from "node:assert/strict";
import { chunkEvent, completion, fakeBackend, jsonResponse } from "../support/fake_backend.ts";
import { logLines, startProxy, type TestProxy } from "../support/proxy.ts";
import { ALL_KEYS, KEYS, MODELS, twoRoutes } from "../support/routes.ts";
import { rawBackend } from "../support/raw_tcp.ts";
import {
  aborted,
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

// PROXY_RETRIES is left at its default here (no ONE_ATTEMPT): where a test finds a route tried once, that also
// pins that a broken or stalled stream is not retried on its own route.

function streamChat(
  proxy: TestProxy,
  model = "fast",
  init: { headers?: Record<string, string>; signal?: AbortSignal; stream?: boolean } = {},
) {
  return fetch(`${proxy.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer client-key", ...init.headers },
    body: JSON.stringify({ model, stream: init.stream ?? true, messages: [{ role: "user", content: "hi" }] }),
    signal: init.signal,
  });
}

/** Sends one content event, then `[DONE]`, and ends the stream: a backend that answers well. */
function complete(up: { send: (text: string) => void; end: () => void }, content: string): void {
  up.send(chunkEvent(content));
  up.send("data: [DONE]\n\n");
  up.end();
}

/** `chunkEvent` without its blank line, as EventReader returns events. */
const ev = (content: string) => chunkEvent(content).trimEnd();

/** A backend every request of which fails the test (the route must not be used). */
function unusedBackend() {
  return fakeBackend(() => jsonResponse({ error: { message: "this route must not be used" } }, 500));
}

function assertErrorEvent(event: string | null | undefined, code?: string): void {
  assert.ok(event, "an error event ends the stream");
  assert.match(event, /^data: \{"error"/);
  const error = eventJson(event).error as Record<string, unknown>;
  assert.equal(typeof error.message, "string");
  assert.equal(typeof error.type, "string");
  if (code) assert.equal(error.code, code);
  assertNoKeys(event, ALL_KEYS, "error event");
}

function assertStreamHeaders(res: Response): void {
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  assert.equal(res.headers.get("cache-control"), "no-cache");
  assert.equal(res.headers.get("x-accel-buffering"), "no");
  assert.equal(res.headers.get("content-encoding"), null);
}

Deno.test("stream: events pass one by one, as they arrive (handshake, no buffering)", async () => {
  await using backend = streamBackend();
  await using smart = unusedBackend();
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, smart.baseUrl));

  const pending = streamChat(proxy, "gpt-4", { headers: { "accept-encoding": "gzip, deflate, br" } });
  const up = await backend.stream(0);
  // Headers are only sent after the first event (it decides fallback), so send it before awaiting them.
  up.send(chunkEvent("one"));
  const client = await pending;
  assertStreamHeaders(client);
  const events = new EventReader(client);
  assert.equal(await events.next(), ev("one"));
  // Each event reaches the client before the backend has produced the next one.
  for (const word of ["two", "three", "four"]) {
    up.send(chunkEvent(word));
    assert.equal(await events.next(), ev(word));
  }
  up.send("data: [DONE]\n\n");
  assert.equal(await events.next(), DONE);
  // [DONE] is the end: the client's stream closes without waiting for the backend to close.
  assert.equal(await events.next(), null);
  await within(up.cancelled, 3000, "the upstream body to be let go after [DONE]");

  assert.equal(backend.seen.length, 1);
  assert.equal(backend.seen[0].json?.model, MODELS.fast);
  assert.equal(backend.seen[0].json?.stream, true);
  assert.equal(backend.seen[0].headers.get("authorization"), `Bearer ${KEYS.fast}`);
  assert.equal(smart.seen.length, 0);
  await eventually(() => proxy.server.proxy.relays.size === 0, 1000, "the relay to close");
  assert.match((await logLines(proxy))[0], /stream end=complete fallback=no/);
});

Deno.test("stream: no compression even when the client accepts gzip, whatever the backend's headers", async () => {
  await using backend = fakeBackend(() =>
    new Response(`${chunkEvent("x".repeat(4000))}data: [DONE]\n\n`, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "max-age=600" },
    })
  );
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, backend.baseUrl.replace("/v1", "/v2")));
  // A raw request, so nothing on the client side decompresses silently.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.server.addr.port });
  const body = JSON.stringify({ model: "fast", stream: true, messages: [] });
  await conn.write(
    new TextEncoder().encode(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
        `accept-encoding: gzip, br\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    ),
  );
  const raw = new TextDecoder().decode(await new Response(conn.readable).bytes());
  const [head, ...rest] = raw.split("\r\n\r\n");
  assert.match(head, /^HTTP\/1\.1 200/);
  assert.doesNotMatch(head, /content-encoding/i);
  assert.match(head, /\r\ncache-control: no-cache\r\n/i);
  assert.match(head, /\r\nx-accel-buffering: no/i);
  assert.match(head, /\r\ncontent-type: text\/event-stream/i);
  assert.ok(rest.join("\r\n\r\n").includes("x".repeat(4000)), "the body is plain text");
  assert.equal(backend.seen[0].headers.get("accept-encoding"), "identity");
});

Deno.test("stream: a stream running longer than PROXY_TIMEOUT completes", async () => {
  await using backend = streamBackend();
  await using smart = unusedBackend();
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, smart.baseUrl, { PROXY_TIMEOUT: "0.2" }));
  const pending = streamChat(proxy);
  const up = await backend.stream(0);
  up.send(chunkEvent("0"));
  const events = new EventReader(await pending);
  assert.equal(await events.next(), ev("0"));
  const started = Date.now();
  // Five pauses of 0.1 s: the stream lasts 2.5 x PROXY_TIMEOUT after its first event.
  for (let i = 1; i <= 5; i++) {
    await delay(100);
    up.send(chunkEvent(String(i)));
    assert.equal(await events.next(), ev(String(i)));
  }
  up.send("data: [DONE]\n\n");
  up.end();
  assert.equal(await events.next(), DONE);
  assert.equal(await events.next(), null);
  assert.ok(Date.now() - started >= 400, "the stream outlived PROXY_TIMEOUT");
  assert.equal(smart.seen.length, 0, "no fallback for a slow but healthy stream");
});

Deno.test("stream fallback: a first event that is an error goes to the other route", async (t) => {
  for (
    const [name, errorEvent] of [
      ["data: {error}", 'data: {"error": {"message": "model overloaded", "type": "server_error"}}\n\n'],
      ["event: error", "event: error\ndata: upstream exploded\n\n"],
    ]
  ) {
    for (const primary of ["fast", "smart"] as const) {
      await t.step(`${name}, ${primary} first`, async () => {
        await using bad = streamBackend();
        await using good = streamBackend();
        const secondary = primary === "fast" ? "smart" : "fast";
        const urls = primary === "fast" ? [bad.baseUrl, good.baseUrl] : [good.baseUrl, bad.baseUrl];
        await using proxy = await startProxy(twoRoutes(urls[0], urls[1]));
        const pending = streamChat(proxy, primary);
        const failing = await bad.stream(0);
        failing.send(": warming up\n\n");
        failing.send(errorEvent);
        await within(failing.cancelled, 2000, "the failed stream to be cancelled");

        const up = await good.stream(0);
        complete(up, "from the other route");
        const res = await pending;
        assertStreamHeaders(res);
        const events = await new EventReader(res).rest();
        assert.deepEqual(events, [ev("from the other route"), DONE], "nothing of the failed stream is seen");

        assert.equal(bad.seen.length, 1);
        assert.equal(bad.seen[0].json?.model, MODELS[primary]);
        assert.equal(good.seen.length, 1);
        assert.equal(good.seen[0].json?.model, MODELS[secondary]);
        assert.equal(good.seen[0].headers.get("authorization"), `Bearer ${KEYS[secondary]}`);
        assert.match((await logLines(proxy))[0], /fallback=bad_stream/);
      });
    }
  }
});

Deno.test("stream fallback: 200 SSE headers then a stall before the first event times out", async () => {
  await using bad = streamBackend();
  await using good = streamBackend();
  await using proxy = await startProxy(twoRoutes(bad.baseUrl, good.baseUrl, { PROXY_TIMEOUT: "0.3" }));
  const pending = streamChat(proxy, "fast");
  const stalled = await bad.stream(0); // headers are out; no event ever comes
  const up = await good.stream(0);
  await within(stalled.cancelled, 2000, "the stalled stream to be aborted");
  complete(up, "rescued");
  const res = await pending;
  assertStreamHeaders(res);
  assert.deepEqual(await new EventReader(res).rest(), [ev("rescued"), DONE]);
  assert.equal(bad.seen.length, 1);
  assert.equal(good.seen.length, 1);
  assert.equal(good.seen[0].json?.model, MODELS.smart);
  assert.match((await logLines(proxy))[0], /fallback=timeout/);
});

Deno.test("stream fallback: keep-alive comments do not count as the first event", async () => {
  await using bad = streamBackend();
  await using good = streamBackend();
  // smart is the primary here: fallback goes smart -> fast.
  await using proxy = await startProxy(twoRoutes(good.baseUrl, bad.baseUrl, { PROXY_TIMEOUT: "0.3" }));
  const pending = streamChat(proxy, "smart");
  const pinging = await bad.stream(0);
  // Pings every 50 ms, well inside the timeout, but never an event.
  pinging.send(": ping\n\n");
  const timer = setInterval(() => {
    try {
      pinging.send(": ping\n\n");
    } catch {
      clearInterval(timer); // the proxy has closed the stream
    }
  }, 50);
  try {
    await within(pinging.cancelled, 2000, "the ping-only stream to be aborted");
  } finally {
    clearInterval(timer);
  }
  const up = await good.stream(0);
  complete(up, "real");
  const res = await pending;
  const events = await new EventReader(res).rest();
  assert.deepEqual(events, [ev("real"), DONE], "no ping of the failed stream leaks through");
  assert.equal(bad.seen[0].json?.model, MODELS.smart);
  assert.equal(good.seen[0].json?.model, MODELS.fast);
});

Deno.test("stream fallback: a 200 that is not SSE when SSE was asked for", async () => {
  await using bad = fakeBackend(() => jsonResponse(completion("not a stream")));
  await using good = streamBackend();
  await using proxy = await startProxy(twoRoutes(bad.baseUrl, good.baseUrl));
  const pending = streamChat(proxy, "fast");
  const up = await good.stream(0);
  complete(up, "streamed");
  const res = await pending;
  assertStreamHeaders(res);
  assert.deepEqual(await new EventReader(res).rest(), [ev("streamed"), DONE]);
  assert.equal(bad.seen.length, 1);
  assert.equal(good.seen.length, 1);
});

Deno.test("stream: keep-alive before a real first event is not a failure", async () => {
  await using backend = streamBackend();
  await using smart = unusedBackend();
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, smart.baseUrl));
  const pending = streamChat(proxy);
  const up = await backend.stream(0);
  up.send(": ping\n\n");
  up.send(chunkEvent("a"));
  const events = new EventReader(await pending);
  assert.equal(await events.next(), ": ping");
  assert.equal(await events.next(), ev("a"));
  up.send("data: [DONE]\n\n");
  up.end();
  assert.deepEqual(await events.rest(), [DONE]);
  assert.equal(smart.seen.length, 0);
});

Deno.test("stream: a break after N events ends with an error event and no fabricated [DONE]", async () => {
  await using backend = streamBackend();
  await using smart = unusedBackend();
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, smart.baseUrl));
  const pending = streamChat(proxy);
  const up = await backend.stream(0);
  up.send(chunkEvent("1"));
  const events = new EventReader(await pending);
  assert.equal(await events.next(), ev("1"));
  for (const n of ["2", "3"]) {
    up.send(chunkEvent(n));
    assert.equal(await events.next(), ev(n));
  }
  up.fail();
  const rest = await events.rest();
  assert.equal(rest.length, 1, `one error event, then the end: ${JSON.stringify(rest)}`);
  assertErrorEvent(rest[0]);
  assert.ok(!events.events.includes(DONE), "never a fabricated [DONE]");
  assert.equal(smart.seen.length, 0, "no fallback once events were sent");
  await eventually(() => proxy.server.proxy.relays.size === 0, 1000, "the relay to close");
  assert.match((await logLines(proxy))[0], /end=broken/);
});

Deno.test("stream: N events then EOF without [DONE] ends with an error event", async () => {
  await using backend = streamBackend();
  await using smart = unusedBackend();
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, smart.baseUrl));
  const pending = streamChat(proxy);
  const up = await backend.stream(0);
  up.send(chunkEvent("1"));
  up.send(chunkEvent("2"));
  up.end();
  const events = await new EventReader(await pending).rest();
  assert.deepEqual(events.slice(0, 2), [ev("1"), ev("2")]);
  assert.equal(events.length, 3);
  assertErrorEvent(events[2], "upstream_stream_truncated");
  assert.ok(!events.includes(DONE));
  assert.equal(smart.seen.length, 0);
});

Deno.test("stream: idle mid-stream past PROXY_IDLE_TIMEOUT ends with an error event and aborts upstream", async () => {
  await using backend = streamBackend();
  await using smart = unusedBackend();
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, smart.baseUrl, { PROXY_IDLE_TIMEOUT: "0.3" }));
  const pending = streamChat(proxy);
  const up = await backend.stream(0);
  up.send(chunkEvent("1"));
  const events = new EventReader(await pending);
  assert.equal(await events.next(), ev("1"));
  // The backend now stays silent.
  const started = Date.now();
  const rest = await events.rest();
  assert.equal(rest.length, 1, JSON.stringify(rest));
  assertErrorEvent(rest[0], "upstream_idle_timeout");
  assert.ok(Date.now() - started >= 250, "not before the idle timeout");
  await within(Promise.race([up.cancelled, aborted(up.seen.signal)]), 2000, "the upstream to be aborted");
  assert.equal(smart.seen.length, 0);
  assert.equal(proxy.server.proxy.relays.size, 0);
});

Deno.test("stream: keep-alive comments keep an idle stream alive", async () => {
  await using backend = streamBackend();
  await using smart = unusedBackend();
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, smart.baseUrl, { PROXY_IDLE_TIMEOUT: "0.3" }));
  const pending = streamChat(proxy);
  const up = await backend.stream(0);
  up.send(chunkEvent("1"));
  const events = new EventReader(await pending);
  assert.equal(await events.next(), ev("1"));
  // 0.75 s of pings only, every 0.1 s: 2.5 x the idle timeout without an event.
  for (let i = 0; i < 7; i++) {
    await delay(100);
    up.send(": keep-alive\n\n");
    assert.equal(await events.next(), ": keep-alive");
  }
  complete(up, "2");
  assert.deepEqual(await events.rest(), [ev("2"), DONE]);
});

Deno.test("stream: a client that disconnects mid-stream cancels the upstream stream", async () => {
  await using backend = streamBackend();
  await using smart = unusedBackend();
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, smart.baseUrl));
  const pending = streamChat(proxy);
  const up = await backend.stream(0);
  up.send(chunkEvent("1"));
  const events = new EventReader(await pending);
  assert.equal(await events.next(), ev("1"));
  up.send(chunkEvent("2"));
  assert.equal(await events.next(), ev("2"));
  await events.cancel();
  await within(up.cancelled, 3000, "the backend's stream to be cancelled");
  await within(aborted(up.seen.signal), 3000, "the backend's request to be aborted");
  await eventually(() => proxy.server.proxy.relays.size === 0, 1000, "the relay to close");
  assert.equal(smart.seen.length, 0);
  assert.match((await logLines(proxy))[0], /end=client_gone/);
});

for (const stream of [true, false]) {
  Deno.test(`client disconnect while waiting for headers (${stream ? "stream" : "JSON"}): upstream aborted, no fallback`, async () => {
    const arrived = deferred();
    let upstreamAborted!: Promise<void>;
    await using fast = fakeBackend(async (seen) => {
      upstreamAborted = aborted(seen.signal);
      arrived.resolve();
      await upstreamAborted;
      return jsonResponse({ error: { message: "too late" } }, 503);
    });
    await using smart = unusedBackend();
    await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl));
    const controller = new AbortController();
    const pending = fetch(`${proxy.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "fast", stream, messages: [] }),
      signal: controller.signal,
    });
    await within(arrived.promise, 2000, "the request to reach the backend");
    controller.abort();
    await assert.rejects(pending);
    await within(upstreamAborted, 3000, "the proxy to abort the upstream request");
    const line = await within(
      (async () => {
        for (;;) {
          const found = (await logLines(proxy)).find((l) => l.includes("/v1/chat/completions"));
          if (found) return found;
          await delay(5);
        }
      })(),
      2000,
      "the request's log line",
    );
    assert.match(line, /-> fast:/);
    // The log says what the client asked for and how it ended, even though no stream was relayed.
    assert.match(line, stream ? / stream end=client_gone / : / json end=client_gone /);
    assert.equal(fast.seen.length, 1);
    assert.equal(smart.seen.length, 0, "no fallback attempt for a client that is gone");
  });
}

Deno.test("client disconnect while waiting on a hung backend (raw TCP): the connection is closed", async () => {
  await using hung = rawBackend({ kind: "hang" });
  await using smart = unusedBackend();
  await using proxy = await startProxy(twoRoutes(hung.baseUrl, smart.baseUrl));
  const controller = new AbortController();
  const pending = streamChat(proxy, "fast", { signal: controller.signal });
  const conn = await within(hung.connection(0), 2000, "the proxy to connect");
  const head = await within(conn.head, 2000, "the request head");
  assert.match(head, new RegExp(`authorization: Bearer ${KEYS.fast}`, "i"));
  assertNoKeys(head, ["client-key"], "upstream request");
  controller.abort();
  await assert.rejects(pending);
  await within(conn.closedByPeer, 3000, "the proxy to close the upstream connection");
  assert.equal(hung.connections.length, 1);
  assert.equal(smart.seen.length, 0);
});

for (const stream of [true, false]) {
  Deno.test(`client disconnect after upstream headers, before the ${stream ? "first event" : "whole JSON body"}: upstream aborted, no fallback`, async () => {
    const cancelled = deferred();
    const started = deferred();
    await using fast = fakeBackend(() =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            // Headers go out; for JSON, part of the body too; then nothing more.
            if (!stream) c.enqueue(new TextEncoder().encode('{"id": "chatcmpl-partial", '));
            started.resolve();
          },
          cancel() {
            cancelled.resolve();
          },
        }),
        { headers: { "content-type": stream ? "text/event-stream" : "application/json" } },
      )
    );
    await using smart = unusedBackend();
    await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl));
    const controller = new AbortController();
    const pending = streamChat(proxy, "fast", { signal: controller.signal, stream });
    await within(started.promise, 2000, "the backend to answer with headers");
    controller.abort();
    await assert.rejects(pending);
    await within(cancelled.promise, 3000, "the proxy to abandon the upstream body");
    await within(aborted(fast.seen[0].signal), 3000, "the upstream request to be aborted");
    await eventually(() => proxy.stdout.join("").includes(" 499 "), 2000, "the request's log line");
    assert.equal(fast.seen.length, 1);
    assert.equal(fast.seen[0].json?.stream, stream);
    assert.equal(smart.seen.length, 0, "no fallback attempt for a client that is gone");
  });
}

Deno.test("stream: an event split across many chunks reaches the client whole, the moment its blank line arrives", async () => {
  await using backend = streamBackend();
  await using smart = unusedBackend();
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, smart.baseUrl));
  const pending = streamChat(proxy);
  const up = await backend.stream(0);
  up.send(chunkEvent("first"));
  const res = await pending;
  assertStreamHeaders(res);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let received = "";
  const receive = async (expected: string) => {
    while (received.length < expected.length) {
      const { done, value } = await within(reader.read(), 3000, `bytes up to ${JSON.stringify(expected.slice(-20))}`);
      assert.ok(!done, `stream ended early after ${JSON.stringify(received)}`);
      received += decoder.decode(value, { stream: true });
    }
    assert.equal(received, expected);
  };
  let sent = chunkEvent("first");
  await receive(sent);
  // The pieces of an event are framed, not forwarded one by one: the client gets the event, byte for
  // byte, as soon as its blank line is in, and nothing of it before (no client acts on half an event).
  const events = [
    ['data: {"choices": [{"delta": {"content": "sp', 'lit"}}]}\n', "\n"],
    ['data: {"choices": [{"delta": {"content": "more"}}]}\r', "\n\r\n"],
    ["data: [DO", "NE]", "\n", "\n"],
  ];
  for (const pieces of events) {
    for (const piece of pieces) {
      up.send(piece);
      sent += piece;
    }
    await receive(sent);
  }
  // [DONE] ends the stream at once: the client's body closes and the backend is let go, closed or not.
  const { done, value } = await within(reader.read(), 3000, "the end of the stream");
  assert.equal(done, true, `nothing may follow a complete stream, got ${decoder.decode(value)}`);
  await within(up.cancelled, 3000, "the upstream body to be let go after [DONE]");
  assert.equal(smart.seen.length, 0);
  await eventually(() => proxy.server.proxy.relays.size === 0, 1000, "the relay to close");
  assert.match((await logLines(proxy))[0], /end=complete/);
});

Deno.test("stream: a break in the middle of an event still ends with a separate, parseable error event", async () => {
  await using backend = streamBackend();
  await using smart = unusedBackend();
  await using proxy = await startProxy(twoRoutes(backend.baseUrl, smart.baseUrl));
  const pending = streamChat(proxy);
  const up = await backend.stream(0);
  up.send(chunkEvent("1"));
  const res = await pending;
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value);
  up.send('data: {"choices":[{"delta":{"content":"hel'); // half an event, then the connection drops
  up.fail();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  const blocks = text.split(/\n\n/).filter((b) => b !== "");
  const last = blocks.at(-1)!;
  assert.match(last, /^data: \{"error"/, `the error event stands on its own: ${JSON.stringify(text)}`);
  assertErrorEvent(last, "upstream_stream_broken");
  assert.ok(!text.includes(DONE));
});
