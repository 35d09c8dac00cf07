/**
 * Judging the backend's answer before anything reaches the client: its
 * status and encoding checked, its body read as far as the verdict needs (a
 * JSON or error answer whole, a stream up to its first event with content).
 * The verdict is an {@linkcode Answer} or a {@linkcode Failure}, decided here
 * and nowhere else.
 *
 * @module
 */

import { retryAfterMs } from "./retry_after.ts";
import { ChunkReader, type ChunkResult } from "../stream/chunk_reader.ts";
import type { EventGrammar } from "../stream/event_grammar.ts";
import type { JudgedEvent } from "../stream/event_grammar.ts";
import { SseFramer } from "../stream/sse_framer.ts";
import type { Judged } from "./answer.ts";
import type { Failure } from "./failure.ts";
import { type BoundedRead, decodedBody, MAX_BUFFERED_ANSWER_BYTES, readBounded } from "./upstream_body.ts";

/** What the request expects of its answer. */
export interface Expectation {
  /** The client asked for an SSE stream. */
  stream: boolean;
  /** A successful answer is needed whole, to be translated (a door that re-shapes answers). */
  whole: boolean;
  /** How the backend's events are read. */
  grammar: EventGrammar;
}

/**
 * Envelope events (a role-only delta, `response.created`) are held while the
 * judge waits for content, up to this many bytes; then the stream is passed on unjudged.
 */
export const MAX_ENVELOPE_BYTES = 256 * 1024;

const EMPTY = new Uint8Array(0);

// SSE is recognised by its media type only; `text/event-stream; charset=utf-8` included.
function isEventStream(contentType: string | null): boolean {
  return contentType !== null && contentType.toLowerCase().startsWith("text/event-stream");
}

function isJson(contentType: string | null): boolean {
  return contentType !== null && contentType.toLowerCase().includes("json");
}

/** Whether a declared content-length may be read whole at once. */
function fitsWhole(contentLength: string | null): boolean {
  if (contentLength === null) return false;
  const n = Number(contentLength);
  return Number.isSafeInteger(n) && n >= 0 && n <= MAX_BUFFERED_ANSWER_BYTES;
}

const failed = (failure: Failure): Judged => ({ failure });

function badResponse(code: string, message: string): Judged {
  return { failure: { kind: "bad_response", code, message } };
}

/**
 * Judges `res`. `lost` says what a body that could not be read means (the
 * client left, the timeout fired, or the connection broke).
 */
export async function judge(
  res: Response,
  expect: Expectation,
  abort: () => void,
  lost: () => Failure,
): Promise<Judged> {
  const status = res.status;
  // fetch hands over what a Response could not carry (101 to a POST, 999): the client gets a 502 naming it.
  if (status < 200 || status > 599) {
    await res.body?.cancel().catch(() => {});
    return badResponse("upstream_bad_status", `backend answered with status ${status}, which modelpin cannot relay`);
  }
  if (status >= 300 && status < 400) {
    await res.body?.cancel().catch(() => {});
    return failed({ kind: "redirect", code: status });
  }
  let body: ReadableStream<Uint8Array<ArrayBuffer>> | null;
  let decoded: boolean;
  try {
    ({ body, decoded } = decodedBody(res));
  } catch (err) {
    await res.body?.cancel().catch(() => {});
    return badResponse("upstream_bad_encoding", (err as Error).message);
  }
  const contentType = res.headers.get("content-type");
  if (status === 200 && isEventStream(contentType) && body) {
    if (!expect.stream && expect.whole) {
      await body.cancel().catch(() => {});
      return badResponse("upstream_wrong_shape", "the backend answered a non-streaming request with an SSE stream");
    }
    return await judgeStream(res, body, expect.grammar, abort, lost);
  }
  const read = async (): Promise<BoundedRead | undefined> => {
    try {
      if (!body) return { whole: true, bytes: EMPTY };
      // A body of declared length within the bound is read in one native call into one exact-size buffer
      // (fetch enforces the length). Read chunk by chunk, each read would allocate a fresh 64 KiB buffer.
      if (!decoded && fitsWhole(res.headers.get("content-length"))) return { whole: true, bytes: await res.bytes() };
      return await readBounded(body, MAX_BUFFERED_ANSWER_BYTES);
    } catch {
      return undefined; // cut off, or not decodable after all
    }
  };
  if (status === 200 && expect.stream) {
    // A stream was asked for and this is not one: a misbehaving backend, not an answer.
    await body?.cancel().catch(() => {});
    return failed({ kind: "bad_stream", message: "the backend answered a stream request without SSE" });
  }
  if (status >= 400 || isJson(contentType) || (expect.whole && status < 300)) {
    // Read whole, within the timeout: the first-answer guarantee covers the body too.
    const got = await read();
    if (got === undefined) return failed(lost());
    if (!got.whole) {
      if (status >= 300 || expect.whole) {
        got.reader.cancel().catch(() => {});
        const what = status >= 300 ? "an error body" : "an answer";
        return badResponse(
          "upstream_answer_too_large",
          `backend sent ${what} larger than ${MAX_BUFFERED_ANSWER_BYTES / 1048576} MiB`,
        );
      }
      // A large answer streams through rather than being held.
      return { answer: { kind: "body", response: res, head: got.head, source: got.reader, decoded, abort } };
    }
    if (status >= 500 || status === 429) {
      const answer = { status, headers: res.headers, body: got.bytes };
      return failed({ kind: "status", code: status, retryAfterMs: retryAfterMs(res.headers), answer });
    }
    return { answer: { kind: "whole", response: res, body: got.bytes, decoded } };
  }
  const source = body ? body.getReader() : undefined;
  return { answer: { kind: "body", response: res, head: [], source, decoded, abort } };
}

/**
 * Reads a stream up to its first event with content: envelope events and
 * keep-alives are held (up to {@linkcode MAX_ENVELOPE_BYTES}), an error event
 * before any content is the route's failure, and so is an end before it.
 */
async function judgeStream(
  res: Response,
  body: ReadableStream<Uint8Array<ArrayBuffer>>,
  grammar: EventGrammar,
  abort: () => void,
  lost: () => Failure,
): Promise<Judged> {
  const source = new ChunkReader(body);
  const framer = new SseFramer();
  const head: JudgedEvent[] = [];
  let held = 0;
  const stream = (): Judged => ({ answer: { kind: "stream", response: res, head, framer, grammar, source, abort } });
  for (;;) {
    let result: ChunkResult;
    try {
      result = await source.read();
    } catch {
      return failed(lost());
    }
    const events = result.done ? [framer.end()].filter((e) => e !== undefined) : framer.push(result.value);
    let decided = false;
    for (const event of events) {
      const info = grammar.inspect(event);
      // Once content came, the rest of the chunk follows it to the client, whatever it is.
      if (!decided && info.kind === "error") {
        source.cancel().catch(() => {});
        return failed({ kind: "bad_stream", message: info.message ?? "the backend's stream began with an error" });
      }
      head.push({ event, info });
      held += event.raw.length;
      if (info.kind === "content" || info.kind === "done") decided = true;
    }
    if (decided) return stream(); // an oversized event after the content ends the relay, not the attempt
    if (framer.overflow) {
      source.cancel().catch(() => {});
      return failed({ kind: "bad_stream", message: framer.overflow.message });
    }
    if (result.done) {
      // Ended before any content: nothing was generated, so it is the route's failure.
      return failed({ kind: "bad_stream", message: "the backend's stream ended before its first event" });
    }
    if (held + framer.pending > MAX_ENVELOPE_BYTES) return stream(); // not SSE as we know it: pass it on
  }
}
