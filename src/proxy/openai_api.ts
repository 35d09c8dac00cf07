/**
 * The OpenAI front door: `/v1/chat/completions` and every other `/v1/...`
 * request, made into an upstream plan with the route's model forced.
 *
 * @module
 */

import { bodyForRoute, classifyBody, type ForcedBody, isForced, requestedModel } from "../request/forced_body.ts";
import { readBody } from "../request/request_body.ts";
import { upstreamHeaders } from "../upstream/headers.ts";
import { ProxyError } from "../errors/errors.ts";
import { forward, type UpstreamPlan } from "./forward.ts";
import { pickRoute } from "./route_choice.ts";
import type { ProxyState, RequestContext } from "./state.ts";

/** `POST /v1/chat/completions`: JSON with messages, fast or smart by model name, SSE when asked. */
export async function chatCompletions(state: ProxyState, ctx: RequestContext): Promise<Response> {
  return await forward(state, ctx, await openAiPlan(state, ctx, true));
}

/** Every other `/v1/...` request: to the fast route, its model forced when the body has one. */
export async function otherApi(state: ProxyState, ctx: RequestContext): Promise<Response> {
  return await forward(state, ctx, await openAiPlan(state, ctx, false));
}

/** Reads, checks and classifies the client's request into an upstream plan. */
async function openAiPlan(state: ProxyState, ctx: RequestContext, chat: boolean): Promise<UpstreamPlan> {
  const { req, entry } = ctx;
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const raw = hasBody ? await readClientBody(state, req) : null;
  // An empty body is refused on chat only: bodiless POSTs and DELETEs elsewhere may carry a JSON label.
  const body = await classifyBody(raw, req.headers.get("content-type"), chat);
  if (chat) requireMessages(body);
  const requested = requestedModel(body);
  entry.requested = requested;
  const wantStream = body.kind === "json" && body.json.value.stream === true;
  entry.stream = wantStream;
  const headers = upstreamHeaders(req.headers);
  labelBody(headers, body);
  return {
    primary: chat ? pickRoute(requested) : "fast",
    path: ctx.path,
    search: ctx.search,
    method: req.method,
    headers,
    body: (route) => bodyForRoute(body, route.model),
    wantStream,
    forced: isForced(body),
    expectDone: ctx.path.endsWith("/completions"),
  };
}

/**
 * The request body, within PROXY_MAX_BODY_MB; a client that leaves mid-upload is `client_gone`.
 * A compressed body is refused: its model could not be seen, let alone forced.
 */
export async function readClientBody(state: ProxyState, req: Request): Promise<Uint8Array<ArrayBuffer>> {
  const encoding = req.headers.get("content-encoding")?.trim().toLowerCase();
  if (encoding && encoding !== "identity") {
    throw new ProxyError(
      415,
      "invalid_request_error",
      "unsupported_content_encoding",
      `request bodies must not be compressed (content-encoding: ${encoding.slice(0, 40)}): modelpin must see the model`,
    );
  }
  try {
    return await readBody(req, state.config.maxBodyBytes);
  } catch (err) {
    if (err instanceof ProxyError || !req.signal.aborted) throw err;
    throw ProxyError.clientGone();
  }
}

/** A chat completion must carry its messages: without them it is the client's mistake, not the backend's. */
function requireMessages(body: ForcedBody): void {
  if (body.kind === "json" && !Array.isArray(body.json.value.messages)) {
    throw new ProxyError(
      400,
      "invalid_request_error",
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
