/**
 * Hostile backends and clients (defects 1–9 of the removed HTTP/1.1 upstream
 * client, and the "POST sent twice" question). Every backend is a raw TCP
 * server on 127.0.0.1 that writes exactly the bytes a broken or malicious
 * backend would; every request carries a per-request marker that the backend
 * echoes, so a client can tell its own answer from anyone else's.
 *
 * Run with MODELPIN_TEST_UPSTREAM_CLIENT=fetch for the behaviour after the
 * HTTP/1.1 client's removal; NOTES.md records how each test fared before.
 */

import assert from "node:assert/strict";
import { startProxy, type TestProxy } from "../support/proxy.ts";
import { KEYS, oneRoute } from "../support/routes.ts";
import { deferred } from "../support/stream_tools.ts";
import {
  fetchWithin,
  hasBytes,
  hostileBackend,
  type HostileConn,
  type HostileRequest,
  keepAliveJson,
  rawExchange,
} from "../support/hostile_tcp.ts";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

// One route only (oneRoute): no fallback, so every answer is the first attempt's.

/** The marker a request carries: its single user message. */
function markerOf(req: HostileRequest): string {
  return JSON.parse(req.text).messages[0].content;
}

/** The answer that identifies `marker`'s request. */
function echoAnswer(marker: string): string {
  return keepAliveJson(200, JSON.stringify({ echo: marker }));
}

/** Serves keep-alive requests on `conn` with `answer(request)` until the peer closes. */
async function serveLoop(conn: HostileConn, answer: (req: HostileRequest) => string): Promise<void> {
  for (;;) {
    const req = await conn.readRequest();
    if (!req) return;
    await conn.write(answer(req));
  }
}

/** A chat request carrying `marker`, bounded by `ms`. */
function ask(proxy: TestProxy, marker: string, ms = 4000, label = marker) {
  return fetchWithin(
    `${proxy.url}/v1/chat/completions`,
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "fast", messages: [{ role: "user", content: marker }] }),
    },
    ms,
    `answer to ${label}`,
  );
}

/** Asserts that `marker`'s client got its own answer, and nobody else's. */
async function assertOwnAnswer(proxy: TestProxy, marker: string): Promise<void> {
  const res = await ask(proxy, marker);
  assert.equal(res.status, 200, `${marker}: status (body ${res.text})`);
  assert.deepEqual(JSON.parse(res.text), { echo: marker }, `${marker} got someone else's answer`);
}

/** Asserts an OpenAI-shaped error with `status`. */
function assertOpenAiError(res: { status: number; text: string }, status: number, what: string): void {
  assert.equal(res.status, status, `${what}: status (body ${res.text})`);
  const body = JSON.parse(res.text);
  for (const field of ["message", "type", "code"]) {
    assert.equal(typeof body.error?.[field], "string", `${what}: error.${field} in ${res.text}`);
  }
}

/** Resolves after `ms`: only ever raced against an event, as its deadline. */
function deadline(ms: number): { promise: Promise<void>; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<void>((r) => timer = setTimeout(r, ms));
  return { promise, cancel: () => clearTimeout(timer) };
}

// ------------------------------------------------------------------ 1. stray responses

/**
 * A keep-alive backend that, once a round of clients all have their answers (so every connection is idle),
 * writes a stray complete response on each of its connections. `settle()` then waits until the proxy
 * noticed (it closes the connection) or sends a request anyway, each bounded: a client that never watches
 * idle connections notices nothing, and its next request finds the stray bytes waiting.
 */
function strayBackend(answer: (req: HostileRequest) => string) {
  let trigger = deferred();
  const idle = new Set<Promise<void>>();
  const backend = hostileBackend(async (conn) => {
    for (;;) {
      const req = await conn.readRequest();
      if (!req) return;
      await conn.write(answer(req));
      const round = trigger;
      const settled = deferred();
      idle.add(settled.promise);
      const next = await Promise.race([round.promise.then(() => "stray" as const), conn.activity()]);
      if (next === "stray") {
        await conn.write(echoAnswer("INJECTED-stray"));
        const bound = deadline(500);
        await Promise.race([conn.activity(), bound.promise]);
        bound.cancel();
      }
      settled.resolve();
      idle.delete(settled.promise);
      if (next === "closed") return;
    }
  });
  return {
    backend,
    /** Writes the strays on every idle connection and waits until each is settled. */
    async afterRound(): Promise<void> {
      const waiting = [...idle];
      const round = trigger;
      trigger = deferred();
      round.resolve();
      await Promise.all(waiting);
    },
  };
}

Deno.test("hostile 1: a second response written on an idle connection never becomes the next client's answer", async () => {
  const { backend, afterRound } = strayBackend((req) => echoAnswer(markerOf(req)));
  await using _backend = backend;
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  for (const marker of ["a", "b", "c", "d"]) {
    await assertOwnAnswer(proxy, marker);
    await afterRound();
  }
});

Deno.test("hostile 1: a body written after a 204 never becomes the next client's answer", async () => {
  const { backend, afterRound } = strayBackend((req) =>
    markerOf(req).startsWith("nocontent") ? "HTTP/1.1 204 No Content\r\n\r\n" : echoAnswer(markerOf(req))
  );
  await using _backend = backend;
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  for (const marker of ["nocontent-a", "b", "nocontent-c", "d"]) {
    if (marker.startsWith("nocontent")) {
      const res = await ask(proxy, marker);
      assert.equal(res.status, 204, `${marker}: 204 relayed (body ${res.text})`);
    } else {
      await assertOwnAnswer(proxy, marker);
    }
    await afterRound();
  }
});

Deno.test("hostile 1: 50 concurrent clients, 4 rounds, stray responses between rounds: each gets its own answer", async () => {
  const { backend, afterRound } = strayBackend((req) => echoAnswer(markerOf(req)));
  await using _backend = backend;
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  const wrong: string[] = [];
  for (let round = 0; round < 4; round++) {
    await Promise.all(Array.from({ length: 50 }, async (_, i) => {
      const marker = `r${round}-c${i}`;
      const res = await ask(proxy, marker, 8000);
      if (res.status !== 200 || res.text !== JSON.stringify({ echo: marker })) {
        wrong.push(`${marker} got ${res.status} ${res.text}`);
      }
    }));
    await afterRound();
  }
  assert.equal(
    wrong.length,
    0,
    `${wrong.length} of 200 clients did not get their own answer, e.g. ${wrong.slice(0, 6)}`,
  );
});

// ------------------------------------------------------------------ 2. 408 on an idle connection

Deno.test("hostile 2: a 408 sent on an idle pooled connection is never handed to the next client", async () => {
  const send408 = deferred();
  const sent408 = deferred();
  await using backend = hostileBackend(async (conn) => {
    if (conn.index > 0) return serveLoop(conn, (req) => echoAnswer(markerOf(req)));
    const req = await conn.readRequest();
    if (!req) return;
    await conn.write(echoAnswer(markerOf(req)));
    await send408.promise;
    await conn.write("HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    // Give the proxy the chance to notice (it closes its end); a client that never watches idle
    // connections never does, hence the bound.
    const bound = deadline(1000);
    await Promise.race([conn.peerClosed(), bound.promise]);
    bound.cancel();
    sent408.resolve();
    conn.close();
  });
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  await assertOwnAnswer(proxy, "first");
  send408.resolve();
  await sent408.promise;
  await assertOwnAnswer(proxy, "second");
  assert.equal(backend.requests.length, 2, "the backend saw both requests");
});

// ------------------------------------------------------------------ 3. empty Content-Length

Deno.test("hostile 3: an empty Content-Length is a clean 502 for that client and does not touch the next", async () => {
  await using backend = hostileBackend((conn) =>
    serveLoop(
      conn,
      (req) =>
        markerOf(req) === "empty-length"
          ? 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: \r\n\r\n{"echo":"empty-length"}'
          : echoAnswer(markerOf(req)),
    )
  );
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  assertOpenAiError(await ask(proxy, "empty-length"), 502, "empty Content-Length");
  for (const marker of ["next-1", "next-2"]) await assertOwnAnswer(proxy, marker);
});

// ------------------------------------------------------------------ 4. bare LF

Deno.test("hostile 4: a response head with bare LF line endings is answered promptly, not after PROXY_TIMEOUT", async () => {
  await using backend = hostileBackend(async (conn) => {
    const req = await conn.readRequest();
    if (!req) return;
    const body = JSON.stringify({ echo: markerOf(req) });
    await conn.write(`HTTP/1.1 200 OK\ncontent-type: application/json\ncontent-length: ${body.length}\n\n${body}`);
    await conn.peerClosed(); // keep the connection open: the proxy must not wait for a CRLF that never comes
  });
  await using proxy = await startProxy(oneRoute(backend.baseUrl, { PROXY_TIMEOUT: "30" }));
  const res = await ask(proxy, "bare-lf", 3000);
  // Accepting bare LF (RFC 9112 allows it) or refusing it with a 502 are both fine; waiting is not.
  if (res.status === 200) assert.deepEqual(JSON.parse(res.text), { echo: "bare-lf" });
  else assertOpenAiError(res, 502, "bare LF");
});

// ------------------------------------------------------------------ 5. early 413

Deno.test("hostile 5: an early 413 while a large request body is still being sent reaches the client as 413", async () => {
  const error = JSON.stringify({ error: { message: "too large for this backend", type: "invalid_request_error" } });
  await using backend = hostileBackend(async (conn) => {
    const req = await conn.readHead();
    if (!req) return;
    await conn.write(
      `HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/json\r\ncontent-length: ${error.length}\r\n` +
        `connection: close\r\n\r\n${error}`,
    );
    // Like many servers, it answers without reading the body, and reads no more of it.
    await conn.closed;
  });
  await using proxy = await startProxy(oneRoute(backend.baseUrl, { PROXY_MAX_BODY_MB: "64" }));
  const res = await ask(proxy, "x".repeat(24 * 1024 * 1024), 4000, "a 24 MiB request");
  assert.equal(res.status, 413, `status (body ${res.text})`);
  assert.deepEqual(JSON.parse(res.text), JSON.parse(error));
});

// ------------------------------------------------------------------ 6. 7,000 headers

Deno.test("hostile 6: a response head with 7,000 headers does not freeze other clients", async () => {
  const written = deferred<number>();
  await using backend = hostileBackend(async (conn) => {
    const req = await conn.readRequest();
    if (!req) return;
    const body = JSON.stringify({ echo: markerOf(req) });
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n";
    // Short names keep the head under 64 KiB, below any head-size limit: the count is what is hostile.
    for (let i = 0; i < 7000; i++) head += `${i.toString(36)}:v\r\n`;
    await conn.write(`${head}content-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    written.resolve(performance.now());
  });
  await using proxy = await startProxy(oneRoute(backend.baseUrl, { PROXY_TIMEOUT: "30" }));
  // Settled either way, so a failure below leaves no rejected promise behind.
  const hostile = ask(proxy, "many-headers", 10_000).catch((err: Error) => ({ status: 0, text: err.message }));
  const writtenAt = await written.promise;
  const health = await fetchWithin(`${proxy.url}/health`, {}, 10_000, "/health");
  // Measured from the backend's write, so a freeze counts whether it began before or after /health was sent.
  const healthMs = performance.now() - writtenAt;
  assert.equal(health.status, 200);
  assert.ok(healthMs < 1000, `/health took ${Math.round(healthMs)} ms while the proxy read 7,000 headers`);
  const res = await hostile;
  assert.ok(res.status === 200 || res.status === 502, `status ${res.status}: ${res.text.slice(0, 200)}`);
});

// ------------------------------------------------------------------ 7. non-ASCII header bytes

Deno.test("hostile 7: non-ASCII header bytes pass up and down byte for byte", async () => {
  const up = "x-note: caf\xc3\xa9 \xff"; // UTF-8 "é" and a lone 0xFF, as raw bytes
  const down = "x-reply: \xe2\x9c\x93 \xfe";
  await using backend = hostileBackend(async (conn) => {
    const req = await conn.readRequest();
    if (!req) return;
    await conn.write(latin1(keepAliveJson(200, JSON.stringify({ echo: markerOf(req) }), `${down}\r\n`)));
  });
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  const body = JSON.stringify({ model: "fast", messages: [{ role: "user", content: "bytes" }] });
  const answer = await rawExchange(
    proxy.server.addr.port,
    latin1(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n${up}\r\n` +
        `content-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    ),
    4000,
  );
  assert.equal(answer.status, 200, answer.head + answer.body);
  assert.equal(backend.requests.length, 1);
  const seen = backend.requests[0].headBytes;
  assert.ok(hasBytes(seen, latin1(up)), `backend received ${JSON.stringify(backend.requests[0].head)}`);
  assert.ok(hasBytes(answer.headBytes, latin1(down)), `client received ${JSON.stringify(answer.head)}`);
});

// ------------------------------------------------------------------ 8. TRACE

Deno.test("hostile 8: TRACE and other methods outside GET, POST, DELETE, HEAD get a 405 without an upstream call", async () => {
  // Apache's default: TRACE echoes the request, headers included.
  await using backend = hostileBackend((conn) =>
    serveLoop(
      conn,
      (req) => `HTTP/1.1 200 OK\r\ncontent-type: message/http\r\ncontent-length: ${req.head.length}\r\n\r\n${req.head}`,
    )
  );
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  const wrong: string[] = [];
  for (const method of ["TRACE", "TRACK", "PUT", "PATCH", "OPTIONS"]) {
    for (const path of ["/v1/files", "/v1/embeddings"]) {
      const answer = await rawExchange(
        proxy.server.addr.port,
        `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`,
        4000,
      );
      const what = `${method} ${path}`;
      if (answer.head.includes(KEYS.fast) || answer.body.includes(KEYS.fast)) {
        wrong.push(`${what} echoed the route key`);
      }
      try {
        assertOpenAiError({ status: answer.status, text: answer.body }, 405, what);
      } catch (err) {
        wrong.push((err as Error).message.split("\n")[0]);
      }
    }
  }
  const upstream = backend.requests.map((r) => r.line);
  assert.deepEqual({ wrong, upstream }, { wrong: [], upstream: [] });
});

// ------------------------------------------------------------------ 9. lenient framing

Deno.test("hostile 9: Content-Length 0xb or +11 and chunk sizes beyond 2^64 are a prompt 502, not framing", async () => {
  const ok = '{"ok":true}'; // 11 bytes
  const answers: Record<string, string> = {
    "hex-length": `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 0xb\r\n\r\n${ok}`,
    "plus-length": `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: +11\r\n\r\n${ok}`,
    "huge-chunk": "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n" +
      `1000000000000000000b\r\n${ok}\r\n0\r\n\r\n`,
  };
  await using backend = hostileBackend(async (conn) => {
    const req = await conn.readRequest();
    if (!req) return;
    await conn.write(answers[markerOf(req)]);
    await conn.peerClosed(); // keep it open: a lenient reader would wait here for more
  });
  await using proxy = await startProxy(oneRoute(backend.baseUrl, { PROXY_TIMEOUT: "30" }));
  for (const marker of Object.keys(answers)) assertOpenAiError(await ask(proxy, marker, 3000), 502, marker);
});

// ------------------------------------------------------------------ POST sent twice?

/** A backend that answers the first request and, on the same connection, reads the second fully and closes. */
function dropsSecondRequest(arrivals: { marker: string; conn: number }[]) {
  return hostileBackend(async (conn) => {
    for (;;) {
      const req = await conn.readRequest();
      if (!req) return;
      arrivals.push({ marker: markerOf(req), conn: conn.index });
      // The backend "runs" the second request, then drops the connection without answering.
      if (markerOf(req) === "second" && conn.index === 0) return conn.close();
      await conn.write(echoAnswer(markerOf(req)));
    }
  });
}

Deno.test("hostile: KNOWN HAZARD, pinned: a POST whose reused connection closes unanswered is sent twice by fetch", async () => {
  // Measured on Deno 2.9.6: fetch's pool re-sends a request with a replayable body (string or bytes, which
  // is what modelpin sends) on a fresh connection when a reused one closes without answering, even after
  // the backend read the whole request. The backend runs (and bills) it twice. If this test starts failing,
  // Deno changed that behaviour: update NOTES/README accordingly.
  const arrivals: { marker: string; conn: number }[] = [];
  await using backend = dropsSecondRequest(arrivals);
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  await assertOwnAnswer(proxy, "first");
  await assertOwnAnswer(proxy, "second"); // the client sees the re-sent request's answer, no error
  assert.deepEqual(
    arrivals,
    [{ marker: "first", conn: 0 }, { marker: "second", conn: 0 }, { marker: "second", conn: 1 }],
    "the second POST reached the backend twice: on the reused connection, then on a new one",
  );
});

Deno.test("hostile: fetch does not re-send a body given as a single-use ReadableStream (the possible remedy)", async () => {
  const arrivals: { marker: string; conn: number }[] = [];
  await using backend = dropsSecondRequest(arrivals);
  // The same pool settings as the proxy's upstream client.
  using client = Deno.createHttpClient({ poolMaxIdlePerHost: 128, poolIdleTimeout: 30_000 });
  const send = async (marker: string) => {
    const bytes = new TextEncoder().encode(JSON.stringify({ messages: [{ role: "user", content: marker }] }));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    });
    try {
      const res = await fetch(`${backend.baseUrl}/chat/completions`, { method: "POST", body, client });
      return `${res.status} ${await res.text()}`;
    } catch (err) {
      return `error: ${(err as Error).message}`;
    }
  };
  assert.equal(await send("first"), `200 ${JSON.stringify({ echo: "first" })}`);
  const second = await send("second");
  assert.match(second, /^error/, "the dropped request fails instead of being re-sent");
  assert.deepEqual(arrivals, [{ marker: "first", conn: 0 }, { marker: "second", conn: 0 }], "sent once");
});

Deno.test("hostile 9: a chunk size between 2^53 and 2^64 is bounded by PROXY_TIMEOUT (504), and stalls no one else", async () => {
  // hyper (under fetch) accepts any chunk size that fits in 64 bits as framing and waits for the bytes,
  // like any body that stalls: the first-answer timeout ends it, with no memory held and no answer shifted.
  await using backend = hostileBackend(async (conn) => {
    const req = await conn.readRequest();
    if (!req) return;
    await conn.write(
      "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n" +
        '20000000000000\r\n{"ok":true}\r\n0\r\n\r\n',
    );
    await conn.peerClosed();
  });
  await using proxy = await startProxy(oneRoute(backend.baseUrl, { PROXY_TIMEOUT: "1" }));
  const pending = ask(proxy, "chunk-2^53", 5000);
  const health = await fetchWithin(`${proxy.url}/health`, {}, 500, "/health meanwhile");
  assert.equal(health.status, 200);
  assertOpenAiError(await pending, 504, "chunk size 2^53");
});
