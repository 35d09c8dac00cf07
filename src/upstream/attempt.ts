/**
 * One upstream attempt: send the request, wait (within PROXY_TIMEOUT) for the
 * backend's first real answer, and classify the outcome. Nothing reaches the
 * client here, so the caller can still fall back.
 *
 * @module
 */

import type { Outcome } from "./outcome.ts";
import type { ChunkSource } from "./chunk_reader.ts";
import { classify } from "./answer.ts";
import { headerPairs } from "./headers.ts";
import type { InflightAttempts } from "./inflight.ts";

/** The `fetch` shape an attempt calls: a route's transport (see transport.ts). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** What to send upstream. */
export interface UpstreamRequest {
  /** Full upstream URL. */
  url: string;
  /** HTTP method. */
  method: string;
  /** Headers, key included. */
  headers: Headers;
  /** Body bytes or text, already rewritten for this route. */
  body: BodyInit | null;
  /** True when the client asked for an SSE stream. */
  wantStream: boolean;
}

/** The rest of a body that streams through: chunks already read, then the reader holding the rest. */
export interface BodyRest {
  /** Chunks already read (decoded). */
  head: Uint8Array<ArrayBuffer>[];
  /** The reader holding the rest (decoded). */
  reader: ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>>;
}

/**
 * The result of one attempt: its outcome and what the client could be
 * answered with. Only a `stream` or `passthrough` attempt holds an open
 * upstream body; every other kind has its body read whole or cancelled.
 */
export type Attempt =
  /** An SSE stream whose first real event arrived and was not an error. */
  | {
    kind: "stream";
    outcome: Outcome;
    response: Response;
    /** The chunks read up to and including the first event. */
    prefetched: Uint8Array<ArrayBuffer>[];
    /** The reader holding the rest of the stream. */
    reader: ChunkSource;
    abort: () => void;
  }
  /** A body read whole: JSON answers and error bodies of bounded size. */
  | {
    kind: "buffered";
    outcome: Outcome;
    response: Response;
    /** The whole body, decoded. */
    body: Uint8Array<ArrayBuffer>;
    /** True when the body was decoded, so upstream length and encoding no longer describe it. */
    decoded: boolean;
    abort: () => void;
  }
  /** Any other answer: its body (none for a 204 or HEAD) streams through as the client reads. */
  | {
    kind: "passthrough";
    outcome: Outcome;
    response: Response;
    rest: BodyRest | undefined;
    decoded: boolean;
    abort: () => void;
  }
  /** Nothing to relay: the outcome says why (connection, timeout, redirect, bad stream...). */
  | {
    kind: "failed";
    outcome: Outcome;
    /** The backend's response, when there was one (a redirect, a bad stream). */
    response?: Response;
    /** What the backend sent, when it was read (a non-SSE answer to a stream request). */
    body?: Uint8Array<ArrayBuffer>;
    /** What a bad stream said, for the client's 502. */
    streamError?: string;
    abort: () => void;
  };

/** What an attempt depends on. */
export interface AttemptContext {
  /** The route's transport: `fetch` on the upstream pool, or the demo backend. */
  fetch: FetchLike;
  /** Fires when the client disconnects. */
  clientSignal: AbortSignal;
  /** The attempts waiting on a first answer: they keep PROXY_TIMEOUT, and shutdown ends them. */
  inflight: InflightAttempts;
}

/** Sends one request upstream and waits for its first real answer. */
export async function attemptUpstream(req: UpstreamRequest, ctx: AttemptContext): Promise<Attempt> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  if (ctx.clientSignal.aborted) return { kind: "failed", outcome: { kind: "client_gone" }, abort };
  ctx.clientSignal.addEventListener("abort", abort, { once: true });
  const inflight = ctx.inflight.start(abort);
  const failed = (): Attempt => ({
    kind: "failed",
    outcome: ctx.clientSignal.aborted
      ? { kind: "client_gone" }
      : inflight.timedOut
      ? { kind: "timeout" }
      : { kind: "connect_error" },
    abort,
  });

  try {
    let res: Response;
    try {
      res = await ctx.fetch(req.url, {
        method: req.method,
        headers: headerPairs(req.headers),
        body: req.body,
        signal: controller.signal,
        redirect: "manual",
      });
    } catch {
      return failed();
    }
    return await classify(res, req.wantStream, abort, failed);
  } finally {
    ctx.inflight.end(inflight);
  }
}
