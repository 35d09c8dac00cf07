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
  // The stream broke with a key's start held: it goes on masked (the event is the backend's, the key is not).
  assert.equal(failed, content("***") + `data: {"error":"broken"}\n\n`);
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

Deno.test("content masker: when the bounds let held events go, a key's held start goes masked, and its rest is removed", () => {
  // 70 events of another channel behind a key's start: more than the 64 events ever held.
  const other = Array.from({ length: 70 }, () => args(0, "x"));
  const events = run([content("a sk-fast-ro"), ...other, content("ute-0123456789 z"), FINISH, DONE]);
  assert.equal(assembled(events).content, "a *** z");
  assert.equal(assembled(events).args[0], "x".repeat(70));
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

/** A chat chunk of choice `index` with `delta` (and a finish reason). */
const choiceChunk = (index: number, delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ choices: [{ index, delta, finish_reason: finish }] })}\n\n`;

/** What a client assembles per choice from chat events: each choice's content. */
function contentByChoice(events: string[]): Record<number, string> {
  const out: Record<number, string> = {};
  for (const e of events) {
    const data = e.replace(/^data: /m, "").trim();
    if (!data.startsWith("{")) continue;
    for (const c of JSON.parse(data).choices ?? []) out[c.index] = (out[c.index] ?? "") + (c.delta?.content ?? "");
  }
  return out;
}

Deno.test("content masker: one choice's finish ends its own text only; a key split around it in another choice is masked", () => {
  const events = run([
    choiceChunk(1, { content: "a sk-fast-route-01234" }),
    choiceChunk(0, { content: "done" }, "stop"),
    choiceChunk(1, { content: "56789 z" }, "stop"),
    DONE,
  ]);
  assert.deepEqual(contentByChoice(events), { 0: "done", 1: "a *** z" });
});

Deno.test("content masker: an empty finish_reason (sent by some backends in every chunk) ends nothing", () => {
  const events = run([
    choiceChunk(0, { content: "key sk-fast-" }, ""),
    choiceChunk(0, { content: "route-01234" }, ""),
    choiceChunk(0, { content: "56789 ." }, "stop"),
    DONE,
  ]);
  assert.equal(contentByChoice(events)[0], "key *** .");
});

Deno.test("content masker: one Responses item's .done ends its own text only; a key split around it in another item is masked", () => {
  const delta = (item: string, text: string) =>
    `event: response.output_text.delta\ndata: ${
      JSON.stringify({
        type: "response.output_text.delta",
        item_id: item,
        output_index: 1,
        content_index: 0,
        delta: text,
      })
    }\n\n`;
  const otherDone = `event: response.reasoning_summary_part.done\ndata: ${
    JSON.stringify({ type: "response.reasoning_summary_part.done", item_id: "rs_0", output_index: 0, summary_index: 0 })
  }\n\n`;
  const events = run(
    [delta("msg_1", "key: sk-fast-route-0123"), otherDone, delta("msg_1", "456789.")],
    RESPONSES_GRAMMAR,
  );
  const text = events.filter((e) => e.includes(".delta")).map((e) => JSON.parse(e.split("data: ")[1]).delta).join("");
  assert.equal(text, "key: ***.");
});

Deno.test("content masker: legacy function_call arguments are a channel too", () => {
  const events = run([
    choiceChunk(0, { function_call: { name: "f", arguments: '{"k":"sk-fast-ro' } }),
    choiceChunk(0, { function_call: { arguments: 'ute-0123456789"}' } }),
    choiceChunk(0, {}, "function_call"),
    DONE,
  ]);
  const joined = events.map((e) => e.startsWith("data: {") ? JSON.parse(e.slice(6)) : undefined)
    .map((j) => j?.choices?.[0]?.delta?.function_call?.arguments ?? "").join("");
  assert.equal(joined, '{"k":"***"}');
});

Deno.test("content masker: logprob tokens are masked across events, and their bytes follow the token", () => {
  const withLogprobs = (text: string) =>
    `data: ${
      JSON.stringify({
        choices: [{
          index: 0,
          delta: { content: text },
          logprobs: { content: [{ token: text, logprob: -0.1, bytes: [...enc(text)], top_logprobs: [] }] },
        }],
      })
    }\n\n`;
  const events = run([withLogprobs("key sk-fast-"), withLogprobs("route-0123456789 ."), FINISH, DONE]);
  const entries = events.filter((e) => e.startsWith("data: {"))
    .flatMap((e) => JSON.parse(e.slice(6)).choices?.[0]?.logprobs?.content ?? []);
  assert.equal(entries.map((t: { token: string }) => t.token).join(""), "key *** .");
  for (const t of entries) assert.equal(dec.decode(new Uint8Array(t.bytes)), t.token);
  assert.equal(assembled(events).content, "key *** .");
});

Deno.test("content masker: tool call fragments without index (first by id, then neither) are one call's channel", () => {
  const events = run([
    choiceChunk(0, {
      tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: '{"k":"sk-fast' } }],
    }),
    choiceChunk(0, { tool_calls: [{ function: { arguments: '-route-0123456789"}' } }] }),
    choiceChunk(0, {}, "tool_calls"),
    DONE,
  ]);
  const joined = events.filter((e) => e.startsWith("data: {"))
    .flatMap((e) => JSON.parse(e.slice(6)).choices?.[0]?.delta?.tool_calls ?? [])
    .map((c: { function?: { arguments?: string } }) => c.function?.arguments ?? "").join("");
  assert.equal(joined, '{"k":"***"}');
});

Deno.test("content masker: an event it rewrites keeps its id, event and comment lines", () => {
  const block =
    `: note\nid: 7\nevent: message\ndata: {"choices":[{"index":0,"delta":{"content":"x sk-fast-route-0123456789"}}]}\n\n`;
  const events = run([block, FINISH, DONE]);
  assert.equal(
    events[0],
    `: note\nid: 7\nevent: message\ndata: {"choices":[{"index":0,"delta":{"content":"x ***"}}]}\n\n`,
  );
});

/** Runs `events` through the stages and says how long it took (a bound for hostile input, not a benchmark). */
function timed(events: string[], grammar: EventGrammar = CHAT_GRAMMAR): { ms: number; out: string[] } {
  const t0 = performance.now();
  const out = run(events, grammar);
  return { ms: performance.now() - t0, out };
}

Deno.test("content masker: hostile shapes stay linear: 16,000 keys in one delta, 20,000 fields of one channel, 40,000 items", () => {
  // Each of these took seconds to tens of seconds when a segment was rebuilt per cut, open segments were looked
  // up in a list, and every channel ever seen was visited at each end: the bound is far above linear work.
  const keys = timed([content(`${KEY} `.repeat(16_000)), FINISH, DONE]);
  assert.equal(assembled(keys.out).content, "*** ".repeat(16_000));
  assert.ok(keys.ms < 3000, `16,000 keys in one delta: ${keys.ms.toFixed(0)} ms`);

  const many = [
    { index: 0, delta: { content: "sk-" } },
    ...Array.from({ length: 20_000 }, () => ({ index: 0, delta: { content: "" } })),
  ];
  const fields = timed([`data: ${JSON.stringify({ choices: many })}\n\n`, FINISH, DONE]);
  assert.ok(fields.ms < 3000, `20,000 fields of one channel: ${fields.ms.toFixed(0)} ms`);

  const items: string[] = [];
  for (let i = 0; i < 40_000; i++) {
    items.push(
      `data: {"type":"response.output_text.delta","item_id":"m${i}","output_index":${i},"content_index":0,"delta":"sk-f"}\n\n`,
    );
    items.push(
      `data: {"type":"response.output_text.done","item_id":"m${i}","output_index":${i},"content_index":0,"text":"sk-f"}\n\n`,
    );
  }
  const responses = timed(items, RESPONSES_GRAMMAR);
  assert.equal(responses.out.length, 80_000, "every event goes on");
  assert.ok(responses.ms < 3000, `40,000 items: ${responses.ms.toFixed(0)} ms`);
});

Deno.test("content masker: tool fragments are joined as the translators join them (no index at first, then index 0: one call)", () => {
  const events = run([
    choiceChunk(0, { tool_calls: [{ function: { name: "f", arguments: '{"k":"sk-fast-ro' } }] }),
    choiceChunk(0, { tool_calls: [{ index: 0, function: { arguments: 'ute-0123456789"}' } }] }),
    choiceChunk(0, {}, "tool_calls"),
    DONE,
  ]);
  const joined = events.filter((e) => e.startsWith("data: {"))
    .flatMap((e) => JSON.parse(e.slice(6)).choices?.[0]?.delta?.tool_calls ?? [])
    .map((c: { function?: { arguments?: string } }) => c.function?.arguments ?? "").join("");
  assert.equal(joined, '{"k":"***"}');
});
