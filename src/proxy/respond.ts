/**
 * Turning an attempt into the client's response: a successful one is relayed
 * (a stream event by event, a JSON answer whole, anything else as the client
 * reads), always key-masked; a failed one becomes the error the client gets.
 *
 * @module
 */

import { maskKeys, maskKeysInBytes, StreamKeyMasker } from "../security/secrets.ts";
import { StreamRelay, type StreamTransform } from "../stream/stream_relay.ts";
import type { Attempt } from "../upstream/attempt.ts";
import { downstreamHeaders, headerPairs } from "../upstream/headers.ts";
import { passThrough } from "../upstream/upstream_body.ts";
import { ProxyError } from "../errors/errors.ts";
import { retryAfterMs } from "./retry_after.ts";
import { type ProxyState, recordRequest, type RequestContext, type Route } from "./state.ts";
import { StreamUsageScanner, tapUsage, usageFromJson } from "../ops/usage.ts";

/** How a front door shapes a successful answer for its clients (the OpenAI door passes it as it is). */
export interface AnswerShape {
  /** A new transform for a relayed stream's bytes. */
  stream?(): StreamTransform;
  /** The client's body for a successful JSON answer (already masked). */
  json?(body: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer>;
}

const EMPTY = new Uint8Array(0);
// Statuses whose responses cannot carry a body (a Response with one would throw).
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const STREAM_HEADERS: [string, string][] = [
  ["cache-control", "no-cache"],
  ["x-accel-buffering", "no"],
];

/** The client's response for a successful attempt on `route`. */
export function respond(
  state: ProxyState,
  ctx: RequestContext,
  attempt: Attempt,
  route: Route,
  shape: AnswerShape = {},
  expectDone = ctx.path.endsWith("/completions"),
): Response {
  switch (attempt.kind) {
    case "stream":
      return relayStream(state, ctx, attempt, route, shape, expectDone);
    case "buffered": {
      const upstream = attempt.response;
      if (upstream.status < 300) countTokens(state, route, usageFromJson(attempt.body));
      let body = maskKeysInBytes(attempt.body, state.secrets);
      if (shape.json && upstream.status < 300) body = shape.json(body);
      const headers = downstreamHeaders(upstream.headers, false, state.secrets);
      return new Response(NULL_BODY_STATUS.has(upstream.status) ? null : body, {
        status: upstream.status,
        headers: headerPairs(headers),
      });
    }
    case "passthrough": {
      const upstream = attempt.response;
      const headers = downstreamHeaders(
        upstream.headers,
        !attempt.decoded && state.secrets.length === 0,
        state.secrets,
      );
      if (NULL_BODY_STATUS.has(upstream.status)) {
        attempt.rest?.reader.cancel().catch(() => {});
        return new Response(null, { status: upstream.status, headers });
      }
      // Everything else streams through as the client reads, masked as it passes.
      const body = attempt.rest
        ? passThrough(attempt.rest.head, attempt.rest.reader, state.streamKeys, state.config.idleTimeoutMs)
        : null;
      return new Response(body, { status: upstream.status, headers: headerPairs(headers) });
    }
    case "failed":
      throw new Error(`respond() got a failed attempt (${attempt.outcome.kind})`);
  }
}

function relayStream(
  state: ProxyState,
  ctx: RequestContext,
  attempt: Extract<Attempt, { kind: "stream" }>,
  route: Route,
  shape: AnswerShape,
  expectDone: boolean,
): Response {
  const { entry } = ctx;
  entry.relayed = true;
  const headers = downstreamHeaders(attempt.response.headers, false, state.secrets);
  for (const [k, v] of STREAM_HEADERS) headers.set(k, v);
  if (shape.stream) headers.set("content-type", "text/event-stream; charset=utf-8");
  const usage = new StreamUsageScanner();
  for (const chunk of attempt.prefetched) usage.push(chunk);
  const relay: StreamRelay = new StreamRelay({
    prefetched: attempt.prefetched,
    reader: tapUsage(attempt.reader, usage),
    abortUpstream: attempt.abort,
    expectDone,
    masker: state.streamKeys.length > 0 ? new StreamKeyMasker(state.streamKeys) : undefined,
    transform: shape.stream?.(),
    onEnd: (end) => {
      state.relays.delete(relay);
      entry.end = end;
      entry.ms = performance.now() - ctx.started;
      countTokens(state, route, usage.usage);
      recordRequest(state, entry);
    },
  });
  state.relays.add(relay);
  return new Response(relay.stream, { status: attempt.response.status, headers: headerPairs(headers) });
}

function countTokens(state: ProxyState, route: Route, usage: ReturnType<typeof usageFromJson>): void {
  if (usage) state.telemetry.tokens(route.config.name, usage);
}

/**
 * The client's answer when every attempt failed: `attempt` is the first
 * failure (on `route`). Connection, timeout, stream and relay failures
 * become modelpin's own errors; a backend's error answer is passed on masked.
 */
export function failureResponse(state: ProxyState, attempt: Attempt, route: Route): Response {
  const outcome = attempt.outcome;
  switch (outcome.kind) {
    case "timeout":
      throw ProxyError.timeout(route.host, state.config.timeoutMs);
    case "connect_error":
      throw ProxyError.unreachable(route.host);
    case "bad_stream": {
      const said = attempt.kind === "failed" ? attempt.streamError : undefined;
      throw ProxyError.badStream(route.host, maskKeys(said ?? "error event", state.secrets));
    }
    case "bad_response":
      throw ProxyError.badResponse(route.host, outcome.code, outcome.message);
    case "redirect":
      throw ProxyError.redirect(route.host, outcome.status, route.config.name);
    default: {
      if (attempt.kind !== "buffered") throw ProxyError.unreachable(route.host);
      const headers = downstreamHeaders(attempt.response.headers, false, state.secrets);
      if (attempt.response.status === 429) saneRetryAfter(state, headers);
      return new Response(maskKeysInBytes(attempt.body ?? EMPTY, state.secrets), {
        status: attempt.response.status,
        headers,
      });
    }
  }
}

/** The client gets one well-formed Retry-After, in seconds, capped like the breaker's cooldown. */
function saneRetryAfter(state: ProxyState, headers: Headers): void {
  const routeDelays = [state.routes.fast.breaker.snapshot(), state.routes.smart.breaker.snapshot()]
    .filter((s) => s.until !== undefined)
    .map((s) => Date.parse(s.until!) - Date.now());
  const own = retryAfterMs(headers);
  const candidates = own !== undefined ? [own] : routeDelays;
  const ms = candidates.length > 0 ? Math.min(...candidates) : state.config.breakerCooldownMs;
  headers.delete("retry-after-ms");
  headers.set("retry-after", String(Math.min(300, Math.max(1, Math.ceil(ms / 1000)))));
}
