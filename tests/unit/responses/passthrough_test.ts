/**
 * A native Responses stream (the backend has /v1/responses) passes byte for
 * byte through the real stages; only when it breaks does modelpin speak, with
 * the API's own failure: an `error` event and `response.failed` numbered
 * after the backend's last sequence_number, carrying the response the
 * backend announced, failed.
 */

import assert from "node:assert/strict";
import { NativeResponsesStream } from "../../../src/responses/passthrough.ts";
import { RESPONSES_GRAMMAR } from "../../../src/stream/event_grammar.ts";
import { EventStages } from "../../../src/stream/event_stages.ts";
import { END_MESSAGES } from "../../../src/stream/relay.ts";
import { SseFramer } from "../../../src/stream/sse_framer.ts";

type Json = Record<string, unknown>;

const enc = new TextEncoder();
const dec = (bytes: Uint8Array | undefined) => bytes === undefined ? "" : new TextDecoder().decode(bytes);

/** A Responses event as OpenAI sends it: an `event:` line and the data with its type and number. */
const ev = (type: string, seq: number, fields: Json = {}) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq, ...fields })}\n\n`;

const RESPONSE = {
  id: "resp_0183abc",
  object: "response",
  created_at: 1765552663,
  status: "in_progress",
  model: "gpt-5.1-codex-max",
  output: [],
  usage: null,
};
const MSG = { id: "msg_1", type: "message", role: "assistant", status: "in_progress", content: [] };

/** The head of a native stream, numbered 0..7. */
const HEAD = ev("response.created", 0, { response: RESPONSE }) +
  ev("response.in_progress", 1, { response: RESPONSE }) +
  ": keep-alive\n\n" +
  ev("response.output_item.added", 2, { output_index: 0, item: MSG }) +
  ev("response.content_part.added", 3, {
    item_id: "msg_1",
    output_index: 0,
    content_index: 0,
    part: { type: "output_text", text: "", annotations: [] },
  }) +
  ev("response.output_text.delta", 4, {
    item_id: "msg_1",
    output_index: 0,
    content_index: 0,
    delta: "Héllo ",
    logprobs: [],
    obfuscation: "x1",
  }) +
  ev("response.output_text.delta", 5, {
    item_id: "msg_1",
    output_index: 0,
    content_index: 0,
    delta: "😀",
    logprobs: [],
    obfuscation: "x2",
  }) +
  ev("keepalive", 6) +
  ev("response.output_text.delta", 7, {
    item_id: "msg_1",
    output_index: 0,
    content_index: 0,
    delta: "!",
    logprobs: [],
  });
const COMPLETED = ev("response.completed", 12, { response: { ...RESPONSE, status: "completed" } });

function stages(): { stages: EventStages; stream: NativeResponsesStream } {
  const stream = new NativeResponsesStream();
  return { stages: new EventStages([], new SseFramer(), RESPONSES_GRAMMAR, stream), stream };
}

function parse(text: string): { event: string; data: Json }[] {
  return text.split("\n\n").filter((b) => b !== "").map((block) => {
    const [eventLine, dataLine] = block.split("\n");
    return { event: eventLine.slice(7), data: JSON.parse(dataLine.slice(6)) };
  });
}

Deno.test("responses native stream: events pass byte for byte, comments, keepalive and unknown fields included", () => {
  const { stages: s } = stages();
  const input = HEAD + COMPLETED;
  let out = dec(s.start().out);
  const bytes = enc.encode(input);
  for (let i = 0; i < bytes.length; i += 13) out += dec(s.push(bytes.subarray(i, i + 13)).out);
  const closed = s.close();
  assert.equal(closed.end, "complete");
  assert.equal(out + dec(closed.out), input);
});

Deno.test("responses native stream: the stream is over at response.completed; what follows is not passed", () => {
  const { stages: s } = stages();
  const result = s.push(enc.encode(HEAD + COMPLETED + ev("response.output_text.delta", 13, { delta: "late" })));
  assert.equal(result.end, "complete");
  assert.equal(dec(result.out), HEAD + COMPLETED);
});

Deno.test("responses native stream: fail() after response.created and event 7 sends error 8 and response.failed 9", () => {
  const { stages: s } = stages();
  assert.equal(dec(s.push(enc.encode(HEAD)).out), HEAD);
  const events = parse(dec(s.fail(...END_MESSAGES.broken)));
  assert.deepEqual(events, [
    {
      event: "error",
      data: {
        type: "error",
        sequence_number: 8,
        error: { type: "server_error", code: "upstream_stream_broken", message: END_MESSAGES.broken[0], param: null },
      },
    },
    {
      event: "response.failed",
      data: {
        type: "response.failed",
        sequence_number: 9,
        response: {
          ...RESPONSE,
          status: "failed",
          error: { code: "server_error", message: END_MESSAGES.broken[0] },
        },
      },
    },
  ]);
});

Deno.test("responses native stream: a stream that closes without its terminal event is truncated, then failed in order", () => {
  const { stages: s } = stages();
  s.push(enc.encode(HEAD));
  assert.equal(s.close().end, "truncated");
  const events = parse(dec(s.fail(...END_MESSAGES.truncated)));
  assert.deepEqual(events.map((e) => [e.event, e.data.sequence_number]), [["error", 8], ["response.failed", 9]]);
  assert.equal((events[1].data.response as Json).id, "resp_0183abc");
});

Deno.test("responses native stream: the number follows the highest sequence_number seen, not the last", () => {
  const stream = new NativeResponsesStream();
  const s = new EventStages([], new SseFramer(), RESPONSES_GRAMMAR, stream);
  s.push(
    enc.encode(ev("response.created", 0, { response: RESPONSE }) + ev("response.in_progress", 41, {}) + ev("x", 3)),
  );
  const events = parse(stream.fail("gone", "upstream_stream_broken"));
  assert.deepEqual(events.map((e) => e.data.sequence_number), [42, 43]);
});

Deno.test("responses native stream: a failure before any event still numbers from 0 and says failed", () => {
  const events = parse(new NativeResponsesStream().fail("no answer", "upstream_stream_truncated"));
  assert.deepEqual(events.map((e) => [e.event, e.data.sequence_number]), [["error", 0], ["response.failed", 1]]);
  assert.deepEqual((events[1].data.response as Json).status, "failed");
});

Deno.test("responses native stream: complete() adds nothing (the backend's terminal event ended it)", () => {
  assert.equal(new NativeResponsesStream().complete(), undefined);
  assert.equal(new NativeResponsesStream().finished, false);
});
