/**
 * The SSE framer: upstream bytes in, whole event blocks out. Relaying its
 * blocks is relaying the stream (joined, they are the input byte for byte,
 * however it was chunked), each block's fields are read as the SSE spec
 * says, one event is bounded, and every byte is looked at once.
 */

import assert from "node:assert/strict";
import {
  EventTooLargeError,
  MAX_EVENT_BYTES,
  type SseEvent,
  sseEvent,
  SseFramer,
  StreamLimitError,
} from "../../../src/stream/sse_framer.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text);

/** An event as text, for comparing. */
interface Block {
  raw: string;
  type: string;
  data: string | undefined;
}

const blockOf = (e: SseEvent): Block => ({ raw: decoder.decode(e.raw), type: e.type, data: e.data });

/** Frames `chunks` with one framer: the events each push completed, then what end() left. */
function frame(chunks: Uint8Array<ArrayBuffer>[], framer = new SseFramer()): { events: Block[]; rest?: Block } {
  const events = chunks.flatMap((c) => framer.push(c).map(blockOf));
  const rest = framer.end();
  return rest === undefined ? { events } : { events, rest: blockOf(rest) };
}

/** Every way of cutting `text` in two, and byte by byte. */
function chunkings(text: string): Uint8Array<ArrayBuffer>[][] {
  const all = bytes(text);
  const ways: Uint8Array<ArrayBuffer>[][] = [[all]];
  for (let cut = 0; cut <= all.length; cut++) ways.push([all.slice(0, cut), all.slice(cut)]);
  ways.push(Array.from(all, (b) => Uint8Array.of(b)));
  return ways;
}

/** The raw blocks, the held rest last: the same however the stream was chunked. */
function blocks(framed: { events: Block[]; rest?: Block }): string[] {
  const raws = framed.events.map((e) => e.raw);
  if (framed.rest) raws.push(framed.rest.raw);
  return raws;
}

// ---------------------------------------------------------------- blocks

const streams: { name: string; text: string; events: string[]; rest?: string }[] = [
  { name: "empty", text: "", events: [] },
  { name: "one LF event", text: "data: a\n\n", events: ["data: a\n\n"] },
  { name: "an event and the start of the next", text: "data: a\n\ndata: b", events: ["data: a\n\n"], rest: "data: b" },
  { name: "a line ended but no blank line yet", text: "data: a\n", events: [], rest: "data: a\n" },
  { name: "two events", text: "data: a\n\ndata: b\n\n", events: ["data: a\n\n", "data: b\n\n"] },
  { name: "CRLF endings", text: "data: a\r\n\r\ndata: b\r\n\r\n", events: ["data: a\r\n\r\n", "data: b\r\n\r\n"] },
  { name: "CR endings", text: "data: a\r\rdata: b\r\rx", events: ["data: a\r\r", "data: b\r\r"], rest: "x" },
  {
    name: "mixed line endings",
    text: "data: a\n\r\ndata: b\r\n\ndata: c\r\n\r",
    // A blank line's CR at the very end waits for a possible LF: the stream's end hands it over.
    events: ["data: a\n\r\n", "data: b\r\n\n"],
    rest: "data: c\r\n\r",
  },
  {
    name: "a multi-line event",
    text: 'event: message\ndata: {"a":\ndata: 1}\nid: 7\n\nrest',
    events: ['event: message\ndata: {"a":\ndata: 1}\nid: 7\n\n'],
    rest: "rest",
  },
  { name: "comments are blocks too", text: ": keep-alive\n\ndata: x\n\n", events: [": keep-alive\n\n", "data: x\n\n"] },
  { name: "unicode", text: "data: héllo 🌍 日本\n\n", events: ["data: héllo 🌍 日本\n\n"] },
  { name: "a leading blank line is a block of its own", text: "\ndata: x\n\n", events: ["\n", "data: x\n\n"] },
];

for (const s of streams) {
  Deno.test(`sse framer: ${s.name}: the same blocks in one push, cut anywhere, or byte by byte`, () => {
    const whole = frame([bytes(s.text)]);
    assert.deepEqual(whole.events.map((e) => e.raw), s.events);
    assert.equal(whole.rest?.raw, s.rest);
    for (const chunks of chunkings(s.text)) {
      const framed = frame(chunks);
      const raws = framed.events.map((e) => e.raw).join("") + (framed.rest?.raw ?? "");
      assert.equal(raws, s.text, "the blocks joined are the input, byte for byte");
      assert.deepEqual(
        blocks(framed),
        blocks(whole),
        `chunks ${JSON.stringify(chunks.map((c) => decoder.decode(c)))}`,
      );
    }
  });
}

Deno.test("sse framer: an event is handed over by the push that brings its blank line, not before", () => {
  const framer = new SseFramer();
  assert.deepEqual(framer.push(bytes("data: a")), []);
  assert.deepEqual(framer.push(bytes("\n")), []);
  assert.equal(framer.pending, 8, "the event in progress is held");
  const [event, ...more] = framer.push(bytes("\ndata: b"));
  assert.equal(decoder.decode(event.raw), "data: a\n\n");
  assert.deepEqual(more, []);
  assert.equal(framer.pending, 7);
});

Deno.test("sse framer: a CRLF cut between its two bytes is one line break, not a blank line", () => {
  const framer = new SseFramer();
  assert.deepEqual(framer.push(bytes("data: a\r")), []);
  assert.deepEqual(framer.push(bytes("\ndata: b\r")), [], "the LF completes the CR's line break");
  const events = framer.push(bytes("\n\r\n"));
  assert.deepEqual(events.map(blockOf), [{ raw: "data: a\r\ndata: b\r\n\r\n", type: "", data: "a\nb" }]);
});

Deno.test("sse framer: a CRLF blank line cut between its CR and LF: the event waits for the next byte and keeps its LF", () => {
  const framer = new SseFramer();
  assert.deepEqual(framer.push(bytes("data: a\r\n\r")), [], "the LF of the CRLF may follow");
  assert.deepEqual(framer.push(bytes("\n")).map(blockOf), [{ raw: "data: a\r\n\r\n", type: "", data: "a" }]);
  assert.equal(framer.end(), undefined, "no stray block is left");

  const next = new SseFramer();
  next.push(bytes("data: a\r\n\r"));
  assert.deepEqual(next.push(bytes("\ndata: b\n\n")).map(blockOf), [
    { raw: "data: a\r\n\r\n", type: "", data: "a" },
    { raw: "data: b\n\n", type: "", data: "b" },
  ]);

  // A bare CR ending the blank line: the event is handed over with the next byte, which starts the next block.
  const cr = new SseFramer();
  cr.push(bytes("data: a\r\r"));
  assert.deepEqual(cr.push(bytes("data: b\r\r")).map(blockOf), [{ raw: "data: a\r\r", type: "", data: "a" }]);
  assert.deepEqual(blockOf(cr.end()!), { raw: "data: b\r\r", type: "", data: "b" }, "or at the end of the stream");
});

// ---------------------------------------------------------------- fields

const fields: { block: string; type: string; data: string | undefined }[] = [
  { block: "data: a\n\n", type: "", data: "a" },
  { block: "data:a\n\n", type: "", data: "a" },
  { block: "data:  a\n\n", type: "", data: " a" }, // one space after the colon is dropped, no more
  { block: "data\n\n", type: "", data: "" }, // a field name without a colon has an empty value
  { block: "data:\n\n", type: "", data: "" },
  { block: "data: a\ndata: b\n\n", type: "", data: "a\nb" },
  { block: "data: a\ndata\ndata: b\n\n", type: "", data: "a\n\nb" },
  { block: "data: a\r\ndata: b\r\n\r\n", type: "", data: "a\nb" },
  { block: "data: a\rdata: b\r\r", type: "", data: "a\nb" },
  { block: "event: error\ndata: x\n\n", type: "error", data: "x" },
  { block: "event:ping\n\n", type: "ping", data: undefined },
  { block: "event: a\nevent: b\ndata: x\n\n", type: "b", data: "x" },
  { block: ": keep-alive\n\n", type: "", data: undefined },
  { block: ":\n\n", type: "", data: undefined },
  { block: ": data: x\n\n", type: "", data: undefined },
  { block: "id: 7\n\n", type: "", data: undefined },
  { block: "retry: 1000\n\n", type: "", data: undefined },
  { block: "id: 1\nretry: 3\n\n", type: "", data: undefined },
  { block: ": c\ndata: x\nid: 3\n\n", type: "", data: "x" },
  { block: "database: x\n\n", type: "", data: undefined }, // another field, not `data`
  { block: " data: x\n\n", type: "", data: undefined },
  { block: "data: [DONE]\n\n", type: "", data: "[DONE]" },
  { block: "data: é🌍\n\n", type: "", data: "é🌍" },
  { block: "data: x", type: "", data: "x" }, // a last block without its blank line (what end() returns)
];

for (const f of fields) {
  Deno.test(
    `sse framer fields: ${JSON.stringify(f.block)} -> type ${JSON.stringify(f.type)}, data ${JSON.stringify(f.data)}`,
    () => {
      const event = sseEvent(bytes(f.block));
      assert.equal(event.type, f.type);
      assert.equal(event.data, f.data);
      const framed = frame([bytes(f.block)]);
      assert.deepEqual(framed.events[0] ?? framed.rest, { raw: f.block, type: f.type, data: f.data });
    },
  );
}

// ---------------------------------------------------------------- end()

Deno.test("sse framer: end() returns the unterminated rest, with its fields, once", () => {
  const framer = new SseFramer();
  assert.equal(framer.end(), undefined, "nothing pending, nothing returned");
  framer.push(bytes("data: a\n\nevent: x\ndata: b\n"));
  assert.equal(framer.pending, 17);
  assert.deepEqual(blockOf(framer.end()!), { raw: "event: x\ndata: b\n", type: "x", data: "b" });
  assert.equal(framer.pending, 0);
  assert.equal(framer.end(), undefined);
});

Deno.test("sse framer: the rest held over many chunks comes back whole, in order", () => {
  const framer = new SseFramer();
  for (const piece of ["da", "ta: ", "é".repeat(3), "🌍"]) assert.deepEqual(framer.push(bytes(piece)), []);
  assert.deepEqual(blockOf(framer.end()!), { raw: "data: ééé🌍", type: "", data: "ééé🌍" });
});

// ---------------------------------------------------------------- the bound

Deno.test("sse framer: an event growing past the bound sets the overflow; every later push and end throws it", () => {
  assert.equal(MAX_EVENT_BYTES, 16 * 1024 * 1024);
  const held = new SseFramer(16);
  held.push(bytes("data: 0123456789")); // 16 bytes: at the bound
  assert.deepEqual(held.push(bytes("x")), []);
  assert.ok(held.overflow instanceof EventTooLargeError);
  assert.throws(() => held.push(bytes("\n\n")), EventTooLargeError);
  assert.throws(() => held.end(), EventTooLargeError);

  const ended = new SseFramer(16);
  assert.deepEqual(ended.push(bytes("data: 0123456789\n\n")), [], "18 bytes with its blank line");
  assert.ok(ended.overflow instanceof EventTooLargeError);
  assert.ok(new EventTooLargeError(16) instanceof StreamLimitError, "the relay ends a stream on any StreamLimitError");
});

Deno.test("sse framer: the bound is per event; an event at the bound passes", () => {
  const framer = new SseFramer(16);
  assert.equal(framer.push(bytes("data: 0123456\n\n")).length, 1, "15 bytes");
  assert.equal(framer.push(bytes("data: 01234567\n\n")).length, 1, "16 bytes");
  for (let i = 0; i < 100; i++) assert.equal(framer.push(bytes("data: 0123\n\n")).length, 1);
});

Deno.test("sse framer: the events completed before an oversized one in the same chunk are returned", () => {
  const framer = new SseFramer(16);
  assert.deepEqual(framer.push(bytes("data: [DONE]\n\n" + "x".repeat(17))).map(blockOf), [
    { raw: "data: [DONE]\n\n", type: "", data: "[DONE]" },
  ]);
  assert.ok(framer.overflow instanceof EventTooLargeError, "and the stream can go no further");
});

// ---------------------------------------------------------------- linear time

/**
 * A 24 MB line without a line break, in 8 KiB chunks, under a 32 MB bound.
 * A framer that rescanned (or copied) the event in progress on each push would
 * do work growing with what it holds: the last quarter of the chunks would cost
 * ~7x the first quarter. So the check compares the two quarters of the same
 * feed, which needs no wall-clock bound and cancels out the machine's speed.
 * Each quarter's time is its fastest over four runs (after one warm-up run for
 * the JIT), so a GC pause or a busy CI machine in one run does not count. A
 * linear framer measures ~1 (a rescanning one ~7); the assertion allows 3.
 */
Deno.test("sse framer: a 24 MB line is framed in linear time: late chunks cost what early ones do", () => {
  const CHUNK = 8 * 1024;
  const CHUNKS = (24 * 1024 * 1024) / CHUNK;
  const QUARTER = CHUNKS / 4;
  const line = new Uint8Array(CHUNK).fill(0x78); // one buffer, pushed again and again
  line.set(bytes("data: "));
  let first = Infinity;
  let last = Infinity;
  for (let run = 0; run <= 4; run++) {
    const framer = new SseFramer(32 * 1024 * 1024);
    let started = performance.now();
    let events = 0;
    for (let i = 0; i < CHUNKS; i++) {
      if (i === QUARTER && run > 0) first = Math.min(first, performance.now() - started);
      if (i === CHUNKS - QUARTER) started = performance.now();
      events += framer.push(line).length;
    }
    if (run > 0) last = Math.min(last, performance.now() - started);
    assert.equal(events, 0);
    assert.equal(framer.pending, 24 * 1024 * 1024);
    if (run === 4) {
      const [event] = framer.push(bytes("\n\n"));
      assert.equal(event.raw.length, 24 * 1024 * 1024 + 2, "the line comes out whole at its blank line");
    }
  }
  const ratio = last / Math.max(first, 0.001);
  assert.ok(ratio < 3, `the last quarter of the line took ${last} ms, the first ${first} ms`);
});
