/**
 * One upstream attempt, specified against a stub `fetch`: what the backend's
 * answer is judged to be (a stream, a body read whole, a body that streams
 * through), or the failure that says why it is no answer (what the breaker
 * and the fallback read). No sockets.
 */

import assert from "node:assert/strict";
import { attemptUpstream, type FetchLike, type UpstreamRequest } from "../../../src/upstream/attempt.ts";
import type { Answer, Judged } from "../../../src/upstream/answer.ts";
import { type Failure, isRouteFailure } from "../../../src/upstream/failure.ts";
import { type Expectation, MAX_ENVELOPE_BYTES } from "../../../src/upstream/judge.ts";
import { MAX_BUFFERED_ANSWER_BYTES } from "../../../src/upstream/upstream_body.ts";
import { InflightAttempts } from "../../../src/upstream/inflight.ts";
import { CHAT_GRAMMAR, OPAQUE_GRAMMAR, RESPONSES_GRAMMAR } from "../../../src/stream/event_grammar.ts";
import type { JudgedEvent } from "../../../src/stream/event_stages.ts";
import { EventTooLargeError, MAX_EVENT_BYTES, type SseEvent } from "../../../src/stream/sse_framer.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A request as the forwarder builds one: chat completions, not streamed, passed on as it comes, unless told. */
function request(expect: Partial<Expectation> = {}): UpstreamRequest {
  const stream = expect.stream ?? false;
  return {
    url: "http://backend.test/v1/chat/completions",
    method: "POST",
    headers: new Headers({ "content-type": "application/json", authorization: "Bearer sk-route-key-1234" }),
    body: `{"model":"m","messages":[],"stream":${stream}}`,
    expect: { stream, whole: false, grammar: CHAT_GRAMMAR, ...expect },
  };
}

/** The client asked for a stream. */
const STREAMED = { stream: true } as const;
/** A door that translates the answer needs it whole (the Anthropic door, not streaming). */
const WHOLE = { stream: false, whole: true } as const;

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

/**
 * A body that hands out `chunks` exactly as given, one per read (nothing is
 * read ahead), and records a cancel. At the end it closes; with `hang` it
 * stalls instead, `stalled` resolving once the reader waits on it, until
 * `hang` (the request's signal) aborts and errors it, as fetch does.
 */
function paced(
  chunks: Iterable<Uint8Array | string>,
  hang?: AbortSignal,
): { body: ReadableStream<Uint8Array>; cancelled: () => boolean; stalled: Promise<void> } {
  const it = chunks[Symbol.iterator]();
  let cancelled = false;
  let stalled!: () => void;
  const stalledP = new Promise<void>((r) => stalled = r);
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      hang?.addEventListener("abort", () => c.error(new DOMException("aborted", "AbortError")), { once: true });
    },
    pull(c) {
      const next = it.next();
      if (!next.done) c.enqueue(typeof next.value === "string" ? encoder.encode(next.value) : next.value);
      else if (hang) stalled();
      else c.close();
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { body, cancelled: () => cancelled, stalled: stalledP };
}

/** An SSE answer whose body arrives in exactly these chunks. */
function sse(chunks: string | string[], headers: Record<string, string> = {}): Response {
  return new Response(paced(typeof chunks === "string" ? [chunks] : chunks).body, {
    headers: { "content-type": "text/event-stream", ...headers },
  });
}

function json(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** A body that never ends, and records whether it was cancelled (a cancelled fetch body releases its connection). */
function watchedBody(text: string): { body: ReadableStream<Uint8Array>; cancelled: () => boolean } {
  return paced((function* () {
    for (;;) yield text;
  })());
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

/** MiB just over the buffered bound. */
const OVER_BOUND_MIB = MAX_BUFFERED_ANSWER_BYTES / (1024 * 1024) + 4;

// ---------------------------------------------------------------- verdicts

type AnswerOf<K extends Answer["kind"]> = Extract<Answer, { kind: K }>;
type FailureOf<K extends Failure["kind"]> = Extract<Failure, { kind: K }>;

function describe(judged: Judged): string {
  if (judged.answer) return `an answer of kind ${judged.answer.kind}`;
  const f = judged.failure;
  return `a ${f.kind} failure` + ("message" in f ? ` (${f.message})` : "code" in f ? ` (${f.code})` : "");
}

/** The answer, asserted to be of `kind`. */
function answerOf<K extends Answer["kind"]>(judged: Judged, kind: K): AnswerOf<K> {
  assert.equal(judged.answer?.kind, kind, `expected an answer of kind ${kind}, got ${describe(judged)}`);
  assert.equal(judged.failure, undefined);
  return judged.answer as AnswerOf<K>;
}

/** The failure, asserted to be of `kind`. */
function failureOf<K extends Failure["kind"]>(judged: Judged, kind: K): FailureOf<K> {
  assert.equal(judged.failure?.kind, kind, `expected a ${kind} failure, got ${describe(judged)}`);
  assert.equal(judged.answer, undefined);
  return judged.failure as FailureOf<K>;
}

const textOf = (events: SseEvent[]): string => events.map((e) => decoder.decode(e.raw)).join("");
const kindsOf = (head: JudgedEvent[]): string[] => head.map((h) => h.info.kind);
const headText = (answer: AnswerOf<"stream">): string => textOf(answer.head.map((h) => h.event));

/** The whole stream as the relay sees it: the judged head, then the rest framed by the answer's own framer. */
async function wholeStream(answer: AnswerOf<"stream">): Promise<string> {
  let text = headText(answer);
  for (;;) {
    const r = await answer.source.read();
    if (r.done) break;
    text += textOf(answer.framer.push(r.value));
  }
  const last = answer.framer.end();
  return text + (last ? textOf([last]) : "");
}

/** Every byte of a body answer: what was read, then the rest. */
async function wholeBody(answer: AnswerOf<"body">): Promise<Uint8Array> {
  const parts = [...answer.head];
  for (;;) {
    const r = await answer.source!.read();
    if (r.done) break;
    parts.push(r.value);
  }
  return new Uint8Array(await new Blob(parts).arrayBuffer());
}

// ---------------------------------------------------------------- chat events

const KEEP_ALIVE = ": keep-alive\n\n";
/** A role-only first chunk: an envelope, no content yet. */
const ROLE = `data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n`;
const HI = `data: {"choices":[{"delta":{"content":"hi"}}]}\n\n`;
const THERE = `data: {"choices":[{"delta":{"content":" there"}}]}\n\n`;
const STOP = `data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\n`;
const OVERLOADED = `data: {"error":{"message":"model overloaded"}}\n\n`;
const DONE = "data: [DONE]\n\n";

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

// ---------------------------------------------------------------- streams: the first-event judge

Deno.test("attempt: an SSE answer is a stream once its first content event arrives, holding every event read", async () => {
  const text = KEEP_ALIVE + HI + DONE;
  const s = stub(() => sse(text));
  const answer = answerOf(await attemptUpstream(request(STREAMED), ctx(s.fetch)), "stream");
  assert.equal(answer.response.status, 200);
  assert.equal(answer.grammar, CHAT_GRAMMAR, "the stream is read on with the grammar it was judged by");
  assert.deepEqual(kindsOf(answer.head), ["none", "content", "done"]);
  assert.equal(await wholeStream(answer), text);
});

for (const chunks of [[ROLE, OVERLOADED], [ROLE + OVERLOADED], [KEEP_ALIVE, ROLE, ROLE, OVERLOADED]]) {
  Deno.test(
    `attempt: the judge waits past a role-only first chunk: an error after it is a bad_stream, and the route's ` +
      `failure (fallback is still possible) [${chunks.length} chunk(s)]`,
    async () => {
      const body = paced(chunks);
      const s = stub(() => new Response(body.body, { headers: { "content-type": "text/event-stream" } }));
      const failure = failureOf(await attemptUpstream(request(STREAMED), ctx(s.fetch)), "bad_stream");
      assert.equal(failure.message, "model overloaded");
      assert.equal(isRouteFailure(failure), true);
    },
  );
}

Deno.test("attempt: a role-only first chunk followed by content is a stream whose head holds both", async () => {
  const s = stub(() => sse([ROLE, HI, DONE]));
  const answer = answerOf(await attemptUpstream(request(STREAMED), ctx(s.fetch)), "stream");
  assert.deepEqual(kindsOf(answer.head), ["envelope", "content"]);
  assert.equal(headText(answer), ROLE + HI, "the envelope is held, not dropped");
  assert.equal(await wholeStream(answer), ROLE + HI + DONE);
});

Deno.test("attempt: every event of the chunk that carried the first content is in the head; nothing is lost", async () => {
  const partial = `data: {"choices":[{"delta":{"con`;
  const chunks = [KEEP_ALIVE + ROLE, HI + THERE + partial, `tent":"!"}}]}\n\n` + DONE];
  const s = stub(() => sse(chunks));
  const answer = answerOf(await attemptUpstream(request(STREAMED), ctx(s.fetch)), "stream");
  assert.deepEqual(kindsOf(answer.head), ["none", "envelope", "content", "content"]);
  assert.equal(headText(answer), KEEP_ALIVE + ROLE + HI + THERE);
  assert.equal(answer.framer.pending, partial.length, "the event the chunk began is in the framer");
  assert.equal(await wholeStream(answer), chunks.join(""));
});

Deno.test("attempt: once content came, the rest of its chunk follows it, an error event included", async () => {
  const s = stub(() => sse(HI + OVERLOADED));
  const answer = answerOf(await attemptUpstream(request(STREAMED), ctx(s.fetch)), "stream");
  assert.deepEqual(kindsOf(answer.head), ["content", "error"], "the relay, not the judge, ends on that error");
});

for (
  const [what, text, kinds] of [
    ["an immediate [DONE]", DONE, ["done"]],
    ["a first chunk that only finishes", STOP + DONE, ["content", "done"]],
  ] as const
) {
  Deno.test(`attempt: ${what} is a stream (an empty answer, but a complete one), not a failure`, async () => {
    const s = stub(() => sse(text));
    const answer = answerOf(await attemptUpstream(request(STREAMED), ctx(s.fetch)), "stream");
    assert.deepEqual(kindsOf(answer.head), kinds);
    assert.equal(answer.head[0].info.kind === "done" || answer.head[0].info.finished, true, "the answer's end");
    assert.equal(await wholeStream(answer), text);
  });
}

for (
  const [what, text, said] of [
    ["an error chunk", OVERLOADED, "model overloaded"],
    ["an `event: error`", `event: error\ndata: {"message":"rate limited"}\n\n`, "rate limited"],
  ] as const
) {
  Deno.test(`attempt: a stream whose first event is ${what} is a bad_stream saying what the backend said`, async () => {
    const s = stub(() => sse(text));
    const failure = failureOf(await attemptUpstream(request(STREAMED), ctx(s.fetch)), "bad_stream");
    assert.equal(failure.message, said);
  });
}

Deno.test("attempt: an error before any content cancels the upstream body", async () => {
  const body = watchedBody(OVERLOADED);
  const s = stub(() => new Response(body.body, { headers: { "content-type": "text/event-stream" } }));
  failureOf(await attemptUpstream(request(STREAMED), ctx(s.fetch)), "bad_stream");
  assert.equal(body.cancelled(), true);
});

for (const [what, text] of [["keep-alives", KEEP_ALIVE], ["envelopes", KEEP_ALIVE + ROLE + ROLE]] as const) {
  Deno.test(`attempt: a stream that ends before its first content (${what} only) is a bad_stream`, async () => {
    const s = stub(() => sse(text));
    const failure = failureOf(await attemptUpstream(request(STREAMED), ctx(s.fetch)), "bad_stream");
    assert.match(failure.message, /ended before its first event/);
  });
}

Deno.test("attempt: a non-SSE 200 to a stream request is a bad_stream, its body cancelled unread", async () => {
  const body = watchedBody(`{"id":"chatcmpl-1"}`);
  const s = stub(() => new Response(body.body, { headers: { "content-type": "application/json" } }));
  const failure = failureOf(await attemptUpstream(request(STREAMED), ctx(s.fetch)), "bad_stream");
  assert.match(failure.message, /without SSE/);
  assert.equal(body.cancelled(), true);
});

Deno.test("attempt: a stream whose answer is translated (stream and whole) is judged as a stream", async () => {
  const s = stub(() => sse(ROLE + HI));
  const answer = answerOf(await attemptUpstream(request({ stream: true, whole: true }), ctx(s.fetch)), "stream");
  assert.deepEqual(kindsOf(answer.head), ["envelope", "content"]);
});

Deno.test("attempt: with the opaque grammar (an endpoint modelpin does not know) the first data event decides", async () => {
  const s = stub(() => sse([ROLE, OVERLOADED]));
  const answer = answerOf(
    await attemptUpstream(request({ ...STREAMED, grammar: OPAQUE_GRAMMAR }), ctx(s.fetch)),
    "stream",
  );
  assert.deepEqual(kindsOf(answer.head), ["content"], "a role-only chunk is content to the opaque grammar");
  assert.equal(answer.grammar, OPAQUE_GRAMMAR);
  assert.equal(await wholeStream(answer), ROLE + OVERLOADED);
});

// ---------------------------------------------------------------- streams: the Responses API

/** A Responses API event, as OpenAI sends one: named, with its type repeated in the data. */
function responsesEvent(type: string, fields: Record<string, unknown> = {}): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`;
}

const CREATED = responsesEvent("response.created", { response: { id: "resp_1", status: "in_progress" } });
const IN_PROGRESS = responsesEvent("response.in_progress", { response: { id: "resp_1", status: "in_progress" } });

const responsesRows: { what: string; events: string[]; verdict: string | string[] }[] = [
  {
    what: "created, in_progress, then failed is a bad_stream with the response's error",
    events: [
      CREATED,
      IN_PROGRESS,
      responsesEvent("response.failed", { response: { id: "resp_1", error: { message: "the server had an error" } } }),
    ],
    verdict: "the server had an error",
  },
  {
    what: "an empty message shell, its part and an empty delta are envelopes: an error event after them fails",
    events: [
      CREATED,
      responsesEvent("response.output_item.added", { item: { type: "message" } }),
      responsesEvent("response.content_part.added", { part: { type: "output_text", text: "" } }),
      responsesEvent("response.output_text.delta", { delta: "" }),
      responsesEvent("error", { message: "overloaded" }),
    ],
    verdict: "overloaded",
  },
  {
    what: "created, then an output_text.delta with text is a stream",
    events: [CREATED, responsesEvent("response.output_text.delta", { delta: "Hel" })],
    verdict: ["envelope", "content"],
  },
  {
    what: "a function call item is content",
    events: [CREATED, responsesEvent("response.output_item.added", { item: { type: "function_call" } })],
    verdict: ["envelope", "content"],
  },
  {
    what: "created, then completed is a stream (an empty answer, but a complete one)",
    events: [CREATED, responsesEvent("response.completed", { response: { id: "resp_1", status: "completed" } })],
    verdict: ["envelope", "done"],
  },
];

for (const { what, events, verdict } of responsesRows) {
  Deno.test(`attempt: Responses API: ${what}`, async () => {
    const s = stub(() => sse(events)); // one event a chunk: the judge reads on past each envelope
    const judged = await attemptUpstream(request({ ...STREAMED, grammar: RESPONSES_GRAMMAR }), ctx(s.fetch));
    if (typeof verdict === "string") {
      const failure = failureOf(judged, "bad_stream");
      assert.equal(failure.message, verdict);
      assert.equal(isRouteFailure(failure), true);
    } else {
      const answer = answerOf(judged, "stream");
      assert.deepEqual(kindsOf(answer.head), verdict);
      assert.equal(headText(answer), events.join(""));
    }
  });
}

// ---------------------------------------------------------------- streams: bounds

Deno.test("attempt: an SSE answer with no event boundary in its first 256 KiB is passed on unjudged", async () => {
  const blob = "data: " + "x".repeat(MAX_ENVELOPE_BYTES + 44 * 1024); // no blank line: never a complete event
  const s = stub(() => sse(blob));
  const answer = answerOf(await attemptUpstream(request(STREAMED), ctx(s.fetch)), "stream");
  assert.deepEqual(answer.head, []);
  assert.equal(await wholeStream(answer), blob);
});

Deno.test("attempt: envelopes are held up to MAX_ENVELOPE_BYTES; past that the stream is passed on unjudged", async () => {
  const chunk = ROLE.repeat(Math.ceil(16 * 1024 / ROLE.length));
  const count = Math.ceil(MAX_ENVELOPE_BYTES / chunk.length) + 2;
  const chunks = [...Array(count).fill(chunk), HI + DONE];
  const s = stub(() => sse(chunks));
  const answer = answerOf(await attemptUpstream(request(STREAMED), ctx(s.fetch)), "stream");
  assert.ok(answer.head.every((h) => h.info.kind === "envelope"), "no content was waited for");
  const held = answer.head.reduce((n, h) => n + h.event.raw.length, 0);
  assert.ok(held > MAX_ENVELOPE_BYTES && held <= MAX_ENVELOPE_BYTES + chunk.length, `held ${held} bytes`);
  assert.equal(await wholeStream(answer), chunks.join(""));
});

Deno.test("attempt: below MAX_ENVELOPE_BYTES envelopes are still held: an error after them is a bad_stream", async () => {
  const chunk = ROLE.repeat(Math.ceil(16 * 1024 / ROLE.length));
  const count = Math.floor(MAX_ENVELOPE_BYTES / chunk.length) - 1;
  const s = stub(() => sse([...Array(count).fill(chunk), OVERLOADED]));
  const failure = failureOf(await attemptUpstream(request(STREAMED), ctx(s.fetch)), "bad_stream");
  assert.equal(failure.message, "model overloaded");
});

Deno.test("attempt: a chunk that grows one event past the framer's bound (16 MiB) is a bad_stream naming it", async () => {
  const big = new Uint8Array(MAX_EVENT_BYTES + 1).fill(0x78); // "xxx…", no line break
  big.set(encoder.encode("data: "));
  const body = paced([big, DONE]);
  const s = stub(() => new Response(body.body, { headers: { "content-type": "text/event-stream" } }));
  const failure = failureOf(await attemptUpstream(request(STREAMED), ctx(s.fetch)), "bad_stream");
  assert.match(failure.message, /larger than 16 MiB/);
  assert.equal(body.cancelled(), true);
});

Deno.test(
  "attempt: an event growing past 16 MiB in 64 KiB chunks is passed on after MAX_ENVELOPE_BYTES; its framer refuses it",
  async () => {
    const piece = new Uint8Array(64 * 1024).fill(0x78);
    const body = paced((function* () {
      yield "data: ";
      for (;;) yield piece;
    })());
    const s = stub(() => new Response(body.body, { headers: { "content-type": "text/event-stream" } }));
    const answer = answerOf(await attemptUpstream(request(STREAMED), ctx(s.fetch)), "stream");
    assert.deepEqual(answer.head, []);
    assert.ok(answer.framer.pending > MAX_ENVELOPE_BYTES && answer.framer.pending < MAX_EVENT_BYTES);
    // The bound holds where the rest is framed (the relay), which ends the stream there.
    await assert.rejects(async () => {
      for (;;) {
        const r = await answer.source.read();
        if (r.done) return;
        answer.framer.push(r.value);
      }
    }, EventTooLargeError);
    await answer.source.cancel();
    assert.equal(body.cancelled(), true);
  },
);

// ---------------------------------------------------------------- answers read whole, and failures with a status

Deno.test("attempt: a JSON answer is read whole, undecoded", async () => {
  const s = stub(() => json({ id: "chatcmpl-1" }));
  const answer = answerOf(await attemptUpstream(request(), ctx(s.fetch)), "whole");
  assert.equal(answer.response.status, 200);
  assert.deepEqual(JSON.parse(decoder.decode(answer.body)), { id: "chatcmpl-1" });
  assert.equal(answer.decoded, false);
});

for (const status of [400, 401, 404, 422]) {
  Deno.test(`attempt: a ${status} is an answer read whole with its status, not a failure (the client's problem)`, async () => {
    const s = stub(() => new Response("bad request", { status, headers: { "content-type": "text/plain" } }));
    const answer = answerOf(await attemptUpstream(request(), ctx(s.fetch)), "whole");
    assert.equal(answer.response.status, status);
    assert.equal(decoder.decode(answer.body), "bad request");
  });
}

for (const status of [500, 503, 529]) {
  Deno.test(`attempt: a ${status} of any type is a status failure holding the backend's answer, read whole`, async () => {
    const s = stub(() => new Response("backend overloaded", { status, headers: { "content-type": "text/plain" } }));
    const failure = failureOf(await attemptUpstream(request(), ctx(s.fetch)), "status");
    assert.equal(failure.code, status);
    assert.equal(failure.retryAfterMs, undefined);
    assert.equal(failure.answer.status, status);
    assert.equal(failure.answer.headers.get("content-type"), "text/plain");
    assert.equal(decoder.decode(failure.answer.body), "backend overloaded");
  });
}

Deno.test("attempt: a 5xx to a stream request is a status failure too, not a bad_stream", async () => {
  const s = stub(() => json({ error: { message: "down" } }, 502));
  const failure = failureOf(await attemptUpstream(request(STREAMED), ctx(s.fetch)), "status");
  assert.equal(failure.code, 502);
  assert.deepEqual(JSON.parse(decoder.decode(failure.answer.body)), { error: { message: "down" } });
});

for (
  const [headers, wait] of [
    [{ "retry-after": "7" }, 7000],
    [{ "retry-after-ms": "1500" }, 1500],
    [{}, undefined],
  ] as const
) {
  Deno.test(`attempt: a 429 is a status failure carrying the delay it asks for: ${JSON.stringify(headers)}`, async () => {
    const s = stub(() => json({ error: { message: "slow down" } }, 429, headers));
    const failure = failureOf(await attemptUpstream(request(), ctx(s.fetch)), "status");
    assert.equal(failure.code, 429);
    assert.equal(failure.retryAfterMs, wait);
    assert.deepEqual(JSON.parse(decoder.decode(failure.answer.body)), { error: { message: "slow down" } });
  });
}

// ---------------------------------------------------------------- answers needed whole (a translating door)

Deno.test("attempt: an SSE 200 to a request that needs its answer whole is a bad_response (wrong shape)", async () => {
  const body = watchedBody(HI);
  const s = stub(() => new Response(body.body, { headers: { "content-type": "text/event-stream" } }));
  const failure = failureOf(await attemptUpstream(request(WHOLE), ctx(s.fetch)), "bad_response");
  assert.equal(failure.code, "upstream_wrong_shape");
  assert.match(failure.message, /non-streaming request with an SSE stream/);
  assert.equal(isRouteFailure(failure), true);
  assert.equal(body.cancelled(), true);
});

for (const contentType of ["text/plain", undefined]) {
  Deno.test(`attempt: a request that needs its answer whole reads ${contentType ? `a ${contentType}` : "an untyped"} 200 whole`, async () => {
    const bytes = encoder.encode(`{"id":"msg_1"}`);
    const headers: Record<string, string> = contentType ? { "content-type": contentType } : {};
    const s = stub(() => new Response(bytes, { headers }));
    const answer = answerOf(await attemptUpstream(request(WHOLE), ctx(s.fetch)), "whole");
    assert.equal(answer.response.headers.get("content-type"), contentType ?? null);
    assert.equal(decoder.decode(answer.body), `{"id":"msg_1"}`);
  });
}

Deno.test("attempt: a 2xx answer over the buffered bound, needed whole, is a bad_response (too large)", async () => {
  const big = lazyBigBody(OVER_BOUND_MIB);
  const s = stub(() => new Response(big.body, { headers: { "content-type": "application/json" } }));
  const failure = failureOf(await attemptUpstream(request(WHOLE), ctx(s.fetch)), "bad_response");
  assert.equal(failure.code, "upstream_answer_too_large");
  assert.match(failure.message, /an answer larger than 16 MiB/);
  assert.ok(big.produced() < OVER_BOUND_MIB, "reading stopped at the bound");
});

// ---------------------------------------------------------------- answers that stream through

Deno.test("attempt: a non-JSON success (audio, a file) is a body answer, passed through unread", async () => {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled++;
      c.enqueue(encoder.encode("RIFF...."));
      c.close();
    },
  }, { highWaterMark: 0 });
  const s = stub(() => new Response(body, { headers: { "content-type": "audio/wav" } }));
  const answer = answerOf(await attemptUpstream(request(), ctx(s.fetch)), "body");
  assert.equal(answer.response.status, 200);
  assert.equal(pulled, 0, "nothing was read before the client reads");
  assert.deepEqual(answer.head, []);
  const first = await answer.source!.read();
  assert.equal(decoder.decode(first.value), "RIFF....");
  assert.equal((await answer.source!.read()).done, true);
});

Deno.test("attempt: a 204 is a body answer with no body to relay", async () => {
  const s = stub(() => new Response(null, { status: 204 }));
  const answer = answerOf(await attemptUpstream(request(), ctx(s.fetch)), "body");
  assert.equal(answer.source, undefined);
  assert.equal(answer.response.status, 204);
});

Deno.test("attempt: a JSON answer over the buffered bound, not needed whole, streams through as a body", async () => {
  const big = lazyBigBody(OVER_BOUND_MIB);
  const s = stub(() => new Response(big.body, { headers: { "content-type": "application/json" } }));
  const answer = answerOf(await attemptUpstream(request(), ctx(s.fetch)), "body");
  assert.equal(answer.response.status, 200);
  const head = answer.head.reduce((n, c) => n + c.length, 0);
  assert.ok(head > MAX_BUFFERED_ANSWER_BYTES, `head holds ${head} bytes, just over the bound`);
  assert.ok(
    big.produced() < OVER_BOUND_MIB,
    `the rest (${OVER_BOUND_MIB - big.produced()} MiB) was left for the client`,
  );
  // The client reads the rest through the source: every byte arrives.
  assert.equal((await wholeBody(answer)).length, OVER_BOUND_MIB * 1024 * 1024);
});

for (const status of [404, 500]) {
  Deno.test(`attempt: a ${status} body over the buffered bound is a bad_response, not held in memory`, async () => {
    const big = lazyBigBody(OVER_BOUND_MIB);
    const s = stub(() => new Response(big.body, { status, headers: { "content-type": "text/plain" } }));
    const failure = failureOf(await attemptUpstream(request(), ctx(s.fetch)), "bad_response");
    assert.equal(failure.code, "upstream_answer_too_large");
    assert.match(failure.message, /an error body larger than 16 MiB/);
    assert.ok(big.produced() < OVER_BOUND_MIB, "reading stopped at the bound");
  });
}

// ---------------------------------------------------------------- failures without an answer

Deno.test("attempt: a fetch that throws (refused, reset, DNS) is a connect failure", async () => {
  const fetch: FetchLike = () => Promise.reject(new TypeError("error sending request: connection refused"));
  assert.deepEqual(await attemptUpstream(request(), ctx(fetch)), { failure: { kind: "connect" } });
});

Deno.test("attempt: no answer within the timeout is a timeout, and the fetch is aborted", async () => {
  const h = hangingFetch();
  const judged = await keptAlive(attemptUpstream(request(), ctx(h.fetch, { timeoutMs: 20 })));
  assert.deepEqual(judged, { failure: { kind: "timeout" } });
  assert.equal((await h.called).aborted, true);
});

Deno.test("attempt: the timeout covers a JSON body that stalls after its headers", async () => {
  let signal!: AbortSignal;
  const s = stub((init) => {
    signal = init.signal!;
    const body = paced([`{"id":`], signal); // ...and nothing more
    return new Response(body.body, { headers: { "content-type": "application/json" } });
  });
  const judged = await keptAlive(attemptUpstream(request(), ctx(s.fetch, { timeoutMs: 20 })));
  assert.deepEqual(judged, { failure: { kind: "timeout" } });
  assert.equal(signal.aborted, true);
});

for (const [what, prefix] of [["a keep-alive", KEEP_ALIVE], ["a role-only envelope", ROLE]] as const) {
  Deno.test(`attempt: the timeout covers a stream's first content, not just its headers (after ${what})`, async () => {
    let signal!: AbortSignal;
    const s = stub((init) => {
      signal = init.signal!;
      return new Response(paced([prefix], signal).body, { headers: { "content-type": "text/event-stream" } });
    });
    const judged = await keptAlive(attemptUpstream(request(STREAMED), ctx(s.fetch, { timeoutMs: 20 })));
    assert.deepEqual(judged, { failure: { kind: "timeout" } });
    assert.equal(signal.aborted, true);
  });
}

Deno.test("attempt: a redirect is never followed: it fails as a redirect with its status", async () => {
  const s = stub(() =>
    new Response("moved", { status: 307, headers: { location: "http://elsewhere.test/v1/chat/completions" } })
  );
  assert.deepEqual(await attemptUpstream(request(), ctx(s.fetch)), { failure: { kind: "redirect", code: 307 } });
  assert.equal(s.calls.length, 1, "the location was not fetched");
});

for (const status of [101, 999]) {
  Deno.test(`attempt: status ${status} cannot be relayed: a bad_response naming the status`, async () => {
    const watched = watchedBody("odd");
    const s = stub(() => withStatus(status, watched.body));
    const failure = failureOf(await attemptUpstream(request(), ctx(s.fetch)), "bad_response");
    assert.equal(failure.code, "upstream_bad_status");
    assert.match(failure.message, new RegExp(`status ${status}`));
    assert.equal(watched.cancelled(), true, "the body was cancelled");
  });
}

Deno.test("attempt: a content-encoding modelpin cannot decode (zstd) is a bad_response naming it", async () => {
  const watched = watchedBody("\x28\xb5\x2f\xfd");
  const s = stub(() =>
    new Response(watched.body, { headers: { "content-type": "application/json", "content-encoding": "zstd" } })
  );
  const failure = failureOf(await attemptUpstream(request(), ctx(s.fetch)), "bad_response");
  assert.equal(failure.code, "upstream_bad_encoding");
  assert.match(failure.message, /zstd/);
  assert.equal(watched.cancelled(), true, "the body was cancelled");
});

Deno.test("attempt: a client already gone is client_gone, and nothing is sent upstream", async () => {
  const client = new AbortController();
  client.abort();
  const s = stub(() => json({}));
  const judged = await attemptUpstream(request(), ctx(s.fetch, { clientSignal: client.signal }));
  assert.deepEqual(judged, { failure: { kind: "client_gone" } });
  assert.equal(s.calls.length, 0);
});

Deno.test("attempt: a client leaving while the backend thinks is client_gone, and the fetch is aborted", async () => {
  const client = new AbortController();
  const h = hangingFetch();
  const pending = attemptUpstream(request(), ctx(h.fetch, { clientSignal: client.signal, timeoutMs: 60_000 }));
  const signal = await h.called;
  assert.equal(signal.aborted, false);
  client.abort();
  assert.deepEqual(await pending, { failure: { kind: "client_gone" } });
  assert.equal(signal.aborted, true);
});

Deno.test("attempt: a client leaving while the judge waits past envelopes is client_gone", async () => {
  const client = new AbortController();
  let body!: ReturnType<typeof paced>;
  const s = stub((init) => {
    body = paced([ROLE], init.signal!);
    return new Response(body.body, { headers: { "content-type": "text/event-stream" } });
  });
  const pending = attemptUpstream(request(STREAMED), ctx(s.fetch, { clientSignal: client.signal }));
  await keptAlive(body.stalled); // the envelope was judged, and the judge reads on for content
  client.abort();
  assert.deepEqual(await pending, { failure: { kind: "client_gone" } });
});

// ---------------------------------------------------------------- bodies sent compressed

Deno.test("attempt: a gzip body sent unasked is decoded, and says so", async () => {
  const text = JSON.stringify({ id: "chatcmpl-gz", text: "x".repeat(5000) });
  const zipped = await gzip(text);
  const s = stub(() =>
    new Response(zipped, {
      headers: { "content-type": "application/json", "content-encoding": "gzip", "content-length": `${zipped.length}` },
    })
  );
  const answer = answerOf(await attemptUpstream(request(), ctx(s.fetch)), "whole");
  assert.equal(answer.decoded, true);
  assert.equal(decoder.decode(answer.body), text);
});

Deno.test("attempt: a gzip SSE stream is decoded before its first event is judged", async () => {
  const text = ROLE + HI + DONE;
  const zipped = await gzip(text);
  const s = stub(() =>
    new Response(zipped, { headers: { "content-type": "text/event-stream", "content-encoding": "gzip" } })
  );
  const answer = answerOf(await attemptUpstream(request(STREAMED), ctx(s.fetch)), "stream");
  assert.ok(kindsOf(answer.head).includes("content"));
  assert.equal(await wholeStream(answer), text);
});

// ---------------------------------------------------------------- control

Deno.test("attempt: a stream's abort function aborts the fetch's signal (the relay stops the backend with it)", async () => {
  const s = stub(() => sse(HI + DONE));
  const answer = answerOf(await attemptUpstream(request(STREAMED), ctx(s.fetch)), "stream");
  const signal = s.calls[0].init.signal!;
  assert.equal(signal.aborted, false);
  answer.abort();
  assert.equal(signal.aborted, true);
  await answer.source.cancel();
});

Deno.test("attempt: a body answer's abort function aborts the fetch's signal too", async () => {
  const s = stub(() => new Response("RIFF....", { headers: { "content-type": "audio/wav" } }));
  const answer = answerOf(await attemptUpstream(request(), ctx(s.fetch)), "body");
  const signal = s.calls[0].init.signal!;
  assert.equal(signal.aborted, false);
  answer.abort();
  assert.equal(signal.aborted, true);
  await answer.source!.cancel();
});

Deno.test("attempt: it is listed in flight while it waits, so shutdown can abort it, and unlisted after", async () => {
  const inflight = new InflightAttempts(0);
  const h = hangingFetch();
  const pending = attemptUpstream(request(), { fetch: h.fetch, clientSignal: noClient(), inflight });
  const signal = await h.called;
  assert.equal(inflight.size, 1);
  inflight.abortAll(); // what shutdown does
  const judged = await pending;
  assert.equal(signal.aborted, true);
  assert.deepEqual(judged, { failure: { kind: "connect" } });
  assert.equal(inflight.size, 0);
});
