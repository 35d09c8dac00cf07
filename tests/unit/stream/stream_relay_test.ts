/**
 * The stream relay, specified against a scripted upstream (a fake
 * ChunkSource the test feeds chunk by chunk): what the client reads, when
 * upstream is read, how each kind of end looks, and the idle sweep.
 */

import assert from "node:assert/strict";
import type { ChunkResult, ChunkSource } from "../../../src/upstream/chunk_reader.ts";
import { StreamKeyMasker, streamKeys } from "../../../src/security/secrets.ts";
import {
  type RelayOptions,
  RelayRegistry,
  type StreamEnd,
  StreamRelay,
  type StreamTransform,
} from "../../../src/stream/stream_relay.ts";

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

/** A relay over a scripted source, with its ends and aborts recorded. */
function relayOf(
  source: ScriptedSource,
  options: Partial<RelayOptions> = {},
): { relay: StreamRelay; ends: StreamEnd[]; aborts: () => number; reader: ReadableStreamDefaultReader<Uint8Array> } {
  const ends: StreamEnd[] = [];
  let aborts = 0;
  const relay = new StreamRelay({
    prefetched: [],
    reader: source,
    abortUpstream: () => void aborts++,
    expectDone: true,
    onEnd: (end) => void ends.push(end),
    ...options,
  });
  return { relay, ends, aborts: () => aborts, reader: relay.stream.getReader() };
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

const EVENT = `data: {"choices":[{"delta":{"content":"hi"}}]}\n\n`;
const DONE = "data: [DONE]\n\n";

// ---------------------------------------------------------------- passing bytes

Deno.test("relay: the first event, then each upstream chunk, reach the client in order and uncoalesced", async () => {
  const source = new ScriptedSource();
  const { reader, ends } = relayOf(source, { prefetched: [bytes(EVENT)] });
  const parts = [`data: {"a":1}\n\n`, `data: {"b":`, `2}\n\n`, DONE];
  for (const p of parts) source.chunk(p);
  source.end();
  assert.equal(await next(reader), EVENT);
  for (const p of parts) assert.equal(await next(reader), p, "one client chunk per upstream chunk");
  assert.equal(await next(reader), undefined);
  assert.deepEqual(ends, ["complete"]);
});

Deno.test("relay: nothing is read upstream until the client pulls, and one read per pull (backpressure)", async () => {
  const source = new ScriptedSource();
  const { reader } = relayOf(source, { prefetched: [bytes(EVENT)] });
  // Let every pending task run: a relay that read ahead would have done so by now.
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(source.reads, 0, "no read before the client asked");
  assert.equal(await next(reader), EVENT, "the prefetched event needs no upstream read");
  assert.equal(source.reads, 0);
  const reading = next(reader);
  await source.nextRead();
  assert.equal(source.reads, 1);
  source.chunk(DONE);
  assert.equal(await reading, DONE);
  assert.equal(source.reads, 1, "no read ahead of the client");
  source.end();
  assert.equal(await next(reader), undefined);
});

Deno.test("relay: waitingSince is set while the relay waits on upstream and cleared when a chunk arrives", async () => {
  const source = new ScriptedSource();
  const { relay, reader } = relayOf(source);
  assert.equal(relay.waitingSince, 0, "not waiting before the client reads");
  const reading = next(reader);
  await source.nextRead();
  assert.ok(relay.waitingSince > 0);
  source.chunk(DONE);
  await reading;
  assert.equal(relay.waitingSince, 0);
  source.end();
  await rest(reader);
});

// ---------------------------------------------------------------- ends

Deno.test("relay: a stream ending with [DONE] ends complete, with nothing added", async () => {
  const source = new ScriptedSource();
  const { reader, ends, aborts } = relayOf(source, { prefetched: [bytes(EVENT)] });
  source.chunk(DONE);
  source.end();
  assert.equal(await rest(reader), EVENT + DONE);
  assert.deepEqual(ends, ["complete"]);
  assert.equal(aborts(), 0);
});

Deno.test("relay: a [DONE] split across chunks is still recognised", async () => {
  const source = new ScriptedSource();
  const { reader, ends } = relayOf(source, { prefetched: [bytes(EVENT)] });
  source.chunk("data: [DO");
  source.chunk("NE]\n\n");
  source.end();
  assert.equal(await rest(reader), EVENT + DONE);
  assert.deepEqual(ends, ["complete"]);
});

Deno.test("relay: a missing [DONE] where one is expected ends with the truncated error event", async () => {
  const source = new ScriptedSource();
  const { reader, ends, aborts } = relayOf(source, { prefetched: [bytes(EVENT)] });
  source.end();
  const text = await rest(reader);
  assert.ok(text.startsWith(EVENT));
  assert.equal(errorCodeAtEnd(text), "upstream_stream_truncated");
  assert.deepEqual(ends, ["truncated"]);
  assert.equal(aborts(), 1);
});

Deno.test("relay: without expectDone (Responses API) an upstream end is complete", async () => {
  const source = new ScriptedSource();
  const { reader, ends } = relayOf(source, { prefetched: [bytes(EVENT)], expectDone: false });
  source.end();
  assert.equal(await rest(reader), EVENT);
  assert.deepEqual(ends, ["complete"]);
});

Deno.test("relay: a source error ends with an SSE error event, after closing the half-sent event", async () => {
  const source = new ScriptedSource();
  const { reader, ends, aborts } = relayOf(source, { prefetched: [bytes(EVENT)] });
  source.chunk(`data: {"choices":[{"delta":{"content":"ha`);
  source.fail();
  const text = await rest(reader);
  const half = EVENT + `data: {"choices":[{"delta":{"content":"ha`;
  assert.ok(text.startsWith(half + "\n\ndata: {"), "a blank line ends the half-sent event first");
  assert.equal(errorCodeAtEnd(text), "upstream_stream_broken");
  assert.deepEqual(ends, ["broken"]);
  assert.equal(aborts(), 1, "upstream is aborted");
  assert.equal(source.cancelled, true, "and its body cancelled");
});

Deno.test("relay: a source error right after a whole event adds no extra blank line", async () => {
  const source = new ScriptedSource();
  const { reader } = relayOf(source, { prefetched: [bytes(EVENT)] });
  source.fail();
  const text = await rest(reader);
  assert.ok(text.startsWith(EVENT + "data: {"), JSON.stringify(text));
  assert.equal(errorCodeAtEnd(text), "upstream_stream_broken");
});

for (
  const [end, code] of [["idle_timeout", "upstream_idle_timeout"], ["shutdown", "proxy_shutdown"]] as const
) {
  Deno.test(`relay: terminate("${end}") answers the waiting client with the ${code} event and stops upstream`, async () => {
    const source = new ScriptedSource();
    const { relay, reader, ends, aborts } = relayOf(source, { prefetched: [bytes(EVENT)] });
    assert.equal(await next(reader), EVENT);
    const reading = rest(reader);
    await source.nextRead(); // the client is waiting on upstream
    relay.terminate(end);
    const text = await reading;
    assert.equal(errorCodeAtEnd(text), code);
    assert.deepEqual(ends, [end]);
    assert.equal(aborts(), 1);
    assert.equal(source.cancelled, true);
  });
}

Deno.test("relay: a client that hangs up aborts upstream and cancels its body, with no error event", async () => {
  const source = new ScriptedSource();
  const { reader, ends, aborts } = relayOf(source, { prefetched: [bytes(EVENT)] });
  assert.equal(await next(reader), EVENT);
  await reader.cancel();
  assert.deepEqual(ends, ["client_gone"]);
  assert.equal(aborts(), 1);
  assert.equal(source.cancelled, true);
});

Deno.test("relay: onEnd is called exactly once, whatever ends the stream after it ended", async () => {
  const source = new ScriptedSource();
  const { relay, reader, ends, aborts } = relayOf(source, { prefetched: [bytes(EVENT)] });
  source.chunk(DONE);
  source.end();
  await rest(reader);
  relay.terminate("shutdown");
  relay.terminate("idle_timeout");
  await reader.cancel();
  assert.deepEqual(ends, ["complete"]);
  assert.equal(aborts(), 0, "a finished stream is not aborted again");

  const other = new ScriptedSource();
  const gone = relayOf(other, { prefetched: [bytes(EVENT)] });
  await gone.reader.cancel();
  gone.relay.terminate("shutdown");
  assert.deepEqual(gone.ends, ["client_gone"]);
  assert.equal(gone.aborts(), 1);
});

// ---------------------------------------------------------------- masking and shaping

const KEY = "sk-route-secret-0123456789";

Deno.test("relay: a key split across chunks (and across the prefetched event) is masked", async () => {
  const source = new ScriptedSource();
  const masker = new StreamKeyMasker(streamKeys([KEY]));
  const { reader, ends } = relayOf(source, {
    prefetched: [bytes(`data: {"error":"bad key sk-rou`)],
    masker,
  });
  source.chunk("te-secret-01");
  source.chunk(`23456789"}\n\n`);
  source.chunk(`data: {"k":"${KEY.slice(0, 10)}`);
  source.chunk(`${KEY.slice(10)}"}\n\n${DONE}`);
  source.end();
  const text = await rest(reader);
  assert.equal(text, `data: {"error":"bad key ***"}\n\ndata: {"k":"***"}\n\n${DONE}`);
  assert.ok(!text.includes("sk-rou"));
  assert.deepEqual(ends, ["complete"]);
});

Deno.test("relay: bytes held back as a possible key's start are sent when the stream ends well", async () => {
  const source = new ScriptedSource();
  const masker = new StreamKeyMasker(streamKeys([KEY]));
  const { reader } = relayOf(source, { prefetched: [bytes(EVENT)], masker, expectDone: false });
  source.chunk("data: sk-ro"); // the start of the key, then the end of the stream
  source.end();
  assert.equal(await rest(reader), EVENT + "data: sk-ro");
});

/** Upper-cases what passes, closes with `event: end`, and shapes its own error event. */
class ShoutingTransform implements StreamTransform {
  pushes = 0;
  push(chunk: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
    this.pushes++;
    const text = decoder.decode(chunk);
    // "hold" stands for bytes a translator keeps until it has a whole event.
    return text.includes("hold") ? new Uint8Array(0) : bytes(text.toUpperCase());
  }
  end(): Uint8Array<ArrayBuffer> {
    return bytes("event: end\n\n");
  }
  error(message: string): Uint8Array<ArrayBuffer> {
    return bytes(`event: error\ndata: ${message}\n\n`);
  }
}

Deno.test("relay: a transform shapes every chunk, prefetched ones included, and adds its closing bytes", async () => {
  const source = new ScriptedSource();
  const transform = new ShoutingTransform();
  const { reader, ends } = relayOf(source, { prefetched: [bytes("data: a\n\n")], transform, expectDone: false });
  source.chunk("data: hold\n\n"); // shaped into nothing: the relay reads on instead of sending an empty chunk
  source.chunk("data: b\n\n");
  source.end();
  assert.equal(await next(reader), "DATA: A\n\n");
  assert.equal(await next(reader), "DATA: B\n\n");
  assert.equal(await next(reader), "event: end\n\n");
  assert.equal(await next(reader), undefined);
  assert.equal(transform.pushes, 3);
  assert.deepEqual(ends, ["complete"]);
});

Deno.test("relay: a transform's error event replaces the OpenAI-shaped one when the stream breaks", async () => {
  const source = new ScriptedSource();
  const { reader, ends } = relayOf(source, { prefetched: [bytes("data: a\n\n")], transform: new ShoutingTransform() });
  source.fail();
  const text = await rest(reader);
  assert.equal(text, "DATA: A\n\nevent: error\ndata: the backend broke off the stream\n\n");
  assert.deepEqual(ends, ["broken"]);
});

Deno.test("relay: with a transform, [DONE] is looked for in upstream's bytes, not the shaped ones", async () => {
  const source = new ScriptedSource();
  const { reader, ends } = relayOf(source, { prefetched: [bytes(EVENT)], transform: new ShoutingTransform() });
  source.chunk(DONE); // shaped to "DATA: [DONE]", which would not match; upstream's bytes do
  source.end();
  const text = await rest(reader);
  assert.ok(text.endsWith("event: end\n\n"), JSON.stringify(text));
  assert.deepEqual(ends, ["complete"]);
});

// ---------------------------------------------------------------- the registry

/** A relay tracked by `registry` until it ends, as the proxy wires it. */
function tracked(registry: RelayRegistry, source: ScriptedSource): ReturnType<typeof relayOf> {
  const ends: StreamEnd[] = [];
  const made = relayOf(source, {
    prefetched: [bytes(EVENT)],
    onEnd: (end) => {
      ends.push(end);
      registry.delete(made.relay); // called only after construction, once the stream has ended
    },
  });
  registry.add(made.relay);
  return { ...made, ends };
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
  const { reader, ends } = tracked(registry, source);
  assert.equal(registry.size, 1);
  assert.equal(await next(reader), EVENT);
  const text = await withDeadline(rest(reader)); // waits on a backend that never sends again
  assert.equal(errorCodeAtEnd(text), "upstream_idle_timeout");
  assert.deepEqual(ends, ["idle_timeout"]);
  assert.equal(registry.size, 0);
});

Deno.test("relay registry: a stream whose client is not reading is not idle; the sweep leaves it open", async () => {
  const registry = new RelayRegistry(40);
  const slowClient = tracked(registry, new ScriptedSource()); // its client never reads
  const silentBackend = tracked(registry, new ScriptedSource());
  assert.equal(await next(silentBackend.reader), EVENT);
  // Awaiting the idle stream's end means a sweep has run over both.
  assert.equal(errorCodeAtEnd(await withDeadline(rest(silentBackend.reader))), "upstream_idle_timeout");
  assert.deepEqual(slowClient.ends, []);
  assert.equal(registry.size, 1);
  await slowClient.reader.cancel();
  assert.deepEqual(slowClient.ends, ["client_gone"]);
  assert.equal(registry.size, 0);
});

Deno.test("relay registry: terminateAll ends every open stream with the shutdown event", async () => {
  const registry = new RelayRegistry(0);
  const a = tracked(registry, new ScriptedSource());
  const b = tracked(registry, new ScriptedSource());
  registry.terminateAll("shutdown");
  for (const r of [a, b]) {
    assert.equal(errorCodeAtEnd(await rest(r.reader)), "proxy_shutdown");
    assert.deepEqual(r.ends, ["shutdown"]);
  }
  assert.equal(registry.size, 0);
});
