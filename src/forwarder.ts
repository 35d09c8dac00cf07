/**
 * One upstream attempt: send the request, wait (within PROXY_TIMEOUT) for the
 * backend's first real answer, and classify the outcome. Nothing reaches the
 * client here, so the caller can still fall back.
 *
 * @module
 */

import type { Outcome } from "./fallback.ts";
import { ChunkReader, type ChunkResult, type ChunkSource } from "./chunk_reader.ts";
import { FirstEventScanner } from "./sse.ts";

/** The `fetch` shape an attempt calls: Deno's `fetch`, the HTTP/1.1 client's, or the demo backend's. */
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

/**
 * The result of one attempt: its outcome and what to answer the client with.
 * Only a successful attempt may hold an open upstream body (a reader or a
 * pass-through body); a failed one has its body read whole or cancelled.
 */
export interface Attempt {
  /** How the attempt ended. */
  outcome: Outcome;
  /** The upstream response, for `response` and `bad_stream` outcomes. */
  response?: Response;
  /** The whole body, read for JSON and error responses. */
  body?: Uint8Array<ArrayBuffer>;
  /** For SSE: the chunks read up to and including the first event. */
  prefetched?: Uint8Array<ArrayBuffer>[];
  /** For SSE: the reader holding the rest of the stream. */
  reader?: ChunkSource;
  /** The first event's error message, for `bad_stream`. */
  streamError?: string;
  /** Aborts the upstream request (used when the client leaves mid-stream). */
  abort: () => void;
}

/** What an attempt depends on. */
export interface AttemptContext {
  /** The fetch to use (the real one, or the demo backend's). */
  fetch: FetchLike;
  /** PROXY_TIMEOUT in ms; 0 = none. */
  timeoutMs: number;
  /** Fires when the client disconnects. */
  clientSignal: AbortSignal;
  /** The HTTP client pool for real upstreams. */
  client?: Deno.HttpClient;
  /** Aborts of the attempts waiting on a first answer, so shutdown can end them. */
  inflight?: Set<() => void>;
}

// A first event larger than this is passed on unjudged instead of held back.
const MAX_FIRST_EVENT_BYTES = 256 * 1024;

// SSE is recognised by its media type only; `text/event-stream; charset=utf-8` included.
function isEventStream(contentType: string | null): boolean {
  return contentType !== null && contentType.startsWith("text/event-stream");
}

function isJson(contentType: string | null): boolean {
  return contentType !== null && contentType.includes("json");
}

/** Sends one request upstream and waits for its first real answer. */
export async function attemptUpstream(req: UpstreamRequest, ctx: AttemptContext): Promise<Attempt> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  if (ctx.clientSignal.aborted) return { outcome: { kind: "client_gone" }, abort };
  ctx.clientSignal.addEventListener("abort", abort, { once: true });
  ctx.inflight?.add(abort);
  let timedOut = false;
  const timer = ctx.timeoutMs > 0
    ? setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, ctx.timeoutMs)
    : undefined;
  const failed = (): Attempt => ({
    outcome: ctx.clientSignal.aborted
      ? { kind: "client_gone" }
      : timedOut
      ? { kind: "timeout" }
      : { kind: "connect_error" },
    abort,
  });

  try {
    let res: Response;
    try {
      res = await ctx.fetch(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: controller.signal,
        redirect: "manual",
        // @ts-ignore: `client` is Deno's extension to RequestInit.
        client: ctx.client,
      });
    } catch {
      return failed();
    }
    const status = res.status;
    if (status >= 300 && status < 400) {
      await res.body?.cancel();
      return { outcome: { kind: "redirect", status }, response: res, abort };
    }
    const contentType = res.headers.get("content-type");
    if (status === 200 && isEventStream(contentType) && res.body) {
      return await readFirstEvent(res, abort, failed);
    }
    if (status === 200 && req.wantStream) {
      // A stream was asked for and this is not one: a misbehaving backend, not an answer.
      let body: Uint8Array<ArrayBuffer> | undefined;
      try {
        body = await res.bytes();
      } catch {
        return failed();
      }
      return {
        outcome: { kind: "bad_stream" },
        response: res,
        body,
        abort,
        streamError: "the backend answered a stream request without SSE",
      };
    }
    if (status >= 400 || isJson(contentType)) {
      // Read whole, within the timeout: the first-answer guarantee covers the body too.
      try {
        const body = await res.bytes();
        return { outcome: { kind: "response", status }, response: res, body, abort };
      } catch {
        return failed();
      }
    }
    return { outcome: { kind: "response", status }, response: res, abort };
  } finally {
    clearTimeout(timer);
    ctx.inflight?.delete(abort);
  }
}

async function readFirstEvent(res: Response, abort: () => void, failed: () => Attempt): Promise<Attempt> {
  const reader = new ChunkReader(res.body!);
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
      return { outcome: { kind: "response", status: 200 }, response: res, prefetched, reader, abort };
    }
    if (verdict.isError) {
      reader.cancel().catch(() => {});
      return {
        outcome: { kind: "bad_stream" },
        response: res,
        abort,
        streamError: verdict.message ?? "the backend's stream began with an error event",
      };
    }
    return { outcome: { kind: "response", status: 200 }, response: res, prefetched, reader, abort };
  }
}
