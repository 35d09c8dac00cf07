/**
 * One upstream attempt, specified against a stub `fetch`: what kind of
 * attempt each answer becomes (stream, buffered, passthrough, failed) and
 * the outcome the fallback policy reads. No sockets.
 */

import assert from "node:assert/strict";
import { type Attempt, attemptUpstream, type FetchLike, type UpstreamRequest } from "../../../src/upstream/attempt.ts";
import { MAX_BUFFERED_ANSWER_BYTES } from "../../../src/upstream/upstream_body.ts";
import { InflightAttempts } from "../../../src/upstream/inflight.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A request as the forwarder builds one. */
function request(wantStream = false): UpstreamRequest {
  return {
    url: "http://backend.test/v1/chat/completions",
    method: "POST",
    headers: new Headers({ "content-type": "application/json", authorization: "Bearer sk-route-key-1234" }),
    body: `{"model":"m","messages":[],"stream":${wantStream}}`,
    wantStream,
  };
}

/** What the stub saw of the one call made to it. */
interface Call {
  url: string;
  init: RequestInit;
}

/** A stub transport answering with `answer`, recording each call. */
function stub(answer: (init: RequestInit) => Response | Promise<Response>): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    fetch: (url, init) => {
      calls.push({ url, init });
      return Promise.resolve(answer(init));
    },
  };
}

/** A fetch that never answers, and rejects (as fetch does) once its signal aborts. */
function hangingFetch(): { fetch: FetchLike; called: Promise<AbortSignal> } {
  let called!: (s: AbortSignal) => void;
  const calledP = new Promise<AbortSignal>((r) => called = r);
  return {
    called: calledP,
    fetch: (_url, init) =>
      new Promise<Response>((_, reject) => {
        const signal = init.signal!;
        called(signal);
        signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")), { once: true });
      }),
  };
}

const noClient = () => new AbortController().signal;
/**
 * The shared deadline timer is unref'd (a real fetch in flight keeps the process up); with a
 * stub fetch nothing would, so a ref'd bound keeps the loop alive, and fails a test that hangs.
 */
async function keptAlive<T>(promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error("no verdict in 5 s")), 5000)
  );
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

const ctx = (fetch: FetchLike, extra: { timeoutMs?: number; clientSignal?: AbortSignal } = {}) => ({
  fetch,
  clientSignal: extra.clientSignal ?? noClient(),
  inflight: new InflightAttempts(extra.timeoutMs ?? 0),
});

function sse(text: string, headers: Record<string, string> = {}): Response {
  return new Response(text, { headers: { "content-type": "text/event-stream", ...headers } });
}

function json(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** A body that records whether it was cancelled (a cancelled fetch body releases its connection). */
function watchedBody(text: string): { body: ReadableStream<Uint8Array>; cancelled: () => boolean } {
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      c.enqueue(encoder.encode(text));
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { body, cancelled: () => cancelled };
}

/** A real Response whose status reads as one a Response cannot be built with (101, 999). */
function withStatus(status: number, body: BodyInit): Response {
  const res = new Response(body);
  Object.defineProperty(res, "status", { value: status });
  return res;
}

async function gzip(text: string): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Response(text).body!.pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Reads the rest of a stream attempt's upstream body as text. */
async function restOfStream(attempt: Extract<Attempt, { kind: "stream" }>): Promise<string> {
  let text = "";
  for (;;) {
    const r = await attempt.reader.read();
    if (r.done) return text;
    text += decoder.decode(r.value);
  }
}

function kindOf(attempt: Attempt, kind: Attempt["kind"]): void {
  assert.equal(attempt.kind, kind, `attempt is ${attempt.kind} (${JSON.stringify(attempt.outcome)})`);
}

// ---------------------------------------------------------------- the request

Deno.test("attempt: the request goes out as given, with redirects never followed", async () => {
  const s = stub(() => json({ ok: true }));
  const req = request();
  await attemptUpstream(req, ctx(s.fetch));
  assert.equal(s.calls.length, 1);
  const [{ url, init }] = s.calls;
  assert.equal(url, req.url);
  assert.equal(init.method, "POST");
  assert.deepEqual([...new Headers(init.headers)], [...req.headers], "the headers as given, key included");
  assert.equal(init.body, req.body);
  assert.equal(init.redirect, "manual");
  assert.ok(init.signal instanceof AbortSignal);
});

// ---------------------------------------------------------------- the kinds of attempt

Deno.test("attempt: an SSE answer whose first event is fine is a stream, holding that event and the rest", async () => {
  const s = stub(() => sse(`: keep-alive\n\ndata: {"choices":[]}\n\ndata: [DONE]\n\n`));
  const attempt = await attemptUpstream(request(true), ctx(s.fetch));
  kindOf(attempt, "stream");
  if (attempt.kind !== "stream") return;
  assert.deepEqual(attempt.outcome, { kind: "response", status: 200 });
  const prefetched = attempt.prefetched.map((c) => decoder.decode(c)).join("");
  assert.match(prefetched, /data: \{"choices":\[\]\}\n\n/);
  assert.equal(prefetched + await restOfStream(attempt), `: keep-alive\n\ndata: {"choices":[]}\n\ndata: [DONE]\n\n`);
});

Deno.test("attempt: a JSON answer is buffered whole, undecoded", async () => {
  const s = stub(() => json({ id: "chatcmpl-1" }));
  const attempt = await attemptUpstream(request(), ctx(s.fetch));
  kindOf(attempt, "buffered");
  if (attempt.kind !== "buffered") return;
  assert.deepEqual(attempt.outcome, { kind: "response", status: 200 });
  assert.deepEqual(JSON.parse(decoder.decode(attempt.body)), { id: "chatcmpl-1" });
  assert.equal(attempt.decoded, false);
});

Deno.test("attempt: an error answer of any type is buffered whole with its status", async () => {
  const s = stub(() => new Response("backend overloaded", { status: 503, headers: { "content-type": "text/plain" } }));
  const attempt = await attemptUpstream(request(), ctx(s.fetch));
  kindOf(attempt, "buffered");
  if (attempt.kind !== "buffered") return;
  assert.deepEqual(attempt.outcome, { kind: "response", status: 503 });
  assert.equal(decoder.decode(attempt.body), "backend overloaded");
});

Deno.test("attempt: a non-JSON success (audio, a file) is passed through unread", async () => {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled++;
      c.enqueue(encoder.encode("RIFF...."));
      c.close();
    },
  }, { highWaterMark: 0 });
  const s = stub(() => new Response(body, { headers: { "content-type": "audio/wav" } }));
  const attempt = await attemptUpstream(request(), ctx(s.fetch));
  kindOf(attempt, "passthrough");
  if (attempt.kind !== "passthrough") return;
  assert.deepEqual(attempt.outcome, { kind: "response", status: 200 });
  assert.equal(pulled, 0, "nothing was read before the client reads");
  assert.deepEqual(attempt.rest?.head, []);
  const first = await attempt.rest!.reader.read();
  assert.equal(decoder.decode(first.value), "RIFF....");
  assert.equal((await attempt.rest!.reader.read()).done, true);
});

Deno.test("attempt: a 204 is a passthrough with no body to relay", async () => {
  const s = stub(() => new Response(null, { status: 204 }));
  const attempt = await attemptUpstream(request(), ctx(s.fetch));
  kindOf(attempt, "passthrough");
  if (attempt.kind !== "passthrough") return;
  assert.equal(attempt.rest, undefined);
  assert.deepEqual(attempt.outcome, { kind: "response", status: 204 });
});

// ---------------------------------------------------------------- failed attempts and their outcomes

Deno.test("attempt: a fetch that throws (refused, reset, DNS) is a connect_error", async () => {
  const fetch: FetchLike = () => Promise.reject(new TypeError("error sending request: connection refused"));
  const attempt = await attemptUpstream(request(), ctx(fetch));
  kindOf(attempt, "failed");
  assert.deepEqual(attempt.outcome, { kind: "connect_error" });
});

Deno.test("attempt: no answer within the timeout is a timeout, and the fetch is aborted", async () => {
  const h = hangingFetch();
  const attempt = await keptAlive(attemptUpstream(request(), ctx(h.fetch, { timeoutMs: 20 })));
  kindOf(attempt, "failed");
  assert.deepEqual(attempt.outcome, { kind: "timeout" });
  assert.equal((await h.called).aborted, true);
});

Deno.test("attempt: the timeout covers a JSON body that stalls after its headers", async () => {
  let signal!: AbortSignal;
  const s = stub((init) => {
    signal = init.signal!;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(encoder.encode(`{"id":`)); // ...and nothing more
        // fetch errors the body when its request is aborted; this stub does the same.
        signal.addEventListener("abort", () => c.error(new DOMException("aborted", "AbortError")), { once: true });
      },
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  });
  const attempt = await keptAlive(attemptUpstream(request(), ctx(s.fetch, { timeoutMs: 20 })));
  kindOf(attempt, "failed");
  assert.deepEqual(attempt.outcome, { kind: "timeout" });
  assert.equal(signal.aborted, true);
});

Deno.test("attempt: the timeout covers a stream's first event, not just its headers", async () => {
  let signal!: AbortSignal;
  const s = stub((init) => {
    signal = init.signal!;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(encoder.encode(": keep-alive\n\n")); // a comment is not a first event
        signal.addEventListener("abort", () => c.error(new DOMException("aborted", "AbortError")), { once: true });
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  const attempt = await keptAlive(attemptUpstream(request(true), ctx(s.fetch, { timeoutMs: 20 })));
  kindOf(attempt, "failed");
  assert.deepEqual(attempt.outcome, { kind: "timeout" });
  assert.equal(signal.aborted, true);
});

Deno.test("attempt: an SSE answer with no event boundary in its first 256 KiB is passed on unjudged", async () => {
  const blob = "data: " + "x".repeat(300 * 1024); // no blank line: never a complete event
  const s = stub(() => sse(blob));
  const attempt = await attemptUpstream(request(true), ctx(s.fetch));
  kindOf(attempt, "stream");
  if (attempt.kind !== "stream") return;
  assert.equal(attempt.prefetched.map((c) => decoder.decode(c)).join("") + await restOfStream(attempt), blob);
});

Deno.test("attempt: a redirect is never followed: it fails as a redirect with its status", async () => {
  const s = stub(() =>
    new Response("moved", { status: 307, headers: { location: "http://elsewhere.test/v1/chat/completions" } })
  );
  const attempt = await attemptUpstream(request(), ctx(s.fetch));
  kindOf(attempt, "failed");
  assert.deepEqual(attempt.outcome, { kind: "redirect", status: 307 });
  assert.equal(s.calls.length, 1, "the location was not fetched");
});

Deno.test("attempt: a stream whose first event is an error is a bad_stream saying what the backend said", async () => {
  const s = stub(() => sse(`data: {"error":{"message":"model overloaded"}}\n\n`));
  const attempt = await attemptUpstream(request(true), ctx(s.fetch));
  kindOf(attempt, "failed");
  if (attempt.kind !== "failed") return;
  assert.deepEqual(attempt.outcome, { kind: "bad_stream" });
  assert.equal(attempt.streamError, "model overloaded");
});

Deno.test("attempt: a stream that ends before its first event (keep-alives only) is a bad_stream", async () => {
  const s = stub(() => sse(`: keep-alive\n\n`));
  const attempt = await attemptUpstream(request(true), ctx(s.fetch));
  kindOf(attempt, "failed");
  if (attempt.kind !== "failed") return;
  assert.deepEqual(attempt.outcome, { kind: "bad_stream" });
  assert.match(attempt.streamError ?? "", /ended before its first event/);
});

Deno.test("attempt: a non-SSE 200 to a stream request is a bad_stream that keeps what was sent", async () => {
  const s = stub(() => json({ id: "chatcmpl-1" }));
  const attempt = await attemptUpstream(request(true), ctx(s.fetch));
  kindOf(attempt, "failed");
  if (attempt.kind !== "failed") return;
  assert.deepEqual(attempt.outcome, { kind: "bad_stream" });
  assert.match(attempt.streamError ?? "", /without SSE/);
  assert.deepEqual(JSON.parse(decoder.decode(attempt.body!)), { id: "chatcmpl-1" });
});

for (const status of [101, 999]) {
  Deno.test(`attempt: status ${status} cannot be relayed: a bad_response naming the status`, async () => {
    const watched = watchedBody("odd");
    const s = stub(() => withStatus(status, watched.body));
    const attempt = await attemptUpstream(request(), ctx(s.fetch));
    kindOf(attempt, "failed");
    assert.equal(attempt.outcome.kind, "bad_response");
    if (attempt.outcome.kind !== "bad_response") return;
    assert.equal(attempt.outcome.code, "upstream_bad_status");
    assert.match(attempt.outcome.message, new RegExp(`status ${status}`));
    assert.equal(watched.cancelled(), true, "the body was cancelled");
  });
}

Deno.test("attempt: a content-encoding modelpin cannot decode (zstd) is a bad_response naming it", async () => {
  const watched = watchedBody("\x28\xb5\x2f\xfd");
  const s = stub(() =>
    new Response(watched.body, { headers: { "content-type": "application/json", "content-encoding": "zstd" } })
  );
  const attempt = await attemptUpstream(request(), ctx(s.fetch));
  kindOf(attempt, "failed");
  assert.equal(attempt.outcome.kind, "bad_response");
  if (attempt.outcome.kind !== "bad_response") return;
  assert.equal(attempt.outcome.code, "upstream_bad_encoding");
  assert.match(attempt.outcome.message, /zstd/);
  assert.equal(watched.cancelled(), true, "the body was cancelled");
});

Deno.test("attempt: a client already gone is client_gone, and nothing is sent upstream", async () => {
  const client = new AbortController();
  client.abort();
  const s = stub(() => json({}));
  const attempt = await attemptUpstream(request(), ctx(s.fetch, { clientSignal: client.signal }));
  kindOf(attempt, "failed");
  assert.deepEqual(attempt.outcome, { kind: "client_gone" });
  assert.equal(s.calls.length, 0);
});

Deno.test("attempt: a client leaving while the backend thinks is client_gone, and the fetch is aborted", async () => {
  const client = new AbortController();
  const h = hangingFetch();
  const pending = attemptUpstream(request(), ctx(h.fetch, { clientSignal: client.signal, timeoutMs: 60_000 }));
  const signal = await h.called;
  assert.equal(signal.aborted, false);
  client.abort();
  const attempt = await pending;
  kindOf(attempt, "failed");
  assert.deepEqual(attempt.outcome, { kind: "client_gone" });
  assert.equal(signal.aborted, true);
});

// ---------------------------------------------------------------- bodies

Deno.test("attempt: a gzip body sent unasked is decoded, and says so", async () => {
  const text = JSON.stringify({ id: "chatcmpl-gz", text: "x".repeat(5000) });
  const zipped = await gzip(text);
  const s = stub(() =>
    new Response(zipped, {
      headers: { "content-type": "application/json", "content-encoding": "gzip", "content-length": `${zipped.length}` },
    })
  );
  const attempt = await attemptUpstream(request(), ctx(s.fetch));
  kindOf(attempt, "buffered");
  if (attempt.kind !== "buffered") return;
  assert.equal(attempt.decoded, true);
  assert.equal(decoder.decode(attempt.body), text);
});

Deno.test("attempt: a gzip SSE stream is decoded before its first event is judged", async () => {
  const text = `data: {"choices":[{"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n`;
  const zipped = await gzip(text);
  const s = stub(() =>
    new Response(zipped, { headers: { "content-type": "text/event-stream", "content-encoding": "gzip" } })
  );
  const attempt = await attemptUpstream(request(true), ctx(s.fetch));
  kindOf(attempt, "stream");
  if (attempt.kind !== "stream") return;
  assert.equal(attempt.prefetched.map((c) => decoder.decode(c)).join("") + await restOfStream(attempt), text);
});

/** A JSON body of `chunks` MiB, produced only as it is read; counts the chunks produced. */
function lazyBigBody(chunks: number): { body: ReadableStream<Uint8Array>; produced: () => number } {
  const mib = new Uint8Array(1024 * 1024).fill(0x20); // spaces: valid JSON padding
  let produced = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (produced === chunks) return c.close();
      produced++;
      c.enqueue(mib);
    },
  }, { highWaterMark: 0 });
  return { body, produced: () => produced };
}

Deno.test("attempt: a JSON answer over the buffered limit streams through as a passthrough", async () => {
  const total = MAX_BUFFERED_ANSWER_BYTES / (1024 * 1024) + 4;
  const big = lazyBigBody(total);
  const s = stub(() => new Response(big.body, { headers: { "content-type": "application/json" } }));
  const attempt = await attemptUpstream(request(), ctx(s.fetch));
  kindOf(attempt, "passthrough");
  if (attempt.kind !== "passthrough") return;
  assert.deepEqual(attempt.outcome, { kind: "response", status: 200 });
  const head = attempt.rest!.head.reduce((n, c) => n + c.length, 0);
  assert.ok(head > MAX_BUFFERED_ANSWER_BYTES, `head holds ${head} bytes, just over the limit`);
  assert.ok(big.produced() < total, `the rest (${total - big.produced()} MiB) was left for the client`);
  // The client reads the rest through the reader: every byte arrives.
  let rest = 0;
  for (;;) {
    const r = await attempt.rest!.reader.read();
    if (r.done) break;
    rest += r.value.length;
  }
  assert.equal(head + rest, total * 1024 * 1024);
});

Deno.test("attempt: an error body over the buffered limit is a bad_response, not held in memory", async () => {
  const big = lazyBigBody(MAX_BUFFERED_ANSWER_BYTES / (1024 * 1024) + 4);
  const s = stub(() => new Response(big.body, { status: 500, headers: { "content-type": "text/plain" } }));
  const attempt = await attemptUpstream(request(), ctx(s.fetch));
  kindOf(attempt, "failed");
  assert.equal(attempt.outcome.kind, "bad_response");
  if (attempt.outcome.kind !== "bad_response") return;
  assert.equal(attempt.outcome.code, "upstream_answer_too_large");
});

// ---------------------------------------------------------------- control

Deno.test("attempt: its abort function aborts the fetch's signal (the relay stops the backend with it)", async () => {
  const s = stub(() => sse(`data: {"choices":[]}\n\ndata: [DONE]\n\n`));
  const attempt = await attemptUpstream(request(true), ctx(s.fetch));
  kindOf(attempt, "stream");
  const signal = s.calls[0].init.signal!;
  assert.equal(signal.aborted, false);
  attempt.abort();
  assert.equal(signal.aborted, true);
  if (attempt.kind === "stream") await attempt.reader.cancel();
});

Deno.test("attempt: it is listed in flight while it waits, so shutdown can abort it, and unlisted after", async () => {
  const inflight = new InflightAttempts(0);
  const h = hangingFetch();
  const pending = attemptUpstream(request(), { fetch: h.fetch, clientSignal: noClient(), inflight });
  const signal = await h.called;
  assert.equal(inflight.size, 1);
  inflight.abortAll(); // what shutdown does
  const attempt = await pending;
  assert.equal(signal.aborted, true);
  assert.deepEqual(attempt.outcome, { kind: "connect_error" });
  assert.equal(inflight.size, 0);
});
