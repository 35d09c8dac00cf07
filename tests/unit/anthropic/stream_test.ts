/**
 * The stream translator: exact event sequences for realistic streams, and a
 * seeded property test: any cut of the same bytes (random, byte by byte,
 * inside UTF-8 characters and SSE lines) gives identical Anthropic events.
 */

import assert from "node:assert/strict";
import { AnthropicStreamTranslator } from "../../../src/anthropic/stream.ts";
import { ToolNames } from "../../../src/request/tool_names.ts";
import { CHAT_GRAMMAR } from "../../../src/stream/event_grammar.ts";
import { EventStages } from "../../../src/stream/event_stages.ts";
import { END_MESSAGES } from "../../../src/stream/relay.ts";
import { SseFramer } from "../../../src/stream/sse_framer.ts";
import { chunk, DONE, FIXTURES } from "./stream_fixtures.ts";

type Json = Record<string, unknown>;
interface Ev {
  event: string;
  data: Json;
}

const dec = (bytes: Uint8Array | undefined) => bytes === undefined ? "" : new TextDecoder().decode(bytes);

/**
 * The translator as the relay drives it: upstream bytes framed into events,
 * each read by the chat grammar, through the same stages a real stream uses.
 */
class Driven {
  readonly translator: AnthropicStreamTranslator;
  readonly #stages: EventStages;
  constructor(translator: AnthropicStreamTranslator) {
    this.translator = translator;
    this.#stages = new EventStages([], new SseFramer(), CHAT_GRAMMAR, translator);
  }
  /** The client's text for a chunk of upstream bytes. */
  push(bytes: Uint8Array): string {
    return dec(this.#stages.push(bytes as Uint8Array<ArrayBuffer>).out);
  }
  /** The upstream closed: the closing events, or the truncation error the relay would send. */
  end(): string {
    const closed = this.#stages.close();
    if (closed.end === "complete") return dec(closed.out);
    return dec(this.#stages.fail(...END_MESSAGES.truncated));
  }
  /** The relay failed the stream. */
  error(message: string): string {
    return dec(this.#stages.fail(message, "upstream_stream_broken"));
  }
}

function translator(wantsThinking = false, stopSequences: string[] = []): Driven {
  let n = 0;
  return new Driven(
    new AnthropicStreamTranslator({
      requestedModel: "claude-sonnet-4-5",
      wantsThinking,
      toolNames: new ToolNames(),
      stopSequences,
      newId: (p) => `${p}gen${++n}`,
    }),
  );
}

/** Runs bytes cut into `pieces` through a translator; returns the output text and whether each push was whole events. */
function run(pieces: Uint8Array[], t = translator()): string {
  let out = "";
  for (const p of pieces) {
    const text = t.push(p);
    // Events go out whole: every non-empty output ends an event.
    if (text !== "") assert.ok(text.endsWith("\n\n"), `partial event sent: ${JSON.stringify(text.slice(-40))}`);
    out += text;
  }
  return out + t.end();
}

function parse(text: string): Ev[] {
  return text.split("\n\n").filter((b) => b !== "").map((block) => {
    const [eventLine, dataLine, ...rest] = block.split("\n");
    assert.equal(rest.length, 0, "one event line and one data line");
    assert.ok(eventLine.startsWith("event: "), `event line: ${eventLine}`);
    const data = JSON.parse(dataLine.slice(6));
    assert.equal(data.type, eventLine.slice(7), "event line matches data.type");
    return { event: eventLine.slice(7), data };
  });
}

const bytesOf = (s: string) => new TextEncoder().encode(s);

/** Checks the grammar the SDKs expect and returns the assembled message content. */
function assemble(events: Ev[]): { content: Json[]; stop: unknown; usage: Json } {
  assert.equal(events[0].event, "message_start");
  assert.equal((events[0].data.message as Json).model, "claude-sonnet-4-5");
  const content: Json[] = [];
  let open = -1;
  let stop: unknown;
  let usage: Json = {};
  events.slice(1).forEach((e, i) => {
    const d = e.data;
    switch (e.event) {
      case "content_block_start":
        assert.equal(open, -1, "one block at a time");
        assert.equal(d.index, content.length, "block indexes count up");
        open = d.index as number;
        content.push({ ...(d.content_block as Json) });
        if ((d.content_block as Json).type === "tool_use") {
          assert.deepEqual((d.content_block as Json).input, {}, "no arguments in content_block_start");
          content[open].json = "";
        }
        break;
      case "ping":
        assert.equal(events[i].event, "content_block_start", "ping follows the first block start");
        break;
      case "content_block_delta": {
        assert.equal(d.index, open, "delta for the open block");
        const delta = d.delta as Json;
        if (delta.type === "text_delta") content[open].text += delta.text as string;
        else if (delta.type === "thinking_delta") content[open].thinking += delta.thinking as string;
        else if (delta.type === "input_json_delta") content[open].json += delta.partial_json as string;
        else assert.fail(`unknown delta ${delta.type}`);
        break;
      }
      case "content_block_stop":
        assert.equal(d.index, open);
        if (content[open].type === "text") assert.notEqual(content[open].text, "", "no empty text block");
        if (content[open].type === "tool_use") {
          content[open].input = JSON.parse(content[open].json as string || "{}");
          delete content[open].json;
        }
        open = -1;
        break;
      case "message_delta":
        assert.equal(open, -1, "all blocks closed before message_delta");
        stop = (d.delta as Json).stop_reason;
        usage = d.usage as Json;
        assert.equal(typeof usage.output_tokens, "number", "message_delta always has usage.output_tokens");
        break;
      case "message_stop":
        assert.equal(i, events.length - 2, "message_stop is last");
        break;
      default:
        assert.fail(`unexpected event ${e.event}`);
    }
  });
  return { content, stop, usage };
}

Deno.test("anthropic stream: text only gives the exact event sequence with usage", () => {
  const events = parse(run([bytesOf(FIXTURES.text_only)]));
  assert.deepEqual(events.map((e) => e.event), [
    "message_start",
    "content_block_start",
    "ping",
    "content_block_delta",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
  ]);
  assert.deepEqual(events[0].data.message, {
    id: "msg_fx1",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-5",
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  });
  const { content, stop, usage } = assemble(events);
  assert.deepEqual(content, [{ type: "text", text: "Héllo, wörld 😀" }]);
  assert.equal(stop, "end_turn");
  assert.deepEqual(usage, {
    output_tokens: 4,
    input_tokens: 11,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  });
});

Deno.test("anthropic stream: text then two interleaved parallel tool calls assemble into two whole tool_use blocks", () => {
  const events = parse(run([bytesOf(FIXTURES.text_then_two_interleaved_tools)]));
  const { content, stop, usage } = assemble(events);
  assert.deepEqual(content, [
    { type: "text", text: "Let me check." },
    { type: "tool_use", id: "call_a", name: "get_weather", input: { city: "Paris" } },
    { type: "tool_use", id: "call_b", name: "get_time", input: { tz: "Europe/Paris" } },
  ]);
  assert.equal(stop, "tool_use");
  assert.equal(usage.input_tokens, 18);
  assert.equal(usage.cache_read_input_tokens, 32);
  // The first tool's block opens at once; its arguments come whole, once they are known to parse.
  const deltas = events.filter((e) => e.event === "content_block_delta" && e.data.index === 1);
  assert.deepEqual(deltas.map((e) => (e.data.delta as Json).partial_json), ['{"city":"Paris"}']);
});

/** A chat chunk with tool call fragments. */
const toolChunk = (calls: Json[], finish: string | null = null) =>
  `data: ${
    JSON.stringify({ id: "c1", choices: [{ index: 0, delta: { tool_calls: calls }, finish_reason: finish }] })
  }\n\n`;

Deno.test("anthropic stream: tool arguments that are not a JSON object reach the client as {}, as in a JSON answer", async () => {
  const { translateResponse } = await import("../../../src/anthropic/response.ts");
  for (const args of ['{"path": "/tmp', "not json at all", "[1, 2]", "42", ""]) {
    const body = toolChunk([{ index: 0, id: "call_x", function: { name: "read", arguments: args } }], "tool_calls") +
      DONE;
    const events = parse(run([bytesOf(body)]));
    const { content } = assemble(events);
    assert.deepEqual(content, [{ type: "tool_use", id: "call_x", name: "read", input: {} }], args);
    // Every input_json_delta parses, so an SDK that reads `input` never throws.
    for (const e of events.filter((e) => e.event === "content_block_delta")) {
      JSON.parse((e.data.delta as Json).partial_json as string);
    }
    const completion = {
      choices: [{
        message: { tool_calls: [{ id: "call_x", type: "function", function: { name: "read", arguments: args } }] },
        finish_reason: "tool_calls",
      }],
    };
    const message = translateResponse(completion, {
      requestedModel: "m",
      wantsThinking: false,
      toolNames: new ToolNames(),
      stopSequences: [],
    });
    assert.deepEqual((message.content as Json[])[0].input, {}, `the JSON path agrees for ${JSON.stringify(args)}`);
  }
});

Deno.test("anthropic stream: tool calls without an index (Gemini) are told apart by id; none is lost", () => {
  const body = toolChunk([{ id: "call_1", type: "function", function: { name: "a", arguments: '{"n":1}' } }]) +
    toolChunk([{ id: "call_2", type: "function", function: { name: "b", arguments: '{"n":2}' } }]) +
    toolChunk([], "tool_calls") + DONE;
  const { content, stop } = assemble(parse(run([bytesOf(body)])));
  assert.deepEqual(content, [
    { type: "tool_use", id: "call_1", name: "a", input: { n: 1 } },
    { type: "tool_use", id: "call_2", name: "b", input: { n: 2 } },
  ]);
  assert.equal(stop, "tool_use");
});

Deno.test("anthropic stream: fragments with neither index nor id continue the last call", () => {
  const body = toolChunk([{ id: "call_1", function: { name: "a", arguments: '{"n":' } }]) +
    toolChunk([{ function: { arguments: "7}" } }]) + toolChunk([], "tool_calls") + DONE;
  const { content } = assemble(parse(run([bytesOf(body)])));
  assert.deepEqual(content, [{ type: "tool_use", id: "call_1", name: "a", input: { n: 7 } }]);
});

Deno.test('anthropic stream: finish_reason "" in every chunk finishes nothing; the real reason does', () => {
  const text = (t: string, finish: string) =>
    `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: t }, finish_reason: finish }] })}\n\n`;
  const body = text("Hello", "") + text(", world", "") + text("", "stop") + DONE;
  const { content, stop } = assemble(parse(run([bytesOf(body)])));
  assert.deepEqual(content, [{ type: "text", text: "Hello, world" }]);
  assert.equal(stop, "end_turn");
});

Deno.test("anthropic stream: content and finish_reason in one chunk", () => {
  const { content, stop } = assemble(parse(run([bytesOf(FIXTURES.content_and_finish_in_one_chunk)])));
  assert.deepEqual(content, [{ type: "text", text: "All in one." }]);
  assert.equal(stop, "end_turn");
});

Deno.test("anthropic stream: reasoning deltas become a thinking block only when thinking was asked for", () => {
  const asked = assemble(parse(run([bytesOf(FIXTURES.reasoning)], translator(true))));
  assert.deepEqual(asked.content, [
    { type: "thinking", thinking: "Think: 2+2=4.", signature: "" },
    { type: "text", text: "4" },
  ]);
  const notAsked = assemble(parse(run([bytesOf(FIXTURES.reasoning)], translator(false))));
  assert.deepEqual(notAsked.content, [{ type: "text", text: "4" }]);
});

Deno.test("anthropic stream: content_filter is a refusal; the empty-choices usage chunk never becomes a block", () => {
  const events = parse(run([bytesOf(FIXTURES.content_filter)]));
  const { content, stop, usage } = assemble(events);
  assert.deepEqual(content, [{ type: "text", text: "I can" }]);
  assert.equal(stop, "refusal");
  assert.equal(usage.output_tokens, 2);
  assert.equal(events.filter((e) => e.event === "content_block_start").length, 1);
});

Deno.test("anthropic stream: CRLF line endings and keep-alive comments; length is max_tokens", () => {
  const { content, stop } = assemble(parse(run([bytesOf(FIXTURES.crlf_and_keepalive)])));
  assert.deepEqual(content, [{ type: "text", text: "ab" }]);
  assert.equal(stop, "max_tokens");
});

Deno.test("anthropic stream: text goes out with the chunk that carried it (no buffering)", () => {
  const t = translator();
  const first = t.push(bytesOf(chunk({ role: "assistant", content: "Hi" })));
  assert.match(first, /"text_delta","text":"Hi"/);
  const second = t.push(bytesOf(chunk({ content: " there" })));
  assert.deepEqual(parse(second).map((e) => e.event), ["content_block_delta"]);
});

Deno.test("anthropic stream: an upstream end without finish_reason or [DONE] is an error event, never message_stop", () => {
  const out = run([bytesOf(chunk({ role: "assistant", content: "half" }))]);
  const events = parse(out);
  assert.equal(events.at(-1)!.event, "error");
  assert.deepEqual((events.at(-1)!.data.error as Json).type, "api_error");
  assert.ok(!events.some((e) => e.event === "message_stop" || e.event === "message_delta"));
});

Deno.test("anthropic stream: error() mid-answer sends an Anthropic error event and closes nothing made up", () => {
  const t = translator();
  t.push(bytesOf(chunk({ role: "assistant", content: "partial" })));
  const events = parse(t.error("the backend broke off the stream"));
  assert.deepEqual(events, [{
    event: "error",
    data: { type: "error", error: { type: "api_error", message: "the backend broke off the stream" } },
  }]);
  assert.equal(t.end().length, 0, "nothing after the error");
  assert.equal(t.push(bytesOf(DONE)).length, 0);
});

Deno.test("anthropic stream: an error chunk from the backend mid-stream becomes an error event", () => {
  const body = chunk({ role: "assistant", content: "a" }) + `data: {"error":{"message":"overloaded"}}\n\n`;
  const events = parse(run([bytesOf(body)]));
  assert.deepEqual(events.at(-1), {
    event: "error",
    data: { type: "error", error: { type: "api_error", message: "overloaded" } },
  });
});

Deno.test("anthropic stream: an empty answer still ends with message_delta and message_stop", () => {
  const events = parse(run([bytesOf(chunk({ role: "assistant", content: "" }) + chunk({}, "stop") + DONE)]));
  assert.deepEqual(events.map((e) => e.event), ["message_start", "message_delta", "message_stop"]);
});

Deno.test("anthropic stream: a tool call without an id gets a generated toolu_ id", () => {
  const body = chunk({ tool_calls: [{ index: 0, function: { name: "f", arguments: "{}" } }] }) +
    chunk({}, "tool_calls") + DONE;
  const { content } = assemble(parse(run([bytesOf(body)])));
  assert.deepEqual(content, [{ type: "tool_use", id: "toolu_gen1", name: "f", input: {} }]);
});

/** mulberry32: a tiny seeded PRNG, so a failing cut can be replayed from its seed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cutRandomly(bytes: Uint8Array, next: () => number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    const len = 1 + Math.floor(next() * Math.min(40, bytes.length - at));
    pieces.push(bytes.subarray(at, at + len));
    at += len;
  }
  return pieces;
}

for (const [name, text] of Object.entries(FIXTURES)) {
  Deno.test(`anthropic stream property: '${name}' cut anywhere gives identical events`, () => {
    const bytes = bytesOf(text);
    for (const thinking of [false, true]) {
      const whole = run([bytes], translator(thinking));
      assemble(parse(whole));
      assert.equal(
        run(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)), translator(thinking)),
        whole,
        "byte by byte",
      );
      for (let seed = 1; seed <= 200; seed++) {
        const pieces = cutRandomly(bytes, rng(seed * 7919 + (thinking ? 1 : 0)));
        assert.equal(run(pieces, translator(thinking)), whole, `seed ${seed}, thinking ${thinking}`);
      }
    }
  });
}
