/**
 * A good answer becomes the client's response: a body read whole is
 * translated by the door (if it translates) and masked; a stream or a large
 * body is relayed as the client reads, through its stages, masked last. A
 * 4xx answer is the backend's error, rendered by the door like any other.
 *
 * @module
 */

import { ProxyError } from "../errors/errors.ts";
import { ContentMasker } from "../stream/content_masker.ts";
import { BodyStages, EventStages } from "../stream/event_stages.ts";
import { Relay, type RelayStages, type StreamEnd } from "../stream/relay.ts";
import { type Usage, usageFromJson } from "../stream/usage.ts";
import type { Answer } from "../upstream/answer.ts";
import { downstreamHeaders, headerPairs } from "../upstream/headers.ts";
import type { RouteRequest } from "./dialect.ts";
import type { Relayed } from "./endpoint.ts";
import type { ProxyState, Route } from "./state.ts";

// Statuses whose responses cannot carry a body (a Response with one would throw).
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const STREAM_HEADERS: [string, string][] = [
  ["cache-control", "no-cache"],
  ["x-accel-buffering", "no"],
];

/** The client's response for a good `answer` from `route`, shaped as `request` says. */
export function respond(state: ProxyState, route: Route, request: RouteRequest, answer: Answer): Response | Relayed {
  const upstream = answer.response;
  switch (answer.kind) {
    case "whole": {
      const headers = downstreamHeaders(upstream.headers, false, state.masker);
      if (upstream.status >= 400) throw ProxyError.fromBackend({ status: upstream.status, headers, body: answer.body });
      countTokens(state, route, usageFromJson(answer.body));
      let body: string | Uint8Array<ArrayBuffer> = answer.body;
      if (request.json) {
        body = request.json(answer.body);
        headers.set("content-type", "application/json");
      }
      const masked = state.masker.bytes(typeof body === "string" ? new TextEncoder().encode(body) : body);
      return new Response(NULL_BODY_STATUS.has(upstream.status) ? null : masked, {
        status: upstream.status,
        headers: headerPairs(headers),
      });
    }
    case "body": {
      const headers = downstreamHeaders(upstream.headers, !answer.decoded && !state.masker.active, state.masker);
      if (NULL_BODY_STATUS.has(upstream.status) || answer.source === undefined) {
        answer.source?.cancel().catch(() => {});
        return new Response(null, { status: upstream.status, headers: headerPairs(headers) });
      }
      return relay(state, upstream.status, headers, answer.source, new BodyStages(answer.head), answer.abort);
    }
    case "stream": {
      const headers = downstreamHeaders(upstream.headers, false, state.masker);
      for (const [k, v] of STREAM_HEADERS) headers.set(k, v);
      if (request.json) headers.set("content-type", "text/event-stream; charset=utf-8");
      const content = state.masker.active ? new ContentMasker(state.masker, answer.grammar) : undefined;
      const stages = new EventStages(answer.head, answer.framer, answer.grammar, request.stream(), content);
      const relayed = relay(state, 200, headers, answer.source, stages, answer.abort);
      relayed.ended.then(() => countTokens(state, route, stages.usage));
      return relayed;
    }
  }
}

function relay(
  state: ProxyState,
  status: number,
  headers: Headers,
  source: NonNullable<Extract<Answer, { kind: "body" }>["source"]>,
  stages: RelayStages,
  abortUpstream: () => void,
): Relayed {
  const relay = new Relay({
    source,
    stages,
    keys: state.masker.active ? state.masker.stream() : undefined,
    abortUpstream,
  });
  state.relays.add(relay);
  const ended: Promise<StreamEnd> = relay.ended;
  return { response: new Response(relay.body, { status, headers: headerPairs(headers) }), ended };
}

function countTokens(state: ProxyState, route: Route, usage: Usage | undefined): void {
  if (usage) state.telemetry.tokens(route.config.name, usage);
}
