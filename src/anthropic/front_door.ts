/**
 * The Anthropic front door: `POST /v1/messages` and `/v1/messages/count_tokens`
 * for Claude Code and the Anthropic SDKs. A Messages request is translated to
 * a chat completion and forwarded through the same pipeline as OpenAI
 * requests (routing, fallback, breaker, timeouts, masking, logging, metrics);
 * the answer, streamed or not, is translated back.
 *
 * @module
 */

import { ProxyError } from "../errors/errors.ts";
import { forward } from "../proxy/forward.ts";
import { readClientBody } from "../proxy/openai_api.ts";
import type { ProxyState, RequestContext } from "../proxy/state.ts";
import { parseJsonObject } from "../request/request_body.ts";
import { upstreamHeaders } from "../upstream/headers.ts";
import { estimateInputTokens } from "./count_tokens.ts";
import { AnthropicRequestError, toAnthropicError } from "./errors.ts";
import { anthropicRoute } from "./model_route.ts";
import { type TranslatedRequest, translateRequest } from "./request.ts";
import { BackendAnswerError, translateResponse } from "./response.ts";
import { AnthropicStreamTranslator } from "./stream.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Runs a translation step; a malformed request becomes a 400 that names the field. */
function translated<T>(step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof AnthropicRequestError) {
      throw new ProxyError(400, "invalid_request_error", "invalid_request", err.message);
    }
    // JSON nested thousands deep overflows any recursive walk (JSON.stringify's too): the client's mistake.
    if (err instanceof RangeError) {
      throw new ProxyError(400, "invalid_request_error", "invalid_request", "the request is nested too deeply");
    }
    throw err;
  }
}

/** `POST /v1/messages`: translated to `/v1/chat/completions` on the route its model name picks. */
export async function messages(state: ProxyState, ctx: RequestContext): Promise<Response> {
  const raw = await readClientBody(state, ctx.req);
  const t = translated(() => translateRequest(parseJsonObject(raw).value));
  // Claude Code asks for 64,000 tokens; many backends allow far fewer and would refuse the request.
  const cap = state.config.anthropicMaxTokens;
  if (cap > 0 && typeof t.openai.max_tokens === "number" && t.openai.max_tokens > cap) t.openai.max_tokens = cap;
  ctx.entry.requested = t.requestedModel;
  ctx.entry.stream = t.stream;
  const headers = upstreamHeaders(ctx.req.headers);
  // Anthropic's protocol headers mean nothing to an OpenAI backend.
  for (const name of [...headers.keys()]) if (name.startsWith("anthropic-")) headers.delete(name);
  headers.set("content-type", "application/json");
  return await forward(state, ctx, {
    primary: anthropicRoute(t.requestedModel, state.config.anthropicFastModels),
    // The query (Claude Code's `?beta=true`) belongs to Anthropic's API, not the backend's.
    path: "/v1/chat/completions",
    search: "",
    method: "POST",
    headers,
    body: (route) => JSON.stringify({ model: route.model, ...t.openai }),
    wantStream: t.stream,
    forced: true,
    expectDone: true,
    shape: {
      stream: () => new AnthropicStreamTranslator(t),
      json: (body) => encoder.encode(JSON.stringify(answer(body, t))),
    },
  });
}

/** A chat completion's JSON translated into an Anthropic message. */
function answer(body: Uint8Array, t: TranslatedRequest): unknown {
  let completion: unknown;
  try {
    completion = JSON.parse(decoder.decode(body));
  } catch {
    throw new ProxyError(502, "upstream_error", "upstream_bad_answer", "the backend's answer is not JSON");
  }
  try {
    return translateResponse(completion, t);
  } catch (err) {
    if (!(err instanceof BackendAnswerError)) throw err;
    throw new ProxyError(502, "upstream_error", "upstream_bad_answer", err.message);
  }
}

/** `POST /v1/messages/count_tokens`: a local estimate (see count_tokens.ts), no backend call. */
export async function countTokens(state: ProxyState, ctx: RequestContext): Promise<Response> {
  const raw = await readClientBody(state, ctx.req);
  const tokens = translated(() => estimateInputTokens(parseJsonObject(raw).value));
  return new Response(JSON.stringify({ input_tokens: tokens }), { headers: { "content-type": "application/json" } });
}

/** Any error answer on this front door, in Anthropic's shape, its status and headers (retry-after) kept. */
export async function anthropicError(res: Response): Promise<Response> {
  const headers = new Headers(res.headers);
  headers.delete("content-length");
  headers.set("content-type", "application/json");
  return new Response(toAnthropicError(res.status, await res.bytes()), { status: res.status, headers });
}
