/**
 * The OpenAI front door: `/v1/chat/completions` and every other `/v1/...`
 * request, made into an upstream plan with the route's model forced. The
 * answer passes as it came; the grammar its stream is judged by follows the
 * path (chat and completions, the Responses API, anything else).
 *
 * @module
 */

import { ProxyError } from "../errors/errors.ts";
import { forward, type UpstreamPlan } from "../proxy/forward.ts";
import type { Reply } from "../proxy/endpoint.ts";
import { pickRoute } from "../proxy/routing.ts";
import type { ProxyState, RequestContext } from "../proxy/state.ts";
import { bodyForRoute, classifyBody, type ForcedBody, isForced, requestedModel } from "../request/forced_body.ts";
import { readClientBody } from "../request/request_body.ts";
import { CHAT_GRAMMAR, type EventGrammar, OPAQUE_GRAMMAR, RESPONSES_GRAMMAR } from "../stream/event_grammar.ts";
import { passThrough } from "../stream/event_stages.ts";
import { upstreamHeaders } from "../upstream/headers.ts";
import { openAiStreamError } from "./dialect.ts";
import { boundedRequested } from "../ops/request_log.ts";

/** `POST /v1/chat/completions`: JSON with messages, fast or smart by model name, SSE when asked. */
export async function chatCompletions(state: ProxyState, ctx: RequestContext): Promise<Reply> {
  return await forward(state, ctx, await openAiPlan(state, ctx, true));
}

/** Every other `/v1/...` request: to the fast route, its model forced when the body has one. */
export async function otherApi(state: ProxyState, ctx: RequestContext): Promise<Reply> {
  return await forward(state, ctx, await openAiPlan(state, ctx, false));
}

/** How the events of a stream from `path` are read. */
function grammarOf(path: string): EventGrammar {
  const p = path.replace(/\/+$/, "");
  if (p.endsWith("/chat/completions") || p.endsWith("/completions")) return CHAT_GRAMMAR;
  if (p.endsWith("/responses")) return RESPONSES_GRAMMAR;
  return OPAQUE_GRAMMAR;
}

/** Reads, checks and classifies the client's request into an upstream plan. */
async function openAiPlan(state: ProxyState, ctx: RequestContext, chat: boolean): Promise<UpstreamPlan> {
  const { req, record } = ctx;
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const raw = hasBody ? await readClientBody(req, state.config.maxBodyBytes) : null;
  // An empty body is refused on chat only: bodiless POSTs and DELETEs elsewhere may carry a JSON label.
  const body = await classifyBody(raw, req.headers.get("content-type"), chat);
  if (chat) requireMessages(body);
  const requested = requestedModel(body);
  record.requested = boundedRequested(requested, state.masker);
  const wantStream = body.kind === "json" && body.json.value.stream === true;
  record.stream = wantStream;
  const headers = upstreamHeaders(req.headers);
  labelBody(headers, body);
  const grammar = grammarOf(ctx.path);
  return {
    primary: chat ? pickRoute(requested) : "fast",
    search: ctx.search,
    method: req.method,
    headers,
    route: (route) => ({
      path: ctx.path,
      body: bodyForRoute(body, route.model),
      grammar,
      stream: () => passThrough(openAiStreamError),
    }),
    wantStream,
    forced: isForced(body),
  };
}

/** A chat completion must carry its messages: without them it is the client's mistake, not the backend's. */
function requireMessages(body: ForcedBody): void {
  if (body.kind === "json" && !Array.isArray(body.json.value.messages)) {
    throw ProxyError.invalid(
      "missing_messages",
      "a chat completion needs 'messages': an array of {role, content} objects",
    );
  }
}

/** Labels a rewritten body for what it is now, whatever the client called it. */
function labelBody(headers: Headers, body: ForcedBody): void {
  if (body.kind === "json" && body.force) headers.set("content-type", "application/json");
  // fetch writes a multipart body's content-type itself, with the new boundary.
  else if (body.kind === "multipart") headers.delete("content-type");
  else if (body.kind === "form") headers.set("content-type", "application/x-www-form-urlencoded");
}
