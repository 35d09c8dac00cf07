/**
 * One upstream attempt: send the request, wait (within PROXY_TIMEOUT) for
 * the backend's first real answer, and judge it. Nothing reaches the client
 * here, so the caller can still fall back.
 *
 * @module
 */

import type { Judged } from "./answer.ts";
import type { Failure } from "./failure.ts";
import { headerPairs } from "./headers.ts";
import type { InflightAttempts } from "./inflight.ts";
import { type Expectation, judge } from "./judge.ts";

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
  /** What the answer must be. */
  expect: Expectation;
}

/** What an attempt depends on. */
export interface AttemptContext {
  /** The route's transport: `fetch` on the upstream pool, or the demo backend. */
  fetch: FetchLike;
  /** Fires when the client disconnects. */
  clientSignal: AbortSignal;
  /** The attempts waiting on a first answer: they keep PROXY_TIMEOUT, and shutdown ends them. */
  inflight: InflightAttempts;
  /** A deadline earlier than a full PROXY_TIMEOUT (`performance.now()` time): a retry's remaining budget. */
  deadline?: number;
}

/** Sends one request upstream and judges its first real answer. */
export async function attemptUpstream(req: UpstreamRequest, ctx: AttemptContext): Promise<Judged> {
  if (ctx.clientSignal.aborted) return { failure: { kind: "client_gone" } };
  const controller = new AbortController();
  const abort = () => controller.abort();
  ctx.clientSignal.addEventListener("abort", abort, { once: true });
  const inflight = ctx.inflight.start(abort, ctx.deadline);
  // Why an answer never came, or stopped coming: the client left, the deadline passed, or the connection failed.
  const lost = (): Failure =>
    ctx.clientSignal.aborted ? { kind: "client_gone" } : inflight.timedOut ? { kind: "timeout" } : { kind: "connect" };
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
      return { failure: lost() };
    }
    return await judge(res, req.expect, abort, lost);
  } finally {
    ctx.inflight.end(inflight);
  }
}
