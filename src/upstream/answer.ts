/**
 * Judging the backend's answer before anything reaches the client: its
 * status and encoding checked, its body read as far as the verdict needs
 * (a JSON answer whole, a stream up to its first real event).
 *
 * @module
 */

import type { Attempt } from "./attempt.ts";
import { ChunkReader, type ChunkResult } from "./chunk_reader.ts";
import { FirstEventScanner } from "../stream/sse.ts";
import { type BoundedRead, decodedBody, MAX_BUFFERED_ANSWER_BYTES, readBounded } from "./upstream_body.ts";

// A first event larger than this is passed on unjudged instead of held back.
const MAX_FIRST_EVENT_BYTES = 256 * 1024;

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

/** A failure to relay what the backend sent, with the code and message the client gets. */
function badResponse(code: string, message: string, abort: () => void): Attempt {
  return { kind: "failed", outcome: { kind: "bad_response", code, message }, abort };
}

/** Turns the backend's answer into an attempt: status and encoding checked, body read as far as judging needs. */
export async function classify(
  res: Response,
  wantStream: boolean,
  abort: () => void,
  failed: () => Attempt,
): Promise<Attempt> {
  const status = res.status;
  // fetch hands over what a Response could not carry (101 to a POST, 999): the client gets a 502 naming it.
  if (status < 200 || status > 599) {
    await res.body?.cancel().catch(() => {});
    return badResponse(
      "upstream_bad_status",
      `backend answered with status ${status}, which modelpin cannot relay`,
      abort,
    );
  }
  if (status >= 300 && status < 400) {
    await res.body?.cancel().catch(() => {});
    return { kind: "failed", outcome: { kind: "redirect", status }, response: res, abort };
  }
  let body: ReadableStream<Uint8Array<ArrayBuffer>> | null;
  let decoded: boolean;
  try {
    ({ body, decoded } = decodedBody(res));
  } catch (err) {
    await res.body?.cancel().catch(() => {});
    return badResponse("upstream_bad_encoding", (err as Error).message, abort);
  }
  const contentType = res.headers.get("content-type");
  if (status === 200 && isEventStream(contentType) && body) {
    return await readFirstEvent(res, body, abort, failed);
  }
  const read = async (): Promise<BoundedRead | undefined> => {
    try {
      if (!body) return { whole: true, bytes: new Uint8Array(0) };
      // A body of declared length within the bound is read in one native call into one exact-size buffer
      // (fetch enforces the length). Read chunk by chunk, each read would allocate a fresh 64 KiB buffer.
      if (!decoded && fitsWhole(res.headers.get("content-length"))) return { whole: true, bytes: await res.bytes() };
      return await readBounded(body, MAX_BUFFERED_ANSWER_BYTES);
    } catch {
      return undefined; // cut off, or not decodable after all
    }
  };
  if (status === 200 && wantStream) {
    // A stream was asked for and this is not one: a misbehaving backend, not an answer.
    const got = await read();
    if (got === undefined) return failed();
    if (!got.whole) got.reader.cancel().catch(() => {});
    return {
      kind: "failed",
      outcome: { kind: "bad_stream" },
      response: res,
      body: got.whole ? got.bytes : undefined,
      abort,
      streamError: "the backend answered a stream request without SSE",
    };
  }
  if (status >= 400 || isJson(contentType)) {
    // Read whole, within the timeout: the first-answer guarantee covers the body too.
    const got = await read();
    if (got === undefined) return failed();
    if (got.whole) {
      return {
        kind: "buffered",
        outcome: { kind: "response", status },
        response: res,
        body: got.bytes,
        decoded,
        abort,
      };
    }
    if (status >= 400) {
      got.reader.cancel().catch(() => {});
      return badResponse(
        "upstream_answer_too_large",
        `backend sent an error body larger than ${MAX_BUFFERED_ANSWER_BYTES / 1048576} MiB`,
        abort,
      );
    }
    // A large answer streams through rather than being held.
    return { kind: "passthrough", outcome: { kind: "response", status }, response: res, rest: got, decoded, abort };
  }
  const rest = body ? { head: [], reader: body.getReader() } : undefined;
  return { kind: "passthrough", outcome: { kind: "response", status }, response: res, rest, decoded, abort };
}

async function readFirstEvent(
  res: Response,
  body: ReadableStream<Uint8Array<ArrayBuffer>>,
  abort: () => void,
  failed: () => Attempt,
): Promise<Attempt> {
  const reader = new ChunkReader(body);
  const scanner = new FirstEventScanner();
  const prefetched: Uint8Array<ArrayBuffer>[] = [];
  let prefetchedBytes = 0;
  for (;;) {
    let result: ChunkResult;
    try {
      result = await reader.read();
    } catch {
      return failed();
    }
    if (result.done) {
      // Ended before any real event: nothing was generated, so it is the route's failure.
      return {
        kind: "failed",
        outcome: { kind: "bad_stream" },
        response: res,
        abort,
        streamError: "the backend's stream ended before its first event",
      };
    }
    prefetched.push(result.value);
    prefetchedBytes += result.value.length;
    const verdict = scanner.push(result.value);
    if (verdict === undefined) {
      // Not SSE as we know it (no event boundary yet): pass it on rather than hold it.
      if (prefetchedBytes <= MAX_FIRST_EVENT_BYTES) continue;
      return { kind: "stream", outcome: { kind: "response", status: 200 }, response: res, prefetched, reader, abort };
    }
    if (verdict.isError) {
      reader.cancel().catch(() => {});
      return {
        kind: "failed",
        outcome: { kind: "bad_stream" },
        response: res,
        abort,
        streamError: verdict.message ?? "the backend's stream began with an error event",
      };
    }
    return { kind: "stream", outcome: { kind: "response", status: 200 }, response: res, prefetched, reader, abort };
  }
}
