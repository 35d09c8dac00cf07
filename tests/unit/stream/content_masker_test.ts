/**
 * Keys split across events: what a client assembles from a stream's deltas
 * never holds a key, whichever events the backend split it over, in chat
 * content, tool arguments and Responses deltas; events go on in order, and
 * unchanged when they held no key.
 */

import assert from "node:assert/strict";
import { KeyMasker } from "../../../src/security/key_masker.ts";
import { ContentMasker } from "../../../src/stream/content_masker.ts";
import { CHAT_GRAMMAR, type EventGrammar, RESPONSES_GRAMMAR } from "../../../src/stream/event_grammar.ts";
import { EventStages, passThrough } from "../../../src/stream/event_stages.ts";
import { SseFramer } from "../../../src/stream/sse_framer.ts";

const KEY = "sk-fast-route-0123456789";
const masker = new KeyMasker([KEY]);
const enc = (s: string) => new TextEncoder().encode(s);
const dec = new TextDecoder();

/** A chat chunk with `content`, written as raw JSON text (escapes as given). */
const content = (text: string) => `data: {"choices":[{"index":0,"delta":{"content":"${text}"}}]}\n\n`;
const args = (index: number, text: string) =>
  `data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":${index},"function":{"arguments":"${text}"}}]}}]}\n\n`;
const FINISH = `data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n`;
const DONE = "data: [DONE]\n\n";

/** Runs `events` (one chunk each) through the stages with a content masker; returns the client's events. */
function run(events: string[], grammar: EventGrammar = CHAT_GRAMMAR): string[] {
  const stages = new EventStages(
    [],
    new SseFramer(),
    grammar,
    passThrough(() => ""),
    new ContentMasker(masker, grammar),
  );
  let out = "";
  for (const e of events) out += dec.decode(stages.push(enc(e)).out ?? new Uint8Array());
  out += dec.decode(stages.close().out ?? new Uint8Array());
  return out.split(/(?<=\n\n)/).filter((b) => b !== "");
}

/** What a client assembles from the chat events: the content, and each tool call's arguments. */
function assembled(events: string[]): { content: string; args: Record<number, string> } {
  let text = "";
  const calls: Record<number, string> = {};
  for (const e of events) {
    const data = e.replace(/^data: /m, "").trim();
    if (!data.startsWith("{")) continue;
    const delta = JSON.parse(data).choices?.[0]?.delta ?? {};
    text += delta.content ?? "";
    for (const c of delta.tool_calls ?? []) calls[c.index] = (calls[c.index] ?? "") + (c.function?.arguments ?? "");
  }
  return { content: text, args: calls };
}

Deno.test("content masker: a key split over three chat events is masked where it starts; the rest of it is gone", () => {
  const events = run([
    content("Hello "),
    content("sk-fa"),
    content("st-route-01"),
    content("23456789 bye"),
    FINISH,
    DONE,
  ]);
  assert.equal(assembled(events).content, "Hello *** bye");
  assert.equal(events.length, 6, "every event goes on, in order");
  assert.equal(events[0], content("Hello "), "an event without a key passes byte for byte");
});

Deno.test("content masker: a key spelled with escapes, split anywhere, is masked too", () => {
  const key = "sk-\\u0066ast-route-\\u0030123456789"; // what a JSON writer may send for the key
  for (let cut = 1; cut < key.length; cut++) {
    const a = key.slice(0, cut);
    const b = key.slice(cut);
    // A cut inside an escape leaves no valid JSON string in either event: skip those.
    if (/\\u?[0-9a-f]{0,3}$/i.test(a) && !/\\u[0-9a-f]{4}$/i.test(a)) continue;
    const got = assembled(run([content("x "), content(a), content(b), FINISH, DONE])).content;
    // Held from its third byte on: one or two characters alone go out before anything could tell a key.
    const want = a.length < 3 ? `x ${a}***` : "x ***";
    assert.equal(got, want, `cut after ${JSON.stringify(a)}`);
  }
});

Deno.test("content masker: tool arguments are their own channel per call, masked across their events", () => {
  const events = run([args(0, '{\\"k\\":\\"sk-fast'), args(1, "{}"), args(0, '-route-0123456789\\"}'), FINISH, DONE]);
  const { args: calls } = assembled(events);
  assert.equal(calls[0], '{"k":"***"}');
  assert.equal(calls[1], "{}");
});

Deno.test("content masker: a key whose first characters went out alone is masked from there on", () => {
  const got = assembled(run([content("x s"), content("k-fast-route-0123456789!"), FINISH, DONE])).content;
  assert.ok(!got.includes("fast-route"), got);
  assert.equal(got, "x s***!");
});

Deno.test("content masker: text that only starts like a key is held one event, then goes on unchanged", () => {
  const events = run([content("ask "), content("sk-"), content("not a key"), FINISH, DONE]);
  assert.equal(assembled(events).content, "ask sk-not a key");
  assert.deepEqual(events.slice(0, 3), [content("ask "), content("sk-"), content("not a key")]);
});

Deno.test("content masker: a held event goes on when its channel ends, and when the stream fails", () => {
  assert.equal(assembled(run([content("sk-fast-rou"), FINISH])).content, "sk-fast-rou", "the finish ends it");
  const stages = new EventStages(
    [],
    new SseFramer(),
    CHAT_GRAMMAR,
    passThrough(() => 'data: {"error":"broken"}\n\n'),
    new ContentMasker(masker, CHAT_GRAMMAR),
  );
  assert.equal(stages.push(enc(content("sk-fast"))).out, undefined, "held: it may be a key");
  const failed = dec.decode(stages.fail("broken", "upstream_stream_broken"));
  assert.equal(failed, content("sk-fast") + `data: {"error":"broken"}\n\n`);
});

Deno.test("content masker: Responses deltas are masked per item and part; a non-delta event ends them", () => {
  const delta = (item: string, text: string, seq: number) =>
    `event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":${seq},` +
    `"item_id":"${item}","output_index":0,"content_index":0,"delta":"${text}"}\n\n`;
  const done = `event: response.output_text.done\ndata: {"type":"response.output_text.done","sequence_number":9,` +
    `"item_id":"m1","output_index":0,"content_index":0,"text":"x"}\n\n`;
  const events = run([delta("m1", "key: sk-fast-r", 1), delta("m1", "oute-0123456789.", 2), done], RESPONSES_GRAMMAR);
  const text = events.filter((e) => e.includes(".delta")).map((e) => JSON.parse(e.split("data: ")[1]).delta).join("");
  assert.equal(text, "key: ***.");
  assert.match(events[0], /^event: response\.output_text\.delta\n/, "the event line is kept");
  assert.equal(events.at(-1), done);
});

/** The key masker, counting the bytes each scan is given. */
class CountingMasker extends KeyMasker {
  scanned = 0;
  override locate(buf: Uint8Array, end: number, final: boolean): ReturnType<KeyMasker["locate"]> {
    this.scanned += end;
    return super.locate(buf, end, final);
  }
}

/** Runs `events` through a content masker over `counting`; returns what the client assembles. */
function runCounted(counting: CountingMasker, events: string[]): string {
  const stages = new EventStages(
    [],
    new SseFramer(),
    CHAT_GRAMMAR,
    passThrough(() => ""),
    new ContentMasker(counting, CHAT_GRAMMAR),
  );
  let out = "";
  for (const e of events) out += dec.decode(stages.push(enc(e)).out ?? new Uint8Array());
  out += dec.decode(stages.close().out ?? new Uint8Array());
  return assembled(out.split(/(?<=\n\n)/)).content;
}

Deno.test("content masker: a channel's text is scanned once, not again with every later event", () => {
  const counting = new CountingMasker([KEY]);
  const words = Array.from({ length: 2000 }, (_, i) => content(`word ${i % 10} `));
  const got = runCounted(counting, [...words, FINISH, DONE]);
  assert.equal(got.length, 2000 * 7);
  // Each event's 7 bytes once, and at most a few undecided bytes again (here none: no key starts).
  assert.ok(counting.scanned <= 2000 * 7 * 2, `scanned ${counting.scanned} bytes for 14,000 bytes of text`);
});

Deno.test("content masker: a long text held for a key's start is not scanned again with each piece of the key", () => {
  const counting = new CountingMasker([KEY]);
  const long = "x".repeat(100_000);
  const pieces = [...KEY.slice(5)].map((c) => content(c)); // "sk-fa" ends the long text, the rest comes a byte at a time
  const got = runCounted(counting, [content(long + "sk-fa"), ...pieces, content(" end"), FINISH, DONE]);
  assert.equal(got, long + "*** end");
  assert.ok(counting.scanned < 110_000, `scanned ${counting.scanned} bytes for ~100,000 bytes of text`);
});

Deno.test("content masker: after the bounds let held events go, a key that goes on is still masked from there on", () => {
  // 70 empty deltas after a key's start: more than the 64 events ever held, so they go on unmasked.
  const empties = Array.from({ length: 70 }, () => content(""));
  const got = assembled(run([content("a sk-fast-ro"), ...empties, content("ute-0123456789 z"), FINISH, DONE]));
  assert.equal(got.content, "a sk-fast-ro*** z");
});

Deno.test("content masker: a key that starts a longer configured key, split over events, is masked when its channel ends", () => {
  const two = new KeyMasker([KEY, KEY + "-EXTENDED-7777"]);
  const stages = new EventStages(
    [],
    new SseFramer(),
    CHAT_GRAMMAR,
    passThrough(() => ""),
    new ContentMasker(two, CHAT_GRAMMAR),
  );
  let out = "";
  for (const e of [content("a sk-fast-"), content("route-0123456789"), FINISH, DONE]) {
    out += dec.decode(stages.push(enc(e)).out ?? new Uint8Array());
  }
  out += dec.decode(stages.close().out ?? new Uint8Array());
  // Held while the longer key could still follow; the finish decides: the shorter key, masked.
  assert.equal(assembled(out.split(/(?<=\n\n)/)).content, "a ***");
});
