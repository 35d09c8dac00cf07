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
  /** For a stream that can still fall back: how long to wait for the head before asking whether the backend lives. */
  headWatch?: HeadWatch;
}

/**
 * A backend that accepts the connection but never answers would hold a
 * stream for the whole PROXY_TIMEOUT. Whether a head comes before the first
 * token differs between backends (vLLM, TGI and OpenAI send it at once;
 * Ollama, llama.cpp and SGLang only once generation starts, after a model
 * load or a free slot), so a missing head alone proves nothing: after
 * `afterMs` without one, `alive` asks the backend something cheap, and only
 * a backend that does not answer that either is given up on (a timeout).
 */
export interface HeadWatch {
  /** How long to wait for the response head before asking. */
  afterMs: number;
  /** Resolves true when the backend answers a liveness request (any HTTP answer). */
  alive: () => Promise<boolean>;
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
  let headed = false;
  const giveUp = () => {
    inflight.timedOut = true; // what the failure is called: no answer in time
    abort();
  };
  const watch = ctx.headWatch ? watchHead(ctx.headWatch, () => headed, giveUp) : undefined;
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
    } finally {
      headed = true;
      clearTimeout(watch);
    }
    return await judge(res, req.expect, abort, lost);
  } finally {
    ctx.inflight.end(inflight);
  }
}

/** After `watch.afterMs` without a head, asks the backend whether it lives; gives up (`giveUp`) if it does not. */
function watchHead(watch: HeadWatch, headed: () => boolean, giveUp: () => void): ReturnType<typeof setTimeout> {
  const timer = setTimeout(async () => {
    if (headed() || await watch.alive() || headed()) return;
    giveUp();
  }, watch.afterMs);
  timer.unref();
  return timer;
}
