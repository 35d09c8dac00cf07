/**
 * What an upstream attempt can give the client, once its answer is judged
 * good: a stream (its first content event in), a body read whole, or a body
 * that streams through. Types only; the judging is in judge.ts.
 *
 * @module
 */

import type { ChunkSource } from "../stream/chunk_reader.ts";
import type { EventGrammar } from "../stream/event_grammar.ts";
import type { JudgedEvent } from "../stream/event_grammar.ts";
import type { SseFramer } from "../stream/sse_framer.ts";
import type { Failure } from "./failure.ts";

/**
 * A good answer. Only a `stream` or a `body` holds an open upstream body,
 * which its relay reads and ends; a `whole` answer has been read.
 */
export type Answer =
  /** An SSE stream whose first event with content (or its end) arrived, and was no error. */
  | {
    kind: "stream";
    response: Response;
    /** The events read so far, judged. */
    head: JudgedEvent[];
    /** The framer, holding the event in progress. */
    framer: SseFramer;
    /** The grammar its events were read with. */
    grammar: EventGrammar;
    /** The rest of the stream. */
    source: ChunkSource;
    /** Aborts the upstream request. */
    abort: () => void;
  }
  /** A body read whole (bounded): JSON answers, 4xx answers, and what a translating door needs whole. */
  | {
    kind: "whole";
    response: Response;
    /** The body, decoded. */
    body: Uint8Array<ArrayBuffer>;
    /** True when the body was decoded, so upstream length and encoding no longer describe it. */
    decoded: boolean;
  }
  /** Any other answer: what was read, then the rest as the client reads (nothing for a 204 or HEAD). */
  | {
    kind: "body";
    response: Response;
    /** Chunks already read (decoded). */
    head: Uint8Array<ArrayBuffer>[];
    /** The rest (decoded), if the answer has a body. */
    source: ChunkSource | undefined;
    /** True when the body is decoded. */
    decoded: boolean;
    /** Aborts the upstream request. */
    abort: () => void;
  };

/** An attempt judged: a good answer, or why there is none. */
export type Judged = { answer: Answer; failure?: undefined } | { failure: Failure; answer?: undefined };
