/**
 * The relay, specified against a scripted upstream (a fake ChunkSource the
 * test feeds chunk by chunk, no sockets): what the client reads and when,
 * when upstream is read, how each kind of end looks, keys masked last, and
 * the registry's idle sweep and shutdown.
 *
 * SSE bodies go through EventStages (framer, grammar, translator), other
 * bodies through BodyStages; the relay around them is the same.
 */

import assert from "node:assert/strict";
import type { ChunkResult, ChunkSource } from "../../../src/stream/chunk_reader.ts";
import { KeyMasker } from "../../../src/security/key_masker.ts";
import type { KeyStream } from "../../../src/security/key_stream.ts";
import {
  CHAT_GRAMMAR,
  type EventGrammar,
  OPAQUE_GRAMMAR,
  RESPONSES_GRAMMAR,
} from "../../../src/stream/event_grammar.ts";
import {
  BodyStages,
  EventStages,
  type JudgedEvent,
  passThrough,
  type StreamTranslator,
} from "../../../src/stream/event_stages.ts";
import { Relay, type RelayStages } from "../../../src/stream/relay.ts";
import { RelayRegistry } from "../../../src/stream/relay_registry.ts";
import { type SseEvent, sseEvent, SseFramer } from "../../../src/stream/sse_framer.ts";
import { openAiStreamError } from "../../../src/openai/dialect.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text);

/**
 * An upstream body the test scripts: each `read()` waits until the test
 * supplies a chunk, the end, or an error. Counts reads and records cancel.
 */
class ScriptedSource implements ChunkSource {
  reads = 0;
  cancelled = false;
  #queue: (ChunkResult | Error)[] = [];
  #waiting: ((r: ChunkResult | Error) => void) | undefined;
  #readStarted: (() => void) | undefined;

  read(): Promise<ChunkResult> {
    this.reads++;
    const next = this.#queue.shift();
    const settle = (r: ChunkResult | Error) => r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
    if (next !== undefined) return settle(next);
    const waited = new Promise<ChunkResult | Error>((resolve) => this.#waiting = resolve).then(settle);
    this.#readStarted?.();
    this.#readStarted = undefined;
    return waited;
  }

  cancel(): Promise<void> {
    this.cancelled = true;
    this.#deliver({ done: true }); // a cancelled body's pending read ends
    return Promise.resolve();
  }

  /** Resolves once the relay is waiting on upstream for a chunk (at once if it already is). */
  nextRead(): Promise<void> {
    if (this.#waiting) return Promise.resolve();
    return new Promise((r) => this.#readStarted = r);
  }

  chunk(text: string): void {
    this.#deliver({ done: false, value: bytes(text) });
  }

  end(): void {
    this.#deliver({ done: true });
  }

  fail(): void {
    this.#deliver(new Error("connection reset"));
  }

  #deliver(r: ChunkResult | Error): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting) waiting(r);
    else this.#queue.push(r);
  }
}

/** Head events as the first-event judge hands them over: framed and read through `grammar`. */
function judged(grammar: EventGrammar, ...texts: string[]): JudgedEvent[] {
  return texts.map((text) => {
    const event = sseEvent(bytes(text));
    return { event, info: grammar.inspect(event) };
  });
}

interface Made<S extends RelayStages = RelayStages> {
  relay: Relay;
  stages: S;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  aborts: () => number;
}

/** A relay over `source` through `stages`, with its upstream aborts counted. */
function relayOver<S extends RelayStages>(source: ChunkSource, stages: S, keys?: KeyStream): Made<S> {
  let aborts = 0;
  const relay = new Relay({ source, stages, keys, abortUpstream: () => void aborts++ });
  return { relay, stages, reader: relay.body.getReader(), aborts: () => aborts };
}

interface SseOptions {
  /** Events the judge already read (whole event texts). */
  head?: string[];
  grammar?: EventGrammar;
  translator?: StreamTranslator;
  framer?: SseFramer;
  keys?: KeyStream;
}

/** An SSE relay as the OpenAI door wires it: chat grammar, events passed on, OpenAI-shaped error events. */
function sseRelay(source: ChunkSource, options: SseOptions = {}): Made<EventStages> {
  const grammar = options.grammar ?? CHAT_GRAMMAR;
  const stages = new EventStages(
    judged(grammar, ...(options.head ?? [])),
    options.framer ?? new SseFramer(),
    grammar,
    options.translator ?? passThrough(openAiStreamError),
  );
  return relayOver(source, stages, options.keys);
}

/** Reads one chunk the client would get, as text (`undefined` at the end). */
async function next(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string | undefined> {
  const r = await reader.read();
  return r.done ? undefined : decoder.decode(r.value);
}

/** Everything the client still gets, as text. */
async function rest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  let text = "";
  for (let chunk = await next(reader); chunk !== undefined; chunk = await next(reader)) text += chunk;
  return text;
}

/** The `error.code` of the OpenAI-shaped SSE error event at the end of `text`. */
function errorCodeAtEnd(text: string): string {
  const m = text.match(/data: (\{"error".*\})\n\n$/);
  assert.ok(m, `ends with an SSE error event: ${JSON.stringify(text)}`);
  return JSON.parse(m[1]).error.code;
}

/** Whether `p` has settled once every task queued so far has run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(() => done = true, () => done = true);
  await new Promise((r) => setTimeout(r, 0));
  return done;
}

const chunk = (content: string) => `data: {"choices":[{"index":0,"delta":{"content":"${content}"}}]}\n\n`;
const EVENT = chunk("hi");
const ROLE = `data: {"choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n`;
const FINISH = `data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n`;
const DONE = "data: [DONE]\n\n";
const ERROR_EVENT = `data: {"error":{"message":"model overloaded","type":"server_error"}}\n\n`;

// ---------------------------------------------------------------- passing events

Deno.test("relay: the judged head comes first, then each upstream event, in order and each as it came", async () => {
  const source = new ScriptedSource();
  const { reader, relay } = sseRelay(source, { head: [ROLE, EVENT] });
  const a = chunk("a");
  const b = chunk("b");
  source.chunk(a);
  source.chunk(": keep-alive\n\n");
  source.chunk(b);
  source.chunk(DONE);
  assert.equal(await next(reader), ROLE + EVENT, "the head is handed over as one chunk");
  assert.equal(await next(reader), a, "one client chunk per upstream event, never coalesced with the next");
  assert.equal(await next(reader), ": keep-alive\n\n", "comments are events too, passed on");
  assert.equal(await next(reader), b);
  assert.equal(await next(reader), DONE);
  assert.equal(await next(reader), undefined);
  assert.equal(await relay.ended, "complete");
});

Deno.test("relay: an event split across upstream chunks reaches the client whole, when its blank line arrives", async () => {
  const source = new ScriptedSource();
  const { reader, stages } = sseRelay(source, { head: [EVENT] });
  assert.equal(await next(reader), EVENT);
  const reading = next(reader);
  const event = chunk("split");
  source.chunk(event.slice(0, 10));
  source.chunk(event.slice(10, -1)); // everything but the last line break of the blank line
  await source.nextRead();
  assert.equal(await settled(reading), false, "nothing of the event reaches the client before its blank line");
  source.chunk(event.slice(-1));
  assert.equal(await reading, event, "the event comes whole, as one chunk");
  assert.equal(stages.usage, undefined);
});

Deno.test("relay: events completed by one upstream chunk reach the client together, byte for byte", async () => {
  const source = new ScriptedSource();
  const { reader } = sseRelay(source, { head: [EVENT] });
  const two = chunk("a") + chunk("b");
  source.chunk(two + 'data: {"choi'); // two whole events and the start of a third
  source.chunk(`ces":[]}\n\n${DONE}`);
  assert.equal(await next(reader), EVENT);
  assert.equal(await next(reader), two, "the start of the third event is held back");
  assert.equal(await next(reader), `data: {"choices":[]}\n\n${DONE}`);
  assert.equal(await next(reader), undefined);
});

Deno.test("relay: nothing is read upstream until the client pulls, and one read per pull of a whole event (backpressure)", async () => {
  const source = new ScriptedSource();
  const { reader } = sseRelay(source, { head: [EVENT] });
  // Let every pending task run: a relay that read ahead would have done so by now.
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(source.reads, 0, "no read before the client asked");
  assert.equal(await next(reader), EVENT, "the judged head needs no upstream read");
  assert.equal(source.reads, 0);
  const reading = next(reader);
  await source.nextRead();
  assert.equal(source.reads, 1);
  source.chunk(chunk("a"));
  assert.equal(await reading, chunk("a"));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(source.reads, 1, "no read ahead of the client");
  // A pull reads on only until it has a whole event to hand over.
  source.chunk("data: {}");
  source.chunk("\n\n");
  assert.equal(await next(reader), "data: {}\n\n");
  assert.equal(source.reads, 3);
  source.chunk(DONE);
  assert.equal(await next(reader), DONE);
  assert.equal(source.reads, 4);
  assert.equal(await next(reader), undefined);
});

Deno.test("relay: waitingSince is set while the relay waits on upstream and cleared when a chunk arrives", async () => {
  const source = new ScriptedSource();
  const { relay, reader } = sseRelay(source);
  assert.equal(relay.waitingSince, 0, "not waiting before the client reads");
  const reading = next(reader);
  await source.nextRead();
  assert.ok(relay.waitingSince > 0);
  source.chunk(EVENT);
  await reading;
  assert.equal(relay.waitingSince, 0);
  source.chunk(DONE);
  await rest(reader);
});

// ---------------------------------------------------------------- how a stream ends

Deno.test("relay: data: [DONE] ends the client's stream at once and stops the upstream", async () => {
  const source = new ScriptedSource();
  const { relay, reader, aborts } = sseRelay(source, { head: [EVENT] });
  source.chunk(DONE);
  // The backend never closes: the client's stream ends anyway, without waiting on it.
  assert.equal(await rest(reader), EVENT + DONE, "nothing added");
  assert.equal(await relay.ended, "complete");
  assert.equal(aborts(), 1, "the upstream request is aborted");
  assert.equal(source.cancelled, true, "and its body cancelled");
  assert.equal(source.reads, 1, "nothing is read after [DONE]");
});

Deno.test("relay: whatever follows [DONE] is ignored: events in the same chunk, a break, silence", async () => {
  const source = new ScriptedSource();
  const { relay, reader, aborts } = sseRelay(source, { head: [EVENT] });
  source.chunk(`${DONE}: keep-alive\n\n${chunk("late")}`);
  source.fail(); // queued, never read
  assert.equal(await rest(reader), EVENT + DONE);
  assert.equal(await relay.ended, "complete", "the break after [DONE] is not a broken stream");
  assert.equal(source.reads, 1);
  assert.equal(aborts(), 1);
});

Deno.test("relay: a [DONE] split across chunks ends the stream once its blank line arrives", async () => {
  const source = new ScriptedSource();
  const { relay, reader } = sseRelay(source, { head: [EVENT] });
  source.chunk("data: [DO");
  source.chunk("NE]\n");
  source.chunk("\n");
  assert.equal(await rest(reader), EVENT + DONE);
  assert.equal(await relay.ended, "complete");
  assert.equal(source.reads, 3);
});

Deno.test("relay: a [DONE] among the judged head ends the stream before anything is read", async () => {
  const source = new ScriptedSource();
  const { relay, reader, aborts } = sseRelay(source, { head: [FINISH, DONE] });
  assert.equal(await rest(reader), FINISH + DONE);
  assert.equal(await relay.ended, "complete");
  assert.equal(source.reads, 0);
  assert.equal(aborts(), 1);
});

Deno.test("relay: an error event after content is passed on and ends the stream (end error), stopping the upstream", async () => {
  const source = new ScriptedSource();
  const { relay, reader, aborts } = sseRelay(source, { head: [EVENT] });
  source.chunk(ERROR_EVENT + chunk("after the error"));
  assert.equal(await rest(reader), EVENT + ERROR_EVENT, "the backend's own error event, and nothing after it");
  assert.equal(await relay.ended, "error");
  assert.equal(aborts(), 1);
  assert.equal(source.cancelled, true);
});

Deno.test("relay: an `event: error` event ends the stream the same way", async () => {
  const source = new ScriptedSource();
  const { relay, reader } = sseRelay(source, { head: [EVENT] });
  source.chunk("event: error\ndata: rate limited\n\n");
  assert.equal(await rest(reader), EVENT + "event: error\ndata: rate limited\n\n");
  assert.equal(await relay.ended, "error");
});

Deno.test("relay: a clean close after a finish_reason, without [DONE], is complete: nothing added, no [DONE] made up", async () => {
  const source = new ScriptedSource();
  const { relay, reader, aborts } = sseRelay(source, { head: [EVENT] });
  source.chunk(FINISH);
  source.end();
  const text = await rest(reader);
  assert.equal(text, EVENT + FINISH);
  assert.ok(!text.includes("[DONE]"));
  assert.equal(await relay.ended, "complete");
  assert.equal(aborts(), 0, "a closed upstream is not aborted");
});

Deno.test("relay: a clean close with neither finish_reason nor [DONE] is truncated, with the translator's error event", async () => {
  const source = new ScriptedSource();
  const { relay, reader, aborts } = sseRelay(source, { head: [EVENT] });
  source.chunk(chunk("more"));
  source.end();
  const text = await rest(reader);
  assert.ok(text.startsWith(EVENT + chunk("more") + "data: {"), JSON.stringify(text));
  assert.equal(errorCodeAtEnd(text), "upstream_stream_truncated");
  assert.equal(await relay.ended, "truncated");
  assert.equal(aborts(), 1);
});

Deno.test("relay: a clean close in the middle of an event is truncated, and the partial event is not sent", async () => {
  const source = new ScriptedSource();
  const { relay, reader } = sseRelay(source, { head: [EVENT] });
  source.chunk(`data: {"choices":[{"delta":{"content":"ha`);
  source.end();
  const text = await rest(reader);
  assert.ok(!text.includes(`"ha`), JSON.stringify(text));
  assert.equal(errorCodeAtEnd(text), "upstream_stream_truncated");
  assert.equal(await relay.ended, "truncated");
});

Deno.test("relay: an error event cut off by the close (no blank line) is passed on and ends the stream as error", async () => {
  const source = new ScriptedSource();
  const { relay, reader } = sseRelay(source, { head: [EVENT] });
  source.chunk(`data: {"error":{"message":"model overloaded"}}`);
  source.end();
  assert.equal(await rest(reader), EVENT + `data: {"error":{"message":"model overloaded"}}`);
  assert.equal(await relay.ended, "error");
});

Deno.test("relay: a stream of a grammar that needs no end (opaque) is complete at a clean close, its last block passed on", async () => {
  const source = new ScriptedSource();
  const { relay, reader } = sseRelay(source, { head: ["data: a\n\n"], grammar: OPAQUE_GRAMMAR });
  source.chunk("data: b\n\ndata: c"); // the last block without its blank line
  source.end();
  assert.equal(await rest(reader), "data: a\n\ndata: b\n\ndata: c");
  assert.equal(await relay.ended, "complete");
});

Deno.test("relay: a Responses stream ends at response.completed, whatever the backend does next", async () => {
  const source = new ScriptedSource();
  const created = `event: response.created\ndata: {"type":"response.created","response":{}}\n\n`;
  const completed = `event: response.completed\ndata: {"type":"response.completed","response":` +
    `{"usage":{"input_tokens":3,"output_tokens":4}}}\n\n`;
  const { relay, reader, stages, aborts } = sseRelay(source, { head: [created], grammar: RESPONSES_GRAMMAR });
  source.chunk(completed);
  assert.equal(await rest(reader), created + completed);
  assert.equal(await relay.ended, "complete");
  assert.equal(aborts(), 1);
  assert.deepEqual(stages.usage, { input: 3, output: 4 });
});

/**
 * A translator in the manner of the Anthropic one: it turns events into its
 * own, knows by itself when its answer is whole, closes a clean end with its
 * own bytes and shapes its own error event.
 */
class StopTranslator implements StreamTranslator {
  finished = false;
  events = 0;
  event(event: SseEvent): string {
    this.events++;
    if (event.data === "stop") {
      this.finished = true;
      return "event: message_stop\n\n";
    }
    // "hold" stands for events a translator keeps until it has more.
    return event.data === "hold" ? "" : `event: text\ndata: ${event.data?.toUpperCase()}\n\n`;
  }
  complete(): string {
    return "event: closed\n\n";
  }
  fail(message: string, code: string): string {
    return `event: error\ndata: ${code}: ${message}\n\n`;
  }
}

Deno.test("relay: a translator whose answer is whole (finished) ends the stream at once and stops the upstream", async () => {
  const source = new ScriptedSource();
  const translator = new StopTranslator();
  const { relay, reader, aborts } = sseRelay(source, { head: ["data: a\n\n"], translator });
  source.chunk("data: stop\n\ndata: after\n\n");
  assert.equal(await rest(reader), "event: text\ndata: A\n\nevent: message_stop\n\n");
  assert.equal(await relay.ended, "complete");
  assert.equal(translator.events, 2, "the event after the end is not translated");
  assert.equal(aborts(), 1);
  assert.equal(source.cancelled, true);
});

Deno.test("relay: a translator shapes every event, head included, and closes a finished answer with its own bytes", async () => {
  const source = new ScriptedSource();
  const translator = new StopTranslator();
  const { relay, reader } = sseRelay(source, { head: ["data: a\n\n"], translator, grammar: OPAQUE_GRAMMAR });
  source.chunk("data: hold\n\n"); // translated into nothing: the relay reads on instead of sending an empty chunk
  source.chunk("data: b\n\n");
  source.end();
  assert.equal(await next(reader), "event: text\ndata: A\n\n");
  assert.equal(await next(reader), "event: text\ndata: B\n\n");
  assert.equal(await next(reader), "event: closed\n\n");
  assert.equal(await next(reader), undefined);
  assert.equal(translator.events, 3);
  assert.equal(await relay.ended, "complete");
});

Deno.test("relay: a translator's error event replaces the OpenAI-shaped one when the stream breaks", async () => {
  const source = new ScriptedSource();
  const { relay, reader } = sseRelay(source, { head: ["data: a\n\n"], translator: new StopTranslator() });
  source.fail();
  const text = await rest(reader);
  assert.equal(
    text,
    "event: text\ndata: A\n\nevent: error\ndata: upstream_stream_broken: the backend broke off the stream\n\n",
  );
  assert.equal(await relay.ended, "broken");
});

Deno.test("relay: an event larger than the framer's bound ends the stream with the too_large error event", async () => {
  const source = new ScriptedSource();
  const { relay, reader, aborts } = sseRelay(source, { head: [EVENT], framer: new SseFramer(64) });
  source.chunk(chunk("fits")); // under the bound
  source.chunk(`data: "${"x".repeat(40)}`);
  source.chunk(`${"x".repeat(40)}"\n\n`); // the same event, now past 64 bytes
  const text = await rest(reader);
  assert.ok(text.startsWith(EVENT + chunk("fits") + "data: {"), JSON.stringify(text));
  assert.ok(!text.includes("xxx"), "nothing of the oversized event is sent");
  assert.equal(errorCodeAtEnd(text), "upstream_stream_too_large");
  assert.equal(await relay.ended, "too_large");
  assert.equal(aborts(), 1);
  assert.equal(source.cancelled, true);
});

Deno.test("relay: a source error ends with an SSE error event, and the half-received event is never sent", async () => {
  const source = new ScriptedSource();
  const { relay, reader, aborts } = sseRelay(source, { head: [EVENT] });
  source.chunk(`data: {"choices":[{"delta":{"content":"ha`);
  source.fail();
  const text = await rest(reader);
  // The framer held the partial event: the client's stream stays well-formed SSE without any repair.
  assert.ok(text.startsWith(EVENT + 'data: {"error"'), JSON.stringify(text));
  assert.equal(errorCodeAtEnd(text), "upstream_stream_broken");
  assert.equal(await relay.ended, "broken");
  assert.equal(aborts(), 1, "upstream is aborted");
  assert.equal(source.cancelled, true, "and its body cancelled");
});

Deno.test("relay: a source error right after a whole event adds nothing but the error event", async () => {
  const source = new ScriptedSource();
  const { reader } = sseRelay(source, { head: [EVENT] });
  source.fail();
  const text = await rest(reader);
  assert.equal(text, EVENT + openAiStreamError("the backend broke off the stream", "upstream_stream_broken"));
});

for (
  const [end, code] of [["idle_timeout", "upstream_idle_timeout"], ["shutdown", "proxy_shutdown"]] as const
) {
  Deno.test(`relay: terminate("${end}") answers the waiting client with the ${code} event and stops upstream`, async () => {
    const source = new ScriptedSource();
    const { relay, reader, aborts } = sseRelay(source, { head: [EVENT] });
    assert.equal(await next(reader), EVENT);
    const reading = rest(reader);
    await source.nextRead(); // the client is waiting on upstream
    relay.terminate(end);
    const text = await reading;
    assert.equal(errorCodeAtEnd(text), code);
    assert.equal(await relay.ended, end);
    assert.equal(aborts(), 1);
    assert.equal(source.cancelled, true);
  });
}

Deno.test("relay: a client that hangs up aborts upstream and cancels its body, with no error event", async () => {
  const source = new ScriptedSource();
  const { relay, reader, aborts } = sseRelay(source, { head: [EVENT] });
  assert.equal(await next(reader), EVENT);
  const reading = next(reader);
  await source.nextRead();
  await reader.cancel(); // also settles the pending read, as done: no error event reaches anyone
  assert.equal(await reading, undefined);
  assert.equal(await relay.ended, "client_gone");
  assert.equal(aborts(), 1);
  assert.equal(source.cancelled, true);
});

Deno.test("relay: ended resolves once, with the first end; later ends neither change it nor abort again", async () => {
  const source = new ScriptedSource();
  const { relay, reader, aborts } = sseRelay(source, { head: [EVENT] });
  source.chunk(FINISH);
  source.end();
  await rest(reader);
  relay.terminate("shutdown");
  relay.terminate("idle_timeout");
  await reader.cancel();
  assert.equal(await relay.ended, "complete");
  assert.equal(aborts(), 0, "a stream that ended well is not aborted afterwards");

  const other = new ScriptedSource();
  const gone = sseRelay(other, { head: [EVENT] });
  await gone.reader.cancel();
  gone.relay.terminate("shutdown");
  assert.equal(await gone.relay.ended, "client_gone");
  assert.equal(gone.aborts(), 1);

  const done = sseRelay(new ScriptedSource(), { head: [DONE] });
  assert.equal(await rest(done.reader), DONE);
  done.relay.terminate("shutdown");
  assert.equal(await done.relay.ended, "complete");
  assert.equal(done.aborts(), 1, "the abort at [DONE], not one more");
});

// ---------------------------------------------------------------- usage

Deno.test("relay: the last usage a stream reports counts, head and envelopes included; none after [DONE]", async () => {
  const source = new ScriptedSource();
  const usage = (input: number, output: number) =>
    `data: {"choices":[],"usage":{"prompt_tokens":${input},"completion_tokens":${output}}}\n\n`;
  const { reader, stages } = sseRelay(source, { head: [usage(7, 0)] });
  assert.equal(await next(reader), usage(7, 0));
  assert.deepEqual(stages.usage, { input: 7, output: 0 });
  source.chunk(EVENT);
  source.chunk(`data: {"choices":[{"delta":{"content":"x"}}],"usage":null}\n\n`); // null is no usage
  source.chunk(usage(7, 5));
  source.chunk(DONE + usage(99, 99));
  await rest(reader);
  assert.deepEqual(stages.usage, { input: 7, output: 5 });
});

// ---------------------------------------------------------------- bodies that are not SSE

Deno.test("relay (body): the head chunks, then each upstream chunk as it came; a clean close is complete", async () => {
  const source = new ScriptedSource();
  const { relay, reader, aborts } = relayOver(source, new BodyStages([bytes('{"a":'), bytes("1,")]));
  source.chunk('"b":');
  source.chunk("2}");
  source.end();
  assert.equal(await next(reader), '{"a":1,');
  assert.equal(await next(reader), '"b":', "no framing: a chunk goes on as it came");
  assert.equal(await next(reader), "2}");
  assert.equal(await next(reader), undefined);
  assert.equal(await relay.ended, "complete");
  assert.equal(aborts(), 0);
});

Deno.test("relay (body): an idle timeout errors the client's body instead of writing an event into it", async () => {
  const source = new ScriptedSource();
  const { relay, reader, aborts } = relayOver(source, new BodyStages([bytes('{"partial":')]));
  assert.equal(await next(reader), '{"partial":');
  const reading = reader.read();
  await source.nextRead();
  relay.terminate("idle_timeout");
  await assert.rejects(reading, /PROXY_IDLE_TIMEOUT/);
  assert.equal(await relay.ended, "idle_timeout");
  assert.equal(aborts(), 1);
  assert.equal(source.cancelled, true);
});

Deno.test("relay (body): a broken source errors the client's body", async () => {
  const source = new ScriptedSource();
  const { relay, reader } = relayOver(source, new BodyStages([]));
  source.chunk("abc");
  source.fail();
  assert.equal(await next(reader), "abc");
  await assert.rejects(reader.read(), /broke off/);
  assert.equal(await relay.ended, "broken");
});

// ---------------------------------------------------------------- masking keys

const KEY = "sk-route-secret-0123456789";

Deno.test("relay: a key split across upstream chunks is masked (the event reaches the masker whole)", async () => {
  const source = new ScriptedSource();
  const { relay, reader } = sseRelay(source, {
    head: [`data: {"choices":[{"delta":{"content":"key ${KEY}"}}]}\n\n`],
    keys: new KeyMasker([KEY]).stream(),
  });
  source.chunk(`data: {"k":"sk-rou`);
  source.chunk("te-secret-01");
  source.chunk(`23456789"}\n\n`);
  source.chunk(`data: {"k":"${KEY.slice(0, 10)}`);
  source.chunk(`${KEY.slice(10)}"}\n\n${DONE}`);
  const text = await rest(reader);
  assert.equal(
    text,
    `data: {"choices":[{"delta":{"content":"key ***"}}]}\n\ndata: {"k":"***"}\n\ndata: {"k":"***"}\n\n${DONE}`,
  );
  assert.ok(!text.includes("sk-rou"));
  assert.equal(await relay.ended, "complete");
});

Deno.test("relay: a key JSON-escaped inside an SSE event is masked", async () => {
  const key = "sk-fast-0123456789abcdef";
  const source = new ScriptedSource();
  const { reader } = sseRelay(source, { keys: new KeyMasker([key]).stream() });
  source.chunk(`data: {"choices":[{"delta":{"content":"sk-\\u0066ast-0123456789abcdef"}}]}\n\n`);
  source.chunk(`data: {"k":"sk\\u002dfast\\u002D0123456789abcdef and sk-fast-0123456789abcde\\u0066"}\n\n`);
  source.chunk(DONE);
  assert.equal(
    await rest(reader),
    `data: {"choices":[{"delta":{"content":"***"}}]}\n\ndata: {"k":"*** and ***"}\n\n${DONE}`,
  );
});

const SHORT = "sk-short-0123456789";
const LONG = `${SHORT}-EXTENDED-abcdef`;

Deno.test("relay: of two keys where one starts the other, a split right after the shorter masks the longer whole", async () => {
  // In a plain body the split reaches the masker: it must hold the short key's match back, not mask it.
  const body = new ScriptedSource();
  const plain = relayOver(body, new BodyStages([]), new KeyMasker([SHORT, LONG]).stream());
  body.chunk(`{"k":"${SHORT}`);
  body.chunk(`${LONG.slice(SHORT.length)}","s":"${SHORT}"}`);
  body.end();
  const text = await rest(plain.reader);
  assert.equal(text, `{"k":"***","s":"***"}`);
  assert.ok(!text.includes("EXTENDED"), "no ***-EXTENDED... tail");

  const events = new ScriptedSource();
  const sse = sseRelay(events, { keys: new KeyMasker([SHORT, LONG]).stream() });
  events.chunk(`data: {"k":"${SHORT}`);
  events.chunk(`${LONG.slice(SHORT.length)}"}\n\n${DONE}`);
  assert.equal(await rest(sse.reader), `data: {"k":"***"}\n\n${DONE}`);
});

Deno.test("relay (body): bytes held back as a possible key's start are sent when the body ends well", async () => {
  const source = new ScriptedSource();
  const { reader, relay } = relayOver(source, new BodyStages([bytes("text ")]), new KeyMasker([KEY]).stream());
  source.chunk("then sk-ro"); // the start of the key, then the end of the body
  source.end();
  assert.equal(await next(reader), "text ");
  assert.equal(await next(reader), "then ", "the possible key's start waits");
  assert.equal(await next(reader), "sk-ro", "and is flushed at the end");
  assert.equal(await next(reader), undefined);
  assert.equal(await relay.ended, "complete");
});

Deno.test("relay: an SSE stream's last block held back as a possible key's start is sent at a clean close", async () => {
  const source = new ScriptedSource();
  const { reader } = sseRelay(source, { grammar: OPAQUE_GRAMMAR, keys: new KeyMasker([KEY]).stream() });
  source.chunk("data: a\n\ndata: sk-ro");
  source.end();
  assert.equal(await rest(reader), "data: a\n\ndata: sk-ro");
});

// ---------------------------------------------------------------- stages that throw

Deno.test("relay: a stage that throws (a translator's fault) ends the stream as broken, logged without its text", async () => {
  const registry = new RelayRegistry(0);
  const source = new ScriptedSource();
  const translator: StreamTranslator = {
    ...passThrough(openAiStreamError),
    event: (event) => {
      if (event.data === "boom") throw new TypeError(`translator fault near ${KEY}`);
      return event.raw;
    },
  };
  const { relay, reader, aborts } = sseRelay(source, { head: [EVENT], translator });
  registry.add(relay);
  assert.equal(await next(reader), EVENT);
  source.chunk("data: boom\n\n");
  const logged: string[] = [];
  const error = console.error;
  console.error = (...args: unknown[]) => void logged.push(args.join(" "));
  let text;
  try {
    text = await rest(reader);
  } finally {
    console.error = error;
  }
  assert.equal(errorCodeAtEnd(text), "upstream_stream_broken");
  assert.equal(await relay.ended, "broken");
  assert.equal(aborts(), 1, "the backend is stopped");
  assert.equal(source.cancelled, true);
  assert.equal(registry.size, 0, "and the relay leaves the registry");
  assert.equal(logged.length, 1);
  assert.match(logged[0], /TypeError/);
  assert.ok(!logged[0].includes(KEY), "the fault's message (which may quote the stream) is not logged");
});

// ---------------------------------------------------------------- the registry

/** An SSE relay tracked by `registry` until it ends, as the proxy wires it. */
function tracked(registry: RelayRegistry, source: ScriptedSource): Made<EventStages> {
  const made = sseRelay(source, { head: [EVENT] });
  registry.add(made.relay);
  return made;
}

/**
 * Awaits `p` with a deadline. The registry's sweep timer is unref'd (it must not
 * keep a stopping proxy alive), so without a ref'd timer the test's event loop would
 * look finished while the sweep is still due; the deadline also bounds a broken sweep.
 */
async function withDeadline<T>(p: Promise<T>, ms = 5_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no idle sweep within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("relay registry: a stream silent for longer than the idle timeout is ended with the idle event", async () => {
  const registry = new RelayRegistry(40);
  const source = new ScriptedSource();
  const { relay, reader } = tracked(registry, source);
  assert.equal(registry.size, 1);
  assert.equal(await next(reader), EVENT);
  const text = await withDeadline(rest(reader)); // waits on a backend that never sends again
  assert.equal(errorCodeAtEnd(text), "upstream_idle_timeout");
  assert.equal(await relay.ended, "idle_timeout");
  assert.equal(registry.size, 0, "an ended relay leaves the registry by itself");
});

Deno.test("relay registry: a stream whose client is not reading is not idle; the sweep leaves it open", async () => {
  const registry = new RelayRegistry(40);
  const slowClient = tracked(registry, new ScriptedSource()); // its client never reads
  const silentBackend = tracked(registry, new ScriptedSource());
  assert.equal(await next(silentBackend.reader), EVENT);
  // Awaiting the idle stream's end means a sweep has run over both.
  assert.equal(errorCodeAtEnd(await withDeadline(rest(silentBackend.reader))), "upstream_idle_timeout");
  assert.equal(await settled(slowClient.relay.ended), false);
  assert.equal(registry.size, 1);
  await slowClient.reader.cancel();
  assert.equal(await slowClient.relay.ended, "client_gone");
  assert.equal(registry.size, 0);
});

Deno.test("relay registry: a plain body silent for longer than the idle timeout is errored", async () => {
  const registry = new RelayRegistry(40);
  const { relay, reader } = relayOver(new ScriptedSource(), new BodyStages([]));
  registry.add(relay);
  await assert.rejects(withDeadline(reader.read()), /PROXY_IDLE_TIMEOUT/);
  assert.equal(await relay.ended, "idle_timeout");
  assert.equal(registry.size, 0);
});

Deno.test("relay registry: terminateAll ends every open stream with the shutdown event", async () => {
  const registry = new RelayRegistry(0);
  const a = tracked(registry, new ScriptedSource());
  const b = tracked(registry, new ScriptedSource());
  assert.equal(registry.size, 2);
  registry.terminateAll();
  for (const r of [a, b]) {
    assert.equal(errorCodeAtEnd(await rest(r.reader)), "proxy_shutdown");
    assert.equal(await r.relay.ended, "shutdown");
    assert.equal(r.aborts(), 1);
  }
  assert.equal(registry.size, 0);
});
